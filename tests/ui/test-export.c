/* test-export.c — exports a clinician can trust (issue 15): the sidebar's colour bar
 * says what is drawn ("≤ 0" when negative scores were clipped), and the app's export
 * and `gaze-cli explain --caption` carry the same caption
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gaze-test-util.h"
#include "gaze-window.h"

#define WAIT_MS 120000
/* Both captions carry this date (gaze_io_report_now). */
#define EPOCH "1764941862"

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

static gboolean
is_colorbar (GtkWidget *widget)
{
  return g_strcmp0 (gtk_widget_get_tooltip_text (widget), "Colour scale of the heatmap") == 0;
}

static void
test_colorbar_and_caption (void)
{
  const char *data_dir = g_getenv ("GAZE_DATA_DIR");
  const char *build_root = g_getenv ("GAZE_BUILD_ROOT");
  g_autofree char *model = NULL, *image = NULL, *dir = NULL, *app_png = NULL, *cli_png = NULL;
  g_autofree char *cli = NULL;
  g_autoptr (GSettings) settings = g_settings_new (APP_ID);
  g_autoptr (GazeApplication) app = NULL;
  g_autoptr (GError) error = NULL;
  GazeWindow *window;
  const GzExplanation *ex;
  GtkWidget *bar, *low, *high;
  g_autofree char *raw_min = NULL;
  g_autoptr (GdkPixbuf) app_pb = NULL;
  g_autoptr (GdkPixbuf) cli_pb = NULL;
  const char *app_caption, *cli_caption;

  if (data_dir == NULL || build_root == NULL)
    {
      g_test_skip ("GAZE_DATA_DIR / GAZE_BUILD_ROOT not set (run by meson)");
      return;
    }
  model = g_build_filename (data_dir, "demo", "shapes.onnx", NULL);
  image = g_build_filename (data_dir, "demo", "demo-01-star.png", NULL);
  cli = g_build_filename (build_root, "app", "cli", "gaze-cli", NULL);
  if (!g_file_test (model, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("data/demo not found");
      return;
    }
  g_settings_reset (settings, "method");
  g_settings_reset (settings, "opacity");
  g_settings_reset (settings, "colormap");
  g_settings_reset (settings, "threshold");
  g_setenv ("SOURCE_DATE_EPOCH", EPOCH, TRUE);

  app = gaze_test_application_new ();
  window = gaze_window_new (app);
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (gaze_test_wait (is_mapped, window, 5000));
  {
    GFile *files[2] = { g_file_new_for_path (image), g_file_new_for_path (model) };

    gaze_window_open_files (window, files, 2);
    g_object_unref (files[0]);
    g_object_unref (files[1]);
  }
  g_assert_true (gaze_test_wait (is_idle_with_result, window, WAIT_MS));
  ex = gaze_window_get_explanation (window);
  g_test_message ("%s: raw range %g … %g", gz_method_name (ex->method), ex->raw_min, ex->raw_max);
  /* Grad-CAM of the demo star has negative scores, which its ReLU clips. */
  g_assert_cmpint (ex->method, ==, GZ_METHOD_GRADCAM);
  g_assert_cmpfloat (ex->raw_min, <, 0);

  /* The sidebar: the labels under the colour bar. */
  bar = gaze_test_find (GTK_WIDGET (window), GTK_TYPE_DRAWING_AREA, is_colorbar);
  g_assert_nonnull (bar);
  low = gtk_widget_get_first_child (gtk_widget_get_next_sibling (bar));
  high = gtk_widget_get_last_child (gtk_widget_get_next_sibling (bar));
  g_test_message ("colour bar: %s … %s", gtk_label_get_label (GTK_LABEL (low)),
                  gtk_label_get_label (GTK_LABEL (high)));
  raw_min = g_strdup_printf ("%.3g", ex->raw_min);
  g_assert_cmpstr (gtk_label_get_label (GTK_LABEL (low)), ==, "≤ 0");
  g_assert_cmpstr (gtk_label_get_label (GTK_LABEL (low)), !=, raw_min);

  /* The app's export and the command line's: the same caption. */
  dir = g_dir_make_tmp ("gaze-export-caption-XXXXXX", &error);
  g_assert_no_error (error);
  app_png = g_build_filename (dir, "app.png", NULL);
  cli_png = g_build_filename (dir, "cli.png", NULL);
  {
    g_autoptr (GFile) file = g_file_new_for_path (app_png);

    gaze_window_export_file (window, file);
    g_assert_true (gaze_test_wait (is_idle, window, WAIT_MS));
  }
  {
    const char *argv[]
        = { cli, "explain", model, image, "--output", cli_png, "--caption", "-q", NULL };
    int status;

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL,
                                 G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                                 NULL, NULL, NULL, &status, &error));
    g_assert_no_error (error);
    g_assert_true (g_spawn_check_wait_status (status, &error));
    g_assert_no_error (error);
  }
  app_pb = gdk_pixbuf_new_from_file (app_png, &error);
  g_assert_no_error (error);
  cli_pb = gdk_pixbuf_new_from_file (cli_png, &error);
  g_assert_no_error (error);
  app_caption = gdk_pixbuf_get_option (app_pb, "tEXt::Description");
  cli_caption = gdk_pixbuf_get_option (cli_pb, "tEXt::Description");
  g_test_message ("app: %s", app_caption);
  g_test_message ("cli: %s", cli_caption);
  g_assert_nonnull (app_caption);
  g_assert_cmpstr (app_caption, ==, cli_caption);
  g_assert_nonnull (strstr (app_caption, "≤ 0 … "));
  g_assert_nonnull (strstr (app_caption, "2025-12-05"));
  g_assert_nonnull (strstr (app_caption, "Research use — not a diagnostic device"));
  g_assert_cmpint (gdk_pixbuf_get_height (app_pb), ==, gdk_pixbuf_get_height (cli_pb));

  if (g_getenv ("GAZE_TEST_KEEP") == NULL)
    {
      g_unlink (app_png);
      g_unlink (cli_png);
      g_rmdir (dir);
    }
  g_object_ref (window);
  gtk_window_destroy (GTK_WINDOW (window));
  gaze_test_spin (20);
  g_assert_finalize_object (window);
  g_unsetenv ("SOURCE_DATE_EPOCH");
}

int
main (int argc, char *argv[])
{
  gaze_test_init (&argc, &argv);
  g_test_add_func ("/ui/export/colorbar-and-caption", test_colorbar_and_caption);
  return g_test_run ();
}
