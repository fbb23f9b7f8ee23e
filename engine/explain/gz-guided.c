/* gz-guided.c — Guided Backpropagation and Guided Grad-CAM (pixel resolution)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Springenberg et al., "Striving for Simplicity: The All Convolutional Net",
 * ICLR 2015 workshop, §3.4: the gradient of the logit with respect to the
 * input, where every ReLU passes back only positive gradients at positive
 * inputs:  R_l = 1[f_l > 0] · 1[R_{l+1} > 0] · R_{l+1}
 * (gz_session_backward with GZ_RELU_GUIDED, after a forward keeping "*").
 *
 * Selvaraju et al., Grad-CAM (ICCV 2017), §3.1: Guided Grad-CAM is the
 * element-wise product of guided backpropagation with the Grad-CAM map
 * upsampled to the input (bilinear, then ReLU and [0,1] normalisation).
 *
 * Both give a signed [C,H,W] gradient; the map shown is one value per pixel:
 * reduce_channels below.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gz-explain-private.h"

/* One value per pixel: the largest magnitude over the input channels
 * (Simonyan et al. 2014's saliency convention). */
static GzTensor *
reduce_channels (const GzTensor *g, GzError *err)
{
  int64_t c = g->dims[1], h = g->dims[2], w = g->dims[3], hw = h * w;
  GzTensor *map = gz_explain_new_map (h, w, err);
  if (map == NULL)
    return NULL;
  float *m = gz_tensor_f (map);
  const float *gv = gz_tensor_f (g);
  for (int64_t p = 0; p < hw; p++)
    {
      float best = 0;
      for (int64_t k = 0; k < c; k++)
        {
          float v = fabsf (gv[k * hw + p]);
          if (v > best)
            best = v;
        }
      m[p] = best;
    }
  return map;
}

static GzStatus
guided_gradient (GzExplainCtx *ctx, GzSession *session, GzTensor **grad, GzError *err)
{
  GzTensor *go = gz_explain_grad_output (ctx, 1, err);
  if (go == NULL)
    return err != NULL ? err->code : GZ_ERR_NOMEM;
  double t0 = gz_explain_now_ms ();
  GzStatus st = gz_session_backward (session, go, NULL, GZ_RELU_GUIDED, grad, err);
  ctx->backward_ms += gz_explain_now_ms () - t0;
  gz_tensor_free (go);
  if (st != GZ_OK)
    return st;
  if ((*grad)->ndim != 4 || (*grad)->dims[0] != 1 || (*grad)->dims[2] != ctx->input_height
      || (*grad)->dims[3] != ctx->input_width)
    {
      gz_tensor_free (*grad);
      *grad = NULL;
      return gz_error_set (err, GZ_ERR_SHAPE, "the input gradient is not [1,C,H,W]");
    }
  return GZ_OK;
}

GzStatus
gz_explain_guided_backprop (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err)
{
  GzTensor *g;
  GzStatus st = guided_gradient (ctx, session, &g, err);
  if (st != GZ_OK)
    return st;
  *raw = reduce_channels (g, err);
  gz_tensor_free (g);
  return *raw != NULL ? GZ_OK : (err != NULL ? err->code : GZ_ERR_NOMEM);
}

GzStatus
gz_explain_guided_gradcam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err)
{
  GzTensor *cam = NULL, *up = NULL, *g = NULL;
  GzStatus st = gz_explain_gradcam (ctx, session, &cam, err);
  if (st != GZ_OK)
    return st;
  up = gz_map_resize (cam, ctx->input_width, ctx->input_height, err);
  gz_tensor_free (cam);
  if (up == NULL)
    return err != NULL && err->code != GZ_OK ? err->code : GZ_ERR_NOMEM;
  float *u = gz_tensor_f (up);
  int64_t hw = gz_tensor_numel (up);
  for (int64_t p = 0; p < hw; p++)
    u[p] = u[p] > 0 ? u[p] : 0;
  gz_explain_normalise (u, hw);
  st = guided_gradient (ctx, session, &g, err);
  if (st != GZ_OK)
    {
      gz_tensor_free (up);
      return st;
    }
  float *gv = gz_tensor_f (g);
  for (int64_t k = 0; k < g->dims[1]; k++)
    for (int64_t p = 0; p < hw; p++)
      gv[k * hw + p] *= u[p];
  gz_tensor_free (up);
  *raw = reduce_channels (g, err);
  gz_tensor_free (g);
  return *raw != NULL ? GZ_OK : (err != NULL ? err->code : GZ_ERR_NOMEM);
}
