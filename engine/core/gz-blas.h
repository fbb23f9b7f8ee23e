/* gz-blas.h — the engine's single entry point to BLAS, and its thread pool
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdbool.h>

/* Row-major C = alpha * op(A) * op(B) + beta * C, op(A) is M×K, op(B) is K×N. */
void gz_sgemm (bool trans_a, bool trans_b, int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb, float beta,
               float *c, int ldc);

/* Runs fn(begin, end, data) over [0, n) split into contiguous chunks, one per
 * engine thread (gz_set_threads); runs inline when n is small or one thread. */
typedef void (*GzRangeFn) (long begin, long end, void *data);
void gz_parallel_for (long n, long min_chunk, GzRangeFn fn, void *data);
