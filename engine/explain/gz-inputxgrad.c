/* gz-inputxgrad.c — Input × Gradient
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Shrikumar et al., "Not Just a Black Box: Learning Important Features
 * Through Propagating Activation Differences", arXiv:1605.01713 (2016), and
 * Captum's InputXGradient: the input times the gradient of the class score
 * with respect to it, summed over the colour channels,
 *
 *   R_ij = Σ_ch x_ch,ij · ∂y/∂x_ch,ij
 *
 * x is the preprocessed input tensor (what the model sees). The sum is signed:
 * the driver's ReLU keeps the pixels that raise the score.
 */
#include "gz-explain-private.h"

GzStatus
gz_explain_inputxgrad (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err)
{
  const GzTensor *x = gz_session_input (session);
  if (x == NULL)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "no input to explain");
  GzTensor *g;
  GzStatus st = gz_explain_input_gradient (ctx, session, &g, err);
  if (st != GZ_OK)
    return st;
  if (gz_tensor_numel (g) != gz_tensor_numel (x))
    {
      gz_tensor_free (g);
      return gz_error_set (err, GZ_ERR_SHAPE, "the input gradient does not have the input's shape");
    }
  int64_t c = g->dims[1], hw = g->dims[2] * g->dims[3];
  GzTensor *map = gz_explain_new_map (g->dims[2], g->dims[3], err);
  if (map == NULL)
    {
      gz_tensor_free (g);
      return err != NULL ? err->code : GZ_ERR_NOMEM;
    }
  const float *gv = gz_tensor_f (g), *xv = gz_tensor_f (x);
  float *m = gz_tensor_f (map);
  for (int64_t p = 0; p < hw; p++)
    {
      double s = 0;
      for (int64_t k = 0; k < c; k++)
        s += (double) xv[k * hw + p] * (double) gv[k * hw + p];
      m[p] = (float) s;
    }
  gz_tensor_free (g);
  *raw = map;
  return GZ_OK;
}
