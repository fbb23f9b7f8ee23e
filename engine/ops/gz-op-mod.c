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

#include "gz-tensor-ops.h"

typedef struct
{
  bool fmod;
} ModParams;

static GzStatus
mod_init (GzNode *node, int64_t opset, GzError *err)
{
  int64_t f = gz_node_attr_int (node, "fmod", 0);
  if (f != 0 && f != 1)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "fmod must be 0 or 1, not %lld", (long long) f);
  GzStatus st = gz_tops_alloc_params (node, sizeof (ModParams), err);
  if (st == GZ_OK)
    ((ModParams *) node->params)->fmod = f == 1;
  return st;
}

static GzStatus
mod_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st = gz_tops_need (node, in, out, 2, 1, err);
  if (st != GZ_OK)
    return st;
  if (in[0]->dtype != in[1]->dtype)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "A and B differ in data type");
  int r;
  int64_t dims[GZ_MAX_DIMS];
  if (gz_broadcast_shape (in[0]->ndim, in[0]->dims, in[1]->ndim, in[1]->dims, &r, dims, NULL)
      != GZ_OK)
    {
      char b1[128], b2[128];
      return gz_tops_error (err, GZ_ERR_SHAPE, node, "shapes %s and %s cannot be broadcast",
                            gz_tops_shape_str (in[0]->ndim, in[0]->dims, b1, sizeof b1),
                            gz_tops_shape_str (in[1]->ndim, in[1]->dims, b2, sizeof b2));
    }
  if ((st = gz_tops_check_shape (node, r, dims, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], in[0]->dtype, r, dims);
  return GZ_OK;
}

/* Offsets of A and B while walking the output in C order. */
typedef struct
{
  int ndim;
  const int64_t *dims;
  int64_t sa[GZ_MAX_DIMS], sb[GZ_MAX_DIMS], idx[GZ_MAX_DIMS];
  int64_t a, b;
} Walk;

static void
walk_init (Walk *w, const GzTensor *a, const GzTensor *b, const GzTensor *out)
{
  w->ndim = out->ndim;
  w->dims = out->dims;
  gz_tops_broadcast_strides (a->ndim, a->dims, out->ndim, out->dims, w->sa);
  gz_tops_broadcast_strides (b->ndim, b->dims, out->ndim, out->dims, w->sb);
  for (int d = 0; d < GZ_MAX_DIMS; d++)
    w->idx[d] = 0;
  w->a = w->b = 0;
}

static inline void
walk_next (Walk *w)
{
  for (int d = w->ndim - 1; d >= 0; d--)
    {
      w->a += w->sa[d];
      w->b += w->sb[d];
      if (++w->idx[d] < w->dims[d])
        return;
      w->a -= w->sa[d] * w->dims[d];
      w->b -= w->sb[d] * w->dims[d];
      w->idx[d] = 0;
    }
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
  Walk w;
  walk_init (&w, in[0], in[1], out[0]);
  int64_t n = gz_tensor_numel (out[0]);
  if (out[0]->dtype == GZ_DTYPE_FLOAT)
    {
      const float *a = in[0]->data, *b = in[1]->data;
      float *y = out[0]->data;
      for (int64_t i = 0; i < n; i++, walk_next (&w))
        y[i] = mod_float (a[w.a], b[w.b], c_fmod);
      return GZ_OK;
    }
  const int64_t *a = in[0]->data, *b = in[1]->data;
  int64_t *y = out[0]->data;
  for (int64_t i = 0; i < n; i++, walk_next (&w))
    {
      int64_t x = a[w.a], d = b[w.b];
      if (d == 0)
        return gz_tops_error (err, GZ_ERR_ARGUMENT, node, "integer division by zero");
      /* INT64_MIN % -1 overflows in C; the remainder is 0 anyway. */
      int64_t r = d == -1 ? 0 : x % d;
      if (!c_fmod && r != 0 && (r < 0) != (d < 0))
        r += d;
      y[i] = r;
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
      gz_tops_zero (din[i]);
  if (dout[0] == NULL || (din[0] == NULL && din[1] == NULL))
    return GZ_OK;
  if (out[0]->dtype != GZ_DTYPE_FLOAT)
    return gz_tops_error (err, GZ_ERR_UNSUPPORTED, node, "no gradient through integer Mod");
  Walk w;
  walk_init (&w, in[0], in[1], out[0]);
  int64_t n = gz_tensor_numel (out[0]);
  const float *a = in[0]->data, *b = in[1]->data, *g = dout[0]->data;
  float *da = din[0] != NULL ? din[0]->data : NULL;
  float *db = din[1] != NULL ? din[1]->data : NULL;
  for (int64_t i = 0; i < n; i++, walk_next (&w))
    {
      if (da != NULL)
        da[w.a] += g[i];
      if (db != NULL)
        {
          double q = (double) a[w.a] / (double) b[w.b];
          db[w.b] -= g[i] * (float) (c_fmod ? trunc (q) : floor (q));
        }
    }
  return GZ_OK;
}

const GzOpDef gz_tops_mod = {
  "Mod", 10, mod_init, mod_infer, mod_forward, mod_backward, gz_tops_free,
};
