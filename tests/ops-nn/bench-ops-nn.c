/* bench-ops-nn.c — timing of Conv forward (with and without a tuning switch) and input gradient
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Not a test. For ResNet-18/50 layers (and a few others) at 1 and 2 threads:
 * the forward with Conv's tuning switches on ("on") and with one of them
 * off ("off": winograd, the default, or batch for image-by-image products on
 * small planes), run alternately and reported as medians, plus the median
 * input-gradient time. Run:
 * build/tests/ops-nn/bench-ops-nn [repeats] [layer-substring] [winograd|batch]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ops-nn-test-util.h"
#include "gz-blas.h"

typedef struct
{
  const char *label;
  int n, c, h, w, m, k, s, p, group;
} Layer;

static const Layer layers[] = {
  { "r18 conv1 7x7/2 3->64 @224", 1, 3, 224, 224, 64, 7, 2, 3, 1 },
  { "r18 3x3 64->64 @56", 1, 64, 56, 56, 64, 3, 1, 1, 1 },
  { "r18 3x3/2 64->128 @56", 1, 64, 56, 56, 128, 3, 2, 1, 1 },
  { "r18 1x1/2 64->128 @56", 1, 64, 56, 56, 128, 1, 2, 0, 1 },
  { "r18 3x3 128->128 @28", 1, 128, 28, 28, 128, 3, 1, 1, 1 },
  { "r18 3x3 256->256 @14", 1, 256, 14, 14, 256, 3, 1, 1, 1 },
  { "r18 3x3 512->512 @7", 1, 512, 7, 7, 512, 3, 1, 1, 1 },
  { "r50 1x1 64->256 @56", 1, 64, 56, 56, 256, 1, 1, 0, 1 },
  { "r50 1x1 256->64 @56", 1, 256, 56, 56, 64, 1, 1, 0, 1 },
  { "r50 1x1/2 256->512 @56", 1, 256, 56, 56, 512, 1, 2, 0, 1 },
  { "r50 1x1 1024->256 @14", 1, 1024, 14, 14, 256, 1, 1, 0, 1 },
  { "r50 1x1 512->2048 @7", 1, 512, 7, 7, 2048, 1, 1, 0, 1 },
  { "r18 3x3 512->512 @7 batch 32", 32, 512, 7, 7, 512, 3, 1, 1, 1 },
  { "r18 3x3 256->256 @14 batch 32", 32, 256, 14, 14, 256, 3, 1, 1, 1 },
  { "r18 3x3 128->128 @28 batch 32", 32, 128, 28, 28, 128, 3, 1, 1, 1 },
  { "r50 1x1 512->2048 @7 batch 32", 32, 512, 7, 7, 2048, 1, 1, 0, 1 },
  { "grouped 3x3 g32 128->128 @28", 1, 128, 28, 28, 128, 3, 1, 1, 32 },
  { "dw 3x3 144 @56", 1, 144, 56, 56, 144, 3, 1, 1, 144 },
};

static double
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *v, int n)
{
  qsort (v, (size_t) n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int
main (int argc, char **argv)
{
  int reps = argc > 1 ? atoi (argv[1]) : 9;
  const char *only = argc > 2 && argv[2][0] != '\0' ? argv[2] : NULL;
  const GzConvTuning on = gz_conv_tuning ();
  GzConvTuning off = on;
  const char *sw = argc > 3 ? argv[3] : "winograd";
  if (strcmp (sw, "winograd") == 0)
    off.winograd = false;
  else if (strcmp (sw, "batch") == 0)
    off.batch = false;
  else
    {
      fprintf (stderr, "the third argument is winograd or batch\n");
      return 2;
    }
  if (reps < 1)
    reps = 1;
  double *t_old = calloc ((size_t) reps, sizeof (double));
  double *t_new = calloc ((size_t) reps, sizeof (double));
  double *t_bwd = calloc ((size_t) reps, sizeof (double));
  printf ("%-32s %3s %9s %9s %6s %8s %9s\n", "layer", "thr", "off ms", "on ms", "off/on", "GFLOP/s",
          "bwd-dX ms");
  for (size_t li = 0; li < G_N_ELEMENTS (layers); li++)
    {
      const Layer *l = &layers[li];
      if (only != NULL && strstr (l->label, only) == NULL)
        continue;
      TNode t = { 0 };
      GzError err = { 0 };
      tn_init (&t, "Conv", 3, 1, 13);
      tn_ints (&t, "kernel_shape", 2, (int64_t[]){ l->k, l->k });
      tn_ints (&t, "strides", 2, (int64_t[]){ l->s, l->s });
      tn_ints (&t, "pads", 4, (int64_t[]){ l->p, l->p, l->p, l->p });
      tn_int (&t, "group", l->group);
      GzTensor *in[3] = {
        tn_uniform (4, (int64_t[]){ l->n, l->c, l->h, l->w }, -1, 1),
        tn_uniform (4, (int64_t[]){ l->m, l->c / l->group, l->k, l->k }, -1, 1),
        tn_uniform (1, (int64_t[]){ l->m }, -1, 1),
      };
      for (int thr = 1; thr <= 2; thr++)
        {
          gz_set_threads (thr);
          GzTensor *y = tn_forward (&t, in); /* warm-up, and the output buffer */
          const GzTensor *ins[3] = { in[0], in[1], in[2] }, *outs[1] = { y }, *douts[1] = { y };
          GzTensor *const youts[1] = { y };
          GzTensor *dx = tn_tensor (4, in[0]->dims);
          GzTensor *din[3] = { dx, NULL, NULL };
          gz_conv_set_tuning (off);
          t.node.op->forward (&t.node, ins, youts, &err); /* warm the other path too */
          for (int r = 0; r < reps; r++)
            {
              /* Alternate, so that a change of machine load hits both alike. */
              for (int path = 0; path < 2; path++)
                {
                  bool old = (r + path) % 2 == 0;
                  gz_conv_set_tuning (old ? off : on);
                  double t0 = now_ms ();
                  t.node.op->forward (&t.node, ins, youts, &err);
                  (old ? t_old : t_new)[r] = now_ms () - t0;
                }
              double t0 = now_ms ();
              t.node.op->backward (&t.node, ins, outs, douts, din, GZ_RELU_GRADIENT, &err);
              t_bwd[r] = now_ms () - t0;
            }
          gz_conv_set_tuning (on);
          int64_t p = y->dims[2] * y->dims[3], kk = (int64_t) l->c / l->group * l->k * l->k;
          double flops = 2.0 * l->n * (double) l->m * (double) kk * (double) p;
          double mo = median (t_old, reps), mn = median (t_new, reps);
          printf ("%-32s %3d %9.3f %9.3f %6.2f %8.1f %9.3f\n", l->label, thr, mo, mn, mo / mn,
                  flops / mn / 1e6, median (t_bwd, reps));
          fflush (stdout);
          gz_tensor_free (dx);
          gz_tensor_free (y);
        }
      for (int k = 0; k < 3; k++)
        gz_tensor_free (in[k]);
      tn_clear (&t);
    }
  gz_set_threads (1);
  free (t_old);
  free (t_new);
  free (t_bwd);
  return 0;
}
