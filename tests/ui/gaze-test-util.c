/* gaze-test-util.c — helpers for the UI tests: display, application, waiting, rendering
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "gaze-test-util.h"

void
gaze_test_init (int *argc, char ***argv)
{
  if (g_getenv ("DISPLAY") == NULL && g_getenv ("WAYLAND_DISPLAY") == NULL)
    {
      g_autofree char *xvfb = g_find_program_in_path ("xvfb-run");

      if (xvfb != NULL && g_getenv ("GAZE_TEST_UNDER_XVFB") == NULL)
        {
          GPtrArray *args = g_ptr_array_new ();

          g_setenv ("GAZE_TEST_UNDER_XVFB", "1", TRUE);
          g_ptr_array_add (args, xvfb);
          g_ptr_array_add (args, (char *) "-a");
          g_ptr_array_add (args, (char *) "-s");
          g_ptr_array_add (args, (char *) "-screen 0 1280x800x24");
          for (int i = 0; i < *argc; i++)
            g_ptr_array_add (args, (*argv)[i]);
          g_ptr_array_add (args, NULL);
          execv (xvfb, (char **) args->pdata);
          perror ("execv xvfb-run");
        }
      /* TAP: nothing can run without a display. */
      printf ("1..0 # SKIP no display and no xvfb-run\n");
      exit (0);
    }

  gtk_test_init (argc, argv, NULL);
}

GazeApplication *
gaze_test_application_new (void)
{
  GazeApplication *app = gaze_application_new ();
  g_autoptr (GError) error = NULL;

  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  return app;
}

typedef struct
{
  gboolean done;
} Timeout;

static gboolean
timeout_cb (gpointer data)
{
  ((Timeout *) data)->done = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
gaze_test_wait (gboolean (*cond) (gpointer), gpointer data, guint timeout_ms)
{
  Timeout t = { FALSE };
  guint id = g_timeout_add (timeout_ms, timeout_cb, &t);
  gboolean ok;

  while (!(ok = cond (data)) && !t.done)
    g_main_context_iteration (NULL, TRUE);
  if (!t.done)
    g_source_remove (id);
  return ok;
}

void
gaze_test_spin (guint ms)
{
  Timeout t = { FALSE };

  g_timeout_add (ms, timeout_cb, &t);
  while (!t.done)
    g_main_context_iteration (NULL, TRUE);
}

gboolean
gaze_test_time_bounds (void)
{
  return g_strcmp0 (g_getenv ("GAZE_TIME_BOUNDS"), "1") == 0;
}

guint8 *
gaze_test_render (GtkWidget *widget, int *width, int *height)
{
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  int w = 0, h = 0;
  guint8 *data;

  /* A widget waiting for its allocation draws nothing yet: on a loaded
   * machine the next frame may take a while. */
  for (int attempt = 0; node == NULL && attempt < 250; attempt++)
    {
      GtkSnapshot *snapshot = gtk_snapshot_new ();

      if (attempt > 0)
        gaze_test_spin (20);
      w = gtk_widget_get_width (widget);
      h = gtk_widget_get_height (widget);
      gdk_paintable_snapshot (paintable, snapshot, w, h);
      node = gtk_snapshot_free_to_node (snapshot);
    }
  g_assert_cmpint (w, >, 0);
  g_assert_cmpint (h, >, 0);
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, w, h));
  w = gdk_texture_get_width (texture);
  h = gdk_texture_get_height (texture);

  /* The default download format is premultiplied BGRA (cairo's ARGB32). */
  data = g_malloc ((gsize) w * h * 4);
  gdk_texture_download (texture, data, (gsize) w * 4);
  for (gsize i = 0; i < (gsize) w * h; i++)
    {
      guint8 *p = data + 4 * i, b = p[0];
      p[0] = p[2];
      p[2] = b;
    }
  *width = w;
  *height = h;
  return data;
}

GtkWidget *
gaze_test_find (GtkWidget *root, GType type, gboolean (*predicate) (GtkWidget *))
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type) && gtk_widget_is_drawable (root)
      && (predicate == NULL || predicate (root)))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = gaze_test_find (child, type, predicate);
      if (found != NULL)
        return found;
    }
  return NULL;
}

char *
gaze_test_shared_file (const char *rel)
{
  const char *dir = g_getenv ("GAZE_SHARED_DIR");
  g_autofree char *path = NULL;

  if (dir == NULL)
    return NULL;
  path = g_build_filename (dir, rel, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return NULL;
  return g_steal_pointer (&path);
}

gboolean
gaze_test_drop_files (GtkWidget *widget, GFile *const *files, int n)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);
  GValue value = G_VALUE_INIT;
  gboolean handled = FALSE;

  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, gdk_file_list_new_from_array ((GFile **) files, n));
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_DROP_TARGET (controller))
        {
          g_signal_emit_by_name (controller, "drop", &value, 10.0, 10.0, &handled);
          break;
        }
    }
  g_value_unset (&value);
  return handled;
}

gboolean
gaze_test_drop_paths (GtkWidget *widget, const char *const *paths, int n)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);

  for (int i = 0; i < n; i++)
    g_ptr_array_add (files, g_file_new_for_path (paths[i]));
  return gaze_test_drop_files (widget, (GFile *const *) files->pdata, n);
}
