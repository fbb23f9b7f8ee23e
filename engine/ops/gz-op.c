/* gz-op.c — the operator toolkit: checks, memory, broadcast iteration, strided views, windows
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gz-op.h"

GzStatus
gz_op_error (GzError *err, GzStatus code, const GzNode *node, const char *fmt, ...)
{
  if (err != NULL)
    {
      char msg[400];
      va_list ap;
      va_start (ap, fmt);
      vsnprintf (msg, sizeof msg, fmt, ap);
      va_end (ap);
      gz_error_set (err, code, "%s '%s': %s", node->op_type != NULL ? node->op_type : "?",
                    node->name != NULL ? node->name : "", msg);
    }
  return code;
}

const char *
gz_op_shape_str (int ndim, const int64_t *dims, char *buf, size_t len)
{
  size_t used = 0;
  if (len == 0)
    return buf;
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
gz_op_need_float (const GzNode *node, const GzTensor *const *in, int i, const char *what,
                  GzError *err)
{
  const GzTensor *t = gz_op_input (node, in, i);
  if (t == NULL)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "input %d (%s) is missing", i, what);
  if (t->dtype != GZ_DTYPE_FLOAT)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                        "input %d (%s) has data type %d; only float32 is supported", i, what,
                        (int) t->dtype);
  return GZ_OK;
}

GzStatus
gz_op_check_shape (const GzNode *node, int ndim, const int64_t *dims, GzError *err)
{
  if (ndim < 0 || ndim > GZ_MAX_DIMS)
    return gz_op_error (err, GZ_ERR_LIMIT, node, "output rank %d exceeds the maximum of %d", ndim,
                        GZ_MAX_DIMS);
  for (int i = 0; i < ndim; i++)
    if (dims[i] < 0)
      return gz_op_error (err, GZ_ERR_SHAPE, node, "output dimension %d is negative (%lld)", i,
                          (long long) dims[i]);
  int64_t n = gz_shape_numel (ndim, dims);
  if (n < 0 || (uint64_t) n > SIZE_MAX / 16)
    {
      char buf[160];
      return gz_op_error (err, GZ_ERR_LIMIT, node, "output shape %s is too large",
                          gz_op_shape_str (ndim, dims, buf, sizeof buf));
    }
  return GZ_OK;
}

GzStatus
gz_op_need (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, int n_required,
            int max_outputs, GzError *err)
{
  if (max_outputs >= 0 && node->n_outputs > max_outputs)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "has %d outputs, at most %d expected",
                        node->n_outputs, max_outputs);
  if (node->n_inputs < n_required)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "needs %d inputs, has %d", n_required,
                        node->n_inputs);
  for (int i = 0; i < node->n_inputs; i++)
    {
      const GzTensor *t = node->inputs[i] >= 0 ? in[i] : NULL;
      if (t == NULL && i < n_required)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "input %d is missing", i);
      if (t != NULL && (t->ndim < 0 || t->ndim > GZ_MAX_DIMS))
        return gz_op_error (err, GZ_ERR_SHAPE, node, "input %d has rank %d", i, t->ndim);
      if (t != NULL && t->dtype != GZ_DTYPE_FLOAT && t->dtype != GZ_DTYPE_INT64)
        return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "input %d has data type %d", i,
                            (int) t->dtype);
    }
  if (node->n_outputs < 1 || node->outputs[0] < 0 || out[0] == NULL)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "has no output");
  return GZ_OK;
}

GzStatus
gz_op_const_ints (const GzNode *node, const GzTensor *t, const char *what, const int64_t **values,
                  int *n, GzError *err)
{
  if (t == NULL)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "input '%s' is missing", what);
  if (t->dtype != GZ_DTYPE_INT64)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "input '%s' must be int64", what);
  if (t->ndim > 1)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "input '%s' must be 1-D, not rank %d", what,
                        t->ndim);
  if (t->data == NULL)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                        "input '%s' is computed at run time; only shapes known at load "
                        "time are supported",
                        what);
  int64_t count = t->ndim == 0 ? 1 : t->dims[0];
  if (count < 0 || count > 1024)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "input '%s' has %lld elements", what,
                        (long long) count);
  *values = t->data;
  *n = (int) count;
  return GZ_OK;
}

double
gz_op_scalar (const GzTensor *t)
{
  if (t->data == NULL || gz_tensor_numel (t) < 1)
    return 0.0;
  if (t->dtype == GZ_DTYPE_INT64)
    return (double) ((const int64_t *) t->data)[0];
  return (double) ((const float *) t->data)[0];
}

GzStatus
gz_op_check_int (const GzNode *node, const char *what, int64_t v, GzError *err)
{
  if (v < 0 || v > INT32_MAX)
    return gz_op_error (err, GZ_ERR_LIMIT, node, "%s = %lld does not fit the BLAS int range", what,
                        (long long) v);
  return GZ_OK;
}

float *
gz_op_alloc_floats (const GzNode *node, int64_t n, GzError *err)
{
  if (n < 0 || (uint64_t) n > SIZE_MAX / sizeof (float) / 2)
    {
      gz_op_error (err, GZ_ERR_LIMIT, node, "scratch buffer of %lld floats is too large",
                   (long long) n);
      return NULL;
    }
  float *p = malloc ((n > 0 ? (size_t) n : 1) * sizeof (float));
  if (p == NULL)
    gz_op_error (err, GZ_ERR_NOMEM, node, "out of memory for %lld floats of scratch",
                 (long long) n);
  return p;
}

GzStatus
gz_op_alloc_params (GzNode *node, size_t size, GzError *err)
{
  node->params = calloc (1, size);
  if (node->params == NULL)
    return gz_op_error (err, GZ_ERR_NOMEM, node, "out of memory for the parameters");
  return GZ_OK;
}

void
gz_op_free_params (void *params)
{
  free (params);
}

void
gz_op_zero (GzTensor *t)
{
  int64_t n = gz_tensor_numel (t);
  if (n > 0)
    memset (t->data, 0, (size_t) n * gz_dtype_size (t->dtype));
}

/* ---- Broadcast iteration and strided views ----------------------------- */

void
gz_op_strides (int ndim, const int64_t *dims, int64_t *strides)
{
  int64_t s = 1;
  for (int i = ndim - 1; i >= 0; i--)
    {
      strides[i] = s;
      s *= dims[i];
    }
}

void
gz_op_broadcast_strides (int ndim, const int64_t *dims, int out_ndim, int64_t *strides)
{
  int64_t own[GZ_MAX_DIMS];
  gz_op_strides (ndim, dims, own);
  for (int a = 0; a < out_ndim; a++)
    {
      int ia = a - (out_ndim - ndim);
      strides[a] = ia < 0 || dims[ia] == 1 ? 0 : own[ia];
    }
}

GzStatus
gz_op_broadcast_infer (const GzNode *node, const GzTensor *const *ts, int k, int *ndim,
                       int64_t *dims, GzError *err)
{
  *ndim = 0;
  for (int i = 0; i < k; i++)
    {
      int64_t tmp[GZ_MAX_DIMS];
      int r;
      if (ts[i]->ndim > GZ_MAX_DIMS
          || gz_broadcast_shape (*ndim, dims, ts[i]->ndim, ts[i]->dims, &r, tmp, NULL) != GZ_OK)
        {
          char b1[128], b2[128];
          return gz_op_error (err, GZ_ERR_SHAPE, node,
                              "input %d of shape %s cannot be broadcast with %s", i,
                              gz_op_shape_str (ts[i]->ndim, ts[i]->dims, b1, sizeof b1),
                              gz_op_shape_str (*ndim, dims, b2, sizeof b2));
        }
      *ndim = r;
      for (int a = 0; a < r; a++)
        dims[a] = tmp[a];
    }
  return gz_op_check_shape (node, *ndim, dims, err);
}

void
gz_op_bcast_init (GzOpBcast *it, int out_ndim, const int64_t *out_dims, int n_ops, const int *ndims,
                  const int64_t *const *dims)
{
  int64_t st[GZ_OP_MAX_OPERANDS][GZ_MAX_DIMS];
  const int64_t *sp[GZ_OP_MAX_OPERANDS];
  for (int k = 0; k < n_ops; k++)
    {
      gz_op_broadcast_strides (ndims[k], dims[k], out_ndim, st[k]);
      sp[k] = st[k];
    }
  gz_op_bcast_init_strided (it, out_ndim, out_dims, n_ops, sp);
}

void
gz_op_bcast_init_strided (GzOpBcast *it, int ndim, const int64_t *dims, int n_ops,
                          const int64_t *const *strides)
{
  int n = 0;

  memset (it, 0, sizeof *it);
  it->n_ops = n_ops;
  /* Drop unit axes, then merge neighbours whose strides chain for every operand. */
  for (int i = 0; i < ndim; i++)
    {
      if (dims[i] == 1)
        continue;
      if (n > 0)
        {
          bool merge = true;
          for (int k = 0; k < n_ops && merge; k++)
            merge = it->strides[k][n - 1] == strides[k][i] * dims[i];
          if (merge)
            {
              it->dims[n - 1] *= dims[i];
              for (int k = 0; k < n_ops; k++)
                it->strides[k][n - 1] = strides[k][i];
              continue;
            }
        }
      it->dims[n] = dims[i];
      for (int k = 0; k < n_ops; k++)
        it->strides[k][n] = strides[k][i];
      n++;
    }
  if (n == 0)
    {
      it->dims[0] = 1;
      n = 1;
    }
  it->ndim = n;
  it->rows = 1;
  for (int i = 0; i < n - 1; i++)
    it->rows *= it->dims[i];
  it->inner = it->dims[n - 1];
}

void
gz_op_bcast_seek (const GzOpBcast *it, int64_t row, GzOpBcastPos *pos)
{
  memset (pos, 0, sizeof *pos);
  if (it->rows == 0)
    return; /* an empty output: nothing to walk */
  for (int i = it->ndim - 2; i >= 0; i--)
    {
      pos->idx[i] = row % it->dims[i];
      row /= it->dims[i];
      for (int k = 0; k < it->n_ops; k++)
        pos->off[k] += pos->idx[i] * it->strides[k][i];
    }
}

void
gz_op_bcast_next (const GzOpBcast *it, GzOpBcastPos *pos)
{
  for (int i = it->ndim - 2; i >= 0; i--)
    {
      pos->idx[i]++;
      for (int k = 0; k < it->n_ops; k++)
        pos->off[k] += it->strides[k][i];
      if (pos->idx[i] < it->dims[i])
        return;
      for (int k = 0; k < it->n_ops; k++)
        pos->off[k] -= it->dims[i] * it->strides[k][i];
      pos->idx[i] = 0;
    }
}

/* A walk of the contiguous shape dims (operand 0) against a view (operand 1). */
static void
view_walk (GzOpBcast *it, int ndim, const int64_t *dims, const int64_t *strides)
{
  int64_t own[GZ_OP_MAX_VIEW_DIMS];
  gz_op_strides (ndim, dims, own);
  const int64_t *sp[2] = { own, strides };
  gz_op_bcast_init_strided (it, ndim, dims, 2, sp);
}

void
gz_op_view_gather (size_t elsize, int ndim, const int64_t *dims, const void *src, int64_t base,
                   const int64_t *strides, void *dst)
{
  if (gz_shape_numel (ndim, dims) <= 0)
    return;
  GzOpBcast it;
  GzOpBcastPos pos;
  view_walk (&it, ndim, dims, strides);
  gz_op_bcast_seek (&it, 0, &pos);
  const int64_t inner = it.inner, st = gz_op_bcast_inner_stride (&it, 1);
  for (int64_t r = 0; r < it.rows; r++, gz_op_bcast_next (&it, &pos))
    {
      if (elsize == 8)
        {
          const uint64_t *s = (const uint64_t *) src + base + pos.off[1];
          uint64_t *d = (uint64_t *) dst + pos.off[0];
          for (int64_t k = 0; k < inner; k++)
            d[k] = s[k * st];
        }
      else
        {
          const uint32_t *s = (const uint32_t *) src + base + pos.off[1];
          uint32_t *d = (uint32_t *) dst + pos.off[0];
          if (st == 1)
            memcpy (d, s, (size_t) inner * 4);
          else
            for (int64_t k = 0; k < inner; k++)
              d[k] = s[k * st];
        }
    }
}

void
gz_op_view_scatter_add (int ndim, const int64_t *dims, const float *src, float *dst, int64_t base,
                        const int64_t *strides)
{
  if (gz_shape_numel (ndim, dims) <= 0)
    return;
  GzOpBcast it;
  GzOpBcastPos pos;
  view_walk (&it, ndim, dims, strides);
  gz_op_bcast_seek (&it, 0, &pos);
  const int64_t inner = it.inner, st = gz_op_bcast_inner_stride (&it, 1);
  for (int64_t r = 0; r < it.rows; r++, gz_op_bcast_next (&it, &pos))
    {
      float *d = dst + base + pos.off[1];
      const float *s = src + pos.off[0];
      for (int64_t k = 0; k < inner; k++)
        d[k * st] += s[k];
    }
}

/* ---- Sliding windows --------------------------------------------------- */

static GzStatus
read_ints (const GzNode *node, const char *name, int64_t *dst, int max, int *count, GzError *err)
{
  const int64_t *v;
  int n = gz_node_attr_ints (node, name, &v);
  if (n > max)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                        "attribute %s has %d values; at most %d spatial values supported", name, n,
                        max);
  for (int i = 0; i < n; i++)
    dst[i] = v[i];
  *count = n;
  return GZ_OK;
}

GzStatus
gz_op_window_parse (const GzNode *node, GzOpWindowAttrs *a, GzError *err)
{
  GzStatus st;
  memset (a, 0, sizeof *a);
  const char *ap = gz_node_attr_string (node, "auto_pad", "NOTSET");
  if (strcmp (ap, "NOTSET") == 0 || ap[0] == '\0')
    a->auto_pad = GZ_OP_PAD_NOTSET;
  else if (strcmp (ap, "SAME_UPPER") == 0)
    a->auto_pad = GZ_OP_PAD_SAME_UPPER;
  else if (strcmp (ap, "SAME_LOWER") == 0)
    a->auto_pad = GZ_OP_PAD_SAME_LOWER;
  else if (strcmp (ap, "VALID") == 0)
    a->auto_pad = GZ_OP_PAD_VALID;
  else
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "unknown auto_pad '%s'", ap);
  if ((st = read_ints (node, "kernel_shape", a->kernel, 3, &a->n_kernel, err)) != GZ_OK
      || (st = read_ints (node, "strides", a->strides, 3, &a->n_strides, err)) != GZ_OK
      || (st = read_ints (node, "pads", a->pads, 6, &a->n_pads, err)) != GZ_OK
      || (st = read_ints (node, "dilations", a->dilations, 3, &a->n_dilations, err)) != GZ_OK)
    return st;
  a->ceil_mode = gz_node_attr_int (node, "ceil_mode", 0) != 0;
  return GZ_OK;
}

/* One spatial axis: output size and the padding actually applied. */
static GzStatus
axis_resolve (const GzNode *node, const GzOpWindowAttrs *a, int axis, int64_t in, int64_t k,
              int64_t s, int64_t d, int64_t pb, int64_t pe, int64_t *out, int64_t *pad_b,
              int64_t *pad_e, GzError *err)
{
  const int64_t big = (int64_t) 1 << 30;
  if (k < 1 || k > big || s < 1 || s > big || d < 1 || d > big || pb < 0 || pb > big || pe < 0
      || pe > big)
    return gz_op_error (err, GZ_ERR_SHAPE, node,
                        "spatial axis %d: kernel %lld, stride %lld, dilation %lld, pads "
                        "%lld/%lld out of range",
                        axis, (long long) k, (long long) s, (long long) d, (long long) pb,
                        (long long) pe);
  int64_t dk = (k - 1) * d + 1;
  int64_t o;
  switch (a->auto_pad)
    {
      case GZ_OP_PAD_SAME_UPPER:
      case GZ_OP_PAD_SAME_LOWER:
        {
          o = (in + s - 1) / s;
          int64_t total = (o - 1) * s + dk - in;
          if (total < 0)
            total = 0;
          if (a->auto_pad == GZ_OP_PAD_SAME_UPPER)
            {
              pb = total / 2;
              pe = total - pb;
            }
          else
            {
              pe = total / 2;
              pb = total - pe;
            }
          break;
        }
      case GZ_OP_PAD_VALID:
        pb = pe = 0;
        /* fall through */
      case GZ_OP_PAD_NOTSET:
      default:
        {
          int64_t span = in + pb + pe - dk;
          if (span < 0)
            return gz_op_error (err, GZ_ERR_SHAPE, node,
                                "spatial axis %d: window %lld (kernel %lld, dilation %lld) is "
                                "larger than the padded input %lld",
                                axis, (long long) dk, (long long) k, (long long) d,
                                (long long) (in + pb + pe));
          if (a->ceil_mode && a->auto_pad == GZ_OP_PAD_NOTSET)
            {
              o = (span + s - 1) / s + 1;
              /* The last window must start inside the input or its leading pad. */
              if ((o - 1) * s >= in + pb)
                o--;
            }
          else
            o = span / s + 1;
          break;
        }
    }
  if (o < 1)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "spatial axis %d: empty output (input %lld)", axis,
                        (long long) in);
  *out = o;
  *pad_b = pb;
  *pad_e = pe;
  return GZ_OK;
}

GzStatus
gz_op_window_resolve (const GzNode *node, const GzOpWindowAttrs *a, int nsp, const int64_t *in_sp,
                      const int64_t *kernel, GzOpWindow *w, GzError *err)
{
  int64_t k[2], s[2], d[2], pb[2], pe[2], out[2], rb[2], re[2], in[2];
  GzStatus st;

  if (nsp < 1 || nsp > 2)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                        "%d spatial dimensions; only 1-D and 2-D are supported", nsp);
  if (kernel == NULL && a->n_kernel != nsp)
    return gz_op_error (err, GZ_ERR_SHAPE, node,
                        "kernel_shape has %d values for %d spatial dimensions", a->n_kernel, nsp);
  if (kernel != NULL && a->n_kernel != 0)
    {
      if (a->n_kernel != nsp)
        return gz_op_error (err, GZ_ERR_SHAPE, node,
                            "kernel_shape has %d values for %d spatial dimensions", a->n_kernel,
                            nsp);
      for (int i = 0; i < nsp; i++)
        if (a->kernel[i] != kernel[i])
          return gz_op_error (err, GZ_ERR_SHAPE, node,
                              "kernel_shape[%d] = %lld but the weight has %lld", i,
                              (long long) a->kernel[i], (long long) kernel[i]);
    }
  if (a->n_strides != 0 && a->n_strides != nsp)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "strides has %d values for %d spatial dims",
                        a->n_strides, nsp);
  if (a->n_dilations != 0 && a->n_dilations != nsp)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "dilations has %d values for %d spatial dims",
                        a->n_dilations, nsp);
  if (a->n_pads != 0 && a->n_pads != 2 * nsp)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "pads has %d values for %d spatial dims",
                        a->n_pads, nsp);

  /* Map onto 2-D: a 1-D op is a 2-D op of height 1. */
  int off = 2 - nsp;
  for (int i = 0; i < 2; i++)
    {
      k[i] = s[i] = d[i] = 1;
      pb[i] = pe[i] = 0;
      in[i] = 1;
    }
  for (int i = 0; i < nsp; i++)
    {
      k[off + i] = kernel != NULL ? kernel[i] : a->kernel[i];
      s[off + i] = a->n_strides ? a->strides[i] : 1;
      d[off + i] = a->n_dilations ? a->dilations[i] : 1;
      pb[off + i] = a->n_pads ? a->pads[i] : 0;
      pe[off + i] = a->n_pads ? a->pads[nsp + i] : 0;
      in[off + i] = in_sp[i];
    }
  for (int i = 0; i < 2; i++)
    if ((st = axis_resolve (node, a, i - off, in[i], k[i], s[i], d[i], pb[i], pe[i], &out[i],
                            &rb[i], &re[i], err))
        != GZ_OK)
      return st;
  *w = (GzOpWindow){
    .in_h = in[0],
    .in_w = in[1],
    .out_h = out[0],
    .out_w = out[1],
    .k_h = k[0],
    .k_w = k[1],
    .s_h = s[0],
    .s_w = s[1],
    .d_h = d[0],
    .d_w = d[1],
    .pad_t = rb[0],
    .pad_l = rb[1],
    .pad_b = re[0],
    .pad_r = re[1],
  };
  return GZ_OK;
}
