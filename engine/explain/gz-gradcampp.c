/* gz-gradcampp.c — Grad-CAM++
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Chattopadhay et al., "Grad-CAM++: Generalized Gradient-based Visual
 * Explanations for Deep Convolutional Networks", WACV 2018. With the score
 * taken as exp(y), the higher derivatives are powers of the first (eq. 19),
 * which gives the closed form pytorch-grad-cam uses:
 *
 *   a_c,ij = g² / (2 g² + S_c g³),   g = ∂y/∂A_c,ij, S_c = Σ_ab A_c,ab
 *   a_c,ij = 0 where that denominator is exactly 0 (no epsilon)
 *   w_c    = Σ_ij a_c,ij ReLU (g)
 *   L      = ReLU (Σ_c w_c A_c)
 *
 * (tests/reference/CONVENTIONS.md; pytorch-grad-cam adds ε = 1e-6 to the
 * denominator, which this project's reference does not.)
 */
#include "gz-explain-private.h"

void
gz_gradcampp_weights (int64_t c, int64_t hw, const float *a, const float *g, float *w)
{
  for (int64_t k = 0; k < c; k++)
    {
      const float *ak = a + k * hw, *gk = g + k * hw;
      float sum_a = 0;
      for (int64_t p = 0; p < hw; p++)
        sum_a += ak[p];
      double s = 0;
      for (int64_t p = 0; p < hw; p++)
        {
          float gv = gk[p];
          if (gv <= 0) /* ReLU(g) = 0, and a = 0 where g = 0 */
            continue;
          float g2 = gv * gv, g3 = g2 * gv;
          float den = 2.0f * g2 + sum_a * g3;
          if (den == 0)
            continue;
          s += (double) (g2 / den * gv);
        }
      w[k] = (float) s;
    }
}

GzStatus
gz_explain_gradcampp (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err)
{
  return gz_explain_weighted_cam (ctx, session, gz_gradcampp_weights, raw, err);
}
