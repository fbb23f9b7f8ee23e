/* ops-nn-test-util.h — running float operators on hand-built nodes, finite differences
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Header-only helpers for the nn operator tests, on the TNode of
 * tests/common/op-harness.h: the operator runs through its GzOpDef exactly as
 * the executor would (init, infer, forward, backward).
 */
#pragma once

#include <glib.h>
#include <math.h>
#include <string.h>

#include "../common/op-harness.h"

/* Runs the operator's init; returns its status (err filled). */
static inline GzStatus
tn_prepare (TNode *t, GzError *err)
{
  if (t->op->init != NULL)
    {
      GzStatus st = t->op->init (&t->node, t->opset, err);
      if (st != GZ_OK)
        return st;
    }
  t->ready = true;
  return GZ_OK;
}

/* Runs infer only; out (a header) gets the shape. */
static inline GzStatus
tn_infer (TNode *t, GzTensor **in, GzTensor *out, GzError *err)
{
  GzTensor hdr[TN_MAX_IO];
  const GzTensor *ins[TN_MAX_IO] = { NULL };
  if (!t->ready)
    {
      GzStatus st = tn_prepare (t, err);
      if (st != GZ_OK)
        return st;
    }
  /* Shape inference sees headers without data for non-constant inputs. */
  for (int i = 0; i < t->node.n_inputs; i++)
    if (in[i] != NULL)
      {
        hdr[i] = *in[i];
        hdr[i].owns_data = false;
        ins[i] = &hdr[i];
      }
  GzTensor *const outs[1] = { out };
  memset (out, 0, sizeof *out);
  return t->node.op->infer (&t->node, ins, outs, err);
}

/* init (once), infer, allocate and forward. Asserts success; returns the output. */
static inline GzTensor *
tn_forward (TNode *t, GzTensor **in)
{
  GzError err = { 0 };
  GzTensor hdr;
  GzStatus st = tn_infer (t, in, &hdr, &err);
  if (st != GZ_OK)
    g_error ("infer failed: %s", err.message);
  GzTensor *out = gz_tensor_new (hdr.dtype, hdr.ndim, hdr.dims, &err);
  g_assert_nonnull (out);
  /* Outputs are not zeroed by contract: poison them. */
  if (out->dtype == GZ_DTYPE_FLOAT)
    for (int64_t i = 0; i < gz_tensor_numel (out); i++)
      gz_tensor_f (out)[i] = NAN;
  const GzTensor *ins[TN_MAX_IO] = { NULL };
  for (int i = 0; i < t->node.n_inputs; i++)
    ins[i] = in[i];
  GzTensor *const outs[1] = { out };
  st = t->node.op->forward (&t->node, ins, outs, &err);
  if (st != GZ_OK)
    g_error ("forward failed: %s", err.message);
  return out;
}

/* ---- Tensors and random numbers --------------------------------------- */

static guint32 tn_rng_state = 12345u;

static inline double
tn_rand (void)
{
  tn_rng_state = tn_rng_state * 1664525u + 1013904223u;
  return (tn_rng_state >> 8) / 16777216.0;
}

static inline GzTensor *
tn_tensor (int ndim, const int64_t *dims)
{
  GzError err = { 0 };
  GzTensor *t = gz_tensor_new (GZ_DTYPE_FLOAT, ndim, dims, &err);
  g_assert_nonnull (t);
  return t;
}

/* Uniform in [lo, hi). */
static inline GzTensor *
tn_uniform (int ndim, const int64_t *dims, double lo, double hi)
{
  GzTensor *t = tn_tensor (ndim, dims);
  for (int64_t i = 0; i < gz_tensor_numel (t); i++)
    gz_tensor_f (t)[i] = (float) (lo + (hi - lo) * tn_rand ());
  return t;
}

/* Values with magnitude in [0.1, 1] and random sign: no element near a kink at 0. */
static inline GzTensor *
tn_away_from_zero (int ndim, const int64_t *dims)
{
  GzTensor *t = tn_tensor (ndim, dims);
  for (int64_t i = 0; i < gz_tensor_numel (t); i++)
    {
      double m = 0.1 + 0.9 * tn_rand ();
      gz_tensor_f (t)[i] = (float) (tn_rand () < 0.5 ? -m : m);
    }
  return t;
}

/* Distinct values spaced 0.05 apart in random order: no ties for max pooling. */
static inline GzTensor *
tn_distinct (int ndim, const int64_t *dims)
{
  GzTensor *t = tn_tensor (ndim, dims);
  int64_t n = gz_tensor_numel (t);
  float *v = gz_tensor_f (t);
  for (int64_t i = 0; i < n; i++)
    v[i] = (float) (0.05 * (double) (i - n / 2));
  for (int64_t i = n - 1; i > 0; i--)
    {
      int64_t j = (int64_t) (tn_rand () * (double) (i + 1));
      float tmp = v[i];
      v[i] = v[j];
      v[j] = tmp;
    }
  return t;
}

/* max |a - b| / max(1, max |b|): normalised error. */
static inline double
tn_nerr (const float *a, const double *b, int64_t n)
{
  double scale = 1.0, e = 0.0;
  for (int64_t i = 0; i < n; i++)
    scale = fmax (scale, fabs (b[i]));
  for (int64_t i = 0; i < n; i++)
    {
      double d = fabs ((double) a[i] - b[i]);
      if (isnan (d) || isnan (a[i]))
        return INFINITY;
      e = fmax (e, d);
    }
  return e / scale;
}

static inline void
tn_assert_close (const GzTensor *got, const double *want, int64_t n, double tol)
{
  g_assert_cmpint (gz_tensor_numel (got), ==, n);
  double e = tn_nerr (gz_tensor_f (got), want, n);
  if (!(e <= tol))
    {
      for (int64_t i = 0; i < n && i < 8; i++)
        g_printerr ("  [%lld] got %g want %g\n", (long long) i, gz_tensor_f (got)[i], want[i]);
      g_error ("normalised error %g exceeds %g", e, tol);
    }
}

/* ---- Finite differences ------------------------------------------------ */

static inline double
tn_project (TNode *t, GzTensor **in, const GzTensor *r)
{
  GzTensor *y = tn_forward (t, in);
  double s = 0.0;
  for (int64_t i = 0; i < gz_tensor_numel (y); i++)
    s += (double) gz_tensor_f (y)[i] * gz_tensor_f (r)[i];
  gz_tensor_free (y);
  return s;
}

/* Checks the backward pass for every input in `mask` against central
 * differences of f(x) = <r, y(x)> with a random projection r.
 * Relative error ||g - g_num|| / ||g_num|| must stay below tol. */
static inline void
tn_check_grad (TNode *t, GzTensor **in, unsigned mask, double h, double tol, GzReluMode mode)
{
  GzError err = { 0 };
  GzTensor *y = tn_forward (t, in);
  GzTensor *r = tn_uniform (y->ndim, y->dims, -1.0, 1.0);
  GzTensor *din[TN_MAX_IO] = { NULL };
  const GzTensor *ins[TN_MAX_IO] = { NULL };
  for (int i = 0; i < t->node.n_inputs; i++)
    {
      ins[i] = in[i];
      if (mask & (1u << i))
        {
          din[i] = tn_tensor (in[i]->ndim, in[i]->dims);
          for (int64_t k = 0; k < gz_tensor_numel (din[i]); k++)
            gz_tensor_f (din[i])[k] = NAN; /* must be written, not added to */
        }
    }
  const GzTensor *outs[1] = { y }, *douts[1] = { r };
  g_assert_nonnull (t->node.op->backward);
  GzStatus st = t->node.op->backward (&t->node, ins, outs, douts, din, mode, &err);
  if (st != GZ_OK)
    g_error ("backward failed: %s", err.message);
  for (int i = 0; i < t->node.n_inputs; i++)
    {
      if (din[i] == NULL)
        continue;
      float *x = gz_tensor_f (in[i]);
      double num2 = 0.0, diff2 = 0.0;
      for (int64_t k = 0; k < gz_tensor_numel (in[i]); k++)
        {
          float keep = x[k];
          x[k] = keep + (float) h;
          double fp = tn_project (t, in, r);
          x[k] = keep - (float) h;
          double fm = tn_project (t, in, r);
          x[k] = keep;
          double num = (fp - fm) / (2.0 * h), g = gz_tensor_f (din[i])[k];
          num2 += num * num;
          diff2 += (g - num) * (g - num);
          if (isnan (g))
            g_error ("input %d: gradient element %lld not written", i, (long long) k);
        }
      double rel = sqrt (diff2) / fmax (sqrt (num2), 1e-6);
      if (!(rel <= tol))
        g_error ("%s: input %d gradient relative error %g (|num| %g) exceeds %g", t->node.op_type,
                 i, rel, sqrt (num2), tol);
      gz_tensor_free (din[i]);
    }
  gz_tensor_free (r);
  gz_tensor_free (y);
}
