/* gz-map.c — resampling explanation maps and projecting them onto the image
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <stdlib.h>

#include "gaze-engine.h"

#define GZ_MAP_MAX_SIDE 65536

/* torch's bilinear source index (align_corners=False): half-pixel centres,
 * clamped at 0 on the left; the right neighbour clamps to the last pixel. */
typedef struct
{
  int i0, i1;
  float l1; /* weight of i1; i0 gets 1 - l1 */
} Tap;

static Tap *
taps_new (int in_size, int out_size)
{
  Tap *t = malloc ((size_t) out_size * sizeof *t);
  if (t == NULL)
    return NULL;
  float scale = (float) in_size / (float) out_size;
  for (int o = 0; o < out_size; o++)
    {
      float src = scale * ((float) o + 0.5f) - 0.5f;
      if (src < 0.0f)
        src = 0.0f;
      int i0 = (int) src;
      if (i0 > in_size - 1)
        i0 = in_size - 1;
      t[o].i0 = i0;
      t[o].i1 = i0 < in_size - 1 ? i0 + 1 : i0;
      float l = src - (float) i0;
      t[o].l1 = l < 0.0f ? 0.0f : (l > 1.0f ? 1.0f : l);
    }
  return t;
}

GzTensor *
gz_map_resize (const GzTensor *map, int width, int height, GzError *err)
{
  if (map == NULL || map->dtype != GZ_DTYPE_FLOAT || map->ndim < 2 || map->data == NULL)
    {
      gz_error_set (err, GZ_ERR_ARGUMENT, "map resize: need a float tensor of rank 2 or more");
      return NULL;
    }
  if (width <= 0 || height <= 0 || width > GZ_MAP_MAX_SIDE || height > GZ_MAP_MAX_SIDE)
    {
      gz_error_set (err, GZ_ERR_ARGUMENT, "map resize: target size %d×%d is out of range", width,
                    height);
      return NULL;
    }
  int nd = map->ndim;
  int64_t ih = map->dims[nd - 2], iw = map->dims[nd - 1];
  if (ih <= 0 || iw <= 0 || ih > GZ_MAP_MAX_SIDE || iw > GZ_MAP_MAX_SIDE)
    {
      gz_error_set (err, GZ_ERR_ARGUMENT, "map resize: source map is empty or too large");
      return NULL;
    }
  int64_t planes = 1;
  for (int i = 0; i < nd - 2; i++)
    {
      if (map->dims[i] < 0 || (map->dims[i] > 0 && planes > INT64_MAX / map->dims[i]))
        {
          gz_error_set (err, GZ_ERR_LIMIT, "map resize: shape overflows");
          return NULL;
        }
      planes *= map->dims[i];
    }
  int64_t dims[GZ_MAX_DIMS];
  for (int i = 0; i < nd - 2; i++)
    dims[i] = map->dims[i];
  dims[nd - 2] = height;
  dims[nd - 1] = width;
  GzTensor *out = gz_tensor_new (GZ_DTYPE_FLOAT, nd, dims, err);
  if (out == NULL)
    return NULL;
  Tap *tx = taps_new ((int) iw, width), *ty = taps_new ((int) ih, height);
  if (tx == NULL || ty == NULL)
    {
      free (tx);
      free (ty);
      gz_tensor_free (out);
      gz_error_set (err, GZ_ERR_NOMEM, "out of memory resizing a map");
      return NULL;
    }
  const float *src = gz_tensor_f (map);
  float *dst = gz_tensor_f (out);
  for (int64_t p = 0; p < planes; p++)
    {
      const float *s = src + (size_t) p * (size_t) (ih * iw);
      float *d = dst + (size_t) p * (size_t) width * (size_t) height;
      for (int y = 0; y < height; y++)
        {
          const float *r0 = s + (size_t) ty[y].i0 * (size_t) iw;
          const float *r1 = s + (size_t) ty[y].i1 * (size_t) iw;
          float ly = ty[y].l1;
          for (int x = 0; x < width; x++)
            {
              float lx = tx[x].l1;
              float top = (1.0f - lx) * r0[tx[x].i0] + lx * r0[tx[x].i1];
              float bot = (1.0f - lx) * r1[tx[x].i0] + lx * r1[tx[x].i1];
              d[(size_t) y * width + x] = (1.0f - ly) * top + ly * bot;
            }
        }
    }
  free (tx);
  free (ty);
  return out;
}

/* Bilinear sample of an h×w map at continuous coordinates (u, v) in map
 * pixels, pixel edges at integers (so centres at k + 0.5). */
static float
sample (const float *m, int w, int h, double u, double v)
{
  double sx = u - 0.5, sy = v - 0.5;
  if (sx < 0.0)
    sx = 0.0;
  if (sy < 0.0)
    sy = 0.0;
  if (sx > w - 1)
    sx = w - 1;
  if (sy > h - 1)
    sy = h - 1;
  int x0 = (int) sx, y0 = (int) sy;
  int x1 = x0 < w - 1 ? x0 + 1 : x0, y1 = y0 < h - 1 ? y0 + 1 : y0;
  float lx = (float) (sx - x0), ly = (float) (sy - y0);
  float top = (1.0f - lx) * m[(size_t) y0 * w + x0] + lx * m[(size_t) y0 * w + x1];
  float bot = (1.0f - lx) * m[(size_t) y1 * w + x0] + lx * m[(size_t) y1 * w + x1];
  return (1.0f - ly) * top + ly * bot;
}

GzTensor *
gz_map_project (const GzTensor *map, const GzGeometry *g, GzError *err)
{
  if (map == NULL || g == NULL || map->dtype != GZ_DTYPE_FLOAT || map->ndim < 2
      || map->data == NULL)
    {
      gz_error_set (err, GZ_ERR_ARGUMENT, "map projection: need a float map and a geometry");
      return NULL;
    }
  int nd = map->ndim;
  int64_t mh = map->dims[nd - 2], mw = map->dims[nd - 1];
  for (int i = 0; i < nd - 2; i++)
    if (map->dims[i] != 1)
      {
        gz_error_set (err, GZ_ERR_SHAPE, "map projection: the map must be a single [H,W] plane");
        return NULL;
      }
  if (mh <= 0 || mw <= 0 || mh > GZ_MAP_MAX_SIDE || mw > GZ_MAP_MAX_SIDE)
    {
      gz_error_set (err, GZ_ERR_SHAPE, "map projection: the map is empty or too large");
      return NULL;
    }
  if (g->image_width <= 0 || g->image_height <= 0 || g->input_width <= 0 || g->input_height <= 0
      || !(g->scale_x > 0.0) || !(g->scale_y > 0.0) || !isfinite (g->offset_x)
      || !isfinite (g->offset_y))
    {
      gz_error_set (err, GZ_ERR_ARGUMENT, "map projection: invalid geometry");
      return NULL;
    }
  int64_t dims[2] = { g->image_height, g->image_width };
  GzTensor *out = gz_tensor_new (GZ_DTYPE_FLOAT, 2, dims, err);
  if (out == NULL)
    return NULL;
  const float *m = gz_tensor_f (map);
  float *d = gz_tensor_f (out);
  /* The map may be at any resolution covering the input rectangle. */
  double mx = (double) mw / g->input_width, my = (double) mh / g->input_height;
  for (int y = 0; y < g->image_height; y++)
    {
      double v = ((y + 0.5) - g->offset_y) / g->scale_y; /* input pixels */
      bool row_in = v >= 0.0 && v < g->input_height;
      for (int x = 0; x < g->image_width; x++)
        {
          double u = ((x + 0.5) - g->offset_x) / g->scale_x;
          float *o = d + (size_t) y * g->image_width + x;
          if (!row_in || u < 0.0 || u >= g->input_width)
            *o = NAN;
          else
            *o = sample (m, (int) mw, (int) mh, u * mx, v * my);
        }
    }
  return out;
}
