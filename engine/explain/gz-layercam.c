/* gz-layercam.c — LayerCAM
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Jiang et al., "LayerCAM: Exploring Hierarchical Class Activation Maps for
 * Localization", IEEE TIP 30, 2021, eq. 5–6: each location is weighted by its
 * own positive gradient,
 *
 *   L_ij = ReLU (Σ_c ReLU (∂y/∂A_c,ij) · A_c,ij)
 */
#include "gz-explain-private.h"

void
gz_layercam_map (int64_t c, int64_t hw, const float *a, const float *g, float *out)
{
  for (int64_t p = 0; p < hw; p++)
    out[p] = 0;
  for (int64_t k = 0; k < c; k++)
    {
      const float *ak = a + k * hw, *gk = g + k * hw;
      for (int64_t p = 0; p < hw; p++)
        if (gk[p] > 0)
          out[p] += gk[p] * ak[p];
    }
}

GzStatus
gz_explain_layercam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err)
{
  const GzTensor *a;
  GzTensor *g, *map;
  GzStatus st = gz_explain_act_grad (ctx, session, &a, &g, &map, err);
  if (st != GZ_OK)
    return st;
  gz_layercam_map (a->dims[1], a->dims[2] * a->dims[3], gz_tensor_f (a), gz_tensor_f (g),
                   gz_tensor_f (map));
  gz_tensor_free (g);
  *raw = map;
  return GZ_OK;
}
