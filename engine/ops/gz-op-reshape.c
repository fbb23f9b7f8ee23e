/* gz-op-reshape.c — operators that keep the data and change the shape:
 * Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout (inference)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * All of them copy the input's elements unchanged, so they share one forward
 * (a copy) and one backward (the gradient, reshaped back). Axes that moved from
 * attributes to inputs across opsets (Squeeze/Unsqueeze 13, Reshape 5) are
 * read from the input when given, else from the attribute.
 */
#include <string.h>

#include "gz-op.h"

static GzStatus
copy_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int64_t n = gz_tensor_numel (in[0]);
  if (n != gz_tensor_numel (out[0]) || in[0]->dtype != out[0]->dtype)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "output buffer does not match the input");
  if (n > 0 && out[0]->data != in[0]->data)
    memmove (out[0]->data, in[0]->data, gz_op_bytes (in[0], n));
  return GZ_OK;
}

static GzStatus
copy_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
               const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
               GzError *err)
{
  if (din[0] == NULL)
    return GZ_OK;
  int64_t n = gz_tensor_numel (din[0]);
  if (dout[0] == NULL)
    gz_op_zero (din[0]);
  else if (n > 0)
    memmove (din[0]->data, dout[0]->data, (size_t) n * sizeof (float));
  return GZ_OK;
}

/* ---- Reshape ----------------------------------------------------------- */

static GzStatus
reshape_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  const GzTensor *x = in[0];
  const GzTensor *shape_in = gz_op_input (node, in, 1);
  const int64_t *shape;
  int n;
  GzStatus st;
  char buf[128];

  if (shape_in != NULL)
    {
      if ((st = gz_op_const_ints (node, shape_in, "shape", &shape, &n, err)) != GZ_OK)
        return st;
    }
  else
    {
      /* opset < 5: the shape attribute */
      n = gz_node_attr_ints (node, "shape", &shape);
      if (shape == NULL)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "no target shape given");
    }
  if (n > GZ_MAX_DIMS)
    return gz_op_error (err, GZ_ERR_LIMIT, node, "target rank %d exceeds the maximum of %d", n,
                        GZ_MAX_DIMS);

  bool allowzero = gz_node_attr_int (node, "allowzero", 0) != 0;
  int64_t dims[GZ_MAX_DIMS];
  int infer_at = -1;
  int64_t known = 1;
  for (int i = 0; i < n; i++)
    {
      int64_t v = shape[i];
      if (v == 0 && !allowzero)
        {
          if (i >= x->ndim)
            return gz_op_error (err, GZ_ERR_SHAPE, node,
                                "target dimension %d is 0 (copy) but the input %s has rank %d", i,
                                gz_op_shape_str (x->ndim, x->dims, buf, sizeof buf), x->ndim);
          v = x->dims[i];
        }
      else if (v == -1)
        {
          if (infer_at >= 0)
            return gz_op_error (err, GZ_ERR_SHAPE, node,
                                "target shape has more than one -1 (dimensions %d and %d)",
                                infer_at, i);
          infer_at = i;
          dims[i] = -1;
          continue;
        }
      else if (v < 0)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "target dimension %d is %lld", i,
                            (long long) v);
      dims[i] = v;
      if (v != 0 && known > INT64_MAX / v)
        return gz_op_error (err, GZ_ERR_LIMIT, node, "target shape overflows");
      known *= v;
    }

  int64_t total = gz_tensor_numel (x);
  if (infer_at >= 0)
    {
      if (known == 0 || total % known != 0)
        return gz_op_error (err, GZ_ERR_SHAPE, node,
                            "cannot infer the -1 dimension: %lld elements (input %s) are "
                            "not a multiple of %lld",
                            (long long) total, gz_op_shape_str (x->ndim, x->dims, buf, sizeof buf),
                            (long long) known);
      dims[infer_at] = total / known;
    }
  else if (known != total)
    {
      char buf2[128];
      return gz_op_error (err, GZ_ERR_SHAPE, node,
                          "cannot reshape %s (%lld elements) to %s (%lld elements)",
                          gz_op_shape_str (x->ndim, x->dims, buf, sizeof buf), (long long) total,
                          gz_op_shape_str (n, dims, buf2, sizeof buf2), (long long) known);
    }
  gz_tensor_set_shape (out[0], x->dtype, n, dims);
  return GZ_OK;
}

/* ---- Flatten ----------------------------------------------------------- */

static GzStatus
flatten_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  const GzTensor *x = in[0];
  int64_t axis = gz_node_attr_int (node, "axis", 1);
  if (axis < -x->ndim || axis > x->ndim)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
                        (long long) axis, x->ndim);
  if (axis < 0)
    axis += x->ndim;
  int64_t dims[2];
  dims[0] = gz_shape_numel ((int) axis, x->dims);
  dims[1] = gz_shape_numel (x->ndim - (int) axis, x->dims + axis);
  if (dims[0] < 0 || dims[1] < 0)
    return gz_op_error (err, GZ_ERR_LIMIT, node, "element count overflows");
  gz_tensor_set_shape (out[0], x->dtype, 2, dims);
  return GZ_OK;
}

/* ---- Squeeze / Unsqueeze ----------------------------------------------- */

static GzStatus
read_axes (const GzNode *node, const GzTensor *const *in, const int64_t **axes, int *n,
           GzError *err)
{
  const GzTensor *t = gz_op_input (node, in, 1);
  if (t != NULL)
    return gz_op_const_ints (node, t, "axes", axes, n, err);
  *n = gz_node_attr_ints (node, "axes", axes);
  return GZ_OK;
}

static GzStatus
squeeze_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  const GzTensor *x = in[0];
  const int64_t *axes;
  int n;
  GzStatus st = read_axes (node, in, &axes, &n, err);
  if (st != GZ_OK)
    return st;

  bool drop[GZ_MAX_DIMS] = { false };
  if (n == 0)
    for (int a = 0; a < x->ndim; a++)
      drop[a] = x->dims[a] == 1;
  for (int i = 0; i < n; i++)
    {
      int a = gz_axis (axes[i], x->ndim);
      if (a < 0)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
                            (long long) axes[i], x->ndim);
      if (x->dims[a] != 1)
        return gz_op_error (err, GZ_ERR_SHAPE, node,
                            "cannot squeeze axis %d of size %lld (must be 1)", a,
                            (long long) x->dims[a]);
      drop[a] = true;
    }
  int64_t dims[GZ_MAX_DIMS];
  int r = 0;
  for (int a = 0; a < x->ndim; a++)
    if (!drop[a])
      dims[r++] = x->dims[a];
  gz_tensor_set_shape (out[0], x->dtype, r, dims);
  return GZ_OK;
}

static GzStatus
unsqueeze_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  const GzTensor *x = in[0];
  const int64_t *axes;
  int n;
  GzStatus st = read_axes (node, in, &axes, &n, err);
  if (st != GZ_OK)
    return st;
  if (n == 0)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "no axes given");
  int r = x->ndim + n;
  if (r > GZ_MAX_DIMS)
    return gz_op_error (err, GZ_ERR_LIMIT, node, "output rank %d exceeds the maximum of %d", r,
                        GZ_MAX_DIMS);
  bool inserted[GZ_MAX_DIMS] = { false };
  for (int i = 0; i < n; i++)
    {
      int a = gz_axis (axes[i], r);
      if (a < 0)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for output rank %d",
                            (long long) axes[i], r);
      if (inserted[a])
        return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %d is given twice", a);
      inserted[a] = true;
    }
  int64_t dims[GZ_MAX_DIMS];
  for (int a = 0, k = 0; a < r; a++)
    dims[a] = inserted[a] ? 1 : x->dims[k++];
  gz_tensor_set_shape (out[0], x->dtype, r, dims);
  return GZ_OK;
}

/* ---- Identity / Dropout ------------------------------------------------ */

static GzStatus
identity_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  gz_tensor_set_shape (out[0], in[0]->dtype, in[0]->ndim, in[0]->dims);
  return GZ_OK;
}

/* Inference only: the output is the input; the optional mask (bool in ONNX,
 * int64 here like every boolean in the engine) is all true. Asking for
 * training mode with a non-zero ratio is refused rather than ignored. */
static GzStatus
dropout_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 2, err);
  if (need != GZ_OK)
    return need;
  const GzTensor *ratio = gz_op_input (node, in, 1);
  const GzTensor *training = gz_op_input (node, in, 2);
  if (training != NULL)
    {
      if (training->data == NULL)
        return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "training_mode is computed at run time");
      bool ratio_zero = ratio != NULL && ratio->data != NULL && gz_op_scalar (ratio) == 0.0;
      if (gz_op_scalar (training) != 0.0 && !ratio_zero)
        return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                            "training mode (random dropout) is not supported");
    }
  gz_tensor_set_shape (out[0], in[0]->dtype, in[0]->ndim, in[0]->dims);
  GzTensor *mask = gz_op_output (node, out, 1);
  if (mask != NULL)
    gz_tensor_set_shape (mask, GZ_DTYPE_INT64, in[0]->ndim, in[0]->dims);
  return GZ_OK;
}

static GzStatus
dropout_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzTensor *mask = gz_op_output (node, out, 1);
  if (mask != NULL)
    {
      int64_t n = gz_tensor_numel (mask);
      int64_t *m = mask->data;
      for (int64_t i = 0; i < n; i++)
        m[i] = 1;
    }
  return copy_forward (node, in, out, err);
}

const GzOpDef gz_op_reshape[] = {
  { "Reshape", 1, NULL, reshape_infer, copy_forward, copy_backward, NULL },
  { "Flatten", 1, NULL, flatten_infer, copy_forward, copy_backward, NULL },
  { "Squeeze", 1, NULL, squeeze_infer, copy_forward, copy_backward, NULL },
  { "Unsqueeze", 1, NULL, unsqueeze_infer, copy_forward, copy_backward, NULL },
  { "Identity", 1, NULL, identity_infer, copy_forward, copy_backward, NULL },
  { "Dropout", 1, NULL, dropout_infer, dropout_forward, copy_backward, NULL },
  GZ_OP_END,
};
