/* gaze-preferences-window.h — the preferences window
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "gaze-types.h"

G_BEGIN_DECLS

#define GAZE_TYPE_PREFERENCES_WINDOW (gaze_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (GazePreferencesWindow, gaze_preferences_window, GAZE, PREFERENCES_WINDOW,
                      AdwPreferencesWindow)

GazePreferencesWindow *gaze_preferences_window_new (GSettings *settings);
/* Turns to the Limits page (what a refused file's error bar points to). */
void gaze_preferences_window_show_limits (GazePreferencesWindow *self);

G_END_DECLS
