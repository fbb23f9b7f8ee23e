/* test-demos.c — the empty state's two demos (issue 14): the photo demo and the medical one
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Under Xvfb: the empty window offers both demos; the medical demo opens a
 * DICOM phantom with the multi-label chest model and shows the heatmap of a
 * positive finding; the photo demo still opens the shapes classifier.
 * "Explain All Findings" on the medical demo: one map per positive finding,
 * each equal to the main view's analysis of that class alone. Privacy: the
 * demo's made-up patient identifiers (read here with pydicom) are nowhere in
 * the window by default; with the preference on, in the Study panel only;
 * never in the title or an export (PNG text chunks, SVG, PDF, the caption).
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "gaze-findings.h"
#include "gaze-model.h"
#include "gaze-study-info.h"
#include "gaze-test-util.h"
#include "gaze-window.h"

#define WAIT_MS 120000 /* a bound for waits, not a timing test: TSan runs ~10x slower */

static gboolean
is_mapped (gpointer data)
{
  return gtk_widget_get_mapped (data);
}

static gboolean
is_idle_with_result (gpointer data)
{
  return !gaze_window_is_busy (data) && gaze_window_get_explanation (data) != NULL;
}

static gboolean
is_photo_demo_button (GtkWidget *widget)
{
  return g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)), "win.open-demo") == 0;
}

static gboolean
is_medical_demo_button (GtkWidget *widget)
{
  return g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)),
                    "win.open-medical-demo")
      == 0;
}

static GazeWindow *
window_new (GazeApplication *app)
{
  GazeWindow *window = gaze_window_new (app);

  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (gaze_test_wait (is_mapped, window, 5000));
  return window;
}

static void
window_close (GazeWindow *window)
{
  g_object_ref (window);
  gtk_window_destroy (GTK_WINDOW (window));
  gaze_test_spin (20);
  g_assert_finalize_object (window);
}

static gboolean
have_demos (void)
{
  const char *data = g_getenv ("GAZE_DATA_DIR");
  g_autofree char *medical = NULL;

  if (data == NULL)
    {
      g_test_skip ("GAZE_DATA_DIR not set (run by meson)");
      return FALSE;
    }
  medical = g_build_filename (data, "demo-medical", "chest-phantom.onnx", NULL);
  if (!g_file_test (medical, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("data/demo-medical is absent from this tree");
      return FALSE;
    }
  return TRUE;
}

/* Both buttons show on the empty page, and each names its action. */
static void
test_empty_state_offers_both (void)
{
  g_autoptr (GazeApplication) app = NULL;
  GazeWindow *window;
  GtkWidget *photo, *medical;

  if (!have_demos ())
    return;
  g_unsetenv ("GAZE_DEMO_DIR");
  app = gaze_test_application_new ();
  window = window_new (app);
  g_assert_true (gaze_window_is_empty (window));
  photo = gaze_test_find (GTK_WIDGET (window), GTK_TYPE_BUTTON, is_photo_demo_button);
  medical = gaze_test_find (GTK_WIDGET (window), GTK_TYPE_BUTTON, is_medical_demo_button);
  g_assert_nonnull (photo);
  g_assert_nonnull (medical);
  g_assert_true (gtk_widget_is_drawable (photo));
  g_assert_true (gtk_widget_is_drawable (medical));
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (photo)), ==, "Try the _Photo Demo");
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (medical)), ==, "Try the _Medical Demo");
  window_close (window);
}

/* The medical demo: a DICOM study with the multi-label model, and the map of
 * a finding the model calls positive. */
static void
test_medical_demo_opens_dicom (void)
{
  g_autoptr (GazeApplication) app = NULL;
  GazeWindow *window;
  GazeModel *model;
  const GzExplanation *ex;
  g_autofree char *image_name = NULL;
  g_autofree char *model_name = NULL;
  float map_max = 0;

  if (!have_demos ())
    return;
  app = gaze_test_application_new ();
  window = window_new (app);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.open-medical-demo", NULL));
  g_assert_true (gaze_test_wait (is_idle_with_result, window, WAIT_MS));

  model = gaze_window_get_model (window);
  g_assert_nonnull (model);
  model_name = g_file_get_basename (gaze_model_get_file (model));
  g_assert_cmpstr (model_name, ==, "chest-phantom.onnx");
  g_assert_true (gaze_model_is_multilabel (model));
  image_name = g_file_get_basename (gaze_window_get_image_file (window));
  g_assert_true (g_str_has_suffix (image_name, ".dcm"));
  g_test_message ("the medical demo opened %s", image_name);

  ex = gaze_window_get_explanation (window);
  g_test_message ("explained class %d, probability %.3f", ex->class_index, ex->probability);
  g_assert_cmpfloat (ex->probability, >=, gaze_model_get_threshold (model));
  for (int64_t i = 0; i < gz_tensor_numel (ex->map); i++)
    {
      float v = ((const float *) ex->map->data)[i];

      if (isfinite (v))
        map_max = MAX (map_max, v);
    }
  /* A real map, normalised: its peak is 1. */
  g_assert_cmpfloat_with_epsilon (map_max, 1.0f, 1e-5f);
  window_close (window);
}

/* The photo demo still opens the shapes classifier and a picture. */
static void
test_photo_demo_still_opens (void)
{
  g_autoptr (GazeApplication) app = NULL;
  GazeWindow *window;
  g_autofree char *model_name = NULL;
  g_autofree char *image_name = NULL;

  if (!have_demos ())
    return;
  g_unsetenv ("GAZE_DEMO_DIR");
  app = gaze_test_application_new ();
  window = window_new (app);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.open-demo", NULL));
  g_assert_true (gaze_test_wait (is_idle_with_result, window, WAIT_MS));
  model_name = g_file_get_basename (gaze_model_get_file (gaze_window_get_model (window)));
  image_name = g_file_get_basename (gaze_window_get_image_file (window));
  g_assert_cmpstr (model_name, ==, "shapes.onnx");
  g_assert_true (g_str_has_suffix (image_name, ".png"));
  window_close (window);
}

typedef struct
{
  int class_index;
  float probability;
  GzTensor *map;
} SingleClass;

static void
single_class_clear (SingleClass *s)
{
  g_clear_pointer (&s->map, gz_tensor_free);
}

static gboolean
is_explain_all_button (GtkWidget *widget)
{
  return g_strcmp0 (gtk_widget_get_name (widget), "explain-all-findings") == 0;
}

static gboolean
findings_done (gpointer data)
{
  return !gaze_findings_is_busy (data) && gaze_findings_get_n_maps (data) > 0;
}

static gboolean
has_no_maps (gpointer data)
{
  return gaze_findings_get_n_maps (data) == 0;
}

static GazeWindow *
open_medical_demo (GazeApplication *app)
{
  GazeWindow *window = window_new (app);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.open-medical-demo", NULL));
  g_assert_true (gaze_test_wait (is_idle_with_result, window, WAIT_MS));
  return window;
}

/* The main view's analysis of each listed class, one at a time. */
static GArray *
analyse_each_class (GazeWindow *window)
{
  GArray *classes = g_array_new (FALSE, TRUE, sizeof (SingleClass));
  g_autoptr (GArray) order = g_array_new (FALSE, FALSE, sizeof (int));

  g_array_set_clear_func (classes, (GDestroyNotify) single_class_clear);
  for (int rank = 0; gaze_window_get_prediction (window, rank) >= 0; rank++)
    {
      int c = gaze_window_get_prediction (window, rank);
      g_array_append_val (order, c);
    }
  for (guint rank = 0; rank < order->len; rank++)
    {
      SingleClass s = { 0 };
      const GzExplanation *ex;

      /* By rank, as keys 1…9 do: the list's order is by probability, which
       * does not depend on the class explained. */
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.select-class", "i",
                                                 (int) rank + 1));
      g_assert_true (gaze_test_wait (is_idle_with_result, window, WAIT_MS));
      ex = gaze_window_get_explanation (window);
      g_assert_cmpint (ex->class_index, ==, g_array_index (order, int, rank));
      s.class_index = ex->class_index;
      s.probability = ex->probability;
      s.map = gz_tensor_copy (ex->map, NULL);
      g_assert_nonnull (s.map);
      g_array_append_val (classes, s);
    }
  return classes;
}

static float
max_abs_difference (const GzTensor *a, const GzTensor *b)
{
  float worst = 0;

  g_assert_cmpint (gz_tensor_numel (a), ==, gz_tensor_numel (b));
  for (int64_t i = 0; i < gz_tensor_numel (a); i++)
    worst = MAX (worst, fabsf (((const float *) a->data)[i] - ((const float *) b->data)[i]));
  return worst;
}

/* One map per positive finding, each the single-class analysis of it; a
 * click on one explains that finding in the main view. */
static void
test_explain_all_findings (void)
{
  g_autoptr (GazeApplication) app = NULL;
  g_autoptr (GArray) single = NULL;
  GazeWindow *window;
  GtkWidget *button, *flow, *tile = NULL;
  double threshold;
  guint n_positive = 0, n_tiles = 0;
  int last_class = -1;

  if (!have_demos ())
    return;
  app = gaze_test_application_new ();
  window = open_medical_demo (app);
  threshold = gaze_model_get_threshold (gaze_window_get_model (window));
  single = analyse_each_class (window);
  for (guint i = 0; i < single->len; i++)
    {
      const SingleClass *s = &g_array_index (single, SingleClass, i);

      g_test_message ("class %d: %.4f", s->class_index, s->probability);
      if (s->probability >= threshold)
        n_positive++;
    }
  g_assert_cmpuint (n_positive, >=, 2);

  button = gaze_test_find (GTK_WIDGET (window), GTK_TYPE_BUTTON, is_explain_all_button);
  g_assert_nonnull (button);
  g_assert_true (gtk_widget_is_sensitive (button));
  /* Twice: the second request replaces the first. */
  g_signal_emit_by_name (button, "clicked");
  g_assert_true (gaze_findings_is_busy (window));
  g_signal_emit_by_name (button, "clicked");
  g_assert_true (gaze_test_wait (findings_done, window, WAIT_MS));

  g_assert_cmpuint (gaze_findings_get_n_maps (window), ==, n_positive);
  for (guint m = 0; m < gaze_findings_get_n_maps (window); m++)
    {
      const GzExplanation *ex = gaze_findings_get_explanation (window, m);
      const SingleClass *match = NULL;
      float diff;

      for (guint i = 0; i < single->len; i++)
        if (g_array_index (single, SingleClass, i).class_index == ex->class_index)
          match = &g_array_index (single, SingleClass, i);
      g_assert_nonnull (match);
      g_assert_cmpfloat (match->probability, >=, threshold);
      g_assert_cmpfloat_with_epsilon (ex->probability, match->probability, 1e-6f);
      diff = max_abs_difference (ex->map, match->map);
      g_test_message ("finding %d: max |all − single| = %g", ex->class_index, diff);
      g_assert_cmpfloat (diff, <=, 1e-6f);
      last_class = ex->class_index;
    }

  /* One tile each; clicking the last explains its finding in the main view. */
  flow = gaze_test_find (GTK_WIDGET (window), GTK_TYPE_FLOW_BOX, NULL);
  g_assert_nonnull (flow);
  g_assert_cmpstr (gtk_widget_get_name (flow), ==, "finding-maps");
  for (GtkWidget *c = gtk_widget_get_first_child (flow); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      tile = gtk_flow_box_child_get_child (GTK_FLOW_BOX_CHILD (c));
      n_tiles++;
    }
  g_assert_cmpuint (n_tiles, ==, n_positive);
  g_assert_nonnull (tile);
  g_signal_emit_by_name (tile, "clicked");
  g_assert_true (gaze_test_wait (is_idle_with_result, window, WAIT_MS));
  g_assert_cmpint (gaze_window_get_explanation (window)->class_index, ==, last_class);
  /* Same method and layer: the maps stay. */
  g_assert_cmpuint (gaze_findings_get_n_maps (window), ==, n_positive);

  /* Another method: the maps go. */
  g_assert_true (
      gtk_widget_activate_action (GTK_WIDGET (window), "settings.method", "s", "gradcam++"));
  g_assert_true (gaze_test_wait (has_no_maps, window, WAIT_MS));
  g_assert_true (gaze_test_wait (is_idle_with_result, window, WAIT_MS));
  g_assert_cmpint (gaze_window_get_explanation (window)->method, ==, GZ_METHOD_GRADCAM_PP);
  window_close (window);
}

/* Closing the window while the maps are computed cancels them. */
static void
test_explain_all_cancelled_by_close (void)
{
  g_autoptr (GazeApplication) app = NULL;
  GazeWindow *window;
  GtkWidget *button;

  if (!have_demos ())
    return;
  app = gaze_test_application_new ();
  window = open_medical_demo (app);
  button = gaze_test_find (GTK_WIDGET (window), GTK_TYPE_BUTTON, is_explain_all_button);
  g_assert_nonnull (button);
  g_signal_emit_by_name (button, "clicked");
  g_assert_true (gaze_findings_is_busy (window));
  window_close (window);
  /* The worker ends on its own; its callback finds no window. */
  gaze_test_spin (500);
}

/* ---- Privacy ---------------------------------------------------------------- */

static const char *const identifier_rows[] = {
  "patient-name",     "patient-id",  "birth-date",
  "accession-number", "institution", "referring-physician",
};

/* The identifiers of a DICOM file as pydicom reads them, in the order of
 * identifier_rows; NULL (and a skip) without pydicom. */
static char **
read_identifiers (const char *path)
{
  const char *script
      = "import sys, pydicom\n"
        "d = pydicom.dcmread(sys.argv[1])\n"
        "for k in ('PatientName', 'PatientID', 'PatientBirthDate', 'AccessionNumber',\n"
        "          'InstitutionName', 'ReferringPhysicianName'):\n"
        "    print(str(d.get(k, '')))\n";
  const char *argv[] = { "/usr/bin/python3", "-c", script, path, NULL };
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;
  char **lines;
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                     &status, &error)
      || !g_spawn_check_wait_status (status, NULL))
    {
      g_test_skip ("pydicom (/usr/bin/python3) is not available");
      return NULL;
    }
  lines = g_strsplit (out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), >=, G_N_ELEMENTS (identifier_rows));
  for (guint i = 0; i < G_N_ELEMENTS (identifier_rows); i++)
    g_assert_cmpuint (strlen (lines[i]), >, 3); /* the demo has every one */
  return lines;
}

/* Every form an identifier may take on screen: as stored, "^" as spaces, a
 * date as YYYY-MM-DD; lower case. */
static GPtrArray *
needles (char **identifiers)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < G_N_ELEMENTS (identifier_rows); i++)
    {
      char *plain = g_ascii_strdown (identifiers[i], -1);
      char *spaced = g_strdelimit (g_strdup (plain), "^", ' ');

      g_ptr_array_add (out, plain);
      g_ptr_array_add (out, spaced);
      if (strlen (plain) == 8 && strspn (plain, "0123456789") == 8)
        g_ptr_array_add (out, g_strdup_printf ("%.4s-%.2s-%.2s", plain, plain + 4, plain + 6));
    }
  return out;
}

/* The first needle found in text (any case; binary, NULs and all), or NULL. */
static const char *
find_needle (GPtrArray *needles, const char *text, gsize len)
{
  g_autofree char *lower = g_malloc (len + 1);

  for (gsize i = 0; i < len; i++)
    lower[i] = g_ascii_tolower (text[i]);
  for (guint n = 0; n < needles->len; n++)
    {
      const char *needle = needles->pdata[n];
      gsize m = strlen (needle);

      for (gsize i = 0; m > 0 && i + m <= len; i++)
        if (memcmp (lower + i, needle, m) == 0)
          return needle;
    }
  return NULL;
}

/* Everything the widgets under `widget` say, but for `skip` and below. */
static void
collect_text (GtkWidget *widget, GtkWidget *skip, GString *out)
{
  const char *tooltip = gtk_widget_get_tooltip_text (widget);

  if (widget == skip)
    return;
  if (GTK_IS_LABEL (widget))
    g_string_append_printf (out, "%s\n", gtk_label_get_label (GTK_LABEL (widget)));
  if (GTK_IS_BUTTON (widget) && gtk_button_get_label (GTK_BUTTON (widget)) != NULL)
    g_string_append_printf (out, "%s\n", gtk_button_get_label (GTK_BUTTON (widget)));
  if (GTK_IS_EDITABLE (widget))
    g_string_append_printf (out, "%s\n", gtk_editable_get_text (GTK_EDITABLE (widget)));
  if (GTK_IS_WINDOW (widget) && gtk_window_get_title (GTK_WINDOW (widget)) != NULL)
    g_string_append_printf (out, "%s\n", gtk_window_get_title (GTK_WINDOW (widget)));
  if (tooltip != NULL)
    g_string_append_printf (out, "%s\n", tooltip);
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    collect_text (c, skip, out);
}

static gboolean
is_study_panel (GtkWidget *widget)
{
  return g_strcmp0 (gtk_widget_get_name (widget), "study-info") == 0;
}

static gboolean
is_idle (gpointer data)
{
  return !gaze_window_is_busy (data);
}

/* Exports the shown view to dir/name and returns the file's bytes. */
static GBytes *
export_to (GazeWindow *window, const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;

  gaze_window_export_file (window, file);
  g_assert_true (gaze_test_wait (is_idle, window, WAIT_MS));
  g_assert_true (g_file_get_contents (path, &contents, &len, &error));
  g_assert_no_error (error);
  g_unlink (path);
  return g_bytes_new_take (contents, len);
}

static void
test_patient_identifiers (void)
{
  g_autoptr (GazeApplication) app = NULL;
  g_autoptr (GSettings) settings = NULL;
  g_auto (GStrv) identifiers = NULL;
  g_autoptr (GPtrArray) forms = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  g_autofree char *study = NULL;
  g_autofree char *dir = NULL;
  g_autoptr (GdkPixbuf) png = NULL;
  GazeWindow *window;
  GtkWidget *panel;
  const char *found;

  if (!have_demos ())
    return;
  settings = g_settings_new ("io.github.gazeviewer.Gaze");
  g_settings_reset (settings, "show-patient-identifiers");
  g_assert_false (g_settings_get_boolean (settings, "show-patient-identifiers"));

  app = gaze_test_application_new ();
  window = open_medical_demo (app);
  study = g_file_get_path (gaze_window_get_image_file (window));
  if ((identifiers = read_identifiers (study)) == NULL)
    {
      window_close (window);
      return;
    }
  forms = needles (identifiers);

  /* Off (the default): nowhere in the window, its title included. */
  collect_text (GTK_WIDGET (window), NULL, text);
  g_assert_nonnull (gaze_study_info_get_value (window, "modality")); /* the panel shows */
  found = find_needle (forms, text->str, text->len);
  g_assert_null (found);
  for (guint i = 0; i < G_N_ELEMENTS (identifier_rows); i++)
    g_assert_null (gaze_study_info_get_value (window, identifier_rows[i]));

  /* On: in the Study panel, and only there. */
  g_settings_set_boolean (settings, "show-patient-identifiers", TRUE);
  gaze_test_spin (50);
  for (guint i = 0; i < G_N_ELEMENTS (identifier_rows); i++)
    {
      const char *shown = gaze_study_info_get_value (window, identifier_rows[i]);
      g_autofree char *plain = g_strdelimit (g_strdup (identifiers[i]), "^", ' ');

      g_test_message ("%s: %s", identifier_rows[i], shown);
      g_assert_nonnull (shown);
      if (i != 2) /* the birth date is reformatted, checked below */
        g_assert_cmpstr (shown, ==, plain);
    }
  g_assert_cmpstr (gaze_study_info_get_value (window, "patient-name"), ==, "DEMO PHANTOM");
  g_assert_cmpstr (gaze_study_info_get_value (window, "birth-date"), ==, "1970-01-01");
  panel = gaze_test_find (GTK_WIDGET (window), GTK_TYPE_BOX, is_study_panel);
  g_assert_nonnull (panel);
  g_string_truncate (text, 0);
  collect_text (GTK_WIDGET (window), panel, text);
  found = find_needle (forms, text->str, text->len);
  g_assert_null (found);

  /* Exports, with the preference on: none in the PNG (its text chunks, the
   * caption among them), the SVG or the PDF. */
  dir = g_dir_make_tmp ("gaze-demos-privacy-XXXXXX", NULL);
  g_assert_nonnull (dir);
  {
    g_autoptr (GBytes) bytes = export_to (window, dir, "study.png");
    g_autoptr (GInputStream) stream = g_memory_input_stream_new_from_bytes (bytes);
    g_autoptr (GError) error = NULL;
    const char *caption;
    gsize len;
    const char *data = g_bytes_get_data (bytes, &len);

    g_assert_null (find_needle (forms, data, len));
    png = gdk_pixbuf_new_from_stream (stream, NULL, &error);
    g_assert_no_error (error);
    caption = gdk_pixbuf_get_option (png, "tEXt::Description");
    g_assert_nonnull (caption);
    g_test_message ("caption: %s", caption);
    g_assert_null (find_needle (forms, caption, strlen (caption)));
  }
  for (guint k = 0; k < 2; k++)
    {
      g_autoptr (GBytes) bytes = export_to (window, dir, k == 0 ? "study.svg" : "study.pdf");
      gsize len;
      const char *data = g_bytes_get_data (bytes, &len);

      g_assert_cmpuint (len, >, 100);
      g_assert_null (find_needle (forms, data, len));
    }
  g_rmdir (dir);
  g_settings_reset (settings, "show-patient-identifiers");
  window_close (window);
}

int
main (int argc, char **argv)
{
  gaze_test_init (&argc, &argv);
  adw_init ();
  g_test_add_func ("/ui/demos/empty-state-offers-both", test_empty_state_offers_both);
  g_test_add_func ("/ui/demos/medical-opens-dicom", test_medical_demo_opens_dicom);
  g_test_add_func ("/ui/demos/photo-still-opens", test_photo_demo_still_opens);
  g_test_add_func ("/ui/demos/explain-all-findings", test_explain_all_findings);
  g_test_add_func ("/ui/demos/patient-identifiers", test_patient_identifiers);
  g_test_add_func ("/ui/demos/explain-all-cancelled-by-close", test_explain_all_cancelled_by_close);
  return g_test_run ();
}
