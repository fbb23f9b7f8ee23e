/* tensor-test-util.h — checking tensor operators on hand-built nodes
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * On the TNode of tests/common/op-harness.h, the helpers run init → infer →
 * forward the way the plan and executor do, and compare every backward
 * against central finite differences of the scalar objective
 * sum_j <w_j, output_j> with fixed pseudo-random weights w_j.
 */
#pragma once

#include <glib.h>
#include <math.h>
#include <string.h>

#include "../common/op-harness.h"

/* ---- Tensors ----------------------------------------------------------- */

static inline GzTensor *
mkf (int ndim, const int64_t *dims, const float *data)
{
  GzTensor *t = gz_tensor_new (GZ_DTYPE_FLOAT, ndim, dims, NULL);
  g_assert_nonnull (t);
  if (data != NULL)
    memcpy (t->data, data, (size_t) gz_tensor_numel (t) * sizeof (float));
  return t;
}

static inline GzTensor *
mki (int ndim, const int64_t *dims, const int64_t *data)
{
  GzTensor *t = gz_tensor_new (GZ_DTYPE_INT64, ndim, dims, NULL);
  g_assert_nonnull (t);
  if (data != NULL)
    memcpy (t->data, data, (size_t) gz_tensor_numel (t) * sizeof (int64_t));
  return t;
}

/* 1-D int64 constant. */
static inline GzTensor *
mkv (int n, const int64_t *data)
{
  int64_t d = n;
  return mki (1, &d, data);
}

static inline float
tn_rand (guint32 *state)
{
  *state = *state * 1664525u + 1013904223u;
  return (float) ((*state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* Float tensor filled with distinct pseudo-random values in [-1, 1). */
static inline GzTensor *
mkr (int ndim, const int64_t *dims, guint32 seed)
{
  GzTensor *t = mkf (ndim, dims, NULL);
  float *p = t->data;
  for (int64_t i = 0; i < gz_tensor_numel (t); i++)
    p[i] = tn_rand (&seed);
  return t;
}

static inline void
free_all (GzTensor **ts, int n)
{
  for (int i = 0; i < n; i++)
    gz_tensor_free (ts[i]);
}

static inline void
assert_shape (const GzTensor *t, int ndim, const int64_t *dims)
{
  g_assert_cmpint (t->ndim, ==, ndim);
  for (int a = 0; a < ndim; a++)
    g_assert_cmpint (t->dims[a], ==, dims[a]);
}

static inline void
assert_floats (const GzTensor *t, const float *expect, double tol)
{
  g_assert_cmpint (t->dtype, ==, GZ_DTYPE_FLOAT);
  const float *p = t->data;
  for (int64_t i = 0; i < gz_tensor_numel (t); i++)
    if (!(fabs ((double) p[i] - expect[i]) <= tol))
      g_error ("element %" G_GINT64_FORMAT ": got %.7g, expected %.7g", i, p[i], expect[i]);
}

static inline void
assert_ints (const GzTensor *t, const int64_t *expect)
{
  g_assert_cmpint (t->dtype, ==, GZ_DTYPE_INT64);
  const int64_t *p = t->data;
  for (int64_t i = 0; i < gz_tensor_numel (t); i++)
    if (p[i] != expect[i])
      g_error ("element %" G_GINT64_FORMAT ": got %" G_GINT64_FORMAT ", expected %" G_GINT64_FORMAT,
               i, p[i], expect[i]);
}

/* ---- Running ----------------------------------------------------------- */

/* init + infer only; returns the status and leaves headers (and any constant
 * data infer made) in out[]. const_mask bit i: input i is shown with data;
 * otherwise as a header without data, as for a run-time value. */
static inline GzStatus
tn_infer (TNode *t, GzTensor **in, unsigned const_mask, GzTensor **out, GzError *err)
{
  GzTensor hdr[TN_MAX];
  const GzTensor *view[TN_MAX];
  for (int i = 0; i < t->node.n_inputs; i++)
    {
      if (in[i] == NULL || t->inputs[i] < 0)
        {
          view[i] = NULL;
          continue;
        }
      hdr[i] = *in[i];
      hdr[i].owns_data = false;
      if (!(const_mask & (1u << i)))
        hdr[i].data = NULL;
      view[i] = &hdr[i];
    }
  for (int j = 0; j < t->node.n_outputs; j++)
    out[j] = t->outputs[j] >= 0 ? g_new0 (GzTensor, 1) : NULL;
  tn_clear (t);
  GzStatus st = GZ_OK;
  if (t->op->init != NULL)
    st = t->op->init (&t->node, t->opset, err);
  if (st == GZ_OK)
    st = t->op->infer (&t->node, view, out, err);
  return st;
}

static inline void
tn_free_headers (GzTensor **out, int n)
{
  for (int j = 0; j < n; j++)
    if (out[j] != NULL)
      {
        if (out[j]->owns_data)
          free (out[j]->data);
        g_free (out[j]);
        out[j] = NULL;
      }
}

/* Expects infer to fail with `code`; returns the message for further checks. */
static inline void
tn_expect_error (TNode *t, GzTensor **in, unsigned const_mask, GzStatus code, const char *needle)
{
  GzError err = { 0 };
  GzTensor *out[TN_MAX];
  GzStatus st = tn_infer (t, in, const_mask, out, &err);
  if (st != code)
    g_error ("expected status %d, got %d (%s)", code, st, err.message);
  g_assert_nonnull (strstr (err.message, t->node.name));
  if (needle != NULL && strstr (err.message, needle) == NULL)
    g_error ("message '%s' lacks '%s'", err.message, needle);
  tn_free_headers (out, t->node.n_outputs);
  tn_clear (t);
}

/* Full run: infer with every input constant (or as const_mask says), allocate,
 * forward. Output tensors are returned in out[] (caller frees). Constant data
 * produced by infer must equal the forward's. */
static inline void
tn_run_mask (TNode *t, GzTensor **in, unsigned const_mask, GzTensor **out)
{
  GzError err = { 0 };
  GzTensor *hdr[TN_MAX];
  GzStatus st = tn_infer (t, in, const_mask, hdr, &err);
  if (st != GZ_OK)
    g_error ("infer failed: %s", err.message);
  for (int j = 0; j < t->node.n_outputs; j++)
    out[j]
        = hdr[j] != NULL ? gz_tensor_new (hdr[j]->dtype, hdr[j]->ndim, hdr[j]->dims, NULL) : NULL;
  st = t->op->forward (&t->node, (const GzTensor *const *) in, out, &err);
  if (st != GZ_OK)
    g_error ("forward failed: %s", err.message);
  for (int j = 0; j < t->node.n_outputs; j++)
    if (hdr[j] != NULL && hdr[j]->data != NULL)
      g_assert_cmpmem (hdr[j]->data, gz_tensor_numel (hdr[j]) * gz_dtype_size (hdr[j]->dtype),
                       out[j]->data, gz_tensor_numel (out[j]) * gz_dtype_size (out[j]->dtype));
  tn_free_headers (hdr, t->node.n_outputs);
}

static inline void
tn_run (TNode *t, GzTensor **in, GzTensor **out)
{
  tn_run_mask (t, in, ~0u, out);
}

static inline double
objective (TNode *t, GzTensor **in, GzTensor **ref, GzTensor **w)
{
  GzTensor *out[TN_MAX];
  GzError err = { 0 };
  for (int j = 0; j < t->node.n_outputs; j++)
    out[j]
        = ref[j] != NULL ? gz_tensor_new (ref[j]->dtype, ref[j]->ndim, ref[j]->dims, NULL) : NULL;
  g_assert_cmpint (t->op->forward (&t->node, (const GzTensor *const *) in, out, &err), ==, GZ_OK);
  double s = 0.0;
  for (int j = 0; j < t->node.n_outputs; j++)
    if (w[j] != NULL)
      for (int64_t k = 0; k < gz_tensor_numel (w[j]); k++)
        s += (double) gz_tensor_f (w[j])[k] * gz_tensor_f (out[j])[k];
  free_all (out, t->node.n_outputs);
  return s;
}

/* Checks backward against central differences for every float input whose
 * bit is set in wrt_mask; outputs whose bit is clear in dout_mask get no
 * gradient (dout NULL). Float inputs only are perturbed. */
static inline void
tn_check_grad_mask (TNode *t, GzTensor **in, unsigned wrt_mask, unsigned dout_mask, double h,
                    double tol)
{
  GzTensor *out[TN_MAX], *w[TN_MAX] = { NULL }, *din[TN_MAX] = { NULL };
  GzError err = { 0 };
  tn_run (t, in, out);
  guint32 seed = 12345;
  for (int j = 0; j < t->node.n_outputs; j++)
    if (out[j] != NULL && out[j]->dtype == GZ_DTYPE_FLOAT && (dout_mask & (1u << j)))
      w[j] = mkr (out[j]->ndim, out[j]->dims, seed + 77u * (guint32) j);
  for (int i = 0; i < t->node.n_inputs; i++)
    if ((wrt_mask & (1u << i)) && in[i] != NULL)
      {
        g_assert_cmpint (in[i]->dtype, ==, GZ_DTYPE_FLOAT);
        din[i] = mkf (in[i]->ndim, in[i]->dims, NULL);
        /* poison: backward must write, not add */
        for (int64_t k = 0; k < gz_tensor_numel (din[i]); k++)
          gz_tensor_f (din[i])[k] = 1e3f;
      }
  g_assert_nonnull (t->op->backward);
  GzStatus st
      = t->op->backward (&t->node, (const GzTensor *const *) in, (const GzTensor *const *) out,
                         (const GzTensor *const *) w, din, GZ_RELU_GRADIENT, &err);
  if (st != GZ_OK)
    g_error ("backward failed: %s", err.message);
  for (int i = 0; i < t->node.n_inputs; i++)
    {
      if (din[i] == NULL)
        continue;
      float *x = in[i]->data;
      for (int64_t k = 0; k < gz_tensor_numel (in[i]); k++)
        {
          float saved = x[k];
          x[k] = saved + (float) h;
          double fp = objective (t, in, out, w);
          x[k] = saved - (float) h;
          double fm = objective (t, in, out, w);
          x[k] = saved;
          double fd = (fp - fm) / (2.0 * h);
          double an = gz_tensor_f (din[i])[k];
          if (fabs (fd - an) > tol * fmax (1.0, fabs (fd)))
            g_error ("%s: d/d input %d [%" G_GINT64_FORMAT "]: backward %.6g, finite "
                     "difference %.6g",
                     t->node.op_type, i, k, an, fd);
        }
    }
  free_all (out, t->node.n_outputs);
  free_all (w, t->node.n_outputs);
  free_all (din, t->node.n_inputs);
}

static inline void
tn_check_grad (TNode *t, GzTensor **in, unsigned wrt_mask)
{
  tn_check_grad_mask (t, in, wrt_mask, ~0u, 1e-2, 2e-3);
}
