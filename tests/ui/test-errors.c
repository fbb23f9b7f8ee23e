/* test-errors.c — issue 15 items 4, 8 and 9 driven through the real window:
 * errors in the error bar (in full, paths shortened, closable), resource
 * limits set in Preferences › Limits and applied to model and image loads,
 * the model summary after Apply and Save of the preprocessing, and the
 * "No Model" page's text not clipped. Uses the project's demo (data/demo).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gaze-error-bar.h"
#include "gaze-preferences-window.h"
#include "gaze-test-util.h"
#include "gaze-window.h"

#define WAIT_MS 120000

typedef struct
{
  GazeApplication *app;
  GazeWindow *window;
  char *model_path; /* data/demo/shapes.onnx */
  char *image_path; /* data/demo/demo-01-star.png */
  char *tmp; /* a private directory, removed with what is in it */
} Fixture;

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
is_idle (gpointer data)
{
  return !gaze_window_is_busy (data);
}

static void
reset_settings (void)
{
  g_autoptr (GSettings) settings = g_settings_new (APP_ID);
  const char *keys[] = { "method",
                         "limit-file-mib",
                         "limit-nodes",
                         "limit-tensor-elements",
                         "limit-activation-mib",
                         "limit-image-megapixels",
                         "reopen-last-model" };

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    g_settings_reset (settings, keys[i]);
  g_settings_set_boolean (settings, "reopen-last-model", FALSE);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  const char *data_dir = g_getenv ("GAZE_DATA_DIR");
  g_autoptr (GError) error = NULL;

  /* The memory backend lives as long as the process: start each test afresh. */
  reset_settings ();
  if (g_getenv ("GAZE_LIMITS") != NULL)
    g_unsetenv ("GAZE_LIMITS");
  f->app = gaze_test_application_new ();
  f->window = gaze_window_new (f->app);
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1000, 700);
  gtk_window_present (GTK_WINDOW (f->window));
  g_assert_true (gaze_test_wait (is_mapped, f->window, 5000));

  g_assert_nonnull (data_dir);
  f->model_path = g_build_filename (data_dir, "demo", "shapes.onnx", NULL);
  f->image_path = g_build_filename (data_dir, "demo", "demo-01-star.png", NULL);
  f->tmp = g_dir_make_tmp ("gaze-errors-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        remove_tree (path);
      else
        g_unlink (path);
    }
  g_rmdir (dir);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  GazeWindow *window = f->window;

  /* Preferences opened by a test go first (they are transient for the window). */
  for (GList *l = gtk_window_list_toplevels (); l != NULL; l = g_list_delete_link (l, l))
    if (GAZE_IS_PREFERENCES_WINDOW (l->data))
      gtk_window_destroy (l->data);
  g_object_ref (window);
  gtk_window_destroy (GTK_WINDOW (window));
  gaze_test_spin (20);
  g_assert_finalize_object (window);
  g_clear_object (&f->app);
  remove_tree (f->tmp);
  g_free (f->tmp);
  g_free (f->model_path);
  g_free (f->image_path);
  if (g_getenv ("GAZE_LIMITS") != NULL)
    g_unsetenv ("GAZE_LIMITS");
  reset_settings ();
}

static gboolean
need_demo (Fixture *f)
{
  if (!g_file_test (f->model_path, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("data/demo (GAZE_DATA_DIR) not found");
      return FALSE;
    }
  return TRUE;
}

static void
open_path (Fixture *f, const char *path)
{
  GFile *file = g_file_new_for_path (path);

  gaze_window_open_files (f->window, &file, 1);
  g_object_unref (file);
}

/* The window's error bar when it shows, else NULL. */
static GazeErrorBar *
shown_error_bar (Fixture *f)
{
  gaze_test_spin (50);
  return (GazeErrorBar *) gaze_test_find (GTK_WIDGET (f->window), GAZE_TYPE_ERROR_BAR, NULL);
}

static gboolean
error_bar_shows (gpointer data)
{
  return gaze_test_find (GTK_WIDGET (data), GAZE_TYPE_ERROR_BAR, NULL) != NULL;
}

/* What the error bar's label shows is all of the message: not ellipsised,
 * and given the height its wrapped lines need. */
static gboolean
is_allocated (gpointer data)
{
  return gtk_widget_get_width (data) > 0 && gtk_widget_get_height (data) > 0;
}

static void
assert_shown_in_full (GazeErrorBar *bar)
{
  GtkLabel *label = gaze_error_bar_get_label (bar);
  int min_h = 0;

  g_assert_true (gaze_test_wait (is_allocated, label, 5000));
  gaze_test_spin (300); /* the revealer's slide */

  g_assert_cmpstr (gtk_label_get_text (label), ==, gaze_error_bar_get_message (bar));
  g_assert_cmpint (gtk_label_get_ellipsize (label), ==, PANGO_ELLIPSIZE_NONE);
  g_assert_false (pango_layout_is_ellipsized (gtk_label_get_layout (label)));
  gtk_widget_measure (GTK_WIDGET (label), GTK_ORIENTATION_VERTICAL,
                      gtk_widget_get_width (GTK_WIDGET (label)), &min_h, NULL, NULL, NULL);
  g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (label)), >=, min_h);
}

/* With GAZE_TEST_SHOTS set, saves what `widget` (a window) shows there. */
static void
maybe_save (GtkWidget *widget, const char *name)
{
  const char *dir = g_getenv ("GAZE_TEST_SHOTS");
  g_autofree char *path = NULL;
  g_autoptr (GdkPixbuf) pixbuf = NULL;
  guint8 *px;
  int w, h;

  if (dir == NULL)
    return;
  gaze_test_spin (300);
  px = gaze_test_render (widget, &w, &h);
  pixbuf = gdk_pixbuf_new_from_data (px, GDK_COLORSPACE_RGB, TRUE, 8, w, h, w * 4, NULL, NULL);
  path = g_build_filename (dir, name, NULL);
  g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", NULL, NULL));
  g_free (px);
}

/* ---- Item 4: the error bar ---------------------------------------------- */

/* A file that cannot be opened and one that is neither image nor model: the
 * bar says so in full, names the file without its folders, and closes. */
static void
test_error_bar (Fixture *f, gconstpointer data)
{
  g_autofree char *deep
      = g_build_filename (f->tmp, "a-rather-long-folder-name", "and-another", NULL);
  g_autofree char *missing = g_build_filename (deep, "missing.png", NULL);
  g_autofree char *notes = g_build_filename (f->tmp, "notes.txt", NULL);
  GazeErrorBar *bar;
  const char *message;

  g_assert_null (shown_error_bar (f));

  open_path (f, missing);
  bar = shown_error_bar (f);
  g_assert_nonnull (bar);
  message = gaze_error_bar_get_message (bar);
  g_test_message ("error bar: %s", message);
  g_assert_nonnull (strstr (message, "missing.png"));
  /* GIO's reason names the full path; the bar shortens it. */
  g_assert_null (strstr (message, f->tmp));
  g_assert_null (strstr (message, "a-rather-long-folder-name"));
  g_assert_cmpstr (gaze_window_get_last_message (f->window), ==, message);
  assert_shown_in_full (bar);

  /* The next error replaces it. */
  g_assert_true (g_file_set_contents (notes, "not an image", -1, NULL));
  open_path (f, notes);
  bar = shown_error_bar (f);
  g_assert_nonnull (bar);
  g_assert_nonnull (strstr (gaze_error_bar_get_message (bar), "notes.txt"));
  g_assert_null (strstr (gaze_error_bar_get_message (bar), "missing.png"));

  /* Closable. */
  g_signal_emit_by_name (gaze_error_bar_get_close_button (bar), "clicked");
  g_assert_null (shown_error_bar (f));
  g_assert_null (gaze_error_bar_get_message (bar));
}

/* The message as the user reads it in a narrow window: all of it, wrapped. */
static void
test_error_bar_narrow (Fixture *f, gconstpointer data)
{
  g_autofree char *deep = g_build_filename (f->tmp, "some", "folder", NULL);
  g_autofree char *missing
      = g_build_filename (deep, "an-image-with-a-long-name-from-a-camera.jpg", NULL);
  GazeErrorBar *bar;
  PangoLayout *layout;

  gtk_window_set_default_size (GTK_WINDOW (f->window), 640, 500);
  gaze_test_spin (200);
  open_path (f, missing);
  bar = shown_error_bar (f);
  g_assert_nonnull (bar);
  gaze_test_spin (300); /* the revealer's slide */
  assert_shown_in_full (bar);
  layout = gtk_label_get_layout (gaze_error_bar_get_label (bar));
  maybe_save (GTK_WIDGET (f->window), "error-bar-narrow.png");
  g_test_message ("%d lines at %d px: %s", pango_layout_get_line_count (layout),
                  gtk_widget_get_width (GTK_WIDGET (bar)), gaze_error_bar_get_message (bar));
  /* Too long for one line at this width: it wraps instead of being cut. */
  g_assert_cmpint (pango_layout_get_line_count (layout), >, 1);
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (bar)), <=,
                   gtk_widget_get_width (GTK_WIDGET (f->window)));
}

/* Paths in prose, quoted or bare, keep only their file name. */
static void
test_shorten_paths (void)
{
  const struct
  {
    const char *in, *out;
  } cases[] = {
    { "Cannot open “/home/a b/x/dog.jpg”: gone", "Cannot open “dog.jpg”: gone" },
    { "'/tmp/m/model.onnx' is 9 bytes", "'model.onnx' is 9 bytes" },
    { "Error opening file /srv/data/cat.png: No such file",
      "Error opening file cat.png: No such file" },
    { "„/a/b/c.png“ fehlt", "„c.png“ fehlt" },
    { "no path here, 3/4 of it", "no path here, 3/4 of it" },
    { "/lone", "lone" },
    { "ratio 1/2 and /", "ratio 1/2 and /" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = gaze_error_bar_shorten_paths (cases[i].in);
      g_assert_cmpstr (out, ==, cases[i].out);
    }
}

static GazePreferencesWindow *
find_preferences (void)
{
  GazePreferencesWindow *prefs = NULL;

  for (GList *l = gtk_window_list_toplevels (); l != NULL; l = g_list_delete_link (l, l))
    if (GAZE_IS_PREFERENCES_WINDOW (l->data))
      prefs = l->data;
  return prefs;
}

static gboolean
has_preferences (gpointer data)
{
  return find_preferences () != NULL;
}

static gboolean
is_spin_of_value (GtkWidget *widget, double value)
{
  return GTK_IS_SPIN_BUTTON (widget)
      && gtk_spin_button_get_value (GTK_SPIN_BUTTON (widget)) == value;
}

static gboolean
is_nodes_spin (GtkWidget *widget)
{
  return is_spin_of_value (widget, 7);
}

/* A model above a limit: the bar says which limit and that Preferences
 * changes it (never the command line's --limits nor GAZE_LIMITS); its button
 * opens Preferences on the Limits page, where raising the limit lets the
 * model open. GAZE_LIMITS in the environment still overrides Preferences. */
static void
test_model_limit (Fixture *f, gconstpointer data)
{
  g_autoptr (GSettings) settings = g_settings_new (APP_ID);
  GazePreferencesWindow *prefs;
  GazeErrorBar *bar;
  GtkButton *action;
  GtkWidget *spin;
  const char *message;

  if (!need_demo (f))
    return;
  g_settings_set_int (settings, "limit-nodes", 7);
  open_path (f, f->image_path);
  open_path (f, f->model_path);
  g_assert_true (gaze_test_wait (error_bar_shows, f->window, WAIT_MS));
  g_assert_true (gaze_test_wait (is_idle, f->window, WAIT_MS));
  bar = shown_error_bar (f);
  message = gaze_error_bar_get_message (bar);
  g_test_message ("error bar: %s", message);
  g_assert_null (gaze_window_get_model (f->window));
  g_assert_nonnull (strstr (message, "nodes limit of 7"));
  g_assert_nonnull (strstr (message, "Preferences › Limits"));
  g_assert_nonnull (strstr (message, "Model Nodes"));
  g_assert_null (strstr (message, "GAZE_LIMITS"));
  g_assert_null (strstr (message, "--limit"));
  assert_shown_in_full (bar);
  maybe_save (GTK_WIDGET (f->window), "model-limit.png");

  action = gaze_error_bar_get_action_button (bar);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (action)));
  g_assert_cmpstr (gtk_actionable_get_action_name (GTK_ACTIONABLE (action)), ==,
                   "app.preferences-limits");
  g_signal_emit_by_name (action, "clicked");
  g_assert_true (gaze_test_wait (has_preferences, NULL, 5000));
  prefs = find_preferences ();
  g_assert_true (gaze_test_wait (is_mapped, prefs, 5000));
  g_assert_cmpstr (adw_preferences_window_get_visible_page_name (ADW_PREFERENCES_WINDOW (prefs)),
                   ==, "limits");
  g_assert_null (shown_error_bar (f)); /* it has said what it had to */
  maybe_save (GTK_WIDGET (prefs), "preferences-limits.png");

  /* The row shows the setting; raising it there lets the model open. */
  spin = gaze_test_find (GTK_WIDGET (prefs), GTK_TYPE_SPIN_BUTTON, is_nodes_spin);
  g_assert_nonnull (spin);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), 100000);
  g_assert_cmpint (g_settings_get_int (settings, "limit-nodes"), ==, 100000);
  gtk_window_destroy (GTK_WINDOW (prefs));
  open_path (f, f->model_path);
  g_assert_true (gaze_test_wait (is_idle, f->window, WAIT_MS));
  g_assert_true (gaze_test_wait (is_idle_with_result, f->window, WAIT_MS));
  g_assert_nonnull (gaze_window_get_model (f->window));

  /* The environment wins over Preferences (as for gaze-cli). */
  g_settings_set_int (settings, "limit-nodes", 100000);
  g_setenv ("GAZE_LIMITS", "nodes=5", TRUE);
  open_path (f, f->model_path);
  g_assert_true (gaze_test_wait (error_bar_shows, f->window, WAIT_MS));
  message = gaze_error_bar_get_message (shown_error_bar (f));
  g_test_message ("error bar: %s", message);
  g_assert_nonnull (strstr (message, "nodes limit of 5"));
  /* Preferences would not help: the bar says what does. */
  g_assert_nonnull (strstr (message, "GAZE_LIMITS in the environment"));
  g_assert_false (
      gtk_widget_get_visible (GTK_WIDGET (gaze_error_bar_get_action_button (shown_error_bar (f)))));
  g_unsetenv ("GAZE_LIMITS");
}

/* An image above the Preferences' pixel limit is refused, naming the row. */
static void
test_image_limit (Fixture *f, gconstpointer data)
{
  g_autoptr (GSettings) settings = g_settings_new (APP_ID);
  g_autofree char *big = g_build_filename (f->tmp, "big.png", NULL);
  g_autoptr (GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 1200, 1000);
  g_autoptr (GError) error = NULL;
  const char *message;

  gdk_pixbuf_fill (pixbuf, 0x336699ff);
  g_assert_true (gdk_pixbuf_save (pixbuf, big, "png", &error, NULL));
  g_assert_no_error (error);

  /* 1.2 Mpixel: opens under the default limit (100), not under 1. */
  g_settings_set_int (settings, "limit-image-megapixels", 1);
  open_path (f, big);
  g_assert_true (gaze_test_wait (error_bar_shows, f->window, WAIT_MS));
  g_assert_true (gaze_test_wait (is_idle, f->window, WAIT_MS));
  message = gaze_error_bar_get_message (shown_error_bar (f));
  g_test_message ("error bar: %s", message);
  g_assert_nonnull (strstr (message, "big.png"));
  g_assert_null (strstr (message, f->tmp));
  g_assert_nonnull (strstr (message, "Image Size (Megapixels)"));
  g_assert_null (strstr (message, "GAZE_LIMITS"));
  g_assert_null (gaze_window_get_image_file (f->window));

  g_settings_reset (settings, "limit-image-megapixels");
  g_signal_emit_by_name (gaze_error_bar_get_close_button (shown_error_bar (f)), "clicked");
  open_path (f, big);
  g_assert_true (gaze_test_wait (is_idle, f->window, WAIT_MS));
  gaze_test_spin (100);
  g_assert_nonnull (gaze_window_get_image_file (f->window));
  g_assert_null (shown_error_bar (f));
}

/* ---- Item 8: the model summary after Apply and Save --------------------- */

static gboolean
is_summary (GtkWidget *widget)
{
  return GTK_IS_LABEL (widget)
      && g_str_has_prefix (gtk_label_get_text (GTK_LABEL (widget)), "Name:");
}

static gboolean
is_mean_entry (GtkWidget *widget)
{
  return GTK_IS_ENTRY (widget)
      && g_str_has_prefix (gtk_widget_get_tooltip_text (widget), "Per-channel mean");
}

static gboolean
is_std_entry (GtkWidget *widget)
{
  return GTK_IS_ENTRY (widget)
      && g_str_has_prefix (gtk_widget_get_tooltip_text (widget), "Per-channel standard");
}

static const char *
summary_text (Fixture *f)
{
  GtkWidget *label = gaze_test_find (GTK_WIDGET (f->window), GTK_TYPE_LABEL, is_summary);

  g_assert_nonnull (label);
  return gtk_label_get_text (GTK_LABEL (label));
}

/* Apply updates the summary; an invalid Save saves nothing and does not say
 * "Saved" (before: the old values were written and "Saved" shown). */
static void
test_preprocess_summary (Fixture *f, gconstpointer data)
{
  g_autofree char *model = g_build_filename (f->tmp, "shapes.onnx", NULL);
  g_autofree char *sidecar = g_build_filename (f->tmp, "shapes.json", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;
  GtkWidget *mean, *std;

  if (!need_demo (f))
    return;
  {
    g_autoptr (GFile) src = g_file_new_for_path (f->model_path);
    g_autoptr (GFile) dst = g_file_new_for_path (model);
    g_assert_true (g_file_copy (src, dst, G_FILE_COPY_NONE, NULL, NULL, NULL, &error));
  }
  open_path (f, f->image_path);
  open_path (f, model);
  g_assert_true (gaze_test_wait (is_idle_with_result, f->window, WAIT_MS));
  gtk_expander_set_expanded (
      GTK_EXPANDER (gaze_test_find (GTK_WIDGET (f->window), GTK_TYPE_EXPANDER, NULL)), TRUE);
  gaze_test_spin (50);
  mean = gaze_test_find (GTK_WIDGET (f->window), GTK_TYPE_ENTRY, is_mean_entry);
  std = gaze_test_find (GTK_WIDGET (f->window), GTK_TYPE_ENTRY, is_std_entry);
  g_assert_nonnull (mean);
  g_assert_nonnull (std);
  g_test_message ("summary before: %s", summary_text (f));
  g_assert_null (strstr (summary_text (f), "Mean: 0.100 0.200 0.300"));

  gtk_editable_set_text (GTK_EDITABLE (mean), "0.1 0.2 0.3");
  gtk_editable_set_text (GTK_EDITABLE (std), "0.5 0.6 0.7");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.apply-preprocess", NULL));
  g_test_message ("summary after Apply: %s", summary_text (f));
  g_assert_nonnull (strstr (summary_text (f), "Mean: 0.100 0.200 0.300"));
  g_assert_nonnull (strstr (summary_text (f), "Std: 0.500 0.600 0.700"));
  g_assert_true (gaze_test_wait (is_idle_with_result, f->window, WAIT_MS));

  /* Invalid (std 0): Save writes nothing and says why, not "Saved". */
  gtk_editable_set_text (GTK_EDITABLE (std), "0 0 0");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.save-sidecar", NULL));
  gaze_test_spin (50);
  g_test_message ("after an invalid Save: %s", gaze_window_get_last_message (f->window));
  g_assert_false (g_file_test (sidecar, G_FILE_TEST_EXISTS));
  g_assert_null (strstr (gaze_window_get_last_message (f->window), "Saved"));
  g_assert_nonnull (strstr (gaze_window_get_last_message (f->window), "std above 0"));
  g_assert_nonnull (shown_error_bar (f));
  g_assert_nonnull (strstr (summary_text (f), "Std: 0.500 0.600 0.700"));

  /* Valid again: Save writes what the summary shows. */
  gtk_editable_set_text (GTK_EDITABLE (std), "0.25 0.25 0.25");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "win.save-sidecar", NULL));
  g_assert_true (gaze_test_wait (is_idle_with_result, f->window, WAIT_MS));
  g_assert_nonnull (strstr (gaze_window_get_last_message (f->window), "Saved"));
  g_assert_nonnull (strstr (summary_text (f), "Std: 0.250 0.250 0.250"));
  g_assert_true (g_file_get_contents (sidecar, &json, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("%s", json);
  g_assert_nonnull (strstr (json, "0.25"));
}

/* ---- Item 9: the "No Model" page ---------------------------------------- */

static gboolean
is_sidebar_stack (GtkWidget *widget)
{
  return GTK_IS_STACK (widget) && gtk_stack_get_child_by_name (GTK_STACK (widget), "no-model");
}

/* Whether `label` lies inside `ancestor` (which would clip what sticks out). */
static gboolean
inside (GtkWidget *label, GtkWidget *ancestor)
{
  graphene_rect_t b;

  g_assert_true (gtk_widget_compute_bounds (label, ancestor, &b));
  return b.origin.x >= -0.5 && b.origin.y >= -0.5
      && b.origin.x + b.size.width <= gtk_widget_get_width (ancestor) + 0.5
      && b.origin.y + b.size.height <= gtk_widget_get_height (ancestor) + 0.5;
}

/* Every label of the page lies inside each of its ancestors up to the
 * sidebar's stack, and has the height its wrapped text needs. */
static void
assert_page_not_clipped (GtkWidget *page, GtkWidget *stack, int window_width)
{
  int n_labels = 0;
  GtkWidget *w;

  for (w = page; w != NULL;)
    {
      if (GTK_IS_LABEL (w) && gtk_widget_is_drawable (w)
          && gtk_label_get_text (GTK_LABEL (w))[0] != '\0')
        {
          int min_h = 0;

          g_test_message ("%d px window: “%s”, %d × %d", window_width,
                          gtk_label_get_text (GTK_LABEL (w)), gtk_widget_get_width (w),
                          gtk_widget_get_height (w));
          for (GtkWidget *a = gtk_widget_get_parent (w); a != gtk_widget_get_parent (stack);
               a = gtk_widget_get_parent (a))
            if (!inside (w, a))
              g_error ("“%s” is clipped by its ancestor %s (%d × %d)",
                       gtk_label_get_text (GTK_LABEL (w)), G_OBJECT_TYPE_NAME (a),
                       gtk_widget_get_width (a), gtk_widget_get_height (a));
          g_assert_false (pango_layout_is_ellipsized (gtk_label_get_layout (GTK_LABEL (w))));
          gtk_widget_measure (w, GTK_ORIENTATION_VERTICAL, gtk_widget_get_width (w), &min_h, NULL,
                              NULL, NULL);
          g_assert_cmpint (gtk_widget_get_height (w), >=, min_h);
          n_labels++;
        }
      /* Depth first through the page's widgets. */
      if (gtk_widget_get_first_child (w) != NULL)
        w = gtk_widget_get_first_child (w);
      else
        {
          while (w != page && gtk_widget_get_next_sibling (w) == NULL)
            w = gtk_widget_get_parent (w);
          w = w == page ? NULL : gtk_widget_get_next_sibling (w);
        }
    }
  g_assert_cmpint (n_labels, >=, 2); /* the title and the description */
}

/* An image without a model: the sidebar's "No Model" page is readable at the
 * default size and in narrow windows (before: squeezed to a sliver of text). */
static void
test_no_model_page (Fixture *f, gconstpointer data)
{
  const int sizes[][2] = { { 1100, 720 }, { 800, 600 }, { 640, 480 } };
  GtkWidget *stack;

  if (!need_demo (f))
    return;
  open_path (f, f->image_path);
  g_assert_true (gaze_test_wait (is_idle, f->window, WAIT_MS));
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      gtk_window_set_default_size (GTK_WINDOW (f->window), sizes[i][0], sizes[i][1]);
      gaze_test_spin (300);
      stack = gaze_test_find (GTK_WIDGET (f->window), GTK_TYPE_STACK, is_sidebar_stack);
      g_assert_nonnull (stack);
      g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (stack)), ==, "no-model");
      assert_page_not_clipped (gtk_stack_get_visible_child (GTK_STACK (stack)), stack,
                               gtk_widget_get_width (GTK_WIDGET (f->window)));
      if (i == 2)
        maybe_save (GTK_WIDGET (f->window), "no-model-narrow.png");
    }
}

static gboolean
is_cam_toggle (GtkWidget *widget)
{
  return GTK_IS_TOGGLE_BUTTON (widget)
      && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), "CAM") == 0;
}

static gboolean
is_layer_dropdown (GtkWidget *widget)
{
  GListModel *model = gtk_drop_down_get_model (GTK_DROP_DOWN (widget));
  const char *first = model != NULL && g_list_model_get_n_items (model) > 0
      ? gtk_string_list_get_string (GTK_STRING_LIST (model), 0)
      : NULL;

  return GTK_IS_STRING_LIST (model) && first != NULL && g_str_has_prefix (first, "Automatic");
}

/* CAM needs the layer that feeds the pooled linear head: choosing an earlier
 * layer greys the CAM toggle as it greys CAM's row, the reason as tooltip
 * (before: greyed only for the model, and the toggle stayed clickable). */
static void
test_cam_toggle_layer (Fixture *f, gconstpointer data)
{
  GtkWidget *cam, *layers;
  const char *tooltip;

  if (!need_demo (f))
    return;
  open_path (f, f->image_path);
  open_path (f, f->model_path);
  g_assert_true (gaze_test_wait (is_idle_with_result, f->window, WAIT_MS));
  cam = gaze_test_find (GTK_WIDGET (f->window), GTK_TYPE_TOGGLE_BUTTON, is_cam_toggle);
  layers = gaze_test_find (GTK_WIDGET (f->window), GTK_TYPE_DROP_DOWN, is_layer_dropdown);
  g_assert_nonnull (cam);
  g_assert_nonnull (layers);
  /* The demo ends in a pooled linear head: CAM applies at the automatic layer. */
  g_assert_true (gtk_widget_get_sensitive (cam));

  /* The first layer listed is the earliest, far from the head. */
  gtk_drop_down_set_selected (GTK_DROP_DOWN (layers), 1);
  g_assert_true (gaze_test_wait (is_idle, f->window, WAIT_MS));
  tooltip = gtk_widget_get_tooltip_text (cam);
  g_test_message ("layer %s: CAM %s, tooltip: %s",
                  gtk_string_list_get_string (
                      GTK_STRING_LIST (gtk_drop_down_get_model (GTK_DROP_DOWN (layers))), 1),
                  gtk_widget_get_sensitive (cam) ? "sensitive" : "greyed", tooltip);
  g_assert_false (gtk_widget_get_sensitive (cam));
  g_assert_nonnull (tooltip);
  g_assert_null (strstr (tooltip, "Class activation map:"));

  /* Back to the automatic layer: CAM applies again. */
  gtk_drop_down_set_selected (GTK_DROP_DOWN (layers), 0);
  g_assert_true (gaze_test_wait (is_idle, f->window, WAIT_MS));
  g_assert_true (gtk_widget_get_sensitive (cam));
  g_assert_nonnull (strstr (gtk_widget_get_tooltip_text (cam), "Class activation map:"));
}

int
main (int argc, char **argv)
{
  gaze_test_init (&argc, &argv);
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/ui/errors/error-bar", test_error_bar);
  ADD ("/ui/errors/error-bar-narrow", test_error_bar_narrow);
  g_test_add_func ("/ui/errors/shorten-paths", test_shorten_paths);
  ADD ("/ui/errors/model-limit", test_model_limit);
  ADD ("/ui/errors/image-limit", test_image_limit);
  ADD ("/ui/errors/preprocess-summary", test_preprocess_summary);
  ADD ("/ui/errors/no-model-page", test_no_model_page);
  ADD ("/ui/errors/cam-toggle-layer", test_cam_toggle_layer);
#undef ADD
  return g_test_run ();
}
