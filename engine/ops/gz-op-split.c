/* gz-op-split.c — Split: one tensor into parts along an axis; Concat is its backward
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A tensor is seen as [outer, size along axis, inner]; each part is a
 * contiguous block of size×inner elements per outer index.
 */
#include <string.h>

#include "gz-op.h"

/* Sizes along the axis for each output (malloc'ed into *sizes). */
static GzStatus
split_sizes (const GzNode *node, const GzTensor *const *in, int *axis_out, int64_t **sizes,
             GzError *err)
{
  const GzTensor *x = in[0];
  int k = node->n_outputs;
  int64_t axis_v = gz_node_attr_int (node, "axis", 0);
  int axis = gz_axis (axis_v, x->ndim);
  if (axis < 0 || x->ndim == 0)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
                        (long long) axis_v, x->ndim);
  if (k < 1)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "has no outputs");
  int64_t d = x->dims[axis];

  const int64_t *given = NULL;
  int n_given = 0;
  const GzTensor *split_in = gz_op_input (node, in, 1);
  if (split_in != NULL)
    {
      GzStatus st = gz_op_const_ints (node, split_in, "split", &given, &n_given, err);
      if (st != GZ_OK)
        return st;
    }
  else
    n_given = gz_node_attr_ints (node, "split", &given);

  int64_t *s = calloc ((size_t) k, sizeof *s);
  if (s == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  if (given != NULL && n_given > 0)
    {
      int64_t sum = 0;
      if (n_given != k)
        {
          free (s);
          return gz_op_error (err, GZ_ERR_SHAPE, node, "split has %d sizes for %d outputs", n_given,
                              k);
        }
      for (int j = 0; j < k; j++)
        {
          if (given[j] < 0 || given[j] > d - sum)
            {
              free (s);
              return gz_op_error (err, GZ_ERR_SHAPE, node,
                                  "split sizes do not add up to the axis size %lld", (long long) d);
            }
          s[j] = given[j];
          sum += given[j];
        }
      if (sum != d)
        {
          free (s);
          return gz_op_error (err, GZ_ERR_SHAPE, node,
                              "split sizes add up to %lld, the axis has %lld", (long long) sum,
                              (long long) d);
        }
    }
  else
    {
      /* Equal parts; opset 18's num_outputs allows a smaller last part. */
      bool uneven_ok = gz_node_attr (node, "num_outputs") != NULL;
      if (d % k != 0 && !uneven_ok)
        {
          free (s);
          return gz_op_error (err, GZ_ERR_SHAPE, node,
                              "axis size %lld cannot be split into %d equal parts", (long long) d,
                              k);
        }
      int64_t part = (d + k - 1) / k, left = d;
      for (int j = 0; j < k; j++)
        {
          s[j] = left < part ? left : part;
          left -= s[j];
        }
    }
  *axis_out = axis;
  *sizes = s;
  return GZ_OK;
}

static GzStatus
split_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, -1, err);
  if (need != GZ_OK)
    return need;
  int axis;
  int64_t *sizes;
  GzStatus st = split_sizes (node, in, &axis, &sizes, err);
  if (st != GZ_OK)
    return st;
  for (int j = 0; j < node->n_outputs; j++)
    {
      GzTensor *y = gz_op_output (node, out, j);
      if (y == NULL)
        continue;
      gz_tensor_set_shape (y, in[0]->dtype, in[0]->ndim, in[0]->dims);
      y->dims[axis] = sizes[j];
    }
  free (sizes);
  return GZ_OK;
}

/* Copies between x ([outer, d, inner]) and the parts; to_parts chooses the
 * direction. Missing parts are skipped, or give zeros when gathering. */
static void
split_move (const GzTensor *x, int axis, const int64_t *sizes, int k, void *const *parts,
            void *whole, size_t es, bool to_parts)
{
  int64_t outer = gz_shape_numel (axis, x->dims);
  int64_t inner = gz_shape_numel (x->ndim - axis - 1, x->dims + axis + 1);
  int64_t x_row = x->dims[axis] * inner, col = 0;
  char *w = whole;
  for (int j = 0; j < k; j++)
    {
      int64_t row = sizes[j] * inner;
      char *p = parts[j];
      for (int64_t o = 0; o < outer && row > 0; o++)
        {
          char *wp = w + (size_t) (o * x_row + col) * es;
          if (p == NULL)
            {
              if (!to_parts)
                memset (wp, 0, (size_t) row * es);
            }
          else if (to_parts)
            memcpy (p + (size_t) (o * row) * es, wp, (size_t) row * es);
          else
            memcpy (wp, p + (size_t) (o * row) * es, (size_t) row * es);
        }
      col += row;
    }
}

static GzStatus
split_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int axis;
  int64_t *sizes;
  GzStatus st = split_sizes (node, in, &axis, &sizes, err);
  if (st != GZ_OK)
    return st;
  void **parts = calloc ((size_t) node->n_outputs, sizeof *parts);
  if (parts == NULL)
    {
      free (sizes);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  for (int j = 0; j < node->n_outputs; j++)
    {
      GzTensor *y = gz_op_output (node, out, j);
      parts[j] = y != NULL ? y->data : NULL;
    }
  split_move (in[0], axis, sizes, node->n_outputs, parts, in[0]->data, gz_dtype_size (in[0]->dtype),
              true);
  free (parts);
  free (sizes);
  return GZ_OK;
}

static GzStatus
split_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                GzError *err)
{
  if (din[0] == NULL)
    return GZ_OK;
  int axis;
  int64_t *sizes;
  GzStatus st = split_sizes (node, in, &axis, &sizes, err);
  if (st != GZ_OK)
    return st;
  void **parts = calloc ((size_t) node->n_outputs, sizeof *parts);
  if (parts == NULL)
    {
      free (sizes);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  for (int j = 0; j < node->n_outputs; j++)
    parts[j] = dout[j] != NULL ? dout[j]->data : NULL;
  split_move (in[0], axis, sizes, node->n_outputs, parts, din[0]->data, sizeof (float), false);
  free (parts);
  free (sizes);
  return GZ_OK;
}

const GzOpDef gz_op_split[] = {
  { "Split", 2, NULL, split_infer, split_forward, split_backward, NULL },
  GZ_OP_END,
};
