/* gaze-application.h — the Gaze AdwApplication
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <adwaita.h>

#include "gaze-types.h"

G_BEGIN_DECLS

#define GAZE_TYPE_APPLICATION (gaze_application_get_type ())
G_DECLARE_FINAL_TYPE (GazeApplication, gaze_application, GAZE, APPLICATION, AdwApplication)

GazeApplication *gaze_application_new (void);

G_END_DECLS
