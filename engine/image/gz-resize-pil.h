/* gz-resize-pil.h — Pillow-exact 8-bit resampling (private to engine/image)
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gaze-engine.h"

/* Resizes `image` (loaded as `channels` planes, gray per ITU-R 601-2 as PIL's
 * convert ("L")) to rw × rh the way Pillow's Image.resize does on 8-bit
 * images, and writes the part [x0, x1) × [y0, y1) of the result as floats
 * 0..255 into `dst`: plane c, row y, column x at
 * dst[(c * dst_h + y - y0 + dst_y) * dst_w + x - x0 + dst_x]. */
GzStatus gz_resize_pil (const GzImage *image, int channels, GzResizeFilter filter, int64_t rw,
                        int64_t rh, int64_t x0, int64_t x1, int64_t y0, int64_t y1, float *dst,
                        int64_t dst_w, int64_t dst_h, int64_t dst_x, int64_t dst_y, GzError *err);
