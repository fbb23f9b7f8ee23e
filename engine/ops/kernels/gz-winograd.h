/* gz-winograd.h — Winograd F(m×m, 3×3) convolution for 3×3, stride-1 layers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * y = conv (x, w) + bias for ONNX Conv with a 3×3 kernel, stride 1,
 * dilation 1, one group and any (also asymmetric) pads, computed as in Lavin
 * & Gray 2016: the weights become U = G g Gᵀ (one α×α matrix per filter,
 * α = m + 2), blocks of input tiles become V = Bᵀ d B, one GEMM per position
 * of the α×α tile multiplies them (U[p] as M×C times V[p] as C×tiles) and
 * the output transform Aᵀ · A adds the bias. F(2×2) needs 16/36 of the
 * direct method's multiplications, F(4×4) 36/144.
 *
 * U is laid out [α·α][M][C]. A caller may cache it per node
 * (gz_winograd_u_floats floats) or pass NULL and let each call transform the
 * weights into scratch memory.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "gaze-engine.h"

typedef struct
{
  int n, c, h, w; /* x is [n, c, h, w] */
  int m; /* output channels: w is [m, c, 3, 3], bias [m], y [n, m, oh, ow] */
  int pad_t, pad_l, pad_b, pad_r; /* oh = h + pad_t + pad_b − 2, ow likewise */
  int tile; /* output tile edge: 2 = F(2×2,3×3), 4 = F(4×4,3×3), 0 = the default */
} GzWinogradShape;

/* True when the layer is a 3×3 / stride 1 / dilation 1 / group 1 Conv with
 * at least 64 input and output channels whose sizes make Winograd clearly
 * faster than im2col + GEMM (a cost model fitted to bench-winograd).
 * u_cached says whether the caller holds U for gz_winograd_tile (s) already:
 * without it, batch-1 layers with few tiles and many weights (ResNet's
 * 256@14², 512@7²) lose to the weight transform. */
bool gz_winograd_applies (const GzWinogradShape *s, int kh, int kw, int stride_h, int stride_w,
                          int dil_h, int dil_w, int group, bool u_cached);

/* The tile edge a shape gets: s->tile when 2 or 4, else GAZE_WINOGRAD_TILE
 * (2 or 4) when set, else the better of the two by the cost model (F(4×4)
 * but where few tiles fill the GEMM panels badly, e.g. 256@14² at batch 1).
 * Depends on the batch size: a cached U is for one tile edge. */
int gz_winograd_tile (const GzWinogradShape *s);

/* Floats of U for this shape (α²·M·C), 0 when that overflows. */
size_t gz_winograd_u_floats (const GzWinogradShape *s);

/* U = G g Gᵀ for every filter of w [m, c, 3, 3] (vectorised over c),
 * threaded. u holds gz_winograd_u_floats (s) floats. */
void gz_winograd_transform_weights (const GzWinogradShape *s, const float *w, float *u);

/* The whole batch. u is NULL (the weights w are transformed per call) or
 * what gz_winograd_transform_weights made for this shape's tile, m and c
 * (w is then unused). bias may be NULL. y must not overlap x. */
GzStatus gz_winograd_conv (const GzWinogradShape *s, const float *x, const float *w, const float *u,
                           const float *bias, float *y, GzError *err);
