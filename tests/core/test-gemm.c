/* test-gemm.c — gz_gemm and gz_sgemm against OpenBLAS and a double-precision product
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Run once per kernel family (GAZE_CONV_ISA=avx512|avx2|generic caps the
 * choice). Every case is checked against cblas_sgemm (an independent
 * implementation) and a naive product in double, with a tolerance relative to
 * Σ|a||b| per element; one and two engine threads must agree bit for bit.
 */
#include <cblas.h>
#include <glib.h>
#include <math.h>
#include <string.h>

#include "gaze-engine.h"
#include "gz-blas.h"
#include "gz-threads.h"
#include "gz-gemm.h"

static guint32 rng_state = 12345;

static float
frand (void)
{
  rng_state = rng_state * 1664525u + 1013904223u;
  return (float) ((rng_state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

typedef struct
{
  bool ta, tb;
  int m, n, k, lda, ldb, ldc;
  float alpha, beta;
  bool bias;
} Case;

typedef struct
{
  float *a, *b, *c0, *bias;
  double *ref, *scale; /* the exact result, and Σ|terms| per element */
} Data;

static void
make_data (const Case *t, Data *d)
{
  size_t na = (size_t) (t->ta ? t->k : t->m) * t->lda;
  size_t nb = (size_t) (t->tb ? t->n : t->k) * t->ldb;
  size_t nc = (size_t) t->m * t->ldc;
  d->a = g_new (float, na);
  d->b = g_new (float, nb);
  d->c0 = g_new (float, nc);
  d->bias = g_new (float, t->m);
  d->ref = g_new0 (double, nc);
  d->scale = g_new0 (double, nc);
  for (size_t i = 0; i < na; i++)
    d->a[i] = frand ();
  for (size_t i = 0; i < nb; i++)
    d->b[i] = frand ();
  for (size_t i = 0; i < nc; i++)
    d->c0[i] = t->beta == 0.0f ? NAN : frand ();
  for (int i = 0; i < t->m; i++)
    d->bias[i] = t->bias ? frand () : 0.0f;
  for (int i = 0; i < t->m; i++)
    for (int j = 0; j < t->n; j++)
      {
        double s = 0.0, abs_s = 0.0;
        for (int p = 0; p < t->k; p++)
          {
            double av = t->ta ? d->a[(size_t) p * t->lda + i] : d->a[(size_t) i * t->lda + p];
            double bv = t->tb ? d->b[(size_t) j * t->ldb + p] : d->b[(size_t) p * t->ldb + j];
            s += av * bv;
            abs_s += fabs (av * bv);
          }
        size_t ic = (size_t) i * t->ldc + j;
        double cv = t->beta == 0.0f ? 0.0 : t->beta * (double) d->c0[ic];
        d->ref[ic] = t->alpha * s + d->bias[i] + cv;
        d->scale[ic] = fabs (t->alpha) * abs_s + fabs (d->bias[i]) + fabs (cv) + 1e-30;
      }
}

static void
free_data (Data *d)
{
  g_free (d->a);
  g_free (d->b);
  g_free (d->c0);
  g_free (d->bias);
  g_free (d->ref);
  g_free (d->scale);
}

/* Every element within the tolerance, and the padding between rows of C
 * (columns n .. ldc) left as it was. */
static void
check (const Case *t, const Data *d, const float *c, const char *who)
{
  double tol = 3e-7 * sqrt ((double) t->k + 4);
  for (int i = 0; i < t->m; i++)
    for (int j = 0; j < t->ldc; j++)
      {
        size_t ic = (size_t) i * t->ldc + j;
        if (j >= t->n)
          {
            if (memcmp (&c[ic], &d->c0[ic], sizeof (float)) != 0)
              g_error ("%s wrote padding at (%d,%d) m=%d n=%d k=%d", who, i, j, t->m, t->n, t->k);
            continue;
          }
        double err = fabs (c[ic] - d->ref[ic]);
        if (!(err <= tol * d->scale[ic]))
          g_error ("%s: m=%d n=%d k=%d ta=%d tb=%d alpha=%g beta=%g bias=%d lda=%d ldb=%d "
                   "ldc=%d: C[%d,%d] = %.9g, expected %.9g (scale %.3g)",
                   who, t->m, t->n, t->k, t->ta, t->tb, t->alpha, t->beta, t->bias, t->lda, t->ldb,
                   t->ldc, i, j, c[ic], d->ref[ic], d->scale[ic]);
      }
}

static float *
copy_c (const Case *t, const Data *d)
{
  return g_memdup2 (d->c0, (size_t) t->m * t->ldc * sizeof (float));
}

static void
run_gz_gemm (const Case *t, const Data *d, float *c)
{
  GzGemmMatrix bm = { d->b, t->ldb, t->tb, t->alpha };
  gz_gemm (t->ta, t->m, t->n, t->k, d->a, t->lda, gz_gemm_pack_b_matrix, &bm,
           t->bias ? d->bias : NULL, t->beta, c, t->ldc);
}

static void
run_case (const Case *t, bool with_gz_gemm)
{
  Data d;
  make_data (t, &d);
  size_t bytes = (size_t) t->m * t->ldc * sizeof (float);

  /* The reference's own check: OpenBLAS (no bias there). */
  if (!t->bias)
    {
      float *cb = copy_c (t, &d);
      cblas_sgemm (CblasRowMajor, t->ta ? CblasTrans : CblasNoTrans,
                   t->tb ? CblasTrans : CblasNoTrans, t->m, t->n, t->k, t->alpha, d.a, t->lda, d.b,
                   t->ldb, t->beta, cb, t->ldc);
      check (t, &d, cb, "cblas_sgemm");
      g_free (cb);
    }

  float *c1 = copy_c (t, &d), *c2 = copy_c (t, &d);
  if (with_gz_gemm)
    {
      gz_set_threads (1);
      run_gz_gemm (t, &d, c1);
      check (t, &d, c1, "gz_gemm");
      gz_set_threads (2);
      run_gz_gemm (t, &d, c2);
      if (memcmp (c1, c2, bytes) != 0)
        g_error ("gz_gemm: 1 and 2 threads differ, m=%d n=%d k=%d", t->m, t->n, t->k);
    }
  if (!t->bias)
    {
      memcpy (c1, d.c0, bytes);
      memcpy (c2, d.c0, bytes);
      gz_set_threads (1);
      gz_sgemm (t->ta, t->tb, t->m, t->n, t->k, t->alpha, d.a, t->lda, d.b, t->ldb, t->beta, c1,
                t->ldc);
      check (t, &d, c1, "gz_sgemm");
      gz_set_threads (2);
      gz_sgemm (t->ta, t->tb, t->m, t->n, t->k, t->alpha, d.a, t->lda, d.b, t->ldb, t->beta, c2,
                t->ldc);
      check (t, &d, c2, "gz_sgemm, 2 threads");
      /* Without AVX2 gz_sgemm is OpenBLAS split over the pool, whose bits
       * may depend on the split (its edge kernels differ). */
      if (gz_gemm_kernel_isa () != GZ_ISA_GENERIC && memcmp (c1, c2, bytes) != 0)
        g_error ("gz_sgemm: 1 and 2 threads differ, m=%d n=%d k=%d", t->m, t->n, t->k);
    }
  g_free (c1);
  g_free (c2);
  free_data (&d);
  gz_set_threads (1);
}

/* All of m, n, k over sizes around the tile edges; the other parameters
 * cycle so that every combination of them meets many shapes. */
static void
test_shapes (void)
{
  static const int sizes[] = { 1, 2, 3, 7, 13, 31, 32, 33, 49, 64, 100, 196, 257 };
  const int ns = G_N_ELEMENTS (sizes);
  int count = 0;
  for (int im = 0; im < ns; im++)
    for (int in = 0; in < ns; in++)
      for (int ik = 0; ik < ns; ik++, count++)
        {
          Case t = { 0 };
          t.m = sizes[im];
          t.n = sizes[in];
          t.k = sizes[ik];
          unsigned v = (unsigned) count * 2654435761u >> 7;
          t.ta = v & 1;
          t.tb = (v >> 1) & 1;
          t.beta = (v >> 2) & 1 ? 1.0f : 0.0f;
          t.bias = (v >> 3) & 1;
          t.alpha = (v >> 4) & 1 ? 1.0f : -0.75f;
          int pad = (v >> 5) % 3 == 0 ? 0 : (int) ((v >> 7) % 5) + 1;
          t.lda = (t.ta ? t.m : t.k) + pad;
          t.ldb = (t.tb ? t.k : t.n) + (pad + 1) % 3;
          t.ldc = t.n + pad;
          run_case (&t, true);
        }
  g_test_message ("%d shapes", count);
}

/* k over several k blocks, both thread splits (over N for wide C, over M for
 * narrow), and every option. */
static void
test_long_k (void)
{
  static const int mnk[][3]
      = { { 64, 300, 600 }, { 200, 49, 1000 }, { 37, 1, 777 },    { 130, 70, 513 },
          { 5, 500, 1300 }, { 300, 17, 300 },  { 512, 49, 4608 }, { 64, 3136, 64 } };
  for (size_t s = 0; s < G_N_ELEMENTS (mnk); s++)
    for (int v = 0; v < 16; v++)
      {
        Case t = { 0 };
        t.m = mnk[s][0];
        t.n = mnk[s][1];
        t.k = mnk[s][2];
        t.ta = v & 1;
        t.tb = (v >> 1) & 1;
        t.beta = (v >> 2) & 1 ? 1.0f : 0.0f;
        t.bias = (v >> 3) & 1;
        t.alpha = v % 3 == 0 ? 1.0f : 1.5f;
        t.lda = (t.ta ? t.m : t.k) + v % 3;
        t.ldb = (t.tb ? t.k : t.n) + v % 2;
        t.ldc = t.n + (v + 1) % 3;
        /* The biggest shape once per option pair only: the reference is slow. */
        if (t.k >= 4608 && v % 5 != 0)
          continue;
        run_case (&t, true);
      }
}

/* gz_sgemm's beta other than 0 and 1, and alpha = 0 (A and B then unread in
 * BLAS terms: C = beta·C). */
static void
test_sgemm_beta (void)
{
  static const float betas[] = { 0.5f, -2.0f };
  for (size_t i = 0; i < G_N_ELEMENTS (betas); i++)
    for (int v = 0; v < 4; v++)
      {
        Case t = { v & 1, (v >> 1) & 1, 70 + v, 90, 300, 0, 0, 0, 1.25f, betas[i], false };
        t.lda = t.ta ? t.m : t.k;
        t.ldb = t.tb ? t.k : t.n;
        t.ldc = t.n + 3;
        run_case (&t, false);
      }
  Case t = { false, false, 40, 50, 60, 60, 50, 50, 0.0f, 0.5f, false };
  run_case (&t, false);
}

/* k = 0: C = beta·C + bias; m or n = 0: nothing is touched. */
static void
test_empty (void)
{
  float c[6] = { 1, 2, 3, 4, 5, 6 }, bias[2] = { 10, 20 };
  GzGemmMatrix bm = { NULL, 3, false, 1.0f };
  gz_gemm (false, 2, 3, 0, NULL, 1, gz_gemm_pack_b_matrix, &bm, bias, 1.0f, c, 3);
  const float want1[6] = { 11, 12, 13, 24, 25, 26 };
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (c[i], ==, want1[i]);
  c[0] = NAN;
  gz_gemm (false, 2, 3, 0, NULL, 1, gz_gemm_pack_b_matrix, &bm, bias, 0.0f, c, 3);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (c[i], ==, bias[i / 3]);
  gz_gemm (false, 0, 3, 5, NULL, 1, gz_gemm_pack_b_matrix, &bm, bias, 0.0f, c, 3);
  gz_gemm (false, 2, 0, 5, NULL, 1, gz_gemm_pack_b_matrix, &bm, bias, 0.0f, c, 3);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (c[i], ==, bias[i / 3]);
}

/* The panel layout of gz-gemm.h, written out by hand: element (k0+kk, n0+j)
 * of op(B)·alpha at dst[(j / NR · kc + kk) · NR + j % NR], zeros past nc. */
static void
test_pack_layout (void)
{
  enum
  {
    K = 7,
    N = 75,
    LDB = 80
  };
  float b[K * LDB], bt[N * LDB];
  for (int p = 0; p < K; p++)
    for (int j = 0; j < N; j++)
      {
        b[p * LDB + j] = (float) (p * 100 + j);
        bt[j * LDB + p] = (float) (p * 100 + j);
      }
  const int k0 = 2, kc = 4, n0 = 3, nc = 70; /* 3 panels, the last with 6 columns */
  const int panels = (nc + GZ_GEMM_NR - 1) / GZ_GEMM_NR;
  for (int trans = 0; trans < 2; trans++)
    {
      GzGemmMatrix bm = { trans ? bt : b, LDB, trans, 2.0f };
      size_t total = (size_t) panels * kc * GZ_GEMM_NR;
      float *dst = g_new (float, total + 8);
      for (size_t i = 0; i < total + 8; i++)
        dst[i] = -1.0f;
      gz_gemm_pack_b_matrix (&bm, k0, kc, n0, nc, dst);
      for (int p = 0; p < panels; p++)
        for (int kk = 0; kk < kc; kk++)
          for (int j = 0; j < GZ_GEMM_NR; j++)
            {
              int col = p * GZ_GEMM_NR + j;
              float want = col < nc ? 2.0f * ((k0 + kk) * 100 + n0 + col) : 0.0f;
              g_assert_cmpfloat (dst[((size_t) p * kc + kk) * GZ_GEMM_NR + j], ==, want);
            }
      for (int i = 0; i < 8; i++) /* nothing written past the panels */
        g_assert_cmpfloat (dst[total + i], ==, -1.0f);
      g_free (dst);
    }
}

typedef struct
{
  const float *a, *b;
  float *c;
  int m, n, k;
} NestedJob;

/* Part i of the outer loop: one product of its own, run inline. */
static void
nested_part (long begin, long end, void *data)
{
  const NestedJob *nj = data;
  for (long i = begin; i < end; i++)
    {
      GzGemmMatrix bm = { nj->b, nj->n, false, 1.0f };
      gz_gemm (false, nj->m, nj->n, nj->k, nj->a + i * nj->m * nj->k, nj->k, gz_gemm_pack_b_matrix,
               &bm, NULL, 0.0f, nj->c + i * nj->m * nj->n, nj->n);
    }
}

/* gz_gemm called from inside a parallel region (as an operator splitting
 * images over threads does) runs inline, with every thread's own packing
 * buffer, and gives the same bits as called alone. */
static void
test_nested (void)
{
  enum
  {
    PARTS = 4,
    M = 40,
    N = 100,
    K = 300
  };
  float *a = g_new (float, PARTS *M *K), *b = g_new (float, K *N);
  float *c = g_new (float, PARTS *M *N), *want = g_new (float, PARTS *M *N);
  for (int i = 0; i < PARTS * M * K; i++)
    a[i] = frand ();
  for (int i = 0; i < K * N; i++)
    b[i] = frand ();
  NestedJob nj = { a, b, want, M, N, K };
  gz_set_threads (1);
  nested_part (0, PARTS, &nj);
  gz_set_threads (2);
  nj.c = c;
  gz_parallel_for (PARTS, 1, nested_part, &nj);
  g_assert_cmpmem (c, PARTS * M * N * sizeof (float), want, PARTS * M * N * sizeof (float));
  gz_set_threads (1);
  g_free (a);
  g_free (b);
  g_free (c);
  g_free (want);
}

/* The kernel family follows GAZE_CONV_ISA's cap. */
static void
test_isa (void)
{
  const char *cap = g_getenv ("GAZE_CONV_ISA"), *isa = gz_gemm_isa ();
  g_test_message ("GAZE_CONV_ISA=%s, kernel %s", cap ? cap : "(unset)", isa);
  if (g_strcmp0 (cap, "generic") == 0)
    g_assert_cmpstr (isa, ==, "generic");
  else if (g_strcmp0 (cap, "avx2") == 0)
    g_assert_true (strcmp (isa, "avx2") == 0 || strcmp (isa, "generic") == 0);
  else
    g_assert_true (strcmp (isa, "avx512") == 0 || strcmp (isa, "avx2") == 0
                   || strcmp (isa, "generic") == 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gemm/isa", test_isa);
  g_test_add_func ("/gemm/pack-layout", test_pack_layout);
  g_test_add_func ("/gemm/empty", test_empty);
  g_test_add_func ("/gemm/shapes", test_shapes);
  g_test_add_func ("/gemm/long-k", test_long_k);
  g_test_add_func ("/gemm/sgemm-beta", test_sgemm_beta);
  g_test_add_func ("/gemm/nested", test_nested);
  return g_test_run ();
}
