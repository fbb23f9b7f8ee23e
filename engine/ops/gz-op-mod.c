/* gz-op-mod.c — Mod: elementwise remainder, with numpy broadcasting
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * fmod = 0 (the default) is the integer remainder of floored division: the
 * result takes the divisor's sign (Python's %); the engine applies it to floats
 * too (a - b·floor(a/b), computed exactly via fmod). fmod = 1 is C's fmod: the
 * dividend's sign (truncated division), for integers too. torch exports its
 * index arithmetic this way (window shifts in Swin), mostly folded at load.
 * Integer division by zero is an error, not a crash. The vector-Jacobian
 * product (float only): d/dA = 1, d/dB = -floor(A/B) (fmod = 0) or -trunc(A/B)
 * (fmod = 1), summed over broadcast axes.
 */
#include <math.h>

#include "gz-op.h"

typedef struct
{
  bool fmod;
} ModParams;

static GzStatus
mod_init (GzNode *node, int64_t opset, GzError *err)
{
  int64_t f = gz_node_attr_int (node, "fmod", 0);
  if (f != 0 && f != 1)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "fmod must be 0 or 1, not %lld", (long long) f);
  GzStatus st = gz_op_alloc_params (node, sizeof (ModParams), err);
  if (st == GZ_OK)
    ((ModParams *) node->params)->fmod = f == 1;
  return st;
}

static GzStatus
mod_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st = gz_op_need (node, in, out, 2, 1, err);
  if (st != GZ_OK)
    return st;
  if (in[0]->dtype != in[1]->dtype)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "A and B differ in data type");
  int r;
  int64_t dims[GZ_MAX_DIMS];
  if ((st = gz_op_broadcast_infer (node, in, 2, &r, dims, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], in[0]->dtype, r, dims);
  return GZ_OK;
}

/* A walk of the output (operand 0), A and B. */
static void
mod_walk (const GzTensor *const *in, const GzTensor *out, GzOpBcast *it, GzOpBcastPos *pos)
{
  const int nds[3] = { out->ndim, in[0]->ndim, in[1]->ndim };
  const int64_t *ds[3] = { out->dims, in[0]->dims, in[1]->dims };
  gz_op_bcast_init (it, out->ndim, out->dims, 3, nds, ds);
  gz_op_bcast_seek (it, 0, pos);
}

static inline float
mod_float (float a, float b, bool c_fmod)
{
  float r = fmodf (a, b); /* exact; NaN for b = 0 or infinite a */
  if (!c_fmod && r != 0.0f && (r < 0.0f) != (b < 0.0f))
    r += b;
  return r;
}

static GzStatus
mod_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  bool c_fmod = ((const ModParams *) node->params)->fmod;
  GzOpBcast it;
  GzOpBcastPos pos;
  mod_walk (in, out[0], &it, &pos);
  const int64_t sa = gz_op_bcast_inner_stride (&it, 1), sb = gz_op_bcast_inner_stride (&it, 2);
  for (int64_t r = 0; r < it.rows; r++, gz_op_bcast_next (&it, &pos))
    for (int64_t k = 0; k < it.inner; k++)
      {
        int64_t o = pos.off[0] + k, oa = pos.off[1] + k * sa, ob = pos.off[2] + k * sb;
        if (out[0]->dtype == GZ_DTYPE_FLOAT)
          {
            const float *a = in[0]->data, *b = in[1]->data;
            ((float *) out[0]->data)[o] = mod_float (a[oa], b[ob], c_fmod);
            continue;
          }
        int64_t x = ((const int64_t *) in[0]->data)[oa], d = ((const int64_t *) in[1]->data)[ob];
        if (d == 0)
          return gz_op_error (err, GZ_ERR_ARGUMENT, node, "integer division by zero");
        /* INT64_MIN % -1 overflows in C; the remainder is 0 anyway. */
        int64_t rem = d == -1 ? 0 : x % d;
        if (!c_fmod && rem != 0 && (rem < 0) != (d < 0))
          rem += d;
        ((int64_t *) out[0]->data)[o] = rem;
      }
  return GZ_OK;
}

static GzStatus
mod_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
              const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode, GzError *err)
{
  (void) relu_mode;
  bool c_fmod = ((const ModParams *) node->params)->fmod;
  for (int i = 0; i < 2; i++)
    if (din[i] != NULL)
      gz_op_zero (din[i]);
  if (dout[0] == NULL || (din[0] == NULL && din[1] == NULL))
    return GZ_OK;
  if (out[0]->dtype != GZ_DTYPE_FLOAT)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "no gradient through integer Mod");
  GzOpBcast it;
  GzOpBcastPos pos;
  mod_walk (in, out[0], &it, &pos);
  const int64_t sa = gz_op_bcast_inner_stride (&it, 1), sb = gz_op_bcast_inner_stride (&it, 2);
  const float *a = in[0]->data, *b = in[1]->data, *g = dout[0]->data;
  float *da = din[0] != NULL ? din[0]->data : NULL;
  float *db = din[1] != NULL ? din[1]->data : NULL;
  for (int64_t r = 0; r < it.rows; r++, gz_op_bcast_next (&it, &pos))
    for (int64_t k = 0; k < it.inner; k++)
      {
        int64_t o = pos.off[0] + k, oa = pos.off[1] + k * sa, ob = pos.off[2] + k * sb;
        if (da != NULL)
          da[oa] += g[o];
        if (db != NULL)
          {
            double q = (double) a[oa] / (double) b[ob];
            db[ob] -= g[o] * (float) (c_fmod ? trunc (q) : floor (q));
          }
      }
  return GZ_OK;
}

const GzOpDef gz_op_mod[] = {
  { "Mod", 10, mod_init, mod_infer, mod_forward, mod_backward, gz_op_free_params },
  GZ_OP_END,
};
