/* gz-op-transpose.c — Transpose: a strided gather, backward the strided scatter
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gz-op.h"

/* Fills perm (default: reversed axes) after validating it. */
static GzStatus
read_perm (const GzNode *node, int ndim, int *perm, GzError *err)
{
  const int64_t *p;
  int n = gz_node_attr_ints (node, "perm", &p);
  if (p == NULL)
    {
      for (int a = 0; a < ndim; a++)
        perm[a] = ndim - 1 - a;
      return GZ_OK;
    }
  if (n != ndim)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "perm has %d entries for an input of rank %d", n,
                        ndim);
  bool seen[GZ_MAX_DIMS] = { false };
  for (int a = 0; a < ndim; a++)
    {
      int v = gz_axis (p[a], ndim);
      if (v < 0 || seen[v])
        return gz_op_error (err, GZ_ERR_SHAPE, node,
                            "perm is not a permutation of 0..%d (entry %d is %lld)", ndim - 1, a,
                            (long long) p[a]);
      seen[v] = true;
      perm[a] = v;
    }
  return GZ_OK;
}

static GzStatus
transpose_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  const GzTensor *x = in[0];
  int perm[GZ_MAX_DIMS];
  GzStatus st = read_perm (node, x->ndim, perm, err);
  if (st != GZ_OK)
    return st;
  int64_t dims[GZ_MAX_DIMS];
  for (int a = 0; a < x->ndim; a++)
    dims[a] = x->dims[perm[a]];
  gz_tensor_set_shape (out[0], x->dtype, x->ndim, dims);
  return GZ_OK;
}

/* Strides into the input for each output axis. */
static GzStatus
permuted_strides (const GzNode *node, const GzTensor *x, int64_t *strides, GzError *err)
{
  int perm[GZ_MAX_DIMS];
  int64_t own[GZ_MAX_DIMS];
  GzStatus st = read_perm (node, x->ndim, perm, err);
  if (st != GZ_OK)
    return st;
  gz_op_strides (x->ndim, x->dims, own);
  for (int a = 0; a < x->ndim; a++)
    strides[a] = own[perm[a]];
  return GZ_OK;
}

static GzStatus
transpose_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out,
                   GzError *err)
{
  int64_t strides[GZ_MAX_DIMS];
  GzStatus st = permuted_strides (node, in[0], strides, err);
  if (st != GZ_OK)
    return st;
  gz_op_view_gather (gz_dtype_size (in[0]->dtype), out[0]->ndim, out[0]->dims, in[0]->data, 0,
                     strides, out[0]->data);
  return GZ_OK;
}

static GzStatus
transpose_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                    const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                    GzError *err)
{
  if (!gz_op_backward_begin (din, dout, true))
    return GZ_OK;
  int64_t strides[GZ_MAX_DIMS];
  GzStatus st = permuted_strides (node, in[0], strides, err);
  if (st != GZ_OK)
    return st;
  gz_op_view_scatter_add (out[0]->ndim, out[0]->dims, dout[0]->data, din[0]->data, 0, strides);
  return GZ_OK;
}

const GzOpDef gz_op_transpose[] = {
  { "Transpose", 1, NULL, transpose_infer, transpose_forward, transpose_backward, NULL },
  GZ_OP_END,
};
