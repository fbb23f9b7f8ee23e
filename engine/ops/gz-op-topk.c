/* gz-op-topk.c — TopK: the k largest (or smallest) values along an axis and their indices
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The gradient flows back to the positions the values came from.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gz-op.h"

/* Values and int64 indices of the k largest (or smallest) elements along an
 * axis, sorted, ties broken by the lower index. K must be known at load time.
 * Backward scatters the values' gradient to where they came from. */

typedef struct
{
  const float *x;
  int64_t stride;
  bool largest;
} TopKCmp;

static int
topk_compare (const void *a, const void *b, void *user)
{
  const TopKCmp *c = user;
  int64_t i = *(const int64_t *) a, j = *(const int64_t *) b;
  float u = c->x[i * c->stride], v = c->x[j * c->stride];
  if (u != v)
    {
      bool first = c->largest ? u > v : u < v;
      return first ? -1 : 1;
    }
  return i < j ? -1 : i > j;
}

static GzStatus
topk_layout (const GzNode *node, const GzTensor *const *in, int *axis, int64_t *outer, int64_t *n,
             int64_t *inner, int64_t *k, GzError *err)
{
  const GzTensor *x = in[0], *kt = gz_op_input (node, in, 1);
  int64_t v = gz_node_attr_int (node, "axis", -1);
  *axis = gz_axis (v, x->ndim);
  if (*axis < 0 || x->ndim == 0)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
                        (long long) v, x->ndim);
  if (x->dtype != GZ_DTYPE_FLOAT)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "only float input is supported");
  if (kt != NULL)
    {
      if (kt->dtype != GZ_DTYPE_INT64 || gz_tensor_numel (kt) != 1)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "K must be one int64");
      if (kt->data == NULL)
        return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "K is computed at run time");
      *k = *(const int64_t *) kt->data;
    }
  else
    *k = gz_node_attr_int (node, "k", -1); /* opset 1–9 */
  *outer = gz_shape_numel (*axis, x->dims);
  *n = x->dims[*axis];
  *inner = gz_shape_numel (x->ndim - *axis - 1, x->dims + *axis + 1);
  if (*k < 0 || *k > *n)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "K = %lld for an axis of size %lld",
                        (long long) *k, (long long) *n);
  return GZ_OK;
}

static GzStatus
topk_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st = gz_op_need (node, in, out, 1, 2, err);
  int axis;
  int64_t outer = 0, n = 0, inner = 0, k = 0;
  if (st != GZ_OK || (st = topk_layout (node, in, &axis, &outer, &n, &inner, &k, err)) != GZ_OK)
    return st;
  int64_t dims[GZ_MAX_DIMS];
  memcpy (dims, in[0]->dims, sizeof dims);
  dims[axis] = k;
  gz_tensor_set_shape (out[0], GZ_DTYPE_FLOAT, in[0]->ndim, dims);
  GzTensor *idx = gz_op_output (node, out, 1);
  if (idx != NULL)
    gz_tensor_set_shape (idx, GZ_DTYPE_INT64, in[0]->ndim, dims);
  return GZ_OK;
}

/* Fills order[o, j][0..k) with the selected indices; returns NULL on no memory. */
static int64_t *
topk_select (const GzNode *node, const float *x, int64_t outer, int64_t n, int64_t inner, int64_t k)
{
  int64_t *sel = malloc ((size_t) (outer * inner * k > 0 ? outer * inner * k : 1) * sizeof *sel);
  int64_t *order = malloc ((size_t) (n > 0 ? n : 1) * sizeof *order);
  if (sel == NULL || order == NULL)
    {
      free (sel);
      free (order);
      return NULL;
    }
  TopKCmp c = { NULL, inner, gz_node_attr_int (node, "largest", 1) != 0 };
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < inner; j++)
      {
        c.x = x + o * n * inner + j;
        for (int64_t i = 0; i < n; i++)
          order[i] = i;
        qsort_r (order, (size_t) n, sizeof *order, topk_compare, &c);
        memcpy (sel + (o * inner + j) * k, order, (size_t) k * sizeof *order);
      }
  free (order);
  return sel;
}

static GzStatus
topk_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int axis;
  int64_t outer = 0, n = 0, inner = 0, k = 0;
  GzStatus st = topk_layout (node, in, &axis, &outer, &n, &inner, &k, err);
  if (st != GZ_OK)
    return st;
  const float *x = in[0]->data;
  int64_t *sel = topk_select (node, x, outer, n, inner, k);
  if (sel == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  GzTensor *idx = gz_op_output (node, out, 1);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < inner; j++)
      for (int64_t r = 0; r < k; r++)
        {
          int64_t i = sel[(o * inner + j) * k + r], at = (o * k + r) * inner + j;
          gz_tensor_f (out[0])[at] = x[(o * n + i) * inner + j];
          if (idx != NULL)
            ((int64_t *) idx->data)[at] = i;
        }
  free (sel);
  return GZ_OK;
}

static GzStatus
topk_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
               const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
               GzError *err)
{
  if (!gz_op_backward_begin (din, dout, true))
    return GZ_OK;
  int axis;
  int64_t outer = 0, n = 0, inner = 0, k = 0;
  GzStatus st = topk_layout (node, in, &axis, &outer, &n, &inner, &k, err);
  if (st != GZ_OK)
    return st;
  int64_t *sel = topk_select (node, in[0]->data, outer, n, inner, k);
  if (sel == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < inner; j++)
      for (int64_t r = 0; r < k; r++)
        {
          int64_t i = sel[(o * inner + j) * k + r];
          gz_tensor_f (din[0])[(o * n + i) * inner + j]
              += gz_tensor_f (dout[0])[(o * k + r) * inner + j];
        }
  free (sel);
  return GZ_OK;
}

const GzOpDef gz_op_topk[] = {
  { "TopK", 1, NULL, topk_infer, topk_forward, topk_backward, NULL },
  GZ_OP_END,
};
