/* gaze-findings.h — every positive finding of a multi-label model explained at once, in the sidebar
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Attached to a GazeWindow (issue 14): for a multi-label model, an "Explain
 * All Findings" button under the predictions computes, in one worker, the map
 * of every finding at or above the model's threshold with the main view's
 * method, layer and SmoothGrad, and shows them as small overlays, each
 * labelled with its finding and probability; clicking one explains that class
 * in the main view. A newer request, a new image or model, another method or
 * layer, or closing the window cancels the work and clears the maps. Exports
 * hold the main view only.
 */
#pragma once

#include "gaze-engine.h"
#include "gaze-window.h"

G_BEGIN_DECLS

/* Called once by the window (init). */
void gaze_findings_attach (GazeWindow *window);
/* The predictions were shown again: the button follows them. */
void gaze_findings_predictions_shown (GazeWindow *window);
/* The main view asks for an analysis: maps of another method or layer go. */
void gaze_findings_analysis_requested (GazeWindow *window);
/* The image or model changed: the maps go, the work in flight is cancelled. */
void gaze_findings_clear (GazeWindow *window);

/* The window closes (dispose): the work in flight is of no use any more. */
void gaze_findings_cancel (GazeWindow *window);

/* State, for tests: whether the maps are being computed; how many are shown,
 * and the explanation behind each (in the order of the predictions). */
gboolean gaze_findings_is_busy (GazeWindow *window);
guint gaze_findings_get_n_maps (GazeWindow *window);
const GzExplanation *gaze_findings_get_explanation (GazeWindow *window, guint index);

G_END_DECLS
