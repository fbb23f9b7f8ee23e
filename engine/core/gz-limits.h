/* gz-limits.h — the keys of the resource limits (GzLimits, gaze-engine.h)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * An error that a limit refuses is GZ_ERR_LIMIT and its message names the
 * limit as "the KEY limit" (e.g. "… above the nodes limit of 100000"), never
 * a front end's way of raising it: gz_limits_key_in finds the key again, and
 * the front end tells how to raise it (gaze-cli: --limits; all: GAZE_LIMITS).
 */
#pragma once

#define GZ_LIMIT_FILE_BYTES "file-bytes"
#define GZ_LIMIT_TENSOR_ELEMENTS "tensor-elements"
#define GZ_LIMIT_NODES "nodes"
#define GZ_LIMIT_ACTIVATION_BYTES "activation-bytes"
#define GZ_LIMIT_IMAGE_PIXELS "image-pixels"
