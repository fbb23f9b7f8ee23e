/* gz-hirescam.c — HiResCAM
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Draelos & Carin, "Use HiResCAM instead of Grad-CAM for faithful explanations
 * of convolutional neural networks", arXiv:2011.08891 (2020): the gradient
 * multiplies the activation element-wise instead of being averaged first,
 *
 *   L_ij = ReLU (Σ_c ∂y/∂A_c,ij · A_c,ij)
 *
 * At a layer followed by global average pooling and one linear layer this is
 * CAM scaled by 1/(h·w), like Grad-CAM.
 */
#include "gz-explain-private.h"

void
gz_hirescam_map (int64_t c, int64_t hw, const float *a, const float *g, float *out)
{
  for (int64_t p = 0; p < hw; p++)
    out[p] = 0;
  for (int64_t k = 0; k < c; k++)
    {
      const float *ak = a + k * hw, *gk = g + k * hw;
      for (int64_t p = 0; p < hw; p++)
        out[p] += gk[p] * ak[p];
    }
}

GzStatus
gz_explain_hirescam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err)
{
  const GzTensor *a;
  GzTensor *g, *map;
  GzStatus st = gz_explain_act_grad (ctx, session, &a, &g, &map, err);
  if (st != GZ_OK)
    return st;
  gz_hirescam_map (a->dims[1], a->dims[2] * a->dims[3], gz_tensor_f (a), gz_tensor_f (g),
                   gz_tensor_f (map));
  gz_tensor_free (g);
  *raw = map;
  return GZ_OK;
}
