/* gz-resize-pil.c — Pillow-exact resampling of 8-bit images
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reproduces what Image.resize (BILINEAR or BICUBIC, no reducing_gap) gives
 * on "RGB" and "L" images, so that a model trained with
 * transforms.Resize on PIL images sees the same pixels here:
 *
 *  - per axis, scale = in / out, filterscale = max (scale, 1) (antialias:
 *    the kernel widens when shrinking), support = kernel radius × filterscale;
 *    output i reads inputs [trunc (c - support + 0.5), trunc (c + support + 0.5))
 *    clamped to the image, c = (i + 0.5) × scale, with weight
 *    k ((j - c + 0.5) / filterscale), normalised to sum 1 in double;
 *  - weights become fixed point with 22 fractional bits, rounded half away
 *    from zero; each output is (Σ w·p + 2^21) >> 22 clipped to 0..255;
 *  - the horizontal pass runs first (only over the rows the vertical pass
 *    needs) and its result is stored as 8-bit before the vertical pass; an
 *    axis whose size does not change is not resampled at all.
 * Bilinear is the triangle kernel (radius 1); bicubic is Keys' cubic with
 * a = -0.5 (radius 2). Verified pixel for pixel against Debian's python3-pil
 * by tests/image/test-preprocess-pil.py.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gz-resize-pil.h"

#define PIL_BITS 22

typedef struct
{
  int n; /* output positions */
  int taps; /* coefficients per position */
  int *first; /* first input index */
  int *count; /* used coefficients */
  int32_t *k; /* n × taps fixed-point weights */
} PilFilter;

static void
pil_filter_clear (PilFilter *f)
{
  free (f->first);
  free (f->count);
  free (f->k);
  memset (f, 0, sizeof *f);
}

static double
kernel (GzResizeFilter filter, double x)
{
  x = fabs (x);
  if (filter == GZ_RESIZE_BICUBIC)
    {
      const double a = -0.5;
      if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
      if (x < 2.0)
        return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
      return 0.0;
    }
  return x < 1.0 ? 1.0 - x : 0.0;
}

/* Coefficients for outputs [begin, end) of an in_size → out_size resize. */
static GzStatus
pil_filter_build (GzResizeFilter filter, int64_t in_size, int64_t out_size, int64_t begin,
                  int64_t end, PilFilter *f, GzError *err)
{
  memset (f, 0, sizeof *f);
  double radius = filter == GZ_RESIZE_BICUBIC ? 2.0 : 1.0;
  double scale = (double) in_size / (double) out_size;
  double fscale = scale > 1.0 ? scale : 1.0;
  double support = radius * fscale;
  f->n = (int) (end - begin);
  f->taps = (int) ceil (support) * 2 + 1;
  size_t n = f->n > 0 ? (size_t) f->n : 1;
  f->first = calloc (n, sizeof *f->first);
  f->count = calloc (n, sizeof *f->count);
  f->k = calloc (n * (size_t) f->taps, sizeof *f->k);
  double *w = malloc ((size_t) f->taps * sizeof *w);
  if (f->first == NULL || f->count == NULL || f->k == NULL || w == NULL)
    {
      free (w);
      pil_filter_clear (f);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory building a resize filter");
    }
  for (int i = 0; i < f->n; i++)
    {
      double center = ((double) (begin + i) + 0.5) * scale;
      int64_t lo = (int64_t) (center - support + 0.5);
      int64_t hi = (int64_t) (center + support + 0.5);
      if (lo < 0)
        lo = 0;
      if (hi > in_size)
        hi = in_size;
      if (hi - lo > f->taps)
        hi = lo + f->taps;
      double total = 0.0;
      for (int64_t j = lo; j < hi; j++)
        {
          w[j - lo] = kernel (filter, ((double) j - center + 0.5) / fscale);
          total += w[j - lo];
        }
      int32_t *k = f->k + (size_t) i * (size_t) f->taps;
      for (int64_t j = 0; j < hi - lo; j++)
        {
          double v = total != 0.0 ? w[j] / total : w[j];
          double fx = v * (double) (1 << PIL_BITS);
          k[j] = (int32_t) (fx < 0.0 ? fx - 0.5 : fx + 0.5);
        }
      f->first[i] = (int) lo;
      f->count[i] = (int) (hi - lo);
    }
  free (w);
  return GZ_OK;
}

static inline uint8_t
clip8 (int64_t acc)
{
  int64_t v = acc >> PIL_BITS;
  return (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Source row y as `channels` planes of bytes. */
static void
load_row8 (const GzImage *image, int y, int channels, uint8_t *row)
{
  const uint8_t *p = image->pixels + (size_t) y * (size_t) image->stride;
  int w = image->width;
  if (image->channels == channels)
    {
      for (int x = 0; x < w; x++)
        for (int c = 0; c < channels; c++)
          row[(size_t) c * w + x] = p[(size_t) x * channels + c];
    }
  else if (channels == 1)
    {
      for (int x = 0; x < w; x++)
        {
          const uint8_t *q = p + (size_t) x * 3;
          row[x] = (uint8_t) ((q[0] * 19595u + q[1] * 38470u + q[2] * 7471u + 0x8000u) >> 16);
        }
    }
  else
    {
      for (int x = 0; x < w; x++)
        row[x] = row[(size_t) w + x] = row[(size_t) 2 * w + x] = p[x];
    }
}

GzStatus
gz_resize_pil (const GzImage *image, int channels, GzResizeFilter filter, int64_t rw, int64_t rh,
               int64_t x0, int64_t x1, int64_t y0, int64_t y1, float *dst, int64_t dst_w,
               int64_t dst_h, int64_t dst_x, int64_t dst_y, GzError *err)
{
  const int64_t iw = image->width, ih = image->height;
  const int C = channels;
  if (x1 <= x0 || y1 <= y0)
    return GZ_OK;
  const int same_w = rw == iw, same_h = rh == ih;
  PilFilter fx = { 0 }, fy = { 0 };
  uint8_t *row = NULL, *horiz = NULL;
  GzStatus st = GZ_OK;
  if (!same_w)
    st = pil_filter_build (filter, iw, rw, x0, x1, &fx, err);
  if (st == GZ_OK && !same_h)
    st = pil_filter_build (filter, ih, rh, y0, y1, &fy, err);
  if (st != GZ_OK)
    goto done;

  /* Source rows needed, and the columns each horizontal result covers. */
  int64_t sy0 = same_h ? y0 : fy.first[0];
  int64_t sy1 = same_h ? y1 : fy.first[fy.n - 1] + fy.count[fy.n - 1];
  size_t nrows = (size_t) (sy1 - sy0), ncols = (size_t) (x1 - x0);
  row = malloc ((size_t) C * (size_t) iw);
  horiz = malloc (nrows * (size_t) C * ncols);
  if (row == NULL || horiz == NULL)
    {
      st = gz_error_set (err, GZ_ERR_NOMEM, "out of memory resizing a %lld×%lld image",
                         (long long) iw, (long long) ih);
      goto done;
    }
  /* Horizontal pass to bytes: horiz[r][c][x]. */
  for (size_t r = 0; r < nrows; r++)
    {
      load_row8 (image, (int) (sy0 + (int64_t) r), C, row);
      for (int c = 0; c < C; c++)
        {
          const uint8_t *src = row + (size_t) c * (size_t) iw;
          uint8_t *out = horiz + (r * (size_t) C + (size_t) c) * ncols;
          if (same_w)
            {
              memcpy (out, src + x0, ncols);
              continue;
            }
          for (size_t x = 0; x < ncols; x++)
            {
              const int32_t *k = fx.k + x * (size_t) fx.taps;
              const uint8_t *s = src + fx.first[x];
              int64_t acc = (int64_t) 1 << (PIL_BITS - 1);
              for (int t = 0; t < fx.count[x]; t++)
                acc += (int64_t) k[t] * s[t];
              out[x] = clip8 (acc);
            }
        }
    }
  /* Vertical pass to the destination. */
  for (int c = 0; c < C; c++)
    for (int64_t y = y0; y < y1; y++)
      {
        float *o = dst + ((size_t) c * (size_t) dst_h + (size_t) (y - y0 + dst_y)) * (size_t) dst_w
            + (size_t) dst_x;
        if (same_h)
          {
            const uint8_t *s = horiz + ((size_t) (y - sy0) * (size_t) C + (size_t) c) * ncols;
            for (size_t x = 0; x < ncols; x++)
              o[x] = s[x];
            continue;
          }
        size_t i = (size_t) (y - y0);
        const int32_t *k = fy.k + i * (size_t) fy.taps;
        size_t r0 = (size_t) (fy.first[i] - sy0);
        for (size_t x = 0; x < ncols; x++)
          {
            int64_t acc = (int64_t) 1 << (PIL_BITS - 1);
            for (int t = 0; t < fy.count[i]; t++)
              acc += (int64_t) k[t]
                  * horiz[((r0 + (size_t) t) * (size_t) C + (size_t) c) * ncols + x];
            o[x] = clip8 (acc);
          }
      }

done:
  free (row);
  free (horiz);
  pil_filter_clear (&fx);
  pil_filter_clear (&fy);
  return st;
}
