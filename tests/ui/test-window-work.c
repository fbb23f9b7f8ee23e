/* test-window-work.c — closing a window cancels its work (issue 15): the window
 * is finalised at once, the engine stops, and a task that ends later touches
 * nothing
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <adwaita.h>
#include <time.h>

#include "gaze-test-util.h"
#include "gaze-window.h"

#define WAIT_MS 120000

static gboolean
is_mapped (gpointer data)
{
  return gtk_widget_get_mapped (data);
}

static gboolean
is_busy (gpointer data)
{
  return gaze_window_is_busy (data);
}

static gboolean
is_idle_with_result (gpointer data)
{
  return !gaze_window_is_busy (data) && gaze_window_get_explanation (data) != NULL;
}

static gboolean
is_idle_scorecam (gpointer data)
{
  const GzExplanation *ex = gaze_window_get_explanation (data);

  return !gaze_window_is_busy (data) && ex != NULL && ex->method == GZ_METHOD_SCORECAM;
}

static void
set_true (gpointer data, GObject *where_the_object_was)
{
  *(gboolean *) data = TRUE;
}

/* CPU time of the whole process (all threads), in ms. */
static double
cpu_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char *
demo_file (const char *name)
{
  return g_build_filename (g_getenv ("GAZE_SOURCE_ROOT"), "data", "demo", name, NULL);
}

static void
reset_settings (void)
{
  g_autoptr (GSettings) settings = g_settings_new (APP_ID);

  g_settings_reset (settings, "method");
  g_settings_reset (settings, "recent-models");
  g_settings_reset (settings, "last-model");
}

static GazeWindow *
new_window (GazeApplication *app)
{
  GazeWindow *window = gaze_window_new (app);

  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (gaze_test_wait (is_mapped, window, 5000));
  return window;
}

/* Score-CAM runs (one masked forward per channel); the window is closed: it is
 * finalised at once (no task holds it), the engine's progress hook sees the
 * cancellation and the worker stops. */
static void
test_close_during_scorecam (void)
{
  g_autoptr (GazeApplication) app = gaze_test_application_new ();
  g_autofree char *model = demo_file ("shapes.onnx");
  g_autofree char *image = demo_file ("demo-01-star.png");
  GFile *files[2] = { g_file_new_for_path (image), g_file_new_for_path (model) };
  GazeWindow *window;
  gboolean finalised = FALSE;
  g_autofree char *other_path = demo_file ("demo-03-triangle.png");
  g_autoptr (GFile) other = g_file_new_for_path (other_path);
  double cpu_before, cpu_after, full_ms;
  gint64 start;

  reset_settings ();
  window = new_window (app);
  gaze_window_open_files (window, files, 2);
  g_object_unref (files[0]);
  g_object_unref (files[1]);
  g_assert_true (gaze_test_wait (is_idle_with_result, window, WAIT_MS));

  /* A whole Score-CAM, timed: what a window that kept its worker would wait. */
  start = g_get_monotonic_time ();
  g_assert_true (
      gtk_widget_activate_action (GTK_WIDGET (window), "settings.method", "s", "scorecam"));
  g_assert_true (gaze_test_wait (is_idle_scorecam, window, WAIT_MS));
  full_ms = (g_get_monotonic_time () - start) / 1000.0;
  g_test_message ("a whole Score-CAM: %.1f ms", full_ms);

  /* Another image (no masked forwards to reuse): Score-CAM runs again. */
  gaze_window_open_files (window, &other, 1);
  g_assert_true (gaze_test_wait (is_busy, window, 5000));
  gaze_test_spin (20);
  g_assert_true (gaze_window_is_busy (window)); /* Score-CAM is running */

  g_object_weak_ref (G_OBJECT (window), set_true, &finalised);
  gtk_window_destroy (GTK_WINDOW (window));
  /* Finalised by gtk_window_destroy itself: no task holds the window (a task
   * holding it would keep it until its callback, after the whole Score-CAM). */
  g_test_message ("after gtk_window_destroy: %s", finalised ? "finalised" : "alive");
  g_assert_true (finalised);

  /* The worker stops at its next progress report (one masked forward): the
   * process is idle after. */
  gaze_test_spin (300);
  cpu_before = cpu_ms ();
  gaze_test_spin (500);
  cpu_after = cpu_ms ();
  g_test_message ("CPU time in the 500 ms that follow: %.1f ms", cpu_after - cpu_before);
  g_assert_cmpfloat (cpu_after - cpu_before, <, 100);
}

/* A model is loading; the window is closed before the load ends: the window
 * is finalised at once, and the load that ends later changes nothing (no
 * "last model", no recent model written by a dead window). */
static void
test_close_during_model_load (void)
{
  g_autoptr (GazeApplication) app = gaze_test_application_new ();
  g_autoptr (GSettings) settings = g_settings_new (APP_ID);
  g_autofree char *model = demo_file ("shapes.onnx");
  g_auto (GStrv) recent = NULL;
  g_autofree char *last = NULL;
  GazeWindow *window;
  gboolean finalised = FALSE;

  reset_settings ();
  window = new_window (app);
  g_assert_true (
      gtk_widget_activate_action (GTK_WIDGET (window), "win.open-recent-model", "s", model));
  g_assert_true (gaze_window_is_busy (window));

  g_object_weak_ref (G_OBJECT (window), set_true, &finalised);
  gtk_window_destroy (GTK_WINDOW (window));
  g_test_message ("after gtk_window_destroy: %s", finalised ? "finalised" : "alive");
  g_assert_true (finalised);

  /* Long enough for the worker to have read the demo model. */
  gaze_test_spin (500);
  recent = g_settings_get_strv (settings, "recent-models");
  last = g_settings_get_string (settings, "last-model");
  g_assert_cmpuint (g_strv_length (recent), ==, 0);
  g_assert_cmpstr (last, ==, "");
}

int
main (int argc, char *argv[])
{
  gaze_test_init (&argc, &argv);

  g_test_add_func ("/ui/window-work/close-during-scorecam", test_close_during_scorecam);
  g_test_add_func ("/ui/window-work/close-during-model-load", test_close_during_model_load);

  return g_test_run ();
}
