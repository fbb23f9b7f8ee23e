/* op-variadic.c — Sum, Mean, Max, Min over any number of broadcast inputs
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The output starts as input 0 broadcast to the common shape and folds in
 * each further input in place. Backward: Sum/Mean pass dy (divided by the
 * count for Mean) to every input, summed over its broadcast axes; Max/Min
 * pass dy to the first input that attains the output value (PyTorch splits
 * ties; the first winner keeps the gradient a single path, as for MaxPool).
 */
#include <math.h>
#include <string.h>

#include "gz-op.h"

typedef enum
{
  V_SUM,
  V_MEAN,
  V_MAX,
  V_MIN,
} Kind;

/* The member of the family, from the table row. */
static Kind
kind_of (const GzNode *node)
{
  return *(const Kind *) node->op->data;
}

static GzStatus
variadic_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int nd = 0;
  int64_t dims[GZ_MAX_DIMS];
  char sa[160], sb[160];
  GzStatus st;
  if (node->n_inputs < 1)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "needs at least one input");
  for (int i = 0; i < node->n_inputs; i++)
    {
      if ((st = gz_op_need_float (node, in, i, "data", err)) != GZ_OK)
        return st;
      if (in[i]->ndim > GZ_MAX_DIMS)
        return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "rank above %d", GZ_MAX_DIMS);
      if (i == 0)
        {
          nd = in[0]->ndim;
          memcpy (dims, in[0]->dims, (size_t) nd * sizeof (int64_t));
          continue;
        }
      int64_t prev[GZ_MAX_DIMS];
      int pn = nd;
      memcpy (prev, dims, (size_t) nd * sizeof (int64_t));
      if (gz_broadcast_shape (pn, prev, in[i]->ndim, in[i]->dims, &nd, dims, NULL) != GZ_OK)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "input %d %s does not broadcast with %s", i,
                            gz_op_shape_str (in[i]->ndim, in[i]->dims, sb, sizeof sb),
                            gz_op_shape_str (pn, prev, sa, sizeof sa));
    }
  if ((st = gz_op_check_shape (node, nd, dims, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], GZ_DTYPE_FLOAT, nd, dims);
  return GZ_OK;
}

/* Iterator over the output with one input as operand 1. */
static void
iter_for (const GzTensor *out, const GzTensor *x, GzOpBcast *it)
{
  const int nds[2] = { out->ndim, x->ndim };
  const int64_t *const ds[2] = { out->dims, x->dims };
  gz_op_bcast_init (it, out->ndim, out->dims, 2, nds, ds);
}

static GzStatus
variadic_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  Kind k = kind_of (node);
  float *y = out[0]->data;
  for (int i = 0; i < node->n_inputs; i++)
    {
      GzOpBcast it;
      GzOpBcastPos pos;
      const float *x = in[i]->data;
      iter_for (out[0], in[i], &it);
      const int64_t sx = gz_op_bcast_inner_stride (&it, 1);
      gz_op_bcast_seek (&it, 0, &pos);
      for (int64_t r = 0; r < it.rows; r++, gz_op_bcast_next (&it, &pos))
        {
          float *yr = y + pos.off[0];
          const float *xr = x + pos.off[1];
          for (int64_t j = 0; j < it.inner; j++)
            {
              float v = xr[j * sx];
              if (i == 0)
                yr[j] = v;
              else if (k == V_SUM || k == V_MEAN)
                yr[j] += v;
              else if (k == V_MAX)
                yr[j] = v > yr[j] || isnan (v) ? v : yr[j];
              else
                yr[j] = v < yr[j] || isnan (v) ? v : yr[j];
            }
        }
    }
  if (k == V_MEAN)
    {
      int64_t n = gz_tensor_numel (out[0]);
      float inv = 1.0f / (float) node->n_inputs;
      for (int64_t i = 0; i < n; i++)
        y[i] *= inv;
    }
  return GZ_OK;
}

static GzStatus
variadic_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                   const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                   GzError *err)
{
  Kind k = kind_of (node);
  int64_t n_out = gz_tensor_numel (out[0]);
  unsigned char *winner = NULL;
  for (int i = 0; i < node->n_inputs; i++)
    if (din[i] != NULL)
      memset (din[i]->data, 0, (size_t) gz_tensor_numel (in[i]) * sizeof (float));
  if (dout[0] == NULL)
    return GZ_OK;
  if ((k == V_MAX || k == V_MIN) && node->n_inputs > 255)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "more than 255 inputs");
  if (k == V_MAX || k == V_MIN)
    {
      /* winner[o] = the first input equal to the output there (255: none). */
      winner = malloc (n_out > 0 ? (size_t) n_out : 1);
      if (winner == NULL)
        return gz_op_error (err, GZ_ERR_NOMEM, node, "out of memory");
      memset (winner, 255, (size_t) n_out);
      const float *y = out[0]->data;
      for (int i = node->n_inputs - 1; i >= 0; i--)
        {
          GzOpBcast it;
          GzOpBcastPos pos;
          iter_for (out[0], in[i], &it);
          const int64_t sx = gz_op_bcast_inner_stride (&it, 1);
          const float *x = in[i]->data;
          gz_op_bcast_seek (&it, 0, &pos);
          for (int64_t r = 0; r < it.rows; r++, gz_op_bcast_next (&it, &pos))
            for (int64_t j = 0; j < it.inner; j++)
              if (x[pos.off[1] + j * sx] == y[pos.off[0] + j])
                winner[pos.off[0] + j] = (unsigned char) i;
        }
    }
  const float *dy = dout[0]->data;
  const float scale = k == V_MEAN ? 1.0f / (float) node->n_inputs : 1.0f;
  for (int i = 0; i < node->n_inputs; i++)
    {
      if (din[i] == NULL)
        continue;
      GzOpBcast it;
      GzOpBcastPos pos;
      iter_for (out[0], in[i], &it);
      const int64_t sx = gz_op_bcast_inner_stride (&it, 1);
      float *dx = din[i]->data;
      gz_op_bcast_seek (&it, 0, &pos);
      for (int64_t r = 0; r < it.rows; r++, gz_op_bcast_next (&it, &pos))
        for (int64_t j = 0; j < it.inner; j++)
          {
            int64_t o = pos.off[0] + j;
            if (winner == NULL || winner[o] == i)
              dx[pos.off[1] + j * sx] += scale * dy[o];
          }
    }
  free (winner);
  return GZ_OK;
}

#define VARIADIC(type, kind)                                                               \
  {                                                                                        \
    .op_type = type, .min_opset = 1, .infer = variadic_infer, .forward = variadic_forward, \
    .backward = variadic_backward, .data = &(const Kind){ kind },                          \
  }

/* Opset 8 brought numpy broadcasting to these; before, equal shapes (a subset). */
const GzOpDef gz_op_variadic[] = {
  VARIADIC ("Sum", V_SUM),
  VARIADIC ("Mean", V_MEAN),
  VARIADIC ("Max", V_MAX),
  VARIADIC ("Min", V_MIN),
  GZ_OP_END,
};
