/* bench-winograd.c — Winograd 3×3 against the current im2col + gz_gemm convolution
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Timing only (not a test). For ResNet-18's 3×3 stride-1 layers (64@56²,
 * 128@28², 256@14², 512@7², pads 1) at batch 1 and 32, 1 and 2 threads:
 * the Conv operator as gz-op-conv.c runs it ("Conv op": implicit im2col
 * into gz_gemm, several small images per product), the same image by image
 * written out here ("im2col+gemm"), F(2×2,3×3) and F(4×4,3×3) with U made
 * beforehand ("cached") and per call. Speed-ups are against "Conv op" (once
 * the operator itself calls Winograd, turn that off for it to compare). Medians of alternating
 * runs, wall and process CPU time (the latter is steadier on a shared machine). Then each method's
 * error against a float64 direct convolution of batch 1 (He-scale weights,
 * ReLU'd normal inputs).
 *
 * Usage: bench-winograd [rounds [layer-index [batch]]] (GAZE_PIN_THREADS=1
 * recommended).
 */
#include <glib.h>
#include <sched.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gaze-engine.h"
#include "gz-blas.h"
#include "gz-gemm.h"
#include "kernels/gz-conv-pack.h"
#include "kernels/gz-winograd.h"
#include "ops-nn-test-util.h"

typedef struct
{
  int c, hw;
} Layer;

static const Layer layers[] = { { 64, 56 }, { 128, 28 }, { 256, 14 }, { 512, 7 } };

enum
{
  METHODS = 6
};
static const char *method_names[METHODS]
    = { "Conv op", "im2col+gemm", "F2 U cached", "F2 U per call", "F4 U cached", "F4 U per call" };

typedef struct
{
  int n, c, hw;
  const float *x, *w, *b, *u2, *u4;
  float *y;
  TNode *conv; /* the Conv operator, inputs and output wrapping the above */
  GzTensor *tin[3], *tout;
} Run;

static void
run_im2col (const Run *r)
{
  GzOpWindow win = { r->hw, r->hw, r->hw, r->hw, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 };
  long hw = (long) r->hw * r->hw;
  for (int n = 0; n < r->n; n++)
    {
      GzConvPack cp;
      gz_conv_pack_init (&cp, &win, r->x + (size_t) n * r->c * hw);
      gz_gemm (false, r->c, (int) hw, r->c * 9, r->w, r->c * 9, gz_conv_pack_b, &cp, r->b, 0.0f,
               r->y + (size_t) n * r->c * hw, (int) hw);
    }
}

static void
run_method (const Run *r, int method)
{
  /* BENCH_WINOGRAD_ONLY=k runs only method k (for profiling). */
  const char *only = getenv ("BENCH_WINOGRAD_ONLY");
  if (only != NULL && atoi (only) != method)
    return;
  if (method == 0)
    {
      GzError err = { 0 };
      const GzTensor *ins[3] = { r->tin[0], r->tin[1], r->tin[2] };
      GzTensor *const outs[1] = { r->tout };
      if (r->conv->node.op->forward (&r->conv->node, ins, outs, &err) != GZ_OK)
        {
          fprintf (stderr, "Conv: %s\n", err.message);
          exit (1);
        }
      return;
    }
  if (method == 1)
    {
      run_im2col (r);
      return;
    }
  int tile = method <= 3 ? 2 : 4;
  bool cached = method == 2 || method == 4;
  GzWinogradShape s = { r->n, r->c, r->hw, r->hw, r->c, 1, 1, 1, 1, tile };
  GzError err = { 0 };
  if (gz_winograd_conv (&s, r->x, r->w, cached ? (tile == 2 ? r->u2 : r->u4) : NULL, r->b, r->y,
                        &err)
      != GZ_OK)
    {
      fprintf (stderr, "winograd: %s\n", err.message);
      exit (1);
    }
}

static double
cpu_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
normal (void)
{
  double u1 = g_random_double (), u2 = g_random_double ();
  return sqrt (-2 * log (u1 + 1e-300)) * cos (2 * G_PI * u2);
}

int
main (int argc, char **argv)
{
  int rounds = argc > 1 ? atoi (argv[1]) : 7;
  g_random_set_seed (7);
  /* With GAZE_PIN_THREADS=1 the pool pins the calling thread to one CPU, and
   * a later gz_set_threads sizes the new pool from that narrowed mask (all
   * workers on the same CPU): restore the original mask before each resize. */
  cpu_set_t all_cpus;
  bool have_mask = sched_getaffinity (0, sizeof all_cpus, &all_cpus) == 0;
  printf ("gz_gemm kernels: %s; rounds %d (medians)\n", gz_gemm_isa (), rounds);
  for (unsigned li = 0; li < G_N_ELEMENTS (layers); li++)
    {
      if (argc > 2 && atoi (argv[2]) != (int) li)
        continue;
      int c = layers[li].c, hw = layers[li].hw;
      size_t nw = (size_t) c * c * 9;
      float *w = g_new (float, nw), *b = g_new (float, c);
      for (size_t i = 0; i < nw; i++)
        w[i] = (float) (normal () * sqrt (2.0 / (9.0 * c)));
      for (int i = 0; i < c; i++)
        b[i] = (float) (0.1 * normal ());
      GzWinogradShape s2 = { 1, c, hw, hw, c, 1, 1, 1, 1, 2 }, s4 = s2;
      s4.tile = 4;
      float *u2 = g_new (float, gz_winograd_u_floats (&s2));
      float *u4 = g_new (float, gz_winograd_u_floats (&s4));
      gz_winograd_transform_weights (&s2, w, u2);
      gz_winograd_transform_weights (&s4, w, u4);

      for (int batch = 1; batch <= 32; batch += 31)
        {
          if (argc > 3 && atoi (argv[3]) != batch)
            continue;
          size_t nx = (size_t) batch * c * hw * hw;
          float *x = g_new (float, nx), *y = g_new (float, nx);
          for (size_t i = 0; i < nx; i++)
            x[i] = (float) fmax (0.0, normal ());
          /* The operator's tensors: inputs copied from x, w, b; y its own. */
          TNode conv;
          tn_init (&conv, "Conv", 3, 1, 13);
          tn_ints (&conv, "kernel_shape", 2, (int64_t[]){ 3, 3 });
          tn_ints (&conv, "pads", 4, (int64_t[]){ 1, 1, 1, 1 });
          GzTensor *tin[3] = {
            tn_tensor (4, (int64_t[]){ batch, c, hw, hw }),
            tn_tensor (4, (int64_t[]){ c, c, 3, 3 }),
            tn_tensor (1, (int64_t[]){ c }),
          };
          memcpy (tin[0]->data, x, nx * sizeof (float));
          memcpy (tin[1]->data, w, nw * sizeof (float));
          memcpy (tin[2]->data, b, (size_t) c * sizeof (float));
          GzTensor *tout = tn_forward (&conv, tin);
          Run r = { batch, c, hw, x, w, b, u2, u4, y, &conv, { tin[0], tin[1], tin[2] }, tout };
          double gflop = 2.0 * c * c * 9.0 * hw * hw * batch * 1e-9;
          for (int threads = 1; threads <= 2; threads++)
            {
              if (have_mask)
                sched_setaffinity (0, sizeof all_cpus, &all_cpus);
              gz_set_threads (threads);
              int reps = batch == 1 ? (int) fmax (1, 0.02 / (gflop / 200.0)) : 1;
              double t[METHODS][64], tc[METHODS][64];
              for (int m = 0; m < METHODS; m++)
                run_method (&r, m); /* warm-up */
              for (int k = 0; k < rounds && k < 64; k++)
                for (int m = 0; m < METHODS; m++)
                  {
                    gint64 t0 = g_get_monotonic_time ();
                    double c0 = cpu_ms ();
                    for (int i = 0; i < reps; i++)
                      run_method (&r, m);
                    t[m][k] = (g_get_monotonic_time () - t0) * 1e-3 / reps;
                    tc[m][k] = (cpu_ms () - c0) / reps;
                  }
              double base = 0, base_cpu = 0;
              for (int m = 0; m < METHODS; m++)
                {
                  qsort (t[m], rounds, sizeof (double), cmp_double);
                  qsort (tc[m], rounds, sizeof (double), cmp_double);
                  double med = t[m][rounds / 2], medc = tc[m][rounds / 2];
                  if (m == 0)
                    base = med, base_cpu = medc;
                  printf ("%3d@%2d² batch %2d threads %d  %-14s wall %8.3f ms %4.0f GFLOP/s x%.2f"
                          "  cpu %8.3f ms x%.2f\n",
                          c, hw, batch, threads, method_names[m], med, gflop / (med * 1e-3),
                          base / med, medc, base_cpu / medc);
                }
            }
          if (batch == 1)
            {
              /* Errors against a float64 direct convolution. */
              double *ref = g_new (double, nx), ymax = 0;
              for (int mo = 0; mo < c; mo++)
                for (int oy = 0; oy < hw; oy++)
                  for (int ox = 0; ox < hw; ox++)
                    {
                      double sum = b[mo];
                      for (int ci = 0; ci < c; ci++)
                        for (int i = 0; i < 3; i++)
                          for (int j = 0; j < 3; j++)
                            {
                              int iy = oy - 1 + i, ix = ox - 1 + j;
                              if (iy >= 0 && iy < hw && ix >= 0 && ix < hw)
                                sum += (double) x[((size_t) ci * hw + iy) * hw + ix]
                                    * w[((size_t) mo * c + ci) * 9 + i * 3 + j];
                            }
                      ref[((size_t) mo * hw + oy) * hw + ox] = sum;
                      ymax = fmax (ymax, fabs (sum));
                    }
              for (int m = 0; m < METHODS; m += m <= 1 ? 1 : 2)
                {
                  run_method (&r, m);
                  const float *ym = m == 0 ? (const float *) tout->data : y;
                  double mx = 0, mrel = 0;
                  for (size_t i = 0; i < nx; i++)
                    {
                      double e = fabs (ym[i] - ref[i]);
                      mx = fmax (mx, e);
                      mrel = fmax (mrel, e / fmax (1.0, fabs (ref[i])));
                    }
                  printf ("%3d@%2d² error %-14s max abs %.3g  max abs/max|y| %.3g  "
                          "max abs/max(1,|y|) %.3g  (max|y| %.3g)\n",
                          c, hw, method_names[m], mx, mx / ymax, mrel, ymax);
                }
              g_free (ref);
            }
          for (int k = 0; k < 3; k++)
            gz_tensor_free (tin[k]);
          gz_tensor_free (tout);
          tn_clear (&conv);
          g_free (x);
          g_free (y);
        }
      g_free (w), g_free (b), g_free (u2), g_free (u4);
    }
  return 0;
}
