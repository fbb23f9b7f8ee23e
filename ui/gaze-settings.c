/* gaze-settings.c — GSettings bindings and the display names of colormaps and methods
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-settings"

#include "config.h"

#include <glib/gi18n.h>

#include "gaze-io-report.h"
#include "gaze-settings.h"

#define MAX_RECENT_MODELS 8

static const char *colormap_labels[GZ_COLORMAP_COUNT] = {
  [GZ_COLORMAP_JET] = N_ ("Jet"),         [GZ_COLORMAP_TURBO] = N_ ("Turbo"),
  [GZ_COLORMAP_VIRIDIS] = N_ ("Viridis"), [GZ_COLORMAP_INFERNO] = N_ ("Inferno"),
  [GZ_COLORMAP_GRAY] = N_ ("Gray"),
};

/* The schema's choices, in enum order (kept here so that the UI does not
 * depend on the engine's name table for settings it has not loaded). */
static const char *colormap_ids[GZ_COLORMAP_COUNT] = {
  "jet", "turbo", "viridis", "inferno", "gray",
};

static const char *method_ids[GZ_METHOD_COUNT] = {
  "cam",
  "gradcam",
  "gradcam++",
  "xgradcam",
  "hirescam",
  "layercam",
  "eigencam",
  "scorecam",
  "ablationcam",
  "guided-backprop",
  "guided-gradcam",
  "eigengradcam",
  "gradcam-elementwise",
  "saliency",
  "inputxgrad",
  "integrated-gradients",
  "occlusion",
};

static GtkStringList *
translated_list (const char **labels, guint n)
{
  GtkStringList *list = gtk_string_list_new (NULL);

  for (guint i = 0; i < n; i++)
    gtk_string_list_append (list, _ (labels[i]));
  return list;
}

GtkStringList *
gaze_settings_colormap_model (void)
{
  return translated_list (colormap_labels, G_N_ELEMENTS (colormap_labels));
}

GtkStringList *
gaze_settings_method_model (void)
{
  GtkStringList *list = gtk_string_list_new (NULL);

  for (int m = 0; m < GZ_METHOD_COUNT; m++)
    gtk_string_list_append (list, gaze_io_report_method_label ((GzMethod) m));
  return list;
}

const char *
gaze_settings_method_label (GzMethod method)
{
  g_return_val_if_fail (method < GZ_METHOD_COUNT, NULL);

  /* One table of method names, shared with the exports' captions. */
  return gaze_io_report_method_label (method);
}

static gboolean
percent_get_mapping (GValue *value, GVariant *variant, gpointer user_data)
{
  g_value_set_double (value, g_variant_get_double (variant) * 100.0);
  return TRUE;
}

static GVariant *
percent_set_mapping (const GValue *value, const GVariantType *expected_type, gpointer user_data)
{
  return g_variant_new_double (CLAMP (g_value_get_double (value) / 100.0, 0.0, 1.0));
}

void
gaze_settings_bind_percent (GSettings *settings, const char *key, gpointer object,
                            const char *property)
{
  g_settings_bind_with_mapping (settings, key, object, property, G_SETTINGS_BIND_DEFAULT,
                                percent_get_mapping, percent_set_mapping, NULL, NULL);
}

static gboolean
colormap_get_mapping (GValue *value, GVariant *variant, gpointer user_data)
{
  const char *id = g_variant_get_string (variant, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (colormap_ids); i++)
    if (g_str_equal (id, colormap_ids[i]))
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
colormap_set_mapping (const GValue *value, const GVariantType *expected_type, gpointer user_data)
{
  guint i = g_value_get_uint (value);

  if (i >= G_N_ELEMENTS (colormap_ids))
    return NULL;
  return g_variant_new_string (colormap_ids[i]);
}

void
gaze_settings_bind_colormap (GSettings *settings, gpointer object, const char *property)
{
  g_settings_bind_with_mapping (settings, "colormap", object, property, G_SETTINGS_BIND_DEFAULT,
                                colormap_get_mapping, colormap_set_mapping, NULL, NULL);
}

GzColormap
gaze_settings_get_colormap (GSettings *settings)
{
  g_autofree char *id = g_settings_get_string (settings, "colormap");

  for (guint i = 0; i < G_N_ELEMENTS (colormap_ids); i++)
    if (g_str_equal (id, colormap_ids[i]))
      return i;
  return GZ_COLORMAP_JET;
}

GzMethod
gaze_settings_get_method (GSettings *settings)
{
  g_autofree char *id = g_settings_get_string (settings, "method");

  for (guint i = 0; i < G_N_ELEMENTS (method_ids); i++)
    if (g_str_equal (id, method_ids[i]))
      return i;
  return GZ_METHOD_GRADCAM;
}

void
gaze_settings_add_recent_model (GSettings *settings, const char *path)
{
  g_auto (GStrv) old = g_settings_get_strv (settings, "recent-models");
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) list = NULL;
  guint n = 1;

  g_strv_builder_add (builder, path);
  for (guint i = 0; old[i] != NULL && n < MAX_RECENT_MODELS; i++)
    if (!g_str_equal (old[i], path))
      {
        g_strv_builder_add (builder, old[i]);
        n++;
      }
  list = g_strv_builder_end (builder);
  g_settings_set_strv (settings, "recent-models", (const char *const *) list);
}
