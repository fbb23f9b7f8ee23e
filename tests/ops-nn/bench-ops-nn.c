/* bench-ops-nn.c — timing of Conv (forward and input gradient) on typical CNN layers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Not a test: prints milliseconds and GFLOP/s per layer for 1 and 2 threads,
 * next to one bare gz_sgemm of the same size (the im2col/packing overhead is
 * the difference). Run: build/tests/ops-nn/bench-ops-nn [repeats]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ops-nn-test-util.h"
#include "gz-blas.h"

typedef struct
{
  const char *label;
  int c, h, w, m, k, s, p, group;
} Layer;

static const Layer layers[] = {
  { "resnet conv1 7x7/2 3->64 @224", 3, 224, 224, 64, 7, 2, 3, 1 },
  { "3x3 64->64 @56", 64, 56, 56, 64, 3, 1, 1, 1 },
  { "3x3/2 128->256 @28", 128, 28, 28, 256, 3, 2, 1, 1 },
  { "1x1 256->64 @56", 256, 56, 56, 64, 1, 1, 0, 1 },
  { "dw 3x3 144 @56", 144, 56, 56, 144, 3, 1, 1, 144 },
  { "dw 3x3/2 96 @112", 96, 112, 112, 96, 3, 2, 1, 96 },
  { "cifar 3x3 16->16 @32", 16, 32, 32, 16, 3, 1, 1, 1 },
};

static double
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
main (int argc, char **argv)
{
  int reps = argc > 1 ? atoi (argv[1]) : 5;
  printf ("%-32s %3s %10s %8s %10s %8s %10s\n", "layer", "thr", "fwd ms", "GFLOP/s", "bwd-dX ms",
          "GFLOP/s", "sgemm ms");
  for (size_t li = 0; li < G_N_ELEMENTS (layers); li++)
    {
      const Layer *l = &layers[li];
      TNode t;
      GzError err = { 0 };
      tn_init (&t, "Conv", 3, 1, 13);
      tn_ints (&t, "kernel_shape", 2, (int64_t[]) { l->k, l->k });
      tn_ints (&t, "strides", 2, (int64_t[]) { l->s, l->s });
      tn_ints (&t, "pads", 4, (int64_t[]) { l->p, l->p, l->p, l->p });
      tn_int (&t, "group", l->group);
      GzTensor *in[3] = {
        tn_uniform (4, (int64_t[]) { 1, l->c, l->h, l->w }, -1, 1),
        tn_uniform (4, (int64_t[]) { l->m, l->c / l->group, l->k, l->k }, -1, 1),
        tn_uniform (1, (int64_t[]) { l->m }, -1, 1),
      };
      for (int thr = 1; thr <= 2; thr++)
        {
          gz_set_threads (thr);
          GzTensor *y = tn_forward (&t, in); /* warm-up, and the output buffer */
          const GzTensor *ins[3] = { in[0], in[1], in[2] }, *outs[1] = { y }, *douts[1] = { y };
          GzTensor *const youts[1] = { y };
          GzTensor *dx = tn_tensor (4, in[0]->dims);
          GzTensor *din[3] = { dx, NULL, NULL };
          double t0 = now_ms ();
          for (int r = 0; r < reps; r++)
            t.node.op->forward (&t.node, ins, youts, &err);
          double fwd = (now_ms () - t0) / reps;
          t0 = now_ms ();
          for (int r = 0; r < reps; r++)
            t.node.op->backward (&t.node, ins, outs, douts, din, GZ_RELU_GRADIENT, &err);
          double bwd = (now_ms () - t0) / reps;
          int64_t p = y->dims[2] * y->dims[3], kk = (int64_t) l->c / l->group * l->k * l->k;
          double flops = 2.0 * (double) l->m * (double) kk * (double) p;
          /* The same product as one bare GEMM (dense layers only). */
          double gemm = 0.0;
          if (l->group == 1)
            {
              float *a = calloc ((size_t) (l->m * kk), 4), *b = calloc ((size_t) (kk * p), 4),
                    *c = calloc ((size_t) (l->m * p), 4);
              t0 = now_ms ();
              for (int r = 0; r < reps; r++)
                gz_sgemm (false, false, l->m, (int) p, (int) kk, 1.0f, a, (int) kk, b, (int) p,
                          0.0f, c, (int) p);
              gemm = (now_ms () - t0) / reps;
              free (a);
              free (b);
              free (c);
            }
          printf ("%-32s %3d %10.2f %8.1f %10.2f %8.1f %10.2f\n", l->label, thr, fwd,
                  flops / fwd / 1e6, bwd, flops / bwd / 1e6, gemm);
          gz_tensor_free (dx);
          gz_tensor_free (y);
        }
      for (int k = 0; k < 3; k++)
        gz_tensor_free (in[k]);
      tn_clear (&t);
    }
  gz_set_threads (1);
  return 0;
}
