/* gaze-window.h — the main window
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "gaze-engine.h"
#include "gaze-types.h"

G_BEGIN_DECLS

#define GAZE_TYPE_WINDOW (gaze_window_get_type ())
G_DECLARE_FINAL_TYPE (GazeWindow, gaze_window, GAZE, WINDOW, AdwApplicationWindow)

GazeWindow *gaze_window_new (GazeApplication *application);

/* Opens images and models; the kind of each file is decided by its content
 * type. With several images the first is shown (the others are reachable
 * through folder browsing only when in the same folder). */
void gaze_window_open_files (GazeWindow *self, GFile **files, int n_files);

/* Writes the annotated image (PNG, PDF or SVG by the name's extension) in a
 * worker; a toast reports the outcome. */
void gaze_window_export_file (GazeWindow *self, GFile *file);
/* The raw map (layer resolution, before ReLU and normalisation) as .npy; a
 * .npy name given to gaze_window_export_file gets the normalised map. */
void gaze_window_export_raw_map (GazeWindow *self, GFile *file);

/* Reads a labels file (one label per line) in a worker and applies it to the
 * current model; the model panel's Save writes it to MODEL.json. The
 * "Choose Labels File…" button ends here. */
void gaze_window_open_labels (GazeWindow *self, GFile *file);

/* Loads the model used last time, if the preferences say so and no model is
 * loaded or loading. */
void gaze_window_reopen_last_model (GazeWindow *self);

/* Whether the empty state ("drop an image and a model") is showing. */
gboolean gaze_window_is_empty (GazeWindow *self);
/* Whether a load or an explanation is running. */
gboolean gaze_window_is_busy (GazeWindow *self);
GazeImageView *gaze_window_get_image_view (GazeWindow *self);
void gaze_window_show_toast (GazeWindow *self, const char *message);

/* State, for tests and for the export: what is shown now. */
const char *gaze_window_get_last_message (GazeWindow *self);
/* The damaged-image banner's text while it is shown, else NULL; *can_analyse
 * (may be NULL) tells whether it offers "Analyse Anyway". */
const char *gaze_window_get_damaged_message (GazeWindow *self, gboolean *can_analyse);
/* Whether the preprocessing hint is shown (issue 19): a 1000-class model
 * without MODEL.json whose top class is under 1 %. */
gboolean gaze_window_get_preprocess_hint (GazeWindow *self);
GazeModel *gaze_window_get_model (GazeWindow *self);
GFile *gaze_window_get_image_file (GazeWindow *self);
const GzExplanation *gaze_window_get_explanation (GazeWindow *self);
/* Compare mode (action win.compare): the right-hand view and what it shows. */
GazeImageView *gaze_window_get_compare_view (GazeWindow *self);
const GzExplanation *gaze_window_get_compare_explanation (GazeWindow *self);
/* The class at `rank` (0: most likely) of the shown predictions, or -1. */
int gaze_window_get_prediction (GazeWindow *self, int rank);

G_END_DECLS
