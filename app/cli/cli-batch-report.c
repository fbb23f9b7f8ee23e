/* cli-batch-report.c — `gaze-cli batch-report`: report.html and report.pdf of a cohort
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Input: DIR/results.jsonl as `gaze-cli batch` or `batch-merge` writes it
 * (one row per image, method and class). Output:
 *
 *  - DIR/report.html, one file with inline CSS and a small inline script: a
 *    summary (counts, the distribution of the top-1 class, the mean of every
 *    numeric map statistic or metric in the rows, the errors), the table
 *    (click a column to sort it, a row to open its overlay) and a contact
 *    sheet of the overlays with filters (class, probability range, pointing
 *    miss when the rows have ROIs). "Self-contained" means no network: the
 *    overlays are referenced by their relative path in DIR (they are what the
 *    folder holds anyway, and embedding 500 full-size PNGs would make a page no
 *    browser opens quickly); a Content-Security-Policy forbids any other
 *    origin. Every string from the rows is HTML-escaped and every file
 *    reference is percent-encoded, so a path can neither close an element
 *    nor become a URL with a scheme.
 *  - DIR/report.pdf (Cairo, A4, for printing): the summary, the table and the
 *    contact sheet as thumbnails scaled down with Cairo.
 *
 * With labels (a manifest's label column), both show the confusion matrix
 * (true class × top-1 class, one count per image) and list the misclassified
 * images first.
 */
#include "config.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <string.h>

#include "cli-batch-report.h"
#include "gaze-cli.h"

#define PREFIX "gaze-cli batch-report: "

/* ---- The rows ----------------------------------------------------------- */

typedef struct
{
  JsonObject *o;
  const char *path, *status, *error, *method, *class_label, *label, *overlay;
  int cls; /* the explained class, -1 when none */
  int label_class; /* -1: no label (or one the model lacks) */
  int predicted; /* the top-1 class, -1 when the row has no top-k */
  double probability; /* of the explained class; NAN when none */
  int correct, pointing_hit; /* -1: absent */
  double total_ms;
  guint order; /* position in results.jsonl */
} Row;

typedef struct
{
  char *name;
  double sum;
  guint n;
} Mean;

typedef struct
{
  GPtrArray *rows; /* Row*, in display order */
  guint n_images, n_ok, n_error, n_skipped, n_images_error;
  guint n_labelled, n_correct; /* images */
  guint n_pointing, n_hits; /* rows with a pointing result */
  GHashTable *names; /* class index → label (borrowed from the rows) */
  GArray *classes; /* every class index seen (explained, predicted, true), sorted */
  GHashTable *predicted_count; /* class → images whose top-1 it is */
  GHashTable *confusion; /* (true << 32 | predicted) → images */
  GArray *means; /* Mean */
  GPtrArray *methods; /* method names (borrowed), first seen first */
  char *title;
} Report;

static const char *
member_string (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  return n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
      ? json_node_get_string (n)
      : NULL;
}

static gboolean
node_is_number (JsonNode *n)
{
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return FALSE;
  GType t = json_node_get_value_type (n);
  return t == G_TYPE_DOUBLE || t == G_TYPE_INT64;
}

static double
member_double (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  return node_is_number (n) ? json_node_get_double (n) : NAN;
}

static int
member_int (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  if (!node_is_number (n))
    return -1;
  gint64 v = json_node_get_int (n);
  return v >= 0 && v <= G_MAXINT ? (int) v : -1;
}

static int
member_bool (JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_BOOLEAN)
    return -1;
  return json_node_get_boolean (n) ? 1 : 0;
}

static void
row_free (gpointer p)
{
  Row *r = p;
  json_object_unref (r->o);
  g_free (r);
}

static void
mean_clear (gpointer p)
{
  g_free (((Mean *) p)->name);
}

static void
report_free (Report *rep)
{
  if (rep == NULL)
    return;
  g_ptr_array_unref (rep->rows);
  g_hash_table_unref (rep->names);
  g_array_unref (rep->classes);
  g_hash_table_unref (rep->predicted_count);
  g_hash_table_unref (rep->confusion);
  g_array_unref (rep->means);
  g_ptr_array_unref (rep->methods);
  g_free (rep->title);
  g_free (rep);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Report, report_free)

static void
add_class (Report *rep, int cls, const char *name)
{
  if (cls < 0)
    return;
  if (!g_hash_table_contains (rep->names, GINT_TO_POINTER (cls)))
    {
      g_hash_table_insert (rep->names, GINT_TO_POINTER (cls), (gpointer) name);
      guint at = 0;
      while (at < rep->classes->len && g_array_index (rep->classes, int, at) < cls)
        at++;
      g_array_insert_val (rep->classes, at, cls);
    }
  else if (name != NULL && g_hash_table_lookup (rep->names, GINT_TO_POINTER (cls)) == NULL)
    g_hash_table_insert (rep->names, GINT_TO_POINTER (cls), (gpointer) name);
}

static void
count (GHashTable *t, guint64 key)
{
  gpointer k = GSIZE_TO_POINTER (key);
  g_hash_table_insert (t, k, GSIZE_TO_POINTER (GPOINTER_TO_SIZE (g_hash_table_lookup (t, k)) + 1));
}

/* A member whose mean the summary shows: every number in a row but the ones
 * that are identifiers or sizes. */
static gboolean
is_metric (const char *name)
{
  static const char *const not_metrics[]
      = { "class", "label_class", "logit", "image_width", "image_height", NULL };
  for (int i = 0; not_metrics[i] != NULL; i++)
    if (strcmp (name, not_metrics[i]) == 0)
      return FALSE;
  return TRUE;
}

static void
add_to_mean (Report *rep, const char *name, double v)
{
  if (!isfinite (v))
    return;
  Mean *m = NULL;
  for (guint i = 0; i < rep->means->len && m == NULL; i++)
    if (strcmp (g_array_index (rep->means, Mean, i).name, name) == 0)
      m = &g_array_index (rep->means, Mean, i);
  if (m == NULL)
    {
      Mean z = { g_strdup (name), 0, 0 };
      g_array_append_val (rep->means, z);
      m = &g_array_index (rep->means, Mean, rep->means->len - 1);
    }
  m->sum += v;
  m->n++;
}

/* Misclassified images first (when there are labels), then the table's order. */
static gint
display_cmp (gconstpointer a, gconstpointer b)
{
  const Row *x = *(Row *const *) a, *y = *(Row *const *) b;
  int kx = x->correct == 0 ? 0 : 1, ky = y->correct == 0 ? 0 : 1;
  if (kx != ky)
    return kx - ky;
  return x->order < y->order ? -1 : x->order > y->order;
}

static Report *
report_read (const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "results.jsonl", NULL);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, error))
    return NULL;
  g_autoptr (Report) rep = g_new0 (Report, 1);
  rep->rows = g_ptr_array_new_with_free_func (row_free);
  rep->names = g_hash_table_new (NULL, NULL);
  rep->classes = g_array_new (FALSE, FALSE, sizeof (int));
  rep->predicted_count = g_hash_table_new (NULL, NULL);
  rep->confusion = g_hash_table_new (NULL, NULL);
  rep->means = g_array_new (FALSE, FALSE, sizeof (Mean));
  g_array_set_clear_func (rep->means, mean_clear);
  rep->methods = g_ptr_array_new ();
  g_autofree char *abs = g_canonicalize_filename (dir, NULL);
  g_autofree char *base = g_path_get_basename (abs);
  rep->title = g_strdup_printf ("Cohort report: %s", base);

  g_autoptr (GHashTable) images = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) image_counted = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GHashTable) image_failed = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (JsonParser) parser = json_parser_new ();
  guint line_no = 0;
  for (char *line = text, *next; line != NULL && *line != '\0'; line = next)
    {
      next = strchr (line, '\n');
      if (next != NULL)
        *next++ = '\0';
      line_no++;
      if (*g_strstrip (line) == '\0')
        continue;
      g_autoptr (GError) e = NULL;
      if (!json_parser_load_from_data (parser, line, -1, &e)
          || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%u: %s", path, line_no,
                       e != NULL ? e->message : "not a JSON object");
          return NULL;
        }
      Row *r = g_new0 (Row, 1);
      r->o = json_object_ref (json_node_get_object (json_parser_get_root (parser)));
      r->order = rep->rows->len;
      g_ptr_array_add (rep->rows, r);
      JsonObject *o = r->o;
      r->path = member_string (o, "path");
      if (r->path == NULL)
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%u: a row without a path", path,
                       line_no);
          return NULL;
        }
      r->status = member_string (o, "status");
      if (r->status == NULL)
        r->status = "?";
      r->error = member_string (o, "error");
      r->method = member_string (o, "method");
      r->class_label = member_string (o, "class_label");
      r->label = member_string (o, "label");
      r->overlay = member_string (o, "overlay");
      r->cls = member_int (o, "class");
      r->label_class = member_int (o, "label_class");
      r->probability = member_double (o, "probability");
      r->correct = member_bool (o, "correct");
      r->pointing_hit = member_bool (o, "pointing_hit");
      r->predicted = -1;
      JsonNode *top = json_object_get_member (o, "top");
      if (top != NULL && JSON_NODE_HOLDS_ARRAY (top)
          && json_array_get_length (json_node_get_array (top)) > 0)
        {
          JsonArray *ta = json_node_get_array (top);
          for (guint i = 0; i < json_array_get_length (ta); i++)
            {
              JsonNode *en = json_array_get_element (ta, i);
              if (!JSON_NODE_HOLDS_OBJECT (en))
                continue;
              JsonObject *t = json_node_get_object (en);
              int c = member_int (t, "class");
              add_class (rep, c, member_string (t, "label"));
              if (i == 0)
                r->predicted = c;
            }
        }
      JsonNode *tn = json_object_get_member (o, "timings_ms");
      r->total_ms = member_double (
          tn != NULL && JSON_NODE_HOLDS_OBJECT (tn) ? json_node_get_object (tn) : NULL, "total");
      add_class (rep, r->cls, r->class_label);
      add_class (rep, r->label_class, NULL);

      if (strcmp (r->status, "ok") == 0)
        rep->n_ok++;
      else if (strcmp (r->status, "error") == 0)
        rep->n_error++;
      else
        rep->n_skipped++;
      if (r->method != NULL)
        {
          gboolean seen = FALSE;
          for (guint i = 0; i < rep->methods->len && !seen; i++)
            seen = strcmp (rep->methods->pdata[i], r->method) == 0;
          if (!seen)
            g_ptr_array_add (rep->methods, (gpointer) r->method);
        }
      g_hash_table_add (images, (gpointer) r->path);
      if (strcmp (r->status, "error") == 0)
        g_hash_table_add (image_failed, (gpointer) r->path);
      /* Image-level counts from the first row of an image with a prediction. */
      if (r->predicted >= 0 && !g_hash_table_contains (image_counted, r->path))
        {
          g_hash_table_add (image_counted, (gpointer) r->path);
          count (rep->predicted_count, (guint64) r->predicted);
          if (r->label_class >= 0)
            {
              rep->n_labelled++;
              rep->n_correct += r->predicted == r->label_class;
              count (rep->confusion, (guint64) r->label_class << 32 | (guint64) r->predicted);
            }
        }
      if (r->pointing_hit >= 0)
        {
          rep->n_pointing++;
          rep->n_hits += r->pointing_hit;
        }
      /* The mean of every numeric statistic the rows carry. */
      g_autoptr (GList) members = json_object_get_members (o);
      for (GList *l = members; l != NULL; l = l->next)
        if (is_metric (l->data) && node_is_number (json_object_get_member (o, l->data)))
          add_to_mean (rep, l->data, member_double (o, l->data));
      if (isfinite (r->total_ms))
        add_to_mean (rep, "time per row (ms)", r->total_ms);
    }
  rep->n_images = g_hash_table_size (images);
  rep->n_images_error = g_hash_table_size (image_failed);
  if (rep->n_labelled > 0)
    g_ptr_array_sort (rep->rows, display_cmp);
  return g_steal_pointer (&rep);
}

static const char *
class_name (const Report *rep, int cls, char *buf, gsize size)
{
  const char *name = cls >= 0 ? g_hash_table_lookup (rep->names, GINT_TO_POINTER (cls)) : NULL;
  if (name != NULL)
    return name;
  if (cls < 0)
    return "";
  g_snprintf (buf, size, "class %d", cls);
  return buf;
}

static guint
lookup_count (GHashTable *t, guint64 key)
{
  return (guint) GPOINTER_TO_SIZE (g_hash_table_lookup (t, GSIZE_TO_POINTER (key)));
}

/* The largest count of the top-1 distribution (0: no image has a prediction). */
static guint
most_predicted (const Report *rep)
{
  guint most = 0;
  for (guint i = 0; i < rep->classes->len; i++)
    most = MAX (
        most, lookup_count (rep->predicted_count, (guint64) g_array_index (rep->classes, int, i)));
  return most;
}

static char *
format_number (double v)
{
  if (!isfinite (v))
    return g_strdup ("");
  return g_strdup_printf (fabs (v) >= 100 ? "%.1f" : "%.4g", v);
}

/* ---- HTML --------------------------------------------------------------- */

static void
html_text (GString *s, const char *text)
{
  if (text == NULL)
    return;
  g_autofree char *e = g_markup_escape_text (text, -1);
  g_string_append (s, e);
}

/* A file in DIR as a relative URL: percent-encoded (a ':' or '#' in a name
 * stays part of the path), then HTML-escaped. */
static void
html_file_url (GString *s, const char *relative)
{
  g_autofree char *u = g_uri_escape_string (relative, "/", TRUE);
  html_text (s, u);
}

static const char html_style[]
    = "body{font:14px/1.4 sans-serif;margin:1.5em;color:#222}"
      "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}"
      "table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #eee;"
      "text-align:left;vertical-align:top}td.n,th.n{text-align:right}"
      "#results th{cursor:pointer;background:#f4f4f4;position:sticky;top:0}"
      "#results th[data-dir=asc]::after{content:' \\25B2'}"
      "#results th[data-dir=desc]::after{content:' \\25BC'}"
      "#results tr[data-overlay]{cursor:pointer}#results tbody tr:hover{background:#eef4ff}"
      "tr.bad td{background:#fff0f0}.bar{background:#4a7bd0;height:.8em;display:inline-block}"
      "#confusion td{text-align:center;min-width:2.5em}#confusion td.diag{background:#e2f3e2}"
      "#confusion td.off{background:#fbe3e3}.path{font-family:monospace;overflow-wrap:anywhere}"
      "#results td.path{white-space:nowrap}.scroll{max-height:32em;overflow:auto}"
      "@media print{.scroll{max-height:none;overflow:visible}#filters{display:none}}"
      "nav a{margin-right:1em}.cards{display:flex;flex-wrap:wrap;gap:0 3em}"
      "#filters{margin:.5em 0}#filters label{margin-right:1em}"
      "#sheet{display:flex;flex-wrap:wrap;gap:8px}"
      "#sheet figure{margin:0;width:180px;cursor:pointer;font-size:12px}"
      "#sheet img{width:180px;height:180px;object-fit:contain;background:#111}"
      "#sheet figure.bad figcaption{color:#b00}"
      "#box{display:none;position:fixed;inset:0;background:rgba(0,0,0,.85);z-index:9;"
      "color:#fff;text-align:center;cursor:zoom-out}"
      "#box img{max-width:95vw;max-height:88vh;margin-top:2vh}"
      "ul.errors li{margin-bottom:.3em}";

/* Sorting (click a header; empty cells last), filtering the contact sheet and
 * the full overlay on a click. */
static const char html_script[]
    = "(function(){\n"
      "var box=document.getElementById('box'),bimg=box.querySelector('img'),"
      "bcap=box.querySelector('p');\n"
      "function show(src,cap){bimg.src=src;bcap.textContent=cap;box.style.display='block';}\n"
      "box.onclick=function(){box.style.display='none';bimg.removeAttribute('src');};\n"
      "document.addEventListener('keydown',function(e){if(e.key==='Escape')box.onclick();});\n"
      "var t=document.getElementById('results');\n"
      "t.tBodies[0].addEventListener('click',function(e){var r=e.target.closest('tr');"
      "if(r&&r.dataset.overlay)show(r.dataset.overlay,r.dataset.path);});\n"
      "t.tHead.addEventListener('click',function(e){var h=e.target.closest('th');if(!h)return;\n"
      " var i=h.cellIndex,num='num' in h.dataset,up=h.dataset.dir!=='asc';\n"
      " Array.prototype.forEach.call(t.tHead.rows[0].cells,function(c){delete c.dataset.dir;});\n"
      " h.dataset.dir=up?'asc':'desc';\n"
      " function key(r){var c=r.cells[i],v='v' in c.dataset?c.dataset.v:c.textContent;"
      "return num?(v===''?NaN:+v):v;}\n"
      " var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);\n"
      " rows.sort(function(a,c){var x=key(a),y=key(c),ex=num?isNaN(x):x==='',"
      "ey=num?isNaN(y):y==='';\n"
      "  if(ex||ey)return ex-ey;var d=num?x-y:x.localeCompare(y);return up?d:-d;});\n"
      " rows.forEach(function(r){b.appendChild(r);});});\n"
      "var sheet=document.getElementById('sheet');if(!sheet)return;\n"
      "var figs=sheet.querySelectorAll('figure');\n"
      "sheet.addEventListener('click',function(e){var f=e.target.closest('figure');"
      "if(f)show(f.dataset.overlay,f.dataset.path);});\n"
      "function val(id){var e=document.getElementById(id);return e?e.value:'';}\n"
      "function filter(){var c=val('f-class'),lo=parseFloat(val('f-pmin')),"
      "hi=parseFloat(val('f-pmax')),pt=val('f-point'),ok=val('f-correct'),n=0;\n"
      " figs.forEach(function(f){var p=parseFloat(f.dataset.p),on=(c===''||f.dataset.cls===c)\n"
      "  &&(isNaN(lo)||p>=lo)&&(isNaN(hi)||p<=hi)&&(pt===''||f.dataset.hit===pt)\n"
      "  &&(ok===''||f.dataset.correct===ok);f.style.display=on?'':'none';n+=on;});\n"
      " document.getElementById('f-count').textContent=n+' of '+figs.length+' shown';}\n"
      "document.getElementById('filters').addEventListener('input',filter);filter();\n"
      "})();\n";

static void
html_summary (GString *s, const Report *rep)
{
  g_string_append (s,
                   "<div class=\"cards\">\n<section><h2 id=\"s-summary\">Summary</h2>\n<table "
                   "id=\"summary\">\n");
  g_string_append_printf (s, "<tr><th>Images</th><td class=\"n\">%u</td></tr>\n", rep->n_images);
  g_string_append_printf (s,
                          "<tr><th>Result rows</th><td class=\"n\">%u</td></tr>\n"
                          "<tr><th>Rows ok</th><td class=\"n\">%u</td></tr>\n"
                          "<tr><th>Rows with an error</th><td class=\"n\">%u</td></tr>\n"
                          "<tr><th>Rows skipped (no class to explain)</th>"
                          "<td class=\"n\">%u</td></tr>\n"
                          "<tr><th>Images with an error</th><td class=\"n\">%u</td></tr>\n",
                          rep->rows->len, rep->n_ok, rep->n_error, rep->n_skipped,
                          rep->n_images_error);
  if (rep->methods->len > 0)
    {
      g_string_append (s, "<tr><th>Methods</th><td>");
      for (guint i = 0; i < rep->methods->len; i++)
        {
          g_string_append (s, i ? ", " : "");
          html_text (s, rep->methods->pdata[i]);
        }
      g_string_append (s, "</td></tr>\n");
    }
  if (rep->n_labelled > 0)
    g_string_append_printf (s,
                            "<tr><th>Labelled images</th><td class=\"n\">%u</td></tr>\n"
                            "<tr><th>Top-1 accuracy</th><td class=\"n\">%u / %u (%.1f %%)</td>"
                            "</tr>\n",
                            rep->n_labelled, rep->n_correct, rep->n_labelled,
                            100.0 * rep->n_correct / rep->n_labelled);
  if (rep->n_pointing > 0)
    g_string_append_printf (s,
                            "<tr><th>Pointing game hits</th><td class=\"n\">%u / %u (%.1f %%)</td>"
                            "</tr>\n",
                            rep->n_hits, rep->n_pointing, 100.0 * rep->n_hits / rep->n_pointing);
  g_string_append (s, "</table></section>\n");

  guint most = most_predicted (rep);
  if (most > 0)
    g_string_append (s,
                     "<section><h2>Top-1 class distribution</h2>\n<table id=\"distribution\">\n"
                     "<tr><th>Class</th><th class=\"n\">Images</th><th></th></tr>\n");
  for (guint i = 0; i < rep->classes->len; i++)
    {
      int c = g_array_index (rep->classes, int, i);
      guint n = lookup_count (rep->predicted_count, (guint64) c);
      if (n == 0)
        continue;
      char buf[32];
      g_string_append (s, "<tr><td>");
      html_text (s, class_name (rep, c, buf, sizeof buf));
      g_string_append_printf (s,
                              "</td><td class=\"n\">%u</td><td><span class=\"bar\" "
                              "style=\"width:%upx\"></span></td></tr>\n",
                              n, 1 + 200 * n / most);
    }
  if (most > 0)
    g_string_append (s, "</table></section>\n");

  if (rep->means->len > 0)
    {
      g_string_append (s,
                       "<section><h2>Mean statistics</h2>\n<table id=\"means\">\n"
                       "<tr><th>Statistic</th><th class=\"n\">Mean</th>"
                       "<th class=\"n\">Rows</th></tr>\n");
      for (guint i = 0; i < rep->means->len; i++)
        {
          const Mean *m = &g_array_index (rep->means, Mean, i);
          g_autofree char *v = format_number (m->sum / m->n);
          g_string_append (s, "<tr><td>");
          html_text (s, m->name);
          g_string_append_printf (s, "</td><td class=\"n\">%s</td><td class=\"n\">%u</td></tr>\n",
                                  v, m->n);
        }
      g_string_append (s, "</table></section>\n");
    }
  g_string_append (s, "</div>\n");
}

/* Rows: true class; columns: top-1 class; over the labelled images. */
static void
html_confusion (GString *s, const Report *rep)
{
  if (rep->n_labelled == 0)
    return;
  g_string_append (
      s,
      "<h2 id=\"s-confusion\">Confusion matrix</h2>\n<p>Rows: the label; columns: the top-1 "
      "class; one count per labelled image.</p>\n<table id=\"confusion\">\n"
      "<tr><th>label \\ top-1</th>");
  char buf[32];
  for (guint j = 0; j < rep->classes->len; j++)
    {
      g_string_append (s, "<th>");
      html_text (s, class_name (rep, g_array_index (rep->classes, int, j), buf, sizeof buf));
      g_string_append (s, "</th>");
    }
  g_string_append (s, "</tr>\n");
  for (guint i = 0; i < rep->classes->len; i++)
    {
      int t = g_array_index (rep->classes, int, i);
      g_string_append (s, "<tr><th>");
      html_text (s, class_name (rep, t, buf, sizeof buf));
      g_string_append (s, "</th>");
      for (guint j = 0; j < rep->classes->len; j++)
        {
          int p = g_array_index (rep->classes, int, j);
          guint n = lookup_count (rep->confusion, (guint64) t << 32 | (guint64) p);
          g_string_append_printf (s, "<td data-true=\"%d\" data-pred=\"%d\"%s>%u</td>", t, p,
                                  n == 0       ? ""
                                      : t == p ? " class=\"diag\""
                                               : " class=\"off\"",
                                  n);
        }
      g_string_append (s, "</tr>\n");
    }
  g_string_append (s, "</table>\n");
}

static void
html_errors (GString *s, const Report *rep)
{
  if (rep->n_error + rep->n_skipped == 0)
    return;
  g_string_append (s, "<h2 id=\"s-errors\">Errors</h2>\n<ul class=\"errors\" id=\"errors\">\n");
  for (guint i = 0; i < rep->rows->len; i++)
    {
      const Row *r = rep->rows->pdata[i];
      if (strcmp (r->status, "ok") == 0)
        continue;
      g_string_append (s, "<li><span class=\"path\">");
      html_text (s, r->path);
      g_string_append (s, "</span> (");
      html_text (s, r->status);
      g_string_append (s, "): ");
      html_text (s, r->error != NULL ? r->error : "no message");
      g_string_append (s, "</li>\n");
    }
  g_string_append (s, "</ul>\n");
}

/* A number cell; data-v is what sorting compares (empty: absent, sorted last). */
static void
html_cell_number (GString *s, double v)
{
  if (!isfinite (v))
    {
      g_string_append (s, "<td class=\"n\" data-v=\"\"></td>");
      return;
    }
  g_autofree char *t = format_number (v);
  g_string_append_printf (s, "<td class=\"n\" data-v=\"%.9g\">%s</td>", v, t);
}

static const char *
tristate (int v, const char *yes, const char *no)
{
  return v < 0 ? "" : v ? yes : no;
}

static void
html_table (GString *s, const Report *rep)
{
  g_string_append (
      s,
      "<h2 id=\"s-results\">Results</h2>\n<p>Click a column to sort, a row to open its overlay.");
  if (rep->n_labelled > 0)
    g_string_append (s, " Misclassified images first.");
  g_string_append (s,
                   "</p>\n<div class=\"scroll\"><table id=\"results\">\n<thead><tr><th "
                   "data-num>#</th><th>Path</th>"
                   "<th>Status</th><th>Method</th><th>Class</th><th data-num "
                   "class=\"n\">Probability</th><th>Top-1</th><th>Label</th>"
                   "<th>Correct</th><th data-num class=\"n\">Entropy</th><th data-num "
                   "class=\"n\">ROI energy</th><th>Pointing</th><th data-num "
                   "class=\"n\">Time (ms)</th><th>Error</th></tr></thead>\n<tbody>\n");
  char buf[32];
  for (guint i = 0; i < rep->rows->len; i++)
    {
      const Row *r = rep->rows->pdata[i];
      g_string_append (s, "<tr data-path=\"");
      html_text (s, r->path);
      g_string_append_c (s, '"');
      if (r->overlay != NULL)
        {
          g_string_append (s, " data-overlay=\"");
          html_file_url (s, r->overlay);
          g_string_append_c (s, '"');
        }
      if (r->correct == 0 || strcmp (r->status, "ok") != 0)
        g_string_append (s, " class=\"bad\"");
      g_string_append_printf (s, "><td class=\"n\">%u</td><td class=\"path\">", r->order + 1);
      html_text (s, r->path);
      g_string_append (s, "</td><td>");
      html_text (s, r->status);
      g_string_append (s, "</td><td>");
      html_text (s, r->method);
      g_string_append (s, "</td><td>");
      if (r->cls >= 0)
        html_text (s, class_name (rep, r->cls, buf, sizeof buf));
      g_string_append (s, "</td>");
      html_cell_number (s, r->probability);
      g_string_append (s, "<td>");
      if (r->predicted >= 0)
        html_text (s, class_name (rep, r->predicted, buf, sizeof buf));
      g_string_append (s, "</td><td>");
      html_text (s, r->label);
      g_string_append_printf (s, "</td><td>%s</td>", tristate (r->correct, "yes", "no"));
      html_cell_number (s, member_double (r->o, "entropy"));
      html_cell_number (s, member_double (r->o, "roi_energy"));
      g_string_append_printf (s, "<td>%s</td>", tristate (r->pointing_hit, "hit", "miss"));
      html_cell_number (s, r->total_ms);
      g_string_append (s, "<td>");
      html_text (s, r->error);
      g_string_append (s, "</td></tr>\n");
    }
  g_string_append (s, "</tbody>\n</table></div>\n");
}

static void
html_sheet (GString *s, const Report *rep)
{
  guint n = 0;
  for (guint i = 0; i < rep->rows->len; i++)
    n += ((const Row *) rep->rows->pdata[i])->overlay != NULL;
  g_string_append (s, "<h2 id=\"s-sheet\">Contact sheet</h2>\n");
  if (n == 0)
    {
      g_string_append (s,
                       "<p>No overlays (the run had --no-overlay, or no image could be "
                       "explained).</p>\n");
      return;
    }
  char buf[32];
  g_string_append (s,
                   "<div id=\"filters\"><label>Class <select id=\"f-class\">"
                   "<option value=\"\">all</option>");
  for (guint i = 0; i < rep->classes->len; i++)
    {
      int c = g_array_index (rep->classes, int, i);
      g_string_append_printf (s, "<option value=\"%d\">", c);
      html_text (s, class_name (rep, c, buf, sizeof buf));
      g_string_append (s, "</option>");
    }
  g_string_append (s,
                   "</select></label><label>Probability from <input id=\"f-pmin\" "
                   "type=\"number\" min=\"0\" max=\"1\" step=\"0.05\" value=\"0\"> to "
                   "<input id=\"f-pmax\" type=\"number\" min=\"0\" max=\"1\" step=\"0.05\" "
                   "value=\"1\"></label>");
  if (rep->n_pointing > 0)
    g_string_append (s,
                     "<label>Pointing <select id=\"f-point\"><option value=\"\">all</option>"
                     "<option value=\"0\">miss</option><option value=\"1\">hit</option>"
                     "</select></label>");
  if (rep->n_labelled > 0)
    g_string_append (s,
                     "<label>Top-1 <select id=\"f-correct\"><option value=\"\">all</option>"
                     "<option value=\"0\">misclassified</option><option value=\"1\">"
                     "correct</option></select></label>");
  g_string_append (s, "<span id=\"f-count\"></span></div>\n<div id=\"sheet\">\n");
  for (guint i = 0; i < rep->rows->len; i++)
    {
      const Row *r = rep->rows->pdata[i];
      if (r->overlay == NULL)
        continue;
      g_string_append_printf (s, "<figure data-cls=\"%d\" data-p=\"%.6g\"", r->cls,
                              isfinite (r->probability) ? r->probability : -1.0);
      if (r->pointing_hit >= 0)
        g_string_append_printf (s, " data-hit=\"%d\"", r->pointing_hit);
      if (r->correct >= 0)
        g_string_append_printf (s, " data-correct=\"%d\"", r->correct);
      if (r->correct == 0)
        g_string_append (s, " class=\"bad\"");
      g_string_append (s, " data-path=\"");
      html_text (s, r->path);
      g_string_append (s, "\" data-overlay=\"");
      html_file_url (s, r->overlay);
      g_string_append (s, "\"><img loading=\"lazy\" src=\"");
      html_file_url (s, r->overlay);
      g_string_append (s, "\" alt=\"");
      html_text (s, r->path);
      g_string_append (s, "\"><figcaption><span class=\"path\">");
      html_text (s, r->path);
      g_string_append (s, "</span><br>");
      html_text (s, class_name (rep, r->cls, buf, sizeof buf));
      g_autofree char *p = format_number (r->probability);
      g_string_append_printf (s, " %s", p);
      if (r->method != NULL)
        {
          g_string_append (s, " · ");
          html_text (s, r->method);
        }
      if (r->correct == 0 && r->label != NULL)
        {
          g_string_append (s, " · label ");
          html_text (s, r->label);
        }
      if (r->pointing_hit >= 0)
        g_string_append (s, r->pointing_hit ? " · hit" : " · miss");
      g_string_append (s, "</figcaption></figure>\n");
    }
  g_string_append (s, "</div>\n");
}

static char *
html_render (const Report *rep)
{
  GString *s = g_string_new (NULL);
  g_string_append (s,
                   "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   /* No network: only this page's own style and script, images
                    * from the folder. */
                   "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                   "'none'; img-src 'self' file: data:; style-src 'unsafe-inline'; "
                   "script-src 'unsafe-inline'\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width\">\n<title>");
  html_text (s, rep->title);
  g_string_append_printf (s, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", html_style);
  html_text (s, rep->title);
  g_string_append (s,
                   "</h1>\n<p>Made by <code>gaze-cli batch-report</code> from "
                   "<code>results.jsonl</code>; the overlays are the files of this "
                   "folder.</p>\n<nav><a href=\"#s-summary\">Summary</a>");
  if (rep->n_labelled > 0)
    g_string_append (s, "<a href=\"#s-confusion\">Confusion matrix</a>");
  if (rep->n_error + rep->n_skipped > 0)
    g_string_append (s, "<a href=\"#s-errors\">Errors</a>");
  g_string_append (s,
                   "<a href=\"#s-results\">Results</a><a href=\"#s-sheet\">Contact "
                   "sheet</a></nav>\n");
  html_summary (s, rep);
  html_confusion (s, rep);
  html_errors (s, rep);
  html_table (s, rep);
  html_sheet (s, rep);
  g_string_append_printf (s,
                          "<div id=\"box\"><img alt=\"\"><p></p></div>\n<script>\n%s"
                          "</script>\n</body>\n</html>\n",
                          html_script);
  return g_string_free (s, FALSE);
}

/* ---- PDF ---------------------------------------------------------------- */

#define PAGE_W 595.276 /* A4 in points */
#define PAGE_H 841.890
#define MARGIN 42.0
#define CONTENT_W (PAGE_W - 2 * MARGIN)

typedef struct
{
  cairo_t *cr;
  PangoLayout *layout;
  double y;
  int page;
} Pdf;

/* Text at (x, y) in at most `width` points (ellipsized at the end, or in
 * the middle for paths); returns its height. */
static double
pdf_text (Pdf *p, double x, double y, double width, const char *font, const char *text,
          PangoEllipsizeMode ellipsize)
{
  PangoFontDescription *fd = pango_font_description_from_string (font);
  pango_layout_set_font_description (p->layout, fd);
  pango_font_description_free (fd);
  pango_layout_set_width (p->layout, (int) (width * PANGO_SCALE));
  pango_layout_set_ellipsize (p->layout, ellipsize);
  pango_layout_set_text (p->layout, text != NULL ? text : "", -1);
  int w, h;
  pango_layout_get_size (p->layout, &w, &h);
  cairo_move_to (p->cr, x, y);
  pango_cairo_show_layout (p->cr, p->layout);
  return (double) h / PANGO_SCALE;
}

static void
pdf_footer (Pdf *p)
{
  char buf[32];
  g_snprintf (buf, sizeof buf, "page %d", p->page);
  cairo_set_source_rgb (p->cr, 0.4, 0.4, 0.4);
  pdf_text (p, MARGIN, PAGE_H - MARGIN + 12, CONTENT_W, "Sans 7", buf, PANGO_ELLIPSIZE_END);
  cairo_set_source_rgb (p->cr, 0, 0, 0);
}

static void
pdf_new_page (Pdf *p)
{
  pdf_footer (p);
  cairo_show_page (p->cr);
  p->page++;
  p->y = MARGIN;
}

/* Starts a new page unless `height` more points fit on this one. */
static gboolean
pdf_need (Pdf *p, double height)
{
  if (p->y + height <= PAGE_H - MARGIN)
    return FALSE;
  pdf_new_page (p);
  return TRUE;
}

static void
pdf_heading (Pdf *p, const char *text)
{
  pdf_need (p, 40);
  p->y += 8;
  p->y += pdf_text (p, MARGIN, p->y, CONTENT_W, "Sans Bold 12", text, PANGO_ELLIPSIZE_END) + 4;
}

/* A paragraph, wrapped (an error message can be long). */
static void
pdf_line (Pdf *p, const char *text)
{
  pdf_need (p, 13);
  p->y += pdf_text (p, MARGIN, p->y, CONTENT_W, "Sans 9", text, PANGO_ELLIPSIZE_MIDDLE) + 1;
}

static void
pdf_summary (Pdf *p, const Report *rep)
{
  p->y
      += pdf_text (p, MARGIN, p->y, CONTENT_W, "Sans Bold 16", rep->title, PANGO_ELLIPSIZE_END) + 8;
  pdf_heading (p, "Summary");
  g_autofree char *counts = g_strdup_printf (
      "Images: %u. Result rows: %u (ok %u, errors %u, skipped %u). Images with an error: %u.",
      rep->n_images, rep->rows->len, rep->n_ok, rep->n_error, rep->n_skipped, rep->n_images_error);
  pdf_line (p, counts);
  if (rep->methods->len > 0)
    {
      g_autoptr (GString) m = g_string_new ("Methods: ");
      for (guint i = 0; i < rep->methods->len; i++)
        g_string_append_printf (m, "%s%s", i ? ", " : "", (char *) rep->methods->pdata[i]);
      pdf_line (p, m->str);
    }
  if (rep->n_labelled > 0)
    {
      g_autofree char *t
          = g_strdup_printf ("Top-1 accuracy: %u / %u labelled images (%.1f %%).", rep->n_correct,
                             rep->n_labelled, 100.0 * rep->n_correct / rep->n_labelled);
      pdf_line (p, t);
    }
  if (rep->n_pointing > 0)
    {
      g_autofree char *t
          = g_strdup_printf ("Pointing game: %u hits of %u rows (%.1f %%).", rep->n_hits,
                             rep->n_pointing, 100.0 * rep->n_hits / rep->n_pointing);
      pdf_line (p, t);
    }

  guint most = most_predicted (rep);
  if (most > 0)
    pdf_heading (p, "Top-1 class distribution (images)");
  char buf[32];
  for (guint i = 0; i < rep->classes->len; i++)
    {
      int c = g_array_index (rep->classes, int, i);
      guint n = lookup_count (rep->predicted_count, (guint64) c);
      if (n == 0)
        continue;
      pdf_need (p, 13);
      pdf_text (p, MARGIN, p->y, 120, "Sans 9", class_name (rep, c, buf, sizeof buf),
                PANGO_ELLIPSIZE_END);
      char num[16];
      g_snprintf (num, sizeof num, "%u", n);
      pdf_text (p, MARGIN + 125, p->y, 40, "Sans 9", num, PANGO_ELLIPSIZE_END);
      cairo_set_source_rgb (p->cr, 0.29, 0.48, 0.82);
      cairo_rectangle (p->cr, MARGIN + 165, p->y + 3, 250.0 * n / most, 7);
      cairo_fill (p->cr);
      cairo_set_source_rgb (p->cr, 0, 0, 0);
      p->y += 13;
    }

  if (rep->means->len > 0)
    {
      pdf_heading (p, "Mean statistics");
      for (guint i = 0; i < rep->means->len; i++)
        {
          const Mean *m = &g_array_index (rep->means, Mean, i);
          g_autofree char *v = format_number (m->sum / m->n);
          g_autofree char *t = g_strdup_printf ("%s: %s (%u rows)", m->name, v, m->n);
          pdf_line (p, t);
        }
    }
}

static void
pdf_confusion (Pdf *p, const Report *rep)
{
  if (rep->n_labelled == 0)
    return;
  guint n = rep->classes->len;
  double head = 80, cell = MIN (56.0, (CONTENT_W - head) / MAX (n, 1u)), row = 13;
  pdf_heading (p, "Confusion matrix (rows: label, columns: top-1 class)");
  pdf_need (p, row * (n + 1));
  char buf[32];
  for (guint j = 0; j < n; j++)
    pdf_text (p, MARGIN + head + j * cell, p->y, cell - 2, "Sans Bold 7",
              class_name (rep, g_array_index (rep->classes, int, j), buf, sizeof buf),
              PANGO_ELLIPSIZE_END);
  p->y += row;
  for (guint i = 0; i < n; i++)
    {
      pdf_need (p, row);
      int t = g_array_index (rep->classes, int, i);
      pdf_text (p, MARGIN, p->y, head - 4, "Sans Bold 7", class_name (rep, t, buf, sizeof buf),
                PANGO_ELLIPSIZE_END);
      for (guint j = 0; j < n; j++)
        {
          int pr = g_array_index (rep->classes, int, j);
          guint v = lookup_count (rep->confusion, (guint64) t << 32 | (guint64) pr);
          if (v > 0)
            {
              if (t == pr)
                cairo_set_source_rgb (p->cr, 0.87, 0.95, 0.87);
              else
                cairo_set_source_rgb (p->cr, 0.98, 0.88, 0.88);
              cairo_rectangle (p->cr, MARGIN + head + j * cell, p->y, cell - 2, row - 1);
              cairo_fill (p->cr);
              cairo_set_source_rgb (p->cr, 0, 0, 0);
            }
          char num[16];
          g_snprintf (num, sizeof num, "%u", v);
          pdf_text (p, MARGIN + head + j * cell + 2, p->y, cell - 4, "Sans 8", num,
                    PANGO_ELLIPSIZE_END);
        }
      p->y += row;
    }
}

static void
pdf_errors (Pdf *p, const Report *rep)
{
  if (rep->n_error + rep->n_skipped == 0)
    return;
  pdf_heading (p, "Errors");
  for (guint i = 0; i < rep->rows->len; i++)
    {
      const Row *r = rep->rows->pdata[i];
      if (strcmp (r->status, "ok") == 0)
        continue;
      g_autofree char *t = g_strdup_printf ("%s (%s): %s", r->path, r->status,
                                            r->error != NULL ? r->error : "no message");
      pdf_line (p, t);
    }
}

static const struct
{
  const char *title;
  double width;
} pdf_columns[] = {
  { "#", 22 },     { "Path", 144 }, { "Status", 40 }, { "Method", 48 },     { "Class", 60 },
  { "Prob.", 36 }, { "Top-1", 60 }, { "Label", 50 },  { "Pointing", 51.2 },
};

static void
pdf_table_header (Pdf *p)
{
  double x = MARGIN;
  for (guint c = 0; c < G_N_ELEMENTS (pdf_columns); c++)
    {
      pdf_text (p, x, p->y, pdf_columns[c].width - 3, "Sans Bold 7", pdf_columns[c].title,
                PANGO_ELLIPSIZE_END);
      x += pdf_columns[c].width;
    }
  p->y += 11;
  cairo_set_line_width (p->cr, 0.5);
  cairo_move_to (p->cr, MARGIN, p->y - 1);
  cairo_line_to (p->cr, MARGIN + CONTENT_W, p->y - 1);
  cairo_stroke (p->cr);
}

static void
pdf_table (Pdf *p, const Report *rep)
{
  pdf_new_page (p);
  pdf_heading (p, rep->n_labelled > 0 ? "Results (misclassified images first)" : "Results");
  pdf_table_header (p);
  char buf[32], buf2[32];
  for (guint i = 0; i < rep->rows->len; i++)
    {
      const Row *r = rep->rows->pdata[i];
      if (pdf_need (p, 10))
        pdf_table_header (p);
      char order[16];
      g_snprintf (order, sizeof order, "%u", r->order + 1);
      g_autofree char *prob = format_number (r->probability);
      const char *cells[] = {
        order,
        r->path,
        r->status,
        r->method,
        r->cls >= 0 ? class_name (rep, r->cls, buf, sizeof buf) : "",
        prob,
        r->predicted >= 0 ? class_name (rep, r->predicted, buf2, sizeof buf2) : "",
        r->label,
        tristate (r->pointing_hit, "hit", "miss"),
      };
      if (r->correct == 0 || strcmp (r->status, "ok") != 0)
        {
          cairo_set_source_rgb (p->cr, 0.99, 0.92, 0.92);
          cairo_rectangle (p->cr, MARGIN, p->y, CONTENT_W, 10);
          cairo_fill (p->cr);
          cairo_set_source_rgb (p->cr, 0, 0, 0);
        }
      double x = MARGIN;
      for (guint c = 0; c < G_N_ELEMENTS (pdf_columns); c++)
        {
          pdf_text (p, x, p->y, pdf_columns[c].width - 3, "Sans 7", cells[c],
                    c == 1 ? PANGO_ELLIPSIZE_START : PANGO_ELLIPSIZE_END);
          x += pdf_columns[c].width;
        }
      p->y += 10;
    }
}

/* The overlay scaled into a box of bw × bh points at twice that resolution
 * and embedded as a JPEG (cairo-pdf uses a surface's JPEG data as it is): a
 * contact sheet of 500 overlays stays a few MB, where deflated RGB would
 * weigh 100 kB per thumbnail. */
static void
pdf_thumbnail (Pdf *p, const char *file, double x, double y, double bw, double bh)
{
  cairo_set_source_rgb (p->cr, 0.1, 0.1, 0.1);
  cairo_rectangle (p->cr, x, y, bw, bh);
  cairo_fill (p->cr);
  g_autoptr (GdkPixbuf) pb
      = gdk_pixbuf_new_from_file_at_scale (file, (int) (2 * bw), (int) (2 * bh), TRUE, NULL);
  gchar *jpeg = NULL;
  gsize jpeg_len = 0;
  if (pb == NULL
      || !gdk_pixbuf_save_to_buffer (pb, &jpeg, &jpeg_len, "jpeg", NULL, "quality", "85", NULL))
    {
      cairo_set_source_rgb (p->cr, 1, 1, 1);
      pdf_text (p, x + 4, y + bh / 2 - 5, bw - 8, "Sans 7", "overlay missing", PANGO_ELLIPSIZE_END);
      cairo_set_source_rgb (p->cr, 0, 0, 0);
      return;
    }
  int w = gdk_pixbuf_get_width (pb), h = gdk_pixbuf_get_height (pb);
  int n = gdk_pixbuf_get_n_channels (pb), stride = gdk_pixbuf_get_rowstride (pb);
  const guint8 *src = gdk_pixbuf_read_pixels (pb);
  cairo_surface_t *img = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  guint8 *dst = cairo_image_surface_get_data (img);
  int dstride = cairo_image_surface_get_stride (img);
  for (int j = 0; j < h; j++)
    for (int i = 0; i < w; i++)
      {
        const guint8 *q = src + (gsize) j * stride + (gsize) i * n;
        ((guint32 *) (dst + (gsize) j * dstride))[i]
            = (guint32) q[0] << 16 | (guint32) q[1] << 8 | q[2];
      }
  cairo_surface_mark_dirty (img);
  cairo_surface_set_mime_data (img, CAIRO_MIME_TYPE_JPEG, (unsigned char *) jpeg, jpeg_len, g_free,
                               jpeg);
  cairo_save (p->cr);
  cairo_translate (p->cr, x + (bw - w / 2.0) / 2, y + (bh - h / 2.0) / 2);
  cairo_scale (p->cr, 0.5, 0.5);
  cairo_set_source_surface (p->cr, img, 0, 0);
  cairo_paint (p->cr);
  cairo_restore (p->cr);
  cairo_surface_destroy (img);
}

static void
pdf_sheet (Pdf *p, const Report *rep, const char *dir)
{
  const int cols = 4;
  const double gap = 8, cw = (CONTENT_W - (cols - 1) * gap) / cols, box = cw, caption = 24;
  int col = 0;
  gboolean started = FALSE;
  char buf[32];
  for (guint i = 0; i < rep->rows->len; i++)
    {
      const Row *r = rep->rows->pdata[i];
      if (r->overlay == NULL)
        continue;
      if (!started)
        {
          pdf_new_page (p);
          pdf_heading (p, "Contact sheet");
          started = TRUE;
        }
      if (col == 0)
        pdf_need (p, box + caption + gap);
      double x = MARGIN + col * (cw + gap);
      g_autofree char *file = g_build_filename (dir, r->overlay, NULL);
      pdf_thumbnail (p, file, x, p->y, box, box);
      pdf_text (p, x, p->y + box + 1, cw, "Sans 6.5", r->path, PANGO_ELLIPSIZE_START);
      g_autofree char *prob = format_number (r->probability);
      g_autofree char *cap
          = g_strdup_printf ("%s %s%s%s%s%s", class_name (rep, r->cls, buf, sizeof buf), prob,
                             r->method != NULL ? " · " : "", r->method != NULL ? r->method : "",
                             r->correct == 0 ? " · misclassified" : "",
                             r->pointing_hit < 0   ? ""
                                 : r->pointing_hit ? " · hit"
                                                   : " · miss");
      if (r->correct == 0)
        cairo_set_source_rgb (p->cr, 0.7, 0, 0);
      pdf_text (p, x, p->y + box + 10, cw, "Sans 6.5", cap, PANGO_ELLIPSIZE_END);
      cairo_set_source_rgb (p->cr, 0, 0, 0);
      if (++col == cols)
        {
          col = 0;
          p->y += box + caption + gap;
        }
    }
}

static cairo_status_t
append_to_string (void *closure, const unsigned char *data, unsigned int length)
{
  g_string_append_len (closure, (const char *) data, length);
  return CAIRO_STATUS_SUCCESS;
}

static GString *
pdf_render (const Report *rep, const char *dir, GError **error)
{
  GString *out = g_string_new (NULL);
  cairo_surface_t *surface
      = cairo_pdf_surface_create_for_stream (append_to_string, out, PAGE_W, PAGE_H);
  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE, rep->title);
  cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, "gaze-cli batch-report");
  Pdf p = { cairo_create (surface), NULL, MARGIN, 1 };
  p.layout = pango_cairo_create_layout (p.cr);
  pango_layout_set_wrap (p.layout, PANGO_WRAP_WORD_CHAR);
  pdf_summary (&p, rep);
  pdf_confusion (&p, rep);
  pdf_errors (&p, rep);
  pdf_table (&p, rep);
  pdf_sheet (&p, rep, dir);
  pdf_footer (&p);
  g_object_unref (p.layout);
  cairo_destroy (p.cr);
  cairo_surface_finish (surface);
  cairo_status_t st = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (st != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "report.pdf: %s",
                   cairo_status_to_string (st));
      g_string_free (out, TRUE);
      return NULL;
    }
  return out;
}

/* ---- Entry points ------------------------------------------------------- */

gboolean
gz_cli_batch_report_write (const char *dir, GError **error)
{
  g_autoptr (Report) rep = report_read (dir, error);
  if (rep == NULL)
    return FALSE;
  g_autofree char *html = html_render (rep);
  g_autofree char *html_path = g_build_filename (dir, "report.html", NULL);
  /* g_file_set_contents writes a temporary file in DIR and renames it. */
  if (!g_file_set_contents (html_path, html, -1, error))
    return FALSE;
  g_autoptr (GString) pdf = pdf_render (rep, dir, error);
  if (pdf == NULL)
    return FALSE;
  g_autofree char *pdf_path = g_build_filename (dir, "report.pdf", NULL);
  return g_file_set_contents (pdf_path, pdf->str, (gssize) pdf->len, error);
}

int
gz_cli_batch_report (int argc, char **argv)
{
  gboolean quiet = FALSE;
  g_auto (GStrv) rest = NULL;
  const GOptionEntry entries[] = {
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing on success", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &rest, NULL, NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("DIR");
  g_option_context_set_summary (
      ctx,
      "Write DIR/report.html and DIR/report.pdf from DIR/results.jsonl (a 'gaze-cli batch'\n"
      "or 'batch-merge' folder): summary, class distribution, mean statistics, errors,\n"
      "the table and a contact sheet of the overlays; with labels a confusion matrix\n"
      "and the misclassified images first. The HTML needs no network; it references\n"
      "the overlays of DIR by relative path, so keep it in DIR.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, PREFIX "%s\n", error->message);
      return 2;
    }
  if (rest == NULL || rest[0] == NULL || rest[1] != NULL)
    {
      fprintf (stderr, PREFIX "expected one DIR (see --help)\n");
      return 2;
    }
  gint64 t0 = g_get_monotonic_time ();
  if (!gz_cli_batch_report_write (rest[0], &error))
    {
      gz_cli_fail (PREFIX, error->message);
      return 1;
    }
  if (!quiet)
    fprintf (stderr, PREFIX "%s/report.html and %s/report.pdf in %.0f ms\n", rest[0], rest[0],
             (double) (g_get_monotonic_time () - t0) / 1000.0);
  return 0;
}
