/* cli-metrics.c — `gaze-cli metrics MODEL IMAGE`: how faithful a method's map is
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Explains the class with the method (as `gaze-cli explain`), then runs the
 * faithfulness metrics of engine/gaze-metrics.h on the normalised map at
 * input resolution, in the preprocessed input space: deletion and insertion
 * curves with their AUC, Average Drop and Increase in Confidence, ROAD
 * (--metric road: MoRF, LeRF and their combination at percentiles, with
 * noisy linear imputation). --plot draws both curves with Cairo (SVG or PNG,
 * written atomically).
 */
#include "config.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <errno.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli-options.h"
#include "gaze-cli.h"
#include "gaze-metrics.h"

#define PREFIX "gaze-cli metrics: "

enum
{
  M_DELETION = 1,
  M_INSERTION = 2,
  M_DROP = 4,
  M_ROAD = 8,
};

static gboolean
parse_metrics (const char *spec, unsigned *out)
{
  *out = 0;
  if (spec == NULL)
    {
      *out = M_DELETION | M_INSERTION | M_DROP;
      return TRUE;
    }
  g_auto (GStrv) parts = g_strsplit (spec, ",", -1);
  for (char **p = parts; *p != NULL; p++)
    {
      if (strcmp (*p, "deletion") == 0)
        *out |= M_DELETION;
      else if (strcmp (*p, "insertion") == 0)
        *out |= M_INSERTION;
      else if (strcmp (*p, "drop") == 0)
        *out |= M_DROP;
      else if (strcmp (*p, "road") == 0)
        *out |= M_ROAD;
      else
        return FALSE;
    }
  return *out != 0;
}

/* "10,20,…" → percentages of pixels removed, each in (0, 100). */
static gboolean
parse_percentiles (const char *spec, GzRoadOptions *ro)
{
  if (spec == NULL)
    return TRUE;
  g_auto (GStrv) parts = g_strsplit (spec, ",", -1);
  int n = 0;
  for (char **p = parts; *p != NULL; p++)
    {
      char *end = NULL;
      double v = g_ascii_strtod (*p, &end);
      if (end == *p || *end != '\0' || !(v > 0 && v < 100) || n >= GZ_ROAD_MAX_PERCENTILES)
        return FALSE;
      ro->percentiles[n++] = v;
    }
  ro->n_percentiles = n;
  return n > 0;
}

/* --road-save-imputed: DIR/road-morf-P.npy, DIR/road-lerf-P.npy ([1,C,H,W]
 * float32, the images ROAD scored). */
typedef struct
{
  const char *dir;
  const GzRoadOptions *road;
  const GzTensor *input;
  GzError err;
} ImputedSink;

static void
save_imputed (bool lerf, int index, const float *image, void *data)
{
  ImputedSink *sink = data;
  if (sink->err.code != GZ_OK)
    return;
  GzTensor t = *sink->input;
  t.data = (void *) image;
  t.owns_data = false;
  g_autofree char *name
      = g_strdup_printf ("road-%s-%g.npy", lerf ? "lerf" : "morf", sink->road->percentiles[index]);
  g_autofree char *path = g_build_filename (sink->dir, name, NULL);
  gz_npy_write (path, &t, &sink->err);
}

static void
add_array (JsonBuilder *b, const char *name, const double *v, int n)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (int i = 0; i < n; i++)
    json_builder_add_double_value (b, v[i]);
  json_builder_end_array (b);
}

static bool
progress_cb (double fraction, void *data)
{
  fprintf (stderr, "\r" PREFIX "%s %3d%%", (const char *) data, (int) (fraction * 100.0 + 0.5));
  if (fraction >= 1.0)
    fprintf (stderr, "\r\033[K");
  fflush (stderr);
  return true;
}

static cairo_status_t
append_bytes (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

/* The two curves on axes (share of pixels changed → class probability),
 * with the AUCs in the legend. */
static void
draw_plot (cairo_t *cr, double w, double h, const double *del, const double *ins, int n,
           double del_auc, double ins_auc)
{
  double l = 60, r = 20, t = 20, b = 50;
  double pw = w - l - r, ph = h - t - b;
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_set_line_width (cr, 1);
  cairo_rectangle (cr, l, t, pw, ph);
  cairo_stroke (cr);
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 11);
  for (int i = 0; i <= 4; i++)
    {
      double f = i / 4.0;
      char lab[16];
      g_snprintf (lab, sizeof lab, "%.2f", f);
      cairo_move_to (cr, l + f * pw, t + ph);
      cairo_line_to (cr, l + f * pw, t + ph + 4);
      cairo_move_to (cr, l - 4, t + ph - f * ph);
      cairo_line_to (cr, l, t + ph - f * ph);
      cairo_stroke (cr);
      cairo_move_to (cr, l + f * pw - 12, t + ph + 17);
      cairo_show_text (cr, lab);
      cairo_move_to (cr, l - 34, t + ph - f * ph + 4);
      cairo_show_text (cr, lab);
    }
  cairo_move_to (cr, l + pw / 2 - 60, h - 10);
  cairo_show_text (cr, "share of pixels changed");
  cairo_save (cr);
  cairo_move_to (cr, 14, t + ph / 2 + 40);
  cairo_rotate (cr, -G_PI / 2);
  cairo_show_text (cr, "class probability");
  cairo_restore (cr);
  const double *curves[2] = { del, ins };
  const double colours[2][3] = { { 0.80, 0.15, 0.15 }, { 0.10, 0.35, 0.80 } };
  double aucs[2] = { del_auc, ins_auc };
  const char *names[2] = { "deletion", "insertion" };
  int row = 0;
  for (int c = 0; c < 2; c++)
    {
      if (curves[c] == NULL)
        continue;
      cairo_set_source_rgb (cr, colours[c][0], colours[c][1], colours[c][2]);
      cairo_set_line_width (cr, 2);
      for (int i = 0; i <= n; i++)
        {
          double v = curves[c][i];
          double px = l + pw * i / n, py = t + ph - ph * (v < 0 ? 0 : v > 1 ? 1 : v);
          if (i == 0)
            cairo_move_to (cr, px, py);
          else
            cairo_line_to (cr, px, py);
        }
      cairo_stroke (cr);
      double ly = t + 16 + 16 * row++;
      cairo_move_to (cr, l + pw - 150, ly - 4);
      cairo_line_to (cr, l + pw - 130, ly - 4);
      cairo_stroke (cr);
      char lab[64];
      g_snprintf (lab, sizeof lab, "%s AUC %.4f", names[c], aucs[c]);
      cairo_set_source_rgb (cr, 0, 0, 0);
      cairo_move_to (cr, l + pw - 125, ly);
      cairo_show_text (cr, lab);
    }
}

/* SVG when the name ends in .svg, else PNG; atomic (g_file_set_contents). */
static gboolean
write_plot (const char *path, const double *del, const double *ins, int n, double del_auc,
            double ins_auc, GError **error)
{
  const double w = 640, h = 420;
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  cairo_surface_t *s;
  gboolean svg = g_str_has_suffix (path, ".svg") || g_str_has_suffix (path, ".SVG");
  if (svg)
    s = cairo_svg_surface_create_for_stream (append_bytes, bytes, w, h);
  else
    s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, (int) w, (int) h);
  cairo_t *cr = cairo_create (s);
  draw_plot (cr, w, h, del, ins, n, del_auc, ins_auc);
  cairo_destroy (cr);
  cairo_status_t cs;
  if (svg)
    {
      cairo_surface_finish (s);
      cs = cairo_surface_status (s);
    }
  else
    cs = cairo_surface_write_to_png_stream (s, append_bytes, bytes);
  cairo_surface_destroy (s);
  if (cs != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", path,
                   cairo_status_to_string (cs));
      return FALSE;
    }
  return g_file_set_contents (path, (const char *) bytes->data, (gssize) bytes->len, error);
}

static void
add_curve (JsonBuilder *b, const char *name, const double *c, int n)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (int i = 0; i <= n; i++)
    json_builder_add_double_value (b, c[i]);
  json_builder_end_array (b);
}

int
gz_cli_metrics (int argc, char **argv)
{
  GzCliOptions opts;
  gz_cli_options_init (&opts);
  char *method_name = NULL, *layer = NULL, *metric_spec = NULL, *plot = NULL;
  char *road_percentiles = NULL, *road_save = NULL;
  double road_noise = 0.01;
  gint64 road_seed = 0;
  int class_index = -1, steps = 50, batch_size = 0;
  gboolean negative = FALSE, quiet = FALSE;
  g_auto (GStrv) rest = NULL;
  const GOptionEntry entries[] = {
    { "method", 'm', 0, G_OPTION_ARG_STRING, &method_name,
      "The explanation method (as 'gaze-cli explain'; default gradcam)", "NAME" },
    { "class", 'c', 0, G_OPTION_ARG_INT, &class_index, "The class (default: the top-1 class)",
      "K" },
    { "negative", 0, 0, G_OPTION_ARG_NONE, &negative,
      "Single-output (sigmoid) models: the negative class", NULL },
    { "layer", 'l', 0, G_OPTION_ARG_STRING, &layer, "The layer (default: auto)", "NAME|auto" },
    { "metric", 0, 0, G_OPTION_ARG_STRING, &metric_spec,
      "Comma-separated: deletion, insertion, road, drop (default: deletion, insertion, drop)",
      "LIST" },
    { "road-percentiles", 0, 0, G_OPTION_ARG_STRING, &road_percentiles,
      "ROAD: the shares of pixels removed, in % (default 10,20,30,40,50,60,70,80,90)", "LIST" },
    { "road-noise", 0, 0, G_OPTION_ARG_DOUBLE, &road_noise,
      "ROAD: std of the imputation noise in the normalised input (default 0.01; 0: none)", "STD" },
    { "road-seed", 0, 0, G_OPTION_ARG_INT64, &road_seed, "ROAD: seed of the noise (default 0)",
      "N" },
    { "road-save-imputed", 0, 0, G_OPTION_ARG_FILENAME, &road_save,
      "ROAD: write the imputed images to DIR/road-{morf,lerf}-P.npy", "DIR" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps,
      "Deletion/insertion steps: the curves have N+1 points (default 50)", "N" },
    { "batch-size", 0, 0, G_OPTION_ARG_INT, &batch_size, "Forwards per batch (default: automatic)",
      "N" },
    { "plot", 0, 0, G_OPTION_ARG_FILENAME, &plot,
      "Draw the deletion and insertion curves (SVG or PNG by the extension)", "OUT.svg|png" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress on the terminal", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &rest, NULL, NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL.onnx IMAGE");
  g_option_context_set_summary (
      ctx,
      "Faithfulness of an explanation map: deletion and insertion curves and their AUC\n"
      "(Petsiuk et al. 2018), Average Drop and Increase in Confidence (Chattopadhay et al.\n"
      "2018), ROAD (Rong et al. 2022). All in the preprocessed input space; conventions in\n"
      "the manual page.");
  g_option_context_set_description (
      ctx,
      "With --json, prints one object with the keys deletion_auc, insertion_auc,\n"
      "deletion_curve, insertion_curve, average_drop, increase_in_confidence,\n"
      "road_morf, road_lerf, road_combined, road_percentiles, road_morf_curve,\n"
      "road_lerf_curve, road_probability (those of the metrics asked for), class,\n"
      "method, layer, steps.\n"
      "Exit status: 0 on success, 1 on bad input, 2 on a usage error.");
  gz_cli_options_add (ctx, &opts);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  int status = 0;
  GzCliModel m = { 0 };
  GzSession *session = NULL;
  GzTensor *input = NULL;
  GazeIoImage *image = NULL;
  GzExplanation *ex = NULL;
  double *del = NULL, *ins = NULL;
  GzError err = { 0 };
  GzMethod method = GZ_METHOD_GRADCAM;
  unsigned which = 0;
  GzRoadOptions ro = GZ_ROAD_OPTIONS_INIT;
  GzRoad road = { 0 };
  ImputedSink sink = { 0 };

  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, PREFIX "%s\n", error->message);
      status = 2;
      goto out;
    }
  guint n_rest = rest != NULL ? g_strv_length (rest) : 0;
  const char *usage = NULL;
  if (n_rest < 1)
    usage = "expected MODEL.onnx and an IMAGE (see --help)";
  else if (opts.input_tensor == NULL && n_rest != 2)
    usage = "expected MODEL.onnx and one IMAGE";
  else if (opts.input_tensor != NULL && n_rest != 1)
    usage = "--input-tensor replaces the image; give no IMAGE";
  else if (method_name != NULL && !gz_method_from_name (method_name, &method))
    usage = "--method: unknown method (see 'gaze-cli explain --help')";
  else if (!parse_metrics (metric_spec, &which))
    usage = "--metric: expected a comma-separated list of deletion, insertion, road, drop";
  else if (!parse_percentiles (road_percentiles, &ro))
    usage = "--road-percentiles: expected a comma-separated list of numbers in (0, 100)";
  else if (!(road_noise >= 0 && road_noise <= 1000))
    usage = "--road-noise must be between 0 and 1000";
  else if (road_seed < 0)
    usage = "--road-seed must not be negative";
  else if (steps < 1 || steps > 100000)
    usage = "--steps must be between 1 and 100000";
  else if (batch_size < 0 || batch_size > 4096)
    usage = "--batch-size must be between 1 and 4096";
  else if (class_index < -1)
    usage = "--class must be a class index";
  else if (plot != NULL && !(which & (M_DELETION | M_INSERTION)))
    usage = "--plot draws the deletion/insertion curves: ask for one of them";
  if (usage != NULL)
    {
      fprintf (stderr, PREFIX "%s\n", usage);
      status = 2;
      goto out;
    }
  const char *model_path = rest[0];
  const char *image_path = opts.input_tensor != NULL ? NULL : rest[1];
  const char *source = image_path != NULL ? image_path : opts.input_tensor;
  if (!gz_cli_options_finish (&opts, &error) || !gz_cli_model_open (model_path, &opts, &m, &error))
    goto fail;
  GzGeometry geometry;
  if (!gz_cli_model_input (&m, &opts, image_path, &input, &geometry, &image, &error))
    goto fail;
  if (gz_session_new (m.model, &session, &err) != GZ_OK
      || gz_session_forward (session, input, NULL, &err) != GZ_OK)
    {
      g_set_error (&error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", source, err.message);
      goto fail;
    }
  bool tty = !quiet && isatty (STDERR_FILENO);
  GzExplainOptions eo = GZ_EXPLAIN_OPTIONS_INIT;
  eo.method = method;
  eo.class_index = class_index;
  eo.negative = negative;
  eo.layer = layer;
  eo.batch_size = batch_size;
  if (gz_explain (session, &eo, &ex, &err) != GZ_OK)
    {
      gz_cli_fail (PREFIX, err.message);
      status = 1;
      goto out;
    }
  GzMetricOptions mo = GZ_METRIC_OPTIONS_INIT;
  mo.steps = steps;
  mo.negative = negative;
  mo.batch_size = batch_size;
  if (tty)
    mo.progress = progress_cb;
  double del_auc = 0, ins_auc = 0;
  GzConfidence conf = { 0 };
  double t0 = (double) g_get_monotonic_time () / 1000.0;
  if (which & M_DELETION)
    {
      del = g_new (double, steps + 1);
      mo.progress_data = (void *) "deletion";
      if (gz_metric_deletion (m.model, input, ex->map, ex->class_index, &mo, del, &del_auc, &err)
          != GZ_OK)
        goto engine_fail;
    }
  if (which & M_INSERTION)
    {
      ins = g_new (double, steps + 1);
      mo.progress_data = (void *) "insertion";
      if (gz_metric_insertion (m.model, input, ex->map, ex->class_index, &mo, ins, &ins_auc, &err)
          != GZ_OK)
        goto engine_fail;
    }
  if (which & M_DROP)
    {
      mo.progress_data = (void *) "drop";
      if (gz_metric_confidence (m.model, input, ex->map, ex->class_index, &mo, &conf, &err)
          != GZ_OK)
        goto engine_fail;
    }
  if (which & M_ROAD)
    {
      ro.noise = road_noise;
      ro.seed = (uint64_t) road_seed;
      if (road_save != NULL)
        {
          if (g_mkdir_with_parents (road_save, 0755) != 0)
            {
              g_set_error (&error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: %s",
                           road_save, g_strerror (errno));
              goto fail;
            }
          sink.dir = road_save;
          sink.road = &ro;
          sink.input = input;
          ro.imputed = save_imputed;
          ro.imputed_data = &sink;
        }
      mo.progress_data = (void *) "ROAD";
      if (gz_metric_road (m.model, input, ex->map, ex->class_index, &mo, &ro, &road, &err) != GZ_OK)
        goto engine_fail;
      if (sink.err.code != GZ_OK)
        {
          gz_cli_fail (PREFIX, sink.err.message);
          status = 1;
          goto out;
        }
    }
  double metrics_ms = (double) g_get_monotonic_time () / 1000.0 - t0;
  if (plot != NULL && !write_plot (plot, del, ins, steps, del_auc, ins_auc, &error))
    goto fail;

  if (opts.json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, model_path);
      json_builder_set_member_name (b, "image");
      json_builder_add_string_value (b, source);
      json_builder_set_member_name (b, "class");
      json_builder_add_int_value (b, ex->class_index);
      json_builder_set_member_name (b, "method");
      json_builder_add_string_value (b, gz_method_name (ex->method));
      json_builder_set_member_name (b, "layer");
      json_builder_add_string_value (b, ex->layer);
      json_builder_set_member_name (b, "steps");
      json_builder_add_int_value (b, steps);
      if (del != NULL)
        {
          json_builder_set_member_name (b, "deletion_auc");
          json_builder_add_double_value (b, del_auc);
          add_curve (b, "deletion_curve", del, steps);
        }
      if (ins != NULL)
        {
          json_builder_set_member_name (b, "insertion_auc");
          json_builder_add_double_value (b, ins_auc);
          add_curve (b, "insertion_curve", ins, steps);
        }
      if (which & M_DROP)
        {
          json_builder_set_member_name (b, "average_drop");
          json_builder_add_double_value (b, conf.average_drop);
          json_builder_set_member_name (b, "increase_in_confidence");
          json_builder_add_double_value (b, conf.increase_in_confidence);
          json_builder_set_member_name (b, "confidence_change");
          json_builder_add_double_value (b, conf.confidence_change);
        }
      if (which & M_ROAD)
        {
          json_builder_set_member_name (b, "road_morf");
          json_builder_add_double_value (b, road.morf_mean);
          json_builder_set_member_name (b, "road_lerf");
          json_builder_add_double_value (b, road.lerf_mean);
          json_builder_set_member_name (b, "road_combined");
          json_builder_add_double_value (b, road.combined);
          add_array (b, "road_percentiles", ro.percentiles, ro.n_percentiles);
          add_array (b, "road_morf_curve", road.morf, ro.n_percentiles);
          add_array (b, "road_lerf_curve", road.lerf, ro.n_percentiles);
          json_builder_set_member_name (b, "road_probability");
          json_builder_add_double_value (b, road.y);
          json_builder_set_member_name (b, "road_noise");
          json_builder_add_double_value (b, ro.noise);
        }
      json_builder_set_member_name (b, "metrics_ms");
      json_builder_add_double_value (b, metrics_ms);
      json_builder_end_object (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      json_generator_set_root (gen, root);
      g_autofree char *text = json_generator_to_data (gen, NULL);
      printf ("%s\n", text);
    }
  else
    {
      printf ("%s\n  class      %d\n  method     %s at %s\n", source, ex->class_index,
              gz_method_name (ex->method), ex->layer);
      if (del != NULL)
        printf ("  deletion   AUC %.4f (%d steps; lower is better)\n", del_auc, steps);
      if (ins != NULL)
        printf ("  insertion  AUC %.4f (%d steps; higher is better)\n", ins_auc, steps);
      if (which & M_DROP)
        printf (
            "  confidence y %.4f, on image × map %.4f: average drop %.2f %%, increase %.0f %%\n",
            conf.y, conf.o, conf.average_drop, conf.increase_in_confidence);
      if (which & M_ROAD)
        printf ("  ROAD       MoRF %+.4f (lower is better), LeRF %+.4f (higher is better),\n"
                "             combined %+.4f (higher is better; %d percentiles, noise %g)\n",
                road.morf_mean, road.lerf_mean, road.combined, ro.n_percentiles, ro.noise);
      printf ("  time       %.1f ms\n", metrics_ms);
      if (plot != NULL)
        printf ("  wrote      %s\n", plot);
    }
  goto out;

engine_fail:
  gz_cli_fail (PREFIX, err.message);
  status = 1;
  goto out;
fail:
  gz_cli_fail (PREFIX, error != NULL ? error->message : "failed");
  status = 1;
out:
  g_free (del);
  g_free (ins);
  gz_explanation_free (ex);
  gz_session_free (session);
  gz_tensor_free (input);
  gaze_io_image_free (image);
  gz_cli_model_clear (&m);
  gz_cli_options_clear (&opts);
  g_free (method_name);
  g_free (layer);
  g_free (metric_spec);
  g_free (plot);
  g_free (road_percentiles);
  g_free (road_save);
  return status;
}
