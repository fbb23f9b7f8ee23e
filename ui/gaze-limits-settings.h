/* gaze-limits-settings.h — the resource limits the viewer's loads apply
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The engine refuses a model or image above a limit (gz-limits.h). In the
 * viewer the limits are Preferences › Limits (the limit-* settings); GAZE_LIMITS
 * in the environment still overrides them, as for gaze-cli. Loads run in
 * worker threads, so the window copies the settings here on the main thread
 * and the loads read the copy.
 */
#pragma once

#include <gio/gio.h>

#include "gaze-engine.h"

G_BEGIN_DECLS

/* Copies the limit-* keys of `settings` now and whenever they change. */
void gaze_limits_settings_track (GSettings *settings);
/* The limits for a load (any thread): Preferences, then GAZE_LIMITS. */
void gaze_limits_settings_get (GzLimits *limits);
/* TRUE when GAZE_LIMITS in the environment sets the limit `key` (then the
 * Preferences' value does not apply). */
gboolean gaze_limits_settings_from_environment (const char *key);
/* The title of the Preferences row that sets the engine limit `key`
 * (GZ_LIMIT_*), or NULL for an unknown key. */
const char *gaze_limits_settings_title (const char *key);

G_END_DECLS
