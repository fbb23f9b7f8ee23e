/* gz-op-pad.c — Pad: constant, reflect, edge and wrap modes; negative pads crop
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Opset < 11 takes pads/value as attributes, opset 11+ as inputs (opset 18
 * adds an optional axes input). Each output axis gets a map from output
 * index to input index (-1: the constant), so forward is a gather through
 * the maps and backward a scatter-add (edge/reflect read an input element
 * several times, so gradients accumulate).
 */
#include <string.h>

#include "gz-op.h"

typedef enum
{
  PAD_CONSTANT,
  PAD_REFLECT,
  PAD_EDGE,
  PAD_WRAP,
} PadMode;

typedef struct
{
  int ndim;
  int64_t dims[GZ_MAX_DIMS]; /* output shape */
  int64_t begin[GZ_MAX_DIMS]; /* pad before each axis (negative: crop) */
  PadMode mode;
  double value;
} PadSpec;

static GzStatus
pad_spec (const GzNode *node, const GzTensor *const *in, PadSpec *p, GzError *err)
{
  const GzTensor *x = in[0];
  const char *mode = gz_node_attr_string (node, "mode", "constant");
  if (strcmp (mode, "constant") == 0)
    p->mode = PAD_CONSTANT;
  else if (strcmp (mode, "reflect") == 0)
    p->mode = PAD_REFLECT;
  else if (strcmp (mode, "edge") == 0)
    p->mode = PAD_EDGE;
  else if (strcmp (mode, "wrap") == 0)
    p->mode = PAD_WRAP;
  else
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "mode '%s' is not supported", mode);

  const int64_t *pads, *axes = NULL;
  int np, na = 0;
  GzStatus st;
  const GzTensor *pads_in = gz_op_input (node, in, 1);
  p->value = 0.0;
  if (pads_in != NULL)
    {
      if ((st = gz_op_const_ints (node, pads_in, "pads", &pads, &np, err)) != GZ_OK)
        return st;
      const GzTensor *v = gz_op_input (node, in, 2);
      if (v != NULL)
        {
          if (v->data == NULL)
            return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                                "constant_value is computed at run time");
          if (gz_tensor_numel (v) != 1)
            return gz_op_error (err, GZ_ERR_SHAPE, node, "constant_value must be a scalar");
          p->value = gz_op_scalar (v);
        }
      const GzTensor *a = gz_op_input (node, in, 3);
      if (a != NULL && (st = gz_op_const_ints (node, a, "axes", &axes, &na, err)) != GZ_OK)
        return st;
    }
  else
    {
      np = gz_node_attr_ints (node, "pads", &pads);
      if (pads == NULL)
        np = gz_node_attr_ints (node, "paddings", &pads);
      if (pads == NULL)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "no pads given");
      p->value = gz_node_attr_float (node, "value", 0.0f);
    }
  int n_axes = axes != NULL ? na : x->ndim;
  if (np != 2 * n_axes)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "pads has %d entries, expected %d", np,
                        2 * n_axes);

  p->ndim = x->ndim;
  int64_t end[GZ_MAX_DIMS] = { 0 };
  memset (p->begin, 0, sizeof p->begin);
  bool seen[GZ_MAX_DIMS] = { false };
  for (int i = 0; i < n_axes; i++)
    {
      int a = axes != NULL ? gz_axis (axes[i], x->ndim) : i;
      if (a < 0 || seen[a])
        return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range or repeated",
                            (long long) (axes != NULL ? axes[i] : i));
      seen[a] = true;
      p->begin[a] = pads[i];
      end[a] = pads[i + n_axes];
    }
  for (int a = 0; a < x->ndim; a++)
    {
      int64_t d = x->dims[a], b = p->begin[a], e = end[a];
      /* |pads| beyond 2^40 cannot be real; keeps the sum from overflowing */
      if (b > ((int64_t) 1 << 40) || b < -((int64_t) 1 << 40) || e > ((int64_t) 1 << 40)
          || e < -((int64_t) 1 << 40) || d + b + e < 0)
        return gz_op_error (err, GZ_ERR_SHAPE, node,
                            "pads %lld, %lld on axis %d of size %lld give a negative size",
                            (long long) b, (long long) e, a, (long long) d);
      if (p->mode != PAD_CONSTANT && d == 0 && (b > 0 || e > 0))
        return gz_op_error (err, GZ_ERR_SHAPE, node, "cannot pad the empty axis %d in %s mode", a,
                            mode);
      p->dims[a] = d + b + e;
    }
  return gz_op_check_shape (node, p->ndim, p->dims, err);
}

/* maps[off[a] + o] = input index along axis a for output index o, or -1. */
static GzStatus
pad_maps (const PadSpec *p, const GzTensor *x, int64_t **maps_out, int64_t *off, GzError *err)
{
  int64_t total = 0;
  for (int a = 0; a < p->ndim; a++)
    {
      off[a] = total;
      total += p->dims[a];
    }
  int64_t *maps = malloc ((size_t) (total > 0 ? total : 1) * sizeof *maps);
  if (maps == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  for (int a = 0; a < p->ndim; a++)
    {
      int64_t d = x->dims[a];
      for (int64_t o = 0; o < p->dims[a]; o++)
        {
          int64_t c = o - p->begin[a];
          if (c < 0 || c >= d)
            {
              if (p->mode == PAD_CONSTANT)
                c = -1;
              else if (p->mode == PAD_WRAP)
                c = (c % d + d) % d;
              else if (p->mode == PAD_EDGE || d == 1)
                c = c < 0 ? 0 : d - 1;
              else
                {
                  int64_t period = 2 * (d - 1);
                  c = (c < 0 ? -c : c) % period;
                  if (c >= d)
                    c = period - c;
                }
            }
          maps[off[a] + o] = c;
        }
    }
  *maps_out = maps;
  return GZ_OK;
}

static GzStatus
pad_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  PadSpec p;
  GzStatus st = pad_spec (node, in, &p, err);
  if (st != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], in[0]->dtype, p.ndim, p.dims);
  return GZ_OK;
}

/* Walks the output row by row (all axes but the last). For each row, calls
 * the gather (forward) or scatter (backward) over the last axis. */
static GzStatus
pad_walk (const GzNode *node, const GzTensor *const *in, void *dst, const float *grad,
          float *grad_in, GzError *err)
{
  const GzTensor *x = in[0];
  PadSpec p;
  int64_t *maps = NULL, off[GZ_MAX_DIMS], strides[GZ_MAX_DIMS];
  GzStatus st = pad_spec (node, in, &p, err);
  if (st != GZ_OK)
    return st;
  int64_t total = gz_shape_numel (p.ndim, p.dims);
  if (total == 0)
    return GZ_OK;
  if (p.ndim == 0)
    {
      if (dst != NULL)
        memcpy (dst, x->data, gz_dtype_size (x->dtype));
      else
        grad_in[0] += grad[0];
      return GZ_OK;
    }
  if ((st = pad_maps (&p, x, &maps, off, err)) != GZ_OK)
    return st;
  gz_op_strides (x->ndim, x->dims, strides);

  int last = p.ndim - 1;
  int64_t inner = p.dims[last], rows = total / inner;
  const int64_t *lmap = maps + off[last];
  int64_t idx[GZ_MAX_DIMS] = { 0 };
  float fv = (float) p.value;
  int64_t iv = p.value > -9e18 && p.value < 9e18 ? (int64_t) p.value : 0;
  for (int64_t r = 0; r < rows; r++)
    {
      int64_t base = 0;
      bool inside = true;
      for (int a = 0; a < last; a++)
        {
          int64_t m = maps[off[a] + idx[a]];
          if (m < 0)
            inside = false;
          else
            base += m * strides[a];
        }
      if (dst != NULL && x->dtype == GZ_DTYPE_INT64)
        {
          int64_t *d = (int64_t *) dst + r * inner;
          const int64_t *s = (const int64_t *) x->data + base;
          for (int64_t k = 0; k < inner; k++)
            d[k] = inside && lmap[k] >= 0 ? s[lmap[k]] : iv;
        }
      else if (dst != NULL)
        {
          float *d = (float *) dst + r * inner;
          const float *s = (const float *) x->data + base;
          for (int64_t k = 0; k < inner; k++)
            d[k] = inside && lmap[k] >= 0 ? s[lmap[k]] : fv;
        }
      else if (inside)
        {
          const float *g = grad + r * inner;
          float *d = grad_in + base;
          for (int64_t k = 0; k < inner; k++)
            if (lmap[k] >= 0)
              d[lmap[k]] += g[k];
        }
      for (int a = last - 1; a >= 0; a--)
        {
          if (++idx[a] < p.dims[a])
            break;
          idx[a] = 0;
        }
    }
  free (maps);
  return GZ_OK;
}

static GzStatus
pad_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  return pad_walk (node, in, out[0]->data, NULL, NULL, err);
}

static GzStatus
pad_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
              const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode, GzError *err)
{
  if (!gz_op_backward_begin (din, dout, true))
    return GZ_OK;
  return pad_walk (node, in, NULL, dout[0]->data, din[0]->data, err);
}

const GzOpDef gz_op_pad[] = {
  { "Pad", 2, NULL, pad_infer, pad_forward, pad_backward, NULL },
  GZ_OP_END,
};
