/* gz-op-where.c — Where: elements of X where the condition holds, else of Y
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The condition is int64 0/1 (the engine's booleans) or a float, true when
 * non-zero. The gradient goes to X where the condition holds and to Y
 * elsewhere, summed over broadcast axes.
 */
#include "gz-op.h"

static GzStatus
where_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 3, 1, err);
  if (need != GZ_OK)
    return need;
  if (node->n_inputs < 3 || in[0] == NULL || in[1] == NULL || in[2] == NULL)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "needs condition, X and Y");
  if (in[1]->dtype != in[2]->dtype)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "X and Y differ in data type");
  int r;
  int64_t dims[GZ_MAX_DIMS];
  GzStatus st = gz_op_broadcast_infer (node, in, 3, &r, dims, err);
  if (st != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], in[1]->dtype, r, dims);
  return GZ_OK;
}

/* A walk of the output (operand 0) and the three inputs. */
static void
where_walk (const GzTensor *const *in, const GzTensor *out, GzOpBcast *it)
{
  const int nds[4] = { out->ndim, in[0]->ndim, in[1]->ndim, in[2]->ndim };
  const int64_t *ds[4] = { out->dims, in[0]->dims, in[1]->dims, in[2]->dims };
  gz_op_bcast_init (it, out->ndim, out->dims, 4, nds, ds);
}

static GzStatus
where_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzOpBcast it;
  GzOpBcastPos pos;
  where_walk (in, out[0], &it);
  gz_op_bcast_seek (&it, 0, &pos);
  bool wide = out[0]->dtype == GZ_DTYPE_INT64;
  for (int64_t r = 0; r < it.rows; r++, gz_op_bcast_next (&it, &pos))
    for (int64_t k = 0; k < it.inner; k++)
      {
        int64_t o = pos.off[0] + k;
        int src = gz_op_truth (in[0], pos.off[1] + k * it.strides[1][it.ndim - 1]) ? 1 : 2;
        int64_t s = pos.off[src + 1] + k * it.strides[src + 1][it.ndim - 1];
        if (wide)
          ((int64_t *) out[0]->data)[o] = ((const int64_t *) in[src]->data)[s];
        else
          ((float *) out[0]->data)[o] = ((const float *) in[src]->data)[s];
      }
  return GZ_OK;
}

static GzStatus
where_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                GzError *err)
{
  for (int i = 0; i < 3; i++)
    if (din[i] != NULL)
      gz_op_zero (din[i]);
  if (dout[0] == NULL || (din[1] == NULL && din[2] == NULL))
    return GZ_OK;
  GzOpBcast it;
  GzOpBcastPos pos;
  where_walk (in, out[0], &it);
  gz_op_bcast_seek (&it, 0, &pos);
  const float *g = dout[0]->data;
  for (int64_t r = 0; r < it.rows; r++, gz_op_bcast_next (&it, &pos))
    for (int64_t k = 0; k < it.inner; k++)
      {
        int dst = gz_op_truth (in[0], pos.off[1] + k * it.strides[1][it.ndim - 1]) ? 1 : 2;
        if (din[dst] != NULL)
          gz_tensor_f (din[dst])[pos.off[dst + 1] + k * it.strides[dst + 1][it.ndim - 1]]
              += g[pos.off[0] + k];
      }
  return GZ_OK;
}

const GzOpDef gz_op_where[] = {
  { "Where", 9, NULL, where_infer, where_forward, where_backward, NULL },
  GZ_OP_END,
};
