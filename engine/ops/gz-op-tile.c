/* gz-op-tile.c — Tile: repeat the input along each axis
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The output [r0*d0, r1*d1, …] is read as the view [r0, d0, r1, d1, …] of the
 * input with stride 0 along every repeat axis: a strided gather forward and a
 * scatter-add (the sum over repeats) backward.
 */
#include "gz-op.h"

static GzStatus
tile_view (const GzNode *node, const GzTensor *const *in, int *vnd, int64_t *vdims,
           int64_t *vstrides, int64_t *out_dims, GzError *err)
{
  const GzTensor *x = in[0];
  const int64_t *reps;
  int n;
  GzStatus st = gz_op_const_ints (node, gz_op_input (node, in, 1), "repeats", &reps, &n, err);
  if (st != GZ_OK)
    return st;
  if (n != x->ndim)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "%d repeats for an input of rank %d", n, x->ndim);
  int64_t strides[GZ_MAX_DIMS];
  gz_op_strides (x->ndim, x->dims, strides);
  for (int a = 0; a < n; a++)
    {
      if (reps[a] < 0)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "repeat %d is negative (%lld)", a,
                            (long long) reps[a]);
      if (x->dims[a] != 0 && reps[a] > INT64_MAX / x->dims[a])
        return gz_op_error (err, GZ_ERR_LIMIT, node, "output size overflows");
      out_dims[a] = x->dims[a] * reps[a];
      vdims[2 * a] = reps[a];
      vdims[2 * a + 1] = x->dims[a];
      vstrides[2 * a] = 0;
      vstrides[2 * a + 1] = strides[a];
    }
  *vnd = 2 * n;
  return gz_op_check_shape (node, n, out_dims, err);
}

static GzStatus
tile_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 2, 1, err);
  if (need != GZ_OK)
    return need;
  int vnd;
  int64_t vdims[GZ_OP_MAX_VIEW_DIMS], vstrides[GZ_OP_MAX_VIEW_DIMS], dims[GZ_MAX_DIMS];
  GzStatus st = tile_view (node, in, &vnd, vdims, vstrides, dims, err);
  if (st != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], in[0]->dtype, in[0]->ndim, dims);
  return GZ_OK;
}

static GzStatus
tile_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int vnd;
  int64_t vdims[GZ_OP_MAX_VIEW_DIMS], vstrides[GZ_OP_MAX_VIEW_DIMS], dims[GZ_MAX_DIMS];
  GzStatus st = tile_view (node, in, &vnd, vdims, vstrides, dims, err);
  if (st != GZ_OK)
    return st;
  gz_op_view_gather (gz_dtype_size (in[0]->dtype), vnd, vdims, in[0]->data, 0, vstrides,
                     out[0]->data);
  return GZ_OK;
}

static GzStatus
tile_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
               const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
               GzError *err)
{
  if (!gz_op_backward_begin (din, dout, true))
    return GZ_OK;
  int vnd;
  int64_t vdims[GZ_OP_MAX_VIEW_DIMS], vstrides[GZ_OP_MAX_VIEW_DIMS], dims[GZ_MAX_DIMS];
  GzStatus st = tile_view (node, in, &vnd, vdims, vstrides, dims, err);
  if (st != GZ_OK)
    return st;
  gz_op_view_scatter_add (vnd, vdims, dout[0]->data, din[0]->data, 0, vstrides);
  return GZ_OK;
}

const GzOpDef gz_op_tile[] = {
  { "Tile", 6, NULL, tile_infer, tile_forward, tile_backward, NULL },
  GZ_OP_END,
};
