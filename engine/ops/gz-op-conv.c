/* gz-op-conv.c — Conv and ConvTranspose (1-D and 2-D, groups, dilations, strides, pads,
 * auto_pad, bias)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Four forward paths, picked per call from the geometry:
 *  - pointwise (1×1 kernel, stride 1, no padding): the input planes already are
 *    the im2col matrix, so Y_g = W_g · X_g + b is one gz_gemm per image and group;
 *  - depthwise (group == C_in == C_out): a direct kernel per plane, planes split
 *    across threads (a GEMM with one input channel would be all overhead): 3×3
 *    goes to the AVX-512/AVX2 kernels of gz-conv-kernels.c when the CPU has
 *    them, else a zero-padded copy of the plane with the taps accumulated in
 *    4-wide vectors (strides 1 and 2), else a tap-by-tap row kernel;
 *  - 3×3 stride 1, one group, from 64 channels, batches: Winograd F(2×2, 3×3)
 *    (gz-winograd.c) when its cost model expects a gain, with the transformed
 *    weights kept per node for constant weights of moderate size;
 *  - general: Y_g = W_g · im2col (X_g) + b by gz_gemm, whose B packer
 *    (gz-conv-pack.c) reads the im2col columns straight from the input planes.
 * Backward (an explicit im2col matrix and gz_sgemm): dcol = W_g^T · dY_g then col2im (channels
 * split across threads), with the pointwise and depthwise equivalents. Weight and bias gradients
 * are computed too when asked for (dW_g += dY_g · col^T). ConvTranspose, at the
 * end, is the same machinery with the planes' roles swapped.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gz-op.h"
#include "kernels/gz-conv-kernels.h"
#include "kernels/gz-conv-pack.h"
#include "gz-gemm.h"
#include "kernels/gz-winograd.h"

/* ---- Tuning switches ------------------------------------------------- */

static GzConvTuning tuning;
static pthread_once_t tuning_once = PTHREAD_ONCE_INIT;

static bool
env_off (const char *name)
{
  const char *e = getenv (name);
  return e != NULL && strcmp (e, "0") == 0;
}

static void
tuning_read_env (void)
{
  tuning.winograd = !env_off ("GAZE_CONV_WINOGRAD");
  tuning.batch = !env_off ("GAZE_CONV_BATCH");
}

GzConvTuning
gz_conv_tuning (void)
{
  pthread_once (&tuning_once, tuning_read_env);
  return tuning;
}

void
gz_conv_set_tuning (GzConvTuning t)
{
  pthread_once (&tuning_once, tuning_read_env);
  tuning = t;
}

typedef struct
{
  GzOpWindowAttrs win;
  int64_t group;
} Params;

static void
conv_free_params (void *params)
{
  free (params);
}

static GzStatus
conv_init (GzNode *node, int64_t opset, GzError *err)
{
  Params *p = calloc (1, sizeof *p);
  GzStatus st;
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_NOMEM, node, "out of memory");
  if ((st = gz_op_window_parse (node, &p->win, err)) != GZ_OK)
    {
      conv_free_params (p);
      return st;
    }
  if (p->win.ceil_mode)
    {
      conv_free_params (p);
      return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "Conv has no ceil_mode");
    }
  p->group = gz_node_attr_int (node, "group", 1);
  node->params = p;
  return GZ_OK;
}

/* Everything a call needs, derived from the shapes. */
typedef struct
{
  int64_t n, c, m, group, cg, mg;
  GzOpWindow w;
  int64_t k; /* cg * k_h * k_w: rows of the im2col matrix */
  int64_t p; /* out_h * out_w */
  int64_t hw; /* in_h * in_w */
  bool pointwise, depthwise;
} Geo;

static GzStatus
conv_geometry (const GzNode *node, const GzTensor *const *in, Geo *g, GzError *err)
{
  const Params *p = node->params;
  GzStatus st;
  char sx[160], sw[160];

  if (p == NULL)
    return gz_op_error (err, GZ_ERR_ARGUMENT, node, "operator used before init");
  if ((st = gz_op_need_float (node, in, 0, "X", err)) != GZ_OK
      || (st = gz_op_need_float (node, in, 1, "W", err)) != GZ_OK)
    return st;
  const GzTensor *x = in[0], *w = in[1], *b = gz_op_input (node, in, 2);
  if (x->ndim < 3)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "input X %s must have rank >= 3 (N,C,...)",
                        gz_op_shape_str (x->ndim, x->dims, sx, sizeof sx));
  if (w->ndim != x->ndim)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "weight %s and input %s differ in rank",
                        gz_op_shape_str (w->ndim, w->dims, sw, sizeof sw),
                        gz_op_shape_str (x->ndim, x->dims, sx, sizeof sx));
  int nsp = x->ndim - 2;
  g->n = x->dims[0];
  g->c = x->dims[1];
  g->m = w->dims[0];
  g->group = p->group;
  if (g->group < 1 || g->c % g->group != 0 || g->m % g->group != 0)
    return gz_op_error (err, GZ_ERR_SHAPE, node,
                        "group %lld must divide the %lld input and %lld output channels",
                        (long long) g->group, (long long) g->c, (long long) g->m);
  g->cg = g->c / g->group;
  g->mg = g->m / g->group;
  if (g->cg < 1 || g->mg < 1)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "no input or output channels (%lld, %lld)",
                        (long long) g->c, (long long) g->m);
  if (w->dims[1] != g->cg)
    return gz_op_error (err, GZ_ERR_SHAPE, node,
                        "input has %lld channels; weight %s expects %lld per group × %lld "
                        "groups",
                        (long long) g->c, gz_op_shape_str (w->ndim, w->dims, sw, sizeof sw),
                        (long long) w->dims[1], (long long) g->group);
  if (b != NULL)
    {
      if (b->dtype != GZ_DTYPE_FLOAT)
        return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "bias must be float32");
      if (b->ndim != 1 || b->dims[0] != g->m)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "bias %s must be [%lld]",
                            gz_op_shape_str (b->ndim, b->dims, sw, sizeof sw), (long long) g->m);
    }
  if ((st = gz_op_window_resolve (node, &p->win, nsp, x->dims + 2, w->dims + 2, &g->w, err))
      != GZ_OK)
    return st;
  const GzOpWindow *wi = &g->w;
  if (__builtin_mul_overflow (g->cg, wi->k_h * wi->k_w, &g->k)
      || __builtin_mul_overflow (wi->out_h, wi->out_w, &g->p)
      || __builtin_mul_overflow (wi->in_h, wi->in_w, &g->hw))
    return gz_op_error (err, GZ_ERR_LIMIT, node, "sizes overflow");
  if ((st = gz_op_check_int (node, "im2col rows", g->k, err)) != GZ_OK
      || (st = gz_op_check_int (node, "output plane size", g->p, err)) != GZ_OK
      || (st = gz_op_check_int (node, "input plane size", g->hw, err)) != GZ_OK
      || (st = gz_op_check_int (node, "output channels", g->m, err)) != GZ_OK
      || (st = gz_op_check_int (node, "input channels", g->c, err)) != GZ_OK)
    return st;
  if (g->k > 0 && g->p > INT64_MAX / g->k)
    return gz_op_error (err, GZ_ERR_LIMIT, node, "im2col matrix too large");
  g->pointwise = wi->k_h == 1 && wi->k_w == 1 && wi->s_h == 1 && wi->s_w == 1 && wi->pad_t == 0
      && wi->pad_l == 0 && wi->pad_b == 0 && wi->pad_r == 0;
  g->depthwise = g->cg == 1 && g->mg == 1 && !g->pointwise;
  return GZ_OK;
}

/* Sets out to [n, c, h, w], or [n, c, w] for a 1-D convolution (nd == 3). */
static GzStatus
set_conv_output (const GzNode *node, int nd, int64_t n, int64_t c, int64_t h, int64_t w,
                 GzTensor *out, GzError *err)
{
  int64_t dims[4] = { n, c, nd == 4 ? h : w, w };
  GzStatus st = gz_op_check_shape (node, nd, dims, err);
  if (st == GZ_OK)
    gz_tensor_set_shape (out, GZ_DTYPE_FLOAT, nd, dims);
  return st;
}

static GzStatus
conv_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  Geo g;
  GzStatus st = conv_geometry (node, in, &g, err);
  if (st != GZ_OK)
    return st;
  return set_conv_output (node, in[0]->ndim, g.n, g.m, g.w.out_h, g.w.out_w, out[0], err);
}

/* Output positions o in [*lo, *hi) with 0 <= o * s + off < in. */
static inline void
valid_range (int64_t off, int64_t s, int64_t in, int64_t out, int64_t *lo, int64_t *hi)
{
  int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
  int64_t h = in - off > 0 ? (in - off + s - 1) / s : 0;
  if (h > out)
    h = out;
  if (l > h)
    l = h;
  *lo = l;
  *hi = h;
}

/* ---- im2col / col2im --------------------------------------------------- */

typedef struct
{
  const Geo *g;
  const float *x; /* one image, first channel of the group */
  float *col; /* k × p */
  float *dx; /* col2im target */
} ColJob;

static void
im2col_rows (long begin, long end, void *data)
{
  const ColJob *j = data;
  const GzOpWindow *w = &j->g->w;
  const int64_t ow = w->out_w, oh = w->out_h;
  for (long r = begin; r < end; r++)
    {
      int64_t kj = r % w->k_w, ki = (r / w->k_w) % w->k_h, c = r / (w->k_w * w->k_h);
      const float *xc = j->x + c * j->g->hw;
      float *dst = j->col + r * j->g->p;
      int64_t xoff = kj * w->d_w - w->pad_l, lo, hi;
      valid_range (xoff, w->s_w, w->in_w, ow, &lo, &hi);
      for (int64_t oy = 0; oy < oh; oy++, dst += ow)
        {
          int64_t iy = oy * w->s_h - w->pad_t + ki * w->d_h;
          if (iy < 0 || iy >= w->in_h)
            {
              memset (dst, 0, (size_t) ow * sizeof (float));
              continue;
            }
          const float *src = xc + iy * w->in_w + xoff;
          for (int64_t ox = 0; ox < lo; ox++)
            dst[ox] = 0.0f;
          if (w->s_w == 1)
            memcpy (dst + lo, src + lo, (size_t) (hi - lo) * sizeof (float));
          else
            for (int64_t ox = lo; ox < hi; ox++)
              dst[ox] = src[ox * w->s_w];
          for (int64_t ox = hi; ox < ow; ox++)
            dst[ox] = 0.0f;
        }
    }
}

/* Accumulates col (k × p) into dx; one channel per work item, so no races. */
static void
col2im_channels (long begin, long end, void *data)
{
  const ColJob *j = data;
  const GzOpWindow *w = &j->g->w;
  const int64_t ow = w->out_w, oh = w->out_h;
  for (long c = begin; c < end; c++)
    {
      float *dxc = j->dx + c * j->g->hw;
      for (int64_t ki = 0; ki < w->k_h; ki++)
        for (int64_t kj = 0; kj < w->k_w; kj++)
          {
            const float *src = j->col + ((c * w->k_h + ki) * w->k_w + kj) * j->g->p;
            int64_t xoff = kj * w->d_w - w->pad_l, lo, hi;
            valid_range (xoff, w->s_w, w->in_w, ow, &lo, &hi);
            for (int64_t oy = 0; oy < oh; oy++, src += ow)
              {
                int64_t iy = oy * w->s_h - w->pad_t + ki * w->d_h;
                if (iy < 0 || iy >= w->in_h)
                  continue;
                float *restrict dst = dxc + iy * w->in_w + xoff;
                if (w->s_w == 1)
                  gz_op_axpy (dst + lo, src + lo, 1.0f, hi - lo);
                else
                  for (int64_t ox = lo; ox < hi; ox++)
                    dst[ox * w->s_w] += src[ox];
              }
          }
    }
}

static void
run_im2col (const Geo *g, const float *x, float *col)
{
  ColJob j = { .g = g, .x = x, .col = col };
  gz_parallel_for (g->k, gz_op_chunk (g->p), im2col_rows, &j);
}

/* ---- Depthwise direct kernels ------------------------------------------ */

typedef struct
{
  const Geo *g;
  const float *x, *w, *bias, *dy;
  float *y, *dx, *dw;
} DwJob;

/* Taps outer, output rows inner: each tap's valid column range is computed
 * once per plane, and the plane (a few KiB) stays in L1 across the taps. */
static void
dw_forward_planes (long begin, long end, void *data)
{
  const DwJob *j = data;
  const GzOpWindow *w = &j->g->w;
  const int64_t ow = w->out_w;
  for (long pl = begin; pl < end; pl++)
    {
      int64_t c = pl % j->g->c;
      const float *xc = j->x + pl * j->g->hw, *wc = j->w + c * w->k_h * w->k_w;
      float *yc = j->y + pl * j->g->p;
      gz_op_fill (yc, j->bias != NULL ? j->bias[c] : 0.0f, j->g->p);
      for (int64_t ki = 0; ki < w->k_h; ki++)
        {
          int64_t oy_lo, oy_hi;
          valid_range (ki * w->d_h - w->pad_t, w->s_h, w->in_h, w->out_h, &oy_lo, &oy_hi);
          for (int64_t kj = 0; kj < w->k_w; kj++)
            {
              int64_t xoff = kj * w->d_w - w->pad_l, lo, hi;
              valid_range (xoff, w->s_w, w->in_w, ow, &lo, &hi);
              const float wv = wc[ki * w->k_w + kj];
              for (int64_t oy = oy_lo; oy < oy_hi; oy++)
                {
                  int64_t iy = oy * w->s_h - w->pad_t + ki * w->d_h;
                  const float *src = xc + iy * w->in_w + xoff;
                  float *yr = yc + oy * ow;
                  if (w->s_w == 1)
                    gz_op_axpy (yr + lo, src + lo, wv, hi - lo);
                  else if (w->s_w == 2)
                    gz_op_axpy_s2 (yr + lo, src + 2 * lo, wv, hi - lo);
                  else
                    for (int64_t ox = lo; ox < hi; ox++)
                      yr[ox] += wv * src[ox * w->s_w];
                }
            }
        }
    }
}

/* The padded depthwise kernel: each plane is copied once into a zero-padded
 * buffer large enough for every window, so that the output is computed four
 * columns at a time with all taps accumulated in a register and no bounds
 * checks (stride 1, or 2 via even-lane shuffles). */
typedef struct
{
  int64_t ph, pw; /* padded buffer rows and row length */
} DwPad;

static inline void
dw_pad_size (const GzOpWindow *w, DwPad *pd)
{
  /* Rows/columns the last window reaches, plus slack for the 8-float loads. */
  pd->ph = (w->out_h - 1) * w->s_h + (w->k_h - 1) * w->d_h + 1;
  pd->pw = (w->out_w - 1) * w->s_w + (w->k_w - 1) * w->d_w + 1 + 8;
}

static inline __attribute__ ((always_inline)) void
dw_padded_rows (const GzOpWindow *w, const DwPad *pd, const float *buf, const float *wc, float b0,
                float *yc, int64_t kh, int64_t kw, int64_t dh, int64_t dw, int64_t sw)
{
  const int64_t ow = w->out_w;
  for (int64_t oy = 0; oy < w->out_h; oy++)
    {
      const float *base = buf + oy * w->s_h * pd->pw;
      float *yr = yc + oy * ow;
      int64_t ox = 0;
      for (; ox + 4 <= ow; ox += 4)
        {
          gz_op_v4 acc = { b0, b0, b0, b0 };
          for (int64_t ki = 0; ki < kh; ki++)
            {
              const float *row = base + ki * dh * pd->pw + ox * sw;
              for (int64_t kj = 0; kj < kw; kj++)
                {
                  const float wv = wc[ki * kw + kj];
                  const float *src = row + kj * dw;
                  gz_op_v4 xv;
                  if (sw == 1)
                    memcpy (&xv, src, sizeof xv);
                  else
                    {
                      gz_op_v4 x0, x1;
                      memcpy (&x0, src, sizeof x0);
                      memcpy (&x1, src + 4, sizeof x1);
                      xv = __builtin_shufflevector (x0, x1, 0, 2, 4, 6);
                    }
                  acc += (gz_op_v4){ wv, wv, wv, wv } * xv;
                }
            }
          memcpy (yr + ox, &acc, sizeof acc);
        }
      for (; ox < ow; ox++)
        {
          float acc = b0;
          for (int64_t ki = 0; ki < kh; ki++)
            for (int64_t kj = 0; kj < kw; kj++)
              acc += wc[ki * kw + kj] * base[ki * dh * pd->pw + ox * sw + kj * dw];
          yr[ox] = acc;
        }
    }
}

static void
dw_forward_padded_planes (long begin, long end, void *data)
{
  const DwJob *j = data;
  const GzOpWindow *w = &j->g->w;
  /* AVX-512/AVX2 3×3 and 5×5 kernels when the CPU has them (gz-conv-kernels.c). */
  if (gz_conv_dw_planes (w, j->g->c, j->x, j->w, j->bias, j->y, begin, end))
    return;
  DwPad pd;
  dw_pad_size (w, &pd);
  float *buf = malloc ((size_t) (pd.ph * pd.pw) * sizeof (float));
  if (buf == NULL)
    {
      dw_forward_planes (begin, end, data); /* no scratch: the unpadded kernel */
      return;
    }
  const int64_t kk = w->k_h * w->k_w, sw = w->s_w;
  const int64_t copy_w = w->in_w < pd.pw - w->pad_l ? w->in_w : pd.pw - w->pad_l;
  for (long pl = begin; pl < end; pl++)
    {
      int64_t c = pl % j->g->c;
      const float *xc = j->x + pl * j->g->hw, *wc = j->w + c * kk;
      float *yc = j->y + pl * j->g->p;
      const float b0 = j->bias != NULL ? j->bias[c] : 0.0f;
      memset (buf, 0, (size_t) (pd.ph * pd.pw) * sizeof (float));
      for (int64_t iy = 0; iy < w->in_h && iy + w->pad_t < pd.ph; iy++)
        if (copy_w > 0)
          memcpy (buf + (iy + w->pad_t) * pd.pw + w->pad_l, xc + iy * w->in_w,
                  (size_t) copy_w * sizeof (float));
      /* Constant kernel sizes and stride let the compiler unroll the taps. */
      if (w->k_h == 3 && w->k_w == 3 && w->d_h == 1 && w->d_w == 1 && sw == 1)
        dw_padded_rows (w, &pd, buf, wc, b0, yc, 3, 3, 1, 1, 1);
      else if (w->k_h == 3 && w->k_w == 3 && w->d_h == 1 && w->d_w == 1 && sw == 2)
        dw_padded_rows (w, &pd, buf, wc, b0, yc, 3, 3, 1, 1, 2);
      else
        dw_padded_rows (w, &pd, buf, wc, b0, yc, w->k_h, w->k_w, w->d_h, w->d_w, sw);
    }
  free (buf);
}

static void
dw_backward_planes (long begin, long end, void *data)
{
  const DwJob *j = data;
  const GzOpWindow *w = &j->g->w;
  const int64_t ow = w->out_w;
  for (long pl = begin; pl < end; pl++)
    {
      int64_t c = pl % j->g->c;
      const float *wc = j->w + c * w->k_h * w->k_w, *dyc = j->dy + pl * j->g->p;
      float *dxc = j->dx + pl * j->g->hw;
      memset (dxc, 0, (size_t) j->g->hw * sizeof (float));
      for (int64_t ki = 0; ki < w->k_h; ki++)
        {
          int64_t oy_lo, oy_hi;
          valid_range (ki * w->d_h - w->pad_t, w->s_h, w->in_h, w->out_h, &oy_lo, &oy_hi);
          for (int64_t kj = 0; kj < w->k_w; kj++)
            {
              int64_t xoff = kj * w->d_w - w->pad_l, lo, hi;
              valid_range (xoff, w->s_w, w->in_w, ow, &lo, &hi);
              const float wv = wc[ki * w->k_w + kj];
              for (int64_t oy = oy_lo; oy < oy_hi; oy++)
                {
                  int64_t iy = oy * w->s_h - w->pad_t + ki * w->d_h;
                  float *dst = dxc + iy * w->in_w + xoff;
                  const float *gr = dyc + oy * ow;
                  if (w->s_w == 1)
                    gz_op_axpy (dst + lo, gr + lo, wv, hi - lo);
                  else
                    for (int64_t ox = lo; ox < hi; ox++)
                      dst[ox * w->s_w] += wv * gr[ox];
                }
            }
        }
    }
}

/* dX for depthwise through the same padded layout: every tap scatters a
 * whole output row into the padded gradient buffer (vector axpy, stride 2
 * via interleaving with zeros), then the interior is copied out. */
static inline void
axpy_scatter2 (float *restrict y, const float *restrict x, float a, int64_t n)
{
  const gz_op_v4 av = { a, a, a, a }, zero = { 0, 0, 0, 0 };
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) /* writes y[2 i .. 2 i + 7]: the buffer has slack */
    {
      gz_op_v4 xv, y0, y1;
      memcpy (&xv, x + i, sizeof xv);
      xv *= av;
      memcpy (&y0, y + 2 * i, sizeof y0);
      memcpy (&y1, y + 2 * i + 4, sizeof y1);
      y0 += __builtin_shufflevector (xv, zero, 0, 4, 1, 5);
      y1 += __builtin_shufflevector (xv, zero, 2, 6, 3, 7);
      memcpy (y + 2 * i, &y0, sizeof y0);
      memcpy (y + 2 * i + 4, &y1, sizeof y1);
    }
  for (; i < n; i++)
    y[2 * i] += a * x[i];
}

static void
dw_backward_padded_planes (long begin, long end, void *data)
{
  const DwJob *j = data;
  const GzOpWindow *w = &j->g->w;
  DwPad pd;
  dw_pad_size (w, &pd);
  float *buf = malloc ((size_t) (pd.ph * pd.pw) * sizeof (float));
  if (buf == NULL)
    {
      dw_backward_planes (begin, end, data);
      return;
    }
  const int64_t ow = w->out_w;
  for (long pl = begin; pl < end; pl++)
    {
      int64_t c = pl % j->g->c;
      const float *wc = j->w + c * w->k_h * w->k_w, *dyc = j->dy + pl * j->g->p;
      float *dxc = j->dx + pl * j->g->hw;
      memset (buf, 0, (size_t) (pd.ph * pd.pw) * sizeof (float));
      for (int64_t ki = 0; ki < w->k_h; ki++)
        for (int64_t kj = 0; kj < w->k_w; kj++)
          {
            const float wv = wc[ki * w->k_w + kj];
            for (int64_t oy = 0; oy < w->out_h; oy++)
              {
                float *dst = buf + (oy * w->s_h + ki * w->d_h) * pd.pw + kj * w->d_w;
                const float *g = dyc + oy * ow;
                if (w->s_w == 1)
                  gz_op_axpy (dst, g, wv, ow);
                else
                  axpy_scatter2 (dst, g, wv, ow);
              }
          }
      for (int64_t iy = 0; iy < w->in_h; iy++)
        {
          float *row = dxc + iy * w->in_w;
          int64_t r = iy + w->pad_t;
          /* Columns past the last window (or rows below it) get no gradient. */
          int64_t n = r < pd.ph ? pd.pw - 8 - w->pad_l : 0;
          if (n > w->in_w)
            n = w->in_w;
          if (n < 0)
            n = 0;
          if (n > 0)
            memcpy (row, buf + r * pd.pw + w->pad_l, (size_t) n * sizeof (float));
          memset (row + n, 0, (size_t) (w->in_w - n) * sizeof (float));
        }
    }
  free (buf);
}

/* dW for depthwise: one channel per work item, summed over the batch. */
static void
dw_weight_channels (long begin, long end, void *data)
{
  const DwJob *j = data;
  const GzOpWindow *w = &j->g->w;
  const int64_t ow = w->out_w;
  for (long c = begin; c < end; c++)
    {
      float *dwc = j->dw + c * w->k_h * w->k_w;
      memset (dwc, 0, (size_t) (w->k_h * w->k_w) * sizeof (float));
      for (int64_t n = 0; n < j->g->n; n++)
        {
          const float *xc = j->x + (n * j->g->c + c) * j->g->hw;
          const float *dyc = j->dy + (n * j->g->c + c) * j->g->p;
          for (int64_t ki = 0; ki < w->k_h; ki++)
            for (int64_t kj = 0; kj < w->k_w; kj++)
              {
                int64_t xoff = kj * w->d_w - w->pad_l, lo, hi;
                valid_range (xoff, w->s_w, w->in_w, ow, &lo, &hi);
                float acc = 0.0f;
                for (int64_t oy = 0; oy < w->out_h; oy++)
                  {
                    int64_t iy = oy * w->s_h - w->pad_t + ki * w->d_h;
                    if (iy < 0 || iy >= w->in_h)
                      continue;
                    const float *src = xc + iy * w->in_w + xoff, *gr = dyc + oy * ow;
                    for (int64_t ox = lo; ox < hi; ox++)
                      acc += src[ox * w->s_w] * gr[ox];
                  }
                dwc[ki * w->k_w + kj] += acc;
              }
        }
    }
}

/* ---- Winograd ------------------------------------------------------------ */

/* Transformed weights are kept per node up to this size (F(2×2) makes 16/9
 * of the weights: ResNet's 64- to 256-channel layers are kept, a few MiB
 * each); larger layers transform per call. */
enum
{
  CONV_WINOGRAD_KEEP_FLOATS = 1 << 20
};

/* The Winograd problem of a call, when the layer qualifies (3×3, stride 1,
 * one group, batches) and the switch is on. */
static bool
conv_winograd_shape (const Geo *g, const GzTensor *x, GzWinogradShape *s)
{
  const GzOpWindow *wi = &g->w;
  if (g->group != 1 || wi->k_h != 3 || wi->k_w != 3 || wi->s_h != 1 || wi->s_w != 1 || wi->d_h != 1
      || wi->d_w != 1 || x->ndim != 4 || g->n < 2 || g->n > INT_MAX || wi->pad_t < 0
      || wi->pad_l < 0 || wi->pad_b < 0 || wi->pad_r < 0 || !gz_conv_tuning ().winograd)
    return false;
  *s = (GzWinogradShape){
    .n = (int) g->n,
    .c = (int) g->c,
    .h = (int) wi->in_h,
    .w = (int) wi->in_w,
    .m = (int) g->m,
    .pad_t = (int) wi->pad_t,
    .pad_l = (int) wi->pad_l,
    .pad_b = (int) wi->pad_b,
    .pad_r = (int) wi->pad_r,
    .tile = 2,
  };
  return true;
}

/* At plan time: the transformed weights U of a constant weight of moderate
 * size, for a layer that will run by Winograd; the plan owns them. */
static GzStatus
conv_prepare (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
              void **prepared, GzError *err)
{
  Geo g;
  GzWinogradShape s;
  *prepared = NULL;
  if (in[1] == NULL || in[1]->data == NULL || conv_geometry (node, in, &g, NULL) != GZ_OK
      || !conv_winograd_shape (&g, in[0], &s))
    return GZ_OK;
  const size_t uf = gz_winograd_u_floats (&s);
  if (uf == 0 || uf > CONV_WINOGRAD_KEEP_FLOATS
      || !gz_winograd_applies (&s, 3, 3, 1, 1, 1, 1, 1, true))
    return GZ_OK;
  float *u = gz_op_alloc_floats (node, (int64_t) uf, err);
  if (u == NULL)
    return GZ_ERR_NOMEM;
  gz_winograd_transform_weights (&s, in[1]->data, u);
  *prepared = u;
  return GZ_OK;
}

/* Runs the convolution by Winograd F(2×2, 3×3) (gz-winograd.c) when the layer
 * qualifies and its cost model expects a gain; *st is then the result. u:
 * the transformed weights made at plan time (conv_prepare), else NULL (the
 * call transforms them). Batched forwards only (Score-CAM, Ablation-CAM:
 * about 2× on ResNet's 3×3 layers at batch 32): a single image's forward and
 * its gradients stay on the GEMM path, whose rounding is PyTorch's order of
 * magnitude — Winograd's larger one flips near-zero ReLU gates of
 * random-weight models, which moves early-layer gradient maps beyond the
 * reference tests' 1e-3. F(4×4) was faster still but its logits drifted 8e-5
 * (relative) from the GEMM path's on ResNet-50, too close to the 1e-4 bar
 * against PyTorch; F(2×2) 7e-6. GzConvTuning.winograd (GAZE_CONV_WINOGRAD=0)
 * turns it off (A/B). */
static bool
conv_winograd (const Geo *g, const GzTensor *const *in, const float *bias, const float *u, float *y,
               GzStatus *st, GzError *err)
{
  GzWinogradShape s;
  if (!conv_winograd_shape (g, in[0], &s)
      || !gz_winograd_applies (&s, 3, 3, 1, 1, 1, 1, 1, u != NULL))
    return false;
  *st = gz_winograd_conv (&s, in[0]->data, in[1]->data, u, bias, y, err);
  return true;
}

/* ---- Forward ----------------------------------------------------------- */

/* Planes of at most CONV_BATCH_PLANE positions are multiplied for several
 * images at once, up to CONV_BATCH_COLUMNS columns and a result of
 * CONV_BATCH_FLOATS (see conv_forward_gemm; measured on ResNet's 14×14 and
 * 7×7 layers at batch 32: 1.2-1.5× faster, while 28×28 gained nothing).
 * GzConvTuning.batch (GAZE_CONV_BATCH=0) turns it off (A/B). */
enum
{
  CONV_BATCH_PLANE = 256,
  CONV_BATCH_COLUMNS = 2048,
  CONV_BATCH_FLOATS = 1 << 20
};

/* Copies image b's rows of the side-by-side result c [mg][nb·p] to y. */
typedef struct
{
  const Geo *g;
  const float *c;
  float *y; /* first image, first channel of the group */
  int64_t nb;
} ScatterJob;

static void
scatter_rows (long begin, long end, void *data)
{
  const ScatterJob *j = data;
  const int64_t p = j->g->p;
  for (long r = begin; r < end; r++)
    {
      int64_t b = r / j->g->mg, o = r % j->g->mg;
      memcpy (j->y + (b * j->g->m + o) * p, j->c + (o * j->nb + b) * p,
              (size_t) p * sizeof (float));
    }
}

/* Y_g = W_g · im2col (X_g) + bias by gz_gemm: the packer reads the im2col
 * columns straight from the input planes into gz_gemm's panels, and the
 * bias seeds the accumulators, so there is no im2col matrix and no bias
 * pass. A 1×1 stride-1 plane is packed as one long row (fewer segments).
 * Small planes (late layers: 7×7 = 49 columns is 2 panels, the second half
 * empty, and the weights are streamed for each image) are multiplied for
 * several images at once into scratch, then scattered to Y. */
static void
conv_forward_gemm (const Geo *g, const float *x, const float *w, const float *bias, float *y)
{
  GzOpWindow win = g->w;
  if (g->pointwise)
    win = (GzOpWindow){ .in_h = 1,
                        .in_w = g->hw,
                        .out_h = 1,
                        .out_w = g->hw,
                        .k_h = 1,
                        .k_w = 1,
                        .s_h = 1,
                        .s_w = 1,
                        .d_h = 1,
                        .d_w = 1 };
  int64_t nb = 1;
  if (g->n > 1 && g->p <= CONV_BATCH_PLANE && gz_conv_tuning ().batch)
    {
      nb = CONV_BATCH_COLUMNS / g->p;
      if (nb > CONV_BATCH_FLOATS / (g->mg * g->p))
        nb = CONV_BATCH_FLOATS / (g->mg * g->p);
      if (nb > g->n)
        nb = g->n;
      if (nb < 1)
        nb = 1;
    }
  float *cs = NULL;
  if (nb > 1 && (cs = gz_scratch_get ((size_t) (g->mg * nb * g->p))) == NULL)
    nb = 1; /* no scratch: image by image */
  for (int64_t n0 = 0; n0 < g->n; n0 += nb)
    {
      const int64_t nbc = g->n - n0 < nb ? g->n - n0 : nb;
      for (int64_t gi = 0; gi < g->group; gi++)
        {
          const float *xg = x + (n0 * g->c + gi * g->cg) * g->hw;
          float *yg = y + (n0 * g->m + gi * g->mg) * g->p;
          const float *wg = w + gi * g->mg * g->k, *bg = bias != NULL ? bias + gi * g->mg : NULL;
          GzConvPack cp;
          gz_conv_pack_init (&cp, &win, xg);
          cp.x_img = g->c * g->hw;
          const int cols = (int) (nbc * g->p);
          gz_gemm (false, (int) g->mg, cols, (int) g->k, wg, (int) g->k, gz_conv_pack_b, &cp, bg,
                   0.0f, nbc > 1 ? cs : yg, cols);
          if (nbc > 1)
            {
              ScatterJob sj = { g, cs, yg, nbc };
              gz_parallel_for (nbc * g->mg, gz_op_chunk ((double) g->p), scatter_rows, &sj);
            }
        }
    }
  gz_scratch_put (cs);
}

/* u: the Winograd weights conv_prepare made for this plan, or NULL. */
static GzStatus
conv_forward_u (const GzNode *node, const float *u, const GzTensor *const *in, GzTensor *const *out,
                GzError *err)
{
  Geo g;
  GzStatus st;
  if ((st = conv_geometry (node, in, &g, err)) != GZ_OK)
    return st;
  const float *x = in[0]->data, *w = in[1]->data;
  const GzTensor *bt = gz_op_input (node, in, 2);
  const float *bias = bt != NULL ? bt->data : NULL;
  float *y = out[0]->data;

  if (g.depthwise)
    {
      DwJob j = { .g = &g, .x = x, .w = w, .bias = bias, .y = y };
      DwPad pd;
      dw_pad_size (&g.w, &pd);
      /* Padded kernel for strides 1 and 2 while the buffer stays cache-sized. */
      bool padded = g.w.s_w <= 2 && pd.ph * pd.pw <= (int64_t) 1 << 20;
      gz_parallel_for (g.n * g.c, gz_op_chunk ((double) g.p * g.w.k_h * g.w.k_w),
                       padded ? dw_forward_padded_planes : dw_forward_planes, &j);
      return GZ_OK;
    }

  if (conv_winograd (&g, in, bias, u, y, &st, err))
    return st;
  conv_forward_gemm (&g, x, w, bias, y);
  return GZ_OK;
}

static GzStatus
conv_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  return conv_forward_u (node, NULL, in, out, err);
}

static GzStatus
conv_forward_prepared (const GzNode *node, const void *prepared, const GzTensor *const *in,
                       GzTensor *const *out, GzError *err)
{
  return conv_forward_u (node, prepared, in, out, err);
}

/* ---- Backward ---------------------------------------------------------- */

static GzStatus
conv_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
               const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
               GzError *err)
{
  Geo g;
  GzStatus st;
  if ((st = conv_geometry (node, in, &g, err)) != GZ_OK)
    return st;
  float *dx = din[0] != NULL ? din[0]->data : NULL;
  float *dw = din[1] != NULL ? din[1]->data : NULL;
  float *db = node->n_inputs > 2 && din[2] != NULL ? din[2]->data : NULL;
  const float *x = in[0]->data, *w = in[1]->data;

  if (dout[0] == NULL)
    {
      for (int i = 0; i < node->n_inputs && i < 3; i++)
        if (din[i] != NULL)
          memset (din[i]->data, 0, (size_t) gz_tensor_numel (din[i]) * sizeof (float));
      return GZ_OK;
    }
  const float *dy = dout[0]->data;

  if (db != NULL)
    for (int64_t o = 0; o < g.m; o++)
      {
        double acc = 0.0;
        for (int64_t n = 0; n < g.n; n++)
          {
            const float *r = dy + (n * g.m + o) * g.p;
            for (int64_t i = 0; i < g.p; i++)
              acc += r[i];
          }
        db[o] = (float) acc;
      }

  if (g.depthwise)
    {
      DwJob j = { .g = &g, .x = x, .w = w, .dy = dy, .dx = dx, .dw = dw };
      DwPad pd;
      dw_pad_size (&g.w, &pd);
      bool padded = g.w.s_w <= 2 && pd.ph * pd.pw <= (int64_t) 1 << 20;
      if (dx != NULL)
        gz_parallel_for (g.n * g.c, gz_op_chunk ((double) g.p * g.w.k_h * g.w.k_w),
                         padded ? dw_backward_padded_planes : dw_backward_planes, &j);
      if (dw != NULL)
        gz_parallel_for (g.c, gz_op_chunk ((double) g.n * g.p * g.w.k_h * g.w.k_w),
                         dw_weight_channels, &j);
      return GZ_OK;
    }

  float *col = NULL;
  if (!g.pointwise && (col = gz_op_alloc_floats (node, g.k * g.p, err)) == NULL)
    return err != NULL ? err->code : GZ_ERR_NOMEM;
  if (dx != NULL && !g.pointwise)
    memset (dx, 0, (size_t) (g.n * g.c * g.hw) * sizeof (float));
  if (dw != NULL)
    memset (dw, 0, (size_t) (g.m * g.k) * sizeof (float));
  for (int64_t n = 0; n < g.n; n++)
    for (int64_t gi = 0; gi < g.group; gi++)
      {
        const float *xg = x + (n * g.c + gi * g.cg) * g.hw;
        const float *dyg = dy + (n * g.m + gi * g.mg) * g.p;
        const float *wg = w + gi * g.mg * g.k;
        if (dw != NULL)
          {
            const float *b = xg;
            if (!g.pointwise)
              {
                run_im2col (&g, xg, col);
                b = col;
              }
            gz_sgemm (false, true, (int) g.mg, (int) g.k, (int) g.p, 1.0f, dyg, (int) g.p, b,
                      (int) g.p, 1.0f, dw + gi * g.mg * g.k, (int) g.k);
          }
        if (dx == NULL)
          continue;
        float *dxg = dx + (n * g.c + gi * g.cg) * g.hw;
        if (g.pointwise)
          {
            gz_sgemm (true, false, (int) g.k, (int) g.p, (int) g.mg, 1.0f, wg, (int) g.k, dyg,
                      (int) g.p, 0.0f, dxg, (int) g.p);
            continue;
          }
        gz_sgemm (true, false, (int) g.k, (int) g.p, (int) g.mg, 1.0f, wg, (int) g.k, dyg,
                  (int) g.p, 0.0f, col, (int) g.p);
        ColJob j = { .g = &g, .col = col, .dx = dxg };
        gz_parallel_for (g.cg, gz_op_chunk ((double) (g.k / g.cg) * g.p), col2im_channels, &j);
      }
  free (col);
  return GZ_OK;
}

/* ---- ConvTranspose ----------------------------------------------------- */

/* The transpose of a Conv whose input is this operator's output: the same
 * window geometry with the roles of the planes swapped, so forward is
 * col = W_g^T X_g then col2im, and the input gradient im2col then W_g · col. */

typedef struct
{
  GzOpWindowAttrs win;
  int64_t group;
  int n_out_pad, n_out_shape;
  int64_t out_pad[3], out_shape[5];
} TParams;

static GzStatus
convt_init (GzNode *node, int64_t opset, GzError *err)
{
  TParams *p = calloc (1, sizeof *p);
  GzStatus st;
  const int64_t *v;
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_NOMEM, node, "out of memory");
  if ((st = gz_op_window_parse (node, &p->win, err)) != GZ_OK)
    {
      free (p);
      return st;
    }
  p->group = gz_node_attr_int (node, "group", 1);
  p->n_out_pad = gz_node_attr_ints (node, "output_padding", &v);
  if (p->n_out_pad > 3)
    p->n_out_pad = 3;
  for (int i = 0; i < p->n_out_pad; i++)
    p->out_pad[i] = v[i];
  p->n_out_shape = gz_node_attr_ints (node, "output_shape", &v);
  if (p->n_out_shape > 5)
    p->n_out_shape = 5;
  for (int i = 0; i < p->n_out_shape; i++)
    p->out_shape[i] = v[i];
  node->params = p;
  return GZ_OK;
}

static GzStatus
convt_geometry (const GzNode *node, const GzTensor *const *in, Geo *g, GzError *err)
{
  const TParams *p = node->params;
  const GzOpWindowAttrs *a;
  GzStatus st;
  char sx[160], sw[160];
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_ARGUMENT, node, "operator used before init");
  a = &p->win;
  if ((st = gz_op_need_float (node, in, 0, "X", err)) != GZ_OK
      || (st = gz_op_need_float (node, in, 1, "W", err)) != GZ_OK)
    return st;
  const GzTensor *x = in[0], *w = in[1], *b = gz_op_input (node, in, 2);
  if (x->ndim < 3 || w->ndim != x->ndim)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "input %s and weight %s: ranks must match, >= 3",
                        gz_op_shape_str (x->ndim, x->dims, sx, sizeof sx),
                        gz_op_shape_str (w->ndim, w->dims, sw, sizeof sw));
  int nsp = x->ndim - 2;
  if (nsp > 2)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                        "%d spatial dimensions; only 1-D and 2-D are supported", nsp);
  /* In Geo terms (a Conv from this op's output to its input): c = M, m = C. */
  g->n = x->dims[0];
  g->group = p->group;
  int64_t c_in = x->dims[1];
  if (g->group < 1 || c_in % g->group != 0 || w->dims[0] != c_in)
    return gz_op_error (err, GZ_ERR_SHAPE, node,
                        "input has %lld channels; weight %s must be [%lld, M/group, ...] with "
                        "group %lld dividing them",
                        (long long) c_in, gz_op_shape_str (w->ndim, w->dims, sw, sizeof sw),
                        (long long) c_in, (long long) g->group);
  g->mg = c_in / g->group; /* rows of W_g (input channels per group) */
  g->cg = w->dims[1]; /* output channels per group */
  g->m = c_in;
  g->c = g->cg * g->group;
  if (g->cg < 1 || g->mg < 1)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "no input or output channels");
  if (b != NULL && (b->dtype != GZ_DTYPE_FLOAT || b->ndim != 1 || b->dims[0] != g->c))
    return gz_op_error (err, GZ_ERR_SHAPE, node, "bias %s must be float [%lld]",
                        gz_op_shape_str (b->ndim, b->dims, sw, sizeof sw), (long long) g->c);
  if ((a->n_strides && a->n_strides != nsp) || (a->n_dilations && a->n_dilations != nsp)
      || (a->n_pads && a->n_pads != 2 * nsp) || (a->n_kernel && a->n_kernel != nsp)
      || (p->n_out_pad && p->n_out_pad != nsp)
      || (p->n_out_shape && p->n_out_shape != nsp && p->n_out_shape != nsp + 2))
    return gz_op_error (err, GZ_ERR_SHAPE, node,
                        "strides/dilations/pads/kernel_shape/output_padding/output_shape do "
                        "not match %d spatial dimensions",
                        nsp);
  int64_t k[2] = { 1, 1 }, s[2] = { 1, 1 }, d[2] = { 1, 1 }, pb[2] = { 0, 0 }, pe[2] = { 0, 0 },
          in_sp[2] = { 1, 1 }, out_sp[2] = { 1, 1 };
  const int off = 2 - nsp;
  const int64_t big = (int64_t) 1 << 30;
  for (int i = 0; i < nsp; i++)
    {
      int j = off + i;
      k[j] = w->dims[2 + i];
      s[j] = a->n_strides ? a->strides[i] : 1;
      d[j] = a->n_dilations ? a->dilations[i] : 1;
      in_sp[j] = x->dims[2 + i];
      int64_t op = p->n_out_pad ? p->out_pad[i] : 0;
      if (a->n_kernel && a->kernel[i] != k[j])
        return gz_op_error (err, GZ_ERR_SHAPE, node, "kernel_shape[%d] = %lld, weight has %lld", i,
                            (long long) a->kernel[i], (long long) k[j]);
      if (k[j] < 1 || k[j] > big || s[j] < 1 || s[j] > big || d[j] < 1 || d[j] > big || op < 0
          || op > big || in_sp[j] > big)
        return gz_op_error (err, GZ_ERR_SHAPE, node,
                            "spatial axis %d: kernel, stride, dilation or output_padding out of "
                            "range",
                            i);
      int64_t dk = (k[j] - 1) * d[j] + 1, full = s[j] * (in_sp[j] - 1) + op + dk;
      bool same = a->auto_pad == GZ_OP_PAD_SAME_UPPER || a->auto_pad == GZ_OP_PAD_SAME_LOWER;
      if (p->n_out_shape || same)
        {
          int64_t want = p->n_out_shape ? p->out_shape[p->n_out_shape - nsp + i] : in_sp[j] * s[j];
          /* A negative total (output larger than the full result) extends the
           * end with zeros; the split floors as ONNX's reference does. */
          int64_t total = full - want;
          int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
          bool upper = a->auto_pad == GZ_OP_PAD_SAME_UPPER;
          pb[j] = upper ? half : total - half;
          pe[j] = total - pb[j];
          if (want < 1 || want > big || pb[j] < 0)
            return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                                "spatial axis %d: output size %lld needs negative leading "
                                "padding",
                                i, (long long) want);
          out_sp[j] = want;
        }
      else
        {
          if (a->auto_pad != GZ_OP_PAD_VALID && a->n_pads)
            {
              pb[j] = a->pads[i];
              pe[j] = a->pads[nsp + i];
            }
          if (pb[j] < 0 || pe[j] < 0 || pb[j] > big || pe[j] > big)
            return gz_op_error (err, GZ_ERR_SHAPE, node, "spatial axis %d: pads out of range", i);
          out_sp[j] = full - pb[j] - pe[j];
          if (out_sp[j] < 1)
            return gz_op_error (err, GZ_ERR_SHAPE, node, "spatial axis %d: empty output", i);
        }
    }
  g->w = (GzOpWindow){
    .in_h = out_sp[0],
    .in_w = out_sp[1],
    .out_h = in_sp[0],
    .out_w = in_sp[1],
    .k_h = k[0],
    .k_w = k[1],
    .s_h = s[0],
    .s_w = s[1],
    .d_h = d[0],
    .d_w = d[1],
    .pad_t = pb[0],
    .pad_l = pb[1],
    .pad_b = pe[0],
    .pad_r = pe[1],
  };
  if (__builtin_mul_overflow (g->cg, k[0] * k[1], &g->k)
      || __builtin_mul_overflow (in_sp[0], in_sp[1], &g->p)
      || __builtin_mul_overflow (out_sp[0], out_sp[1], &g->hw))
    return gz_op_error (err, GZ_ERR_LIMIT, node, "sizes overflow");
  if ((st = gz_op_check_int (node, "col rows", g->k, err)) != GZ_OK
      || (st = gz_op_check_int (node, "input plane size", g->p, err)) != GZ_OK
      || (st = gz_op_check_int (node, "output plane size", g->hw, err)) != GZ_OK
      || (st = gz_op_check_int (node, "channels", g->mg, err)) != GZ_OK)
    return st;
  if (g->p > INT64_MAX / g->k)
    return gz_op_error (err, GZ_ERR_LIMIT, node, "column matrix too large");
  g->pointwise = g->depthwise = false;
  return GZ_OK;
}

static GzStatus
convt_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  Geo g;
  GzStatus st = convt_geometry (node, in, &g, err);
  if (st != GZ_OK)
    return st;
  /* The transposed convolution's output is the forward convolution's input. */
  return set_conv_output (node, in[0]->ndim, g.n, g.c, g.w.in_h, g.w.in_w, out[0], err);
}

static GzStatus
convt_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  Geo g;
  GzStatus st;
  if ((st = convt_geometry (node, in, &g, err)) != GZ_OK)
    return st;
  const float *x = in[0]->data, *w = in[1]->data;
  const GzTensor *bt = gz_op_input (node, in, 2);
  float *y = out[0]->data;
  float *col = gz_op_alloc_floats (node, g.k * g.p, err);
  if (col == NULL)
    return err != NULL ? err->code : GZ_ERR_NOMEM;
  memset (y, 0, (size_t) (g.n * g.c * g.hw) * sizeof (float));
  for (int64_t n = 0; n < g.n; n++)
    for (int64_t gi = 0; gi < g.group; gi++)
      {
        const float *xg = x + (n * g.m + gi * g.mg) * g.p;
        gz_sgemm (true, false, (int) g.k, (int) g.p, (int) g.mg, 1.0f, w + gi * g.mg * g.k,
                  (int) g.k, xg, (int) g.p, 0.0f, col, (int) g.p);
        ColJob j = { .g = &g, .col = col, .dx = y + (n * g.c + gi * g.cg) * g.hw };
        gz_parallel_for (g.cg, gz_op_chunk ((double) (g.k / g.cg) * g.p), col2im_channels, &j);
      }
  free (col);
  if (bt != NULL)
    for (int64_t n = 0; n < g.n; n++)
      for (int64_t c = 0; c < g.c; c++)
        {
          float *yc = y + (n * g.c + c) * g.hw, bv = gz_tensor_f (bt)[c];
          for (int64_t i = 0; i < g.hw; i++)
            yc[i] += bv;
        }
  return GZ_OK;
}

static GzStatus
convt_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                GzError *err)
{
  Geo g;
  GzStatus st;
  if ((st = convt_geometry (node, in, &g, err)) != GZ_OK)
    return st;
  float *dx = din[0] != NULL ? din[0]->data : NULL;
  float *dw = din[1] != NULL ? din[1]->data : NULL;
  float *db = node->n_inputs > 2 && din[2] != NULL ? din[2]->data : NULL;
  for (int i = 0; i < node->n_inputs && i < 3; i++)
    if (din[i] != NULL)
      memset (din[i]->data, 0, (size_t) gz_tensor_numel (din[i]) * sizeof (float));
  if (dout[0] == NULL)
    return GZ_OK;
  const float *dy = dout[0]->data, *x = in[0]->data, *w = in[1]->data;
  if (db != NULL)
    for (int64_t n = 0; n < g.n; n++)
      for (int64_t c = 0; c < g.c; c++)
        {
          const float *r = dy + (n * g.c + c) * g.hw;
          double acc = 0.0;
          for (int64_t i = 0; i < g.hw; i++)
            acc += r[i];
          db[c] += (float) acc;
        }
  if (dx == NULL && dw == NULL)
    return GZ_OK;
  float *col = gz_op_alloc_floats (node, g.k * g.p, err);
  if (col == NULL)
    return err != NULL ? err->code : GZ_ERR_NOMEM;
  for (int64_t n = 0; n < g.n; n++)
    for (int64_t gi = 0; gi < g.group; gi++)
      {
        /* col = im2col (dY_g): [cg k_h k_w, H W] */
        run_im2col (&g, dy + (n * g.c + gi * g.cg) * g.hw, col);
        const float *wg = w + gi * g.mg * g.k;
        if (dx != NULL) /* dX_g [mg, HW] = W_g [mg, k] · col */
          gz_sgemm (false, false, (int) g.mg, (int) g.p, (int) g.k, 1.0f, wg, (int) g.k, col,
                    (int) g.p, 0.0f, dx + (n * g.m + gi * g.mg) * g.p, (int) g.p);
        if (dw != NULL) /* dW_g [mg, k] += X_g [mg, HW] · col^T */
          gz_sgemm (false, true, (int) g.mg, (int) g.k, (int) g.p, 1.0f,
                    x + (n * g.m + gi * g.mg) * g.p, (int) g.p, col, (int) g.p, 1.0f,
                    dw + gi * g.mg * g.k, (int) g.k);
      }
  free (col);
  return GZ_OK;
}

const GzOpDef gz_op_conv[] = {
  { .op_type = "Conv",
    .min_opset = 1,
    .init = conv_init,
    .infer = conv_infer,
    .forward = conv_forward,
    .backward = conv_backward,
    .free_params = conv_free_params,
    .prepare = conv_prepare,
    .forward_prepared = conv_forward_prepared,
    .free_prepared = free },
  { "ConvTranspose", 1, convt_init, convt_infer, convt_forward, convt_backward, gz_op_free_params },
  GZ_OP_END,
};
