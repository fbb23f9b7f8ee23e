/* gz-saliency.c — Saliency (vanilla gradient)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Simonyan, Vedaldi & Zisserman, "Deep Inside Convolutional Networks:
 * Visualising Image Classification Models and Saliency Maps", ICLR workshop
 * 2014, §3.1: the magnitude of the gradient of the class score with respect
 * to the input pixels, one value per pixel by the largest magnitude over the
 * colour channels,
 *
 *   M_ij = max_ch | ∂y/∂x_ch,ij |
 *
 * (Captum's Saliency with abs=True gives |∂y/∂x| per channel; the channel
 * reduction is the paper's.) The true gradient through every ReLU, unlike
 * guided backpropagation; the map is at input resolution.
 */
#include <math.h>

#include "gz-explain-private.h"

GzStatus
gz_explain_saliency (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err)
{
  GzTensor *g;
  GzStatus st = gz_explain_input_gradient (ctx, session, &g, err);
  if (st != GZ_OK)
    return st;
  int64_t c = g->dims[1], hw = g->dims[2] * g->dims[3];
  GzTensor *map = gz_explain_new_map (g->dims[2], g->dims[3], err);
  if (map == NULL)
    {
      gz_tensor_free (g);
      return err != NULL ? err->code : GZ_ERR_NOMEM;
    }
  const float *gv = gz_tensor_f (g);
  float *m = gz_tensor_f (map);
  for (int64_t p = 0; p < hw; p++)
    {
      float best = 0;
      for (int64_t k = 0; k < c; k++)
        best = fmaxf (best, fabsf (gv[k * hw + p]));
      m[p] = best;
    }
  gz_tensor_free (g);
  *raw = map;
  return GZ_OK;
}
