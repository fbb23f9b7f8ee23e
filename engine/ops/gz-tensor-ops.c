/* gz-tensor-ops.c — helpers shared by the tensor operators
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gz-tensor-ops.h"

GzStatus
gz_tops_error (GzError *err, GzStatus code, const GzNode *node, const char *fmt, ...)
{
  char msg[400];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  return gz_error_set (err, code, "%s '%s': %s", node->op_type, node->name, msg);
}

const char *
gz_tops_shape_str (int ndim, const int64_t *dims, char *buf, size_t len)
{
  size_t used = 0;
  buf[0] = '\0';
  used += (size_t) snprintf (buf, len, "[");
  for (int i = 0; i < ndim && used < len; i++)
    used += (size_t) snprintf (buf + used, len - used, "%s%lld", i > 0 ? "," : "",
                               (long long) dims[i]);
  if (used < len)
    snprintf (buf + used, len - used, "]");
  return buf;
}

GzStatus
gz_tops_check_shape (const GzNode *node, int ndim, const int64_t *dims, GzError *err)
{
  if (ndim < 0 || ndim > GZ_MAX_DIMS)
    return gz_tops_error (err, GZ_ERR_LIMIT, node, "output rank %d exceeds the maximum of %d", ndim,
                          GZ_MAX_DIMS);
  for (int i = 0; i < ndim; i++)
    if (dims[i] < 0)
      return gz_tops_error (err, GZ_ERR_SHAPE, node, "output dimension %d is negative (%lld)", i,
                            (long long) dims[i]);
  if (gz_shape_numel (ndim, dims) < 0)
    return gz_tops_error (err, GZ_ERR_LIMIT, node, "output element count overflows");
  return GZ_OK;
}

GzStatus
gz_tops_need (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, int n_required,
              int max_outputs, GzError *err)
{
  if (max_outputs >= 0 && node->n_outputs > max_outputs)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "has %d outputs, at most %d expected",
                          node->n_outputs, max_outputs);
  if (node->n_inputs < n_required)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "needs %d inputs, has %d", n_required,
                          node->n_inputs);
  for (int i = 0; i < node->n_inputs; i++)
    {
      const GzTensor *t = node->inputs[i] >= 0 ? in[i] : NULL;
      if (t == NULL && i < n_required)
        return gz_tops_error (err, GZ_ERR_SHAPE, node, "input %d is missing", i);
      if (t != NULL && (t->ndim < 0 || t->ndim > GZ_MAX_DIMS))
        return gz_tops_error (err, GZ_ERR_SHAPE, node, "input %d has rank %d", i, t->ndim);
      if (t != NULL && t->dtype != GZ_DTYPE_FLOAT && t->dtype != GZ_DTYPE_INT64)
        return gz_tops_error (err, GZ_ERR_UNSUPPORTED, node, "input %d has data type %d", i,
                              (int) t->dtype);
    }
  if (node->n_outputs < 1 || node->outputs[0] < 0 || out[0] == NULL)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "has no output");
  return GZ_OK;
}

GzStatus
gz_tops_const_ints (const GzNode *node, const GzTensor *t, const char *what, const int64_t **values,
                    int *n, GzError *err)
{
  if (t == NULL)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "input '%s' is missing", what);
  if (t->dtype != GZ_DTYPE_INT64)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "input '%s' must be int64", what);
  if (t->ndim > 1)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "input '%s' must be 1-D, not rank %d", what,
                          t->ndim);
  if (t->data == NULL)
    return gz_tops_error (err, GZ_ERR_UNSUPPORTED, node,
                          "input '%s' is computed at run time; only shapes known at load "
                          "time are supported",
                          what);
  int64_t count = t->ndim == 0 ? 1 : t->dims[0];
  if (count < 0 || count > 1024)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "input '%s' has %lld elements", what,
                          (long long) count);
  *values = t->data;
  *n = (int) count;
  return GZ_OK;
}

double
gz_tops_scalar (const GzTensor *t)
{
  if (t->data == NULL || gz_tensor_numel (t) < 1)
    return 0.0;
  if (t->dtype == GZ_DTYPE_INT64)
    return (double) ((const int64_t *) t->data)[0];
  return (double) ((const float *) t->data)[0];
}

void
gz_tops_strides (int ndim, const int64_t *dims, int64_t *strides)
{
  int64_t s = 1;
  for (int i = ndim - 1; i >= 0; i--)
    {
      strides[i] = s;
      s *= dims[i];
    }
}

void
gz_tops_broadcast_strides (int ndim, const int64_t *dims, int out_ndim, const int64_t *out_dims,
                           int64_t *strides)
{
  int64_t own[GZ_MAX_DIMS];
  gz_tops_strides (ndim, dims, own);
  for (int a = 0; a < out_ndim; a++)
    {
      int ia = a - (out_ndim - ndim);
      strides[a] = ia < 0 || dims[ia] == 1 ? 0 : own[ia];
    }
}

/* The odometer over all axes but the last, shared by gather and scatter-add. */
typedef struct
{
  int ndim;
  int64_t idx[GZ_TOPS_MAX_VIEW_DIMS];
} Odometer;

/* Advances idx over dims[0 .. ndim-2] and returns the new offset. */
static inline int64_t
odometer_next (Odometer *o, const int64_t *dims, const int64_t *strides, int64_t off)
{
  for (int a = o->ndim - 2; a >= 0; a--)
    {
      o->idx[a]++;
      off += strides[a];
      if (o->idx[a] < dims[a])
        return off;
      off -= strides[a] * dims[a];
      o->idx[a] = 0;
    }
  return off;
}

void
gz_tops_gather (size_t elsize, int ndim, const int64_t *dims, const void *src, int64_t base,
                const int64_t *strides, void *dst)
{
  int64_t total = gz_shape_numel (ndim, dims);
  if (total <= 0)
    return;
  if (ndim == 0)
    {
      memcpy (dst, (const char *) src + base * (int64_t) elsize, elsize);
      return;
    }
  int64_t inner = dims[ndim - 1], st = strides[ndim - 1];
  int64_t rows = total / inner;
  Odometer o = { ndim, { 0 } };
  int64_t off = base;
  for (int64_t r = 0; r < rows; r++)
    {
      if (elsize == 8)
        {
          const uint64_t *s = (const uint64_t *) src + off;
          uint64_t *d = (uint64_t *) dst + r * inner;
          for (int64_t k = 0; k < inner; k++)
            d[k] = s[k * st];
        }
      else
        {
          const uint32_t *s = (const uint32_t *) src + off;
          uint32_t *d = (uint32_t *) dst + r * inner;
          if (st == 1)
            memcpy (d, s, (size_t) inner * 4);
          else
            for (int64_t k = 0; k < inner; k++)
              d[k] = s[k * st];
        }
      off = odometer_next (&o, dims, strides, off);
    }
}

void
gz_tops_scatter_add (int ndim, const int64_t *dims, const float *src, float *dst, int64_t base,
                     const int64_t *strides)
{
  int64_t total = gz_shape_numel (ndim, dims);
  if (total <= 0)
    return;
  if (ndim == 0)
    {
      dst[base] += src[0];
      return;
    }
  int64_t inner = dims[ndim - 1], st = strides[ndim - 1];
  int64_t rows = total / inner;
  Odometer o = { ndim, { 0 } };
  int64_t off = base;
  for (int64_t r = 0; r < rows; r++)
    {
      float *d = dst + off;
      const float *s = src + r * inner;
      for (int64_t k = 0; k < inner; k++)
        d[k * st] += s[k];
      off = odometer_next (&o, dims, strides, off);
    }
}

void
gz_tops_free (void *params)
{
  free (params);
}

GzStatus
gz_tops_alloc_params (GzNode *node, size_t size, GzError *err)
{
  node->params = calloc (1, size);
  if (node->params == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory for the parameters of node '%s'",
                         node->name);
  return GZ_OK;
}

void
gz_tops_zero (GzTensor *t)
{
  int64_t n = gz_tensor_numel (t);
  if (n > 0)
    memset (t->data, 0, (size_t) n * gz_dtype_size (t->dtype));
}
