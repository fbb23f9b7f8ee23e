/* gz-gradcam.c — Grad-CAM
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
 * Gradient-based Localization", ICCV 2017, eq. 1–2:
 *
 *   α_c = (1/Z) Σ_ij ∂y/∂A_c,ij        (global-average-pooled gradients)
 *   L   = ReLU (Σ_c α_c A_c)
 *
 * y is the pre-softmax logit of the target class. The raw map is the sum
 * before the ReLU, which the driver applies after upsampling.
 */
#include "gz-explain-private.h"

void
gz_gradcam_weights (int64_t c, int64_t hw, const float *g, float *w)
{
  for (int64_t k = 0; k < c; k++)
    {
      double s = 0;
      for (int64_t p = 0; p < hw; p++)
        s += g[k * hw + p];
      w[k] = (float) (s / (double) hw);
    }
}

static void
gradcam_weights (int64_t c, int64_t hw, const float *a, const float *g, float *w)
{
  (void) a;
  gz_gradcam_weights (c, hw, g, w);
}

GzStatus
gz_explain_gradcam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err)
{
  return gz_explain_weighted_cam (ctx, session, gradcam_weights, raw, err);
}
