/* gz-blas.c — the one place that calls BLAS
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * gz_sgemm hands every product but the few-row ones to the engine's own GEMM
 * (gz-gemm.c), and all of them on a CPU without AVX2; OpenBLAS runs those,
 * itself single-threaded: the engine's pool (gz-threads.c) splits them.
 */
#include <pthread.h>
#include <cblas.h>

#include "gaze-engine.h"
#include "gz-blas.h"
#include "gz-gemm.h"
#include "gz-threads.h"

/* ---- GEMM ---------------------------------------------------------------- */

/* Below this many rows of C, OpenBLAS (gemv-like for one row) beats packing
 * all of B for a few rows; such products are small and run unsplit, so that
 * the thread count cannot change their bits. */
enum
{
  OWN_MIN_M = 8
};

/* Without AVX2 (gz_gemm's portable kernel: ~0.2x OpenBLAS), OpenBLAS runs
 * everything, split into column (or row) panels over the pool. */
typedef struct
{
  bool ta, tb, split_n;
  int m, n, k, lda, ldb, ldc;
  float alpha, beta;
  const float *a, *b;
  float *c;
} GemmJob;

enum
{
  PANEL = 16
}; /* split at multiples of the micro-kernel's tile */

static void
gemm_panels (long begin, long end, void *data)
{
  const GemmJob *j = data;
  int lo = (int) begin * PANEL, hi = (int) end * PANEL;
  int full = j->split_n ? j->n : j->m;
  if (hi > full)
    hi = full;
  if (lo >= hi)
    return;
  if (j->split_n)
    cblas_sgemm (CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans,
                 j->tb ? CblasTrans : CblasNoTrans, j->m, hi - lo, j->k, j->alpha, j->a, j->lda,
                 j->tb ? j->b + (size_t) lo * j->ldb : j->b + lo, j->ldb, j->beta, j->c + lo,
                 j->ldc);
  else
    cblas_sgemm (CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans,
                 j->tb ? CblasTrans : CblasNoTrans, hi - lo, j->n, j->k, j->alpha,
                 j->ta ? j->a + lo : j->a + (size_t) lo * j->lda, j->lda, j->b, j->ldb, j->beta,
                 j->c + (size_t) lo * j->ldc, j->ldc);
}

/* Our pool splits the GEMMs; OpenBLAS's own threads would only compete. */
static void
openblas_single (void)
{
  openblas_set_num_threads (1);
}

static void
sgemm_openblas (bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
                int lda, const float *b, int ldb, float beta, float *c, int ldc, bool split)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once (&once, openblas_single);
  GemmJob j = { trans_a, trans_b, n >= m, m, n, k, lda, ldb, ldc, alpha, beta, a, b, c };
  double flops = 2.0 * m * n * k;
  long panels = ((j.split_n ? n : m) + PANEL - 1) / PANEL;
  /* Below ~0.2 MFLOP a split costs more than it saves. */
  if (!split || gz_get_threads () <= 1 || gz_in_parallel () || flops < 2e5 || panels < 2)
    {
      cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                   trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                   ldc);
      return;
    }
  gz_parallel_for (panels, 1, gemm_panels, &j);
}

void
gz_sgemm (bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
          const float *b, int ldb, float beta, float *c, int ldc)
{
  if (m <= 0 || n <= 0)
    return;
  if (m < OWN_MIN_M || gz_gemm_kernel_isa () == GZ_ISA_GENERIC)
    {
      sgemm_openblas (trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                      m >= OWN_MIN_M);
      return;
    }
  /* gz_gemm takes beta 0 or 1: scale C first otherwise (BLAS semantics: beta
   * 0 never reads C, alpha 0 never reads A or B). */
  if ((beta != 0.0f && beta != 1.0f) || alpha == 0.0f || k <= 0)
    {
      for (int i = 0; i < m; i++)
        {
          float *r = c + (size_t) i * ldc;
          for (int j = 0; j < n; j++)
            r[j] = beta == 0.0f ? 0.0f : beta * r[j];
        }
      if (alpha == 0.0f || k <= 0)
        return;
      beta = 1.0f;
    }
  GzGemmMatrix bm = { b, ldb, trans_b, alpha };
  gz_gemm (trans_a, m, n, k, a, lda, gz_gemm_pack_b_matrix, &bm, NULL, beta, c, ldc);
}
