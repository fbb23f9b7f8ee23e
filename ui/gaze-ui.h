/* gaze-ui.h — entry point of the gaze-ui library: resources, types, helpers shared by widgets
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>

#include "gaze-types.h"

G_BEGIN_DECLS

/* Registers the GResource and the widget types. Safe to call more than once. */
void gaze_ui_init (void);

/* The folder holding the bundled demo (model + images): $GAZE_DEMO_DIR, else
 * $GAZE_DATA_DIR/demo (set for uninstalled runs by run.sh, the tests and
 * `meson devenv`), else the installed data folder. NULL if it holds no model. */
char *gaze_ui_find_demo_dir (void);

/* The medical demo (a multi-label model and DICOM phantoms): demo-medical
 * under $GAZE_DATA_DIR, else under the installed data folder. NULL if it
 * holds no model. */
char *gaze_ui_find_medical_demo_dir (void);

G_END_DECLS
