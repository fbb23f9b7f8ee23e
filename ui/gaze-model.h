/* gaze-model.h — a loaded classifier: the engine model plus its labels and preprocessing
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "gaze-engine.h"
#include "gaze-types.h"

G_BEGIN_DECLS

#define GAZE_TYPE_MODEL (gaze_model_get_type ())
G_DECLARE_FINAL_TYPE (GazeModel, gaze_model, GAZE, MODEL, GObject)

/* Loads in a worker thread: the ONNX graph, then labels and preprocessing
 * from the sidecar files next to it. Errors are in GAZE_ERROR. */
void gaze_model_load_async (GFile *file, GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data);
GazeModel *gaze_model_load_finish (GAsyncResult *result, GError **error);
/* The same, blocking (for tests and the worker). */
GazeModel *gaze_model_load (GFile *file, GCancellable *cancellable, GError **error);

GFile *gaze_model_get_file (GazeModel *self);
/* The model file's name without ".onnx". */
const char *gaze_model_get_name (GazeModel *self);
/* Immutable after load: safe to read from any thread. */
const GzModel *gaze_model_get_engine_model (GazeModel *self);
const GzPreprocess *gaze_model_get_preprocess (GazeModel *self);
/* Output head (issue 14): a sigmoid head over several classes (each finding
 * its own probability), and the probability at which a finding is positive
 * (MODEL.json "threshold", default 0.5). Immutable after load. */
gboolean gaze_model_is_multilabel (GazeModel *self);
double gaze_model_get_threshold (GazeModel *self);
/* Number of classes (the output's last dimension). */
int gaze_model_get_n_classes (GazeModel *self);
/* The label of class `index`: from the labels file, or "class N". */
const char *gaze_model_get_label (GazeModel *self, int index);
gboolean gaze_model_has_labels (GazeModel *self);
/* Main thread only once shown. Replaces the labels (NULL: class numbers); path is the
 * labels file they came from, written to MODEL.json on save. */
void gaze_model_set_labels (GazeModel *self, const char *const *labels, const char *path);
/* How many labels the source held (0: none), the labels file (NULL when none
 * or inline), and whether they came inline from MODEL.json. */
int gaze_model_get_n_labels (GazeModel *self);
const char *gaze_model_get_labels_path (GazeModel *self);

/* Main thread only: requests copy the preprocessing when they are made, so a
 * running job never sees it change. */
void gaze_model_set_preprocess (GazeModel *self, const GzPreprocess *preprocess);
/* MODEL.json beside the model: its path, and writing the current preprocessing
 * (and labels file) to it. */
char *gaze_model_get_sidecar_path (GazeModel *self);
gboolean gaze_model_save_sidecar (GazeModel *self, GError **error);

#define GAZE_ERROR (gaze_error_quark ())
GQuark gaze_error_quark (void);

typedef enum
{
  GAZE_ERROR_ENGINE, /* the engine refused; the message says why */
  GAZE_ERROR_NOT_IMAGE,
  GAZE_ERROR_NOT_MODEL,
  GAZE_ERROR_DAMAGED_IMAGE, /* decodable but damaged: analysed only when asked */
} GazeError;

/* Turns an engine error into a GError in GAZE_ERROR (or G_IO_ERROR_CANCELLED). */
void gaze_propagate_engine_error (GError **error, const GzError *err, const char *context);

G_END_DECLS
