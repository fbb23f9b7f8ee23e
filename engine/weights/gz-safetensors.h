/* gz-safetensors.h — the safetensors format
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gz-state-dict.h"

/* Reads a .safetensors file. */
GzStatus gz_safetensors_read (const void *bytes, size_t len, const GzLimits *limits,
                              GzStateDict *out, GzError *err);
