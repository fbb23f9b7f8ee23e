/* cli-info.c — `gaze-cli info MODEL`: what a model contains, as text or JSON
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "gaze-cli.h"
#include "gaze-engine.h"
#include "gaze-io-sidecar.h"

static char *
shape_string (int ndim, const int64_t *dims)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    {
      if (dims[i] < 0)
        g_string_append_printf (s, "%s?", i > 0 ? ", " : "");
      else
        g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i > 0 ? ", " : "", (gint64) dims[i]);
    }
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static void
json_add_shape (JsonBuilder *b, int ndim, const int64_t *dims)
{
  json_builder_set_member_name (b, "shape");
  json_builder_begin_array (b);
  for (int i = 0; i < ndim; i++)
    json_builder_add_int_value (b, dims[i]); /* -1: symbolic */
  json_builder_end_array (b);
}

/* A node's name, operator, output tensor and shape: what "nodes" and
 * "layers" both list. */
static void
json_add_node_members (JsonBuilder *b, const GzNodeInfo *n)
{
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, n->name);
  json_builder_set_member_name (b, "op");
  json_builder_add_string_value (b, n->op_type);
  json_builder_set_member_name (b, "output");
  json_builder_add_string_value (b, n->output);
  json_add_shape (b, n->ndim, n->dims);
}

static void
json_add_value_info (JsonBuilder *b, const char *key, const GzValueInfo *vi)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_array (b);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, vi->name);
  json_add_shape (b, vi->ndim, vi->dims);
  json_builder_end_object (b);
  json_builder_end_array (b);
}

/* Values per image of the output (its non-batch dimensions; symbolic ones count 1). */
static int64_t
output_classes (const GzModel *model)
{
  const GzValueInfo *out = gz_model_output (model);
  int64_t n = 1;
  for (int i = 1; i < out->ndim; i++)
    n *= out->dims[i] > 0 ? out->dims[i] : 1;
  return n;
}

static void
print_json (const char *path, const GzModel *model)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, path);
  json_builder_set_member_name (b, "opset");
  json_builder_add_int_value (b, gz_model_opset (model));
  json_builder_set_member_name (b, "producer");
  json_builder_add_string_value (b, gz_model_producer (model));
  json_builder_set_member_name (b, "parameters");
  json_builder_add_int_value (b, gz_model_parameter_count (model));
  json_add_value_info (b, "inputs", gz_model_input (model));
  /* issue 19: the file's input layout; "inputs" is the NCHW input Gaze feeds. */
  json_builder_set_member_name (b, "input_layout");
  json_builder_add_string_value (b, gz_input_layout_name (gz_model_input_layout (model)));
  json_builder_set_member_name (b, "input_size_symbolic");
  json_builder_add_boolean_value (b, gz_model_input_size_symbolic (model));
  json_add_value_info (b, "outputs", gz_model_output (model));
  json_builder_set_member_name (b, "nodes");
  json_builder_begin_array (b);
  for (int i = 0; i < gz_model_node_count (model); i++)
    {
      const GzNodeInfo *n = gz_model_node (model, i);
      json_builder_begin_object (b);
      json_add_node_members (b, n);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  /* Output head (issue 14): the detected kind and activation. */
  json_builder_set_member_name (b, "output_kind");
  json_builder_add_string_value (
      b, gz_output_kind_describe (gz_model_output_kind (model), output_classes (model)));
  json_builder_set_member_name (b, "output_head");
  if (gz_model_output_head (model) != NULL)
    json_builder_add_string_value (b, gz_model_output_head (model));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "default_layer");
  if (gz_model_default_layer (model) != NULL)
    json_builder_add_string_value (b, gz_model_default_layer (model));
  else
    json_builder_add_null_value (b);
  /* Layers an explanation can use, with the [C,h,w] map it reads (issue 19:
   * transformer tokens and channels-last tensors are rearranged). */
  json_builder_set_member_name (b, "layers");
  json_builder_begin_array (b);
  for (int i = 0; i < gz_model_layer_count (model); i++)
    {
      const GzNodeInfo *n = gz_model_layer (model, i);
      json_builder_begin_object (b);
      json_add_node_members (b, n);
      json_builder_set_member_name (b, "map");
      json_builder_begin_array (b);
      for (int k = 0; k < 3; k++)
        json_builder_add_int_value (b, n->map[k]);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, root);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}

static void
print_text (const char *path, const GzModel *model)
{
  const GzValueInfo *in = gz_model_input (model);
  const GzValueInfo *out = gz_model_output (model);
  g_autofree char *in_shape = shape_string (in->ndim, in->dims);
  g_autofree char *out_shape = shape_string (out->ndim, out->dims);
  const char *layer = gz_model_default_layer (model);

  printf ("Model:         %s\n", path);
  printf ("Producer:      %s\n",
          gz_model_producer (model)[0] ? gz_model_producer (model) : "(unknown)");
  printf ("Opset:         %" G_GINT64_FORMAT "\n", (gint64) gz_model_opset (model));
  printf ("Parameters:    %" G_GINT64_FORMAT "\n", (gint64) gz_model_parameter_count (model));
  printf ("Input:         %s %s", in->name, in_shape);
  if (gz_model_input_layout (model) == GZ_INPUT_NHWC)
    printf (" (the file's input is channels-last NHWC; Gaze transposes it)");
  if (gz_model_input_size_symbolic (model))
    printf (" (symbolic height/width: planned at this size; --input-size or the sidecar's "
            "\"input_size\" changes it)");
  printf ("\n");
  printf ("Output:        %s %s\n", out->name, out_shape);
  const char *head = gz_model_output_head (model);
  printf ("Output kind:   %s",
          gz_output_kind_describe (gz_model_output_kind (model), output_classes (model)));
  if (head != NULL)
    printf (" (the trailing %s is left out: explanations score the logits before it)", head);
  printf ("\n");
  printf ("Default layer: %s\n", layer != NULL ? layer : "(none)");
  printf ("\nNodes (%d), output shapes for batch 1:\n", gz_model_node_count (model));

  /* Column widths from the content, capped so one long name cannot push the
   * shapes off every line. */
  int w_op = 2, w_name = 4, w_out = 6;
  for (int i = 0; i < gz_model_node_count (model); i++)
    {
      const GzNodeInfo *n = gz_model_node (model, i);
      w_op = MAX (w_op, (int) strlen (n->op_type));
      w_name = MAX (w_name, (int) strlen (n->name));
      w_out = MAX (w_out, (int) strlen (n->output));
    }
  w_name = MIN (w_name, 60);
  w_out = MIN (w_out, 60);
  printf ("  %5s  %-*s  %-*s  %-*s  %s\n", "#", w_op, "op", w_name, "node", w_out, "output",
          "shape");
  for (int i = 0; i < gz_model_node_count (model); i++)
    {
      const GzNodeInfo *n = gz_model_node (model, i);
      g_autofree char *shape = shape_string (n->ndim, n->dims);
      printf ("  %5d  %-*s  %-*s  %-*s  %s\n", i, w_op, n->op_type, w_name, n->name, w_out,
              n->output, shape);
    }

  printf ("\nExplainable layers (%d), the [C, h, w] map each is read as:\n",
          gz_model_layer_count (model));
  for (int i = 0; i < gz_model_layer_count (model); i++)
    {
      const GzNodeInfo *n = gz_model_layer (model, i);
      g_autofree char *shape = shape_string (n->ndim, n->dims);
      g_autofree char *map = shape_string (3, n->map);
      printf ("  %-*s  %-*s  %s  map %s\n", w_op, n->op_type, w_out, n->output, shape, map);
    }
}

int
gz_cli_info (int argc, char **argv)
{
  gboolean json = FALSE;
  g_auto (GStrv) rest = NULL;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON instead of text", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &rest, NULL, "MODEL.onnx" },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL.onnx");
  g_option_context_set_summary (ctx,
                                "Show a model's inputs, outputs, nodes with their shapes, "
                                "and the default layer for explanations.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "gaze-cli info: %s\n", error->message);
      return 2;
    }
  if (rest == NULL || rest[0] == NULL || rest[1] != NULL)
    {
      fprintf (stderr, "gaze-cli info: expected exactly one MODEL.onnx (see --help)\n");
      return 2;
    }

  const char *path = rest[0];
  GzError err = { 0 };
  GzModel *model = NULL;
  g_autofree char *architecture = gaze_io_sidecar_architecture (path); /* issue 20 */
  if (gz_model_load_arch (path, architecture, NULL, &model, &err) != GZ_OK)
    {
      g_autofree char *prefix = g_strdup_printf ("gaze-cli info: %s: ", path);
      gz_cli_fail (prefix, err.message);
      return 1;
    }
  /* issue 19: the sidecar's "layout" changes the input shape shown. */
  GazeIoOverrides sidecar;
  gaze_io_overrides_init (&sidecar);
  if (!gaze_io_sidecar_read (path, &sidecar, &error)
      || !gaze_io_overrides_apply_layout (model, &sidecar, NULL, &error)
      || !gaze_io_overrides_apply_input_size (model, &sidecar, NULL, &error))
    {
      fprintf (stderr, "gaze-cli info: %s\n", error->message);
      gaze_io_overrides_clear (&sidecar);
      gz_model_free (model);
      return 1;
    }
  gaze_io_overrides_clear (&sidecar);
  if (json)
    print_json (path, model);
  else
    print_text (path, model);
  gz_model_free (model);
  return 0;
}
