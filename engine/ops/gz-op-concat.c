/* gz-op-concat.c — Concat and Split, each other's backward
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Both see a tensor as [outer, size along axis, inner] and move contiguous
 * blocks of size×inner elements per outer index.
 */
#include <string.h>

#include "gz-tensor-ops.h"

/* ---- Concat ------------------------------------------------------------ */

static GzStatus
concat_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_tops_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  if (node->n_inputs < 1 || in[0] == NULL)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "needs at least one input");
  const GzTensor *first = in[0];
  const GzAttr *axis_attr = gz_node_attr (node, "axis");
  if (axis_attr == NULL || axis_attr->type != GZ_ATTR_INT)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "the axis attribute is required");
  int axis = gz_axis (axis_attr->i, first->ndim);
  if (axis < 0 || first->ndim == 0)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
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
        return gz_tops_error (err, GZ_ERR_SHAPE, node, "input %d is missing", i);
      if (t->dtype != first->dtype)
        return gz_tops_error (err, GZ_ERR_SHAPE, node, "input %d has a different data type", i);
      bool ok = t->ndim == first->ndim;
      for (int a = 0; ok && a < t->ndim; a++)
        ok = a == axis || t->dims[a] == first->dims[a];
      if (!ok)
        return gz_tops_error (err, GZ_ERR_SHAPE, node,
                              "input %d has shape %s, incompatible with %s along axis %d", i,
                              gz_tops_shape_str (t->ndim, t->dims, b1, sizeof b1),
                              gz_tops_shape_str (first->ndim, first->dims, b2, sizeof b2), axis);
      if (t->dims[axis] > INT64_MAX - dims[axis])
        return gz_tops_error (err, GZ_ERR_LIMIT, node, "concatenated size overflows");
      dims[axis] += t->dims[axis];
    }
  GzStatus st = gz_tops_check_shape (node, first->ndim, dims, err);
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
            gz_tops_zero (din[i]);
          else
            for (int64_t o = 0; o < outer && row > 0; o++)
              memcpy (dst + o * row, gz_tensor_f (dout[0]) + o * out_row + col,
                      (size_t) row * sizeof (float));
        }
      col += row;
    }
  return GZ_OK;
}

const GzOpDef gz_tops_concat = {
  "Concat", 4, NULL, concat_infer, concat_forward, concat_backward, NULL,
};

/* ---- Split ------------------------------------------------------------- */

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
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
                          (long long) axis_v, x->ndim);
  if (k < 1)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "has no outputs");
  int64_t d = x->dims[axis];

  const int64_t *given = NULL;
  int n_given = 0;
  const GzTensor *split_in = gz_tops_input (node, in, 1);
  if (split_in != NULL)
    {
      GzStatus st = gz_tops_const_ints (node, split_in, "split", &given, &n_given, err);
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
          return gz_tops_error (err, GZ_ERR_SHAPE, node, "split has %d sizes for %d outputs",
                                n_given, k);
        }
      for (int j = 0; j < k; j++)
        {
          if (given[j] < 0 || given[j] > d - sum)
            {
              free (s);
              return gz_tops_error (err, GZ_ERR_SHAPE, node,
                                    "split sizes do not add up to the axis size %lld",
                                    (long long) d);
            }
          s[j] = given[j];
          sum += given[j];
        }
      if (sum != d)
        {
          free (s);
          return gz_tops_error (err, GZ_ERR_SHAPE, node,
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
          return gz_tops_error (err, GZ_ERR_SHAPE, node,
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
  GzStatus need = gz_tops_need (node, in, out, 1, -1, err);
  if (need != GZ_OK)
    return need;
  int axis;
  int64_t *sizes;
  GzStatus st = split_sizes (node, in, &axis, &sizes, err);
  if (st != GZ_OK)
    return st;
  for (int j = 0; j < node->n_outputs; j++)
    {
      GzTensor *y = gz_tops_output (node, out, j);
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
      GzTensor *y = gz_tops_output (node, out, j);
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

const GzOpDef gz_tops_split = {
  "Split", 2, NULL, split_infer, split_forward, split_backward, NULL,
};
