/* gz-op-constant.c — operators whose output (or, for OneHot, its shape) is known at load time:
 * Shape, Size, Constant, ConstantOfShape, Range, EyeLike, OneHot
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Shape and Constant produce their data during shape inference (Shape's input
 * is usually a run-time activation, but its shape is known). ConstantOfShape
 * and Range need constant inputs to know their output shape at all; the plan
 * then folds them through forward. None of them passes a gradient.
 */
#include <math.h>
#include <string.h>

#include "gz-op.h"

/* Gives out a freshly allocated buffer for its (already set) shape. */
static GzStatus
alloc_output (const GzNode *node, GzTensor *out, GzError *err)
{
  int64_t n = gz_tensor_numel (out);
  if (n < 0 || (uint64_t) n > SIZE_MAX / 16)
    return gz_op_error (err, GZ_ERR_LIMIT, node, "output is too large");
  if (out->owns_data)
    free (out->data);
  out->data = calloc (n > 0 ? (size_t) n : 1, gz_dtype_size (out->dtype));
  out->owns_data = out->data != NULL;
  if (out->data == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  return GZ_OK;
}

/* ---- Shape ------------------------------------------------------------- */

static void
shape_range (const GzNode *node, int r, int64_t *start, int64_t *end)
{
  int64_t s = gz_node_attr_int (node, "start", 0);
  int64_t e = gz_node_attr_int (node, "end", r);
  if (s < 0)
    s += r;
  if (e < 0)
    e += r;
  *start = s < 0 ? 0 : s > r ? r : s;
  *end = e < 0 ? 0 : e > r ? r : e;
  if (*end < *start)
    *end = *start;
}

static void
shape_fill (const GzNode *node, const GzTensor *x, GzTensor *y)
{
  int64_t s, e;
  shape_range (node, x->ndim, &s, &e);
  int64_t *p = y->data;
  for (int64_t a = s; a < e; a++)
    p[a - s] = x->dims[a];
}

static GzStatus
shape_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  int64_t s, e;
  shape_range (node, in[0]->ndim, &s, &e);
  int64_t len = e - s;
  gz_tensor_set_shape (out[0], GZ_DTYPE_INT64, 1, &len);
  GzStatus st = alloc_output (node, out[0], err);
  if (st != GZ_OK)
    return st;
  shape_fill (node, in[0], out[0]);
  return GZ_OK;
}

static GzStatus
shape_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  shape_fill (node, in[0], out[0]);
  return GZ_OK;
}

/* ---- Size -------------------------------------------------------------- */

static GzStatus
size_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  gz_tensor_set_shape (out[0], GZ_DTYPE_INT64, 0, NULL);
  GzStatus st = alloc_output (node, out[0], err);
  if (st != GZ_OK)
    return st;
  *(int64_t *) out[0]->data = gz_tensor_numel (in[0]);
  return GZ_OK;
}

static GzStatus
size_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  *(int64_t *) out[0]->data = gz_tensor_numel (in[0]);
  return GZ_OK;
}

/* ---- Constant ---------------------------------------------------------- */

/* Points *src at the constant's elements and sets y's header. */
static GzStatus
constant_value (const GzNode *node, GzTensor *y, const void **src, GzError *err)
{
  for (int i = 0; i < node->n_attrs; i++)
    {
      const GzAttr *a = &node->attrs[i];
      if (strcmp (a->name, "value") == 0 && a->type == GZ_ATTR_TENSOR && a->t != NULL)
        {
          gz_tensor_set_shape (y, a->t->dtype, a->t->ndim, a->t->dims);
          *src = a->t->data;
          return GZ_OK;
        }
      if (strcmp (a->name, "value_float") == 0 && a->type == GZ_ATTR_FLOAT)
        {
          gz_tensor_set_shape (y, GZ_DTYPE_FLOAT, 0, NULL);
          *src = &a->f;
          return GZ_OK;
        }
      if (strcmp (a->name, "value_int") == 0 && a->type == GZ_ATTR_INT)
        {
          gz_tensor_set_shape (y, GZ_DTYPE_INT64, 0, NULL);
          *src = &a->i;
          return GZ_OK;
        }
      if (strcmp (a->name, "value_floats") == 0 && a->type == GZ_ATTR_FLOATS)
        {
          int64_t n = a->n;
          gz_tensor_set_shape (y, GZ_DTYPE_FLOAT, 1, &n);
          *src = a->floats;
          return GZ_OK;
        }
      if (strcmp (a->name, "value_ints") == 0 && a->type == GZ_ATTR_INTS)
        {
          int64_t n = a->n;
          gz_tensor_set_shape (y, GZ_DTYPE_INT64, 1, &n);
          *src = a->ints;
          return GZ_OK;
        }
    }
  return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                      "needs a float or int64 'value', 'value_float(s)' or 'value_int(s)' "
                      "attribute (sparse and string constants are not supported)");
}

static GzStatus
constant_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 0, 1, err);
  if (need != GZ_OK)
    return need;
  const void *src;
  GzStatus st = constant_value (node, out[0], &src, err);
  if (st == GZ_OK)
    st = alloc_output (node, out[0], err);
  if (st != GZ_OK)
    return st;
  int64_t n = gz_tensor_numel (out[0]);
  if (n > 0 && src != NULL)
    memcpy (out[0]->data, src, gz_op_bytes (out[0], n));
  return GZ_OK;
}

static GzStatus
constant_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzTensor hdr = { 0 };
  const void *src;
  GzStatus st = constant_value (node, &hdr, &src, err);
  if (st != GZ_OK)
    return st;
  int64_t n = gz_tensor_numel (&hdr);
  if (n != gz_tensor_numel (out[0]) || hdr.dtype != out[0]->dtype)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "output buffer does not match the constant");
  if (n > 0 && src != NULL)
    memcpy (out[0]->data, src, gz_op_bytes (out[0], n));
  return GZ_OK;
}

/* ---- ConstantOfShape --------------------------------------------------- */

static GzStatus
cos_value (const GzNode *node, GzDType *dtype, double *value, GzError *err)
{
  const GzAttr *a = gz_node_attr (node, "value");
  *dtype = GZ_DTYPE_FLOAT;
  *value = 0.0;
  if (a == NULL)
    return GZ_OK;
  if (a->type != GZ_ATTR_TENSOR || a->t == NULL || gz_tensor_numel (a->t) != 1)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "value must be a one-element tensor");
  *dtype = a->t->dtype;
  *value = gz_op_scalar (a->t);
  return GZ_OK;
}

static GzStatus
cos_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  const int64_t *shape;
  int n;
  GzDType dtype;
  double value;
  GzStatus st;
  if ((st = cos_value (node, &dtype, &value, err)) != GZ_OK)
    return st;
  if ((st = gz_op_const_ints (node, gz_op_input (node, in, 0), "input", &shape, &n, err)) != GZ_OK)
    return st;
  if ((st = gz_op_check_shape (node, n, shape, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], dtype, n, shape);
  return GZ_OK;
}

static GzStatus
cos_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzDType dtype;
  double value;
  GzStatus st = cos_value (node, &dtype, &value, err);
  if (st != GZ_OK)
    return st;
  int64_t n = gz_tensor_numel (out[0]);
  if (out[0]->dtype == GZ_DTYPE_INT64)
    {
      const GzAttr *a = gz_node_attr (node, "value");
      int64_t v = a != NULL ? ((const int64_t *) a->t->data)[0] : 0;
      int64_t *p = out[0]->data;
      for (int64_t i = 0; i < n; i++)
        p[i] = v;
    }
  else
    {
      float *p = out[0]->data;
      for (int64_t i = 0; i < n; i++)
        p[i] = (float) value;
    }
  return GZ_OK;
}

/* ---- Range ------------------------------------------------------------- */

#define RANGE_MAX_ELEMENTS ((int64_t) 1 << 31)

static GzStatus
range_count (const GzNode *node, const GzTensor *const *in, int64_t *count, GzError *err)
{
  static const char *const names[3] = { "start", "limit", "delta" };
  for (int i = 0; i < 3; i++)
    {
      const GzTensor *t = gz_op_input (node, in, i);
      if (t == NULL)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "input '%s' is missing", names[i]);
      if (gz_tensor_numel (t) != 1 || t->ndim > 1)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "input '%s' must be a scalar", names[i]);
      if (t->dtype != in[0]->dtype)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "inputs differ in data type");
      if (t->data == NULL)
        return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                            "input '%s' is computed at run time; the output size must be "
                            "known at load time",
                            names[i]);
    }
  int64_t n;
  if (in[0]->dtype == GZ_DTYPE_INT64)
    {
      int64_t s = *(int64_t *) in[0]->data, l = *(int64_t *) in[1]->data;
      int64_t d = *(int64_t *) in[2]->data;
      if (d == 0)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "delta is 0");
      /* unsigned differences cannot overflow */
      uint64_t diff, step;
      if (d > 0)
        diff = l > s ? (uint64_t) l - (uint64_t) s : 0, step = (uint64_t) d;
      else
        diff = s > l ? (uint64_t) s - (uint64_t) l : 0, step = (uint64_t) 0 - (uint64_t) d;
      uint64_t un = diff == 0 ? 0 : (diff - 1) / step + 1;
      n = un > (uint64_t) RANGE_MAX_ELEMENTS ? -1 : (int64_t) un;
    }
  else
    {
      double s = gz_op_scalar (in[0]), l = gz_op_scalar (in[1]), d = gz_op_scalar (in[2]);
      if (d == 0.0 || !isfinite (s) || !isfinite (l) || !isfinite (d))
        return gz_op_error (err, GZ_ERR_SHAPE, node,
                            "start, limit and delta must be finite "
                            "and delta non-zero");
      double c = ceil ((l - s) / d);
      n = c <= 0.0 ? 0 : c > (double) RANGE_MAX_ELEMENTS ? -1 : (int64_t) c;
    }
  if (n < 0)
    return gz_op_error (err, GZ_ERR_LIMIT, node, "more than %lld elements",
                        (long long) RANGE_MAX_ELEMENTS);
  *count = n;
  return GZ_OK;
}

static GzStatus
range_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 3, 1, err);
  if (need != GZ_OK)
    return need;
  int64_t n;
  GzStatus st = range_count (node, in, &n, err);
  if (st != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], in[0]->dtype, 1, &n);
  return GZ_OK;
}

static GzStatus
range_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int64_t n = out[0]->dims[0];
  if (out[0]->dtype == GZ_DTYPE_INT64)
    {
      int64_t s = *(int64_t *) in[0]->data, d = *(int64_t *) in[2]->data;
      int64_t *p = out[0]->data;
      for (int64_t i = 0; i < n; i++)
        p[i] = (int64_t) ((uint64_t) s + (uint64_t) i * (uint64_t) d);
    }
  else
    {
      double s = gz_op_scalar (in[0]), d = gz_op_scalar (in[2]);
      float *p = out[0]->data;
      for (int64_t i = 0; i < n; i++)
        p[i] = (float) (s + (double) i * d);
    }
  return GZ_OK;
}

/* ---- EyeLike ----------------------------------------------------------- */

/* Ones on the k-th diagonal of a 2-D tensor shaped like the input: known from
 * the shape alone, so infer produces the data (like Shape). */

static GzStatus
eye_dtype (const GzNode *node, const GzTensor *x, GzDType *dtype, GzError *err)
{
  const GzAttr *a = gz_node_attr (node, "dtype");
  *dtype = x->dtype;
  if (a == NULL || a->type != GZ_ATTR_INT)
    return GZ_OK;
  switch (a->i)
    {
      case 1:
      case 10:
      case 11:
        *dtype = GZ_DTYPE_FLOAT;
        return GZ_OK;
      case 6:
      case 7:
      case 9:
        *dtype = GZ_DTYPE_INT64;
        return GZ_OK;
      default:
        return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "dtype %lld is not supported",
                            (long long) a->i);
    }
}

static void
eye_fill (const GzNode *node, GzTensor *y)
{
  int64_t k = gz_node_attr_int (node, "k", 0), rows = y->dims[0], cols = y->dims[1];
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++)
      {
        /* j - i == k without overflow: compare in the safe direction */
        bool one = (k >= 0 && j >= i && j - i == k) || (k < 0 && i > j && i - j == -k);
        if (y->dtype == GZ_DTYPE_INT64)
          ((int64_t *) y->data)[i * cols + j] = one;
        else
          ((float *) y->data)[i * cols + j] = one;
      }
}

static GzStatus
eye_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st = gz_op_need (node, in, out, 1, 1, err);
  GzDType dtype;
  if (st != GZ_OK || (st = eye_dtype (node, in[0], &dtype, err)) != GZ_OK)
    return st;
  if (in[0]->ndim != 2)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "input must be 2-D, not rank %d", in[0]->ndim);
  if (gz_node_attr_int (node, "k", 0) == INT64_MIN)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "k is out of range");
  gz_tensor_set_shape (out[0], dtype, 2, in[0]->dims);
  if ((st = alloc_output (node, out[0], err)) != GZ_OK)
    return st;
  eye_fill (node, out[0]);
  return GZ_OK;
}

static GzStatus
eye_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  eye_fill (node, out[0]);
  return GZ_OK;
}

/* ---- OneHot ------------------------------------------------------------ */

/* output[..., d at axis, ...] = values[1] where indices[...] == d (negative
 * indices count from depth), else values[0]. depth must be a constant. */

static GzStatus
onehot_layout (const GzNode *node, const GzTensor *const *in, int *axis, int64_t *depth,
               GzError *err)
{
  const GzTensor *idx = in[0], *dt = in[1], *vals = in[2];
  if (gz_tensor_numel (dt) != 1)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "depth must be a scalar");
  if (dt->data == NULL)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "depth is computed at run time");
  double d = gz_op_scalar (dt);
  if (!(d >= 1.0 && d <= (double) ((int64_t) 1 << 40)))
    return gz_op_error (err, GZ_ERR_SHAPE, node, "depth %g is invalid", d);
  *depth = (int64_t) d;
  if (gz_tensor_numel (vals) != 2)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "values must hold [off, on]");
  int64_t v = gz_node_attr_int (node, "axis", -1);
  int r = idx->ndim + 1;
  if (r > GZ_MAX_DIMS || v < -r || v >= r)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
                        (long long) v, r);
  *axis = (int) (v < 0 ? v + r : v);
  return GZ_OK;
}

static GzStatus
onehot_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st = gz_op_need (node, in, out, 3, 1, err);
  int axis;
  int64_t depth;
  if (st != GZ_OK || (st = onehot_layout (node, in, &axis, &depth, err)) != GZ_OK)
    return st;
  int64_t dims[GZ_MAX_DIMS];
  for (int a = 0, k = 0; a <= in[0]->ndim; a++)
    dims[a] = a == axis ? depth : in[0]->dims[k++];
  if ((st = gz_op_check_shape (node, in[0]->ndim + 1, dims, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], in[2]->dtype, in[0]->ndim + 1, dims);
  return GZ_OK;
}

static GzStatus
onehot_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int axis;
  int64_t depth;
  GzStatus st = onehot_layout (node, in, &axis, &depth, err);
  if (st != GZ_OK)
    return st;
  const GzTensor *idx = in[0], *vals = in[2];
  int64_t outer = gz_shape_numel (axis, idx->dims);
  int64_t inner = gz_shape_numel (idx->ndim - axis, idx->dims + axis);
  bool wide = vals->dtype == GZ_DTYPE_INT64;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < inner; j++)
      {
        double iv = idx->dtype == GZ_DTYPE_INT64
            ? (double) ((const int64_t *) idx->data)[o * inner + j]
            : (double) ((const float *) idx->data)[o * inner + j];
        if (iv < 0)
          iv += (double) depth;
        int64_t hot = iv >= 0 && iv < (double) depth ? (int64_t) iv : -1;
        for (int64_t d = 0; d < depth; d++)
          {
            int64_t at = (o * depth + d) * inner + j;
            int which = d == hot;
            if (wide)
              ((int64_t *) out[0]->data)[at] = ((const int64_t *) vals->data)[which];
            else
              ((float *) out[0]->data)[at] = ((const float *) vals->data)[which];
          }
      }
  return GZ_OK;
}

const GzOpDef gz_op_constant[] = {
  { "Shape", 1, NULL, shape_infer, shape_forward, NULL, NULL },
  { "Size", 1, NULL, size_infer, size_forward, NULL, NULL },
  { "Constant", 1, NULL, constant_infer, constant_forward, NULL, NULL },
  { "ConstantOfShape", 9, NULL, cos_infer, cos_forward, NULL, NULL },
  { "Range", 11, NULL, range_infer, range_forward, NULL, NULL },
  { "EyeLike", 9, NULL, eye_infer, eye_forward, NULL, NULL },
  { "OneHot", 9, NULL, onehot_infer, onehot_forward, NULL, NULL },
  GZ_OP_END,
};
