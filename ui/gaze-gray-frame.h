/* gaze-gray-frame.h — a grayscale DICOM or 16-bit frame kept as values, for re-windowing
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The viewer keeps the decoded modality values (e.g. Hounsfield units) of a
 * grayscale DICOM frame or a 16-bit PNG/TIFF with the image, so changing the
 * window (window/level, presets) is a pass over stored floats, never a
 * re-decode. A frame is immutable once loaded and may be shared with worker
 * threads by reference. Only non-identifying metadata is kept (see
 * gaze-io-dicom.h).
 */
#pragma once

#include <gio/gio.h>

#include "gaze-io-dicom.h"
#include "gaze-io-image.h"

G_BEGIN_DECLS

typedef struct _GazeGrayFrame GazeGrayFrame;

#define GAZE_TYPE_GRAY_FRAME (gaze_gray_frame_get_type ())
GType gaze_gray_frame_get_type (void) G_GNUC_CONST;

/* Whether path is a file this type reads (DICOM, 16-bit grayscale PNG/TIFF). */
gboolean gaze_gray_frame_is_candidate (const char *path);

/* Loads frame (< 0: the middle one) of a DICOM file, or a 16-bit grayscale
 * PNG/TIFF (frame ignored). Errors are gaze-io's (GAZE_IO_ERROR). A colour
 * DICOM file loads too; gaze_gray_frame_is_gray tells it apart. */
GazeGrayFrame *gaze_gray_frame_load (const char *path, int frame, GError **error);
/* The same in a worker thread (the values are decoded there). */
void gaze_gray_frame_load_async (const char *path, int frame, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
GazeGrayFrame *gaze_gray_frame_load_finish (GAsyncResult *result, GError **error);

GazeGrayFrame *gaze_gray_frame_ref (GazeGrayFrame *self);
void gaze_gray_frame_unref (GazeGrayFrame *self);

/* The decoded frame: values, size, metadata, default window, presets. */
const GazeIoDicom *gaze_gray_frame_get_dicom (GazeGrayFrame *self);
const char *gaze_gray_frame_get_path (GazeGrayFrame *self);
gboolean gaze_gray_frame_is_gray (GazeGrayFrame *self);
/* Modality CT: the CT presets apply. */
gboolean gaze_gray_frame_is_ct (GazeGrayFrame *self);
/* The window the file shows itself through (its first preset, else min..max). */
GazeIoWindow gaze_gray_frame_get_default_window (GazeGrayFrame *self);

/* The frame through window (NULL: the file's own VOI: its VOI LUT, first
 * window or min..max) as an RGB8 image (gray replicated, is_gray set). */
GazeIoImage *gaze_gray_frame_render (GazeGrayFrame *self, const GazeIoWindow *window);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GazeGrayFrame, gaze_gray_frame_unref)

G_END_DECLS
