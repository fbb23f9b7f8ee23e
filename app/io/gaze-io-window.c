/* gaze-io-window.c — DICOM VOI (window/level) functions, PS3.3 C.11.2.1.2
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gaze-io-window.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

int
gaze_io_voi_function_parse (const char *name, GazeIoVoiFunction *out)
{
  static const struct
  {
    const char *name;
    GazeIoVoiFunction function;
  } names[] = {
    { "LINEAR_EXACT", GAZE_IO_VOI_LINEAR_EXACT },
    { "LINEAR", GAZE_IO_VOI_LINEAR },
    { "SIGMOID", GAZE_IO_VOI_SIGMOID },
  };
  if (name == NULL)
    return 0;
  while (*name == ' ')
    name++;
  size_t len = strlen (name);
  while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\0'))
    len--;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    {
      size_t k = strlen (names[i].name);
      if (k != len)
        continue;
      size_t j = 0;
      while (j < k && toupper ((unsigned char) name[j]) == names[i].name[j])
        j++;
      if (j == k)
        {
          *out = names[i].function;
          return 1;
        }
    }
  return 0;
}

const char *
gaze_io_voi_function_name (GazeIoVoiFunction function)
{
  switch (function)
    {
      case GAZE_IO_VOI_LINEAR_EXACT:
        return "LINEAR_EXACT";
      case GAZE_IO_VOI_SIGMOID:
        return "SIGMOID";
      case GAZE_IO_VOI_LINEAR:
      default:
        return "LINEAR";
    }
}

int
gaze_io_window_valid (const GazeIoWindow *window)
{
  if (!isfinite (window->center) || !isfinite (window->width))
    return 0;
  if (window->function == GAZE_IO_VOI_LINEAR)
    return window->width >= 1.0;
  return window->width > 0.0;
}

GazeIoWindow
gaze_io_window_from_range (double min, double max)
{
  GazeIoWindow w = { (min + max) / 2.0, max - min, GAZE_IO_VOI_LINEAR_EXACT };
  if (!(w.width > 0.0))
    w.width = 1.0;
  return w;
}

double
gaze_io_window_apply1 (const GazeIoWindow *window, double x)
{
  const double c = window->center, w = window->width;
  switch (window->function)
    {
      case GAZE_IO_VOI_LINEAR_EXACT:
        if (x <= c - w / 2.0)
          return 0.0;
        if (x > c + w / 2.0)
          return 1.0;
        return (x - c) / w + 0.5;
      case GAZE_IO_VOI_SIGMOID:
        return 1.0 / (1.0 + exp (-4.0 * (x - c) / w));
      case GAZE_IO_VOI_LINEAR:
      default:
        if (x <= c - 0.5 - (w - 1.0) / 2.0)
          return 0.0;
        if (x > c - 0.5 + (w - 1.0) / 2.0)
          return 1.0;
        return (x - (c - 0.5)) / (w - 1.0) + 0.5;
    }
}

void
gaze_io_window_apply (const GazeIoWindow *window, int invert, const float *values, size_t n,
                      float *out)
{
  for (size_t i = 0; i < n; i++)
    {
      double y = gaze_io_window_apply1 (window, values[i]);
      out[i] = (float) (invert ? 1.0 - y : y);
    }
}

void
gaze_io_window_apply_u8 (const GazeIoWindow *window, int invert, const float *values, size_t n,
                         uint8_t *out)
{
  for (size_t i = 0; i < n; i++)
    {
      double y = gaze_io_window_apply1 (window, values[i]);
      if (invert)
        y = 1.0 - y;
      out[i] = (uint8_t) lrint (y * 255.0);
    }
}

void
gaze_io_voi_lut_apply_u8 (const GazeIoVoiLut *lut, int invert, const float *values, size_t n,
                          uint8_t *out)
{
  int bits = lut->bits < 1 ? 1 : lut->bits > 16 ? 16 : lut->bits;
  double scale = 1.0 / (double) ((1u << bits) - 1u);
  for (size_t i = 0; i < n; i++)
    {
      double idx = floor ((double) values[i]) - lut->first;
      size_t k = idx <= 0 ? 0 : idx >= (double) lut->n_entries ? lut->n_entries - 1 : (size_t) idx;
      double y = lut->entries[k] * scale;
      if (y > 1.0)
        y = 1.0;
      if (invert)
        y = 1.0 - y;
      out[i] = (uint8_t) lrint (y * 255.0);
    }
}

void
gaze_io_window_range (const float *values, size_t n, double *min, double *max)
{
  float lo = values[0], hi = values[0];
  for (size_t i = 1; i < n; i++)
    {
      if (values[i] < lo)
        lo = values[i];
      if (values[i] > hi)
        hi = values[i];
    }
  *min = lo;
  *max = hi;
}
