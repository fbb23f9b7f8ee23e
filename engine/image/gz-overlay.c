/* gz-overlay.c — blending a coloured map over the photo
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>

#include "gaze-engine.h"

/* "No data" pixels: darkened, with diagonal hatching every HATCH_PERIOD
 * pixels so the part of the photo the model never saw is obvious. */
#define NODATA_KEEP 0.4f
#define HATCH_PERIOD 8
#define HATCH_WIDTH 2
#define HATCH_GRAY 110.0f

static uint8_t
to_u8 (float v)
{
  if (v <= 0.0f)
    return 0;
  if (v >= 255.0f)
    return 255;
  return (uint8_t) (v + 0.5f);
}

void
gz_overlay_compose (uint8_t *rgb, int width, int height, int stride, const GzTensor *map,
                    GzColormap cmap, float alpha, float threshold)
{
  if (rgb == NULL || map == NULL || map->dtype != GZ_DTYPE_FLOAT || map->data == NULL
      || map->ndim < 2 || width <= 0 || height <= 0 || stride < width * 3)
    return;
  /* The map must be one plane of exactly the image's size. */
  for (int i = 0; i < map->ndim - 2; i++)
    if (map->dims[i] != 1)
      return;
  if (map->dims[map->ndim - 2] != height || map->dims[map->ndim - 1] != width)
    return;
  if (!(alpha >= 0.0f))
    alpha = 0.0f;
  if (alpha > 1.0f)
    alpha = 1.0f;

  const float *m = gz_tensor_f (map);
  for (int y = 0; y < height; y++)
    {
      uint8_t *p = rgb + (size_t) y * stride;
      for (int x = 0; x < width; x++, p += 3)
        {
          float v = m[(size_t) y * width + x];
          if (isnan (v))
            {
              bool line = (x + y) % HATCH_PERIOD < HATCH_WIDTH;
              for (int c = 0; c < 3; c++)
                p[c] = to_u8 (line ? (1.0f - NODATA_KEEP) * HATCH_GRAY + NODATA_KEEP * p[c]
                                   : NODATA_KEEP * p[c]);
              continue;
            }
          if (!(v >= threshold))
            continue;
          uint8_t col[3];
          gz_colormap_lookup (cmap, v, col);
          for (int c = 0; c < 3; c++)
            p[c] = to_u8 ((1.0f - alpha) * p[c] + alpha * col[c]);
        }
    }
}
