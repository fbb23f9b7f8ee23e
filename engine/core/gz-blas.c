/* gz-blas.c — the one place that calls BLAS and owns the engine's thread count
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <pthread.h>
#include <stdatomic.h>
#include <cblas.h>

#include "gaze-engine.h"
#include "gz-blas.h"

static atomic_int engine_threads = 1;

void
gz_set_threads (int n)
{
  if (n < 1)
    n = 1;
  atomic_store (&engine_threads, n);
  openblas_set_num_threads (n);
}

int
gz_get_threads (void)
{
  return atomic_load (&engine_threads);
}

void
gz_sgemm (bool trans_a, bool trans_b, int m, int n, int k, float alpha,
          const float *a, int lda, const float *b, int ldb, float beta,
          float *c, int ldc)
{
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
               trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb,
               beta, c, ldc);
}

typedef struct
{
  GzRangeFn fn;
  void *data;
  long begin, end;
} RangeJob;

static void *
range_job_run (void *p)
{
  RangeJob *job = p;
  job->fn (job->begin, job->end, job->data);
  return NULL;
}

void
gz_parallel_for (long n, long min_chunk, GzRangeFn fn, void *data)
{
  enum { MAX_THREADS = 64 };
  int threads = gz_get_threads ();
  if (threads > MAX_THREADS)
    threads = MAX_THREADS;
  if (min_chunk < 1)
    min_chunk = 1;
  if (threads > n / min_chunk)
    threads = (int) (n / min_chunk);
  if (threads <= 1)
    {
      if (n > 0)
        fn (0, n, data);
      return;
    }
  RangeJob jobs[MAX_THREADS];
  pthread_t tids[MAX_THREADS];
  bool started[MAX_THREADS] = { false };
  for (int t = 0; t < threads; t++)
    {
      jobs[t] = (RangeJob) { fn, data, n * t / threads, n * (t + 1) / threads };
      if (t > 0)
        started[t] = pthread_create (&tids[t], NULL, range_job_run, &jobs[t]) == 0;
    }
  range_job_run (&jobs[0]);
  for (int t = 1; t < threads; t++)
    {
      if (started[t])
        pthread_join (tids[t], NULL);
      else
        range_job_run (&jobs[t]); /* could not start a thread: do it here */
    }
}
