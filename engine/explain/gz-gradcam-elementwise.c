/* gz-gradcam-elementwise.c — Grad-CAM element-wise
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * pytorch-grad-cam's GradCAMElementWise (Gildenblat et al., the
 * pytorch-grad-cam library, 2021): like HiResCAM (Draelos & Carin 2020) the
 * gradient multiplies the activation at each location instead of being
 * averaged as in Grad-CAM (Selvaraju et al. 2017), but each product is
 * rectified before the channels are summed:
 *
 *   L = Σ_c ReLU (G_c ⊙ A_c)
 *
 * so one channel's negative evidence cannot cancel another's positive one.
 */
#include "gz-explain-private.h"

GzStatus
gz_explain_gradcam_elementwise (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err)
{
  const GzTensor *a;
  GzTensor *g, *map;
  GzStatus st = gz_explain_act_grad (ctx, session, &a, &g, &map, err);
  if (st != GZ_OK)
    return st;
  int64_t c = a->dims[1], hw = a->dims[2] * a->dims[3];
  const float *av = gz_tensor_f (a), *gv = gz_tensor_f (g);
  float *out = gz_tensor_f (map);
  for (int64_t p = 0; p < hw; p++)
    {
      double s = 0;
      for (int64_t k = 0; k < c; k++)
        {
          double v = (double) gv[k * hw + p] * (double) av[k * hw + p];
          s += v > 0 ? v : 0;
        }
      out[p] = (float) s;
    }
  gz_tensor_free (g);
  *raw = map;
  return GZ_OK;
}
