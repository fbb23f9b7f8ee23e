/* gaze-analysis.h — one explanation job (preprocess, forward, explain, project) run in a worker
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "gaze-engine.h"
#include "gaze-image.h"
#include "gaze-types.h"

G_BEGIN_DECLS

/* What to compute. The job holds references, never the caller's mutable state. */
typedef struct
{
  GazeModel *model;
  GazeImage *image;
  GzPreprocess preprocess; /* copied from the model when the request is made */
  /* A session that already ran the forward pass of this image on this model:
   * the job takes it over (a class change then costs one backward pass).
   * NULL: the job preprocesses and runs the forward itself. */
  GzSession *session;
  GzGeometry geometry; /* valid with session */
  GzMethod method;
  int class_index; /* -1: top-1 */
  char *layer; /* NULL: automatic */
  int top_k;
  /* SmoothGrad: copies (0: off) and noise. Methods that run their own
   * forwards (Score-CAM, Ablation-CAM) are never smoothed: the request
   * drops it for them, and the explanation says what was applied. */
  int smooth_samples;
  float smooth_sigma;
} GazeAnalysisRequest;

typedef struct
{
  int class_index;
  float probability;
} GazePrediction;

typedef struct
{
  GzSession *session; /* hand it to the next request for the same image */
  GzGeometry geometry;
  GzExplanation *explanation;
  GzTensor *projected; /* [H,W] at the image's size; NaN where the model saw nothing */
  GArray *predictions; /* GazePrediction, most likely first, top_k of them */
} GazeAnalysisResult;

GazeAnalysisRequest *gaze_analysis_request_new (GazeModel *model, GazeImage *image);
void gaze_analysis_request_free (GazeAnalysisRequest *request);
/* Whether SmoothGrad applies to the method (not to the forward-only ones). */
gboolean gaze_analysis_method_smooths (GzMethod method);
void gaze_analysis_result_free (GazeAnalysisResult *result);

/* Runs the request (which it takes over) in a thread. progress (0..1, or -1
 * before the first report) can be polled with gaze_analysis_get_progress on
 * the GTask while it runs. */
GTask *gaze_analysis_run_async (GazeAnalysisRequest *request, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
GazeAnalysisResult *gaze_analysis_run_finish (GAsyncResult *result, GError **error);
double gaze_analysis_get_progress (GTask *task);

/* The same work, blocking. */
GazeAnalysisResult *gaze_analysis_run (GazeAnalysisRequest *request, GCancellable *cancellable,
                                       volatile gint *progress_permille, GError **error);

/* RGBA8 colour overlay of a projected map: transparent below threshold and
 * where the map is NaN (the view hatches that part). */
GdkTexture *gaze_analysis_colorize (const GzTensor *projected, GzColormap colormap,
                                    float threshold);
/* Iso-line of a map at model input resolution ([H,W], e.g. explanation->map)
 * at `threshold`, as line segments (x0, y0, x1, y1 floats) in image pixels. */
GArray *gaze_analysis_contour (const GzTensor *map, const GzGeometry *geometry, float threshold);

/* The part of the image the model saw, in image pixels. */
void gaze_analysis_get_analysed_rect (const GzGeometry *geometry, graphene_rect_t *rect);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GazeAnalysisRequest, gaze_analysis_request_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GazeAnalysisResult, gaze_analysis_result_free)

G_END_DECLS
