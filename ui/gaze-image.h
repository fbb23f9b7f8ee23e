/* gaze-image.h — a decoded image: RGB8 pixels for the engine and a texture for the screen
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "gaze-engine.h"
#include "gaze-gray-frame.h"

G_BEGIN_DECLS

/* Immutable once made, so it may be shared with worker threads by reference. */
typedef struct _GazeImage GazeImage;

#define GAZE_TYPE_IMAGE (gaze_image_get_type ())
GType gaze_image_get_type (void) G_GNUC_CONST;

/* From a pixbuf: EXIF orientation applied, alpha composited onto black. */
GazeImage *gaze_image_new_for_pixbuf (GdkPixbuf *pixbuf, GFile *file);
GazeImage *gaze_image_new_for_texture (GdkTexture *texture, GFile *file);
/* A damaged file fails with GAZE_ERROR_DAMAGED_IMAGE unless allow_damaged;
 * then gaze_image_get_warnings says what is wrong with it. */
GazeImage *gaze_image_load (GFile *file, gboolean allow_damaged, GCancellable *cancellable,
                            GError **error);
void gaze_image_load_async (GFile *file, gboolean allow_damaged, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data);
GazeImage *gaze_image_load_finish (GAsyncResult *result, GError **error);
/* The file a gaze_image_load_async result was loading (to retry it). */
GFile *gaze_image_load_get_file (GAsyncResult *result);

/* issue 14: a grayscale DICOM / 16-bit frame seen through window (NULL: the
 * file's own VOI); the image keeps the frame for re-windowing. */
GazeImage *gaze_image_new_for_gray_frame (GazeGrayFrame *frame, const GazeIoWindow *window,
                                          GFile *file);

GazeImage *gaze_image_ref (GazeImage *self);
void gaze_image_unref (GazeImage *self);

/* NULL for pasted images. */
GFile *gaze_image_get_file (GazeImage *self);
GdkTexture *gaze_image_get_texture (GazeImage *self);
/* NULL for a sound image; else why it is damaged (loaded with allow_damaged). */
const char *const *gaze_image_get_warnings (GazeImage *self);
/* The texture, then copies halved until at most 512 pixels wide and high. */
GPtrArray *gaze_image_get_levels (GazeImage *self);
/* Points into the image; valid while it lives. */
void gaze_image_get_gz_image (GazeImage *self, GzImage *out);
int gaze_image_get_width (GazeImage *self);
int gaze_image_get_height (GazeImage *self);

/* The stored values of a grayscale DICOM / 16-bit image, or NULL. */
GazeGrayFrame *gaze_image_get_gray_frame (GazeImage *self);
/* Millimetres per image pixel across (a DICOM file's Pixel Spacing, else its
 * Imager Pixel Spacing); 0 when the image has none. */
double gaze_image_get_mm_per_pixel (GazeImage *self);
/* FALSE without a gray frame; else the window shown (*custom FALSE: the
 * file's default, which a VOI LUT Sequence may replace). */
gboolean gaze_image_get_window (GazeImage *self, GazeIoWindow *window, gboolean *custom);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GazeImage, gaze_image_unref)

G_END_DECLS
