/* gz-gemm.c — the engine's blocked, threaded SGEMM driver (see gz-gemm.h)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Loop order per thread: jc over blocks of NC columns → pc over blocks of KC
 * of k → the caller's packer writes that KC × NC block of B into a
 * thread-local buffer (it sits in L2) → ir over rows of C in steps of the
 * kernel's MR (the MR × KC slice of A, read in place, then stays in L1) →
 * jr over the block's panels. A is never copied: for a convolution it is the
 * weights, and a late layer (M = 512, K = 4608, N = 49) would spend more on
 * packing them each call than on the product.
 *
 * Threads split N by panels or M by MR rows, whichever a simple cost model
 * (products, packing, reading A) says finishes first: M when N has few
 * panels to share out, each thread then packing all of B. The k blocks
 * and the order of the terms within a tile never depend on the split, so any
 * thread count gives bitwise the same C.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gaze-engine.h"
#include "gz-threads.h"
#include "gz-gemm.h"
#include "gz-gemm-kernels.h"

enum
{
  NR = GZ_GEMM_NR,
  KC = 256, /* a B panel (KC × NR, 32 KiB) and an MR × KC slice of A fit L1 */
  NC = 512, /* a packed KC × NC block of B (512 KiB) sits in L2 */
};

static const GzGemmKernel *
kernel (void)
{
  static const GzGemmKernel *_Atomic chosen;
  const GzGemmKernel *k = chosen;
  if (k == NULL)
    chosen = k = gz_gemm_kernel_pick ();
  return k;
}

const char *
gz_gemm_isa (void)
{
  return kernel ()->name;
}

GzIsa
gz_gemm_kernel_isa (void)
{
  return kernel ()->isa;
}

/* ---- the per-thread packing buffer ---------------------------------------- */

static _Thread_local float *pack_buf;
static GzThreadKey pack_key; /* frees it when its thread ends */

static float *
pack_buffer (void)
{
  if (pack_buf == NULL)
    {
      pack_buf = aligned_alloc (64, (size_t) KC * NC * sizeof (float));
      if (pack_buf != NULL)
        gz_thread_owns (&pack_key, pack_buf);
    }
  return pack_buf;
}

/* ---- the driver ------------------------------------------------------------ */

typedef struct
{
  const GzGemmKernel *kern;
  bool trans_a, split_n;
  int m, n, k, lda, ldc;
  int kc; /* the k block: from K alone, never from the split */
  const float *a, *row_bias;
  GzGemmPackB pack_b;
  const void *b_ctx;
  float beta;
  float *c;
} Job;

/* Rows [m0, m1) × columns [n0, n1) of C. */
static void
gemm_block (const Job *j, int m0, int m1, int n0, int n1, float *buf, int nc_max)
{
  const GzGemmKernel *kern = j->kern;
  for (int jc = n0; jc < n1; jc += nc_max)
    {
      int nc = n1 - jc < nc_max ? n1 - jc : nc_max;
      int panels = (nc + NR - 1) / NR;
      for (int pc = 0; pc < j->k; pc += j->kc)
        {
          int kc = j->k - pc < j->kc ? j->k - pc : j->kc;
          j->pack_b (j->b_ctx, pc, kc, jc, nc, buf);
          bool load_c = pc > 0 || j->beta != 0.0f;
          /* Rows in equal tiles (64 = 13+13+13+13+12 rather than 14·4 + 8):
           * a short tile has too few accumulators to hide the FMA latency. */
          int tiles = (m1 - m0 + kern->mr - 1) / kern->mr;
          for (int t = 0; t < tiles; t++)
            {
              int ir = m0 + (int) ((long) (m1 - m0) * t / tiles);
              int mr = m0 + (int) ((long) (m1 - m0) * (t + 1) / tiles) - ir;
              const float *a = j->trans_a ? j->a + (size_t) pc * j->lda + ir
                                          : j->a + (size_t) ir * j->lda + pc;
              const float *bias = pc == 0 && j->row_bias != NULL ? j->row_bias + ir : NULL;
              float *c = j->c + (size_t) ir * j->ldc + jc;
              for (int p = 0; p < panels; p++)
                {
                  int nv = nc - p * NR < NR ? nc - p * NR : NR;
                  kern->fn (mr, kc, a, j->lda, j->trans_a, buf + (size_t) p * kc * NR, c + p * NR,
                            j->ldc, nv, load_c, bias);
                }
            }
        }
    }
}

static void
gemm_range (long begin, long end, void *data)
{
  const Job *j = data;
  float *buf = pack_buffer ();
  int nc_max = NC;
  /* Out of memory for the 512 KiB block: one panel at a time on the stack. */
  _Alignas(64) float panel[KC * NR];
  if (buf == NULL)
    {
      buf = panel;
      nc_max = NR;
    }
  if (j->split_n)
    {
      int n0 = (int) begin * NR, n1 = (int) end * NR;
      gemm_block (j, 0, j->m, n0, n1 < j->n ? n1 : j->n, buf, nc_max);
    }
  else
    {
      int m0 = (int) begin * j->kern->mr, m1 = (int) end * j->kern->mr;
      gemm_block (j, m0, m1 < j->m ? m1 : j->m, 0, j->n, buf, nc_max);
    }
}

/* k = 0: C = beta·C + bias. */
static void
gemm_empty (int m, int n, const float *row_bias, float beta, float *c, int ldc)
{
  for (int i = 0; i < m; i++)
    {
      float b = row_bias != NULL ? row_bias[i] : 0.0f;
      float *r = c + (size_t) i * ldc;
      for (int jj = 0; jj < n; jj++)
        r[jj] = beta != 0.0f ? r[jj] + b : b;
    }
}

void
gz_gemm (bool trans_a, int m, int n, int k, const float *a, int lda, GzGemmPackB pack_b,
         const void *b_ctx, const float *row_bias, float beta, float *c, int ldc)
{
  if (m <= 0 || n <= 0)
    return;
  if (k <= 0)
    {
      gemm_empty (m, n, row_bias, beta, c, ldc);
      return;
    }
  const GzGemmKernel *kern = kernel ();
  /* Equal k blocks of at most KC: C is read and written once per block. */
  int kb = (k + KC - 1) / KC;
  Job j = { kern, trans_a,  true,   m,     n,    k, lda, ldc, (k + kb - 1) / kb,
            a,    row_bias, pack_b, b_ctx, beta, c };
  long n_units = (n + NR - 1) / NR, m_units = (m + kern->mr - 1) / kern->mr;
  int threads = gz_get_threads ();
  double flops = 2.0 * m * n * k;
  if (threads > 1 && flops >= 4e5)
    {
      /* The busiest thread's time, in cycles of one tile row × one panel × one
       * k: its products, packing its panels of B (~12: measured, B coming
       * from L3), and reading its rows of A (~0.4 each, from memory). Split
       * over N, every thread reads all of A; over M, every thread packs all
       * of B. */
      long t = threads;
      double pn = (double) ((n_units + t - 1) / t);
      double rm = (double) ((m_units + t - 1) / t) * kern->mr;
      if (rm > m)
        rm = m;
      double cost_n = pn * m * k + pn * k * 12.0 + 0.4 * m * k;
      double cost_m = rm * n_units * k + n_units * k * 12.0 + 0.4 * rm * k;
      j.split_n = cost_n <= cost_m;
    }
  long units = j.split_n ? n_units : m_units;
  /* Below ~0.4 MFLOP a split costs more than it saves. */
  gz_parallel_for (units, flops < 4e5 ? units : 1, gemm_range, &j);
}

/* ---- packing an ordinary matrix -------------------------------------------- */

void
gz_gemm_pack_b_matrix (const void *ctx, int k0, int kc, int n0, int nc, float *dst)
{
  const GzGemmMatrix *bm = ctx;
  const float alpha = bm->alpha;
  const size_t ldb = (size_t) bm->ldb;
  if (!bm->trans_b)
    {
      kernel ()->pack_rows (bm->b + (size_t) k0 * ldb + n0, ldb, alpha, kc, nc, dst);
      return;
    }
  /* B[n][k]: 8 k at a time, so that each source row is read in runs. */
  for (int p0 = 0; p0 < nc; p0 += NR)
    {
      int w = nc - p0 < NR ? nc - p0 : NR;
      float *d = dst + (size_t) (p0 / NR) * kc * NR;
      for (int kk0 = 0; kk0 < kc; kk0 += 8)
        {
          int kn = kc - kk0 < 8 ? kc - kk0 : 8;
          for (int jj = 0; jj < NR; jj++)
            {
              float *dc = d + (size_t) kk0 * NR + jj;
              if (jj < w)
                {
                  const float *s = bm->b + (size_t) (n0 + p0 + jj) * ldb + k0 + kk0;
                  for (int q = 0; q < kn; q++)
                    dc[q * NR] = alpha * s[q];
                }
              else
                for (int q = 0; q < kn; q++)
                  dc[q * NR] = 0.0f;
            }
        }
    }
}
