/* gz-op-cumsum.c — CumSum (exclusive, reverse) and Trilu
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * CumSum runs along one axis of [outer, n, inner]; its backward is the
 * cumulative sum of the gradient in the other direction (same exclusivity).
 * Trilu keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the
 * last two axes; its backward applies the same mask.
 */
#include <string.h>

#include "gz-tensor-ops.h"

/* ---- CumSum ------------------------------------------------------------ */

static GzStatus
cumsum_layout (const GzNode *node, const GzTensor *const *in, int64_t *outer, int64_t *n,
               int64_t *inner, GzError *err)
{
  const GzTensor *x = in[0], *axis_t = gz_tops_input (node, in, 1);
  if (axis_t == NULL || gz_tensor_numel (axis_t) != 1 || axis_t->dtype != GZ_DTYPE_INT64)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "axis must be an int64 scalar");
  if (axis_t->data == NULL)
    return gz_tops_error (err, GZ_ERR_UNSUPPORTED, node, "axis is computed at run time");
  int64_t v = *(const int64_t *) axis_t->data;
  int axis = gz_axis (v, x->ndim);
  if (axis < 0 || x->ndim == 0)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
                          (long long) v, x->ndim);
  *outer = gz_shape_numel (axis, x->dims);
  *n = x->dims[axis];
  *inner = gz_shape_numel (x->ndim - axis - 1, x->dims + axis + 1);
  return GZ_OK;
}

static GzStatus
cumsum_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st = gz_tops_need (node, in, out, 2, 1, err);
  int64_t outer, n, inner;
  if (st != GZ_OK || (st = cumsum_layout (node, in, &outer, &n, &inner, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], in[0]->dtype, in[0]->ndim, in[0]->dims);
  return GZ_OK;
}

/* y = cumsum (x) along n, elements `inner` apart; double accumulation for floats. */
static void
cumsum_run (GzDType dtype, const void *src, void *dst, int64_t outer, int64_t n, int64_t inner,
            bool exclusive, bool reverse)
{
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < inner; j++)
      {
        int64_t base = o * n * inner + j;
        double fs = 0.0;
        int64_t is = 0;
        for (int64_t c = 0; c < n; c++)
          {
            int64_t k = reverse ? n - 1 - c : c;
            int64_t at = base + k * inner;
            if (dtype == GZ_DTYPE_INT64)
              {
                int64_t v = ((const int64_t *) src)[at];
                if (!exclusive)
                  is = (int64_t) ((uint64_t) is + (uint64_t) v);
                ((int64_t *) dst)[at] = is;
                if (exclusive)
                  is = (int64_t) ((uint64_t) is + (uint64_t) v);
              }
            else
              {
                double v = ((const float *) src)[at];
                if (!exclusive)
                  fs += v;
                ((float *) dst)[at] = (float) fs;
                if (exclusive)
                  fs += v;
              }
          }
      }
}

static GzStatus
cumsum_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int64_t outer, n, inner;
  GzStatus st = cumsum_layout (node, in, &outer, &n, &inner, err);
  if (st != GZ_OK)
    return st;
  cumsum_run (in[0]->dtype, in[0]->data, out[0]->data, outer, n, inner,
              gz_node_attr_int (node, "exclusive", 0) != 0,
              gz_node_attr_int (node, "reverse", 0) != 0);
  return GZ_OK;
}

static GzStatus
cumsum_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                 const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                 GzError *err)
{
  if (din[0] == NULL)
    return GZ_OK;
  if (dout[0] == NULL)
    {
      gz_tops_zero (din[0]);
      return GZ_OK;
    }
  int64_t outer, n, inner;
  GzStatus st = cumsum_layout (node, in, &outer, &n, &inner, err);
  if (st != GZ_OK)
    return st;
  cumsum_run (GZ_DTYPE_FLOAT, dout[0]->data, din[0]->data, outer, n, inner,
              gz_node_attr_int (node, "exclusive", 0) != 0,
              gz_node_attr_int (node, "reverse", 0) == 0);
  return GZ_OK;
}

const GzOpDef gz_tops_cumsum = {
  "CumSum", 11, NULL, cumsum_infer, cumsum_forward, cumsum_backward, NULL,
};

/* ---- Trilu ------------------------------------------------------------- */

static GzStatus
trilu_k (const GzNode *node, const GzTensor *const *in, int64_t *k, GzError *err)
{
  const GzTensor *kt = gz_tops_input (node, in, 1);
  *k = 0;
  if (kt == NULL)
    return GZ_OK;
  if (gz_tensor_numel (kt) != 1 || kt->dtype != GZ_DTYPE_INT64)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "k must be an int64 scalar");
  if (kt->data == NULL)
    return gz_tops_error (err, GZ_ERR_UNSUPPORTED, node, "k is computed at run time");
  *k = *(const int64_t *) kt->data;
  return GZ_OK;
}

static GzStatus
trilu_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st = gz_tops_need (node, in, out, 1, 1, err);
  int64_t k;
  if (st != GZ_OK || (st = trilu_k (node, in, &k, err)) != GZ_OK)
    return st;
  if (in[0]->ndim < 2)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "input rank %d is below 2", in[0]->ndim);
  gz_tensor_set_shape (out[0], in[0]->dtype, in[0]->ndim, in[0]->dims);
  return GZ_OK;
}

/* dst = src where kept, else 0; elsize 4 or 8. */
static GzStatus
trilu_apply (const GzNode *node, const GzTensor *const *in, const GzTensor *src, GzTensor *dst,
             GzError *err)
{
  int64_t k;
  GzStatus st = trilu_k (node, in, &k, err);
  if (st != GZ_OK)
    return st;
  bool upper = gz_node_attr_int (node, "upper", 1) != 0;
  int r = src->ndim;
  int64_t rows = src->dims[r - 2], cols = src->dims[r - 1];
  int64_t mats = gz_shape_numel (r - 2, src->dims);
  size_t es = gz_dtype_size (src->dtype);
  for (int64_t m = 0; m < mats; m++)
    for (int64_t i = 0; i < rows; i++)
      for (int64_t j = 0; j < cols; j++)
        {
          /* j - i cannot overflow: both are below 2^62 */
          bool keep = upper ? j - i >= k : j - i <= k;
          size_t at = (size_t) ((m * rows + i) * cols + j) * es;
          if (keep)
            memcpy ((char *) dst->data + at, (const char *) src->data + at, es);
          else
            memset ((char *) dst->data + at, 0, es);
        }
  return GZ_OK;
}

static GzStatus
trilu_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  return trilu_apply (node, in, in[0], out[0], err);
}

static GzStatus
trilu_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                GzError *err)
{
  if (din[0] == NULL)
    return GZ_OK;
  if (dout[0] == NULL)
    {
      gz_tops_zero (din[0]);
      return GZ_OK;
    }
  return trilu_apply (node, in, dout[0], din[0], err);
}

const GzOpDef gz_tops_trilu = {
  "Trilu", 14, NULL, trilu_infer, trilu_forward, trilu_backward, NULL,
};
