/* gaze-io-overrides.h — preprocessing overrides and labels: flags > sidecar > defaults
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A GazeIoOverrides is a partial GzPreprocess: each field counts only when its
 * has_ flag is set. The CLI fills one from its flags, gaze_io_sidecar_read one from
 * MODEL.json; gaze_io_overrides_resolve layers them over gz_preprocess_defaults.
 * Labels: line i of a labels file names class i; without labels, classes are
 * called "class N".
 */
#pragma once

#include <glib.h>

#include "gaze-engine.h"

G_BEGIN_DECLS

typedef struct
{
  gboolean has_mean, has_std, has_resize, has_crop, has_stretch, has_channels;
  float mean[3];
  float std[3];
  int resize;
  int crop_width, crop_height;
  gboolean stretch;
  int channels;
  /* Labels, already read: NULL when not given at this level. */
  GStrv labels;
  char *labels_path; /* where they came from ("inline" for a JSON array) */
  /* ---- Output head (issue 14): "output" and "threshold" ---- */
  gboolean has_output, has_threshold;
  GzOutputKind output; /* overrides gz_model_output_kind */
  double threshold; /* a multi-label finding is positive at probability >= threshold */
  /* ---- end output head ---- */
  /* -- Resampler (issue 19): sidecar "resize_backend" / "interpolation",
   *    flags --resize-backend / --interpolation. -- */
  gboolean has_resize_backend, has_interpolation;
  GzResizeBackend resize_backend;
  GzResizeFilter interpolation;
  /* -- end resampler -- */
  /* issue 14 (DICOM, 16-bit gray): the model's training window, in modality
   * units (e.g. HU), and which frame of a multi-frame file. */
  gboolean has_window, has_frame;
  double window_center, window_width; /* width > 0 */
  int frame; /* >= 0 */
  /* issue 19 (Keras/TensorFlow exports): sidecar "channel_order" ("rgb" |
   * "bgr"), "scale" (see GzPreprocess), "layout" ("nchw" | "nhwc", see
   * gz_model_set_input_layout); flags --channel-order, --scale. */
  gboolean has_channel_order, has_scale, has_layout, has_input_size;
  int input_width, input_height; /* sidecar "input_size": [H, W], flag --input-size HxW */
  gboolean bgr;
  float scale;
  GzInputLayout layout;
} GazeIoOverrides;

void gaze_io_overrides_init (GazeIoOverrides *settings);
void gaze_io_overrides_clear (GazeIoOverrides *settings);

/* defaults (from the model) < sidecar < flags; either may be NULL. Fails when
 * the result cannot feed the model (e.g. a crop that is not the model's fixed
 * input size, a zero std). */
gboolean gaze_io_overrides_resolve (const GzModel *model, const GazeIoOverrides *sidecar,
                                    const GazeIoOverrides *flags, GzPreprocess *pp, GError **error);

/* ---- Output head (issue 14) ----
 * Applies "output" (the flags', else the sidecar's) to the model with
 * gz_model_set_output_kind; call before creating sessions. Either may be NULL. */
void gaze_io_overrides_apply_output (GzModel *model, const GazeIoOverrides *sidecar,
                                     const GazeIoOverrides *flags);
/* The multi-label threshold: the flags', else the sidecar's, else 0.5. */
double gaze_io_overrides_threshold (const GazeIoOverrides *sidecar, const GazeIoOverrides *flags);
/* ---- end output head ---- */

/* issue 19: applies "layout" (the flags', else the sidecar's) with
 * gz_model_set_input_layout; call right after loading. Either may be NULL. */
gboolean gaze_io_overrides_apply_layout (GzModel *model, const GazeIoOverrides *sidecar,
                                         const GazeIoOverrides *flags, GError **error);
/* issue 19: plans a model with a symbolic input height/width at the flags'
 * "input size", else the sidecar's, else the flags' crop, else the sidecar's
 * (gz_model_set_input_size); otherwise it stays at 224×224. A size given for
 * a fixed-size model must be its size. Call after the layout, before resolve. */
gboolean gaze_io_overrides_apply_input_size (GzModel *model, const GazeIoOverrides *sidecar,
                                             const GazeIoOverrides *flags, GError **error);
/* "rgb" | "bgr"; FALSE for anything else. */
gboolean gaze_io_channel_order_parse (const char *name, gboolean *bgr);
/* Labels: the flags', else the sidecar's, else NULL. */
const char *const *gaze_io_overrides_labels (const GazeIoOverrides *sidecar,
                                             const GazeIoOverrides *flags);

/* Reads a regular file of at most max_bytes (NUL-terminated copy); devices,
 * FIFOs and larger files are refused without blocking. */
gboolean gaze_io_read_regular_file (const char *path, gsize max_bytes, char **contents,
                                    gsize *length, GError **error);

/* Reads a labels file: one label per line (trailing CR and a final empty line
 * dropped). Empty files are an error. */
GStrv gaze_io_labels_read (const char *path, GError **error);
/* The label of class index, or "class N" written into buf. */
const char *gaze_io_label_for (const char *const *labels, int index, char *buf, gsize buf_len);

/* -- Resampler names (issue 19) -- */
/* "pil" | "tensor"; FALSE for anything else. */
gboolean gaze_io_resize_backend_parse (const char *name, GzResizeBackend *out);
const char *gaze_io_resize_backend_name (GzResizeBackend backend);
/* "bilinear" | "bicubic"; FALSE for anything else. */
gboolean gaze_io_interpolation_parse (const char *name, GzResizeFilter *out);
const char *gaze_io_interpolation_name (GzResizeFilter filter);
/* -- end resampler names -- */

G_END_DECLS
