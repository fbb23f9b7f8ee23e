/* test-dicom-viewer.c — window/level, presets, frames and privacy for DICOM in the real window
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Drives the main window under Xvfb on real DICOM files: pydicom's CT_small.dcm
 * (skipped when pydicom's test files are absent) and a multi-frame CT file
 * written here by write-dicom-fixture.py (with pydicom) that carries made-up
 * patient identifiers. The right-button drag is simulated through the gesture's
 * own signals; what is displayed is compared with gaze_io_window_apply_u8 on
 * the stored values.
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "gaze-image-view.h"
#include "gaze-image.h"
#include "gaze-study-info.h"
#include "gaze-test-util.h"
#include "gaze-window-level.h"
#include "gaze-window.h"

#define PYDICOM_FILES "/usr/lib/python3/dist-packages/pydicom/data/test_files"
#define WAIT_MS 20000
/* Every made-up identifier in the fixture contains this (any case). */
#define SECRET "secret"

static GString *log_text; /* everything logged, for the privacy check */

typedef struct
{
  GazeApplication *app;
  GazeWindow *window;
  char *model_path;
  char *tmp_dir;
} Fixture;

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE") && fields[i].length < 0)
      {
        g_string_append (log_text, fields[i].value);
        g_string_append_c (log_text, '\n');
      }
  /* Debug messages are only collected: printed, they would break the TAP
   * stream on stdout. */
  if (level & G_LOG_LEVEL_DEBUG)
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (level, fields, n_fields, user_data);
}

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

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  const char *data_dir = g_getenv ("GAZE_DATA_DIR");

  f->app = gaze_test_application_new ();
  f->window = gaze_window_new (f->app);
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1000, 700);
  gtk_window_present (GTK_WINDOW (f->window));
  g_assert_true (gaze_test_wait (is_mapped, f->window, 5000));
  /* The project's demo model (1 input of 3 channels; gray is replicated). */
  if (data_dir != NULL)
    f->model_path = g_build_filename (data_dir, "demo", "shapes.onnx", NULL);
  f->tmp_dir = g_dir_make_tmp ("gaze-dicom-viewer-XXXXXX", NULL);
  g_assert_nonnull (f->tmp_dir);
}

static void
remove_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_remove (path);
    }
  g_rmdir (dir);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  GazeWindow *window = f->window;

  g_object_ref (window);
  gtk_window_destroy (GTK_WINDOW (window));
  gaze_test_spin (20);
  g_assert_finalize_object (window);
  g_clear_object (&f->app);
  g_free (f->model_path);
  remove_dir (f->tmp_dir);
  g_free (f->tmp_dir);
}

static gboolean
have_model (Fixture *f)
{
  if (f->model_path == NULL || !g_file_test (f->model_path, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("the demo model (GAZE_DATA_DIR/demo/shapes.onnx) is absent");
      return FALSE;
    }
  return TRUE;
}

/* Runs a Python script from this folder with /usr/bin/python3 (pydicom). */
static gboolean
run_script (const char *script, const char *const *args)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, script, NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *err = NULL;
  int status = 0;

  g_ptr_array_add (argv, (char *) "/usr/bin/python3");
  g_ptr_array_add (argv, path);
  for (int i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, &err,
                     &status, NULL)
      || !g_spawn_check_wait_status (status, NULL))
    {
      g_test_message ("%s failed: %s", script, err != NULL ? err : "");
      return FALSE;
    }
  return TRUE;
}

/* The multi-frame fixture, or NULL after a skip. */
static char *
write_fixture (Fixture *f)
{
  g_autofree char *path = g_build_filename (f->tmp_dir, "study.dcm", NULL);

  if (!run_script ("write-dicom-fixture.py", (const char *const[]){ path, NULL }))
    {
      g_test_skip ("cannot write the DICOM fixture (/usr/bin/python3 with pydicom)");
      return NULL;
    }
  return g_steal_pointer (&path);
}

static void
open_paths (Fixture *f, const char *image, const char *model)
{
  GFile *files[2] = { g_file_new_for_path (image), g_file_new_for_path (model) };

  gaze_window_open_files (f->window, files, 2);
  g_object_unref (files[0]);
  g_object_unref (files[1]);
  if (!gaze_test_wait (is_idle_with_result, f->window, WAIT_MS))
    g_error ("no analysis of %s: %s", image, gaze_window_get_last_message (f->window));
}

static GazeIoWindow
shown_window (Fixture *f, gboolean *custom)
{
  GazeIoWindow voi;

  g_assert_true (gaze_image_get_window (gaze_window_level_get_image (f->window), &voi, custom));
  return voi;
}

/* The displayed texture equals the stored values through the shown window. */
static void
assert_displayed_matches (Fixture *f)
{
  GazeImage *image = gaze_window_level_get_image (f->window);
  const GazeIoDicom *dicom = gaze_gray_frame_get_dicom (gaze_image_get_gray_frame (image));
  GdkTexture *texture = gaze_image_view_get_texture (gaze_window_get_image_view (f->window));
  gsize n = (gsize) dicom->width * dicom->height;
  g_autofree guint8 *shown = NULL;
  g_autofree guint8 *expected = g_malloc (n);
  GazeIoWindow voi;
  gboolean custom;

  g_assert_true (gaze_image_get_window (image, &voi, &custom));
  g_assert_cmpint (gdk_texture_get_width (texture), ==, dicom->width);
  g_assert_cmpint (gdk_texture_get_height (texture), ==, dicom->height);
  shown = g_malloc (n * 4);
  gdk_texture_download (texture, shown, (gsize) dicom->width * 4);
  gaze_io_window_apply_u8 (&voi, dicom->monochrome1, dicom->values, n, expected);
  for (gsize i = 0; i < n; i++)
    {
      /* B8G8R8A8 premultiplied, opaque: gray in all three. */
      g_assert_cmpuint (shown[4 * i], ==, expected[i]);
      g_assert_cmpuint (shown[4 * i + 1], ==, expected[i]);
      g_assert_cmpuint (shown[4 * i + 2], ==, expected[i]);
    }
}

static GtkGesture *
window_level_gesture (Fixture *f)
{
  GtkWidget *view = GTK_WIDGET (gaze_window_get_image_view (f->window));
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (view);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GtkEventController) c = g_list_model_get_item (controllers, i);

      if (GTK_IS_GESTURE_DRAG (c)
          && gtk_gesture_single_get_button (GTK_GESTURE_SINGLE (c)) == GDK_BUTTON_SECONDARY)
        return GTK_GESTURE (c); /* the view keeps it alive */
    }
  return NULL;
}

static gboolean
has_name (GtkWidget *widget, gpointer name)
{
  return g_strcmp0 (gtk_widget_get_name (widget), name) == 0;
}

/* The first descendant (drawable or not) named `name`. */
static GtkWidget *
find_named (GtkWidget *root, const char *name)
{
  if (has_name (root, (gpointer) name))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_named (c, name);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
maybe_save_window (Fixture *f, const char *name)
{
  const char *dir = g_getenv ("GAZE_TEST_SHOTS");
  g_autofree char *path = NULL;
  g_autoptr (GdkPixbuf) pixbuf = NULL;
  guint8 *px;
  int w, h;

  if (dir == NULL)
    return;
  gaze_test_spin (200);
  px = gaze_test_render (GTK_WIDGET (f->window), &w, &h);
  pixbuf = gdk_pixbuf_new_from_data (px, GDK_COLORSPACE_RGB, TRUE, 8, w, h, w * 4, NULL, NULL);
  path = g_build_filename (dir, name, NULL);
  g_assert_true (gdk_pixbuf_save (pixbuf, path, "png", NULL, NULL));
  g_free (px);
}

/* A 20-step right-drag: repaints each step from the stored values, analyses
 * once, after the drag rests. */
static void
test_drag (Fixture *f, gconstpointer data)
{
  g_autofree char *ct = g_build_filename (PYDICOM_FILES, "CT_small.dcm", NULL);
  GtkGesture *gesture;
  GtkWidget *label;
  GazeIoWindow start, now;
  const GazeIoDicom *dicom;
  const GzExplanation *explanation;
  double step, dx = 0, dy = 0;
  g_autofree char *text = NULL;
  guint slow_steps = 0, count;

  if (!have_model (f))
    return;
  if (!g_file_test (ct, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("pydicom's test files are absent (" PYDICOM_FILES ")");
      return;
    }
  open_paths (f, ct, f->model_path);
  g_assert_cmpuint (gaze_window_level_get_analysis_count (f->window), ==, 0);
  dicom = gaze_gray_frame_get_dicom (
      gaze_image_get_gray_frame (gaze_window_level_get_image (f->window)));
  start = shown_window (f, NULL);
  assert_displayed_matches (f);

  gesture = window_level_gesture (f);
  g_assert_nonnull (gesture);
  label = find_named (GTK_WIDGET (f->window), "window-level-label");
  g_assert_nonnull (label);
  g_assert_true (gtk_widget_get_visible (label));

  g_signal_emit_by_name (gesture, "drag-begin", 100.0, 100.0);
  for (int i = 1; i <= 20; i++)
    {
      gint64 emitted;

      dx = 6.0 * i;
      dy = -3.0 * i;
      emitted = g_get_monotonic_time ();
      g_signal_emit_by_name (gesture, "drag-update", dx, dy);
      gaze_test_spin (GAZE_WINDOW_LEVEL_DEBOUNCE_MS / 10);
      /* A step that took longer than the debounce (a sanitizer build, a
       * loaded machine) lets an analysis start, as it should: only the
       * steps that moved faster than that are checked. */
      if (g_get_monotonic_time () - emitted >= GAZE_WINDOW_LEVEL_DEBOUNCE_MS * 1000)
        {
          slow_steps++;
          continue;
        }
      /* No analysis while the window moves, and no stale heatmap. */
      g_assert_null (gaze_image_view_get_overlay (gaze_window_get_image_view (f->window)));
      if (slow_steps > 0)
        continue;
      g_assert_false (gaze_window_is_busy (f->window));
      g_assert_null (gaze_window_get_explanation (f->window));
      g_assert_cmpuint (gaze_window_level_get_analysis_count (f->window), ==, 0);
    }
  g_signal_emit_by_name (gesture, "drag-end", dx, dy);
  if (slow_steps > 0)
    g_test_message ("%u of 20 drag steps were slower than the debounce", slow_steps);

  /* Horizontal = width, vertical = level, 500 px sweep the whole range. */
  step = (dicom->max - dicom->min) / 500.0;
  now = shown_window (f, NULL);
  g_assert_cmpfloat_with_epsilon (now.width, start.width + dx * step, 1e-6);
  g_assert_cmpfloat_with_epsilon (now.center, start.center + dy * step, 1e-6);
  assert_displayed_matches (f);
  text = g_strdup_printf ("C %.0f  W %.0f", now.center, now.width);
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==, text);

  /* Exactly one analysis once it rests, and the heatmap is for these pixels. */
  g_assert_true (gaze_test_wait (is_idle_with_result, f->window, WAIT_MS));
  count = gaze_window_level_get_analysis_count (f->window);
  if (slow_steps == 0)
    g_assert_cmpuint (count, ==, 1);
  else
    g_assert_cmpuint (count, <=, 1 + slow_steps);
  explanation = gaze_window_get_explanation (f->window);
  gaze_test_spin (3 * GAZE_WINDOW_LEVEL_DEBOUNCE_MS);
  g_assert_cmpuint (gaze_window_level_get_analysis_count (f->window), ==, count);
  g_assert_true (gaze_window_get_explanation (f->window) == explanation);
  g_assert_nonnull (gaze_image_view_get_overlay (gaze_window_get_image_view (f->window)));
  maybe_save_window (f, "dicom-window-level.png");
}

/* An ordinary photo: no window/level, no sidebar panel, no C/W. */
static void
test_photo_unaffected (Fixture *f, gconstpointer data)
{
  g_autofree char *photo = NULL;
  GtkGesture *gesture;
  GazeImage *before;

  if (!have_model (f))
    return;
  photo = g_build_filename (g_getenv ("GAZE_DATA_DIR"), "demo", "demo-01-star.png", NULL);
  open_paths (f, photo, f->model_path);
  before = gaze_window_level_get_image (f->window);
  g_assert_null (gaze_image_get_gray_frame (before));
  g_assert_false (
      gtk_widget_get_visible (find_named (GTK_WIDGET (f->window), "window-level-label")));
  g_assert_false (gtk_widget_get_mapped (find_named (GTK_WIDGET (f->window), "frame-scale")));
  gesture = window_level_gesture (f);
  g_signal_emit_by_name (gesture, "drag-begin", 10.0, 10.0);
  g_signal_emit_by_name (gesture, "drag-update", 50.0, 50.0);
  g_signal_emit_by_name (gesture, "drag-end", 50.0, 50.0);
  g_assert_true (gaze_window_level_get_image (f->window) == before);
  g_assert_false (gaze_window_level_set_window (f->window, NULL));
  g_assert_nonnull (gaze_window_get_explanation (f->window));
}

static gboolean
menu_has_label (GMenuModel *model, const char *label)
{
  for (int i = 0; i < g_menu_model_get_n_items (model); i++)
    {
      g_autofree char *text = NULL;
      g_autoptr (GMenuModel) section = g_menu_model_get_item_link (model, i, G_MENU_LINK_SECTION);

      if (section != NULL && menu_has_label (section, label))
        return TRUE;
      if (g_menu_model_get_item_attribute (model, i, G_MENU_ATTRIBUTE_LABEL, "s", &text)
          && g_str_has_prefix (text, label))
        return TRUE;
    }
  return FALSE;
}

static GtkMenuButton *
presets_button (Fixture *f)
{
  GtkWidget *scale = find_named (GTK_WIDGET (f->window), "frame-scale");
  GtkWidget *panel = gtk_widget_get_parent (gtk_widget_get_parent (scale));

  for (GtkWidget *c = gtk_widget_get_first_child (panel); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    if (GTK_IS_MENU_BUTTON (c))
      return GTK_MENU_BUTTON (c);
  return NULL;
}

static void
preset (Fixture *f, const char *id)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f->window), "wl.preset", "s", id));
  gaze_test_spin (10);
}

static void
assert_window (Fixture *f, double center, double width, gboolean custom)
{
  gboolean is_custom;
  GazeIoWindow voi = shown_window (f, &is_custom);

  g_assert_cmpfloat (voi.center, ==, center);
  g_assert_cmpfloat (voi.width, ==, width);
  g_assert_cmpint (is_custom, ==, custom);
  assert_displayed_matches (f);
}

/* The file's windows, the CT presets, Reset. */
static void
test_presets (Fixture *f, gconstpointer data)
{
  g_autofree char *study = NULL;
  GtkMenuButton *button;
  GMenuModel *menu;

  if (!have_model (f) || (study = write_fixture (f)) == NULL)
    return;
  open_paths (f, study, f->model_path);

  /* The default is the file's first window. */
  assert_window (f, 40, 400, FALSE);
  button = presets_button (f);
  g_assert_nonnull (button);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (button)));
  g_assert_true (gtk_widget_get_focusable (GTK_WIDGET (button))
                 || gtk_widget_get_focusable (gtk_widget_get_first_child (GTK_WIDGET (button))));
  menu = gtk_menu_button_get_menu_model (button);
  g_assert_true (menu_has_label (menu, "File window 1"));
  g_assert_true (menu_has_label (menu, "File window 2"));
  g_assert_true (menu_has_label (menu, "Lung"));
  g_assert_true (menu_has_label (menu, "Mediastinum"));
  g_assert_true (menu_has_label (menu, "Bone"));
  g_assert_true (menu_has_label (menu, "Brain"));
  g_assert_true (menu_has_label (menu, "Reset"));

  preset (f, "lung");
  assert_window (f, -600, 1500, TRUE);
  preset (f, "mediastinum");
  assert_window (f, 40, 400, TRUE);
  preset (f, "bone");
  assert_window (f, 400, 1800, TRUE);
  preset (f, "brain");
  assert_window (f, 40, 80, TRUE);
  preset (f, "file-1");
  assert_window (f, -600, 1500, TRUE);
  preset (f, "reset");
  assert_window (f, 40, 400, FALSE);

  /* One analysis after the presets settle, for the last one. */
  g_assert_true (gaze_test_wait (is_idle_with_result, f->window, WAIT_MS));
  g_assert_cmpuint (gaze_window_level_get_analysis_count (f->window), ==, 1);
}

/* MR: no CT presets. */
static void
test_presets_mr (Fixture *f, gconstpointer data)
{
  g_autofree char *mr = g_build_filename (PYDICOM_FILES, "MR_small.dcm", NULL);
  GMenuModel *menu;
  GazeIoWindow before;

  if (!have_model (f))
    return;
  if (!g_file_test (mr, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("pydicom's test files are absent (" PYDICOM_FILES ")");
      return;
    }
  open_paths (f, mr, f->model_path);
  menu = gtk_menu_button_get_menu_model (presets_button (f));
  g_assert_false (menu_has_label (menu, "Lung"));
  g_assert_true (menu_has_label (menu, "Reset"));
  before = shown_window (f, NULL);
  preset (f, "lung");
  g_assert_cmpfloat (shown_window (f, NULL).center, ==, before.center);
  /* A single frame: no slider. */
  g_assert_false (gtk_widget_get_mapped (find_named (GTK_WIDGET (f->window), "frame-scale")));
}

static gboolean
shows_frame_4 (gpointer data)
{
  GazeImage *image = gaze_window_level_get_image (data);

  return image != NULL && gaze_image_get_gray_frame (image) != NULL
      && gaze_gray_frame_get_dicom (gaze_image_get_gray_frame (image))->frame == 4
      && is_idle_with_result (data);
}

/* The slider starts on the middle frame and loads the chosen one. */
static void
test_frames (Fixture *f, gconstpointer data)
{
  g_autofree char *study = NULL;
  GtkRange *scale;
  const GazeIoDicom *dicom;

  if (!have_model (f) || (study = write_fixture (f)) == NULL)
    return;
  open_paths (f, study, f->model_path);
  scale = GTK_RANGE (find_named (GTK_WIDGET (f->window), "frame-scale"));
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (scale)));
  g_assert_cmpfloat (gtk_adjustment_get_lower (gtk_range_get_adjustment (scale)), ==, 1);
  g_assert_cmpfloat (gtk_adjustment_get_upper (gtk_range_get_adjustment (scale)), ==, 5);
  g_assert_cmpfloat (gtk_range_get_value (scale), ==, 3);
  dicom = gaze_gray_frame_get_dicom (
      gaze_image_get_gray_frame (gaze_window_level_get_image (f->window)));
  g_assert_cmpint (dicom->frame, ==, 2);
  /* stored 500 + 200 k + (7 x + 3 y) % 400, minus 1024 */
  g_assert_cmpfloat (dicom->values[0], ==, 500 + 400 - 1024);
  g_assert_cmpfloat (dicom->values[1], ==, 500 + 400 + 7 - 1024);

  /* A window the user chose stays across frames. */
  preset (f, "lung");
  gtk_range_set_value (scale, 5);
  g_assert_true (gaze_test_wait (shows_frame_4, f->window, WAIT_MS));
  dicom = gaze_gray_frame_get_dicom (
      gaze_image_get_gray_frame (gaze_window_level_get_image (f->window)));
  g_assert_cmpfloat (dicom->values[0], ==, 500 + 800 - 1024);
  g_assert_cmpfloat (dicom->values[(gsize) 96 * 2 + 3], ==, 500 + 800 + 21 + 6 - 1024);
  assert_window (f, -600, 1500, TRUE);
  g_assert_cmpfloat (gtk_range_get_value (scale), ==, 5);
  maybe_save_window (f, "dicom-frames.png");
}

static void
collect_text (GtkWidget *widget, GString *out)
{
  const char *tooltip = gtk_widget_get_tooltip_text (widget);

  if (GTK_IS_LABEL (widget))
    g_string_append_printf (out, "%s\n", gtk_label_get_label (GTK_LABEL (widget)));
  if (GTK_IS_BUTTON (widget) && gtk_button_get_label (GTK_BUTTON (widget)) != NULL)
    g_string_append_printf (out, "%s\n", gtk_button_get_label (GTK_BUTTON (widget)));
  if (GTK_IS_EDITABLE (widget))
    g_string_append_printf (out, "%s\n", gtk_editable_get_text (GTK_EDITABLE (widget)));
  if (tooltip != NULL)
    g_string_append_printf (out, "%s\n", tooltip);
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    collect_text (c, out);
}

/* No patient identifier in any widget, the title or the log. */
static void
test_privacy (Fixture *f, gconstpointer data)
{
  g_autofree char *study = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  g_autofree char *lower = NULL;
  GtkScale *scale;

  if (!have_model (f) || (study = write_fixture (f)) == NULL)
    return;
  g_string_truncate (log_text, 0);
  g_log_set_debug_enabled (TRUE); /* not setenv: threads are running */
  open_paths (f, study, f->model_path);
  preset (f, "lung");
  scale = GTK_SCALE (find_named (GTK_WIDGET (f->window), "frame-scale"));
  gtk_range_set_value (GTK_RANGE (scale), 5);
  g_assert_true (gaze_test_wait (shows_frame_4, f->window, WAIT_MS));

  collect_text (GTK_WIDGET (f->window), text);
  g_string_append_printf (text, "%s\n", gtk_window_get_title (GTK_WINDOW (f->window)));
  g_string_append (text, log_text->str);
  g_assert_true (strstr (text->str, "study.dcm") != NULL); /* the file name is shown */
  lower = g_ascii_strdown (text->str, -1);
  g_assert_null (strstr (lower, SECRET));
  g_assert_null (strstr (lower, "19450101"));
  g_assert_null (strstr (lower, "4711"));
  g_log_set_debug_enabled (FALSE);
}

/* The sidebar's study panel and the scale bar; neither for a photo. */
static void
test_study_info (Fixture *f, gconstpointer data)
{
  g_autofree char *study = NULL, *photo = NULL;
  GazeImageView *view = gaze_window_get_image_view (f->window);
  GazeIoScaleBar bar;
  const char *syntax;
  double mm_per_view_px;

  if (!have_model (f) || (study = write_fixture (f)) == NULL)
    return;
  open_paths (f, study, f->model_path);

  g_assert_cmpstr (gaze_study_info_get_value (f->window, "modality"), ==, "CT");
  g_assert_cmpstr (gaze_study_info_get_value (f->window, "body-part"), ==, "CHEST");
  g_assert_cmpstr (gaze_study_info_get_value (f->window, "study-date"), ==, "2024-01-31");
  g_assert_cmpstr (gaze_study_info_get_value (f->window, "size"), ==, "96 × 80 pixels");
  g_assert_cmpstr (gaze_study_info_get_value (f->window, "spacing"), ==, "0.7 mm");
  g_assert_cmpstr (gaze_study_info_get_value (f->window, "frames"), ==, "5");
  syntax = gaze_study_info_get_value (f->window, "transfer-syntax");
  g_assert_nonnull (syntax);
  g_assert_nonnull (strstr (syntax, "1.2.840.10008.1.2.1"));

  /* 0.7 mm per image pixel, the image fitted: the bar's length in view
   * pixels times the millimetres per view pixel is its label's length. */
  g_assert_true (gaze_image_view_get_scale_bar (view, &bar));
  mm_per_view_px = 0.7 / gaze_image_view_get_zoom (view);
  g_assert_cmpfloat_with_epsilon (bar.length * mm_per_view_px, bar.mm, 1e-9);
  g_assert_cmpfloat (bar.length, <=, 160);
  g_assert_cmpfloat (bar.length, >, 40);
  g_test_message ("scale bar %s = %.1f px at zoom %.3f", bar.label, bar.length,
                  gaze_image_view_get_zoom (view));

  /* Zoomed in 4×, a shorter length is chosen. */
  {
    GazeIoScaleBar zoomed;

    gaze_image_view_set_zoom (view, 4 * gaze_image_view_get_zoom (view));
    g_assert_true (gaze_image_view_get_scale_bar (view, &zoomed));
    g_assert_cmpfloat (zoomed.mm, <, bar.mm);
  }

  /* A photo: no panel, no bar. */
  photo = g_build_filename (g_getenv ("GAZE_DATA_DIR"), "demo", "demo-01-star.png", NULL);
  open_paths (f, photo, f->model_path);
  g_assert_null (gaze_study_info_get_value (f->window, "modality"));
  g_assert_false (gaze_image_view_get_scale_bar (view, &bar));
}

int
main (int argc, char *argv[])
{
  gaze_test_init (&argc, &argv);
  log_text = g_string_new (NULL);
  g_log_set_writer_func (log_writer, NULL, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/ui/dicom-viewer/drag", test_drag);
  ADD ("/ui/dicom-viewer/photo-unaffected", test_photo_unaffected);
  ADD ("/ui/dicom-viewer/presets", test_presets);
  ADD ("/ui/dicom-viewer/presets-mr", test_presets_mr);
  ADD ("/ui/dicom-viewer/frames", test_frames);
  ADD ("/ui/dicom-viewer/privacy", test_privacy);
  ADD ("/ui/dicom-viewer/study-info", test_study_info);
  return g_test_run ();
}
