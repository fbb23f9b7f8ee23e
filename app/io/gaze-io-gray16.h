/* gaze-io-gray16.h — 16-bit grayscale PNG and TIFF (libpng, libtiff)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GdkPixbuf reduces 16-bit samples to 8 bits, so a radiograph saved as a
 * 16-bit PNG that uses 5 % of its range comes out black. These files are read
 * here instead, with libpng and libtiff directly, into the same windowable
 * frame as DICOM (GazeIoDicom, gaze-io-dicom.h): the stored values as floats,
 * no Modality LUT and no VOI LUT, default window = the range the data uses
 * (min..max, LINEAR_EXACT), so any window (--window C,W) is a lookup.
 *
 * Handled: PNG grayscale (colour type 0) with 16-bit samples (interlaced or
 * not); TIFF with one sample per pixel of 8 or 16 bits (unsigned or signed),
 * MINISBLACK or MINISWHITE (shown inverted), in strips or tiles, uncompressed,
 * LZW, Deflate or PackBits. Any other TIFF reaching gaze_io_gray16_load* is a
 * clear error naming what it has. gaze_io_gray16_sniff picks only 16-bit
 * grayscale files: 8-bit and colour PNG/TIFF keep GdkPixbuf's path.
 */
#pragma once

#include <glib.h>

#include "gaze-io-dicom.h"

G_BEGIN_DECLS

/* Whether the bytes are a 16-bit grayscale PNG or TIFF. For a TIFF the first
 * directory is parsed, so len should be the whole file. */
gboolean gaze_io_gray16_sniff (const guint8 *data, gsize len);
/* The same for a regular file (anything else: FALSE, without blocking). */
gboolean gaze_io_gray16_is_file (const char *path);

/* max_pixels <= 0: the engine's default limit. Errors are GAZE_IO_ERROR:
 * NOT_IMAGE (neither PNG nor TIFF), TOO_LARGE, CORRUPT (unsupported layout or
 * compression, named; a decoding error), DAMAGED (the file is cut short).
 * meta.photometric is "MONOCHROME2" or "MONOCHROME1"; meta.transfer_syntax_name
 * says "PNG" or "TIFF (<compression>)"; the other metadata strings are NULL. */
GazeIoDicom *gaze_io_gray16_load (const char *path, gint64 max_pixels, GError **error);
GazeIoDicom *gaze_io_gray16_load_bytes (const guint8 *data, gsize len, gint64 max_pixels,
                                        GError **error);

/* The file seen through window (NULL: min..max) as an RGB8 image, format
 * "png16" or "tiff16". */
GazeIoImage *gaze_io_gray16_load_image (const char *path, const GazeIoWindow *window,
                                        gint64 max_pixels, GError **error);

G_END_DECLS
