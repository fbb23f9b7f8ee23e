/* gz-gemm.h — the engine's own blocked SGEMM, with callers packing B themselves
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * C = op(A) · B (+ row_bias[i]) (+ beta · C), row-major, threaded over the
 * engine's pool (gz-threads.h). A is read in place; B is never read directly:
 * the caller's packer writes blocks of B straight into the micro-kernel's
 * panel layout. That lets a convolution pack its im2col columns from the
 * image without materialising the im2col matrix (implicit GEMM), and a
 * plain matrix product use gz_gemm_pack_b_matrix.
 *
 * Panel layout written by a packer for rows [k0, k0 + kc) and columns
 * [n0, n0 + nc) of B: ceil(nc / GZ_GEMM_NR) panels one after the other; panel
 * p holds kc rows of GZ_GEMM_NR floats, so element (k0 + kk, n0 + p·NR + j)
 * is at dst[(p · kc + kk) · GZ_GEMM_NR + j]. Columns past n0 + nc in the last
 * panel must be written as 0. Packers are called from several threads at
 * once with disjoint destinations and must not write anything else.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "gz-gemm-kernels.h" /* GZ_GEMM_NR */
#include "gz-isa.h"

typedef void (*GzGemmPackB) (const void *ctx, int k0, int kc, int n0, int nc, float *dst);

/* op(A) is M×K: A[i·lda + k], or with trans_a A[k·lda + i].
 * row_bias may be NULL; beta is 0 (C is written, never read) or 1. */
void gz_gemm (bool trans_a, int m, int n, int k, const float *a, int lda, GzGemmPackB pack_b,
              const void *b_ctx, const float *row_bias, float beta, float *c, int ldc);

/* The packer for an ordinary matrix: ctx is a GzGemmMatrix (op(B) is K×N). */
typedef struct
{
  const float *b;
  int ldb;
  bool trans_b;
  float alpha; /* multiplies every element as it is packed */
} GzGemmMatrix;
void gz_gemm_pack_b_matrix (const void *ctx, int k0, int kc, int n0, int nc, float *dst);

/* The kernel family gz_gemm uses on this CPU: "avx512", "avx2" or
 * "generic" (GAZE_CONV_ISA caps it, as for the convolution kernels). */
const char *gz_gemm_isa (void);
/* The same as a GzIsa. */
GzIsa gz_gemm_kernel_isa (void);
