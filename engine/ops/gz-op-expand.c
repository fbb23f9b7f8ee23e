/* gz-op-expand.c — Expand: numpy broadcasting to a constant shape
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Forward reads the input with stride 0 along broadcast axes; backward sums
 * the gradient over them (scatter-add through the same strides).
 */
#include "gz-op.h"

static GzStatus
expand_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 2, 1, err);
  if (need != GZ_OK)
    return need;
  const int64_t *shape;
  int n;
  GzStatus st;
  if ((st = gz_op_const_ints (node, gz_op_input (node, in, 1), "shape", &shape, &n, err)) != GZ_OK)
    return st;
  if (n > GZ_MAX_DIMS)
    return gz_op_error (err, GZ_ERR_LIMIT, node, "target rank %d exceeds the maximum of %d", n,
                        GZ_MAX_DIMS);
  for (int i = 0; i < n; i++)
    if (shape[i] < 0)
      return gz_op_error (err, GZ_ERR_SHAPE, node, "target dimension %d is %lld", i,
                          (long long) shape[i]);
  int r;
  int64_t dims[GZ_MAX_DIMS];
  if (gz_broadcast_shape (in[0]->ndim, in[0]->dims, n, shape, &r, dims, err) != GZ_OK)
    {
      char b1[128], b2[128];
      return gz_op_error (err, GZ_ERR_SHAPE, node, "cannot expand %s to %s",
                          gz_op_shape_str (in[0]->ndim, in[0]->dims, b1, sizeof b1),
                          gz_op_shape_str (n, shape, b2, sizeof b2));
    }
  if ((st = gz_op_check_shape (node, r, dims, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], in[0]->dtype, r, dims);
  return GZ_OK;
}

static GzStatus
expand_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int64_t strides[GZ_MAX_DIMS];
  gz_op_broadcast_strides (in[0]->ndim, in[0]->dims, out[0]->ndim, strides);
  gz_op_view_gather (gz_dtype_size (in[0]->dtype), out[0]->ndim, out[0]->dims, in[0]->data, 0,
                     strides, out[0]->data);
  return GZ_OK;
}

static GzStatus
expand_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                 const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                 GzError *err)
{
  if (!gz_op_backward_begin (din, dout, true))
    return GZ_OK;
  int64_t strides[GZ_MAX_DIMS];
  gz_op_broadcast_strides (in[0]->ndim, in[0]->dims, out[0]->ndim, strides);
  gz_op_view_scatter_add (out[0]->ndim, out[0]->dims, dout[0]->data, din[0]->data, 0, strides);
  return GZ_OK;
}

const GzOpDef gz_op_expand[] = {
  { "Expand", 8, NULL, expand_infer, expand_forward, expand_backward, NULL },
  GZ_OP_END,
};
