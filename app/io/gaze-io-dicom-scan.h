/* gaze-io-dicom-scan.h — a bounds-checked walk over a DICOM file before GDCM
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Debian's GDCM is built with assertions: a value length past the end of the
 * file, a cut-short header, a wrong VR on Rows or Pixel Data, a palette LUT of
 * the wrong size abort the process, and deep sequence nesting overflows the
 * stack. This walk (pure C, reads only the bytes given) refuses those first.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Maximum sequence nesting accepted. */
#define GAZE_IO_DICOM_MAX_DEPTH 32

/* TRUE when GDCM may read the bytes; else a GAZE_IO_ERROR naming what is
 * wrong (CORRUPT; DAMAGED when only the pixel data is cut short). */
gboolean gaze_io_dicom_scan (const guint8 *data, gsize len, const char *what, GError **error);

G_END_DECLS
