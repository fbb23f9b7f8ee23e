/* gz-xgradcam.c — XGrad-CAM (Axiom-based Grad-CAM)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Fu et al., "Axiom-based Grad-CAM: Towards Accurate Visualization and
 * Explanation of CNNs", BMVC 2020, eq. 12: the weights that best satisfy the
 * sensitivity and conservation axioms are activation-weighted gradients
 *
 *   w_c = Σ_ij (A_c,ij / S_c) ∂y/∂A_c,ij,   S_c = Σ_ab A_c,ab;  w_c = 0 if S_c = 0
 *   L   = ReLU (Σ_c w_c A_c)
 *
 * (No epsilon, as tests/reference/CONVENTIONS.md; pytorch-grad-cam adds 1e-7.)
 */
#include "gz-explain-private.h"

void
gz_xgradcam_weights (int64_t c, int64_t hw, const float *a, const float *g, float *w)
{
  for (int64_t k = 0; k < c; k++)
    {
      const float *ak = a + k * hw, *gk = g + k * hw;
      double sum_a = 0, num = 0;
      for (int64_t p = 0; p < hw; p++)
        {
          sum_a += ak[p];
          num += (double) ak[p] * gk[p];
        }
      w[k] = sum_a != 0 ? (float) (num / sum_a) : 0.0f;
    }
}

GzStatus
gz_explain_xgradcam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err)
{
  return gz_explain_weighted_cam (ctx, session, gz_xgradcam_weights, raw, err);
}
