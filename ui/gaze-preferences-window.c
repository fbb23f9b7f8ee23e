/* gaze-preferences-window.c — the preferences window, bound to GSettings
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-preferences"

#include "config.h"

#include <glib/gi18n.h>

#include "gaze-preferences-window.h"
#include "gaze-scroll-guard.h"
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
  GtkSwitch *identifiers_switch; /* issue 14: privacy */
  /* issue 15: report options for exports. */
  AdwEntryRow *disclaimer_row;
  AdwComboRow *page_row;
  GtkSpinButton *dpi_spin;
  /* issue 15: the resource limits (gaze-limits-settings.h). */
  GtkSpinButton *image_pixels_spin;
  GtkSpinButton *file_mib_spin;
  GtkSpinButton *nodes_spin;
  GtkSpinButton *tensor_elements_spin;
  GtkSpinButton *activation_mib_spin;
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

/* issue 15: export-page ("image", "a4", "letter") ⇄ the page row's position. */
static const char *page_ids[] = { "image", "a4", "letter" };

static gboolean
page_get_mapping (GValue *value, GVariant *variant, gpointer user_data)
{
  const char *id = g_variant_get_string (variant, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (page_ids); i++)
    if (g_strcmp0 (id, page_ids[i]) == 0)
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
page_set_mapping (const GValue *value, const GVariantType *expected_type, gpointer user_data)
{
  guint i = g_value_get_uint (value);

  return i < G_N_ELEMENTS (page_ids) ? g_variant_new_string (page_ids[i]) : NULL;
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
  gtk_widget_class_bind_template_child (widget_class, GazePreferencesWindow, identifiers_switch);
  gtk_widget_class_bind_template_child (widget_class, GazePreferencesWindow, disclaimer_row);
  gtk_widget_class_bind_template_child (widget_class, GazePreferencesWindow, page_row);
  gtk_widget_class_bind_template_child (widget_class, GazePreferencesWindow, dpi_spin);
  gtk_widget_class_bind_template_child (widget_class, GazePreferencesWindow, image_pixels_spin);
  gtk_widget_class_bind_template_child (widget_class, GazePreferencesWindow, file_mib_spin);
  gtk_widget_class_bind_template_child (widget_class, GazePreferencesWindow, nodes_spin);
  gtk_widget_class_bind_template_child (widget_class, GazePreferencesWindow, tensor_elements_spin);
  gtk_widget_class_bind_template_child (widget_class, GazePreferencesWindow, activation_mib_spin);
}

static void
gaze_preferences_window_init (GazePreferencesWindow *self)
{
  g_autoptr (GtkStringList) colormaps = gaze_settings_colormap_model ();

  gtk_widget_init_template (GTK_WIDGET (self));
  gaze_scroll_guard_install (GTK_WIDGET (self));
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
  g_settings_bind (settings, "show-patient-identifiers", self->identifiers_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "export-disclaimer", self->disclaimer_row, "text",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind_with_mapping (settings, "export-page", self->page_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, page_get_mapping, page_set_mapping, NULL,
                                NULL);
  g_settings_bind (settings, "export-dpi", self->dpi_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "limit-image-megapixels", self->image_pixels_spin, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "limit-file-mib", self->file_mib_spin, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "limit-nodes", self->nodes_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "limit-tensor-elements", self->tensor_elements_spin, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "limit-activation-mib", self->activation_mib_spin, "value",
                   G_SETTINGS_BIND_DEFAULT);
  return self;
}

void
gaze_preferences_window_show_limits (GazePreferencesWindow *self)
{
  g_return_if_fail (GAZE_IS_PREFERENCES_WINDOW (self));

  adw_preferences_window_set_visible_page_name (ADW_PREFERENCES_WINDOW (self), "limits");
}
