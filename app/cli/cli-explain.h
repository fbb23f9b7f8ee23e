/* cli-explain.h — what `gaze-cli explain` shares with `gaze-cli batch` (issue 18)
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <glib.h>

#include "gaze-engine.h"
#include "gaze-io-image.h"

G_BEGIN_DECLS

/* The tensor name of a layer given by tensor or node name ("auto" or NULL:
 * the model's default); NULL when the model has no such layer. */
const char *gz_cli_layer_tensor (const GzModel *model, const char *layer);

/* The map of ex over the photo at full resolution, saved as a PNG atomically
 * (a temporary file in the same folder, then rename). */
gboolean gz_cli_write_overlay (const char *path, const GzExplanation *ex,
                               const GzGeometry *geometry, const GazeIoImage *image,
                               GzColormap cmap, float alpha, float threshold, GError **error);

G_END_DECLS
