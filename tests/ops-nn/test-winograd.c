/* test-winograd.c — Winograd 3×3 convolution against a float64 direct convolution
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * For F(2×2,3×3) and F(4×4,3×3), over channel counts 1…65, sizes 1×1…56×56,
 * symmetric and asymmetric pads, batches 1 and 3, with and without bias:
 * every output must be within tol · (‖w[m]‖₁ ‖x[n]‖∞ + |b|) of the direct sum
 * computed here in double (tol: F(2) 5e-7, F(4) 1e-5; measured maxima 1.2e-7
 * and 2.3e-6). The same call with 1 and 2 threads, and with U
 * made beforehand, must give bitwise the same y.
 */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "gaze-engine.h"
#include "kernels/gz-winograd.h"

typedef struct
{
  int n, c, m, h, w, pt, pl, pb, pr;
  bool bias;
} Case;

static guint32 rng_state = 12345;

static float
rnd (void)
{
  rng_state = rng_state * 1664525u + 1013904223u;
  return (float) ((rng_state >> 8) * (1.0 / 16777216.0));
}

/* He-scale weights (std sqrt(2 / 9C)), ReLU'd inputs, as in a ResNet. */
static void
fill (const Case *k, float *x, float *w, float *b)
{
  size_t nx = (size_t) k->n * k->c * k->h * k->w, nw = (size_t) k->m * k->c * 9;
  for (size_t i = 0; i < nx; i++)
    {
      float v = 2.0f * rnd () - 1.0f;
      x[i] = v > 0 ? 2.0f * v : 0.0f;
    }
  float sc = sqrtf (2.0f / (9.0f * k->c)) * 1.7320508f;
  for (size_t i = 0; i < nw; i++)
    w[i] = sc * (2.0f * rnd () - 1.0f);
  for (int i = 0; i < k->m; i++)
    b[i] = 0.5f * (2.0f * rnd () - 1.0f);
}

/* Direct convolution in double. mag gets the scale the error is measured
 * against: ‖w[mo]‖₁ · max|x[n]| + |b| — a tile's transform mixes pixels
 * outside an output's own window, so Σ|w||x| over the window alone can be
 * 0 (ReLU'd zeros) where Winograd rightly leaves a rounding residue. */
static void
direct (const Case *k, const float *x, const float *w, const float *b, double *y, double *mag)
{
  int oh = k->h + k->pt + k->pb - 2, ow = k->w + k->pl + k->pr - 2;
  double *xmax = g_new0 (double, k->n), *w1 = g_new0 (double, k->m);
  for (size_t i = 0; i < (size_t) k->n * k->c * k->h * k->w; i++)
    xmax[i / ((size_t) k->c * k->h * k->w)]
        = fmax (xmax[i / ((size_t) k->c * k->h * k->w)], fabs (x[i]));
  for (size_t i = 0; i < (size_t) k->m * k->c * 9; i++)
    w1[i / ((size_t) k->c * 9)] += fabs (w[i]);
  for (int n = 0; n < k->n; n++)
    for (int mo = 0; mo < k->m; mo++)
      for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
          {
            double s = k->bias ? b[mo] : 0.0, a = k->bias ? fabs (b[mo]) : 0.0;
            a += w1[mo] * xmax[n];
            for (int c = 0; c < k->c; c++)
              for (int i = 0; i < 3; i++)
                {
                  int iy = oy - k->pt + i;
                  if (iy < 0 || iy >= k->h)
                    continue;
                  for (int j = 0; j < 3; j++)
                    {
                      int ix = ox - k->pl + j;
                      if (ix < 0 || ix >= k->w)
                        continue;
                      double xv = x[((size_t) (n * k->c + c) * k->h + iy) * k->w + ix];
                      double wv = w[((size_t) mo * k->c + c) * 9 + i * 3 + j];
                      s += xv * wv;
                    }
                }
            size_t o = ((size_t) (n * k->m + mo) * oh + oy) * ow + ox;
            y[o] = s;
            mag[o] = a;
          }
  g_free (xmax);
  g_free (w1);
}

static double worst[5]; /* by tile: max err / (Σ|w||x| + |b|) */

static void
check_case (const Case *k, int tile)
{
  int oh = k->h + k->pt + k->pb - 2, ow = k->w + k->pl + k->pr - 2;
  size_t nx = (size_t) k->n * k->c * k->h * k->w, ny = (size_t) k->n * k->m * oh * ow;
  float *x = g_new (float, nx), *w = g_new (float, (size_t) k->m * k->c * 9);
  float *b = g_new (float, k->m);
  float *y1 = g_new0 (float, ny), *y2 = g_new0 (float, ny), *y3 = g_new0 (float, ny);
  double *ref = g_new (double, ny), *mag = g_new (double, ny);
  fill (k, x, w, b);
  direct (k, x, w, b, ref, mag);

  GzWinogradShape s = { k->n, k->c, k->h, k->w, k->m, k->pt, k->pl, k->pb, k->pr, tile };
  GzError err = { 0 };
  gz_set_threads (1);
  g_assert_cmpint (gz_winograd_conv (&s, x, w, NULL, k->bias ? b : NULL, y1, &err), ==, GZ_OK);
  gz_set_threads (2);
  g_assert_cmpint (gz_winograd_conv (&s, x, w, NULL, k->bias ? b : NULL, y2, &err), ==, GZ_OK);
  size_t nu = gz_winograd_u_floats (&s);
  g_assert_cmpuint (nu, ==, (size_t) (tile + 2) * (tile + 2) * k->m * k->c);
  float *u = g_new (float, nu);
  gz_winograd_transform_weights (&s, w, u);
  g_assert_cmpint (gz_winograd_conv (&s, x, NULL, u, k->bias ? b : NULL, y3, &err), ==, GZ_OK);

  double tol = tile == 2 ? 5e-7 : 1e-5, mx = 0;
  for (size_t i = 0; i < ny; i++)
    {
      double e = fabs (y1[i] - ref[i]) / (mag[i] > 1e-30 ? mag[i] : 1e-30);
      if (mag[i] == 0)
        e = y1[i] == 0 ? 0 : INFINITY; /* a zero filter or image must give exact zeros */
      if (e > mx)
        mx = e;
      if (e > tol)
        g_error ("tile %d n%d c%d m%d %dx%d pads %d,%d,%d,%d: y[%zu] = %.9g, direct %.9g "
                 "(rel. to ‖w‖₁‖x‖∞ %.3g > %.1g)",
                 tile, k->n, k->c, k->m, k->h, k->w, k->pt, k->pl, k->pb, k->pr, i, y1[i], ref[i],
                 e, tol);
    }
  if (mx > worst[tile])
    worst[tile] = mx;
  g_assert_true (memcmp (y1, y2, ny * sizeof (float)) == 0);
  g_assert_true (memcmp (y2, y3, ny * sizeof (float)) == 0);
  g_free (x), g_free (w), g_free (b), g_free (y1), g_free (y2), g_free (y3), g_free (ref);
  g_free (mag), g_free (u);
}

static const int chans[] = { 1, 3, 16, 64, 65 };
static const int sizes[][2] = { { 1, 1 }, { 2, 3 }, { 7, 7 }, { 8, 8 }, { 15, 17 } };
static const int pads[][4] = { { 0, 0, 0, 0 }, { 1, 1, 1, 1 }, { 0, 1, 1, 0 }, { 1, 0, 0, 1 } };

static void
run_grid (int tile)
{
  int i = 0;
  for (unsigned ci = 0; ci < G_N_ELEMENTS (chans); ci++)
    for (unsigned mi = 0; mi < G_N_ELEMENTS (chans); mi++)
      for (unsigned si = 0; si < G_N_ELEMENTS (sizes); si++, i++)
        {
          const int *p = pads[i % G_N_ELEMENTS (pads)];
          Case k = { 1 + 2 * (i / 4 % 2),
                     chans[ci],
                     chans[mi],
                     sizes[si][0],
                     sizes[si][1],
                     p[0],
                     p[1],
                     p[2],
                     p[3],
                     i % 3 != 0 };
          if (k.h + k.pt + k.pb < 3 || k.w + k.pl + k.pr < 3)
            {
              /* 1×1 and 2×3 need pads for a 3×3 window: use 1 all round. */
              k.pt = k.pl = k.pb = k.pr = 1;
            }
          check_case (&k, tile);
        }
  /* Larger images: several blocks, blocks split over threads, tile edges. */
  static const Case big[] = {
    { 1, 16, 16, 14, 14, 1, 1, 1, 1, true },
    { 3, 64, 65, 14, 14, 0, 1, 1, 0, true },
    { 3, 65, 64, 15, 17, 1, 1, 1, 1, false },
    { 1, 16, 64, 56, 56, 1, 1, 1, 1, true },
    { 3, 3, 16, 56, 56, 1, 1, 1, 1, true },
    { 1, 64, 16, 56, 56, 0, 0, 0, 0, false },
    { 2, 64, 64, 56, 56, 1, 1, 1, 1, true },
    { 2, 17, 33, 9, 6, 3, 0, 5, 2, true }, /* pads wider than a tile */
  };
  for (unsigned b = 0; b < G_N_ELEMENTS (big); b++)
    check_case (&big[b], tile);
  g_test_message ("F(%dx%d,3x3): max |err| / (|w|_1 |x|_inf + |b|) = %.3g", tile, tile,
                  worst[tile]);
}

static void
test_f2 (void)
{
  run_grid (2);
}

static void
test_f4 (void)
{
  run_grid (4);
}

/* Small budgets (env, read per call): several output-channel chunks with U
 * made per chunk, V kept across chunks or made again, many blocks. */
static void
test_chunks (void)
{
  static const Case cs[] = {
    { 3, 64, 65, 14, 14, 1, 1, 1, 1, true },
    { 2, 16, 100, 15, 17, 0, 1, 1, 0, true },
    { 1, 65, 29, 8, 8, 1, 1, 1, 1, false },
  };
  static const char *keep[] = { "1", "100000" };
  g_setenv ("GAZE_WINOGRAD_U_KB", "40", TRUE);
  g_setenv ("GAZE_WINOGRAD_BLOCK_KB", "64", TRUE);
  for (int tile = 2; tile <= 4; tile += 2)
    for (unsigned kv = 0; kv < G_N_ELEMENTS (keep); kv++)
      {
        g_setenv ("GAZE_WINOGRAD_KEEP_KB", keep[kv], TRUE);
        for (unsigned i = 0; i < G_N_ELEMENTS (cs); i++)
          check_case (&cs[i], tile);
      }
  g_unsetenv ("GAZE_WINOGRAD_U_KB");
  g_unsetenv ("GAZE_WINOGRAD_BLOCK_KB");
  g_unsetenv ("GAZE_WINOGRAD_KEEP_KB");
}

static void
test_applies (void)
{
  GzWinogradShape s = { 1, 64, 56, 56, 64, 1, 1, 1, 1, 0 };
  g_assert_true (gz_winograd_applies (&s, 3, 3, 1, 1, 1, 1, 1, false));
  g_assert_false (gz_winograd_applies (&s, 3, 3, 2, 2, 1, 1, 1, false));
  g_assert_false (gz_winograd_applies (&s, 3, 3, 1, 1, 2, 2, 1, false));
  g_assert_false (gz_winograd_applies (&s, 3, 3, 1, 1, 1, 1, 2, false));
  g_assert_false (gz_winograd_applies (&s, 5, 5, 1, 1, 1, 1, 1, false));
  /* ResNet-18's 3×3 layers: measured wins (bench-winograd) apply, the
   * batch-1 losses do not. */
  static const struct
  {
    int c, hw, n;
    bool cached, applies;
    int tile;
  } rn[] = {
    { 64, 56, 1, false, true, 4 },   { 128, 28, 1, false, true, 4 },
    { 256, 14, 1, false, false, 2 }, { 256, 14, 1, true, true, 2 },
    { 512, 7, 1, true, false, 2 },   { 64, 56, 32, false, true, 4 },
    { 128, 28, 32, false, true, 4 }, { 256, 14, 32, false, true, 4 },
    { 512, 7, 32, false, true, 4 },
  };
  for (unsigned i = 0; i < G_N_ELEMENTS (rn); i++)
    {
      GzWinogradShape r = { rn[i].n, rn[i].c, rn[i].hw, rn[i].hw, rn[i].c, 1, 1, 1, 1, 0 };
      g_assert_cmpint (gz_winograd_applies (&r, 3, 3, 1, 1, 1, 1, 1, rn[i].cached), ==,
                       rn[i].applies);
      g_assert_cmpint (gz_winograd_tile (&r), ==, rn[i].tile);
    }
  GzWinogradShape few = { 1, 16, 56, 56, 16, 1, 1, 1, 1, 0 };
  g_assert_false (gz_winograd_applies (&few, 3, 3, 1, 1, 1, 1, 1, true));
  GzWinogradShape tiny = { 1, 64, 1, 1, 64, 0, 0, 0, 0, 0 };
  g_assert_false (gz_winograd_applies (&tiny, 3, 3, 1, 1, 1, 1, 1, false));
  GzError err = { 0 };
  float one = 1;
  g_assert_cmpint (gz_winograd_conv (&tiny, &one, &one, NULL, NULL, &one, &err), ==,
                   GZ_ERR_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/winograd/f2x2", test_f2);
  g_test_add_func ("/winograd/f4x4", test_f4);
  g_test_add_func ("/winograd/chunks", test_chunks);
  g_test_add_func ("/winograd/applies", test_applies);
  return g_test_run ();
}
