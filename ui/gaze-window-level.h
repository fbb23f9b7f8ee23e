/* gaze-window-level.h — window/level for grayscale DICOM and 16-bit images, like a radiology viewer
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Attached to a GazeWindow: a right-button drag on the image view changes the
 * window (horizontal: width, vertical: level/center, sensitivity scaled to the
 * values' range) and repaints from the stored values (gaze-gray-frame.h) at
 * once; the analysis, whose input changed, re-runs only after the window has
 * rested GAZE_WINDOW_LEVEL_DEBOUNCE_MS (a newer request cancels an older one,
 * and the old heatmap is dropped the moment the image changes, so it never
 * shows over a different image). The current C/W is shown on the image. The
 * sidebar gains presets (the file's windows, the CT presets for modality CT,
 * Reset; action "wl.preset") and, for multi-frame files, a frame slider whose
 * frames are decoded in a worker. Ordinary photos are unaffected.
 */
#pragma once

#include "gaze-image.h"
#include "gaze-window.h"

G_BEGIN_DECLS

#define GAZE_WINDOW_LEVEL_DEBOUNCE_MS 300

/* Called once by the window (init), then whenever it shows a new image. */
void gaze_window_level_attach (GazeWindow *window);
void gaze_window_level_image_shown (GazeWindow *window);

/* The image the window shows (NULL: none). */
GazeImage *gaze_window_level_get_image (GazeWindow *window);
/* Shows the image through window (NULL: the file's own VOI), as a drag step
 * does; FALSE when the image has no gray frame. */
gboolean gaze_window_level_set_window (GazeWindow *window, const GazeIoWindow *voi);
/* How many analyses window/level changes have asked for (after the debounce). */
guint gaze_window_level_get_analysis_count (GazeWindow *window);

G_END_DECLS
