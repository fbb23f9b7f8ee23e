/* test-road.c — ROAD's noisy linear imputation (gz_metric_road_impute) on small images
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Closed forms: a single removed pixel is the weighted mean of its known
 * neighbours (weights 1/6 direct, 1/12 diagonal, divided by the weights
 * present at a border); a linear ramp a·x + b·y + c is reproduced exactly
 * where every removed pixel has all 8 neighbours in the image (the weights
 * are symmetric, so the mean of a linear function over the ring is its
 * centre value; this fails at the border, where the ring is one-sided); any
 * solution satisfies every pixel's equation. The comparison with SciPy's
 * spsolve on real maps is tests/reference/test_road.py.
 */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "gaze-metrics.h"

static const int DY[8] = { -1, -1, -1, 0, 0, 1, 1, 1 };
static const int DX[8] = { -1, 0, 1, -1, 1, -1, 0, 1 };

static double
weight (int j)
{
  return DY[j] == 0 || DX[j] == 0 ? 1.0 / 6.0 : 1.0 / 12.0;
}

static float
rnd (guint32 *s)
{
  *s = *s * 1664525u + 1013904223u;
  return (float) (*s >> 8) / (float) (1u << 23) - 1.0f; /* [-1, 1) */
}

/* The largest |x_p − weighted mean of its in-image neighbours| over the
 * removed pixels of one channel, in double. */
static double
worst_equation (const float *img, const guint8 *removed, int h, int w)
{
  double worst = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        if (!removed[y * w + x])
          continue;
        double s = 0, ws = 0;
        for (int j = 0; j < 8; j++)
          {
            int yy = y + DY[j], xx = x + DX[j];
            if (yy < 0 || yy >= h || xx < 0 || xx >= w)
              continue;
            s += weight (j) * img[yy * w + xx];
            ws += weight (j);
          }
        worst = fmax (worst, fabs (img[y * w + x] - s / ws));
      }
  return worst;
}

static void
test_single_pixels (void)
{
  /* 3×3, values 1…9: the centre, then the corner (0,0), removed alone. */
  float in[9], out[9];
  for (int i = 0; i < 9; i++)
    in[i] = (float) (i + 1);
  guint8 removed[9] = { 0 };
  GzError err = { 0 };
  removed[4] = 1;
  g_assert_cmpint (gz_metric_road_impute (in, 1, 3, 3, removed, 0.0, 0, out, &err), ==, GZ_OK);
  /* (2+4+6+8)/6 + (1+3+7+9)/12 = 20/6 + 20/12 = 5 */
  g_assert_cmpfloat_with_epsilon (out[4], 5.0, 1e-6);
  for (int i = 0; i < 9; i++)
    if (i != 4)
      g_assert_cmpfloat (out[i], ==, in[i]);
  removed[4] = 0;
  removed[0] = 1;
  g_assert_cmpint (gz_metric_road_impute (in, 1, 3, 3, removed, 0.0, 0, out, &err), ==, GZ_OK);
  /* (2/6 + 4/6 + 5/12) / (1/6 + 1/6 + 1/12) = (17/12) / (5/12) */
  g_assert_cmpfloat_with_epsilon (out[0], 17.0 / 5.0, 1e-6);
}

static void
test_ramp_interior (void)
{
  enum
  {
    H = 12,
    W = 16,
    C = 2
  };
  float in[C * H * W], out[C * H * W];
  guint8 removed[H * W] = { 0 };
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      {
        in[y * W + x] = 0.3f * (float) x - 0.7f * (float) y + 1.5f;
        in[H * W + y * W + x] = -0.2f * (float) x + 0.05f * (float) y - 2.0f;
        /* A block and a diagonal line, none of it on the border. */
        removed[y * W + x]
            = (y >= 3 && y <= 8 && x >= 4 && x <= 11) || (x == y + 2 && y >= 1 && y <= 9);
      }
  GzError err = { 0 };
  g_assert_cmpint (gz_metric_road_impute (in, C, H, W, removed, 0.0, 0, out, &err), ==, GZ_OK);
  double worst = 0;
  for (int i = 0; i < C * H * W; i++)
    {
      if (removed[i % (H * W)])
        worst = fmax (worst, fabs (out[i] - in[i]));
      else
        g_assert_cmpfloat (out[i], ==, in[i]);
    }
  g_test_message ("ramp reproduced within %.2e", worst);
  g_assert_cmpfloat (worst, <=, 1e-5);
  /* In place gives the same image. */
  float inplace[C * H * W];
  memcpy (inplace, in, sizeof in);
  g_assert_cmpint (gz_metric_road_impute (inplace, C, H, W, removed, 0.0, 0, inplace, &err), ==,
                   GZ_OK);
  g_assert_cmpmem (inplace, sizeof inplace, out, sizeof out);
}

static void
test_equations_with_borders (void)
{
  enum
  {
    H = 29,
    W = 37,
    C = 3
  };
  static float in[C * H * W], out[C * H * W];
  static guint8 removed[H * W];
  guint32 s = 7;
  for (int i = 0; i < C * H * W; i++)
    in[i] = rnd (&s);
  /* About 70 % removed, borders and corners included. */
  for (int i = 0; i < H * W; i++)
    removed[i] = rnd (&s) < 0.4f;
  removed[0] = removed[W - 1] = removed[(H - 1) * W] = removed[H * W - 1] = 1;
  GzError err = { 0 };
  g_assert_cmpint (gz_metric_road_impute (in, C, H, W, removed, 0.0, 0, out, &err), ==, GZ_OK);
  for (int c = 0; c < C; c++)
    {
      double worst = worst_equation (out + c * H * W, removed, H, W);
      g_test_message ("channel %d: equations hold within %.2e", c, worst);
      g_assert_cmpfloat (worst, <=, 1e-5);
    }
}

static void
test_noise (void)
{
  enum
  {
    H = 64,
    W = 64,
    C = 3
  };
  static float in[C * H * W], clean[C * H * W], a[C * H * W], b[C * H * W], other[C * H * W];
  static guint8 removed[H * W];
  guint32 s = 11;
  for (int i = 0; i < C * H * W; i++)
    in[i] = rnd (&s);
  int n = 0;
  for (int i = 0; i < H * W; i++)
    n += removed[i] = rnd (&s) < 0.0f;
  GzError err = { 0 };
  g_assert_cmpint (gz_metric_road_impute (in, C, H, W, removed, 0.0, 5, clean, &err), ==, GZ_OK);
  g_assert_cmpint (gz_metric_road_impute (in, C, H, W, removed, 0.05, 5, a, &err), ==, GZ_OK);
  g_assert_cmpint (gz_metric_road_impute (in, C, H, W, removed, 0.05, 5, b, &err), ==, GZ_OK);
  g_assert_cmpint (gz_metric_road_impute (in, C, H, W, removed, 0.05, 6, other, &err), ==, GZ_OK);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  g_assert_true (memcmp (a, other, sizeof a) != 0);
  double sum = 0, sq = 0;
  for (int i = 0; i < C * H * W; i++)
    {
      double d = (double) a[i] - clean[i];
      if (!removed[i % (H * W)])
        g_assert_cmpfloat (d, ==, 0.0);
      sum += d;
      sq += d * d;
    }
  double count = (double) n * C, mean = sum / count, sd = sqrt (sq / count - mean * mean);
  g_test_message ("noise on %.0f values: mean %.2e, std %.5f (0.05 expected)", count, mean, sd);
  /* ~6000 normal values: the sample std is within 3 % and the mean within
   * 0.003 of the truth far beyond 5 standard errors. */
  g_assert_cmpfloat (fabs (sd - 0.05), <, 0.05 * 0.05);
  g_assert_cmpfloat (fabs (mean), <, 0.003);
}

static void
test_all_removed_and_errors (void)
{
  float in[2 * 4 * 5], out[2 * 4 * 5];
  guint8 removed[4 * 5];
  for (int i = 0; i < 40; i++)
    in[i] = (float) i;
  memset (removed, 1, sizeof removed);
  GzError err = { 0 };
  /* Nothing kept: the mean colour (0). */
  g_assert_cmpint (gz_metric_road_impute (in, 2, 4, 5, removed, 0.0, 0, out, &err), ==, GZ_OK);
  for (int i = 0; i < 40; i++)
    g_assert_cmpfloat (out[i], ==, 0.0f);
  g_assert_cmpint (gz_metric_road_impute (in, 2, 4, 5, removed, -1.0, 0, out, &err), ==,
                   GZ_ERR_ARGUMENT);
  g_assert_cmpint (gz_metric_road_impute (in, 2, 4, 5, removed, NAN, 0, out, &err), ==,
                   GZ_ERR_ARGUMENT);
  g_assert_cmpint (gz_metric_road_impute (in, 0, 4, 5, removed, 0.0, 0, out, &err), ==,
                   GZ_ERR_ARGUMENT);
  g_assert_cmpint (gz_metric_road_impute (in, 2, 4, 5, NULL, 0.0, 0, out, &err), ==,
                   GZ_ERR_ARGUMENT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/road/single-pixels", test_single_pixels);
  g_test_add_func ("/road/ramp-interior", test_ramp_interior);
  g_test_add_func ("/road/equations-with-borders", test_equations_with_borders);
  g_test_add_func ("/road/noise", test_noise);
  g_test_add_func ("/road/all-removed-and-errors", test_all_removed_and_errors);
  return g_test_run ();
}
