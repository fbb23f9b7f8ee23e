/* gaze-types.h — forward declarations of every UI type, so headers need not include each other
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _GazeApplication GazeApplication;
typedef struct _GazeImageView GazeImageView;
typedef struct _GazeModel GazeModel;
typedef struct _GazePreferencesWindow GazePreferencesWindow;
typedef struct _GazeWindow GazeWindow;

G_END_DECLS
