/* gaze-settings.h — GSettings bindings and the display names of colormaps and methods
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "gaze-engine.h"

G_BEGIN_DECLS

/* Display names, in GzColormap / GzMethod order. */
GtkStringList *gaze_settings_colormap_model (void);
GtkStringList *gaze_settings_method_model (void);
const char *gaze_settings_method_label (GzMethod method);

/* A 0..1 double key shown as 0..100 on a widget property. */
void gaze_settings_bind_percent (GSettings *settings, const char *key, gpointer object,
                                 const char *property);
/* The "colormap" string key on a guint "selected" property. */
void gaze_settings_bind_colormap (GSettings *settings, gpointer object, const char *property);

GzColormap gaze_settings_get_colormap (GSettings *settings);
GzMethod gaze_settings_get_method (GSettings *settings);

/* Puts path first in the "recent-models" list, keeping at most 8. */
void gaze_settings_add_recent_model (GSettings *settings, const char *path);

G_END_DECLS
