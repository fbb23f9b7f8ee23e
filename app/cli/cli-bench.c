/* cli-bench.c — gaze-cli bench: medians of load, forward, explanation, class switch
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Times the engine on a model with a fixed pseudo-random input (or an image's
 * preprocessed tensor via --input-tensor), repeating each phase and reporting
 * median, min and max. Load is timed on fresh loads of the file; forward on
 * one session; "explain" is a forward that keeps the layer plus the first
 * explanation; "switch" is the explanation of another class on that kept
 * forward (one backward for gradient methods).
 */
#include "config.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "gaze-cli.h"
#include "gaze-engine.h"

typedef struct
{
  double median, min, max;
} Stats;

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static Stats
stats_of (double *samples, int n)
{
  qsort (samples, (size_t) n, sizeof *samples, compare_doubles);
  Stats s = { samples[n / 2], samples[0], samples[n - 1] };
  if (n % 2 == 0)
    s.median = 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  return s;
}

static double
now_ms (void)
{
  return (double) g_get_monotonic_time () / 1000.0;
}

/* Peak RSS of this process image (VmHWM). Not getrusage's ru_maxrss: after a
 * fork + exec it still holds the parent's high-water mark. */
static double
peak_rss_mib (void)
{
  g_autofree char *status = NULL;
  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  const char *line = strstr (status, "VmHWM:");
  return line != NULL ? g_ascii_strtod (line + 6, NULL) / 1024.0 : -1;
}

static GzTensor *
bench_input (const GzModel *model, const char *tensor_path, GzError *err)
{
  if (tensor_path != NULL)
    {
      GzTensor *t = NULL;
      return gz_npy_read (tensor_path, &t, err) == GZ_OK ? t : NULL;
    }
  const GzValueInfo *info = gz_model_input (model);
  int64_t dims[GZ_MAX_DIMS];
  for (int d = 0; d < info->ndim; d++)
    dims[d] = info->dims[d] > 0 ? info->dims[d] : 1;
  GzTensor *t = gz_tensor_new (GZ_DTYPE_FLOAT, info->ndim, dims, err);
  if (t == NULL)
    return NULL;
  /* A fixed linear congruential sequence in [-1, 1): repeatable across runs. */
  uint32_t state = 12345u;
  for (int64_t i = 0; i < gz_tensor_numel (t); i++)
    {
      state = state * 1664525u + 1013904223u;
      gz_tensor_f (t)[i] = (float) (state >> 8) / (float) (1u << 23) - 1.f;
    }
  return t;
}

/* Process CPU time: unlike wall time, barely moved by other processes on a
 * loaded machine, so single-thread A/B comparisons stay meaningful. */
static double
cpu_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
add_stats (JsonBuilder *b, const char *name, Stats s)
{
  g_autofree char *median = g_strdup_printf ("%s_ms", name);
  g_autofree char *min = g_strdup_printf ("%s_min_ms", name);
  g_autofree char *max = g_strdup_printf ("%s_max_ms", name);
  json_builder_set_member_name (b, median);
  json_builder_add_double_value (b, s.median);
  json_builder_set_member_name (b, min);
  json_builder_add_double_value (b, s.min);
  json_builder_set_member_name (b, max);
  json_builder_add_double_value (b, s.max);
}

static void
print_stats (const char *name, Stats s)
{
  g_print ("%-8s median %9.3f ms   min %9.3f   max %9.3f\n", name, s.median, s.min, s.max);
}

int
gz_cli_bench (int argc, char **argv)
{
  int repeat = 10, warmup = 2, threads = 0;
  gchar *method_name = NULL, *input_tensor = NULL, *layer = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "repeat", 0, 0, G_OPTION_ARG_INT, &repeat, "Timed runs per phase (default 10)", "N" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup, "Untimed runs first (default 2)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "Engine threads (default: all cores)", "N" },
    { "method", 0, 0, G_OPTION_ARG_STRING, &method_name, "Explanation method (default gradcam)",
      "M" },
    { "layer", 0, 0, G_OPTION_ARG_STRING, &layer, "Layer (default auto)", "NAME" },
    { "input-tensor", 0, 0, G_OPTION_ARG_FILENAME, &input_tensor, "Preprocessed input .npy",
      "X.npy" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL.onnx");
  g_autoptr (GError) gerr = NULL;
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &gerr) || argc != 2 || repeat < 1 || warmup < 0)
    {
      g_printerr ("gaze-cli bench: %s\n",
                  gerr ? gerr->message : "usage: gaze-cli bench MODEL [OPTION…]");
      return 2;
    }
  GzMethod method = GZ_METHOD_GRADCAM;
  if (method_name != NULL && !gz_method_from_name (method_name, &method))
    {
      g_printerr ("gaze-cli bench: unknown method '%s'\n", method_name);
      return 2;
    }
  gz_set_threads (threads > 0 ? threads : (int) g_get_num_processors ());

  const char *path = argv[1];
  GzError err = { 0 };
  GzModel *model = NULL;
  GzSession *session = NULL;
  GzTensor *input = NULL;
  int status = 1;
  int total = warmup + repeat;
  double *load = g_new (double, total), *fwd = g_new (double, total);
  double *expl = g_new (double, total), *sw = g_new (double, total);
  double *fwd_cpu = g_new (double, total);

  for (int i = 0; i < total; i++)
    {
      double t0 = now_ms ();
      GzModel *m = NULL;
      if (gz_model_load (path, NULL, &m, &err) != GZ_OK)
        goto fail;
      load[i] = now_ms () - t0;
      if (model == NULL)
        model = m;
      else
        gz_model_free (m);
    }
  if ((input = bench_input (model, input_tensor, &err)) == NULL
      || gz_session_new (model, &session, &err) != GZ_OK)
    goto fail;

  for (int i = 0; i < total; i++)
    {
      double t0 = now_ms (), c0 = cpu_ms ();
      if (gz_session_forward (session, input, NULL, &err) != GZ_OK)
        goto fail;
      fwd[i] = now_ms () - t0;
      fwd_cpu[i] = cpu_ms () - c0;
    }

  const GzTensor *logits = NULL;
  int n_classes = 1;
  for (int i = 0; i < total; i++)
    {
      GzExplainOptions opt = GZ_EXPLAIN_OPTIONS_INIT;
      GzExplanation *ex = NULL;
      opt.method = method;
      opt.layer = layer;
      double t0 = now_ms ();
      if (gz_session_forward (session, input,
                              layer != NULL ? layer : gz_model_default_layer (model), &err)
              != GZ_OK
          || gz_explain (session, &opt, &ex, &err) != GZ_OK)
        goto fail;
      expl[i] = now_ms () - t0;
      gz_explanation_free (ex);

      /* Another class on the same kept forward. */
      logits = gz_session_output (session);
      n_classes = (int) logits->dims[logits->ndim - 1];
      opt.class_index = (i + 1) % n_classes;
      t0 = now_ms ();
      if (gz_explain (session, &opt, &ex, &err) != GZ_OK)
        goto fail;
      sw[i] = now_ms () - t0;
      gz_explanation_free (ex);
    }

  Stats sl = stats_of (load + warmup, repeat), sf = stats_of (fwd + warmup, repeat);
  Stats se = stats_of (expl + warmup, repeat), ss = stats_of (sw + warmup, repeat);
  Stats sfc = stats_of (fwd_cpu + warmup, repeat);
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, path);
      json_builder_set_member_name (b, "method");
      json_builder_add_string_value (b, gz_method_name (method));
      json_builder_set_member_name (b, "threads");
      json_builder_add_int_value (b, gz_get_threads ());
      json_builder_set_member_name (b, "repeat");
      json_builder_add_int_value (b, repeat);
      add_stats (b, "load", sl);
      add_stats (b, "forward", sf);
      add_stats (b, "explain", se);
      add_stats (b, "switch", ss);
      add_stats (b, "forward_cpu", sfc);
      json_builder_set_member_name (b, "peak_rss_mib");
      json_builder_add_double_value (b, peak_rss_mib ());
      json_builder_end_object (b);
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      json_generator_set_root (gen, root);
      json_generator_set_pretty (gen, TRUE);
      g_autofree char *text = json_generator_to_data (gen, NULL);
      g_print ("%s\n", text);
    }
  else
    {
      g_print ("%s: %s, %d threads, %d runs\n", path, gz_method_name (method), gz_get_threads (),
               repeat);
      print_stats ("load", sl);
      print_stats ("forward", sf);
      print_stats ("explain", se);
      print_stats ("switch", ss);
      print_stats ("fwd cpu", sfc);
      g_print ("peak RSS %.1f MiB\n", peak_rss_mib ());
    }
  status = 0;
  goto out;

fail:
  gz_cli_fail ("gaze-cli bench: ", err.message);
out:
  g_free (load);
  g_free (fwd);
  g_free (expl);
  g_free (sw);
  g_free (fwd_cpu);
  gz_tensor_free (input);
  gz_session_free (session);
  gz_model_free (model);
  g_free (method_name);
  g_free (input_tensor);
  g_free (layer);
  return status;
}
