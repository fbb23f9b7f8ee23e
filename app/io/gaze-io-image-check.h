/* gaze-io-image-check.h — what the reference decoders say about a JPEG or PNG file
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GdkPixbuf's JPEG and PNG loaders silence libjpeg's and libpng's warnings:
 * half a JPEG decodes with its lower part grey ("Premature end of JPEG
 * file"), a PNG chunk with a bad CRC is dropped, and the load "succeeds".
 * gaze_io_image_check_damage decodes the file once more with libjpeg or libpng
 * (scanline by scanline, nothing kept) and returns every warning and error
 * they reported, in their own words.
 *
 *   g_auto (GStrv) problems = gaze_io_image_check_damage (data, len, "jpeg");
 *   if (problems != NULL) … the image is damaged …
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* format: GdkPixbuf's format name ("jpeg", "png"); other formats are not
 * checked (NULL). Returns NULL when the decoder reported nothing, else a
 * NULL-terminated array of messages (g_strfreev). */
GStrv gaze_io_image_check_damage (const guint8 *data, gsize len, const char *format);

G_END_DECLS
