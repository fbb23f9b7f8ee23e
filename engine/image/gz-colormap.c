/* gz-colormap.c — value in [0,1] to RGB8 through 256-entry tables
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <math.h>
#include <string.h>

#include "gaze-engine.h"
#include "gz-colormap-data.h"

static const char *const names[GZ_COLORMAP_COUNT] = {
  [GZ_COLORMAP_JET] = "jet",         [GZ_COLORMAP_TURBO] = "turbo",
  [GZ_COLORMAP_VIRIDIS] = "viridis", [GZ_COLORMAP_INFERNO] = "inferno",
  [GZ_COLORMAP_GRAY] = "gray",
};

const char *
gz_colormap_name (GzColormap cmap)
{
  if ((int) cmap < 0 || cmap >= GZ_COLORMAP_COUNT)
    return NULL;
  return names[cmap];
}

bool
gz_colormap_from_name (const char *name, GzColormap *cmap)
{
  if (name == NULL)
    return false;
  for (int i = 0; i < GZ_COLORMAP_COUNT; i++)
    if (strcmp (name, names[i]) == 0)
      {
        if (cmap != NULL)
          *cmap = (GzColormap) i;
        return true;
      }
  if (strcmp (name, "grey") == 0)
    {
      if (cmap != NULL)
        *cmap = GZ_COLORMAP_GRAY;
      return true;
    }
  return false;
}

void
gz_colormap_lookup (GzColormap cmap, float value, uint8_t rgb[3])
{
  /* matplotlib's indexing: floor (value * N), clipped to the table. */
  int i = 0;
  if (value >= 1.0f)
    i = 255;
  else if (value > 0.0f) /* also false for NaN */
    i = (int) (value * 256.0f);
  if (i > 255)
    i = 255;
  const uint8_t *e;
  switch (cmap)
    {
      case GZ_COLORMAP_JET:
        e = gz_cmap_jet[i];
        break;
      case GZ_COLORMAP_TURBO:
        e = gz_cmap_turbo[i];
        break;
      case GZ_COLORMAP_VIRIDIS:
        e = gz_cmap_viridis[i];
        break;
      case GZ_COLORMAP_INFERNO:
        e = gz_cmap_inferno[i];
        break;
      case GZ_COLORMAP_GRAY:
      default:
        rgb[0] = rgb[1] = rgb[2] = (uint8_t) i;
        return;
    }
  rgb[0] = e[0];
  rgb[1] = e[1];
  rgb[2] = e[2];
}
