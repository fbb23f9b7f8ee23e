/* cli-predict.c — `gaze-cli predict MODEL IMAGE…`: the top classes per image
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli-options.h"
#include "gaze-cli.h"
#include "gaze-io-sidecar.h"

#define PREFIX "gaze-cli predict: "

/* The output head (issue 14): its kind over n outputs, and the multi-label
 * threshold (positive findings are marked only for a multi-label head). */
typedef struct
{
  GzOutputKind kind;
  int64_t n;
  double threshold;
  GzInputLayout layout; /* issue 19 */
} Head;

static bool
head_multilabel (const Head *h)
{
  return h->kind == GZ_OUTPUT_SIGMOID && h->n > 1;
}

static void
print_json (const char *model, const char *image, const GzClassScore *r, int top,
            const char *const *labels, const char *const *warnings, const Head *head,
            const char *hint)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model);
  json_builder_set_member_name (b, "image");
  json_builder_add_string_value (b, image);
  json_builder_set_member_name (b, "output_kind");
  json_builder_add_string_value (b, gz_output_kind_describe (head->kind, head->n));
  json_builder_set_member_name (b, "input_layout");
  json_builder_add_string_value (b, gz_input_layout_name (head->layout));
  if (head_multilabel (head))
    {
      json_builder_set_member_name (b, "threshold");
      json_builder_add_double_value (b, head->threshold);
    }
  json_builder_set_member_name (b, "top");
  json_builder_begin_array (b);
  for (int i = 0; i < top; i++)
    {
      char buf[32];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "index");
      json_builder_add_int_value (b, r[i].index);
      json_builder_set_member_name (b, "label");
      json_builder_add_string_value (b,
                                     gaze_io_label_for (labels, (int) r[i].index, buf, sizeof buf));
      json_builder_set_member_name (b, "logit");
      json_builder_add_double_value (b, r[i].logit);
      json_builder_set_member_name (b, "probability");
      json_builder_add_double_value (b, r[i].probability);
      if (head_multilabel (head))
        {
          json_builder_set_member_name (b, "positive");
          json_builder_add_boolean_value (b, r[i].probability >= head->threshold);
        }
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  /* Why the image is damaged (--allow-damaged); empty for a sound one. */
  json_builder_set_member_name (b, "warnings");
  json_builder_begin_array (b);
  for (const char *const *w = warnings; w != NULL && *w != NULL; w++)
    json_builder_add_string_value (b, *w);
  if (hint != NULL) /* issue 19: preprocessing hint */
    json_builder_add_string_value (b, hint);
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, root);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}

static void
print_text (const char *image, const GzClassScore *r, int top, const char *const *labels,
            const char *const *warnings, const Head *head, const char *hint)
{
  printf ("%s\n", image);
  if (head_multilabel (head))
    printf ("  output: multilabel (each finding its own sigmoid; + = positive at >= %.2f)\n",
            head->threshold);
  else
    printf ("  output: %s\n", gz_output_kind_describe (head->kind, head->n));
  for (const char *const *w = warnings; w != NULL && *w != NULL; w++)
    printf ("  DAMAGED: %s\n", *w);
  if (hint != NULL) /* issue 19: preprocessing hint */
    printf ("  HINT: %s\n", hint);
  for (int i = 0; i < top; i++)
    {
      char buf[32];
      const char *mark = !head_multilabel (head) ? " "
          : r[i].probability >= head->threshold  ? "+"
                                                 : "-";
      printf ("  %2d. %s%7.4f  %-6d %s  (logit %.4f)\n", i + 1, mark, r[i].probability,
              (int) r[i].index, gaze_io_label_for (labels, (int) r[i].index, buf, sizeof buf),
              r[i].logit);
    }
}

/* -- Preprocessing hint (issue 19) -- */
static gboolean
preprocess_flags_given (const GazeIoOverrides *s)
{
  return s->has_mean || s->has_std || s->has_resize || s->has_crop || s->has_stretch
      || s->has_channels || s->has_resize_backend || s->has_interpolation || s->has_channel_order
      || s->has_scale;
}
/* -- end preprocessing hint -- */

int
gz_cli_predict (int argc, char **argv)
{
  GzCliOptions opts;
  gz_cli_options_init (&opts);
  int top = 5;
  g_autofree char *logits_path = NULL;
  g_auto (GStrv) rest = NULL;
  const GOptionEntry entries[] = {
    { "top", 0, 0, G_OPTION_ARG_INT, &top, "Show the K best classes (default 5)", "K" },
    { "logits", 0, 0, G_OPTION_ARG_FILENAME, &logits_path,
      "Save the logits as a float32 [N,K] .npy, one row per image", "OUT.npy" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &rest, NULL, NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL.onnx IMAGE...");
  g_option_context_set_summary (
      ctx,
      "Classify images: the top classes with their logits and probabilities.\n"
      "A graph ending in Softmax / LogSoftmax / Sigmoid is detected: the logits shown\n"
      "are the pre-activation ones, the probabilities the head's (a multi-label\n"
      "sigmoid head: each class its own; MODEL.json \"output\" overrides the detection).\n"
      "Preprocessing comes from the flags, else MODEL.json beside the model, else the\n"
      "defaults (ImageNet mean/std, resize 256 + centre crop 224 for 224 inputs).\n"
      "Labels: --labels, else MODEL.json's, else labels.txt beside the model.");
  g_option_context_set_description (
      ctx,
      "With --json, each image prints one JSON object on its own line (JSON Lines):\n"
      "  {\"model\": M, \"image\": I, \"output_kind\": K, \"input_layout\": L,\n"
      "   \"top\": [{\"index\": i, \"label\": s, \"logit\": x, \"probability\": p}, ...],\n"
      "   \"warnings\": [s, ...]}\n"
      "K is \"logits\", \"softmax\", \"log-softmax\", \"multilabel\" or \"binary\"; L is \"nchw\"\n"
      "or \"nhwc\" (the model file's input layout, see --layout). A multi-label\n"
      "head adds \"threshold\" (MODEL.json's, default 0.5) and per class \"positive\": p >= it.\n"
      "\"warnings\" says why an image is damaged (only with --allow-damaged; a damaged\n"
      "image is otherwise refused); it is empty for a sound one. It also carries a\n"
      "preprocessing hint when a 1000-class model without MODEL.json (and without\n"
      "preprocessing flags) gives its top class under 1 %.\n"
      "With --input-tensor, no IMAGE is given and \"image\" is the .npy path.\n"
      "Exit status: 0 on success, 1 on bad input, 2 on a usage error.\n");
  gz_cli_options_add (ctx, &opts);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_set_prgname ("gaze-cli predict");
  g_autoptr (GError) error = NULL;
  int status = 0;
  GzCliModel m = { 0 };
  GzSession *session = NULL;
  GArray *all_logits = NULL;
  int n_classes = 0;

  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, PREFIX "%s\n", error->message);
      gz_cli_options_clear (&opts);
      return 2;
    }
  guint n_rest = rest != NULL ? g_strv_length (rest) : 0;
  const char *usage = NULL;
  if (n_rest < 1)
    usage = "expected MODEL.onnx and at least one IMAGE (see --help)";
  else if (opts.input_tensor == NULL && n_rest < 2)
    usage = "expected at least one IMAGE after the model (see --help)";
  else if (opts.input_tensor != NULL && n_rest > 1)
    usage = "--input-tensor replaces the images; give no IMAGE";
  else if (opts.save_input != NULL && n_rest > 2)
    usage = "--save-input takes a single image";
  else if (top < 1)
    usage = "--top must be at least 1";
  if (usage != NULL)
    {
      fprintf (stderr, PREFIX "%s\n", usage);
      gz_cli_options_clear (&opts);
      return 2;
    }
  if (!gz_cli_options_finish (&opts, &error) || !gz_cli_model_open (rest[0], &opts, &m, &error))
    goto fail;

  GzError err = { 0 };
  if (gz_session_new (m.model, &session, &err) != GZ_OK)
    {
      g_set_error (&error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "%s: %s", rest[0], err.message);
      goto fail;
    }
  all_logits = g_array_new (FALSE, FALSE, sizeof (float));

  guint n_inputs = opts.input_tensor != NULL ? 1 : n_rest - 1;
  for (guint i = 0; i < n_inputs; i++)
    {
      const char *image = opts.input_tensor != NULL ? NULL : rest[1 + i];
      const char *name = image != NULL ? image : opts.input_tensor;
      GzTensor *input = NULL;
      g_autoptr (GazeIoImage) loaded = NULL;
      if (!gz_cli_model_input (&m, &opts, image, &input, NULL, &loaded, &error))
        goto fail;
      const char *const *warnings = loaded != NULL ? (const char *const *) loaded->warnings : NULL;
      GzStatus st = gz_session_forward (session, input, NULL, &err);
      gz_tensor_free (input);
      if (st != GZ_OK)
        {
          g_set_error (&error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "%s: %s", name, err.message);
          goto fail;
        }
      const GzTensor *out = gz_session_output (session);
      int64_t k = out != NULL ? gz_tensor_numel (out) : 0;
      if (out == NULL || out->dtype != GZ_DTYPE_FLOAT || k < 1 || k > G_MAXINT / 2)
        {
          g_set_error (&error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID,
                       "%s: the model produced no usable logits", name);
          goto fail;
        }
      n_classes = (int) k;
      g_array_append_vals (all_logits, gz_tensor_f (out), (guint) k);
      g_autofree GzClassScore *r = g_new (GzClassScore, MIN (top, (int) k));
      int shown = gz_logits_top_k (gz_tensor_f (out), k, top, gz_model_output_kind (m.model), r);
      Head head
          = { gz_model_output_kind (m.model), k, m.threshold, gz_model_input_layout (m.model) };
      /* -- Preprocessing hint (issue 19): an ImageNet-sized head, no sidecar, no
       *    preprocessing flags, and not even 1 % for the top class: the
       *    defaults are probably not how the model was trained. -- */
      g_autofree char *hint = NULL;
      if (image != NULL && k == 1000 && shown > 0 && r[0].probability < 0.01
          && !preprocess_flags_given (&opts.settings))
        {
          g_autofree char *sidecar = gaze_io_sidecar_path (rest[0]);
          if (!g_file_test (sidecar, G_FILE_TEST_EXISTS))
            hint = g_strdup_printf (
                "the top class has a probability under 1 %% and there is no %s: the default "
                "preprocessing (ImageNet mean/std, resize 256, crop 224, Pillow bilinear) may "
                "not be the model's; write the training code's values there (the viewer's Edit "
                "preprocessing…, or gaze-cli flags --mean --std --resize --crop --stretch "
                "--resize-backend --interpolation)",
                sidecar);
        }
      /* -- end preprocessing hint -- */
      if (opts.json)
        print_json (rest[0], name, r, shown, m.labels, warnings, &head, hint);
      else
        print_text (name, r, shown, m.labels, warnings, &head, hint);
      fflush (stdout);
    }

  if (logits_path != NULL)
    {
      int64_t dims[2] = { n_inputs, n_classes };
      GzTensor t = { GZ_DTYPE_FLOAT, 2, { 0 }, all_logits->data, false };
      t.dims[0] = dims[0];
      t.dims[1] = dims[1];
      if (gz_npy_write (logits_path, &t, &err) != GZ_OK)
        {
          g_set_error (&error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s", err.message);
          goto fail;
        }
    }
  goto done;

fail:
  gz_cli_fail (PREFIX, error != NULL ? error->message : "failed");
  status = 1;
done:
  if (all_logits != NULL)
    g_array_free (all_logits, TRUE);
  gz_session_free (session);
  gz_cli_model_clear (&m);
  gz_cli_options_clear (&opts);
  return status;
}
