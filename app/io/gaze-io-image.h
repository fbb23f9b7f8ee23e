/* gaze-io-image.h — decoding image files into the engine's RGB8 GzImage
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Any format GdkPixbuf reads. The result is EXIF-oriented, alpha composited
 * onto black, RGB8 (gray files stay 3 equal channels and are flagged, so gray
 * models see exactly the original values). Oversized images are refused from
 * their header, before any pixel is decoded.
 *
 * Damaged files (cut short, a bad CRC, corrupt JPEG data: whatever GdkPixbuf
 * or, for JPEG and PNG, libjpeg and libpng report while decoding; see
 * gaze-io-image-check.h) are refused with GAZE_IO_ERROR_DAMAGED, unless
 * GAZE_IO_IMAGE_LOAD_ALLOW_DAMAGED is given: the image then comes back with what
 * was wrong in its warnings.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>

#include "gaze-engine.h"

G_BEGIN_DECLS

#define GAZE_IO_ERROR (gaze_io_error_quark ())
GQuark gaze_io_error_quark (void);

typedef enum
{
  GAZE_IO_ERROR_NOT_IMAGE, /* not an image, or a format GdkPixbuf cannot read */
  GAZE_IO_ERROR_TOO_LARGE, /* more pixels than allowed */
  GAZE_IO_ERROR_CORRUPT, /* an image format, but decoding failed */
  GAZE_IO_ERROR_INVALID, /* a malformed sidecar, labels file or argument */
  GAZE_IO_ERROR_DAMAGED, /* decodable, but damaged (GAZE_IO_IMAGE_LOAD_ALLOW_DAMAGED loads it) */
} GazeIoError;

typedef enum
{
  GAZE_IO_IMAGE_LOAD_DEFAULT = 0,
  GAZE_IO_IMAGE_LOAD_ALLOW_DAMAGED = 1 << 0, /* load what decodes, with warnings */
} GazeIoImageLoadFlags;

typedef struct
{
  GzImage image; /* view of pixels: RGB8, channels 3 */
  guint8 *pixels; /* owned */
  gboolean is_gray; /* every pixel has R = G = B */
  gboolean had_alpha; /* the file had transparency (composited onto black) */
  char *format; /* GdkPixbuf format name, e.g. "jpeg" */
  char **warnings; /* NULL, or why the image is damaged (only when allowed) */
} GazeIoImage;

/* max_pixels <= 0: the engine's default limit (100 Mpixel). */
GazeIoImage *gaze_io_image_load (const char *path, gint64 max_pixels, GError **error);
GazeIoImage *gaze_io_image_load_bytes (GBytes *bytes, gint64 max_pixels, GError **error);
/* The same with flags (the two above use GAZE_IO_IMAGE_LOAD_DEFAULT). */
GazeIoImage *gaze_io_image_load_full (const char *path, gint64 max_pixels,
                                      GazeIoImageLoadFlags flags, GError **error);
GazeIoImage *gaze_io_image_load_bytes_full (GBytes *bytes, gint64 max_pixels,
                                            GazeIoImageLoadFlags flags, GError **error);
/* Copies an already decoded pixbuf (orientation is applied here too). */
GazeIoImage *gaze_io_image_from_pixbuf (GdkPixbuf *pixbuf, GError **error);
void gaze_io_image_free (GazeIoImage *image);

/* issue 14: DICOM. Whether path is a DICOM file ("DICM" at byte 128, or a .dcm
 * file without preamble); gaze_io_image_load* hand those to gaze-io-dicom.h. */
gboolean gaze_io_image_is_dicom (const char *path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GazeIoImage, gaze_io_image_free)

G_END_DECLS
