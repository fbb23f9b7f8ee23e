/* gaze-image-view.h — a zoomable, pannable image with a heatmap overlay
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "gaze-io-scale-bar.h"
#include "gaze-types.h"

G_BEGIN_DECLS

#define GAZE_TYPE_IMAGE_VIEW (gaze_image_view_get_type ())
G_DECLARE_FINAL_TYPE (GazeImageView, gaze_image_view, GAZE, IMAGE_VIEW, GtkWidget)

void gaze_image_view_set_texture (GazeImageView *self, GdkTexture *texture);
GdkTexture *gaze_image_view_get_texture (GazeImageView *self);
/* Smaller copies of the texture (levels[0] is the texture itself, then halved
 * copies), drawn instead of it when zoomed out. */
void gaze_image_view_set_levels (GazeImageView *self, GPtrArray *levels);

/* The coloured heatmap, RGBA at the image's size or smaller (it is stretched
 * over the image; transparent where nothing is
 * drawn), and the image rectangle the model saw; outside it the view hatches
 * the image as "not analysed". overlay NULL removes the heatmap. */
void gaze_image_view_set_overlay (GazeImageView *self, GdkTexture *overlay,
                                  const graphene_rect_t *analysed);
GdkTexture *gaze_image_view_get_overlay (GazeImageView *self);

/* Line segments (x0, y0, x1, y1 floats, image pixels) drawn over the heatmap;
 * NULL for none. The view keeps a reference. */
void gaze_image_view_set_contour (GazeImageView *self, GArray *segments);

void gaze_image_view_set_opacity (GazeImageView *self, double opacity);
double gaze_image_view_get_opacity (GazeImageView *self);
/* The texture's horizontal pixel spacing in mm (DICOM Pixel Spacing); > 0
 * draws a scale bar in the bottom left corner of the visible image, 0 none. */
void gaze_image_view_set_mm_per_pixel (GazeImageView *self, double mm_per_pixel);
/* The scale bar as drawn now; FALSE when none is. */
gboolean gaze_image_view_get_scale_bar (GazeImageView *self, GazeIoScaleBar *bar);
void gaze_image_view_set_show_overlay (GazeImageView *self, gboolean show);
gboolean gaze_image_view_get_show_overlay (GazeImageView *self);

/* Zoom: the scale from image pixels to logical view pixels. "fit" keeps the
 * whole image visible whatever the view's size. */
double gaze_image_view_get_zoom (GazeImageView *self);
void gaze_image_view_set_zoom (GazeImageView *self, double zoom);
gboolean gaze_image_view_get_fit (GazeImageView *self);
void gaze_image_view_set_fit (GazeImageView *self, gboolean fit);
void gaze_image_view_zoom_in (GazeImageView *self);
void gaze_image_view_zoom_out (GazeImageView *self);
/* Moves the view by (dx, dy) logical pixels. */
void gaze_image_view_pan (GazeImageView *self, double dx, double dy);

/* The whole viewport, to keep two views of the same image in step (see the
 * "viewport-changed" signal). */
void gaze_image_view_get_viewport (GazeImageView *self, gboolean *fit, double *zoom,
                                   double *center_x, double *center_y);
void gaze_image_view_set_viewport (GazeImageView *self, gboolean fit, double zoom, double center_x,
                                   double center_y);

G_END_DECLS
