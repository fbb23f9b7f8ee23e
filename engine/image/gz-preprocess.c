/* gz-preprocess.c — image to input tensor: resize, centre crop, normalise
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Two resamplers. The default (GZ_RESIZE_BACKEND_PIL, gz-resize-pil.c) is
 * Pillow's Image.resize on 8-bit pixels, what transforms.Resize does on a PIL
 * image. GZ_RESIZE_BACKEND_TENSOR matches torchvision's Resize(N,
 * antialias=True) + CenterCrop on float tensors: a separable kernel (triangle
 * for bilinear, Keys' a = -0.5 cubic for bicubic) whose support widens by the
 * downscale factor, in float without rounding. For output index i along an
 * axis with scale = in / out and kernel radius R:
 *   center = scale * (i + 0.5), support = R * max (scale, 1),
 *   taps j in [trunc (center - support + 0.5), trunc (center + support + 0.5)),
 *   clamped to the input, weight = k ((j - center + 0.5) / max (scale, 1)),
 *   normalised to sum 1.
 * Only the part of the resized image that survives the crop is computed, so
 * extreme aspect ratios cost nothing extra.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gaze-engine.h"
#include "gz-resize-pil.h"

/* Sanity bounds: far beyond any CNN input, small enough that no index math
 * below can overflow. */
#define GZ_PP_MAX_SIDE 16384
#define GZ_PP_MAX_RESIZE 65536

/* ImageNet statistics (torchvision's convention), and their channel average
 * for single-channel models. */
static const float imagenet_mean[3] = { 0.485f, 0.456f, 0.406f };
static const float imagenet_std[3] = { 0.229f, 0.224f, 0.225f };

void
gz_preprocess_defaults (const GzModel *model, GzPreprocess *pp)
{
  int64_t c = 3, h = 224, w = 224;
  const GzValueInfo *in = model != NULL ? gz_model_input (model) : NULL;
  if (in != NULL && in->ndim == 4)
    {
      if (in->dims[1] == 1 || in->dims[1] == 3)
        c = in->dims[1];
      if (in->dims[2] > 0 && in->dims[2] <= GZ_PP_MAX_SIDE)
        h = in->dims[2];
      if (in->dims[3] > 0 && in->dims[3] <= GZ_PP_MAX_SIDE)
        w = in->dims[3];
    }
  memset (pp, 0, sizeof *pp);
  pp->mode = GZ_RESIZE_CROP;
  pp->backend = GZ_RESIZE_BACKEND_PIL; /* 8-bit photos, as transforms.Resize on PIL images */
  pp->filter = GZ_RESIZE_BILINEAR;
  pp->crop_width = (int) w;
  pp->crop_height = (int) h;
  /* 256 for 224 (the ImageNet recipe), in proportion otherwise. */
  int64_t shorter = w < h ? w : h;
  pp->resize = (int) ((shorter * 256 + 112) / 224);
  pp->channels = (int) c;
  if (c == 1)
    {
      pp->mean[0] = pp->mean[1] = pp->mean[2] = (0.485f + 0.456f + 0.406f) / 3.0f;
      pp->std[0] = pp->std[1] = pp->std[2] = (0.229f + 0.224f + 0.225f) / 3.0f;
    }
  else
    {
      memcpy (pp->mean, imagenet_mean, sizeof pp->mean);
      memcpy (pp->std, imagenet_std, sizeof pp->std);
    }
}

/* ---- Resampling filter -------------------------------------------------- */

typedef struct
{
  int n; /* output positions covered */
  int taps; /* weights per position */
  int *first; /* first input index per position */
  int *count; /* used taps per position */
  float *weight; /* n × taps */
} Filter;

static void
filter_clear (Filter *f)
{
  free (f->first);
  free (f->count);
  free (f->weight);
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

/* Weights for output positions [begin, end) of an in_size → out_size resize. */
static GzStatus
filter_build (GzResizeFilter filter, int64_t in_size, int64_t out_size, int64_t begin, int64_t end,
              Filter *f, GzError *err)
{
  memset (f, 0, sizeof *f);
  double scale = (double) in_size / (double) out_size;
  double support = (filter == GZ_RESIZE_BICUBIC ? 2.0 : 1.0) * (scale >= 1.0 ? scale : 1.0);
  double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
  f->n = (int) (end - begin);
  f->taps = (int) ceil (2.0 * support) + 2;
  if (f->taps > in_size + 2)
    f->taps = (int) in_size + 2;
  f->first = calloc (f->n > 0 ? (size_t) f->n : 1, sizeof *f->first);
  f->count = calloc (f->n > 0 ? (size_t) f->n : 1, sizeof *f->count);
  f->weight = calloc (f->n > 0 ? (size_t) f->n * (size_t) f->taps : 1, sizeof *f->weight);
  if (f->first == NULL || f->count == NULL || f->weight == NULL)
    {
      filter_clear (f);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory building a resize filter");
    }
  for (int i = 0; i < f->n; i++)
    {
      double center = scale * ((double) (begin + i) + 0.5);
      int64_t lo = (int64_t) (center - support + 0.5);
      int64_t hi = (int64_t) (center + support + 0.5);
      if (lo < 0)
        lo = 0;
      if (hi > in_size)
        hi = in_size;
      if (hi - lo > f->taps)
        hi = lo + f->taps;
      if (hi <= lo) /* cannot happen for valid sizes; keep the nearest pixel */
        {
          lo = (int64_t) center < in_size ? (int64_t) center : in_size - 1;
          hi = lo + 1;
        }
      float *w = f->weight + (size_t) i * (size_t) f->taps;
      double total = 0.0;
      for (int64_t j = lo; j < hi; j++)
        {
          double v = kernel (filter, ((double) j - center + 0.5) * invscale);
          w[j - lo] = (float) v;
          total += v;
        }
      if (total > 0.0)
        for (int64_t j = 0; j < hi - lo; j++)
          w[j] = (float) (w[j] / total);
      else
        w[0] = 1.0f;
      f->first[i] = (int) lo;
      f->count[i] = (int) (hi - lo);
    }
  return GZ_OK;
}

/* ---- Geometry ----------------------------------------------------------- */

/* Python's round(): halves go to the even neighbour. */
static int64_t
round_half_even (int64_t twice)
{
  /* returns round (twice / 2.0) for an integer numerator */
  int64_t q = twice / 2;
  int64_t r = twice % 2;
  if (r == 0)
    return q;
  /* exactly .5 away: pick the even one of q and q ± 1 */
  int64_t other = r > 0 ? q + 1 : q - 1;
  return (q % 2 == 0) ? q : other;
}

/* The crop's first index in the resized image (negative when torchvision pads). */
static int64_t
crop_start (int64_t size, int64_t crop)
{
  if (crop > size)
    return -((crop - size) / 2);
  return round_half_even (size - crop);
}

static GzStatus
check_args (const GzImage *image, const GzPreprocess *pp, GzError *err)
{
  if (image == NULL || pp == NULL || image->pixels == NULL)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "preprocess: no image");
  if (image->width <= 0 || image->height <= 0)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "preprocess: empty image (%d×%d)", image->width,
                         image->height);
  if (image->channels != 1 && image->channels != 3)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "preprocess: image has %d channels (need 1 or 3)",
                         image->channels);
  if ((int64_t) image->stride < (int64_t) image->width * image->channels)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "preprocess: image stride %d is too small",
                         image->stride);
  if (pp->channels != 1 && pp->channels != 3)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "preprocess: %d channels requested (need 1 or 3)",
                         pp->channels);
  if (pp->crop_width <= 0 || pp->crop_height <= 0 || pp->crop_width > GZ_PP_MAX_SIDE
      || pp->crop_height > GZ_PP_MAX_SIDE)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "preprocess: input size %d×%d is out of range",
                         pp->crop_width, pp->crop_height);
  if (pp->mode == GZ_RESIZE_CROP && (pp->resize <= 0 || pp->resize > GZ_PP_MAX_RESIZE))
    return gz_error_set (err, GZ_ERR_ARGUMENT, "preprocess: resize %d is out of range", pp->resize);
  if (pp->mode != GZ_RESIZE_CROP && pp->mode != GZ_RESIZE_STRETCH)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "preprocess: unknown resize mode");
  if (pp->backend != GZ_RESIZE_BACKEND_PIL && pp->backend != GZ_RESIZE_BACKEND_TENSOR)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "preprocess: unknown resize backend");
  if (pp->filter != GZ_RESIZE_BILINEAR && pp->filter != GZ_RESIZE_BICUBIC)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "preprocess: unknown resize filter");
  return GZ_OK;
}

/* ---- The resampler ------------------------------------------------------- */

/* Loads source row y as C float planes (gray from RGB per ITU-R 601-2, rounded
 * to 8 bits as PIL's convert ("L") does; gray replicated for RGB models). */
static void
load_row (const GzImage *image, int y, int channels, float *row)
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
          uint32_t l = (q[0] * 19595u + q[1] * 38470u + q[2] * 7471u + 0x8000u) >> 16;
          row[x] = (float) l;
        }
    }
  else
    {
      for (int x = 0; x < w; x++)
        row[x] = row[(size_t) w + x] = row[(size_t) 2 * w + x] = p[x];
    }
}

GzStatus
gz_preprocess_pixels (const GzImage *image, const GzPreprocess *pp, GzTensor **out,
                      GzGeometry *geometry, GzError *err)
{
  *out = NULL;
  GzStatus st = check_args (image, pp, err);
  if (st != GZ_OK)
    return st;

  const int64_t iw = image->width, ih = image->height;
  const int64_t cw = pp->crop_width, ch = pp->crop_height;
  const int C = pp->channels;

  /* Size of the (virtual) resized image. */
  int64_t rw, rh;
  if (pp->mode == GZ_RESIZE_STRETCH)
    {
      rw = cw;
      rh = ch;
    }
  else
    {
      int64_t shorter = iw <= ih ? iw : ih, longer = iw <= ih ? ih : iw;
      int64_t new_long = (int64_t) ((double) ((int64_t) pp->resize * longer) / (double) shorter);
      if (new_long < 1)
        new_long = 1;
      rw = iw <= ih ? pp->resize : new_long;
      rh = iw <= ih ? new_long : pp->resize;
    }
  int64_t left = crop_start (rw, cw), top = crop_start (rh, ch);

  /* Resized pixels actually inside the crop; the rest of the crop is padding. */
  int64_t x0 = left > 0 ? left : 0, x1 = left + cw < rw ? left + cw : rw;
  int64_t y0 = top > 0 ? top : 0, y1 = top + ch < rh ? top + ch : rh;

  int64_t dims[4] = { 1, C, ch, cw };
  GzTensor *t = gz_tensor_new (GZ_DTYPE_FLOAT, 4, dims, err);
  if (t == NULL)
    return err != NULL ? err->code : GZ_ERR_NOMEM;

  Filter fx = { 0 }, fy = { 0 };
  float *row = NULL, *horiz = NULL;
  if (pp->backend == GZ_RESIZE_BACKEND_PIL)
    {
      st = gz_resize_pil (image, C, pp->filter, rw, rh, x0, x1, y0, y1, gz_tensor_f (t), cw, ch,
                          x0 - left, y0 - top, err);
      goto geometry;
    }
  st = filter_build (pp->filter, iw, rw, x0, x1, &fx, err);
  if (st == GZ_OK)
    st = filter_build (pp->filter, ih, rh, y0, y1, &fy, err);
  if (st != GZ_OK)
    goto done;

  if (fy.n > 0 && fx.n > 0)
    {
      /* Source rows the vertical filter reads. */
      int sy0 = fy.first[0];
      int sy1 = fy.first[fy.n - 1] + fy.count[fy.n - 1];
      size_t nrows = (size_t) (sy1 - sy0);
      row = malloc ((size_t) C * (size_t) iw * sizeof *row);
      horiz = malloc (nrows * (size_t) C * (size_t) fx.n * sizeof *horiz);
      if (row == NULL || horiz == NULL)
        {
          st = gz_error_set (err, GZ_ERR_NOMEM, "out of memory resizing a %lld×%lld image",
                             (long long) iw, (long long) ih);
          goto done;
        }
      /* Horizontal pass: horiz[r][c][x] for the needed rows and columns. */
      for (size_t r = 0; r < nrows; r++)
        {
          load_row (image, sy0 + (int) r, C, row);
          for (int c = 0; c < C; c++)
            {
              const float *src = row + (size_t) c * iw;
              float *dst = horiz + (r * C + c) * (size_t) fx.n;
              for (int x = 0; x < fx.n; x++)
                {
                  const float *w = fx.weight + (size_t) x * fx.taps;
                  const float *s = src + fx.first[x];
                  float acc = 0.0f;
                  for (int k = 0; k < fx.count[x]; k++)
                    acc += w[k] * s[k];
                  dst[x] = acc;
                }
            }
        }
      /* Vertical pass straight into the crop. */
      float *o = gz_tensor_f (t);
      for (int c = 0; c < C; c++)
        for (int y = 0; y < fy.n; y++)
          {
            const float *w = fy.weight + (size_t) y * fy.taps;
            float *dst = o + ((size_t) c * ch + (size_t) (y0 + y - top)) * cw + (x0 - left);
            for (int x = 0; x < fx.n; x++)
              {
                float acc = 0.0f;
                for (int k = 0; k < fy.count[y]; k++)
                  acc += w[k] * horiz[((size_t) (fy.first[y] - sy0 + k) * C + c) * fx.n + x];
                dst[x] = acc;
              }
          }
    }

geometry:
  if (st == GZ_OK && geometry != NULL)
    {
      geometry->image_width = (int) iw;
      geometry->image_height = (int) ih;
      geometry->input_width = (int) cw;
      geometry->input_height = (int) ch;
      geometry->scale_x = (double) iw / (double) rw;
      geometry->scale_y = (double) ih / (double) rh;
      geometry->offset_x = (double) left * geometry->scale_x;
      geometry->offset_y = (double) top * geometry->scale_y;
    }

done:
  free (row);
  free (horiz);
  filter_clear (&fx);
  filter_clear (&fy);
  if (st != GZ_OK)
    {
      gz_tensor_free (t);
      return st;
    }
  *out = t;
  return GZ_OK;
}

GzStatus
gz_preprocess_image (const GzImage *image, const GzPreprocess *pp, GzTensor **out,
                     GzGeometry *geometry, GzError *err)
{
  *out = NULL;
  if (pp != NULL)
    for (int c = 0; c < (pp->channels == 1 ? 1 : 3); c++)
      if (!(fabsf (pp->std[c]) > 0.0f) || !isfinite (pp->std[c]) || !isfinite (pp->mean[c]))
        return gz_error_set (err, GZ_ERR_ARGUMENT,
                             "preprocess: std must be non-zero and mean/std finite");
  if (pp != NULL && (!isfinite (pp->scale) || pp->scale < 0.0f))
    return gz_error_set (err, GZ_ERR_ARGUMENT, "preprocess: scale must be finite and not negative");
  GzTensor *t;
  GzStatus st = gz_preprocess_pixels (image, pp, &t, geometry, err);
  if (st != GZ_OK)
    return st;
  int C = pp->channels;
  size_t plane = (size_t) t->dims[2] * (size_t) t->dims[3];
  float *d = gz_tensor_f (t);
  if (pp->bgr && C == 3)
    for (size_t i = 0; i < plane; i++)
      {
        float r = d[i];
        d[i] = d[2 * plane + i];
        d[2 * plane + i] = r;
      }
  for (int c = 0; c < C; c++)
    {
      /* (x/255 - mean) / std, or (x - mean) * scale / std, as one
       * multiply-add per pixel. */
      float a = 1.0f / (255.0f * pp->std[c]);
      float b = -pp->mean[c] / pp->std[c];
      if (pp->scale > 0.0f)
        {
          a = pp->scale / pp->std[c];
          b = -pp->mean[c] * pp->scale / pp->std[c];
        }
      for (size_t i = 0; i < plane; i++)
        d[c * plane + i] = d[c * plane + i] * a + b;
    }
  *out = t;
  return GZ_OK;
}
