/* fuzz-common.h — limits shared by the fuzz targets
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Small enough that one case runs in milliseconds even when constant folding
 * runs operators at load time, large enough for the seed models.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "gaze-engine.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static inline void
fuzz_limits (GzLimits *limits)
{
  gz_limits_default (limits);
  limits->max_file_bytes = 1 << 20;
  limits->max_tensor_elements = 4096;
  limits->max_nodes = 64;
  limits->max_activation_bytes = 1 << 20;
  limits->max_image_pixels = 64 * 64;
}
