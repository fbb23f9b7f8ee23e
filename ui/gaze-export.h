/* gaze-export.h — the annotated image at full resolution: PNG, PDF, SVG, clipboard
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "gaze-engine.h"
#include "gaze-image.h"
#include "gaze-io-report.h"

G_BEGIN_DECLS

typedef enum
{
  GAZE_EXPORT_PNG,
  GAZE_EXPORT_PDF,
  GAZE_EXPORT_SVG,
  /* issue 15: the numbers behind the picture, as NumPy float32 arrays. */
  GAZE_EXPORT_NPY_MAP, /* [H,W] at model input resolution, ReLU'd, normalised to [0,1] */
  GAZE_EXPORT_NPY_RAW, /* [h,w] at layer resolution, before ReLU and normalisation */
} GazeExportFormat;

/* Everything the picture shows; owns its copies, so a worker may use it while
 * the window moves on. */
typedef struct
{
  GazeImage *image;
  GzTensor *projected; /* [H,W], NaN where the model saw nothing */
  GzTensor *map, *raw; /* GzExplanation's, for the .npy formats */
  GzGeometry geometry;
  GzColormap colormap;
  double opacity;
  float threshold;
  char *image_name;
  char *model_name;
  char *class_label;
  float probability;
  GzMethod method;
  int smooth_samples;
  char *layer;
  float raw_min, raw_max;
  GDateTime *time;
  /* issue 15: the report options (gaze-io-report.h). */
  char *disclaimer; /* NULL: the default; "": none */
  GazeIoPage page; /* PDF page */
  double dpi; /* PDF; 0: the default */
} GazeExport;

GazeExport *gaze_export_new (void);
void gaze_export_free (GazeExport *export);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GazeExport, gaze_export_free)

/* From the file name's extension (.png, .pdf, .svg; .npy: the normalised
 * map); FALSE if none of them. */
gboolean gaze_export_format_from_name (const char *name, GazeExportFormat *format);

/* Size of the whole picture: the image plus the caption band below it. */
void gaze_export_get_size (const GazeExport *export, int *width, int *height);
/* Draws the picture at (0,0), one unit per image pixel. */
void gaze_export_draw (const GazeExport *export, cairo_t *cr);

/* Writes atomically (a temporary file beside it, then rename); refuses to
 * write over the exported image itself. */
gboolean gaze_export_write (const GazeExport *export, GFile *file, GazeExportFormat format,
                            GError **error);
void gaze_export_write_async (GazeExport *export, GFile *file, GazeExportFormat format,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data);
gboolean gaze_export_write_finish (GAsyncResult *result, GError **error);

/* The caption's text, lines joined by "\n" (gaze_io_report_caption): what
 * a PNG export's Description and a PDF's Subject carry. */
char *gaze_export_get_caption (const GazeExport *export);

GdkTexture *gaze_export_to_texture (const GazeExport *export);

/* A horizontal colour bar of the colormap, 0 at the left. */
void gaze_export_draw_colorbar (cairo_t *cr, GzColormap colormap, double x, double y, double width,
                                double height);

G_END_DECLS
