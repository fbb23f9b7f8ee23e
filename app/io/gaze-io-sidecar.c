/* gaze-io-sidecar.c — MODEL.json next to MODEL.onnx: preprocessing and labels
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-io"

#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "gaze-io-image.h"
#include "gaze-io-sidecar.h"

#define SIDECAR_MAX_BYTES (16 * 1024 * 1024)

char *
gaze_io_sidecar_path (const char *model_path)
{
  g_autofree char *base = g_path_get_basename (model_path);
  const char *dot = strrchr (base, '.');
  gsize stem = dot != NULL && dot != base ? (gsize) (dot - base) : strlen (base);
  g_autofree char *dir = g_path_get_dirname (model_path);
  g_autofree char *name = g_strdup_printf ("%.*s.json", (int) stem, base);
  return g_build_filename (dir, name, NULL);
}

static gboolean
invalid (GError **error, const char *file, const char *key, const char *what)
{
  g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "%s: \"%s\" must be %s", file, key,
               what);
  return FALSE;
}

static gboolean
node_number (JsonNode *node, double *out)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  GType t = json_node_get_value_type (node);
  if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
    return FALSE;
  *out = json_node_get_double (node);
  return TRUE;
}

static gboolean
node_int (JsonNode *node, int lo, int hi, int *out)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  gint64 v = json_node_get_int (node);
  if (v < lo || v > hi)
    return FALSE;
  *out = (int) v;
  return TRUE;
}

/* N (square) or [height, width]. */
static gboolean
node_crop (JsonNode *node, int *width, int *height)
{
  if (node_int (node, 1, 16384, width))
    {
      *height = *width;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  JsonArray *a = json_node_get_array (node);
  return json_array_get_length (a) == 2
      && node_int (json_array_get_element (a, 0), 1, 16384, height)
      && node_int (json_array_get_element (a, 1), 1, 16384, width);
}

/* An array of 3 numbers, or of 1 (repeated: single-channel models). */
static gboolean
node_triple (JsonNode *node, float out[3])
{
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  JsonArray *a = json_node_get_array (node);
  guint n = json_array_get_length (a);
  if (n != 3 && n != 1)
    return FALSE;
  for (guint i = 0; i < 3; i++)
    {
      double v;
      if (!node_number (json_array_get_element (a, n == 1 ? 0 : i), &v))
        return FALSE;
      out[i] = (float) v;
    }
  return TRUE;
}

static gboolean
read_labels_node (JsonNode *node, const char *model_dir, const char *file, GazeIoOverrides *s,
                  GError **error)
{
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    {
      const char *name = json_node_get_string (node);
      g_autofree char *path
          = g_path_is_absolute (name) ? g_strdup (name) : g_build_filename (model_dir, name, NULL);
      GStrv labels = gaze_io_labels_read (path, error);
      if (labels == NULL)
        {
          g_prefix_error (error, "%s: ", file);
          return FALSE;
        }
      s->labels = labels;
      s->labels_path = g_steal_pointer (&path);
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return invalid (error, file, "labels", "a file name or an array of strings");
  JsonArray *a = json_node_get_array (node);
  guint n = json_array_get_length (a);
  if (n == 0)
    return invalid (error, file, "labels", "a file name or a non-empty array of strings");
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
        return invalid (error, file, "labels", "a file name or an array of strings");
      g_strv_builder_add (b, json_node_get_string (e));
    }
  s->labels = g_strv_builder_end (b);
  s->labels_path = g_strdup ("inline");
  return TRUE;
}

/* json-glib parses recursively: a deeply nested file overflows the stack
 * (a crash, not an error). The sidecar needs depth 2; refuse beyond this. */
#define SIDECAR_MAX_DEPTH 32

static gboolean
nesting_ok (const char *text, gsize len)
{
  int depth = 0;
  gboolean in_string = FALSE;
  for (gsize i = 0; i < len; i++)
    {
      char c = text[i];
      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '[' || c == '{')
        {
          if (++depth > SIDECAR_MAX_DEPTH)
            return FALSE;
        }
      else if (c == ']' || c == '}')
        depth--;
    }
  return TRUE;
}

gboolean
gaze_io_sidecar_parse (const char *text, gsize len, const char *model_dir, const char *path,
                       GazeIoOverrides *s, gboolean *have_labels_key, GError **error)
{
  if (have_labels_key != NULL)
    *have_labels_key = FALSE;
  if (len > SIDECAR_MAX_BYTES)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "%s: too large", path);
      return FALSE;
    }
  if (!nesting_ok (text, len))
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "%s: nested deeper than %d levels",
                   path, SIDECAR_MAX_DEPTH);
      return FALSE;
    }
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_data (parser, text, (gssize) len, &local))
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "%s: not valid JSON: %s", path,
                   local->message);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "%s: not a JSON object", path);
      return FALSE;
    }
  JsonObject *o = json_node_get_object (root);
  JsonNode *n;
  if ((n = json_object_get_member (o, "mean")) != NULL)
    {
      if (!node_triple (n, s->mean))
        return invalid (error, path, "mean", "an array of 3 numbers");
      s->has_mean = TRUE;
    }
  if ((n = json_object_get_member (o, "std")) != NULL)
    {
      if (!node_triple (n, s->std) || s->std[0] == 0 || s->std[1] == 0 || s->std[2] == 0)
        return invalid (error, path, "std", "an array of 3 non-zero numbers");
      s->has_std = TRUE;
    }
  if ((n = json_object_get_member (o, "resize")) != NULL)
    {
      if (!node_int (n, 1, 65536, &s->resize))
        return invalid (error, path, "resize", "an integer from 1 to 65536");
      s->has_resize = TRUE;
    }
  if ((n = json_object_get_member (o, "crop")) != NULL)
    {
      if (!node_crop (n, &s->crop_width, &s->crop_height))
        return invalid (error, path, "crop", "an integer or [height, width] from 1 to 16384");
      s->has_crop = TRUE;
    }
  if ((n = json_object_get_member (o, "stretch")) != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
        return invalid (error, path, "stretch", "true or false");
      s->stretch = json_node_get_boolean (n);
      s->has_stretch = TRUE;
    }
  if ((n = json_object_get_member (o, "channels")) != NULL)
    {
      if (!node_int (n, 1, 3, &s->channels) || s->channels == 2)
        return invalid (error, path, "channels", "1 or 3");
      s->has_channels = TRUE;
    }
  /* ---- Output head (issue 14): "output" and "threshold" ---- */
  if ((n = json_object_get_member (o, "output")) != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING
          || !gz_output_kind_from_name (json_node_get_string (n), &s->output))
        return invalid (error, path, "output",
                        "\"softmax\", \"log-softmax\", \"sigmoid\", \"multilabel\" or "
                        "\"logits\"");
      s->has_output = TRUE;
    }
  if ((n = json_object_get_member (o, "threshold")) != NULL)
    {
      double t = NAN;
      if (JSON_NODE_HOLDS_VALUE (n)
          && (json_node_get_value_type (n) == G_TYPE_DOUBLE
              || json_node_get_value_type (n) == G_TYPE_INT64))
        t = json_node_get_double (n);
      if (!(t > 0.0 && t < 1.0))
        return invalid (error, path, "threshold", "a number between 0 and 1 (exclusive)");
      s->threshold = t;
      s->has_threshold = TRUE;
    }
  /* ---- end output head ---- */
  /* -- Resampler (issue 19) -- */
  if ((n = json_object_get_member (o, "resize_backend")) != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING
          || !gaze_io_resize_backend_parse (json_node_get_string (n), &s->resize_backend))
        return invalid (error, path, "resize_backend", "\"pil\" or \"tensor\"");
      s->has_resize_backend = TRUE;
    }
  if ((n = json_object_get_member (o, "interpolation")) != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING
          || !gaze_io_interpolation_parse (json_node_get_string (n), &s->interpolation))
        return invalid (error, path, "interpolation", "\"bilinear\" or \"bicubic\"");
      s->has_interpolation = TRUE;
    }
  /* -- end resampler -- */
  /* issue 19: Keras/TensorFlow conventions. */
  if ((n = json_object_get_member (o, "channel_order")) != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING
          || !gaze_io_channel_order_parse (json_node_get_string (n), &s->bgr))
        return invalid (error, path, "channel_order", "\"rgb\" or \"bgr\"");
      s->has_channel_order = TRUE;
    }
  if ((n = json_object_get_member (o, "scale")) != NULL)
    {
      double v;
      if (!node_number (n, &v) || !(v > 0.0) || !isfinite ((float) v))
        return invalid (error, path, "scale", "a positive number");
      s->scale = (float) v;
      s->has_scale = TRUE;
    }
  if ((n = json_object_get_member (o, "layout")) != NULL)
    {
      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING
          || !gz_input_layout_from_name (json_node_get_string (n), &s->layout))
        return invalid (error, path, "layout", "\"nchw\" or \"nhwc\"");
      s->has_layout = TRUE;
    }
  if ((n = json_object_get_member (o, "input_size")) != NULL)
    {
      if (!node_crop (n, &s->input_width, &s->input_height))
        return invalid (error, path, "input_size", "an integer or [height, width] from 1 to 16384");
      s->has_input_size = TRUE;
    }
  /* issue 14: "window": [center, width] (modality units), "frame": N. */
  if ((n = json_object_get_member (o, "window")) != NULL)
    {
      JsonArray *a = JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
      double c, w;
      if (a == NULL || json_array_get_length (a) != 2
          || !node_number (json_array_get_element (a, 0), &c)
          || !node_number (json_array_get_element (a, 1), &w) || !(w > 0))
        return invalid (error, path, "window", "[center, width] with a width above 0");
      s->window_center = c;
      s->window_width = w;
      s->has_window = TRUE;
    }
  if ((n = json_object_get_member (o, "frame")) != NULL)
    {
      if (!node_int (n, 0, G_MAXINT, &s->frame))
        return invalid (error, path, "frame", "an integer from 0");
      s->has_frame = TRUE;
    }
  if ((n = json_object_get_member (o, "labels")) != NULL)
    {
      if (!read_labels_node (n, model_dir, path, s, error))
        return FALSE;
      if (have_labels_key != NULL)
        *have_labels_key = TRUE;
    }
  return TRUE;
}

gboolean
gaze_io_sidecar_read (const char *model_path, GazeIoOverrides *s, GError **error)
{
  g_autofree char *path = gaze_io_sidecar_path (model_path);
  g_autofree char *dir = g_path_get_dirname (model_path);
  gboolean have_labels_key = FALSE;

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *text = NULL;
      gsize len;
      if (!gaze_io_read_regular_file (path, SIDECAR_MAX_BYTES, &text, &len, error))
        return FALSE;
      if (!gaze_io_sidecar_parse (text, len, dir, path, s, &have_labels_key, error))
        return FALSE;
    }

  if (!have_labels_key)
    {
      g_autofree char *labels = g_build_filename (dir, "labels.txt", NULL);
      if (g_file_test (labels, G_FILE_TEST_IS_REGULAR))
        {
          s->labels = gaze_io_labels_read (labels, error);
          if (s->labels == NULL)
            return FALSE;
          s->labels_path = g_steal_pointer (&labels);
        }
    }
  return TRUE;
}

static void
append_json_string (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (const char *p = s; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (out, "\\%c", *p);
      else if ((guchar) *p < 0x20)
        g_string_append_printf (out, "\\u%04x", (guchar) *p);
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static void
append_triple (GString *out, const char *key, const float v[3])
{
  char a[3][G_ASCII_DTOSTR_BUF_SIZE];
  for (int i = 0; i < 3; i++)
    g_ascii_formatd (a[i], sizeof a[i], "%.6g", v[i]);
  g_string_append_printf (out, "  \"%s\": [%s, %s, %s],\n", key, a[0], a[1], a[2]);
}

/* The inline "labels" array of the sidecar on disk, NULL when it has none
 * (or cannot be read: then there is nothing to keep). */
static GStrv
existing_inline_labels (const char *model_path)
{
  g_autofree char *path = gaze_io_sidecar_path (model_path);
  g_autofree char *dir = g_path_get_dirname (model_path);
  g_autofree char *text = NULL;
  gsize len;
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)
      || !gaze_io_read_regular_file (path, SIDECAR_MAX_BYTES, &text, &len, NULL))
    return NULL;
  GazeIoOverrides s;
  gaze_io_overrides_init (&s);
  GStrv labels = NULL;
  if (gaze_io_sidecar_parse (text, len, dir, path, &s, NULL, NULL) && s.labels_path != NULL
      && g_str_equal (s.labels_path, "inline"))
    labels = g_steal_pointer (&s.labels);
  gaze_io_overrides_clear (&s);
  return labels;
}

/* issue 19: the model-shape keys ("layout", "input_size") of the sidecar being
 * replaced, which GzPreprocess does not hold, appended to out. */
static void
append_existing_model_keys (GString *out, const char *model_path)
{
  g_autofree char *path = gaze_io_sidecar_path (model_path);
  g_autofree char *dir = g_path_get_dirname (model_path);
  g_autofree char *text = NULL;
  gsize len;
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)
      || !gaze_io_read_regular_file (path, SIDECAR_MAX_BYTES, &text, &len, NULL))
    return;
  GazeIoOverrides s;
  gaze_io_overrides_init (&s);
  if (gaze_io_sidecar_parse (text, len, dir, path, &s, NULL, NULL))
    {
      if (s.has_layout)
        g_string_append_printf (out, "  \"layout\": \"%s\",\n", gz_input_layout_name (s.layout));
      if (s.has_input_size)
        g_string_append_printf (out, "  \"input_size\": [%d, %d],\n", s.input_height,
                                s.input_width);
    }
  gaze_io_overrides_clear (&s);
}

gboolean
gaze_io_sidecar_write (const char *model_path, const GzPreprocess *pp, const char *labels_path,
                       GError **error)
{
  g_autofree char *path = gaze_io_sidecar_path (model_path);
  g_autoptr (GString) out = g_string_new ("{\n");
  append_triple (out, "mean", pp->mean);
  append_triple (out, "std", pp->std);
  g_string_append_printf (out, "  \"stretch\": %s,\n",
                          pp->mode == GZ_RESIZE_STRETCH ? "true" : "false");
  if (pp->mode == GZ_RESIZE_CROP)
    g_string_append_printf (out, "  \"resize\": %d,\n", pp->resize);
  if (pp->crop_width == pp->crop_height)
    g_string_append_printf (out, "  \"crop\": %d,\n", pp->crop_width);
  else
    g_string_append_printf (out, "  \"crop\": [%d, %d],\n", pp->crop_height, pp->crop_width);
  /* -- Resampler (issue 19): only when not the default (pil, bilinear) -- */
  if (pp->backend != GZ_RESIZE_BACKEND_PIL)
    g_string_append_printf (out, "  \"resize_backend\": \"%s\",\n",
                            gaze_io_resize_backend_name (pp->backend));
  if (pp->filter != GZ_RESIZE_BILINEAR)
    g_string_append_printf (out, "  \"interpolation\": \"%s\",\n",
                            gaze_io_interpolation_name (pp->filter));
  /* -- end resampler -- */
  if (pp->bgr)
    g_string_append (out, "  \"channel_order\": \"bgr\",\n");
  if (pp->scale > 0.0f)
    g_string_append_printf (out, "  \"scale\": %.9g,\n", (double) pp->scale);
  append_existing_model_keys (out, model_path);
  /* Inline labels have no file to point at: keep the array itself. */
  g_auto (GStrv) inline_labels = NULL;
  if (labels_path == NULL || g_str_equal (labels_path, "inline"))
    {
      inline_labels = existing_inline_labels (model_path);
      labels_path = NULL;
    }
  if (inline_labels != NULL)
    {
      g_string_append (out, "  \"labels\": [");
      for (int i = 0; inline_labels[i] != NULL; i++)
        {
          g_string_append (out, i > 0 ? ", " : "");
          append_json_string (out, inline_labels[i]);
        }
      g_string_append (out, "],\n");
    }
  else if (labels_path != NULL)
    {
      g_autofree char *model_dir = g_path_get_dirname (model_path);
      g_autoptr (GFile) dir = g_file_new_for_path (model_dir);
      g_autoptr (GFile) file = g_file_new_for_path (labels_path);
      /* Relative when inside the model's folder (subfolders too), so the pair
       * can be moved together; absolute otherwise. */
      g_autofree char *rel = g_file_get_relative_path (dir, file);
      g_string_append (out, "  \"labels\": ");
      if (rel != NULL)
        append_json_string (out, rel);
      else
        {
          g_autofree char *abs = g_file_get_path (file);
          append_json_string (out, abs);
        }
      g_string_append (out, ",\n");
    }
  g_string_append_printf (out, "  \"channels\": %d\n}\n", pp->channels);
  if (!g_file_set_contents_full (path, out->str, (gssize) out->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644,
                                 error))
    {
      g_prefix_error (error, "cannot write %s: ", path);
      return FALSE;
    }
  return TRUE;
}

/* ---- Issue 20: PyTorch weights ------------------------------------------- */

char *
gaze_io_sidecar_architecture (const char *model_path)
{
  g_autofree char *path = gaze_io_sidecar_path (model_path);
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)
      || !gaze_io_read_regular_file (path, SIDECAR_MAX_BYTES, &text, &len, NULL))
    return NULL;
  /* json-glib recurses once per level: deep nesting would overflow the stack
   * (gaze_io_sidecar_parse reports it; here it only means no architecture). */
  if (!nesting_ok (text, len))
    return NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, (gssize) len, NULL))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  JsonNode *n = json_object_get_member (json_node_get_object (root), "architecture");
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return g_strdup (json_node_get_string (n));
}
