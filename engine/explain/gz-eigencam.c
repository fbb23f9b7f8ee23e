/* gz-eigencam.c — Eigen-CAM
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Muhammad & Yeasin, "Eigen-CAM: Class Activation Map using Principal
 * Components", IJCNN 2020: the map is the projection of the layer's
 * activations on their first principal component — no class, no gradient.
 * As in pytorch-grad-cam's get_2d_projection, the activations are read as hw
 * samples of C features, centred per channel (mean over locations), and
 * projected on the first right singular vector v₁ of that [hw, C] matrix X:
 *
 *   L = ReLU (X v₁)
 *
 * The SVD leaves the sign of v₁ free; see fix_sign for the convention.
 * v₁ comes from power iteration on the smaller Gram matrix (XᵀX or XXᵀ; for
 * the latter X v₁ = σ₁ u₁), in double precision.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gz-explain-private.h"

/* Top eigenvector of the symmetric PSD n×n matrix m, by power iteration from
 * a fixed start; returns the eigenvalue. */
static double
top_eigenvector (int64_t n, const double *m, double *x)
{
  double *y = malloc ((size_t) n * sizeof *y);
  if (y == NULL)
    return -1;
  /* A deterministic start with no special structure (the all-ones vector is
   * in the null space of XXᵀ for centred X). */
  uint64_t s = 0x9e3779b97f4a7c15ull;
  double norm = 0;
  for (int64_t i = 0; i < n; i++)
    {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      x[i] = (double) (s >> 11) / 9007199254740992.0 + 0.5;
      norm += x[i] * x[i];
    }
  norm = sqrt (norm);
  for (int64_t i = 0; i < n; i++)
    x[i] /= norm;
  double lambda = 0;
  for (int it = 0; it < 20000; it++)
    {
      for (int64_t i = 0; i < n; i++)
        {
          const double *row = m + i * n;
          double acc = 0;
          for (int64_t j = 0; j < n; j++)
            acc += row[j] * x[j];
          y[i] = acc;
        }
      double nn = 0;
      for (int64_t i = 0; i < n; i++)
        nn += y[i] * y[i];
      nn = sqrt (nn);
      if (nn == 0)
        {
          lambda = 0;
          break;
        }
      double diff = 0;
      for (int64_t i = 0; i < n; i++)
        {
          y[i] /= nn;
          diff += (y[i] - x[i]) * (y[i] - x[i]);
        }
      memcpy (x, y, (size_t) n * sizeof *x);
      lambda = nn;
      if (diff < 1e-26)
        break;
    }
  free (y);
  return lambda;
}

GzStatus
gz_eigencam_map (int64_t c, int64_t hw, const float *a, float *out, GzError *err)
{
  if (c <= 0 || hw <= 0)
    return gz_error_set (err, GZ_ERR_SHAPE, "empty activation");
  /* Centred X[p,k] = A[k,p] - mean_p A[k,·], kept as [C, hw] like A. */
  double *x = malloc ((size_t) c * (size_t) hw * sizeof *x);
  int64_t n = c < hw ? c : hw;
  if ((uint64_t) n > 8192)
    {
      free (x);
      return gz_error_set (err, GZ_ERR_LIMIT,
                           "Eigen-CAM: layer too large (%lld channels, "
                           "%lld locations)",
                           (long long) c, (long long) hw);
    }
  double *m = calloc ((size_t) n * (size_t) n, sizeof *m);
  double *v = malloc ((size_t) n * sizeof *v);
  if (x == NULL || m == NULL || v == NULL)
    {
      free (x), free (m), free (v);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  for (int64_t k = 0; k < c; k++)
    {
      double mean = 0;
      for (int64_t p = 0; p < hw; p++)
        {
          float av = a[k * hw + p];
          mean += isfinite (av) ? av : 0; /* NaN activations count as 0, as upstream */
        }
      mean /= (double) hw;
      for (int64_t p = 0; p < hw; p++)
        {
          float av = a[k * hw + p];
          x[k * hw + p] = (isfinite (av) ? av : 0) - mean;
        }
    }
  if (c <= hw)
    {
      /* M = XᵀX over channels: M[k,l] = Σ_p X[p,k] X[p,l]. */
      for (int64_t k = 0; k < c; k++)
        for (int64_t l = k; l < c; l++)
          {
            double s = 0;
            for (int64_t p = 0; p < hw; p++)
              s += x[k * hw + p] * x[l * hw + p];
            m[k * c + l] = m[l * c + k] = s;
          }
      top_eigenvector (c, m, v);
      for (int64_t p = 0; p < hw; p++)
        {
          double s = 0;
          for (int64_t k = 0; k < c; k++)
            s += x[k * hw + p] * v[k];
          out[p] = (float) s;
        }
    }
  else
    {
      /* M = XXᵀ over locations; X v₁ = σ₁ u₁ = sqrt(λ₁) u₁. */
      for (int64_t p = 0; p < hw; p++)
        for (int64_t q = p; q < hw; q++)
          {
            double s = 0;
            for (int64_t k = 0; k < c; k++)
              s += x[k * hw + p] * x[k * hw + q];
            m[p * hw + q] = m[q * hw + p] = s;
          }
      double lambda = top_eigenvector (hw, m, v);
      double sigma = lambda > 0 ? sqrt (lambda) : 0;
      for (int64_t p = 0; p < hw; p++)
        out[p] = (float) (sigma * v[p]);
    }
  /* Sign: the SVD leaves it free. Orient the projection so it agrees with the
   * mean activation over channels (the thing Eigen-CAM is meant to highlight):
   * Σ_p L_p · mean_k A[k,p] ≥ 0. */
  double agree = 0;
  for (int64_t p = 0; p < hw; p++)
    {
      double mean = 0;
      for (int64_t k = 0; k < c; k++)
        mean += isfinite (a[k * hw + p]) ? a[k * hw + p] : 0;
      agree += out[p] * mean;
    }
  if (agree < 0)
    for (int64_t p = 0; p < hw; p++)
      out[p] = -out[p];
  free (x), free (m), free (v);
  return GZ_OK;
}

GzStatus
gz_explain_eigencam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err)
{
  const GzTensor *a;
  GzStatus st = gz_explain_activation (ctx, session, &a, err);
  if (st != GZ_OK)
    return st;
  GzTensor *map = gz_explain_new_map (a->dims[2], a->dims[3], err);
  if (map == NULL)
    return err != NULL ? err->code : GZ_ERR_NOMEM;
  st = gz_eigencam_map (a->dims[1], a->dims[2] * a->dims[3], gz_tensor_f (a), gz_tensor_f (map),
                        err);
  if (st != GZ_OK)
    {
      gz_tensor_free (map);
      return st;
    }
  *raw = map;
  return GZ_OK;
}
