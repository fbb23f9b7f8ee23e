/* gaze-io-atomic.h — write a user's output file without ever leaving half of it
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Writes the file at tmp (which exists, empty). */
typedef gboolean (*GazeIoWriteFunc) (const char *tmp, gpointer data, GError **error);

/* Calls write on a private temporary file beside path, then renames it over
 * path (mode 0644): a reader never sees half a file and a failure leaves the
 * old file as it was. Refuses when path is input_path (the analysed image:
 * never written over, also through another name) or exists and is not a
 * regular file (a FIFO, a device). input_path may be NULL. */
gboolean gaze_io_write_atomically (const char *path, const char *input_path, GazeIoWriteFunc write,
                                   gpointer data, GError **error);

G_END_DECLS
