/* test-class-search.c — the class drop-down's search finds any word of a label
 * (issue 15): case-insensitive, anywhere in "N · label", on the demo's labels
 * and, when ../shared is there, on ImageNet's
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "gaze-model.h"
#include "gaze-test-util.h"
#include "gaze-window.h"

#define WAIT_MS 120000

static gboolean
is_mapped (gpointer data)
{
  return gtk_widget_get_mapped (data);
}

static gboolean
has_model (gpointer data)
{
  return !gaze_window_is_busy (data) && gaze_window_get_model (data) != NULL;
}

static GtkWidget *
find_by_type (GtkWidget *widget, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_by_type (child, type);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* The class drop-down: the one whose model has one item per class. */
static GtkDropDown *
class_dropdown (GazeWindow *window, guint n_classes)
{
  GPtrArray *todo = g_ptr_array_new ();
  GtkDropDown *found = NULL;

  g_ptr_array_add (todo, window);
  while (found == NULL && todo->len > 0)
    {
      GtkWidget *widget = g_ptr_array_steal_index (todo, todo->len - 1);

      if (GTK_IS_DROP_DOWN (widget) && gtk_drop_down_get_enable_search (GTK_DROP_DOWN (widget))
          && gtk_drop_down_get_model (GTK_DROP_DOWN (widget)) != NULL
          && g_list_model_get_n_items (gtk_drop_down_get_model (GTK_DROP_DOWN (widget)))
              == n_classes)
        found = GTK_DROP_DOWN (widget);
      for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
           child = gtk_widget_get_next_sibling (child))
        g_ptr_array_add (todo, child);
    }
  g_ptr_array_unref (todo);
  return found;
}

/* Types `text` into the drop-down's own search entry (in its popup) and
 * returns what its popup list shows then, as strings (a GStrv). */
static char **
search (GtkDropDown *dropdown, const char *text)
{
  GtkWidget *entry = find_by_type (GTK_WIDGET (dropdown), GTK_TYPE_SEARCH_ENTRY);
  GtkListView *list = GTK_LIST_VIEW (find_by_type (GTK_WIDGET (dropdown), GTK_TYPE_LIST_VIEW));
  GListModel *shown;
  GStrvBuilder *builder = g_strv_builder_new ();
  char **result;

  g_assert_nonnull (entry);
  g_assert_nonnull (list);
  gtk_editable_set_text (GTK_EDITABLE (entry), text);
  /* GtkSearchEntry reports a change after its search delay (150 ms). */
  gaze_test_spin (400);
  shown = G_LIST_MODEL (gtk_list_view_get_model (list));
  for (guint i = 0; i < g_list_model_get_n_items (shown); i++)
    {
      g_autoptr (GtkStringObject) item = g_list_model_get_item (shown, i);
      g_strv_builder_add (builder, gtk_string_object_get_string (item));
    }
  result = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  g_test_message ("“%s”: %u found%s%s", text, g_strv_length (result),
                  result[0] != NULL ? ", first " : "", result[0] != NULL ? result[0] : "");
  return result;
}

static GazeWindow *
window_with_model (GazeApplication *app, const char *model)
{
  GazeWindow *window = gaze_window_new (app);

  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (gaze_test_wait (is_mapped, window, 5000));
  g_assert_true (
      gtk_widget_activate_action (GTK_WIDGET (window), "win.open-recent-model", "s", model));
  g_assert_true (gaze_test_wait (has_model, window, WAIT_MS));
  return window;
}

static void
close_window (GazeWindow *window)
{
  g_object_ref (window);
  gtk_window_destroy (GTK_WINDOW (window));
  gaze_test_spin (20);
  g_assert_finalize_object (window);
}

static void
assert_all_contain (char **found, const char *word)
{
  g_autofree char *lower = g_utf8_strdown (word, -1);

  for (guint i = 0; found[i] != NULL; i++)
    {
      g_autofree char *label = g_utf8_strdown (found[i], -1);
      g_assert_nonnull (strstr (label, lower));
    }
}

/* data/demo: "0 · circle" … "5 · ring". */
static void
test_demo_labels (void)
{
  g_autoptr (GazeApplication) app = gaze_test_application_new ();
  g_autofree char *model
      = g_build_filename (g_getenv ("GAZE_SOURCE_ROOT"), "data", "demo", "shapes.onnx", NULL);
  GazeWindow *window = window_with_model (app, model);
  GtkDropDown *dropdown = class_dropdown (window, 6);
  g_auto (GStrv) middle = NULL;
  g_auto (GStrv) upper = NULL;
  g_auto (GStrv) number = NULL;
  g_auto (GStrv) none = NULL;
  g_auto (GStrv) all = NULL;

  g_assert_nonnull (dropdown);
  /* Inside a word (the start of the label is "0 · "). */
  middle = search (dropdown, "angle");
  g_assert_cmpuint (g_strv_length (middle), ==, 1);
  g_assert_cmpstr (middle[0], ==, "1 · triangle");
  /* Any case. */
  upper = search (dropdown, "CIRCLE");
  g_assert_cmpuint (g_strv_length (upper), ==, 1);
  g_assert_cmpstr (upper[0], ==, "0 · circle");
  /* By number. */
  number = search (dropdown, "3");
  g_assert_cmpuint (g_strv_length (number), ==, 1);
  g_assert_cmpstr (number[0], ==, "3 · star");
  none = search (dropdown, "hexagon");
  g_assert_cmpuint (g_strv_length (none), ==, 0);
  /* An empty search shows every class again. */
  all = search (dropdown, "");
  g_assert_cmpuint (g_strv_length (all), ==, 6);
  close_window (window);
}

/* ImageNet's 1000 labels (MobileNetV2 from ../shared). */
static void
test_imagenet_labels (void)
{
  g_autoptr (GazeApplication) app = NULL;
  g_autofree char *model = gaze_test_shared_file ("models/mobilenet_v2-imagenet/mobilenet_v2.onnx");
  GazeWindow *window;
  GtkDropDown *dropdown;
  g_auto (GStrv) sheep = NULL;
  g_auto (GStrv) tabby = NULL;

  if (model == NULL || !g_file_test (model, G_FILE_TEST_IS_REGULAR))
    {
      g_test_skip ("../shared (GAZE_SHARED_DIR) with MobileNetV2 not found");
      return;
    }
  app = gaze_test_application_new ();
  window = window_with_model (app, model);
  dropdown = class_dropdown (window, 1000);
  g_assert_nonnull (dropdown);

  sheep = search (dropdown, "sheep");
  g_assert_cmpuint (g_strv_length (sheep), >=, 1);
  g_assert_true (g_strv_contains ((const char *const *) sheep,
                                  "349 · bighorn, bighorn sheep, cimarron, Rocky Mountain "
                                  "bighorn, Rocky Mountain sheep, Ovis canadensis"));
  assert_all_contain (sheep, "sheep");
  tabby = search (dropdown, "Tabby");
  g_assert_true (g_strv_contains ((const char *const *) tabby, "281 · tabby, tabby cat"));
  assert_all_contain (tabby, "tabby");
  close_window (window);
}

int
main (int argc, char *argv[])
{
  gaze_test_init (&argc, &argv);

  g_test_add_func ("/ui/class-search/demo-labels", test_demo_labels);
  g_test_add_func ("/ui/class-search/imagenet-labels", test_imagenet_labels);

  return g_test_run ();
}
