/* gaze-io-dicom-isolate.h — the DICOM decoder run in a child process
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gaze-io-dicom.h"

G_BEGIN_DECLS

typedef GazeIoDicom *(*GazeIoDicomDecodeFunc) (gpointer data, GError **error);

/* Runs decode(data) in a forked child and returns what it decoded, or its
 * error. Debian's GDCM is built with assertions on and aborts on some
 * malformed files that no walk before it can foresee all of (fuzz-dicom finds
 * new ones by the minute); in a child, an abort or a crash is one clear error
 * naming `what` and the signal, and the program goes on. */
GazeIoDicom *gaze_io_dicom_isolate (GazeIoDicomDecodeFunc decode, gpointer data, const char *what,
                                    GError **error);

/* How long a child may sleep without using the CPU before it counts as
 * deadlocked (default 10 s); for tests. */
void gaze_io_dicom_isolate_set_stall_seconds (int seconds);

G_END_DECLS
