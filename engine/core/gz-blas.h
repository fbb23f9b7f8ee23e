/* gz-blas.h — the engine's single entry point to BLAS
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>

/* Row-major C = alpha * op(A) * op(B) + beta * C, op(A) is M×K, op(B) is K×N.
 * Split over the engine's pool (gz-threads.h) when large enough. */
void gz_sgemm (bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc);
