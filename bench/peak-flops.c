/* peak-flops.c — measures the machine's fp32 peak with a register-only FMA loop
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Each thread runs 12 independent chains of fused multiply-adds on the widest
 * vectors the CPU has (AVX-512, else AVX2+FMA, else SSE), enough to cover the
 * FMA latency on current cores, with no memory traffic. One FMA on a vector of
 * W floats counts 2W flops. Prints GFLOP/s for the given thread count (best of
 * five runs) and the instruction set used.
 * Usage: peak-flops [THREADS]
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum
{
  CHAINS = 12,
  ITERATIONS = 20000000
};

static volatile float sink;

#define FMA_LOOP(TYPE, SET1, FMA, LANES)                                                    \
  TYPE acc[CHAINS];                                                                         \
  TYPE a = SET1 (0.999999f), b = SET1 (1e-7f);                                              \
  for (int c = 0; c < CHAINS; c++)                                                          \
    acc[c] = SET1 ((float) c);                                                              \
  for (long i = 0; i < ITERATIONS; i++)                                                     \
    _Pragma ("GCC unroll 12") for (int c = 0; c < CHAINS; c++) acc[c] = FMA (acc[c], a, b); \
  float s = 0;                                                                              \
  for (int c = 0; c < CHAINS; c++)                                                          \
    s += ((float *) &acc[c])[0];                                                            \
  sink = s;                                                                                 \
  return 2.0 * LANES * CHAINS * (double) ITERATIONS;

__attribute__ ((target ("avx512f"))) static double
run_avx512 (void)
{
  FMA_LOOP (__m512, _mm512_set1_ps, _mm512_fmadd_ps, 16)
}

__attribute__ ((target ("avx2,fma"))) static double
run_avx2 (void)
{
  FMA_LOOP (__m256, _mm256_set1_ps, _mm256_fmadd_ps, 8)
}

static __m128
fma_sse (__m128 x, __m128 a, __m128 b)
{
  return _mm_add_ps (_mm_mul_ps (x, a), b);
}

static double
run_sse (void)
{
  FMA_LOOP (__m128, _mm_set1_ps, fma_sse, 4)
}

static double (*kernel) (void);

static void *
thread_main (void *p)
{
  *(double *) p = kernel ();
  return NULL;
}

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

int
main (int argc, char **argv)
{
  int threads = argc > 1 ? atoi (argv[1]) : 1;
  const char *isa;
  if (threads < 1 || threads > 256)
    threads = 1;
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f"))
    kernel = run_avx512, isa = "avx512";
  else if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    kernel = run_avx2, isa = "avx2+fma";
  else
    kernel = run_sse, isa = "sse";
  double best = 0;
  for (int run = 0; run < 5; run++)
    {
      pthread_t tid[256];
      double flops[256];
      double t0 = now ();
      for (int t = 0; t < threads; t++)
        pthread_create (&tid[t], NULL, thread_main, &flops[t]);
      double total = 0;
      for (int t = 0; t < threads; t++)
        {
          pthread_join (tid[t], NULL);
          total += flops[t];
        }
      double gflops = total / (now () - t0) / 1e9;
      if (gflops > best)
        best = gflops;
    }
  printf ("{\"gflops\": %.1f, \"threads\": %d, \"isa\": \"%s\"}\n", best, threads, isa);
  return 0;
}
