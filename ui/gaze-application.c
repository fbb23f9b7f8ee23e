/* gaze-application.c — the Gaze AdwApplication: app actions, command line, windows
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-application"

#include "config.h"

#include <glib/gi18n.h>

#include "gaze-application.h"
#include "gaze-engine.h"
#include "gaze-preferences-window.h"
#include "gaze-ui.h"
#include "gaze-window.h"

struct _GazeApplication
{
  AdwApplication parent_instance;

  GSettings *settings;
};

G_DEFINE_FINAL_TYPE (GazeApplication, gaze_application, ADW_TYPE_APPLICATION)

static GazeWindow *
get_or_create_window (GazeApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (GAZE_IS_WINDOW (window))
    return GAZE_WINDOW (window);
  return gaze_window_new (self);
}

/* GAZE_STARTUP_PROBE=1: quit right after the first frame is drawn, so that
 * tests/ui/test-startup can time process start to first frame. */
static void
first_frame_cb (GdkFrameClock *clock, GApplication *app)
{
  g_signal_handlers_disconnect_by_func (clock, first_frame_cb, app);
  g_print ("first frame\n");
  g_application_quit (app);
}

static void
present (GApplication *app, GazeWindow *window)
{
  gtk_window_present (GTK_WINDOW (window));
  if (g_getenv ("GAZE_STARTUP_PROBE") != NULL)
    g_signal_connect (gtk_widget_get_frame_clock (GTK_WIDGET (window)), "after-paint",
                      G_CALLBACK (first_frame_cb), app);
}

static void
gaze_application_activate (GApplication *app)
{
  GazeWindow *window = get_or_create_window (GAZE_APPLICATION (app));

  gaze_window_reopen_last_model (window);
  present (app, window);
}

static void
gaze_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
  GazeWindow *window = get_or_create_window (GAZE_APPLICATION (app));

  gaze_window_open_files (window, files, n_files);
  /* `gaze IMAGE` alone explains it with the model of last time. */
  gaze_window_reopen_last_model (window);
  present (app, window);
}

static void
gaze_application_startup (GApplication *app)
{
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *prefs_accels[] = { "<Control>comma", NULL };

  G_APPLICATION_CLASS (gaze_application_parent_class)->startup (app);

  /* The engine gets every core but one: the one left keeps the window drawing
   * while an explanation runs. */
  gz_set_threads (MAX (1, (int) g_get_num_processors () - 1));

  gtk_window_set_default_icon_name (APP_ID);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.preferences", prefs_accels);
}

static void
about_action_cb (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GazeApplication *self = user_data;
  static const char *developers[] = { "The Gaze developers", NULL };
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  GtkWidget *about;

  about
      = g_object_new (ADW_TYPE_ABOUT_WINDOW, "transient-for", parent, "application-name",
                      _ ("Gaze"), "application-icon", APP_ID, "version", PACKAGE_VERSION,
                      "comments", _ ("See where a neural network looks in an image"), "developers",
                      developers, "developer-name", _ ("The Gaze developers"), "license-type",
                      GTK_LICENSE_GPL_3_0, "website", "https://github.com/gazeviewer/gaze",
                      "issue-url", "https://github.com/gazeviewer/gaze/issues",
                      /* Translators: your name and address, one per line */
                      "translator-credits", _ ("translator-credits"), NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static void
preferences_action_cb (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GazeApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  GazePreferencesWindow *prefs = gaze_preferences_window_new (self->settings);

  gtk_window_set_transient_for (GTK_WINDOW (prefs), parent);
  gtk_window_present (GTK_WINDOW (prefs));
}

/* The error bar's button when a file was above a resource limit. */
static void
preferences_limits_action_cb (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GazeApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  GazePreferencesWindow *prefs = gaze_preferences_window_new (self->settings);

  gaze_preferences_window_show_limits (prefs);
  gtk_window_set_transient_for (GTK_WINDOW (prefs), parent);
  gtk_window_present (GTK_WINDOW (prefs));
}

static void
quit_action_cb (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  GazeApplication *self = user_data;
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (self));

  /* Closing (not quitting outright) lets each window save its size. */
  for (GList *l = g_list_copy (windows); l != NULL; l = g_list_delete_link (l, l))
    gtk_window_close (l->data);
}

static const GActionEntry app_actions[] = {
  { "about", about_action_cb },
  { "preferences", preferences_action_cb },
  { "preferences-limits", preferences_limits_action_cb },
  { "quit", quit_action_cb },
};

static void
gaze_application_dispose (GObject *object)
{
  GazeApplication *self = GAZE_APPLICATION (object);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (gaze_application_parent_class)->dispose (object);
}

static void
gaze_application_class_init (GazeApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = gaze_application_dispose;
  app_class->activate = gaze_application_activate;
  app_class->open = gaze_application_open;
  app_class->startup = gaze_application_startup;

  gaze_ui_init ();
}

static void
gaze_application_init (GazeApplication *self)
{
  self->settings = g_settings_new (APP_ID);
  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions),
                                   self);
}

GazeApplication *
gaze_application_new (void)
{
  return g_object_new (GAZE_TYPE_APPLICATION, "application-id", APP_ID, "flags",
                       G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE, "resource-base-path",
                       "/io/github/gazeviewer/Gaze", NULL);
}
