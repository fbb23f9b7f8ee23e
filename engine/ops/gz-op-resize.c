/* gz-op-resize.c — Resize (opsets 10–19) and Upsample: nearest, linear and cubic
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every mode is separable: along each axis an output index reads at most four
 * input indices with fixed weights ("taps"), so the N-D resize is a sequence
 * of 1-D resizes, one per axis whose map is not the identity. The backward
 * pass applies the transposed 1-D maps in reverse order.
 *
 * Coordinates (output x → input x'), with scale = output/input size:
 *   half_pixel (default)  x' = (x + 0.5) / scale - 0.5
 *   pytorch_half_pixel    the same, but 0 when the output length is 1
 *   align_corners         x' = x (in - 1) / (out - 1)   (0 when out = 1)
 *   asymmetric            x' = x / scale               (Upsample, Resize-10)
 *   tf_half_pixel_for_nn  x' = (x + 0.5) / scale
 * Linear and cubic read clamped (edge-padded) neighbours; cubic uses the
 * Keys kernel with cubic_coeff_a and optionally drops outside neighbours
 * (exclude_outside). tf_crop_and_resize, antialias and aspect-ratio policies
 * are refused.
 */
#include <math.h>
#include <string.h>

#include "gz-op.h"

typedef enum
{
  MODE_NEAREST,
  MODE_LINEAR,
  MODE_CUBIC,
} ResizeMode;

typedef enum
{
  COORD_HALF_PIXEL,
  COORD_PYTORCH_HALF_PIXEL,
  COORD_ALIGN_CORNERS,
  COORD_ASYMMETRIC,
  COORD_TF_HALF_PIXEL_FOR_NN,
} CoordMode;

typedef enum
{
  NEAREST_ROUND_PREFER_FLOOR,
  NEAREST_ROUND_PREFER_CEIL,
  NEAREST_FLOOR,
  NEAREST_CEIL,
} NearestMode;

typedef struct
{
  int64_t opset;
  bool upsample;
} ResizeParams;

typedef struct
{
  int ndim;
  int64_t out_dims[GZ_MAX_DIMS];
  double scale[GZ_MAX_DIMS];
  ResizeMode mode;
  CoordMode coord;
  NearestMode nearest;
  double cubic_a;
  bool exclude_outside;
} ResizeSpec;

/* Taps of one output index along one axis. */
typedef struct
{
  int64_t idx[4];
  float w[4];
  int n;
} Taps;

static GzStatus
resize_init (GzNode *node, int64_t opset, GzError *err)
{
  GzStatus st = gz_op_alloc_params (node, sizeof (ResizeParams), err);
  if (st != GZ_OK)
    return st;
  ResizeParams *p = node->params;
  p->opset = opset;
  p->upsample = strcmp (node->op_type, "Upsample") == 0;
  return GZ_OK;
}

static GzStatus
parse_modes (const GzNode *node, const ResizeParams *p, ResizeSpec *s, GzError *err)
{
  bool legacy = p->upsample || p->opset < 11; /* asymmetric + floor */
  const char *mode = gz_node_attr_string (node, "mode", "nearest");
  if (strcmp (mode, "nearest") == 0)
    s->mode = MODE_NEAREST;
  else if (strcmp (mode, "linear") == 0 || strcmp (mode, "bilinear") == 0)
    s->mode = MODE_LINEAR;
  else if (strcmp (mode, "cubic") == 0 && !legacy)
    s->mode = MODE_CUBIC;
  else
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "mode '%s' is not supported", mode);

  const char *coord = gz_node_attr_string (node, "coordinate_transformation_mode",
                                           legacy ? "asymmetric" : "half_pixel");
  static const struct
  {
    const char *name;
    CoordMode mode;
  } coords[] = {
    { "half_pixel", COORD_HALF_PIXEL },
    { "pytorch_half_pixel", COORD_PYTORCH_HALF_PIXEL },
    { "align_corners", COORD_ALIGN_CORNERS },
    { "asymmetric", COORD_ASYMMETRIC },
    { "tf_half_pixel_for_nn", COORD_TF_HALF_PIXEL_FOR_NN },
  };
  size_t i;
  for (i = 0; i < sizeof coords / sizeof coords[0]; i++)
    if (strcmp (coord, coords[i].name) == 0)
      break;
  if (i == sizeof coords / sizeof coords[0])
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                        "coordinate_transformation_mode '%s' is not supported", coord);
  s->coord = coords[i].mode;

  const char *nearest
      = gz_node_attr_string (node, "nearest_mode", legacy ? "floor" : "round_prefer_floor");
  if (strcmp (nearest, "round_prefer_floor") == 0)
    s->nearest = NEAREST_ROUND_PREFER_FLOOR;
  else if (strcmp (nearest, "round_prefer_ceil") == 0)
    s->nearest = NEAREST_ROUND_PREFER_CEIL;
  else if (strcmp (nearest, "floor") == 0)
    s->nearest = NEAREST_FLOOR;
  else if (strcmp (nearest, "ceil") == 0)
    s->nearest = NEAREST_CEIL;
  else
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "nearest_mode '%s' is not supported",
                        nearest);
  s->cubic_a = gz_node_attr_float (node, "cubic_coeff_a", -0.75f);
  s->exclude_outside = gz_node_attr_int (node, "exclude_outside", 0) != 0;
  if (gz_node_attr_int (node, "antialias", 0) != 0)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "antialias is not supported");
  const char *policy = gz_node_attr_string (node, "keep_aspect_ratio_policy", "stretch");
  if (strcmp (policy, "stretch") != 0)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                        "keep_aspect_ratio_policy '%s' is not supported", policy);
  return GZ_OK;
}

/* Reads scales or sizes (constant inputs, or Upsample-7's attribute). */
static GzStatus
resize_spec (const GzNode *node, const GzTensor *const *in, ResizeSpec *s, GzError *err)
{
  const ResizeParams *p = node->params;
  const GzTensor *x = in[0];
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_ARGUMENT, node, "was not initialised");
  GzStatus st = parse_modes (node, p, s, err);
  if (st != GZ_OK)
    return st;
  if (x->dtype != GZ_DTYPE_FLOAT)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "only float input is supported");

  const GzTensor *scales_t, *sizes_t = NULL;
  if (p->upsample || p->opset < 11)
    scales_t = gz_op_input (node, in, 1);
  else
    {
      scales_t = gz_op_input (node, in, 2);
      sizes_t = gz_op_input (node, in, 3);
      if (scales_t != NULL && gz_tensor_numel (scales_t) == 0)
        scales_t = NULL; /* an empty placeholder */
    }
  const int64_t *axes_attr;
  int n_axes = gz_node_attr_ints (node, "axes", &axes_attr);
  int axes[GZ_MAX_DIMS];
  if (axes_attr == NULL)
    {
      n_axes = x->ndim;
      for (int a = 0; a < x->ndim; a++)
        axes[a] = a;
    }
  else
    {
      if (n_axes > x->ndim)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "%d axes for rank %d", n_axes, x->ndim);
      for (int i = 0; i < n_axes; i++)
        if ((axes[i] = gz_axis (axes_attr[i], x->ndim)) < 0)
          return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range",
                              (long long) axes_attr[i]);
    }

  s->ndim = x->ndim;
  for (int a = 0; a < x->ndim; a++)
    {
      s->out_dims[a] = x->dims[a];
      s->scale[a] = 1.0;
    }
  if (sizes_t != NULL)
    {
      const int64_t *sizes;
      int n;
      if ((st = gz_op_const_ints (node, sizes_t, "sizes", &sizes, &n, err)) != GZ_OK)
        return st;
      if (n != n_axes)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "%d sizes for %d axes", n, n_axes);
      for (int i = 0; i < n; i++)
        {
          int a = axes[i];
          if (sizes[i] < 0 || sizes[i] > ((int64_t) 1 << 40))
            return gz_op_error (err, GZ_ERR_SHAPE, node, "size %lld is invalid",
                                (long long) sizes[i]);
          s->out_dims[a] = sizes[i];
          s->scale[a] = x->dims[a] > 0 ? (double) sizes[i] / (double) x->dims[a] : 1.0;
        }
    }
  else
    {
      const float *scales;
      int n;
      if (scales_t != NULL)
        {
          if (scales_t->dtype != GZ_DTYPE_FLOAT || scales_t->ndim != 1)
            return gz_op_error (err, GZ_ERR_SHAPE, node, "scales must be a 1-D float tensor");
          if (scales_t->data == NULL)
            return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                                "scales are computed at run time; the output size must be "
                                "known at load time");
          scales = scales_t->data;
          n = (int) scales_t->dims[0];
        }
      else
        {
          n = gz_node_attr_floats (node, "scales", &scales);
          if (scales == NULL)
            return gz_op_error (err, GZ_ERR_SHAPE, node, "neither scales nor sizes given");
        }
      if (n != n_axes)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "%d scales for %d axes", n, n_axes);
      for (int i = 0; i < n; i++)
        {
          int a = axes[i];
          double sc = scales[i];
          double size = floor ((double) x->dims[a] * sc);
          if (!(sc > 0.0) || !(size <= (double) ((int64_t) 1 << 40)))
            return gz_op_error (err, GZ_ERR_SHAPE, node, "scale %g on axis %d is invalid", sc, a);
          s->out_dims[a] = (int64_t) size;
          s->scale[a] = sc;
        }
    }
  return gz_op_check_shape (node, s->ndim, s->out_dims, err);
}

/* `resized` is in × scale before flooring: with scales given, align_corners
 * divides by it rather than by the integer output length. */
static double
source_coord (const ResizeSpec *s, int64_t x, int64_t in, double scale)
{
  double resized = (double) in * scale;
  switch (s->coord)
    {
      case COORD_HALF_PIXEL:
        return ((double) x + 0.5) / scale - 0.5;
      case COORD_PYTORCH_HALF_PIXEL:
        return resized > 1.0 ? ((double) x + 0.5) / scale - 0.5 : 0.0;
      case COORD_ALIGN_CORNERS:
        return resized > 1.0 ? (double) x * (double) (in - 1) / (resized - 1.0) : 0.0;
      case COORD_ASYMMETRIC:
        return (double) x / scale;
      case COORD_TF_HALF_PIXEL_FOR_NN:
        return ((double) x + 0.5) / scale;
    }
  return 0.0;
}

static inline int64_t
clamp_index (int64_t i, int64_t n)
{
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/* Keys' cubic kernel at distance d (>= 0). */
static double
cubic_weight (double d, double a)
{
  if (d <= 1.0)
    return ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0;
  if (d < 2.0)
    return ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a;
  return 0.0;
}

static void
axis_taps (const ResizeSpec *s, int64_t in, int64_t out, double scale, Taps *taps)
{
  for (int64_t x = 0; x < out; x++)
    {
      Taps *t = &taps[x];
      double c = source_coord (s, x, in, scale);
      double f = floor (c), d = c - f;
      int64_t i0 = (int64_t) f;
      if (s->mode == MODE_NEAREST)
        {
          int64_t r;
          switch (s->nearest)
            {
              case NEAREST_ROUND_PREFER_FLOOR:
                r = d > 0.5 ? i0 + 1 : i0;
                break;
              case NEAREST_ROUND_PREFER_CEIL:
                r = d >= 0.5 ? i0 + 1 : i0;
                break;
              case NEAREST_FLOOR:
                r = i0;
                break;
              default:
                r = d > 0.0 ? i0 + 1 : i0;
                break;
            }
          t->n = 1;
          t->idx[0] = clamp_index (r, in);
          t->w[0] = 1.0f;
        }
      else if (s->mode == MODE_LINEAR)
        {
          t->n = 2;
          t->idx[0] = clamp_index (i0, in);
          t->idx[1] = clamp_index (i0 + 1, in);
          t->w[0] = (float) (1.0 - d);
          t->w[1] = (float) d;
        }
      else
        {
          double w[4], sum = 0.0;
          t->n = 4;
          for (int k = 0; k < 4; k++)
            {
              int64_t i = i0 - 1 + k;
              w[k] = cubic_weight (fabs ((double) (i - i0) - d), s->cubic_a);
              if (s->exclude_outside && (i < 0 || i >= in))
                w[k] = 0.0;
              sum += w[k];
              t->idx[k] = clamp_index (i, in);
            }
          for (int k = 0; k < 4; k++)
            t->w[k] = (float) (s->exclude_outside && sum != 0.0 ? w[k] / sum : w[k]);
        }
    }
}

static bool
taps_identity (const Taps *taps, int64_t in, int64_t out)
{
  if (in != out)
    return false;
  for (int64_t x = 0; x < out; x++)
    for (int k = 0; k < taps[x].n; k++)
      if (taps[x].w[k] != (taps[x].idx[k] == x ? 1.0f : 0.0f))
        return false;
  return true;
}

static GzStatus
resize_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st = gz_op_need (node, in, out, 1, 1, err);
  ResizeSpec s;
  if (st != GZ_OK || (st = resize_spec (node, in, &s, err)) != GZ_OK)
    return st;
  for (int a = 0; a < s.ndim; a++)
    if (in[0]->dims[a] == 0 && s.out_dims[a] > 0)
      return gz_op_error (err, GZ_ERR_SHAPE, node, "cannot resize the empty axis %d", a);
  gz_tensor_set_shape (out[0], GZ_DTYPE_FLOAT, s.ndim, s.out_dims);
  return GZ_OK;
}

/* The plan of one run: the axes that change, their taps, and the shapes
 * after each 1-D pass. */
typedef struct
{
  int n_pass;
  int axis[GZ_MAX_DIMS];
  Taps *taps[GZ_MAX_DIMS];
  int64_t dims[GZ_MAX_DIMS + 1][GZ_MAX_DIMS]; /* dims[k]: shape before pass k */
  int64_t max_elems;
} ResizePlan;

static void
plan_free (ResizePlan *rp)
{
  for (int k = 0; k < rp->n_pass; k++)
    free (rp->taps[k]);
}

static GzStatus
plan_make (const GzNode *node, const GzTensor *const *in, ResizePlan *rp, GzError *err)
{
  ResizeSpec s;
  GzStatus st = resize_spec (node, in, &s, err);
  if (st != GZ_OK)
    return st;
  memset (rp, 0, sizeof *rp);
  memcpy (rp->dims[0], in[0]->dims, sizeof rp->dims[0]);
  rp->max_elems = 0;
  /* callers return early on an empty output; this bounds every taps array
   * by the output's element count */
  if (gz_shape_numel (s.ndim, s.out_dims) == 0)
    return GZ_OK;
  for (int a = 0; a < s.ndim; a++)
    {
      int64_t n = in[0]->dims[a], m = s.out_dims[a];
      Taps *taps = malloc ((size_t) (m > 0 ? m : 1) * sizeof *taps);
      if (taps == NULL)
        {
          plan_free (rp);
          return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
        }
      axis_taps (&s, n, m, s.scale[a], taps);
      if (taps_identity (taps, n, m))
        {
          free (taps);
          continue;
        }
      int k = rp->n_pass++;
      rp->axis[k] = a;
      rp->taps[k] = taps;
      memcpy (rp->dims[k + 1], rp->dims[k], sizeof rp->dims[k]);
      rp->dims[k + 1][a] = m;
      int64_t e = gz_shape_numel (s.ndim, rp->dims[k + 1]);
      if (e > rp->max_elems)
        rp->max_elems = e;
    }
  return GZ_OK;
}

/* One 1-D pass along `axis` of a tensor of shape dims (rank r), or its
 * transpose (accumulating into a zeroed dst of the input shape). */
static void
pass_1d (int r, const int64_t *dims, int axis, const Taps *taps, int64_t m, const float *src,
         float *dst, bool transpose)
{
  int64_t outer = gz_shape_numel (axis, dims), n = dims[axis];
  int64_t inner = gz_shape_numel (r - axis - 1, dims + axis + 1);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t x = 0; x < m; x++)
      {
        const Taps *t = &taps[x];
        float *row_out = (transpose ? (float *) src : dst) + (o * m + x) * inner;
        const float *base_in = (transpose ? dst : src) + o * n * inner;
        if (!transpose)
          {
            for (int64_t j = 0; j < inner; j++)
              row_out[j] = 0.0f;
            for (int k = 0; k < t->n; k++)
              {
                const float *row_in = base_in + t->idx[k] * inner;
                float w = t->w[k];
                for (int64_t j = 0; j < inner; j++)
                  row_out[j] += w * row_in[j];
              }
          }
        else
          for (int k = 0; k < t->n; k++)
            {
              float *row_in = (float *) base_in + t->idx[k] * inner;
              float w = t->w[k];
              for (int64_t j = 0; j < inner; j++)
                row_in[j] += w * row_out[j];
            }
      }
}

static GzStatus
resize_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int64_t total = gz_tensor_numel (out[0]);
  if (total == 0)
    return GZ_OK;
  ResizePlan rp;
  GzStatus st = plan_make (node, in, &rp, err);
  if (st != GZ_OK)
    return st;
  int r = in[0]->ndim;
  if (rp.n_pass == 0)
    {
      if (total > 0)
        memcpy (out[0]->data, in[0]->data, (size_t) total * sizeof (float));
      return GZ_OK;
    }
  float *buf[2] = { NULL, NULL };
  if (rp.n_pass > 1)
    for (int b = 0; b < 2; b++)
      if ((buf[b] = malloc ((size_t) (rp.max_elems > 0 ? rp.max_elems : 1) * sizeof (float)))
          == NULL)
        {
          free (buf[0]);
          plan_free (&rp);
          return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
        }
  const float *src = in[0]->data;
  for (int k = 0; k < rp.n_pass; k++)
    {
      float *dst = k == rp.n_pass - 1 ? (float *) out[0]->data : buf[k % 2];
      pass_1d (r, rp.dims[k], rp.axis[k], rp.taps[k], rp.dims[k + 1][rp.axis[k]], src, dst, false);
      src = dst;
    }
  free (buf[0]);
  free (buf[1]);
  plan_free (&rp);
  return GZ_OK;
}

static GzStatus
resize_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                 const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                 GzError *err)
{
  if (din[0] == NULL)
    return GZ_OK;
  gz_op_zero (din[0]);
  if (dout[0] == NULL || gz_tensor_numel (out[0]) == 0)
    return GZ_OK;
  ResizePlan rp;
  GzStatus st = plan_make (node, in, &rp, err);
  if (st != GZ_OK)
    return st;
  int r = in[0]->ndim;
  int64_t n_in = gz_tensor_numel (din[0]);
  if (rp.n_pass == 0)
    {
      if (n_in > 0)
        memcpy (din[0]->data, dout[0]->data, (size_t) n_in * sizeof (float));
      return GZ_OK;
    }
  float *buf[2] = { NULL, NULL };
  if (rp.n_pass > 1)
    for (int b = 0; b < 2; b++)
      if ((buf[b] = malloc ((size_t) (rp.max_elems > 0 ? rp.max_elems : 1) * sizeof (float)))
          == NULL)
        {
          free (buf[0]);
          plan_free (&rp);
          return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
        }
  const float *g = dout[0]->data;
  for (int k = rp.n_pass - 1; k >= 0; k--)
    {
      float *dst = k == 0 ? (float *) din[0]->data : buf[k % 2];
      int64_t n = gz_shape_numel (r, rp.dims[k]);
      memset (dst, 0, (size_t) (n > 0 ? n : 0) * sizeof (float));
      pass_1d (r, rp.dims[k], rp.axis[k], rp.taps[k], rp.dims[k + 1][rp.axis[k]], g, dst, true);
      g = dst;
    }
  free (buf[0]);
  free (buf[1]);
  plan_free (&rp);
  return GZ_OK;
}

const GzOpDef gz_op_resize[] = {
  { "Resize", 10, resize_init, resize_infer, resize_forward, resize_backward, gz_op_free_params },
  { "Upsample", 7, resize_init, resize_infer, resize_forward, resize_backward, gz_op_free_params },
  GZ_OP_END,
};
