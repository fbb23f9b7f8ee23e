/* test-stress.c — 8 threads, each with its own session on one shared model,
 * explaining different classes with different methods at once; every result
 * must be bitwise identical to the same request run alone on one thread.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The engine promises (gaze-engine.h) that a loaded model may be shared
 * between threads while each session belongs to one thread. Run on the demo
 * model (data/demo) and, when ../shared is present, on MobileNetV2. The TSan
 * pass (.ci/tsan) runs this test too: its races would show there, its wrong
 * answers here.
 */
#include <glib.h>
#include <string.h>

#include "gaze-engine.h"
#include "gaze-io-image.h"

#define N_THREADS 8

typedef struct
{
  GzMethod method;
  int class_index;
} Request;

typedef struct
{
  GzTensor *raw, *map;
  float logit, probability;
  char layer[256];
} Result;

typedef struct
{
  const GzModel *model;
  const GzTensor *input;
  Request request;
  int rounds;
  /* All threads start together: each waits until every session exists. */
  gint *ready;
  Result results[4];
  char error[512];
} Job;

static void
result_clear (Result *r)
{
  gz_tensor_free (r->raw);
  gz_tensor_free (r->map);
  memset (r, 0, sizeof *r);
}

/* One request on a session: forward, explain, keep copies of the maps. */
static gboolean
run_request (GzSession *s, const GzTensor *input, const Request *rq, Result *out, char *error,
             size_t error_len)
{
  GzError err = { 0 };
  GzExplanation *ex = NULL;
  GzExplainOptions opt = GZ_EXPLAIN_OPTIONS_INIT;
  opt.method = rq->method;
  opt.class_index = rq->class_index;
  if (gz_session_forward (s, input, NULL, &err) != GZ_OK
      || gz_explain (s, &opt, &ex, &err) != GZ_OK)
    {
      g_snprintf (error, error_len, "%s class %d: %s", gz_method_name (rq->method), rq->class_index,
                  err.message);
      return FALSE;
    }
  out->raw = gz_tensor_copy (ex->raw, NULL);
  out->map = gz_tensor_copy (ex->map, NULL);
  out->logit = ex->logit;
  out->probability = ex->probability;
  g_strlcpy (out->layer, ex->layer, sizeof out->layer);
  gz_explanation_free (ex);
  return out->raw != NULL && out->map != NULL;
}

static gpointer
worker (gpointer data)
{
  Job *job = data;
  GzSession *s = NULL;
  GzError err = { 0 };
  if (gz_session_new (job->model, &s, &err) != GZ_OK)
    {
      g_snprintf (job->error, sizeof job->error, "session: %s", err.message);
      g_atomic_int_inc (job->ready);
      return NULL;
    }
  g_atomic_int_inc (job->ready);
  while (g_atomic_int_get (job->ready) < N_THREADS)
    g_thread_yield ();
  for (int r = 0; r < job->rounds; r++)
    if (!run_request (s, job->input, &job->request, &job->results[r], job->error,
                      sizeof job->error))
      break;
  gz_session_free (s);
  return NULL;
}

static gboolean
same_tensor (const GzTensor *a, const GzTensor *b)
{
  if (a->dtype != b->dtype || a->ndim != b->ndim)
    return FALSE;
  for (int i = 0; i < a->ndim; i++)
    if (a->dims[i] != b->dims[i])
      return FALSE;
  return memcmp (a->data, b->data, (size_t) gz_tensor_numel (a) * gz_dtype_size (a->dtype)) == 0;
}

/* The requests: thread i explains class i mod K (so the demo's 6 classes and
 * 8 of ImageNet's all differ or pair with another method) with a method from
 * a list led by Grad-CAM, skipping any the model does not support. */
static void
make_requests (const GzModel *model, int n_classes, Request *rq)
{
  const GzMethod methods[]
      = { GZ_METHOD_GRADCAM,  GZ_METHOD_LAYERCAM, GZ_METHOD_GRADCAM_PP, GZ_METHOD_CAM,
          GZ_METHOD_XGRADCAM, GZ_METHOD_HIRESCAM, GZ_METHOD_EIGENCAM,   GZ_METHOD_GUIDED_GRADCAM };
  int m = 0;
  for (int i = 0; i < N_THREADS; i++)
    {
      char reason[256];
      for (int tries = 0; tries < (int) G_N_ELEMENTS (methods); tries++, m++)
        if (gz_method_applicable (model, methods[m % G_N_ELEMENTS (methods)], "auto", reason,
                                  sizeof reason))
          break;
      rq[i].method = methods[m % G_N_ELEMENTS (methods)];
      m++;
      /* Spread the classes: 0, 1, … for a small head; for ImageNet every
       * 125th class, so that no two share a row of the last layer. */
      rq[i].class_index = n_classes <= N_THREADS ? i % n_classes : i * (n_classes / N_THREADS);
    }
}

static void
stress (const char *model_path, const char *image_path, int rounds)
{
  GzModel *model = NULL;
  GzError err = { 0 };
  if (gz_model_load (model_path, NULL, &model, &err) != GZ_OK)
    g_error ("%s: %s", model_path, err.message);
  g_autoptr (GError) error = NULL;
  g_autoptr (GazeIoImage) image = gaze_io_image_load (image_path, 0, &error);
  g_assert_no_error (error);
  GzPreprocess pp;
  gz_preprocess_defaults (model, &pp);
  GzTensor *input = NULL;
  GzGeometry geom;
  g_assert_cmpint (gz_preprocess_image (&image->image, &pp, &input, &geom, &err), ==, GZ_OK);

  /* The single-thread reference, one request after the other on one session. */
  GzSession *s = NULL;
  g_assert_cmpint (gz_session_new (model, &s, &err), ==, GZ_OK);
  g_assert_cmpint (gz_session_forward (s, input, NULL, &err), ==, GZ_OK);
  int n_classes = (int) gz_tensor_numel (gz_session_output (s));
  Request rq[N_THREADS];
  make_requests (model, n_classes, rq);
  Result ref[N_THREADS];
  memset (ref, 0, sizeof ref);
  char msg[512] = "";
  for (int i = 0; i < N_THREADS; i++)
    {
      if (!run_request (s, input, &rq[i], &ref[i], msg, sizeof msg))
        g_error ("reference: %s", msg);
      g_test_message ("thread %d: %s, class %d (logit %.4f) at %s", i,
                      gz_method_name (rq[i].method), rq[i].class_index, ref[i].logit, ref[i].layer);
    }
  gz_session_free (s);
  int n_methods = 0;
  for (int i = 0; i < N_THREADS; i++)
    {
      gboolean seen = FALSE;
      for (int j = 0; j < i; j++)
        seen = seen || rq[j].method == rq[i].method;
      n_methods += !seen;
    }
  g_assert_cmpint (n_methods, >=, 2);
  g_assert_cmpint (rq[0].method, ==, GZ_METHOD_GRADCAM);

  /* Now all at once, each request `rounds` times on its own thread. */
  gint ready = 0;
  Job jobs[N_THREADS];
  GThread *threads[N_THREADS];
  memset (jobs, 0, sizeof jobs);
  g_assert_cmpint (rounds, <=, (int) G_N_ELEMENTS (jobs[0].results));
  gint64 t0 = g_get_monotonic_time ();
  for (int i = 0; i < N_THREADS; i++)
    {
      jobs[i] = (Job){
        .model = model, .input = input, .request = rq[i], .rounds = rounds, .ready = &ready
      };
      threads[i] = g_thread_new ("gz-stress", worker, &jobs[i]);
    }
  for (int i = 0; i < N_THREADS; i++)
    g_thread_join (threads[i]);
  g_test_message ("%d threads × %d rounds: %.0f ms", N_THREADS, rounds,
                  (double) (g_get_monotonic_time () - t0) / 1000.0);

  int mismatches = 0;
  for (int i = 0; i < N_THREADS; i++)
    {
      if (jobs[i].error[0] != '\0')
        g_error ("thread %d: %s", i, jobs[i].error);
      for (int r = 0; r < rounds; r++)
        {
          const Result *got = &jobs[i].results[r];
          gboolean same = same_tensor (got->raw, ref[i].raw) && same_tensor (got->map, ref[i].map)
              && memcmp (&got->logit, &ref[i].logit, sizeof got->logit) == 0
              && memcmp (&got->probability, &ref[i].probability, sizeof (float)) == 0
              && strcmp (got->layer, ref[i].layer) == 0;
          if (!same)
            {
              g_test_message (
                  "thread %d round %d (%s, class %d) differs from the single-thread run", i, r,
                  gz_method_name (rq[i].method), rq[i].class_index);
              mismatches++;
            }
        }
    }
  g_assert_cmpint (mismatches, ==, 0);

  for (int i = 0; i < N_THREADS; i++)
    {
      result_clear (&ref[i]);
      for (int r = 0; r < rounds; r++)
        result_clear (&jobs[i].results[r]);
    }
  gz_tensor_free (input);
  gz_model_free (model);
}

static void
test_demo (void)
{
  const char *root = g_getenv ("GAZE_SOURCE_ROOT");
  g_assert_nonnull (root);
  g_autofree char *model = g_build_filename (root, "data", "demo", "shapes.onnx", NULL);
  g_autofree char *image = g_build_filename (root, "data", "demo", "demo-01-star.png", NULL);
  stress (model, image, 3);
}

static void
test_mobilenet (void)
{
  const char *dir = g_getenv ("GAZE_SHARED_DIR");
  g_autofree char *base = dir != NULL ? g_strdup (dir) : g_build_filename ("..", "shared", NULL);
  g_autofree char *model
      = g_build_filename (base, "models", "mobilenet_v2-imagenet", "mobilenet_v2.onnx", NULL);
  g_autofree char *image = g_build_filename (base, "images", "dog.jpg", NULL);
  if (!g_file_test (model, G_FILE_TEST_EXISTS) || !g_file_test (image, G_FILE_TEST_EXISTS))
    {
      g_test_skip_printf ("%s or %s not found (set GAZE_SHARED_DIR)", model, image);
      return;
    }
  stress (model, image, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* The engine's own worker pool is shared by the 8 sessions (as in the app,
   * where the UI's workers share it): two threads, like CI's machine. */
  gz_set_threads (2);
  g_test_add_func ("/explain/stress/demo", test_demo);
  g_test_add_func ("/explain/stress/mobilenet", test_mobilenet);
  return g_test_run ();
}
