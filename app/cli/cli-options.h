/* cli-options.h — the preprocessing flags shared by `predict` and `explain`
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   GzCliOptions opts;
 *   gz_cli_options_init (&opts);
 *   GOptionContext *ctx = g_option_context_new ("MODEL IMAGE…");
 *   gz_cli_options_add (ctx, &opts);                      // the common flags
 *   g_option_context_add_main_entries (ctx, my_entries, NULL);   // the command's own
 *   g_option_context_parse (…) && gz_cli_options_finish (&opts, &error);
 *
 *   GzCliModel m;
 *   gz_cli_model_open (model_path, &opts, &m, &error);   // model + sidecar + flags
 *   gz_cli_model_input (&m, &opts, image_path, &input, &geometry, &image, &error);
 *   …
 *   gz_cli_model_clear (&m);
 *   gz_cli_options_clear (&opts);
 *
 * Common flags: --labels FILE, --mean R,G,B, --std R,G,B, --resize N, --crop N,
 * --stretch, --input-tensor X.npy, --save-input X.npy, --threads N, --json,
 * --limits KEY=VALUE,… (see gz_limits_parse), --allow-damaged.
 */
#pragma once

#include <glib.h>

#include "gaze-engine.h"
#include "gaze-io-image.h"
#include "gaze-io-overrides.h"

G_BEGIN_DECLS

typedef struct
{
  /* As parsed; numbers are -1 when not given. */
  char *labels_file;
  float mean[3], std[3];
  gboolean has_mean, has_std;
  int resize;
  int crop;
  gboolean stretch;
  char *input_tensor;
  char *save_input;
  int threads;
  gboolean json;
  char *limits_spec; /* --limits KEY=VALUE,… */
  GzLimits limits; /* defaults (and GAZE_LIMITS) < --limits */
  gboolean allow_damaged; /* analyse damaged images (their warnings say why) */
  /* The flags as a settings layer (filled by gz_cli_options_finish). */
  GazeIoOverrides settings;
} GzCliOptions;

void gz_cli_options_init (GzCliOptions *opts);
void gz_cli_options_clear (GzCliOptions *opts);
/* Adds the common flags as the context's main group (more main entries may
 * follow with g_option_context_add_main_entries). */
void gz_cli_options_add (GOptionContext *ctx, GzCliOptions *opts);
/* Validates the parsed flags, reads --labels, applies --threads. */
gboolean gz_cli_options_finish (GzCliOptions *opts, GError **error);

typedef struct
{
  char *path;
  GzModel *model;
  GazeIoOverrides sidecar;
  GzPreprocess pp; /* defaults < MODEL.json < flags */
  const char *const *labels; /* flags' or sidecar's; NULL: "class N" */
  double threshold; /* output head (issue 14): multi-label positive threshold */
} GzCliModel;

gboolean gz_cli_model_open (const char *path, const GzCliOptions *opts, GzCliModel *m,
                            GError **error);
void gz_cli_model_clear (GzCliModel *m);

/* The input tensor [1,C,H,W] for one image (or for --input-tensor when
 * image_path is NULL; the geometry is then the identity). Saves it when
 * --save-input was given. image_out (may be NULL) receives the decoded image;
 * a damaged one is refused unless --allow-damaged (then its warnings say why). */
gboolean gz_cli_model_input (const GzCliModel *m, const GzCliOptions *opts, const char *image_path,
                             GzTensor **input, GzGeometry *geometry, GazeIoImage **image_out,
                             GError **error);

G_END_DECLS
