/* gaze-io-report.h — the annotated image with its caption band, for the app's
 * export and `gaze-cli explain --caption` alike (cairo + Pango, no GTK)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One renderer, so that the command line and the app never disagree: the
 * image, the map over it, the hatching where the model saw nothing, and a
 * caption band that never drops the class probability or the date (lines
 * wrap, a long layer name is shortened in the middle first, fonts stay at
 * least GAZE_IO_REPORT_MIN_FONT output units high and the band grows).
 */
#pragma once

#include <cairo.h>
#include <glib.h>
#include <pango/pangocairo.h>

#include "gaze-engine.h"

G_BEGIN_DECLS

typedef enum
{
  GAZE_IO_REPORT_PNG,
  GAZE_IO_REPORT_PDF,
  GAZE_IO_REPORT_SVG,
} GazeIoReportFormat;

/* The PDF page: the picture's own size at `dpi`, or the picture fitted into
 * an A4 or US Letter page with 0.5 inch margins. */
typedef enum
{
  GAZE_IO_PAGE_IMAGE,
  GAZE_IO_PAGE_A4,
  GAZE_IO_PAGE_LETTER,
} GazeIoPage;

/* The smallest caption font, in output units (pixels; points in a PDF). */
#define GAZE_IO_REPORT_MIN_FONT 11.0

/* Everything the picture shows. Borrowed: the caller keeps it all alive while
 * the report is drawn or written. */
typedef struct
{
  GzImage image; /* RGB8 */
  const GzTensor *projected; /* [H,W] on the image, NaN where the model saw nothing; or NULL */
  GzGeometry geometry;
  GzColormap colormap;
  double opacity;
  float threshold;
  const char *image_name;
  const char *model_name;
  const char *class_label;
  float probability;
  GzMethod method;
  int smooth_samples; /* SmoothGrad copies averaged (GzExplanation's); 0: none */
  const char *layer;
  float raw_min, raw_max; /* GzExplanation's: of the map before the ReLU */
  double mm_per_pixel; /* the image's horizontal pixel spacing; > 0: a scale bar is drawn */
  GDateTime *time; /* NULL: no date */
  const char *disclaimer; /* NULL: the default (translated); "": none */
  GazeIoPage page; /* PDF only */
  double dpi; /* PDF only: points = pixels × 72 / dpi; a fitted page embeds at most dpi */
} GazeIoReport;

/* Opacity 0.5, jet, page IMAGE at 150 dpi, the default disclaimer. */
void gaze_io_report_init (GazeIoReport *report);

/* The untranslated default disclaimer. */
const char *gaze_io_report_default_disclaimer (void);
/* "Grad-CAM", "Guided Backpropagation", … (translated). */
const char *gaze_io_report_method_label (GzMethod method);
/* The method as shown: its label, with "+ SmoothGrad (N copies)" when the
 * map was averaged over noisy copies. Free with g_free. */
char *gaze_io_report_method_text (GzMethod method, int smooth_samples);
/* From a file name's extension (.png, .pdf, .svg); FALSE if none of them. */
gboolean gaze_io_report_format_from_name (const char *name, GazeIoReportFormat *format);
/* "image", "a4", "letter". */
gboolean gaze_io_report_page_from_name (const char *name, GazeIoPage *page);

/* Now, or SOURCE_DATE_EPOCH when set (reproducible reports; tests). */
GDateTime *gaze_io_report_now (void);

/* What the colour bar's ends stand for. The maps are ReLU'd before they are
 * normalised: when the raw map had values below 0 (raw_min < 0), the dark end
 * is every score ≤ 0 and *low is "≤ 0"; otherwise it is raw_min. *high is
 * max(raw_max, 0). Either pointer may be NULL. */
void gaze_io_report_range_labels (float raw_min, float raw_max, char **low, char **high,
                                  gboolean *clipped);

/* Whether hatching is drawn: part of the image lies outside the model's view. */
gboolean gaze_io_report_has_hatch (const GazeIoReport *report);

/* The caption's lines, unshortened (title; method, class and probability;
 * layer and date; colour bar; hatching legend if drawn; disclaimer if any). */
GStrv gaze_io_report_caption_lines (const GazeIoReport *report);
/* The same joined with "\n": what the PNG's Description and the PDF's
 * Subject carry. */
char *gaze_io_report_caption (const GazeIoReport *report);

/* The caption laid out for a picture `width` units wide on `cr`: one
 * PangoLayout per caption line (wrapped, never ellipsized), in
 * gaze_io_report_caption_lines order; *height (optional) is the band's
 * height. For tests and for drawing. */
GPtrArray *gaze_io_report_layout_caption (const GazeIoReport *report, cairo_t *cr, double width,
                                          double *height);

/* The picture drawn `width` units wide at (0,0): the image scaled to that
 * width, the caption band below. *height (optional) is the whole height. */
void gaze_io_report_draw (const GazeIoReport *report, cairo_t *cr, double width, double *height);
/* Size of a PNG or SVG: the image's width, the image plus the band high. */
void gaze_io_report_get_size (const GazeIoReport *report, int *width, int *height);

/* Writes atomically (a temporary file beside `path`, then rename). Refuses to
 * write over `input_path` (the analysed image; may be NULL) and over anything
 * but a regular file. */
gboolean gaze_io_report_write (const GazeIoReport *report, const char *path,
                               GazeIoReportFormat format, const char *input_path, GError **error);

/* A horizontal colour bar of the colormap, 0 at the left. */
void gaze_io_report_draw_colorbar (cairo_t *cr, GzColormap colormap, double x, double y,
                                   double width, double height);

G_END_DECLS
