/* gaze-ui.h — entry point of the gaze-ui library: resources, types, helpers shared by widgets
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "gaze-types.h"

G_BEGIN_DECLS

/* Registers the GResource and the widget types. Safe to call more than once. */
void gaze_ui_init (void);

/* The folder holding the bundled demo (model + images): the source tree when
 * running uninstalled, the installed data folder otherwise. NULL if absent. */
char *gaze_ui_find_demo_dir (void);

/* Whether the running executable lives in the build tree. */
gboolean gaze_ui_running_uninstalled (void);

G_END_DECLS
