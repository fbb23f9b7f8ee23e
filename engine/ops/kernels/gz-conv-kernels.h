/* gz-conv-kernels.h — ISA-specific convolution kernels chosen at run time
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "gz-op.h"

/* Depthwise 3×3 or 5×5 forward (dilation 1, stride 1 or 2) of planes [begin, end)
 * of x (N·C planes, channel = plane % channels) into y, bias optional.
 * Returns false, having done nothing, when the geometry or the CPU has no
 * fast path here (the caller then runs its generic kernel). */
bool gz_conv_dw_planes (const GzOpWindow *w, int64_t channels, const float *x, const float *weights,
                        const float *bias, float *y, long begin, long end);

/* y[i] = 1 / (1 + exp(-x[i])), vectorised when the CPU allows (a few ulp). */
void gz_vec_sigmoid (const float *x, float *y, int64_t n);
