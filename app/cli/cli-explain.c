/* cli-explain.c — `gaze-cli explain MODEL IMAGE`: where the network looked, as maps and an overlay
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One forward keeps the layer the method needs (every activation for the
 * guided methods), then gz_explain computes the map. Outputs: the overlay on
 * the original photo at full resolution (--output, PNG, written atomically),
 * the normalised map at model input resolution (--heatmap, float32 [H,W]
 * .npy), the raw map at layer resolution (--raw), and a summary (--json).
 */
#include "config.h"

#include <errno.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli-explain.h" /* issue 18 */
#include "cli-options.h"
#include "gaze-io-report.h"
#include "gaze-cli.h"

#define PREFIX "gaze-cli explain: "

typedef struct
{
  char *method;
  char *class_name;
  gboolean negative;
  char *layer;
  int smooth;
  double smooth_sigma;
  int batch_size;
  int occlusion_window;
  int occlusion_stride;
  char *output;
  char *heatmap;
  char *raw;
  char *colormap;
  double alpha;
  double threshold;
  gboolean quiet;
  /* issue 15: --caption (the app's export with its caption band). */
  gboolean caption;
  char *disclaimer;
  char *page;
  double dpi;
} ExplainArgs;

/* Two paths naming the same existing file (so --output never overwrites the
 * photo it annotates). */
static gboolean
same_file (const char *a, const char *b)
{
  struct stat sa, sb;
  if (a == NULL || b == NULL || stat (a, &sa) != 0 || stat (b, &sb) != 0)
    return FALSE;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* An output path that exists must be a regular file: the atomic write
 * renames over it, which would replace a FIFO or a device node (as root,
 * --output /dev/null). */
static gboolean
replaceable (const char *path)
{
  struct stat st;
  return stat (path, &st) != 0 || S_ISREG (st.st_mode);
}

/* The tensor name of a layer given by tensor or node name ("auto": the
 * model's default), NULL when unknown — gz_explain then says why. */
static const char *
layer_tensor (const GzModel *model, const char *layer)
{
  if (layer == NULL || strcmp (layer, "auto") == 0)
    return gz_model_default_layer (model);
  for (int i = 0; i < gz_model_layer_count (model); i++)
    {
      const GzNodeInfo *info = gz_model_layer (model, i);
      if (strcmp (info->output, layer) == 0 || strcmp (info->name, layer) == 0)
        return info->output;
    }
  return NULL;
}

/* parse_class's value for --class positive (multi-label heads, issue 14). */
#define CLASS_POSITIVE (-2)

static gboolean
parse_class (const char *value, int *out, GError **error)
{
  if (value == NULL || strcmp (value, "top") == 0)
    {
      *out = -1;
      return TRUE;
    }
  if (strcmp (value, "positive") == 0)
    {
      *out = CLASS_POSITIVE;
      return TRUE;
    }
  char *end;
  errno = 0;
  gint64 v = g_ascii_strtoll (value, &end, 10);
  if (errno != 0 || end == value || *end != '\0' || v < 0 || v > G_MAXINT)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--class: expected a class index (0, 1, …), 'top' or 'positive', got '%s'",
                   value);
      return FALSE;
    }
  *out = (int) v;
  return TRUE;
}

/* --class positive: "DIR/heat.npy" → "DIR/heat-class3.npy" (before the last
 * extension of the file name; appended when there is none). */
static char *
class_file_name (const char *path, int k)
{
  const char *slash = strrchr (path, '/');
  const char *dot = strrchr (slash != NULL ? slash + 1 : path, '.');
  if (dot == NULL || dot == (slash != NULL ? slash + 1 : path))
    return g_strdup_printf ("%s-class%d", path, k);
  return g_strdup_printf ("%.*s-class%d%s", (int) (dot - path), path, k, dot);
}

/* The RGB8 picture of an --input-tensor, undoing mean/std, for --output. */
static guint8 *
tensor_picture (const GzTensor *t, const GzPreprocess *pp, int *width, int *height)
{
  int c = (int) t->dims[1], h = (int) t->dims[2], w = (int) t->dims[3];
  guint8 *rgb = g_malloc ((gsize) w * h * 3);
  const float *x = gz_tensor_f (t);
  for (int y = 0; y < h; y++)
    for (int i = 0; i < w; i++)
      for (int k = 0; k < 3; k++)
        {
          int ch = c >= 3 ? k : 0;
          float v = x[((gsize) ch * h + y) * w + i] * pp->std[ch] + pp->mean[ch];
          v = v * 255.0f;
          rgb[((gsize) y * w + i) * 3 + k] = v <= 0 ? 0 : v >= 255 ? 255 : (guint8) (v + 0.5f);
        }
  *width = w;
  *height = h;
  return rgb;
}

/* Draws the map over the photo and saves a PNG atomically (a temporary file
 * in the same folder, then rename: g_file_set_contents). */
static gboolean
write_overlay (const char *path, const GzExplanation *ex, const GzGeometry *geometry,
               const GazeIoImage *image, const GzTensor *input, const GzPreprocess *pp,
               GzColormap cmap, float alpha, float threshold, GError **error)
{
  int width, height;
  guint8 *rgb;
  GzTensor *projected;
  GzError err = { 0 };
  if (image != NULL)
    {
      width = image->image.width;
      height = image->image.height;
      rgb = g_malloc ((gsize) width * height * 3);
      for (int y = 0; y < height; y++)
        memcpy (rgb + (gsize) y * width * 3, image->image.pixels + (gsize) y * image->image.stride,
                (gsize) width * 3);
      projected = gz_map_project (ex->map, geometry, &err);
    }
  else
    {
      rgb = tensor_picture (input, pp, &width, &height);
      projected = gz_tensor_copy (ex->map, &err);
    }
  if (projected == NULL)
    {
      g_free (rgb);
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", path, err.message);
      return FALSE;
    }
  gz_overlay_compose (rgb, width, height, width * 3, projected, cmap, alpha, threshold);
  gz_tensor_free (projected);
  GdkPixbuf *pb = gdk_pixbuf_new_from_data (rgb, GDK_COLORSPACE_RGB, FALSE, 8, width, height,
                                            width * 3, NULL, NULL);
  gchar *png = NULL;
  gsize png_len = 0;
  gboolean ok = gdk_pixbuf_save_to_buffer (pb, &png, &png_len, "png", error, NULL);
  if (ok)
    ok = g_file_set_contents (path, png, (gssize) png_len, error);
  g_free (png);
  g_clear_object (&pb);
  g_free (rgb);
  return ok;
}

/* issue 15: --caption: the picture with the caption band, as the app exports
 * it (gaze-io-report.c), PNG/PDF/SVG by the extension, written atomically. */
static gboolean
write_report (const char *path, const char *model_path, const char *image_path,
              const GzExplanation *ex, const char *label, const GzGeometry *geometry,
              const GazeIoImage *image, GzColormap cmap, const ExplainArgs *a, GError **error)
{
  GazeIoReport report;
  GazeIoReportFormat format;
  GzError err = { 0 };
  g_autofree char *model_base = g_path_get_basename (model_path);
  g_autofree char *image_base = g_path_get_basename (image_path);
  g_autoptr (GDateTime) now = gaze_io_report_now ();
  GzTensor *projected;
  gboolean ok;

  if (!gaze_io_report_format_from_name (path, &format))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "%s: --caption writes .png, .pdf or .svg", path);
      return FALSE;
    }
  projected = gz_map_project (ex->map, geometry, &err);
  if (projected == NULL)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", path, err.message);
      return FALSE;
    }
  /* The model's name as the app shows it: the file name without .onnx etc. */
  model_base[strlen (model_base) - gz_model_file_suffix (model_base)] = '\0';
  gaze_io_report_init (&report);
  report.image = image->image;
  report.projected = projected;
  report.geometry = *geometry;
  report.colormap = cmap;
  report.opacity = a->alpha;
  report.threshold = (float) a->threshold;
  report.image_name = image_base;
  report.model_name = model_base;
  report.class_label = label;
  report.probability = ex->probability;
  report.method = ex->method;
  report.smooth_samples = ex->smooth_samples;
  report.layer = ex->layer;
  report.raw_min = ex->raw_min;
  report.raw_max = ex->raw_max;
  report.time = now;
  report.disclaimer = a->disclaimer;
  if (a->page != NULL)
    gaze_io_report_page_from_name (a->page, &report.page);
  if (a->dpi > 0)
    report.dpi = a->dpi;
  ok = gaze_io_report_write (&report, path, format, image_path, error);
  gz_tensor_free (projected);
  return ok;
}

static void
print_json (const char *model, const char *image, const GzExplanation *ex, const char *label,
            const double timings[4], const ExplainArgs *a, const char *const *warnings)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model);
  json_builder_set_member_name (b, "image");
  json_builder_add_string_value (b, image);
  json_builder_set_member_name (b, "class");
  json_builder_add_int_value (b, ex->class_index);
  json_builder_set_member_name (b, "label");
  json_builder_add_string_value (b, label);
  json_builder_set_member_name (b, "negative");
  json_builder_add_boolean_value (b, a->negative);
  json_builder_set_member_name (b, "logit");
  json_builder_add_double_value (b, ex->logit);
  json_builder_set_member_name (b, "probability");
  json_builder_add_double_value (b, ex->probability);
  json_builder_set_member_name (b, "method");
  json_builder_add_string_value (b, gz_method_name (ex->method));
  json_builder_set_member_name (b, "layer");
  json_builder_add_string_value (b, ex->layer);
  json_builder_set_member_name (b, "smooth");
  json_builder_add_int_value (b, a->smooth);
  json_builder_set_member_name (b, "raw_min");
  json_builder_add_double_value (b, ex->raw_min);
  json_builder_set_member_name (b, "raw_max");
  json_builder_add_double_value (b, ex->raw_max);
  if (ex->method == GZ_METHOD_INTEGRATED_GRADIENTS)
    {
      /* Σ attributions − (f(x) − f(baseline)): how far the 50-step sum is
       * from the completeness axiom, in logits. */
      json_builder_set_member_name (b, "completeness_error");
      json_builder_add_double_value (b, ex->completeness_error);
    }
  json_builder_set_member_name (b, "raw_shape");
  json_builder_begin_array (b);
  json_builder_add_int_value (b, ex->raw->dims[0]);
  json_builder_add_int_value (b, ex->raw->dims[1]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "map_shape");
  json_builder_begin_array (b);
  json_builder_add_int_value (b, ex->map->dims[0]);
  json_builder_add_int_value (b, ex->map->dims[1]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "timings_ms");
  json_builder_begin_object (b);
  const char *names[4] = { "forward", "backward", "method", "total" };
  for (int i = 0; i < 4; i++)
    {
      json_builder_set_member_name (b, names[i]);
      json_builder_add_double_value (b, timings[i]);
    }
  json_builder_end_object (b);
  /* Why the image is damaged (--allow-damaged); empty for a sound one. */
  json_builder_set_member_name (b, "warnings");
  json_builder_begin_array (b);
  for (const char *const *w = warnings; w != NULL && *w != NULL; w++)
    json_builder_add_string_value (b, *w);
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, root);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}

/* The per-class output names: g_autofree on an array frees only its first
 * element (--heatmap and --raw leaked). */
static void
free_names (char *(*names)[3])
{
  for (int i = 0; i < 3; i++)
    g_free ((*names)[i]);
}

/* Score-CAM / Ablation-CAM / SmoothGrad progress on a terminal. */
static bool
progress_cb (double fraction, void *data)
{
  (void) data;
  fprintf (stderr, "\r" PREFIX "%3d%%", (int) (fraction * 100.0 + 0.5));
  if (fraction >= 1.0)
    fprintf (stderr, "\r\033[K");
  fflush (stderr);
  return true;
}

int
gz_cli_explain (int argc, char **argv)
{
  GzCliOptions opts;
  gz_cli_options_init (&opts);
  ExplainArgs a = { 0 };
  a.smooth_sigma = 0.15;
  a.alpha = 0.5;
  g_auto (GStrv) rest = NULL;
  const GOptionEntry entries[] = {
    { "method", 'm', 0, G_OPTION_ARG_STRING, &a.method,
      "cam, gradcam (default), gradcam++, xgradcam, hirescam, layercam, eigencam, scorecam, "
      "ablationcam, guided-backprop, guided-gradcam, eigengradcam, gradcam-elementwise; "
      "pixel maps (no layer): saliency, inputxgrad, integrated-gradients, occlusion",
      "NAME" },
    { "class", 'c', 0, G_OPTION_ARG_STRING, &a.class_name,
      "The class to explain: an index, 'top' (default: the top-1 class), or 'positive' "
      "(multi-label models: every finding at or above the threshold, one map each)",
      "K|top|positive" },
    { "negative", 0, 0, G_OPTION_ARG_NONE, &a.negative,
      "Single-output (sigmoid) models: explain the negative class (score = −logit)", NULL },
    { "layer", 'l', 0, G_OPTION_ARG_STRING, &a.layer,
      "The layer (tensor or node name, see 'gaze-cli info'), or 'auto' (default)", "NAME|auto" },
    { "smooth", 0, 0, G_OPTION_ARG_INT, &a.smooth,
      "SmoothGrad: average the map over N noisy copies of the input (default 0: off)", "N" },
    { "smooth-sigma", 0, 0, G_OPTION_ARG_DOUBLE, &a.smooth_sigma,
      "SmoothGrad noise, as a fraction of the input's range (default 0.15)", "S" },
    { "batch-size", 0, 0, G_OPTION_ARG_INT, &a.batch_size,
      "Score-CAM / Ablation-CAM / Integrated Gradients / Occlusion: forwards per batch "
      "(default: automatic)",
      "N" },
    { "occlusion-window", 0, 0, G_OPTION_ARG_INT, &a.occlusion_window,
      "Occlusion: side of the occluded square, in model input pixels (default 32)", "W" },
    { "occlusion-stride", 0, 0, G_OPTION_ARG_INT, &a.occlusion_stride,
      "Occlusion: step between squares, in model input pixels (default 16)", "S" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &a.output,
      "Write the original image with the map overlaid (PNG, full resolution)", "OUT.png" },
    { "heatmap", 0, 0, G_OPTION_ARG_FILENAME, &a.heatmap,
      "Write the normalised map at model input resolution (float32 [H,W] .npy)", "OUT.npy" },
    { "raw", 0, 0, G_OPTION_ARG_FILENAME, &a.raw,
      "Write the raw map at layer resolution, before ReLU and normalisation (.npy)", "OUT.npy" },
    { "colormap", 0, 0, G_OPTION_ARG_STRING, &a.colormap,
      "jet (default), turbo, viridis, inferno or gray", "NAME" },
    { "alpha", 0, 0, G_OPTION_ARG_DOUBLE, &a.alpha, "Overlay opacity, 0…1 (default 0.5)", "A" },
    { "threshold", 0, 0, G_OPTION_ARG_DOUBLE, &a.threshold,
      "Leave the photo alone where the map is below T (0…1, default 0)", "T" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &a.quiet, "No progress on the terminal", NULL },
    /* issue 15: the caption band. */
    { "caption", 0, 0, G_OPTION_ARG_NONE, &a.caption,
      "With --output: the app's export, a caption band below the image (file, model, method, "
      "class and probability, layer, date, colour bar, disclaimer); PNG, PDF or SVG by the "
      "extension",
      NULL },
    { "disclaimer", 0, 0, G_OPTION_ARG_STRING, &a.disclaimer,
      "--caption: the disclaimer line (default \"Research use — not a diagnostic device\"; "
      "\"\" for none)",
      "TEXT" },
    { "page", 0, 0, G_OPTION_ARG_STRING, &a.page,
      "--caption, PDF: image (default: the picture's size at --dpi), a4 or letter", "SIZE" },
    { "dpi", 0, 0, G_OPTION_ARG_DOUBLE, &a.dpi,
      "--caption, PDF: image pixels per inch (default 150)", "DPI" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &rest, NULL, NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL.onnx IMAGE");
  g_option_context_set_summary (
      ctx,
      "Explain a classification: which regions of the image drove the score of a class.\n"
      "The score is the pre-softmax logit of the class (its negation for the negative\n"
      "class of a single-output sigmoid model). Maps are upsampled bilinearly to the\n"
      "model input, ReLU'd and normalised to [0,1]; raw_min/raw_max tell a weak map\n"
      "from a strong one. Preprocessing flags work as for 'gaze-cli predict'.");
  g_option_context_set_description (
      ctx,
      "With --json, prints one object:\n"
      "  {\"class\": K, \"label\": s, \"logit\": x, \"probability\": p, \"method\": m,"
      " \"layer\": l,\n"
      "   \"raw_min\": a, \"raw_max\": b, \"timings_ms\": {\"forward\": …, \"backward\": …,"
      " \"method\": …, \"total\": …}, …}\n"
      "timings: forward = the forward pass of the image, backward = gradient passes,\n"
      "method = the rest of the method (Score-/Ablation-CAM and Occlusion forwards,\n"
      "SmoothGrad copies). integrated-gradients adds \"completeness_error\":\n"
      "Σ attributions − (logit(x) − logit(baseline)).\n"
      "saliency, inputxgrad, integrated-gradients and occlusion are pixel maps at the\n"
      "model input's resolution; --layer does not apply to them.\n"
      "With --input-tensor, no IMAGE is given.\n"
      "--class positive (a model whose graph ends in Sigmoid over several outputs, or\n"
      "MODEL.json \"output\": \"multilabel\"): one explanation per finding whose probability\n"
      "is at or above MODEL.json's \"threshold\" (default 0.5), most probable first; each\n"
      "file name of --output/--heatmap/--raw gets \"-class<K>\" before its extension\n"
      "(heat.npy → heat-class3.npy), and --json prints one object per line (JSON Lines).\n"
      "No positive finding: nothing is written, exit status 0.\n"
      "Exit status: 0 on success, 1 on bad input or a method that does not apply to the\n"
      "model (with the reason), 2 on a usage error.");
  gz_cli_options_add (ctx, &opts);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  int status = 0;
  GzCliModel m = { 0 };
  GzSession *session = NULL;
  GzTensor *input = NULL;
  GazeIoImage *image = NULL;
  GzExplanation *ex = NULL;
  int *classes = NULL; /* the classes to explain */
  GzError err = { 0 };

  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, PREFIX "%s\n", error->message);
      status = 2;
      goto out;
    }
  guint n_rest = rest != NULL ? g_strv_length (rest) : 0;
  GzMethod method = GZ_METHOD_GRADCAM;
  GzColormap cmap = GZ_COLORMAP_JET;
  int class_index = -1;
  const char *usage = NULL;
  if (n_rest < 1)
    usage = "expected MODEL.onnx and an IMAGE (see --help)";
  else if (opts.input_tensor == NULL && n_rest != 2)
    usage
        = n_rest < 2 ? "expected an IMAGE after the model (see --help)" : "explain takes one IMAGE";
  else if (opts.input_tensor != NULL && n_rest != 1)
    usage = "--input-tensor replaces the image; give no IMAGE";
  else if (a.method != NULL && !gz_method_from_name (a.method, &method))
    usage = "--method: unknown method (see --help)";
  else if (a.colormap != NULL && !gz_colormap_from_name (a.colormap, &cmap))
    usage = "--colormap: expected jet, turbo, viridis, inferno or gray";
  else if (!(a.alpha >= 0 && a.alpha <= 1))
    usage = "--alpha must be between 0 and 1";
  else if (!(a.threshold >= 0 && a.threshold <= 1))
    usage = "--threshold must be between 0 and 1";
  else if (a.smooth < 0 || a.smooth > 10000)
    usage = "--smooth must be between 0 and 10000";
  else if (!(a.smooth_sigma >= 0 && a.smooth_sigma <= 10))
    usage = "--smooth-sigma must be between 0 and 10";
  else if (a.batch_size < 0 || a.batch_size > 4096)
    usage = "--batch-size must be between 1 and 4096";
  else if (a.occlusion_window < 0 || a.occlusion_window > 65536 || a.occlusion_stride < 0
           || a.occlusion_stride > 65536)
    usage = "--occlusion-window and --occlusion-stride must be between 1 and 65536";
  else if ((a.occlusion_window > 0 || a.occlusion_stride > 0) && method != GZ_METHOD_OCCLUSION)
    usage = "--occlusion-window and --occlusion-stride go with --method occlusion";
  /* issue 15: --caption's options. */
  if (usage == NULL)
    {
      GazeIoPage page;
      GazeIoReportFormat format;
      if ((a.disclaimer != NULL || a.page != NULL || a.dpi != 0) && !a.caption)
        usage = "--disclaimer, --page and --dpi go with --caption";
      else if (a.caption && a.output == NULL)
        usage = "--caption needs --output OUT.png|pdf|svg";
      else if (a.caption && !gaze_io_report_format_from_name (a.output, &format))
        usage = "--caption: --output must end in .png, .pdf or .svg";
      else if (a.caption && opts.input_tensor != NULL)
        usage = "--caption needs an IMAGE, not --input-tensor";
      else if (a.page != NULL && !gaze_io_report_page_from_name (a.page, &page))
        usage = "--page: expected image, a4 or letter";
      else if (a.dpi != 0 && !(a.dpi >= 72 && a.dpi <= 1200))
        usage = "--dpi must be between 72 and 1200";
    }
  if (usage == NULL && !parse_class (a.class_name, &class_index, &error))
    {
      fprintf (stderr, PREFIX "%s\n", error->message);
      status = 2;
      goto out;
    }
  if (usage != NULL)
    {
      fprintf (stderr, PREFIX "%s\n", usage);
      status = 2;
      goto out;
    }
  const char *model_path = rest[0];
  const char *image_path = opts.input_tensor != NULL ? NULL : rest[1];
  const char *source = image_path != NULL ? image_path : opts.input_tensor;
  const char *outs[4] = { a.output, a.heatmap, a.raw, opts.save_input };
  for (int i = 0; i < 4; i++)
    {
      if (outs[i] == NULL)
        continue;
      if (same_file (outs[i], source) || same_file (outs[i], model_path))
        {
          fprintf (stderr, PREFIX "refusing to overwrite the input %s with an output\n", outs[i]);
          status = 1;
          goto out;
        }
      if (!replaceable (outs[i]))
        {
          fprintf (stderr, PREFIX "cannot write %s: it exists and is not a regular file\n",
                   outs[i]);
          status = 1;
          goto out;
        }
    }

  if (!gz_cli_options_finish (&opts, &error) || !gz_cli_model_open (model_path, &opts, &m, &error))
    goto fail;

  char reason[512];
  if (!gz_method_applicable (m.model, method, a.layer, reason, sizeof reason))
    {
      fprintf (stderr, PREFIX "%s is not applicable to %s: %s\n", gz_method_name (method),
               model_path, reason);
      status = 1;
      goto out;
    }

  GzGeometry geometry;
  /* The image is kept for --output and for its warnings (--allow-damaged). */
  if (!gz_cli_model_input (&m, &opts, image_path, &input, &geometry, &image, &error))
    goto fail;
  if (gz_session_new (m.model, &session, &err) != GZ_OK)
    {
      g_set_error (&error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", model_path, err.message);
      goto fail;
    }
  /* Keep what the method needs so gz_explain reuses this forward. */
  bool pixel = gz_method_needs_input_gradient (method);
  const char *keep = pixel ? "*" : layer_tensor (m.model, a.layer);
  double t0 = (double) g_get_monotonic_time () / 1000.0;
  if (gz_session_forward (session, input, keep, &err) != GZ_OK)
    {
      g_set_error (&error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", source, err.message);
      goto fail;
    }
  double forward_ms = (double) g_get_monotonic_time () / 1000.0 - t0;

  /* The classes to explain: one, or every positive finding (--class positive). */
  int n_classes = 1;
  if (class_index == CLASS_POSITIVE)
    {
      const GzTensor *lt = gz_session_output (session);
      int64_t n = lt != NULL ? gz_tensor_numel (lt) : 0;
      if (gz_model_output_kind (m.model) != GZ_OUTPUT_SIGMOID || n < 2 || n > G_MAXINT)
        {
          fprintf (stderr,
                   PREFIX "--class positive needs a multi-label model (a graph ending in Sigmoid "
                          "over several outputs, or MODEL.json \"output\": \"multilabel\")\n");
          status = 2;
          goto out;
        }
      g_autofree GzClassScore *ranked = g_new (GzClassScore, n);
      int got = gz_logits_top_k (gz_tensor_f (lt), n, (int) n, GZ_OUTPUT_SIGMOID, ranked);
      classes = g_new (int, got + 1);
      n_classes = 0;
      for (int i = 0; i < got; i++)
        if (ranked[i].probability >= m.threshold)
          classes[n_classes++] = (int) ranked[i].index;
      if (n_classes == 0 && !opts.json)
        printf ("%s\n  no positive finding (threshold %.2f): nothing written\n", source,
                m.threshold);
    }
  else
    {
      classes = g_new (int, 1);
      classes[0] = class_index;
    }
  const char *base_outs[3] = { a.output, a.heatmap, a.raw };
  for (int ci = 0; ci < n_classes; ci++)
    {
      /* Per-class file names for --class positive. */
      __attribute__ ((cleanup (free_names))) char *names[3] = { NULL, NULL, NULL };
      for (int i = 0; i < 3; i++)
        if (base_outs[i] != NULL)
          names[i] = class_index == CLASS_POSITIVE ? class_file_name (base_outs[i], classes[ci])
                                                   : g_strdup (base_outs[i]);
      if (class_index == CLASS_POSITIVE)
        for (int i = 0; i < 3; i++)
          if (names[i] != NULL
              && (same_file (names[i], source) || same_file (names[i], model_path)
                  || !replaceable (names[i])))
            {
              fprintf (stderr, PREFIX "cannot write %s\n", names[i]);
              status = 1;
              goto out;
            }
      gz_explanation_free (ex);
      ex = NULL;
      GzExplainOptions eo = GZ_EXPLAIN_OPTIONS_INIT;
      eo.method = method;
      eo.class_index = classes[ci];
      eo.negative = a.negative;
      eo.layer = a.layer;
      eo.smooth_samples = a.smooth;
      eo.smooth_sigma = (float) a.smooth_sigma;
      eo.batch_size = a.batch_size;
      eo.occlusion_window = a.occlusion_window;
      eo.occlusion_stride = a.occlusion_stride;
      bool slow = method == GZ_METHOD_SCORECAM || method == GZ_METHOD_ABLATIONCAM || a.smooth > 0;
      if (slow && !a.quiet && isatty (STDERR_FILENO))
        eo.progress = progress_cb;
      GzStatus st = gz_explain (session, &eo, &ex, &err);
      if (st != GZ_OK)
        {
          gz_cli_fail (PREFIX, err.message);
          status = 1;
          goto out;
        }

      if (names[1] != NULL && gz_npy_write (names[1], ex->map, &err) != GZ_OK)
        {
          g_set_error (&error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s", err.message);
          goto fail;
        }
      if (names[2] != NULL && gz_npy_write (names[2], ex->raw, &err) != GZ_OK)
        {
          g_set_error (&error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s", err.message);
          goto fail;
        }
      char buf[32];
      const char *label = gaze_io_label_for (m.labels, ex->class_index, buf, sizeof buf);
      if (names[0] != NULL && a.caption)
        {
          if (!write_report (names[0], model_path, image_path, ex, label, &geometry, image, cmap,
                             &a, &error))
            goto fail;
        }
      else if (names[0] != NULL
               && !write_overlay (names[0], ex, &geometry, image, input, &m.pp, cmap,
                                  (float) a.alpha, (float) a.threshold, &error))
        goto fail;
      double timings[4] = { forward_ms + ex->forward_ms, ex->backward_ms, ex->method_ms,
                            forward_ms + ex->total_ms };
      if (opts.json)
        print_json (model_path, source, ex, label, timings, &a,
                    image != NULL ? (const char *const *) image->warnings : NULL);
      else
        {
          printf ("%s\n", source);
          for (char **w = image != NULL ? image->warnings : NULL; w != NULL && *w != NULL; w++)
            printf ("  DAMAGED    %s\n", *w);
          printf ("  class      %d %s%s  (logit %.4f, probability %.4f)\n", ex->class_index, label,
                  a.negative ? " [negative]" : "", ex->logit, ex->probability);
          printf ("  method     %s%s at %s\n", gz_method_name (ex->method),
                  a.smooth > 0 ? " + SmoothGrad" : "", ex->layer[0] ? ex->layer : "(input)");
          printf ("  raw map    %lld×%lld, min %.6g, max %.6g\n", (long long) ex->raw->dims[1],
                  (long long) ex->raw->dims[0], ex->raw_min, ex->raw_max);
          printf ("  time (ms)  forward %.1f, backward %.1f, method %.1f, total %.1f\n", timings[0],
                  timings[1], timings[2], timings[3]);
          for (int i = 0; i < 3; i++)
            if (names[i] != NULL)
              printf ("  wrote      %s\n", names[i]);
          if (opts.save_input != NULL)
            printf ("  wrote      %s\n", opts.save_input);
        }
      fflush (stdout);
    }
  goto out;

fail:
  gz_cli_fail (PREFIX, error != NULL ? error->message : "failed");
  status = 1;
out:
  g_free (classes);
  gz_explanation_free (ex);
  gz_session_free (session);
  gz_tensor_free (input);
  gaze_io_image_free (image);
  gz_cli_model_clear (&m);
  gz_cli_options_clear (&opts);
  g_free (a.method);
  g_free (a.class_name);
  g_free (a.layer);
  g_free (a.output);
  g_free (a.heatmap);
  g_free (a.raw);
  g_free (a.colormap);
  g_free (a.disclaimer);
  g_free (a.page);
  return status;
}

/* -- Shared with `gaze-cli batch` (issue 18, cli-batch.c) -- */
const char *
gz_cli_layer_tensor (const GzModel *model, const char *layer)
{
  return layer_tensor (model, layer);
}

gboolean
gz_cli_write_overlay (const char *path, const GzExplanation *ex, const GzGeometry *geometry,
                      const GazeIoImage *image, GzColormap cmap, float alpha, float threshold,
                      GError **error)
{
  return write_overlay (path, ex, geometry, image, NULL, NULL, cmap, alpha, threshold, error);
}
/* -- end shared with batch -- */
