/* gaze-io-scale-bar.h — a millimetre scale bar from a DICOM pixel spacing, on screen and in exports
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One rule for choosing the bar and one way of drawing it (cairo + Pango, no
 * GTK), so the viewer and the exported picture show the same bar. Lengths are
 * "round" (1, 2 or 5 × 10^k mm) and shown as "5 mm", "2 cm" or "10 cm".
 */
#pragma once

#include <cairo.h>
#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  double mm; /* the length the bar stands for */
  double length; /* its length in output units */
  char label[32]; /* "5 mm", "2 cm", … */
} GazeIoScaleBar;

/* The longest round length whose bar is at most max_length output units,
 * given mm_per_unit millimetres per output unit (the pixel spacing divided by
 * the drawing scale). FALSE when there is no spacing (mm_per_unit <= 0 or not
 * finite) or not even 0.1 mm fits. */
gboolean gaze_io_scale_bar_choose (double mm_per_unit, double max_length, GazeIoScaleBar *bar);

/* Draws the bar with its label above it, its left end at (x, y_bottom) where
 * y_bottom is the lowest point drawn; `unit` (≥ 1) sizes the line and the
 * font. White on a dark outline: readable over any image. */
void gaze_io_scale_bar_draw (cairo_t *cr, const GazeIoScaleBar *bar, double x, double y_bottom,
                             double unit);

G_END_DECLS
