/* gz-op-cumsum.c — CumSum (exclusive, reverse)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * CumSum runs along one axis of [outer, n, inner]; its backward is the
 * cumulative sum of the gradient in the other direction (same exclusivity).
 */
#include <string.h>

#include "gz-op.h"

/* ---- CumSum ------------------------------------------------------------ */

static GzStatus
cumsum_layout (const GzNode *node, const GzTensor *const *in, int64_t *outer, int64_t *n,
               int64_t *inner, GzError *err)
{
  const GzTensor *x = in[0], *axis_t = gz_op_input (node, in, 1);
  if (axis_t == NULL || gz_tensor_numel (axis_t) != 1 || axis_t->dtype != GZ_DTYPE_INT64)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "axis must be an int64 scalar");
  if (axis_t->data == NULL)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "axis is computed at run time");
  int64_t v = *(const int64_t *) axis_t->data;
  int axis = gz_axis (v, x->ndim);
  if (axis < 0 || x->ndim == 0)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
                        (long long) v, x->ndim);
  *outer = gz_shape_numel (axis, x->dims);
  *n = x->dims[axis];
  *inner = gz_shape_numel (x->ndim - axis - 1, x->dims + axis + 1);
  return GZ_OK;
}

static GzStatus
cumsum_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st = gz_op_need (node, in, out, 2, 1, err);
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
  if (!gz_op_backward_begin (din, dout, false))
    return GZ_OK;
  int64_t outer, n, inner;
  GzStatus st = cumsum_layout (node, in, &outer, &n, &inner, err);
  if (st != GZ_OK)
    return st;
  cumsum_run (GZ_DTYPE_FLOAT, dout[0]->data, din[0]->data, outer, n, inner,
              gz_node_attr_int (node, "exclusive", 0) != 0,
              gz_node_attr_int (node, "reverse", 0) == 0);
  return GZ_OK;
}

const GzOpDef gz_op_cumsum[] = {
  { "CumSum", 11, NULL, cumsum_infer, cumsum_forward, cumsum_backward, NULL },
  GZ_OP_END,
};
