/* gaze-analysis.c — one explanation job (preprocess, forward, explain, project) run in a worker
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-analysis"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "gaze-analysis.h"
#include "gaze-task.h"
#include "gaze-model.h"

typedef struct
{
  GazeAnalysisRequest *request;
  gint progress_permille; /* atomic; -1 until the engine reports */
} Job;

GazeAnalysisRequest *
gaze_analysis_request_new (GazeModel *model, GazeImage *image)
{
  GazeAnalysisRequest *request = g_new0 (GazeAnalysisRequest, 1);

  request->model = g_object_ref (model);
  request->image = gaze_image_ref (image);
  request->preprocess = *gaze_model_get_preprocess (model);
  request->method = GZ_METHOD_GRADCAM;
  request->class_index = -1;
  request->top_k = 5;
  request->smooth_sigma = 0.15f;
  return request;
}

gboolean
gaze_analysis_method_smooths (GzMethod method)
{
  /* The methods that run their own forwards refuse SmoothGrad (gz_explain). */
  return method != GZ_METHOD_SCORECAM && method != GZ_METHOD_ABLATIONCAM
      && method != GZ_METHOD_INTEGRATED_GRADIENTS && method != GZ_METHOD_OCCLUSION;
}

void
gaze_analysis_request_free (GazeAnalysisRequest *request)
{
  if (request == NULL)
    return;
  g_clear_object (&request->model);
  g_clear_pointer (&request->image, gaze_image_unref);
  g_clear_pointer (&request->session, gz_session_free);
  g_clear_pointer (&request->layer, g_free);
  g_free (request);
}

void
gaze_analysis_result_free (GazeAnalysisResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer (&result->session, gz_session_free);
  g_clear_pointer (&result->explanation, gz_explanation_free);
  g_clear_pointer (&result->projected, gz_tensor_free);
  g_clear_pointer (&result->predictions, g_array_unref);
  g_free (result);
}

static void
job_free (Job *job)
{
  gaze_analysis_request_free (job->request);
  g_free (job);
}

typedef struct
{
  GCancellable *cancellable;
  volatile gint *progress_permille;
} ProgressData;

static bool
progress_cb (double fraction, void *user_data)
{
  ProgressData *data = user_data;

  if (data->progress_permille != NULL)
    g_atomic_int_set (data->progress_permille, (gint) CLAMP (fraction * 1000, 0, 1000));
  return !g_cancellable_is_cancelled (data->cancellable);
}

static GArray *
top_predictions (const GzTensor *logits, GzOutputKind kind, int top_k, double threshold)
{
  /* The first batch row; a single output is a sigmoid score. The logits are
   * pre-activation; the model's output kind makes the probabilities (each
   * finding its own sigmoid for a multi-label head). */
  int64_t k = logits->dims[logits->ndim - 1];
  int want = (int) MIN (top_k, k);
  g_autofree GzClassScore *best = g_new (GzClassScore, MAX (want, 1));
  int got = gz_logits_top_k (gz_tensor_f (logits), k, want, kind, best);
  /* Multi-label: every positive finding is listed, beyond top_k if need be. */
  if (kind == GZ_OUTPUT_SIGMOID && k > 1 && got == want && want < k
      && best[got - 1].probability >= threshold)
    {
      g_free (best);
      want = (int) MIN (k, G_MAXINT / 2);
      best = g_new (GzClassScore, want);
      got = gz_logits_top_k (gz_tensor_f (logits), k, want, kind, best);
      while (got > top_k && best[got - 1].probability < threshold)
        got--;
    }
  GArray *out = g_array_sized_new (FALSE, FALSE, sizeof (GazePrediction), got);

  for (int n = 0; n < got; n++)
    g_array_append_val (out,
                        ((GazePrediction){ (int) best[n].index, (float) best[n].probability }));
  return out;
}

GazeAnalysisResult *
gaze_analysis_run (GazeAnalysisRequest *request, GCancellable *cancellable,
                   volatile gint *progress_permille, GError **error)
{
  g_autoptr (GazeAnalysisResult) result = g_new0 (GazeAnalysisResult, 1);
  const GzModel *model = gaze_model_get_engine_model (request->model);
  GzExplainOptions options = GZ_EXPLAIN_OPTIONS_INIT;
  ProgressData progress = { cancellable, progress_permille };
  GzError err = { 0 };
  const GzTensor *logits;

  if (request->session != NULL)
    {
      result->session = g_steal_pointer (&request->session);
      result->geometry = request->geometry;
    }
  else
    {
      GzTensor *input = NULL;
      GzImage image;
      gboolean ok;

      gaze_image_get_gz_image (request->image, &image);
      if (gz_preprocess_image (&image, &request->preprocess, &input, &result->geometry, &err)
          != GZ_OK)
        {
          gaze_propagate_engine_error (error, &err, _ ("Cannot prepare the image for the model"));
          return NULL;
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          gz_tensor_free (input);
          return NULL;
        }
      ok = gz_session_new (model, &result->session, &err) == GZ_OK
          && gz_session_forward (
                 result->session, input,
                 request->layer != NULL ? request->layer : gz_model_default_layer (model), &err)
              == GZ_OK;
      gz_tensor_free (input);
      if (!ok)
        {
          gaze_propagate_engine_error (error, &err, _ ("The model failed on this image"));
          return NULL;
        }
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  logits = gz_session_output (result->session);
  if (logits == NULL || logits->ndim < 1)
    {
      g_set_error_literal (error, GAZE_ERROR, GAZE_ERROR_ENGINE,
                           _ ("The model produced no output"));
      return NULL;
    }
  result->predictions
      = top_predictions (logits, gz_model_output_kind (model), MAX (request->top_k, 1),
                         gaze_model_get_threshold (request->model));

  options.method = request->method;
  options.class_index = request->class_index;
  options.layer = request->layer;
  if (gaze_analysis_method_smooths (request->method))
    {
      options.smooth_samples = request->smooth_samples;
      options.smooth_sigma = request->smooth_sigma;
    }
  options.progress = progress_cb;
  options.progress_data = &progress;
  if (gz_explain (result->session, &options, &result->explanation, &err) != GZ_OK)
    {
      gaze_propagate_engine_error (error, &err, NULL);
      return NULL;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  result->projected = gz_map_project (result->explanation->map, &result->geometry, &err);
  if (result->projected == NULL)
    {
      gaze_propagate_engine_error (error, &err, NULL);
      return NULL;
    }
  return g_steal_pointer (&result);
}

static void
run_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  gaze_task_begin (task);
  Job *job = task_data;
  GError *error = NULL;
  GazeAnalysisResult *result;

  result = gaze_analysis_run (job->request, cancellable, &job->progress_permille, &error);
  gaze_task_end (task);
  if (result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, (GDestroyNotify) gaze_analysis_result_free);
}

GTask *
gaze_analysis_run_async (GazeAnalysisRequest *request, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  Job *job;

  g_return_val_if_fail (request != NULL, NULL);

  job = g_new0 (Job, 1);
  job->request = request;
  job->progress_permille = -1;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, gaze_analysis_run_async);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  gaze_task_run_in_thread (task, run_thread);
  return task;
}

GazeAnalysisResult *
gaze_analysis_run_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gaze_analysis_run_async, NULL);

  gaze_task_finish (result);
  return g_task_propagate_pointer (G_TASK (result), error);
}

double
gaze_analysis_get_progress (GTask *task)
{
  Job *job;
  gint permille;

  g_return_val_if_fail (G_IS_TASK (task), -1);

  job = g_task_get_task_data (task);
  permille = g_atomic_int_get (&job->progress_permille);
  return permille < 0 ? -1 : permille / 1000.0;
}

GdkTexture *
gaze_analysis_colorize (const GzTensor *projected, GzColormap colormap, float threshold)
{
  g_autoptr (GBytes) bytes = NULL;
  int h, w, oh, ow, step = 1;
  const float *m;
  guint8 lut[256][3];
  guint8 *rgba;

  g_return_val_if_fail (projected != NULL && projected->ndim == 2, NULL);

  h = (int) projected->dims[0];
  w = (int) projected->dims[1];
  m = gz_tensor_f (projected);
  /* The map is smooth (upsampled from a few feature cells): past 1024 pixels a
   * coarser overlay, stretched over the image, looks the same and draws fast. */
  while (MAX (w, h) / step > 1024)
    step++;
  ow = (w + step - 1) / step;
  oh = (h + step - 1) / step;
  for (int i = 0; i < 256; i++)
    gz_colormap_lookup (colormap, i / 255.0f, lut[i]);

  rgba = g_malloc ((gsize) ow * oh * 4);
  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++)
      {
        /* The centre of each step×step block. */
        int sy = MIN (y * step + step / 2, h - 1), sx = MIN (x * step + step / 2, w - 1);
        float v = m[(gsize) sy * w + sx];
        guint8 *p = rgba + ((gsize) y * ow + x) * 4;

        if (isnan (v) || v < threshold)
          {
            p[0] = p[1] = p[2] = p[3] = 0;
            continue;
          }
        v = CLAMP (v, 0.0f, 1.0f);
        memcpy (p, lut[(int) lrintf (v * 255)], 3);
        p[3] = 255;
      }
  bytes = g_bytes_new_take (rgba, (gsize) ow * oh * 4);
  return gdk_memory_texture_new (ow, oh, GDK_MEMORY_R8G8B8A8, bytes, (gsize) ow * 4);
}

void
gaze_analysis_get_analysed_rect (const GzGeometry *geometry, graphene_rect_t *rect)
{
  double x0 = MAX (0, geometry->offset_x);
  double y0 = MAX (0, geometry->offset_y);
  double x1
      = MIN (geometry->image_width, geometry->offset_x + geometry->input_width * geometry->scale_x);
  double y1 = MIN (geometry->image_height,
                   geometry->offset_y + geometry->input_height * geometry->scale_y);

  graphene_rect_init (rect, x0, y0, MAX (0, x1 - x0), MAX (0, y1 - y0));
}

/* Marching squares over the cells between pixel centres. */
GArray *
gaze_analysis_contour (const GzTensor *map, const GzGeometry *geometry, float threshold)
{
  GArray *segments = g_array_new (FALSE, FALSE, sizeof (float) * 4);
  int h, w;
  const float *m;

  g_return_val_if_fail (map != NULL && map->ndim == 2, segments);

  h = (int) map->dims[0];
  w = (int) map->dims[1];
  m = gz_tensor_f (map);
  for (int i = 0; i + 1 < h; i++)
    for (int j = 0; j + 1 < w; j++)
      {
        /* Corners clockwise from top-left; edges: 0 top, 1 right, 2 bottom, 3 left. */
        float v[4] = { m[i * w + j], m[i * w + j + 1], m[(i + 1) * w + j + 1], m[(i + 1) * w + j] };
        static const int corner_x[4] = { 0, 1, 1, 0 }, corner_y[4] = { 0, 0, 1, 1 };
        /* For each case, pairs of crossed edges (-1 ends). Saddles take one reading. */
        static const int table[16][4] = {
          { -1, -1, -1, -1 }, { 3, 0, -1, -1 }, { 0, 1, -1, -1 }, { 3, 1, -1, -1 },
          { 1, 2, -1, -1 },   { 3, 0, 1, 2 },   { 0, 2, -1, -1 }, { 3, 2, -1, -1 },
          { 2, 3, -1, -1 },   { 2, 0, -1, -1 }, { 0, 1, 2, 3 },   { 2, 1, -1, -1 },
          { 1, 3, -1, -1 },   { 1, 0, -1, -1 }, { 0, 3, -1, -1 }, { -1, -1, -1, -1 },
        };
        int code = 0;
        float pts[4][2];

        if (isnan (v[0]) || isnan (v[1]) || isnan (v[2]) || isnan (v[3]))
          continue;
        for (int c = 0; c < 4; c++)
          code |= (v[c] >= threshold) << c;
        if (code == 0 || code == 15)
          continue;
        for (int e = 0; e < 4; e++)
          {
            int a = e, b = (e + 1) % 4;
            float t = v[a] != v[b] ? (threshold - v[a]) / (v[b] - v[a]) : 0.5f;
            float x = j + 0.5f + corner_x[a] + t * (corner_x[b] - corner_x[a]);
            float y = i + 0.5f + corner_y[a] + t * (corner_y[b] - corner_y[a]);

            pts[e][0] = (float) (x * geometry->scale_x + geometry->offset_x);
            pts[e][1] = (float) (y * geometry->scale_y + geometry->offset_y);
          }
        for (int k = 0; k < 4 && table[code][k] >= 0; k += 2)
          {
            float seg[4] = { pts[table[code][k]][0], pts[table[code][k]][1],
                             pts[table[code][k + 1]][0], pts[table[code][k + 1]][1] };
            g_array_append_vals (segments, seg, 1);
          }
      }
  return segments;
}
