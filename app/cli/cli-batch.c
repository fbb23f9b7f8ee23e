/* cli-batch.c — `gaze-cli batch` and `batch-merge`: a cohort of images, one results table
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The model is loaded once; every image (gaze_io_cohort_collect: folders,
 * files, CSV/TSV manifests) gets a forward, the explanations asked for
 * (--methods × --classes), an overlay PNG (and a .npy map with --maps) and
 * rows in DIR/results.jsonl and DIR/results.csv, sorted by relative path.
 * A bad file is a row with its error.
 *
 * Resuming: when an image is finished, DIR/done/<FNV-1a 64 of its relative
 * path, 16 hex digits>.json records its rows, the outputs it wrote and the
 * settings (model, methods, classes, layer, preprocessing…). A rerun skips an
 * image whose record has the same settings and whose outputs all exist;
 * --force recomputes. Every file is written atomically (a temporary file in
 * the same folder, then rename), so an interrupted run leaves whole files
 * only: on SIGINT/SIGTERM the current image is dropped (a slow method is
 * cancelled), the tables are written for what is done, exit status 130.
 *
 * Sharding: --shard I/N takes the images whose gaze_io_cohort_shard
 * (FNV-1a 64 of the relative path, modulo N) is I; `batch-merge --out DIR
 * SHARD_DIR…` joins the shards' records and outputs into DIR with the table a
 * single run would have written (timings aside).
 *
 * Decoding and preprocessing of the next image run in a second thread while
 * the engine works on the current one (--no-prefetch: one after the other).
 */
#include "config.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cli-batch-report.h"
#include "cli-explain.h"
#include "cli-options.h"
#include "gaze-cli.h"
#include "gaze-io-manifest.h"

#define PREFIX "gaze-cli batch: "
#define MERGE_PREFIX "gaze-cli batch-merge: "
#define MAX_METHODS GZ_METHOD_COUNT
#define MAX_CLASS_SPECS 16

/* ---- Settings ----------------------------------------------------------- */

typedef enum
{
  SPEC_TOP, /* the top-1 class */
  SPEC_INDEX, /* a class index */
  SPEC_LABEL, /* the manifest's label */
  SPEC_POSITIVE, /* every finding at or above the threshold (multi-label) */
} ClassSpecKind;

typedef struct
{
  ClassSpecKind kind;
  int index;
} ClassSpec;

typedef struct
{
  char *model;
  char *out;
  char *methods_text;
  char *classes_text;
  char *layer;
  gboolean maps;
  gboolean no_overlay;
  gboolean force;
  char *shard_text;
  int top_k;
  char *colormap;
  double alpha;
  gboolean quiet;
  gboolean no_prefetch;
  gboolean no_report;

  GzMethod methods[MAX_METHODS];
  int n_methods;
  ClassSpec classes[MAX_CLASS_SPECS];
  int n_classes;
  guint shard, n_shards;
  GzColormap cmap;
} BatchArgs;

static volatile sig_atomic_t interrupted;

static void
on_signal (int sig)
{
  interrupted = 1;
  /* A second Ctrl+C ends the process at once (the outputs stay whole files). */
  signal (sig, SIG_DFL);
}

static bool
cancel_cb (double fraction, void *data)
{
  (void) fraction;
  (void) data;
  return !interrupted;
}

static gboolean
parse_methods (BatchArgs *a, GError **error)
{
  g_auto (GStrv) parts
      = g_strsplit (a->methods_text != NULL ? a->methods_text : "gradcam", ",", -1);
  for (char **p = parts; *p != NULL; p++)
    {
      GzMethod m;
      const char *name = g_strstrip (*p);
      if (!gz_method_from_name (name, &m))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--methods: unknown method '%s' (see --help)", name);
          return FALSE;
        }
      gboolean seen = FALSE;
      for (int i = 0; i < a->n_methods; i++)
        seen = seen || a->methods[i] == m;
      if (!seen)
        a->methods[a->n_methods++] = m;
    }
  return TRUE;
}

static gboolean
parse_classes (BatchArgs *a, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (a->classes_text != NULL ? a->classes_text : "top", ",", -1);
  for (char **p = parts; *p != NULL; p++)
    {
      const char *s = g_strstrip (*p);
      ClassSpec c = { SPEC_TOP, -1 };
      if (strcmp (s, "top") == 0)
        c.kind = SPEC_TOP;
      else if (strcmp (s, "label") == 0)
        c.kind = SPEC_LABEL;
      else if (strcmp (s, "positive") == 0)
        c.kind = SPEC_POSITIVE;
      else
        {
          char *end;
          errno = 0;
          gint64 v = g_ascii_strtoll (s, &end, 10);
          if (errno != 0 || end == s || *end != '\0' || v < 0 || v > G_MAXINT)
            {
              g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--classes: expected top, label, positive or a class index, got '%s'",
                           s);
              return FALSE;
            }
          c.kind = SPEC_INDEX;
          c.index = (int) v;
        }
      if (a->n_classes == MAX_CLASS_SPECS)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--classes: at most %d entries", MAX_CLASS_SPECS);
          return FALSE;
        }
      a->classes[a->n_classes++] = c;
    }
  return TRUE;
}

static gboolean
parse_shard (BatchArgs *a, GError **error)
{
  a->shard = 0;
  a->n_shards = 1;
  if (a->shard_text == NULL)
    return TRUE;
  guint64 i = 0, n = 0;
  char *end;
  const char *s = a->shard_text;
  errno = 0;
  i = g_ascii_strtoull (s, &end, 10);
  if (errno == 0 && end != s && *end == '/')
    {
      s = end + 1;
      n = g_ascii_strtoull (s, &end, 10);
    }
  if (errno != 0 || end == s || *end != '\0' || n < 1 || n > 1000000 || i >= n)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--shard: expected I/N with 0 ≤ I < N, got '%s'", a->shard_text);
      return FALSE;
    }
  a->shard = (guint) i;
  a->n_shards = (guint) n;
  return TRUE;
}

/* What the rows depend on: a record made under other settings is redone. */
static char *
settings_key (const BatchArgs *a, const GzCliModel *m)
{
  GString *s = g_string_new (NULL);
  g_autofree char *model_abs = g_canonicalize_filename (a->model, NULL);
  g_string_append_printf (s, "model=%s;methods=", model_abs);
  for (int i = 0; i < a->n_methods; i++)
    g_string_append_printf (s, "%s%s", i ? "," : "", gz_method_name (a->methods[i]));
  g_string_append (s, ";classes=");
  for (int i = 0; i < a->n_classes; i++)
    g_string_append_printf (s, "%s%d:%d", i ? "," : "", a->classes[i].kind, a->classes[i].index);
  const GzPreprocess *p = &m->pp;
  g_string_append_printf (s,
                          ";layer=%s;maps=%d;overlay=%d;top=%d;cmap=%s;alpha=%g;pp=%d,%d,%d,%d,%d,"
                          "%g,%g,%g,%g,%g,%g,%d,%d;threshold=%g;labels=",
                          a->layer != NULL ? a->layer : "auto", a->maps, !a->no_overlay, a->top_k,
                          gz_colormap_name (a->cmap), a->alpha, p->mode, p->resize, p->crop_width,
                          p->crop_height, p->channels, p->mean[0], p->mean[1], p->mean[2],
                          p->std[0], p->std[1], p->std[2], p->backend, p->filter, m->threshold);
  for (const char *const *l = m->labels; l != NULL && *l != NULL; l++)
    g_string_append_printf (s, "%s\x1f", *l);
  return g_string_free (s, FALSE);
}

/* ---- Small helpers ------------------------------------------------------ */

static void
add_double (JsonBuilder *b, const char *name, double v)
{
  json_builder_set_member_name (b, name);
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

static void
add_string (JsonBuilder *b, const char *name, const char *v)
{
  json_builder_set_member_name (b, name);
  if (v != NULL)
    json_builder_add_string_value (b, v);
  else
    json_builder_add_null_value (b);
}

static void
add_int (JsonBuilder *b, const char *name, gint64 v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, v);
}

static gboolean
ensure_parent (const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", dir, g_strerror (e));
      return FALSE;
    }
  return TRUE;
}

static char *
record_path (const char *dir, const char *relative)
{
  char name[32];
  g_snprintf (name, sizeof name, "%016" G_GINT64_MODIFIER "x.json", gaze_io_fnv1a64 (relative));
  return g_build_filename (dir, "done", name, NULL);
}

/* JSON text of a node, numbers with 6 significant digits (json-glib writes
 * 17: "0.95854399999999995" for 0.958544), so a table reads well and a
 * record parsed and written again (batch-merge) is the same text. */
static void
json_write (GString *s, JsonNode *n)
{
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    {
      g_string_append (s, "null");
      return;
    }
  if (JSON_NODE_HOLDS_OBJECT (n))
    {
      JsonObject *o = json_node_get_object (n);
      g_autoptr (GList) members = json_object_get_members (o); /* in insertion order */
      g_string_append_c (s, '{');
      for (GList *l = members; l != NULL; l = l->next)
        {
          g_autofree char *key = g_strescape (l->data, NULL);
          g_string_append_printf (s, "%s\"%s\":", l != members ? "," : "", key);
          json_write (s, json_object_get_member (o, l->data));
        }
      g_string_append_c (s, '}');
      return;
    }
  if (JSON_NODE_HOLDS_ARRAY (n))
    {
      JsonArray *a = json_node_get_array (n);
      g_string_append_c (s, '[');
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          if (i > 0)
            g_string_append_c (s, ',');
          json_write (s, json_array_get_element (a, i));
        }
      g_string_append_c (s, ']');
      return;
    }
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_STRING)
    {
      g_string_append_c (s, '"');
      for (const unsigned char *p = (const unsigned char *) json_node_get_string (n); *p; p++)
        {
          if (*p == '"' || *p == '\\')
            g_string_append_printf (s, "\\%c", *p);
          else if (*p == '\n')
            g_string_append (s, "\\n");
          else if (*p < 0x20)
            g_string_append_printf (s, "\\u%04x", *p);
          else
            g_string_append_c (s, (char) *p);
        }
      g_string_append_c (s, '"');
    }
  else if (t == G_TYPE_INT64)
    g_string_append_printf (s, "%" G_GINT64_FORMAT, json_node_get_int (n));
  else if (t == G_TYPE_BOOLEAN)
    g_string_append (s, json_node_get_boolean (n) ? "true" : "false");
  else
    {
      double v = json_node_get_double (n);
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      if (isfinite (v))
        g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.6g", v));
      else
        g_string_append (s, "null");
    }
}

static char *
node_to_string (JsonNode *node)
{
  GString *s = g_string_new (NULL);
  json_write (s, node);
  return g_string_free (s, FALSE);
}

/* The class index a manifest label names (a class name or an index), or -1. */
static int
label_class (const GzCliModel *m, const char *label, int n_classes)
{
  if (label == NULL)
    return -1;
  int i = 0;
  for (const char *const *l = m->labels; l != NULL && *l != NULL; l++, i++)
    if (strcmp (*l, label) == 0)
      return i;
  char *end;
  errno = 0;
  gint64 v = g_ascii_strtoll (label, &end, 10);
  if (errno == 0 && end != label && *end == '\0' && v >= 0 && v < n_classes)
    return (int) v;
  return -1;
}

/* ---- Map statistics ----------------------------------------------------- */

typedef struct
{
  int peak_x, peak_y; /* image pixels; -1 when the map is empty */
  double entropy; /* normalised: 0 = one pixel, 1 = uniform; NaN for an empty map */
  double roi_energy; /* share of the map's sum inside the roi; NaN without a roi */
  int pointing_hit; /* the peak inside the roi: 1/0; -1 without a roi */
} MapStats;

static void
map_stats (const GzTensor *map, const GzTensor *on_image, const GazeIoCohortItem *it, MapStats *s)
{
  s->peak_x = s->peak_y = -1;
  s->entropy = s->roi_energy = NAN;
  s->pointing_hit = -1;
  /* Entropy of the map (at model input resolution) as a distribution. */
  int64_t n = gz_tensor_numel (map);
  const float *v = gz_tensor_f (map);
  double sum = 0;
  for (int64_t i = 0; i < n; i++)
    if (v[i] > 0)
      sum += v[i];
  if (sum > 0 && n > 1)
    {
      double h = 0;
      for (int64_t i = 0; i < n; i++)
        if (v[i] > 0)
          {
            double p = v[i] / sum;
            h -= p * log (p);
          }
      s->entropy = h / log ((double) n);
    }
  /* Peak and ROI on the map projected onto the photo (NaN: not seen). */
  int h = (int) on_image->dims[0], w = (int) on_image->dims[1];
  const float *q = gz_tensor_f (on_image);
  float best = -INFINITY;
  double total = 0, inside = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        float f = q[(gsize) y * w + x];
        if (!isfinite (f))
          continue;
        if (f > best)
          {
            best = f;
            s->peak_x = x;
            s->peak_y = y;
          }
        if (f > 0)
          {
            total += f;
            if (it->has_roi && x >= it->roi[0] && y >= it->roi[1]
                && (gint64) x < (gint64) it->roi[0] + it->roi[2]
                && (gint64) y < (gint64) it->roi[1] + it->roi[3])
              inside += f;
          }
      }
  if (it->has_roi)
    {
      s->roi_energy = total > 0 ? inside / total : NAN;
      s->pointing_hit = s->peak_x >= 0 && s->peak_x >= it->roi[0] && s->peak_y >= it->roi[1]
          && (gint64) s->peak_x < (gint64) it->roi[0] + it->roi[2]
          && (gint64) s->peak_y < (gint64) it->roi[1] + it->roi[3];
    }
}

/* ---- Decoding, one image ahead ------------------------------------------ */

typedef struct
{
  guint index; /* into the to-do list */
  GzTensor *input;
  GzGeometry geometry;
  GazeIoImage *image;
  GError *error;
  double decode_ms;
} Loaded;

static void
loaded_free (Loaded *l)
{
  if (l == NULL)
    return;
  gz_tensor_free (l->input);
  gaze_io_image_free (l->image);
  g_clear_error (&l->error);
  g_free (l);
}

typedef struct
{
  const GzCliModel *m;
  const GzCliOptions *opts;
  GazeIoCohortItem **todo;
  guint n_todo;
  GAsyncQueue *tokens; /* one token: decode one more */
  GAsyncQueue *done; /* Loaded, in order */
  gint stop;
} Prefetch;

static Loaded *
load_one (const GzCliModel *m, const GzCliOptions *opts, const GazeIoCohortItem *it, guint index)
{
  Loaded *l = g_new0 (Loaded, 1);
  l->index = index;
  if (it->error != NULL)
    {
      l->error = g_error_new_literal (GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, it->error);
      return l;
    }
  double t0 = (double) g_get_monotonic_time () / 1000.0;
  gz_cli_model_input (m, opts, it->path, &l->input, &l->geometry, &l->image, &l->error);
  l->decode_ms = (double) g_get_monotonic_time () / 1000.0 - t0;
  return l;
}

static gpointer
prefetch_thread (gpointer data)
{
  Prefetch *p = data;
  for (guint i = 0; i < p->n_todo; i++)
    {
      g_async_queue_pop (p->tokens);
      if (g_atomic_int_get (&p->stop))
        break;
      g_async_queue_push (p->done, load_one (p->m, p->opts, p->todo[i], i));
    }
  return NULL;
}

/* ---- One image ---------------------------------------------------------- */

typedef struct
{
  BatchArgs *a;
  GzCliModel *m;
  GzSession *session;
  const char *keep;
} Worker;

/* The image-level part of every row of an image. */
static void
begin_row (JsonBuilder *b, const GazeIoCohortItem *it, const char *status, const char *error,
           const GazeIoImage *image, int label_cls)
{
  json_builder_begin_object (b);
  add_string (b, "path", it->relative);
  add_string (b, "status", status);
  add_string (b, "error", error);
  json_builder_set_member_name (b, "warnings");
  json_builder_begin_array (b);
  for (char **w = image != NULL ? image->warnings : NULL; w != NULL && *w != NULL; w++)
    json_builder_add_string_value (b, *w);
  json_builder_end_array (b);
  add_string (b, "label", it->label);
  json_builder_set_member_name (b, "label_class");
  if (label_cls >= 0)
    json_builder_add_int_value (b, label_cls);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "roi");
  if (it->has_roi)
    {
      json_builder_begin_array (b);
      for (int i = 0; i < 4; i++)
        json_builder_add_int_value (b, it->roi[i]);
      json_builder_end_array (b);
    }
  else
    json_builder_add_null_value (b);
}

static void
error_row (JsonArray *rows, const GazeIoCohortItem *it, const char *message, double decode_ms)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  begin_row (b, it, "error", message, NULL, -1);
  json_builder_set_member_name (b, "timings_ms");
  json_builder_begin_object (b);
  add_double (b, "decode", decode_ms);
  json_builder_end_object (b);
  json_builder_end_object (b);
  json_array_add_element (rows, json_builder_get_root (b));
}

/* The rows of one decoded image (error rows included); FALSE when
 * interrupted (nothing of the image is kept). outputs gets the files written,
 * relative to the output folder. */
static gboolean
process (Worker *w, const GazeIoCohortItem *it, Loaded *l, JsonArray *rows, GPtrArray *outputs)
{
  BatchArgs *a = w->a;
  GzCliModel *m = w->m;
  GzError err = { 0 };
  if (l->error != NULL)
    {
      error_row (rows, it, l->error->message, l->decode_ms);
      return TRUE;
    }
  double t0 = (double) g_get_monotonic_time () / 1000.0;
  if (gz_session_forward (w->session, l->input, w->keep, &err) != GZ_OK)
    {
      g_autofree char *msg = g_strdup_printf ("%s: %s", it->path, err.message);
      error_row (rows, it, msg, l->decode_ms);
      return TRUE;
    }
  double forward_ms = (double) g_get_monotonic_time () / 1000.0 - t0;
  const GzTensor *lt = gz_session_output (w->session);
  int64_t n_out = gz_tensor_numel (lt);
  GzOutputKind kind = gz_model_output_kind (m->model);
  int k = (int) MIN ((int64_t) a->top_k, n_out);
  g_autofree GzClassScore *top = g_new0 (GzClassScore, MAX (k, 1));
  k = gz_logits_top_k (gz_tensor_f (lt), n_out, k, kind, top);
  int lab = label_class (m, it->label, (int) MIN (n_out, (int64_t) G_MAXINT));

  /* The classes of this image, in --classes order, each once. */
  g_autoptr (GArray) classes = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr (GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  for (int s = 0; s < a->n_classes; s++)
    {
      const ClassSpec *c = &a->classes[s];
      g_autoptr (GArray) add = g_array_new (FALSE, FALSE, sizeof (int));
      if (c->kind == SPEC_TOP && k > 0)
        {
          int v = (int) top[0].index;
          g_array_append_val (add, v);
        }
      else if (c->kind == SPEC_INDEX)
        {
          if (c->index < n_out)
            g_array_append_val (add, c->index);
          else
            g_ptr_array_add (notes,
                             g_strdup_printf ("class %d: the model has %" G_GINT64_FORMAT
                                              " outputs",
                                              c->index, n_out));
        }
      else if (c->kind == SPEC_LABEL)
        {
          if (lab >= 0)
            g_array_append_val (add, lab);
          else if (it->label != NULL)
            g_ptr_array_add (
                notes, g_strdup_printf ("label \"%s\" is not a class of the model", it->label));
        }
      else if (c->kind == SPEC_POSITIVE && kind == GZ_OUTPUT_SIGMOID)
        {
          g_autofree GzClassScore *all = g_new (GzClassScore, n_out);
          int got = gz_logits_top_k (gz_tensor_f (lt), n_out, (int) n_out, kind, all);
          for (int i = 0; i < got; i++)
            if (all[i].probability >= m->threshold)
              {
                int v = (int) all[i].index;
                g_array_append_val (add, v);
              }
        }
      else if (c->kind == SPEC_POSITIVE)
        g_ptr_array_add (notes, g_strdup ("--classes positive needs a multi-label model"));
      for (guint i = 0; i < add->len; i++)
        {
          int v = g_array_index (add, int, i);
          gboolean seen = FALSE;
          for (guint j = 0; j < classes->len; j++)
            seen = seen || g_array_index (classes, int, j) == v;
          if (!seen)
            g_array_append_val (classes, v);
        }
    }

  int top1 = k > 0 ? (int) top[0].index : -1;
  guint rows_before = json_array_get_length (rows);
  for (int mi = 0; mi < a->n_methods; mi++)
    for (guint ci = 0; ci < classes->len; ci++)
      {
        int cls = g_array_index (classes, int, ci);
        GzExplainOptions eo = GZ_EXPLAIN_OPTIONS_INIT;
        eo.method = a->methods[mi];
        eo.class_index = cls;
        eo.layer = a->layer;
        eo.progress = cancel_cb;
        GzExplanation *ex = NULL;
        GzStatus st = gz_explain (w->session, &eo, &ex, &err);
        if (st == GZ_ERR_CANCELLED || interrupted)
          {
            gz_explanation_free (ex);
            return FALSE;
          }
        g_autofree char *error = NULL;
        g_autofree char *overlay = NULL, *npy = NULL;
        MapStats ms = { -1, -1, NAN, NAN, -1 };
        if (st != GZ_OK)
          error = g_strdup (err.message);
        else
          {
            g_autofree char *stem
                = g_strdup_printf ("%s.%s.c%d", it->relative, gz_method_name (a->methods[mi]), cls);
            GzTensor *on_image = gz_map_project (ex->map, &l->geometry, &err);
            if (on_image == NULL)
              error = g_strdup (err.message);
            else
              {
                map_stats (ex->map, on_image, it, &ms);
                gz_tensor_free (on_image);
              }
            g_autoptr (GError) e = NULL;
            if (error == NULL && a->maps)
              {
                npy = g_strdup_printf ("maps/%s.npy", stem);
                g_autofree char *p = g_build_filename (a->out, npy, NULL);
                if (!ensure_parent (p, &e))
                  error = g_strdup (e->message);
                else if (gz_npy_write (p, ex->map, &err) != GZ_OK)
                  error = g_strdup (err.message);
                else
                  g_ptr_array_add (outputs, g_strdup (npy));
              }
            if (error == NULL && !a->no_overlay)
              {
                overlay = g_strdup_printf ("overlays/%s.png", stem);
                g_autofree char *p = g_build_filename (a->out, overlay, NULL);
                if (!ensure_parent (p, &e)
                    || !gz_cli_write_overlay (p, ex, &l->geometry, l->image, a->cmap,
                                              (float) a->alpha, 0.0f, &e))
                  error = g_strdup (e->message);
                else
                  g_ptr_array_add (outputs, g_strdup (overlay));
              }
          }
        g_autoptr (JsonBuilder) b = json_builder_new ();
        begin_row (b, it, error == NULL ? "ok" : "error", error, l->image, lab);
        add_string (b, "method", gz_method_name (a->methods[mi]));
        add_string (b, "layer", ex != NULL ? ex->layer : NULL);
        add_int (b, "class", cls);
        char buf[32];
        add_string (b, "class_label", gaze_io_label_for (m->labels, cls, buf, sizeof buf));
        add_double (b, "logit", gz_tensor_f (lt)[cls]);
        add_double (b, "probability", gz_logits_probability (gz_tensor_f (lt), n_out, cls, kind));
        json_builder_set_member_name (b, "correct");
        if (lab >= 0)
          json_builder_add_boolean_value (b, top1 == lab);
        else
          json_builder_add_null_value (b);
        json_builder_set_member_name (b, "top");
        json_builder_begin_array (b);
        for (int i = 0; i < k; i++)
          {
            json_builder_begin_object (b);
            add_int (b, "class", top[i].index);
            add_string (b, "label",
                        gaze_io_label_for (m->labels, (int) top[i].index, buf, sizeof buf));
            add_double (b, "probability", top[i].probability);
            json_builder_end_object (b);
          }
        json_builder_end_array (b);
        add_int (b, "image_width", l->image != NULL ? l->image->image.width : 0);
        add_int (b, "image_height", l->image != NULL ? l->image->image.height : 0);
        json_builder_set_member_name (b, "peak");
        if (ms.peak_x >= 0)
          {
            json_builder_begin_array (b);
            json_builder_add_int_value (b, ms.peak_x);
            json_builder_add_int_value (b, ms.peak_y);
            json_builder_end_array (b);
          }
        else
          json_builder_add_null_value (b);
        add_double (b, "entropy", ms.entropy);
        add_double (b, "roi_energy", ms.roi_energy);
        json_builder_set_member_name (b, "pointing_hit");
        if (ms.pointing_hit >= 0)
          json_builder_add_boolean_value (b, ms.pointing_hit);
        else
          json_builder_add_null_value (b);
        add_string (b, "overlay", overlay);
        add_string (b, "map", npy);
        json_builder_set_member_name (b, "timings_ms");
        json_builder_begin_object (b);
        add_double (b, "decode", l->decode_ms);
        add_double (b, "forward", forward_ms + (ex != NULL ? ex->forward_ms : 0));
        add_double (b, "backward", ex != NULL ? ex->backward_ms : NAN);
        add_double (b, "method", ex != NULL ? ex->method_ms : NAN);
        add_double (b, "total", forward_ms + (ex != NULL ? ex->total_ms : 0));
        json_builder_end_object (b);
        json_builder_end_object (b);
        json_array_add_element (rows, json_builder_get_root (b));
        gz_explanation_free (ex);
      }
  if (json_array_get_length (rows) == rows_before)
    {
      /* Nothing to explain (no positive finding, a label the model lacks…). */
      g_autoptr (GString) msg = g_string_new ("no class to explain");
      for (guint i = 0; i < notes->len; i++)
        g_string_append_printf (msg, "%s%s", i ? "; " : ": ", (char *) notes->pdata[i]);
      g_autoptr (JsonBuilder) b = json_builder_new ();
      begin_row (b, it, "skipped", msg->str, l->image, lab);
      json_builder_end_object (b);
      json_array_add_element (rows, json_builder_get_root (b));
    }
  return TRUE;
}

/* ---- Records and tables ------------------------------------------------- */

/* The rows of a valid record for `relative` made under `key` whose outputs
 * all exist in dir, or NULL. */
static JsonArray *
read_record (const char *dir, const char *relative, const char *key)
{
  g_autofree char *path = record_path (dir, relative);
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_file (parser, path, NULL))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  JsonObject *o = json_node_get_object (root);
  if (g_strcmp0 (json_object_get_string_member_with_default (o, "relative", ""), relative) != 0
      || g_strcmp0 (json_object_get_string_member_with_default (o, "settings", ""), key) != 0
      || !json_object_has_member (o, "outputs") || !json_object_has_member (o, "rows"))
    return NULL;
  JsonArray *outs = json_object_get_array_member (o, "outputs");
  JsonArray *rows = json_object_get_array_member (o, "rows");
  if (outs == NULL || rows == NULL)
    return NULL;
  for (guint i = 0; i < json_array_get_length (outs); i++)
    {
      const char *rel = json_array_get_string_element (outs, i);
      g_autofree char *p = rel != NULL ? g_build_filename (dir, rel, NULL) : NULL;
      if (p == NULL || !g_file_test (p, G_FILE_TEST_IS_REGULAR))
        return NULL;
    }
  return json_array_ref (rows);
}

static gboolean
write_record (const char *dir, const char *relative, const char *key, JsonArray *rows,
              GPtrArray *outputs, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_string (b, "relative", relative);
  add_string (b, "settings", key);
  json_builder_set_member_name (b, "outputs");
  json_builder_begin_array (b);
  for (guint i = 0; i < outputs->len; i++)
    json_builder_add_string_value (b, outputs->pdata[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "rows");
  json_builder_add_value (b, json_node_init_array (json_node_alloc (), rows));
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = node_to_string (root);
  g_autofree char *path = record_path (dir, relative);
  return ensure_parent (path, error) && g_file_set_contents (path, text, -1, error);
}

static void
csv_field (GString *s, const char *v)
{
  if (v == NULL)
    return;
  if (strpbrk (v, ",\"\r\n") == NULL)
    {
      g_string_append (s, v);
      return;
    }
  g_string_append_c (s, '"');
  for (const char *p = v; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (s, '"');
      g_string_append_c (s, *p);
    }
  g_string_append_c (s, '"');
}

/* A JSON value as CSV text: strings as they are, numbers and booleans as
 * JSON writes them, null as an empty field. */
static char *
csv_value (JsonNode *n)
{
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return NULL;
  if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (n));
  return node_to_string (n);
}

static const char *const csv_columns[] = {
  "path",        "status",       "error",       "warnings", "label",
  "label_class", "roi",          "method",      "layer",    "class",
  "class_label", "logit",        "probability", "correct",  "top",
  "image_width", "image_height", "peak_x",      "peak_y",   "entropy",
  "roi_energy",  "pointing_hit", "overlay",     "map",      NULL,
};
static const char *const csv_timings[]
    = { "decode", "forward", "backward", "method", "total", NULL };

static void
csv_row (GString *s, JsonObject *o)
{
  for (int c = 0; csv_columns[c] != NULL; c++)
    {
      const char *col = csv_columns[c];
      g_autofree char *v = NULL;
      if (c > 0)
        g_string_append_c (s, ',');
      if (strcmp (col, "peak_x") == 0 || strcmp (col, "peak_y") == 0)
        {
          JsonArray *p = json_object_has_member (o, "peak")
              ? json_node_get_array (json_object_get_member (o, "peak"))
              : NULL;
          if (p != NULL && json_array_get_length (p) == 2)
            v = g_strdup_printf ("%" G_GINT64_FORMAT,
                                 json_array_get_int_element (p, col[5] == 'x' ? 0 : 1));
        }
      else if (strcmp (col, "warnings") == 0 && json_object_has_member (o, col))
        {
          JsonArray *ws = json_object_get_array_member (o, col);
          GString *j = g_string_new (NULL);
          for (guint i = 0; ws != NULL && i < json_array_get_length (ws); i++)
            g_string_append_printf (j, "%s%s", i ? "; " : "",
                                    json_array_get_string_element (ws, i));
          v = g_string_free (j, FALSE);
        }
      else if (strcmp (col, "roi") == 0 && json_object_has_member (o, col)
               && JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, col)))
        {
          JsonArray *r = json_object_get_array_member (o, col);
          v = g_strdup_printf (
              "%" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT,
              json_array_get_int_element (r, 0), json_array_get_int_element (r, 1),
              json_array_get_int_element (r, 2), json_array_get_int_element (r, 3));
        }
      else if (strcmp (col, "top") == 0 && json_object_has_member (o, col)
               && JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, col)))
        {
          /* "class:label:probability;…" */
          JsonArray *t = json_object_get_array_member (o, col);
          GString *j = g_string_new (NULL);
          for (guint i = 0; i < json_array_get_length (t); i++)
            {
              JsonObject *e = json_array_get_object_element (t, i);
              g_autofree char *p = csv_value (json_object_get_member (e, "probability"));
              g_string_append_printf (j, "%s%" G_GINT64_FORMAT ":%s:%s", i ? ";" : "",
                                      json_object_get_int_member (e, "class"),
                                      json_object_get_string_member (e, "label"), p ? p : "");
            }
          v = g_string_free (j, FALSE);
        }
      else if (json_object_has_member (o, col))
        v = csv_value (json_object_get_member (o, col));
      csv_field (s, v);
    }
  JsonObject *t = json_object_has_member (o, "timings_ms")
      ? json_object_get_object_member (o, "timings_ms")
      : NULL;
  for (int c = 0; csv_timings[c] != NULL; c++)
    {
      g_autofree char *v = t != NULL && json_object_has_member (t, csv_timings[c])
          ? csv_value (json_object_get_member (t, csv_timings[c]))
          : NULL;
      g_string_append_c (s, ',');
      csv_field (s, v);
    }
  g_string_append_c (s, '\n');
}

/* results.jsonl and results.csv from the rows of every finished image
 * (NULL entries: not done), in order. */
static gboolean
write_tables (const char *dir, JsonArray **rows, guint n, GError **error)
{
  g_autoptr (GString) jsonl = g_string_new (NULL);
  g_autoptr (GString) csv = g_string_new (NULL);
  for (int c = 0; csv_columns[c] != NULL; c++)
    g_string_append_printf (csv, "%s%s", c ? "," : "", csv_columns[c]);
  for (int c = 0; csv_timings[c] != NULL; c++)
    g_string_append_printf (csv, ",%s_ms", csv_timings[c]);
  g_string_append_c (csv, '\n');
  for (guint i = 0; i < n; i++)
    for (guint r = 0; rows[i] != NULL && r < json_array_get_length (rows[i]); r++)
      {
        JsonNode *row = json_array_get_element (rows[i], r);
        g_autofree char *text = node_to_string (row);
        g_string_append (jsonl, text);
        g_string_append_c (jsonl, '\n');
        if (JSON_NODE_HOLDS_OBJECT (row))
          csv_row (csv, json_node_get_object (row));
      }
  g_autofree char *pj = g_build_filename (dir, "results.jsonl", NULL);
  g_autofree char *pc = g_build_filename (dir, "results.csv", NULL);
  return g_file_set_contents (pj, jsonl->str, (gssize) jsonl->len, error)
      && g_file_set_contents (pc, csv->str, (gssize) csv->len, error);
}

/* ---- Progress ----------------------------------------------------------- */

typedef struct
{
  gboolean tty, quiet;
  guint total; /* images to compute */
  guint done;
  gint64 start;
} Progress;

static void
progress_show (Progress *p, const char *relative, const char *what)
{
  if (p->quiet)
    return;
  double secs = (double) (g_get_monotonic_time () - p->start) / 1e6;
  double rate = secs > 0 ? p->done / secs : 0;
  if (!p->tty)
    {
      fprintf (stderr, PREFIX "[%u/%u] %s: %s\n", p->done, p->total, relative, what);
      return;
    }
  int width = 30, filled = p->total > 0 ? (int) ((double) p->done / p->total * width) : width;
  char bar[64];
  for (int i = 0; i < width; i++)
    bar[i] = i < filled ? '#' : '.';
  bar[width] = '\0';
  double eta = rate > 0 ? (p->total - p->done) / rate : 0;
  int e = (int) (eta + 0.5);
  fprintf (stderr, "\r\033[K[%s] %u/%u  %.2f img/s  ETA %d:%02d:%02d", bar, p->done, p->total, rate,
           e / 3600, e / 60 % 60, e % 60);
  if (p->done == p->total)
    fprintf (stderr, "\n");
  fflush (stderr);
}

/* ---- gaze-cli batch ----------------------------------------------------- */

int
gz_cli_batch (int argc, char **argv)
{
  GzCliOptions opts;
  gz_cli_options_init (&opts);
  BatchArgs a = { 0 };
  a.alpha = 0.5;
  a.top_k = 5;
  g_auto (GStrv) rest = NULL;
  const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &a.model,
      "The model (ONNX or PyTorch weights, with its MODEL.json)", "MODEL" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &a.out, "The output folder (made when missing)",
      "DIR" },
    { "methods", 'm', 0, G_OPTION_ARG_STRING, &a.methods_text,
      "Comma-separated methods (default gradcam; see 'gaze-cli explain --help')", "M,…" },
    { "classes", 'c', 0, G_OPTION_ARG_STRING, &a.classes_text,
      "Comma-separated classes to explain: top (default: the top-1 class), a class index, "
      "label (the manifest's label), positive (every finding of a multi-label model)",
      "top|K|label|positive,…" },
    { "layer", 'l', 0, G_OPTION_ARG_STRING, &a.layer,
      "The layer (tensor or node name), or 'auto' (default)", "NAME|auto" },
    { "maps", 0, 0, G_OPTION_ARG_NONE, &a.maps,
      "Also write each normalised map at model input resolution (float32 .npy, DIR/maps/)", NULL },
    { "no-overlay", 0, 0, G_OPTION_ARG_NONE, &a.no_overlay, "Write no overlay PNGs", NULL },
    { "top-k", 0, 0, G_OPTION_ARG_INT, &a.top_k, "Classes listed per image (default 5)", "K" },
    { "colormap", 0, 0, G_OPTION_ARG_STRING, &a.colormap,
      "jet (default), turbo, viridis, inferno or gray", "NAME" },
    { "alpha", 0, 0, G_OPTION_ARG_DOUBLE, &a.alpha, "Overlay opacity, 0…1 (default 0.5)", "A" },
    { "shard", 0, 0, G_OPTION_ARG_STRING, &a.shard_text,
      "Do only shard I of N: the images whose FNV-1a 64 hash of the relative path modulo N is "
      "I (join the shards with 'gaze-cli batch-merge')",
      "I/N" },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &a.force, "Recompute images already done in DIR", NULL },
    { "no-prefetch", 0, 0, G_OPTION_ARG_NONE, &a.no_prefetch,
      "Decode each image only when the previous one is done (default: one ahead, in a "
      "second thread)",
      NULL },
    { "no-report", 0, 0, G_OPTION_ARG_NONE, &a.no_report,
      "Write no DIR/report.html and DIR/report.pdf (see 'gaze-cli batch-report')", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &a.quiet, "No progress on stderr", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &rest, NULL, NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("INPUT…");
  g_option_context_set_summary (
      ctx,
      "Explain a cohort of images with one model: an overlay per image and explanation,\n"
      "and one results table (DIR/results.jsonl, DIR/results.csv) sorted by relative path.\n"
      "INPUT: a folder (every image below it), an image file, or a CSV/TSV manifest with a\n"
      "\"path\" column and optional \"label\" (class name or index) and \"roi\" (x,y,w,h in\n"
      "image pixels) columns. Preprocessing flags work as for 'gaze-cli predict'.");
  g_option_context_set_description (
      ctx,
      "One row per image, method and class: path, status (ok, error, skipped), error,\n"
      "warnings, label, roi, method, layer, class, class_label, logit, probability, correct\n"
      "(top-1 = label), top (top-k with probabilities), image size, peak (x, y of the map's\n"
      "maximum in image pixels), entropy (of the map as a distribution, divided by its\n"
      "maximum: 0 = one pixel, 1 = uniform), roi_energy (share of the map inside the roi),\n"
      "pointing_hit (the peak inside the roi), overlay and map (files in DIR), timings.\n"
      "A file that cannot be read is a row with its error. At the end, DIR/report.html\n"
      "and DIR/report.pdf show the table (see 'gaze-cli batch-report').\n"
      "Rerunning skips the images done (DIR/done/ records them with their settings);\n"
      "Ctrl+C drops the current image and writes the tables. --force redoes everything.\n"
      "Exit status: 0 when every image has its rows, 1 on a model or output folder that\n"
      "cannot be used, 2 on a usage error, 130 when interrupted.");
  gz_cli_options_add (ctx, &opts);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  int status = 0;
  GzCliModel m = { 0 };
  GzSession *session = NULL;
  g_autoptr (GPtrArray) items = NULL;
  JsonArray **rows = NULL;
  guint n_sel = 0;
  GazeIoCohortItem **sel = NULL;
  g_autofree char *key = NULL;
  g_autofree GazeIoCohortItem **todo = NULL;
  g_autofree guint *todo_index = NULL;
  GzError err = { 0 };
  struct sigaction old_int, old_term;
  gboolean handlers = FALSE;

  if (!g_option_context_parse (ctx, &argc, &argv, &error) || !parse_methods (&a, &error)
      || !parse_classes (&a, &error) || !parse_shard (&a, &error))
    {
      fprintf (stderr, PREFIX "%s\n", error->message);
      status = 2;
      goto out;
    }
  const char *usage = NULL;
  if (a.model == NULL)
    usage = "--model is required";
  else if (a.out == NULL)
    usage = "--out is required";
  else if (rest == NULL || rest[0] == NULL)
    usage = "expected at least one INPUT (folder, image or manifest)";
  else if (opts.input_tensor != NULL || opts.save_input != NULL)
    usage = "--input-tensor and --save-input are for one image ('gaze-cli explain')";
  else if (a.colormap != NULL && !gz_colormap_from_name (a.colormap, &a.cmap))
    usage = "--colormap: expected jet, turbo, viridis, inferno or gray";
  else if (!(a.alpha >= 0 && a.alpha <= 1))
    usage = "--alpha must be between 0 and 1";
  else if (a.top_k < 1 || a.top_k > 1000)
    usage = "--top-k must be between 1 and 1000";
  if (usage != NULL)
    {
      fprintf (stderr, PREFIX "%s\n", usage);
      status = 2;
      goto out;
    }
  if (!gz_cli_options_finish (&opts, &error) || !gz_cli_model_open (a.model, &opts, &m, &error))
    goto fail;
  gboolean pixel = FALSE;
  for (int i = 0; i < a.n_methods; i++)
    {
      char reason[512];
      if (!gz_method_applicable (m.model, a.methods[i], a.layer, reason, sizeof reason))
        {
          fprintf (stderr, PREFIX "%s is not applicable to %s: %s\n", gz_method_name (a.methods[i]),
                   a.model, reason);
          status = 1;
          goto out;
        }
      pixel = pixel || gz_method_needs_input_gradient (a.methods[i]);
    }
  items = gaze_io_cohort_collect ((const char *const *) rest, &error);
  if (items == NULL)
    goto fail;
  if (g_mkdir_with_parents (a.out, 0755) != 0)
    {
      int e = errno;
      g_set_error (&error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", a.out,
                   g_strerror (e));
      goto fail;
    }
  if (gz_session_new (m.model, &session, &err) != GZ_OK)
    {
      g_set_error (&error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", a.model, err.message);
      goto fail;
    }
  key = settings_key (&a, &m);

  /* This shard's images, and which of them are done already. */
  sel = g_new0 (GazeIoCohortItem *, items->len + 1);
  for (guint i = 0; i < items->len; i++)
    {
      GazeIoCohortItem *it = items->pdata[i];
      if (gaze_io_cohort_shard (it->relative, a.n_shards) == a.shard)
        sel[n_sel++] = it;
    }
  rows = g_new0 (JsonArray *, n_sel + 1);
  todo = g_new0 (GazeIoCohortItem *, n_sel + 1);
  todo_index = g_new0 (guint, n_sel + 1);
  guint n_todo = 0, skipped = 0, errors = 0, done = 0;
  for (guint i = 0; i < n_sel; i++)
    {
      if (!a.force)
        rows[i] = read_record (a.out, sel[i]->relative, key);
      if (rows[i] != NULL)
        skipped++;
      else
        {
          todo_index[n_todo] = i;
          todo[n_todo++] = sel[i];
        }
    }

  struct sigaction sa = { 0 };
  sa.sa_handler = on_signal;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, &old_int);
  sigaction (SIGTERM, &sa, &old_term);
  handlers = TRUE;

  Worker w = { &a, &m, session, pixel ? "*" : gz_cli_layer_tensor (m.model, a.layer) };
  Progress pr = { isatty (STDERR_FILENO), a.quiet, n_todo, 0, g_get_monotonic_time () };
  if (!a.quiet && !pr.tty)
    fprintf (stderr, PREFIX "%u images in this run (%u already done, shard %u/%u of %u)\n", n_todo,
             skipped, a.shard, a.n_shards, items->len);
  Prefetch pf = { &m, &opts, todo, n_todo, NULL, NULL, 0 };
  GThread *thread = NULL;
  if (!a.no_prefetch && n_todo > 0)
    {
      pf.tokens = g_async_queue_new ();
      pf.done = g_async_queue_new_full ((GDestroyNotify) loaded_free);
      g_async_queue_push (pf.tokens, GINT_TO_POINTER (1));
      thread = g_thread_new ("gaze-decode", prefetch_thread, &pf);
    }
  gint64 last_tables = 0;
  for (guint t = 0; t < n_todo && !interrupted; t++)
    {
      Loaded *l;
      if (thread != NULL)
        {
          l = g_async_queue_pop (pf.done);
          g_async_queue_push (pf.tokens, GINT_TO_POINTER (1));
        }
      else
        l = load_one (&m, &opts, todo[t], t);
      g_assert (l->index == t);
      JsonArray *r = json_array_new ();
      g_autoptr (GPtrArray) outputs = g_ptr_array_new_with_free_func (g_free);
      gboolean complete = process (&w, todo[t], l, r, outputs);
      loaded_free (l);
      g_autoptr (GError) e = NULL;
      if (!complete)
        {
          json_array_unref (r);
          break;
        }
      if (!write_record (a.out, todo[t]->relative, key, r, outputs, &e))
        {
          json_array_unref (r);
          g_propagate_error (&error, g_steal_pointer (&e));
          interrupted = 1;
          status = 1;
          break;
        }
      rows[todo_index[t]] = r;
      gboolean bad = FALSE;
      for (guint i = 0; i < json_array_get_length (r); i++)
        bad = bad
            || g_strcmp0 (
                   json_object_get_string_member (json_array_get_object_element (r, i), "status"),
                   "error")
                == 0;
      errors += bad;
      done++;
      pr.done = done;
      progress_show (&pr, todo[t]->relative, bad ? "error" : "ok");
      /* The tables follow the work (at most once a second). */
      gint64 now = g_get_monotonic_time ();
      if (now - last_tables >= G_USEC_PER_SEC)
        {
          if (!write_tables (a.out, rows, n_sel, &e))
            {
              g_propagate_error (&error, g_steal_pointer (&e));
              status = 1;
              break;
            }
          last_tables = now;
        }
    }
  if (thread != NULL)
    {
      g_atomic_int_set (&pf.stop, 1);
      g_async_queue_push (pf.tokens, GINT_TO_POINTER (1));
      g_thread_join (thread);
      g_async_queue_unref (pf.tokens);
      g_async_queue_unref (pf.done); /* frees what was decoded ahead */
    }
  if (status == 0)
    {
      g_autoptr (GError) e = NULL;
      if (!write_tables (a.out, rows, n_sel, &e)
          || (!a.no_report && !gz_cli_batch_report_write (a.out, &e)))
        {
          g_propagate_error (&error, g_steal_pointer (&e));
          status = 1;
        }
    }
  if (status != 0)
    goto fail;
  if (pr.tty && !a.quiet && done < n_todo)
    fprintf (stderr, "\n");
  if (!a.quiet)
    fprintf (stderr,
             PREFIX "%u of %u images done in this run (%u with errors), %u done before%s; "
                    "results in %s/results.csv\n",
             done, n_todo, errors, skipped, interrupted ? "; interrupted" : "", a.out);
  status = interrupted ? 130 : 0;
  goto out;

fail:
  gz_cli_fail (PREFIX, error != NULL ? error->message : "failed");
  status = 1;
out:
  if (handlers)
    {
      sigaction (SIGINT, &old_int, NULL);
      sigaction (SIGTERM, &old_term, NULL);
    }
  for (guint i = 0; rows != NULL && i < n_sel; i++)
    if (rows[i] != NULL)
      json_array_unref (rows[i]);
  g_free (rows);
  g_free (sel);
  gz_session_free (session);
  gz_cli_model_clear (&m);
  gz_cli_options_clear (&opts);
  g_free (a.model);
  g_free (a.out);
  g_free (a.methods_text);
  g_free (a.classes_text);
  g_free (a.layer);
  g_free (a.shard_text);
  g_free (a.colormap);
  return status;
}

/* ---- gaze-cli batch-merge ----------------------------------------------- */

/* Copies src to dst atomically (a hard link when possible). */
static gboolean
copy_output (const char *src, const char *dst, GError **error)
{
  if (!ensure_parent (dst, error))
    return FALSE;
  g_autofree char *tmp = g_strdup_printf ("%s.merge-%d", dst, (int) getpid ());
  g_unlink (tmp);
  if (link (src, tmp) != 0)
    {
      g_autofree char *data = NULL;
      gsize len = 0;
      return g_file_get_contents (src, &data, &len, error)
          && g_file_set_contents (dst, data, (gssize) len, error);
    }
  if (g_rename (tmp, dst) != 0)
    {
      int e = errno;
      g_unlink (tmp);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", dst, g_strerror (e));
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  char *relative;
  JsonNode *record;
  char *dir;
} Merged;

static void
merged_free (Merged *x)
{
  g_free (x->relative);
  json_node_unref (x->record);
  g_free (x->dir);
  g_free (x);
}

static gint
merged_cmp (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(Merged *const *) a)->relative, (*(Merged *const *) b)->relative);
}

int
gz_cli_batch_merge (int argc, char **argv)
{
  char *out = NULL;
  gboolean quiet = FALSE, no_report = FALSE;
  g_auto (GStrv) rest = NULL;
  const GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "The merged folder (made when missing)", "DIR" },
    { "no-report", 0, 0, G_OPTION_ARG_NONE, &no_report,
      "Write no DIR/report.html and DIR/report.pdf", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No summary on stderr", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &rest, NULL, NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("SHARD_DIR…");
  g_option_context_set_summary (
      ctx,
      "Join the output folders of 'gaze-cli batch --shard I/N' runs into one: their\n"
      "overlays, maps and records, and the results table a single run would have\n"
      "written (rows sorted by relative path), and its report (report.html, report.pdf).\n"
      "The shards must share their settings.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) all = g_ptr_array_new_with_free_func ((GDestroyNotify) merged_free);
  g_autofree char *key = NULL;
  g_autofree JsonArray **rows = NULL;
  int status = 0;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, MERGE_PREFIX "%s\n", error->message);
      status = 2;
      goto out;
    }
  if (out == NULL || rest == NULL || rest[0] == NULL)
    {
      fprintf (stderr, MERGE_PREFIX "expected --out DIR and at least one SHARD_DIR\n");
      status = 2;
      goto out;
    }
  for (char **d = rest; *d != NULL; d++)
    {
      g_autofree char *done_dir = g_build_filename (*d, "done", NULL);
      g_autofree char *table = g_build_filename (*d, "results.jsonl", NULL);
      /* A shard that got no image has a table but no done/ records. */
      if (!g_file_test (done_dir, G_FILE_TEST_IS_DIR) && g_file_test (table, G_FILE_TEST_EXISTS))
        continue;
      g_autoptr (GDir) dir = g_dir_open (done_dir, 0, &error);
      if (dir == NULL)
        goto fail;
      const char *name;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          if (!g_str_has_suffix (name, ".json"))
            continue; /* a temporary file of an interrupted write */
          g_autofree char *path = g_build_filename (done_dir, name, NULL);
          g_autoptr (JsonParser) parser = json_parser_new ();
          if (!json_parser_load_from_file (parser, path, &error))
            goto fail;
          JsonNode *root = json_parser_get_root (parser);
          JsonObject *o
              = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
          const char *rel
              = o != NULL ? json_object_get_string_member_with_default (o, "relative", NULL) : NULL;
          const char *k
              = o != NULL ? json_object_get_string_member_with_default (o, "settings", NULL) : NULL;
          if (rel == NULL || k == NULL)
            {
              g_set_error (&error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID,
                           "%s: not a record of gaze-cli batch", path);
              goto fail;
            }
          if (key == NULL)
            key = g_strdup (k);
          else if (strcmp (key, k) != 0)
            {
              g_set_error (&error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID,
                           "%s: made with other settings (model, methods, classes or "
                           "preprocessing) than the records before it",
                           path);
              goto fail;
            }
          Merged *x = g_new0 (Merged, 1);
          x->relative = g_strdup (rel);
          x->record = json_node_ref (root);
          x->dir = g_strdup (*d);
          g_ptr_array_add (all, x);
        }
    }
  g_ptr_array_sort (all, merged_cmp);
  if (g_mkdir_with_parents (out, 0755) != 0)
    {
      int e = errno;
      g_set_error (&error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", out,
                   g_strerror (e));
      goto fail;
    }
  rows = g_new0 (JsonArray *, all->len + 1);
  guint n = 0;
  for (guint i = 0; i < all->len; i++)
    {
      Merged *x = all->pdata[i];
      if (n > 0 && strcmp (((Merged *) all->pdata[i - 1])->relative, x->relative) == 0)
        {
          if (!quiet)
            fprintf (stderr, MERGE_PREFIX "%s is in two shards; keeping the one from %s\n",
                     x->relative, ((Merged *) all->pdata[i - 1])->dir);
          continue;
        }
      JsonObject *o = json_node_get_object (x->record);
      JsonArray *outs = json_object_get_array_member (o, "outputs");
      g_autoptr (GPtrArray) outputs = g_ptr_array_new_with_free_func (g_free);
      for (guint j = 0; outs != NULL && j < json_array_get_length (outs); j++)
        {
          const char *rel = json_array_get_string_element (outs, j);
          if (rel == NULL || g_path_is_absolute (rel) || strstr (rel, "..") != NULL)
            continue;
          g_autofree char *src = g_build_filename (x->dir, rel, NULL);
          g_autofree char *dst = g_build_filename (out, rel, NULL);
          GStatBuf ss, ds;
          gboolean same = g_stat (src, &ss) == 0 && g_stat (dst, &ds) == 0 && ss.st_dev == ds.st_dev
              && ss.st_ino == ds.st_ino;
          if (!same && !copy_output (src, dst, &error))
            goto fail;
          g_ptr_array_add (outputs, g_strdup (rel));
        }
      JsonArray *r = json_object_get_array_member (o, "rows");
      if (r == NULL || !write_record (out, x->relative, key, r, outputs, &error))
        {
          if (error == NULL)
            g_set_error (&error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "%s: a record without rows",
                         x->relative);
          goto fail;
        }
      rows[n++] = r;
    }
  if (!write_tables (out, rows, n, &error)
      || (!no_report && !gz_cli_batch_report_write (out, &error)))
    goto fail;
  if (!quiet)
    fprintf (stderr, MERGE_PREFIX "%u images from %u folders; results in %s/results.csv\n", n,
             g_strv_length (rest), out);
  goto out;
fail:
  gz_cli_fail (MERGE_PREFIX, error != NULL ? error->message : "failed");
  status = 1;
out:
  g_free (out);
  return status;
}
