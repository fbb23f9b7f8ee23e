/* gz-op-concat.c — Concat: tensors joined along an axis; Split is its backward
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A tensor is seen as [outer, size along axis, inner]; each input is a
 * contiguous block of size×inner elements per outer index.
 */
#include <string.h>

#include "gz-op.h"

/* ---- Concat ------------------------------------------------------------ */

static GzStatus
concat_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  if (node->n_inputs < 1 || in[0] == NULL)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "needs at least one input");
  const GzTensor *first = in[0];
  const GzAttr *axis_attr = gz_node_attr (node, "axis");
  if (axis_attr == NULL || axis_attr->type != GZ_ATTR_INT)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "the axis attribute is required");
  int axis = gz_axis (axis_attr->i, first->ndim);
  if (axis < 0 || first->ndim == 0)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
                        (long long) axis_attr->i, first->ndim);
  int64_t dims[GZ_MAX_DIMS];
  gz_tensor_set_shape (out[0], first->dtype, first->ndim, first->dims);
  memcpy (dims, first->dims, sizeof dims);
  dims[axis] = 0;
  for (int i = 0; i < node->n_inputs; i++)
    {
      const GzTensor *t = in[i];
      char b1[128], b2[128];
      if (t == NULL)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "input %d is missing", i);
      if (t->dtype != first->dtype)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "input %d has a different data type", i);
      bool ok = t->ndim == first->ndim;
      for (int a = 0; ok && a < t->ndim; a++)
        ok = a == axis || t->dims[a] == first->dims[a];
      if (!ok)
        return gz_op_error (err, GZ_ERR_SHAPE, node,
                            "input %d has shape %s, incompatible with %s along axis %d", i,
                            gz_op_shape_str (t->ndim, t->dims, b1, sizeof b1),
                            gz_op_shape_str (first->ndim, first->dims, b2, sizeof b2), axis);
      if (t->dims[axis] > INT64_MAX - dims[axis])
        return gz_op_error (err, GZ_ERR_LIMIT, node, "concatenated size overflows");
      dims[axis] += t->dims[axis];
    }
  GzStatus st = gz_op_check_shape (node, first->ndim, dims, err);
  if (st != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], first->dtype, first->ndim, dims);
  return GZ_OK;
}

static int
concat_axis (const GzNode *node, int ndim)
{
  return gz_axis (gz_node_attr_int (node, "axis", 0), ndim);
}

static GzStatus
concat_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  const GzTensor *y = out[0];
  int axis = concat_axis (node, y->ndim);
  size_t es = gz_dtype_size (y->dtype);
  int64_t outer = gz_shape_numel (axis, y->dims);
  int64_t inner = gz_shape_numel (y->ndim - axis - 1, y->dims + axis + 1);
  int64_t out_row = y->dims[axis] * inner, col = 0;
  for (int i = 0; i < node->n_inputs; i++)
    {
      int64_t row = in[i]->dims[axis] * inner;
      const char *src = in[i]->data;
      char *dst = y->data;
      for (int64_t o = 0; o < outer && row > 0; o++)
        memcpy (dst + (size_t) (o * out_row + col) * es, src + (size_t) (o * row) * es,
                (size_t) row * es);
      col += row;
    }
  return GZ_OK;
}

static GzStatus
concat_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                 const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                 GzError *err)
{
  const GzTensor *y = out[0];
  int axis = concat_axis (node, y->ndim);
  int64_t outer = gz_shape_numel (axis, y->dims);
  int64_t inner = gz_shape_numel (y->ndim - axis - 1, y->dims + axis + 1);
  int64_t out_row = y->dims[axis] * inner, col = 0;
  for (int i = 0; i < node->n_inputs; i++)
    {
      int64_t row = in[i]->dims[axis] * inner;
      if (din[i] != NULL)
        {
          float *dst = din[i]->data;
          if (dout[0] == NULL)
            gz_op_zero (din[i]);
          else
            for (int64_t o = 0; o < outer && row > 0; o++)
              memcpy (dst + o * row, gz_tensor_f (dout[0]) + o * out_row + col,
                      (size_t) row * sizeof (float));
        }
      col += row;
    }
  return GZ_OK;
}

const GzOpDef gz_op_concat[] = {
  { "Concat", 4, NULL, concat_infer, concat_forward, concat_backward, NULL },
  GZ_OP_END,
};
