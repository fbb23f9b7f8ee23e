/* gaze-preferences-window.c — the preferences window, bound to GSettings
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-preferences"

#include "config.h"

#include <glib/gi18n.h>

#include "gaze-preferences-window.h"
#include "gaze-settings.h"
#include "gaze-ui.h"

struct _GazePreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  GSettings *settings;

  GtkAdjustment *opacity_adjustment;
  GtkAdjustment *threshold_adjustment;
  AdwComboRow *colormap_row;
  GtkSpinButton *top_k_spin;
  GtkSwitch *reopen_switch;
};

G_DEFINE_FINAL_TYPE (GazePreferencesWindow, gaze_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
gaze_preferences_window_dispose (GObject *object)
{
  GazePreferencesWindow *self = GAZE_PREFERENCES_WINDOW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), GAZE_TYPE_PREFERENCES_WINDOW);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (gaze_preferences_window_parent_class)->dispose (object);
}

static void
gaze_preferences_window_class_init (GazePreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = gaze_preferences_window_dispose;

  gaze_ui_init ();
  gtk_widget_class_set_template_from_resource (
      widget_class, "/io/github/gazeviewer/Gaze/gaze-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, GazePreferencesWindow, opacity_adjustment);
  gtk_widget_class_bind_template_child (widget_class, GazePreferencesWindow, threshold_adjustment);
  gtk_widget_class_bind_template_child (widget_class, GazePreferencesWindow, colormap_row);
  gtk_widget_class_bind_template_child (widget_class, GazePreferencesWindow, top_k_spin);
  gtk_widget_class_bind_template_child (widget_class, GazePreferencesWindow, reopen_switch);
}

static void
gaze_preferences_window_init (GazePreferencesWindow *self)
{
  g_autoptr (GtkStringList) colormaps = gaze_settings_colormap_model ();

  gtk_widget_init_template (GTK_WIDGET (self));
  adw_combo_row_set_model (self->colormap_row, G_LIST_MODEL (colormaps));
}

GazePreferencesWindow *
gaze_preferences_window_new (GSettings *settings)
{
  GazePreferencesWindow *self;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  self = g_object_new (GAZE_TYPE_PREFERENCES_WINDOW, NULL);
  self->settings = g_object_ref (settings);
  gaze_settings_bind_percent (settings, "opacity", self->opacity_adjustment, "value");
  gaze_settings_bind_percent (settings, "threshold", self->threshold_adjustment, "value");
  gaze_settings_bind_colormap (settings, self->colormap_row, "selected");
  g_settings_bind (settings, "top-k", self->top_k_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "reopen-last-model", self->reopen_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  return self;
}
