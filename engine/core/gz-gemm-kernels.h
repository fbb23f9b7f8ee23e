/* gz-gemm-kernels.h — the SGEMM micro-kernels behind gz_gemm (private to engine/core)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A micro-kernel computes an mr × GZ_GEMM_NR tile of C (mr ≤ the kernel's MR)
 * from kc columns of op(A), read in place, and one packed B panel (kc rows of
 * GZ_GEMM_NR floats; any alignment, 64 bytes is fastest). Only the first nv
 * columns of C are read or written. Each element is Σ_k a·b summed from 0 in ascending k,
 * then + C when load_c (C is never read otherwise), then + bias[i] when bias
 * is not NULL; so a tile's result depends neither on mr nor on which thread
 * computes it. The sum comes first, as in BLAS and PyTorch: starting from a
 * large bias (a folded batch norm) loses the bits of a sum that nearly
 * cancels it, and flipped a ReLU mask in tests/reference (HiResCAM at
 * ResNet-18's layer3: 6e-3 off, against 1.5e-6 this way).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "gz-isa.h"

enum
{
  GZ_GEMM_NR = 32
}; /* panel width for every kernel (2 AVX-512 vectors) */

typedef void (*GzGemmKernelFn) (int mr, int kc, const float *a, long lda, bool trans_a,
                                const float *bp, float *c, long ldc, int nv, bool load_c,
                                const float *bias);

/* Packs rows [0, kc) × columns [0, nc) of a row-major B (row stride ldb),
 * times alpha, into ceil(nc / NR) panels at dst, zero past nc. */
typedef void (*GzGemmPackFn) (const float *b, size_t ldb, float alpha, int kc, int nc, float *dst);

typedef struct
{
  const char *name;
  GzIsa isa;
  int mr; /* the largest tile height */
  GzGemmKernelFn fn;
  GzGemmPackFn pack_rows;
} GzGemmKernel;

/* The widest kernel this CPU runs, capped by GAZE_CONV_ISA. */
const GzGemmKernel *gz_gemm_kernel_pick (void);
