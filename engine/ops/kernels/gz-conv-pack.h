/* gz-conv-pack.h — implicit im2col: a gz_gemm B packer reading a convolution's input
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The im2col matrix of one image and one group has K = cg·k_h·k_w rows
 * (row r = (c·k_h + ki)·k_w + kj) and P = out_h·out_w columns (column
 * n = oy·out_w + ox); element (r, n) is x[c][oy·s_h − pad_t + ki·d_h]
 * [ox·s_w − pad_l + kj·d_w], or 0 outside the plane. gz_conv_pack_b writes
 * blocks of it straight into gz_gemm's panel layout (gz-gemm.h), so the
 * matrix itself never exists. Several images side by side (x_img > 0) make
 * one wider matrix: column n is column n mod P of image n / P, whose planes
 * start x_img floats after the previous image's.
 */
#pragma once

#include <stdint.h>

#include "gz-op.h"

typedef struct
{
  const float *x; /* one image, first input channel of the group (planes in_h × in_w) */
  int64_t in_h, in_w, out_h, out_w;
  int64_t k_h, k_w, s_h, s_w, d_h, d_w, pad_t, pad_l;
  int64_t hw; /* in_h · in_w: distance between channel planes */
  int64_t p_img; /* out_h · out_w: columns per image */
  int64_t x_img; /* floats from one image's planes to the next's (0: one image) */
  int isa; /* 2: AVX-512 packer, 0: portable (set by gz_conv_pack_init) */
} GzConvPack;

/* Fills p for window w and the group's input planes x (one image: set
 * x_img for more); picks the packer for this CPU (GAZE_CONV_ISA caps it, as
 * for the other kernels). */
void gz_conv_pack_init (GzConvPack *p, const GzOpWindow *w, const float *x);

/* GzGemmPackB: ctx is a GzConvPack. */
void gz_conv_pack_b (const void *ctx, int k0, int kc, int n0, int nc, float *dst);
