/* test-window.c — the main window: empty state, loading image and model, heatmap on screen
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <adwaita.h>

#include "gaze-test-util.h"
#include "gaze-window.h"

static gboolean
is_mapped (gpointer data)
{
  return gtk_widget_get_mapped (data);
}

static gboolean
has_title (GtkWidget *widget)
{
  const char *title = adw_status_page_get_title (ADW_STATUS_PAGE (widget));

  return title != NULL && *title != '\0';
}

static void
test_empty_state (void)
{
  g_autoptr (GazeApplication) app = gaze_test_application_new ();
  GazeWindow *window = gaze_window_new (app);
  GtkWidget *page;

  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (gaze_test_wait (is_mapped, window, 5000));

  g_assert_true (gaze_window_is_empty (window));
  g_assert_false (gaze_window_is_busy (window));

  /* The status page inviting the drop is what is drawn. */
  page = gaze_test_find (GTK_WIDGET (window), ADW_TYPE_STATUS_PAGE, has_title);
  g_assert_nonnull (page);
  g_assert_cmpstr (adw_status_page_get_title (ADW_STATUS_PAGE (page)), ==,
                   "Drop an Image and a Model");
  g_assert_false (gtk_widget_is_drawable (GTK_WIDGET (gaze_window_get_image_view (window))));

  g_object_ref (window);
  gtk_window_destroy (GTK_WINDOW (window));
  gaze_test_spin (50);
  g_assert_finalize_object (window);
}

int
main (int argc, char *argv[])
{
  gaze_test_init (&argc, &argv);

  g_test_add_func ("/ui/window/empty-state", test_empty_state);

  return g_test_run ();
}
