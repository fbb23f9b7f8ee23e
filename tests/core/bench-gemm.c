/* bench-gemm.c — timing only: gz_gemm against OpenBLAS on convolution-like shapes
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage: bench-gemm [threads [reps [M N K]]]. For each shape C = A·B (row-major,
 * beta 0), alternates gz_gemm (B packed by gz_gemm_pack_b_matrix) and
 * OpenBLAS's cblas_sgemm split over the engine's pool the way gz_sgemm did
 * before gz_gemm (column panels of 16, or row panels when M > N), and prints
 * the medians in GFLOP/s, and the share of gz_gemm's time that packing all
 * of B once (256 × 512 blocks) takes. Not a test: nothing is asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cblas.h>

#include "gaze-engine.h"
#include "gz-blas.h"
#include "gz-threads.h"
#include "gz-gemm.h"

typedef struct
{
  const char *what;
  int m, n, k;
} Shape;

static const Shape shapes[] = {
  { "r18 conv2 3x3", 64, 3136, 576 },
  { "r18 conv3 3x3", 128, 784, 1152 },
  { "r18 conv4 3x3", 256, 196, 2304 },
  { "r18 conv5 3x3", 512, 49, 4608 },
  { "r50 1x1 expand", 256, 3136, 64 },
  { "r50 1x1 last", 2048, 49, 512 },
  { "r50 1x1 reduce", 512, 49, 2048 },
  { "r18 stem 7x7", 64, 12544, 147 },
  { "fc", 1, 1000, 512 },
  { "fc batch 8", 8, 1000, 512 },
};

typedef struct
{
  int m, n, k;
  const float *a, *b;
  float *c;
  bool split_n;
} Job;

static void
blas_part (long begin, long end, void *data)
{
  const Job *j = data;
  int lo = (int) begin * 16, hi = (int) end * 16, full = j->split_n ? j->n : j->m;
  if (hi > full)
    hi = full;
  if (lo >= hi)
    return;
  if (j->split_n)
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, j->m, hi - lo, j->k, 1.0f, j->a, j->k,
                 j->b + lo, j->n, 0.0f, j->c + lo, j->n);
  else
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, hi - lo, j->n, j->k, 1.0f,
                 j->a + (size_t) lo * j->k, j->k, j->b, j->n, 0.0f, j->c + (size_t) lo * j->n,
                 j->n);
}

static void
run_blas (const Job *j)
{
  long parts = ((j->split_n ? j->n : j->m) + 15) / 16;
  gz_parallel_for (parts, 2.0 * j->m * j->n * j->k < 2e5 ? parts : 1, blas_part, (void *) j);
}

/* With one thread, the thread's CPU time: the machine is shared, and time
 * spent descheduled is not the kernel's. With more, wall time. */
static clockid_t clock_id = CLOCK_MONOTONIC;

static void
nothing (long begin, long end, void *data)
{
}

/* Wakes the pool's workers before a timed block: on a loaded machine a
 * sleeping worker pinned to a busy CPU can take milliseconds to run, which
 * would be charged to whichever GEMM came first after a pause. */
static void
wake_pool (void)
{
  gz_parallel_for (64, 1, nothing, NULL);
}

static double
now (void)
{
  struct timespec ts;
  clock_gettime (clock_id, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp_double (const void *x, const void *y)
{
  double a = *(const double *) x, b = *(const double *) y;
  return (a > b) - (a < b);
}

int
main (int argc, char **argv)
{
  int threads = argc > 1 ? atoi (argv[1]) : 1;
  int reps = argc > 2 ? atoi (argv[2]) : 21;
  if (reps < 1 || reps > 1000)
    reps = 21;
  gz_set_threads (threads);
  openblas_set_num_threads (1); /* as gz_sgemm runs it: our pool splits */
  if (threads == 1)
    clock_id = CLOCK_THREAD_CPUTIME_ID;
  printf ("gz_gemm kernel: %s, threads %d, %d reps (medians, GFLOP/s of %s time)\n", gz_gemm_isa (),
          threads, reps, threads == 1 ? "thread CPU" : "wall");
  printf ("%-16s %5s %6s %5s %9s %9s %7s %6s\n", "shape", "M", "N", "K", "gz_gemm", "openblas",
          "ratio", "pack%");
  float *pbuf = aligned_alloc (64, 256 * 512 * sizeof (float));
  Shape one = { "argv", 0, 0, 0 };
  if (argc > 5)
    {
      one.m = atoi (argv[3]);
      one.n = atoi (argv[4]);
      one.k = atoi (argv[5]);
      if (one.m < 1 || one.n < 1 || one.k < 1)
        return 2;
    }
  size_t n_shapes = argc > 5 ? 1 : sizeof shapes / sizeof shapes[0];
  for (size_t s = 0; s < n_shapes; s++)
    {
      const Shape *sh = argc > 5 ? &one : &shapes[s];
      size_t na = (size_t) sh->m * sh->k, nb = (size_t) sh->k * sh->n, nc = (size_t) sh->m * sh->n;
      float *a = malloc (na * sizeof (float)), *b = malloc (nb * sizeof (float));
      float *c = malloc (nc * sizeof (float));
      double *t_gz = malloc (reps * sizeof (double)), *t_bl = malloc (reps * sizeof (double));
      double *t_pk = malloc (reps * sizeof (double));
      if (!a || !b || !c || !t_gz || !t_bl || !t_pk || !pbuf)
        return 1;
      for (size_t i = 0; i < na; i++)
        a[i] = (float) ((i * 7919) % 1000) / 1000.0f - 0.5f;
      for (size_t i = 0; i < nb; i++)
        b[i] = (float) ((i * 104729) % 1000) / 1000.0f - 0.5f;
      double flop = 2.0 * sh->m * sh->n * sh->k;
      /* Enough inner calls that one timing is ≥ ~2 ms. */
      int inner = (int) (2e-3 * 100e9 / flop) + 1;
      GzGemmMatrix bm = { b, sh->n, false, 1.0f };
      Job j = { sh->m, sh->n, sh->k, a, b, c, sh->n >= sh->m };
      for (int w = 0; w < 2; w++) /* warm-up */
        {
          gz_gemm (false, sh->m, sh->n, sh->k, a, sh->k, gz_gemm_pack_b_matrix, &bm, NULL, 0.0f, c,
                   sh->n);
          run_blas (&j);
        }
      for (int r = 0; r < reps; r++)
        {
          wake_pool ();
          double t0 = now ();
          for (int i = 0; i < inner; i++)
            gz_gemm (false, sh->m, sh->n, sh->k, a, sh->k, gz_gemm_pack_b_matrix, &bm, NULL, 0.0f,
                     c, sh->n);
          double t1 = now ();
          wake_pool ();
          double t1b = now ();
          for (int i = 0; i < inner; i++)
            run_blas (&j);
          double t2 = now ();
          for (int i = 0; i < inner; i++)
            for (int n0 = 0; n0 < sh->n; n0 += 512)
              for (int k0 = 0; k0 < sh->k; k0 += 256)
                gz_gemm_pack_b_matrix (&bm, k0, sh->k - k0 < 256 ? sh->k - k0 : 256, n0,
                                       sh->n - n0 < 512 ? sh->n - n0 : 512, pbuf);
          double t3 = now ();
          t_gz[r] = (t1 - t0) / inner;
          t_bl[r] = (t2 - t1b) / inner;
          t_pk[r] = (t3 - t2) / inner;
        }
      qsort (t_gz, reps, sizeof (double), cmp_double);
      qsort (t_bl, reps, sizeof (double), cmp_double);
      qsort (t_pk, reps, sizeof (double), cmp_double);
      double g_gz = flop / t_gz[reps / 2] * 1e-9, g_bl = flop / t_bl[reps / 2] * 1e-9;
      printf ("%-16s %5d %6d %5d %9.1f %9.1f %7.2f %6.1f\n", sh->what, sh->m, sh->n, sh->k, g_gz,
              g_bl, g_gz / g_bl, 100.0 * t_pk[reps / 2] / t_gz[reps / 2]);
      free (a);
      free (b);
      free (c);
      free (t_gz);
      free (t_bl);
      free (t_pk);
    }
  free (pbuf);
  return 0;
}
