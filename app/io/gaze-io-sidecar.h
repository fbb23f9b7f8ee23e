/* gaze-io-sidecar.h — MODEL.json next to MODEL.onnx: preprocessing and labels
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Keys are named like gaze-cli's flags; all optional:
 *   { "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
 *     "resize": 256, "crop": 224 (or [height, width]), "stretch": false,
 *     "channels": 3, "labels": "labels.txt" (relative to the model) or ["cat", …],
 *     "output": "softmax" | "log-softmax" | "sigmoid" | "multilabel" | "logits"
 *     (overrides the detected output head, see gz_model_set_output_kind),
 *     "threshold": 0.5 (a multi-label finding is positive at or above it),
 *     "resize_backend": "pil" (Pillow's resize, default) or "tensor" (torchvision
 *     on float tensors), "interpolation": "bilinear" (default) or "bicubic",
 *     issue 19: "channel_order": "rgb" | "bgr", "scale": S (mean then in 0..255
 *     units, value = (x - mean) * S / std; unset mean 0, std 1),
 *     "layout": "nchw" | "nhwc", "input_size": N or [height, width] (models
 *     with a symbolic height/width) }
 * Without a "labels" key, a labels.txt beside the model is used.
 */
#pragma once

#include <glib.h>

#include "gaze-engine.h"
#include "gaze-io-overrides.h"

G_BEGIN_DECLS

/* MODEL.onnx → MODEL.json (the extension replaced, or appended). */
char *gaze_io_sidecar_path (const char *model_path);

/* Fills settings from the sidecar and labels.txt; both absent is not an error.
 * A malformed sidecar is (GAZE_IO_ERROR_INVALID, naming the file and key). */
gboolean gaze_io_sidecar_read (const char *model_path, GazeIoOverrides *settings, GError **error);

/* The same from the sidecar's bytes (text need not be NUL-terminated):
 * model_dir resolves a relative "labels" file name, path names the sidecar in
 * messages; *have_labels_key (may be NULL) tells whether "labels" was given. */
gboolean gaze_io_sidecar_parse (const char *text, gsize len, const char *model_dir,
                                const char *path, GazeIoOverrides *settings,
                                gboolean *have_labels_key, GError **error);

/* Writes MODEL.json atomically from pp and a labels file name (stored relative
 * to the model when it lies in the same folder). labels_path NULL (or
 * "inline", GazeIoOverrides' marker) keeps the inline "labels" array of the sidecar
 * being replaced, if it has one; otherwise no "labels" key is written. */
gboolean gaze_io_sidecar_write (const char *model_path, const GzPreprocess *pp,
                                const char *labels_path, GError **error);

G_END_DECLS

/* ---- Issue 20: PyTorch weights -------------------------------------------
 * The "architecture" a weights file (.pth, .pt, .ckpt, .safetensors) is built
 * as ("resnet50", "densenet121", ...), from MODEL.json beside it: a newly
 * allocated string, NULL when the sidecar or the key is absent or not a string
 * (the key is a hint to the engine; gz_model_load_arch checks the name). */
char *gaze_io_sidecar_architecture (const char *model_path);
