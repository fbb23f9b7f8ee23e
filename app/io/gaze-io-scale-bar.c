/* gaze-io-scale-bar.c — a millimetre scale bar from a DICOM pixel spacing, on screen and in exports
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <math.h>
#include <pango/pangocairo.h>
#include <stdio.h>

#include "gaze-io-scale-bar.h"

static void
format_length (double mm, char *out, size_t size)
{
  /* Centimetres from 1 cm up, as rulers read; below that millimetres. */
  if (mm >= 10)
    snprintf (out, size, "%g cm", mm / 10);
  else
    snprintf (out, size, "%g mm", mm);
}

gboolean
gaze_io_scale_bar_choose (double mm_per_unit, double max_length, GazeIoScaleBar *bar)
{
  static const double steps[] = { 5, 2, 1 };
  double decade;

  g_return_val_if_fail (bar != NULL, FALSE);

  if (!(mm_per_unit > 0) || !isfinite (mm_per_unit) || !(max_length > 0))
    return FALSE;
  /* From the decade that holds the longest possible bar, downwards. */
  decade = pow (10, floor (log10 (max_length * mm_per_unit)));
  for (; decade >= 0.1 - 1e-9; decade /= 10)
    for (size_t i = 0; i < G_N_ELEMENTS (steps); i++)
      {
        /* Rounded to a decimal so that 0.1 × 5 prints as 0.5, not 0.5000001. */
        double mm = round (steps[i] * decade * 10) / 10;

        if (mm > 0 && mm / mm_per_unit <= max_length * (1 + 1e-9))
          {
            bar->mm = mm;
            bar->length = mm / mm_per_unit;
            format_length (mm, bar->label, sizeof bar->label);
            return TRUE;
          }
      }
  return FALSE;
}

void
gaze_io_scale_bar_draw (cairo_t *cr, const GazeIoScaleBar *bar, double x, double y_bottom,
                        double unit)
{
  PangoLayout *layout;
  PangoFontDescription *font;
  double line = MAX (2.0, round (2 * unit)), tick = 4 * line;
  double y_line;
  int tw, th;

  g_return_if_fail (cr != NULL && bar != NULL);

  /* On whole pixels: a crisp line at the sizes a screen shows. */
  x = round (x);
  y_line = round (y_bottom - line / 2);

  cairo_save (cr);
  /* The bar with end ticks: a dark outline drawn first, then white on it. */
  for (int pass = 0; pass < 2; pass++)
    {
      cairo_new_path (cr);
      cairo_move_to (cr, x, y_line - tick);
      cairo_line_to (cr, x, y_line);
      cairo_line_to (cr, x + bar->length, y_line);
      cairo_line_to (cr, x + bar->length, y_line - tick);
      cairo_set_line_cap (cr, CAIRO_LINE_CAP_SQUARE);
      cairo_set_line_join (cr, CAIRO_LINE_JOIN_MITER);
      if (pass == 0)
        {
          cairo_set_source_rgba (cr, 0, 0, 0, 0.75);
          cairo_set_line_width (cr, line + 2 * unit);
        }
      else
        {
          cairo_set_source_rgb (cr, 1, 1, 1);
          cairo_set_line_width (cr, line);
        }
      cairo_stroke (cr);
    }

  /* The label above the bar, outlined the same way. */
  layout = pango_cairo_create_layout (cr);
  font = pango_font_description_from_string ("Sans Bold");
  pango_font_description_set_absolute_size (font, MAX (9.0, 11 * unit) * PANGO_SCALE);
  pango_layout_set_font_description (layout, font);
  pango_font_description_free (font);
  pango_layout_set_text (layout, bar->label, -1);
  pango_layout_get_pixel_size (layout, &tw, &th);
  cairo_move_to (cr, x + line, y_line - line - th - unit);
  pango_cairo_layout_path (cr, layout);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.75);
  cairo_set_line_width (cr, 2 * unit + 1);
  cairo_stroke_preserve (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_fill (cr);
  g_object_unref (layout);
  cairo_restore (cr);
}
