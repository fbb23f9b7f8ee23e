/* test-logits.c — gz_logits_top_k and gz_logits_probability against a
 * double-precision softmax computed here and a full sort
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <math.h>
#include <stdlib.h>

#include "gaze-engine.h"

/* The reference: softmax written directly from its definition, in long
 * double, without the max shift (fine for the moderate logits used here). */
static long double
softmax_ref (const float *l, int n, int i)
{
  long double sum = 0;
  for (int j = 0; j < n; j++)
    sum += expl ((long double) l[j]);
  return expl ((long double) l[i]) / sum;
}

static const float *sort_logits;

static int
by_rank (const void *a, const void *b)
{
  int i = *(const int *) a, j = *(const int *) b;
  float x = sort_logits[i], y = sort_logits[j];
  if (x != y)
    return x > y ? -1 : 1;
  return i - j;
}

/* Random logits with deliberate ties: every k from 1 to n + 2 agrees with a
 * full sort, and the probabilities with the reference. */
static void
test_random (void)
{
  GRand *rand = g_rand_new_with_seed (13);
  for (int round = 0; round < 50; round++)
    {
      int n = 2 + g_rand_int_range (rand, 0, 40);
      float *l = g_new (float, n);
      int *order = g_new (int, n);
      for (int i = 0; i < n; i++)
        {
          /* Quarter steps in [-8, 8]: ties happen. */
          l[i] = (float) g_rand_int_range (rand, -32, 33) / 4.0f;
          order[i] = i;
        }
      sort_logits = l;
      qsort (order, (size_t) n, sizeof *order, by_rank);
      GzClassScore *top = g_new (GzClassScore, n + 2);
      for (int k = 1; k <= n + 2; k++)
        {
          int got = gz_logits_top_k (l, n, k, GZ_OUTPUT_LOGITS, top);
          g_assert_cmpint (got, ==, MIN (k, n));
          for (int j = 0; j < got; j++)
            {
              g_assert_cmpint (top[j].index, ==, order[j]);
              g_assert_cmpfloat (top[j].logit, ==, l[order[j]]);
              g_assert_cmpfloat_with_epsilon (top[j].probability,
                                              (double) softmax_ref (l, n, order[j]), 1e-12);
            }
        }
      double total = 0;
      for (int i = 0; i < n; i++)
        {
          double p = gz_logits_probability (l, n, i, GZ_OUTPUT_LOGITS);
          g_assert_cmpfloat_with_epsilon (p, (double) softmax_ref (l, n, i), 1e-12);
          total += p;
        }
      g_assert_cmpfloat_with_epsilon (total, 1.0, 1e-12);
      g_free (top);
      g_free (order);
      g_free (l);
    }
  g_rand_free (rand);
}

/* A single output is a sigmoid score; bad arguments write nothing. */
static void
test_edges (void)
{
  float one = 2.0f;
  GzClassScore s = { -7, 0, 0 };
  g_assert_cmpint (gz_logits_top_k (&one, 1, 5, GZ_OUTPUT_LOGITS, &s), ==, 1);
  g_assert_cmpint (s.index, ==, 0);
  g_assert_cmpfloat_with_epsilon (s.probability, 1.0 / (1.0 + exp (-2.0)), 1e-15);
  g_assert_cmpfloat_with_epsilon (gz_logits_probability (&one, 1, 0, GZ_OUTPUT_LOGITS),
                                  1.0 / (1.0 + exp (-2.0)), 1e-15);
  GzClassScore untouched = { -7, 0, 0 };
  g_assert_cmpint (gz_logits_top_k (&one, 0, 5, GZ_OUTPUT_LOGITS, &untouched), ==, 0);
  g_assert_cmpint (gz_logits_top_k (&one, 1, 0, GZ_OUTPUT_LOGITS, &untouched), ==, 0);
  g_assert_cmpint (gz_logits_top_k (NULL, 3, 1, GZ_OUTPUT_LOGITS, &untouched), ==, 0);
  g_assert_cmpint (untouched.index, ==, -7);
  g_assert_true (isnan (gz_logits_probability (&one, 1, 1, GZ_OUTPUT_LOGITS)));
  g_assert_true (isnan (gz_logits_probability (&one, 1, -1, GZ_OUTPUT_LOGITS)));

  /* Large logits: the max shift keeps the softmax finite (a naive exp
   * overflows at 89). */
  float big[3] = { 1000.0f, 999.0f, -1000.0f };
  GzClassScore top[3];
  g_assert_cmpint (gz_logits_top_k (big, 3, 3, GZ_OUTPUT_LOGITS, top), ==, 3);
  double e = exp (-1.0);
  g_assert_cmpfloat_with_epsilon (top[0].probability, 1.0 / (1.0 + e), 1e-12);
  g_assert_cmpfloat_with_epsilon (top[1].probability, e / (1.0 + e), 1e-12);
  g_assert_cmpfloat (top[2].probability, ==, 0.0);

  /* NaN logits rank after every number, by index among themselves. */
  float withnan[4] = { NAN, 1.0f, NAN, -3.0f };
  GzClassScore r[4];
  g_assert_cmpint (gz_logits_top_k (withnan, 4, 4, GZ_OUTPUT_LOGITS, r), ==, 4);
  g_assert_cmpint (r[0].index, ==, 1);
  g_assert_cmpint (r[1].index, ==, 3);
  g_assert_cmpint (r[2].index, ==, 0);
  g_assert_cmpint (r[3].index, ==, 2);
}

/* Multi-label (sigmoid) and the softmax kinds: the same ranking; a sigmoid
 * head gives each class its own probability, the softmax kinds one
 * distribution. Names round-trip. */
static void
test_kinds (void)
{
  float l[4] = { -1.5f, 2.0f, 0.25f, 2.0f };
  GzClassScore top[4];
  g_assert_cmpint (gz_logits_top_k (l, 4, 4, GZ_OUTPUT_SIGMOID, top), ==, 4);
  int order[4] = { 1, 3, 2, 0 };
  double total = 0;
  for (int j = 0; j < 4; j++)
    {
      g_assert_cmpint (top[j].index, ==, order[j]);
      double want = 1.0 / (1.0 + exp (-(double) l[order[j]]));
      g_assert_cmpfloat_with_epsilon (top[j].probability, want, 1e-15);
      g_assert_cmpfloat_with_epsilon (gz_logits_probability (l, 4, order[j], GZ_OUTPUT_SIGMOID),
                                      want, 1e-15);
      total += top[j].probability;
    }
  g_assert_cmpfloat (total, >, 1.5); /* independent findings: no distribution */
  for (GzOutputKind kind = GZ_OUTPUT_LOGITS; kind <= GZ_OUTPUT_LOG_SOFTMAX; kind++)
    {
      GzClassScore s[4];
      gz_logits_top_k (l, 4, 4, kind, s);
      for (int j = 0; j < 4; j++)
        g_assert_cmpfloat_with_epsilon (s[j].probability, (double) softmax_ref (l, 4, order[j]),
                                        1e-12);
    }
  for (int k = 0; k < GZ_OUTPUT_KIND_COUNT; k++)
    {
      GzOutputKind back = GZ_OUTPUT_KIND_COUNT;
      g_assert_true (gz_output_kind_from_name (gz_output_kind_name ((GzOutputKind) k), &back));
      g_assert_cmpint (back, ==, k);
    }
  GzOutputKind m = GZ_OUTPUT_LOGITS;
  g_assert_true (gz_output_kind_from_name ("multilabel", &m));
  g_assert_cmpint (m, ==, GZ_OUTPUT_SIGMOID);
  g_assert_false (gz_output_kind_from_name ("probabilities", &m));
  g_assert_cmpstr (gz_output_kind_describe (GZ_OUTPUT_SIGMOID, 14), ==, "multilabel");
  g_assert_cmpstr (gz_output_kind_describe (GZ_OUTPUT_SIGMOID, 1), ==, "binary");
  g_assert_cmpstr (gz_output_kind_describe (GZ_OUTPUT_LOG_SOFTMAX, 3), ==, "log-softmax");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/logits/random", test_random);
  g_test_add_func ("/logits/edges", test_edges);
  g_test_add_func ("/logits/kinds", test_kinds);
  return g_test_run ();
}
