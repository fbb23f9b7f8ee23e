/* gz-op-argmax.c — ArgMax and ArgMin (int64 indices, no gradient)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Ties go to the first index, or the last with select_last_index = 1; a NaN
 * wins over numbers, as in NumPy.
 */
#include <math.h>
#include <string.h>

#include "gz-op.h"

static GzStatus
arg_layout (const GzNode *node, const GzTensor *x, int *axis, int64_t *outer, int64_t *n,
            int64_t *inner, GzError *err)
{
  int64_t v = gz_node_attr_int (node, "axis", 0);
  *axis = gz_axis (v, x->ndim);
  if (*axis < 0 || x->ndim == 0)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
                        (long long) v, x->ndim);
  *outer = gz_shape_numel (*axis, x->dims);
  *n = x->dims[*axis];
  *inner = gz_shape_numel (x->ndim - *axis - 1, x->dims + *axis + 1);
  if (*n == 0)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %d is empty", *axis);
  return GZ_OK;
}

static GzStatus
arg_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  int axis;
  int64_t outer, n, inner;
  GzStatus st = arg_layout (node, in[0], &axis, &outer, &n, &inner, err);
  if (st != GZ_OK)
    return st;
  bool keep = gz_node_attr_int (node, "keepdims", 1) != 0;
  int64_t dims[GZ_MAX_DIMS];
  int r = 0;
  for (int a = 0; a < in[0]->ndim; a++)
    if (a != axis)
      dims[r++] = in[0]->dims[a];
    else if (keep)
      dims[r++] = 1;
  gz_tensor_set_shape (out[0], GZ_DTYPE_INT64, r, dims);
  return GZ_OK;
}

static inline double
elem (const GzTensor *t, int64_t i)
{
  return t->dtype == GZ_DTYPE_INT64 ? (double) ((const int64_t *) t->data)[i]
                                    : (double) ((const float *) t->data)[i];
}

static GzStatus
arg_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int axis;
  int64_t outer, n, inner;
  GzStatus st = arg_layout (node, in[0], &axis, &outer, &n, &inner, err);
  if (st != GZ_OK)
    return st;
  bool is_max = strcmp (node->op_type, "ArgMax") == 0;
  bool last = gz_node_attr_int (node, "select_last_index", 0) != 0;
  int64_t *y = out[0]->data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < inner; j++)
      {
        int64_t base = o * n * inner + j, best = 0;
        double bv = elem (in[0], base);
        for (int64_t k = 1; k < n && !isnan (bv); k++)
          {
            double v = elem (in[0], base + k * inner);
            bool better = isnan (v) || (is_max ? v > bv : v < bv) || (last && v == bv);
            if (better)
              {
                best = k;
                bv = v;
              }
          }
        y[o * inner + j] = best;
      }
  return GZ_OK;
}

const GzOpDef gz_op_argmax[] = {
  { "ArgMax", 1, NULL, arg_infer, arg_forward, NULL, NULL },
  { "ArgMin", 1, NULL, arg_infer, arg_forward, NULL, NULL },
  GZ_OP_END,
};
