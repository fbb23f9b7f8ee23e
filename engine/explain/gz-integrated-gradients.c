/* gz-integrated-gradients.c — Integrated Gradients
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Sundararajan, Taly & Yan, "Axiomatic Attribution for Deep Networks", ICML
 * 2017, eq. 1 and its Riemann approximation (§ "Computing Integrated
 * Gradients"): the gradient integrated along the straight path from a
 * baseline x' to the input x,
 *
 *   IG_i = (x_i − x'_i) · ∫₀¹ ∂y/∂x_i (x' + α (x − x')) dα
 *        ≈ (x_i − x'_i) · Σ_k w_k ∂y/∂x_i (x' + α_k (x − x'))
 *
 * with the trapezoid rule on n = 50 points α_k = k/(n−1), w_k = 1/(n−1) and
 * half that at both ends (Captum's "riemann_trapezoid"). The baseline is the
 * zero input tensor (Captum's default; with ImageNet normalisation that is the
 * dataset-mean image). The map sums IG over the colour channels (signed; the
 * driver's ReLU keeps what raises the score).
 *
 * Completeness (the paper's axiom): Σ_i IG_i = y(x) − y(x'). What the sum
 * misses is reported as completeness_error = Σ_i IG_i − (y(x) − y(x')).
 *
 * The interpolated inputs run in batches (forward keeping every activation,
 * then one backward for the batch) on a scratch session, so the caller's
 * forward stays as it was; image by image when the plan takes no batch.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gz-explain-private.h"

#define IG_STEPS 50

/* Forward and backward of a batch; adds Σ_i weight_i ∂y/∂x (image i) to
 * acc and returns the batch's scores in scores. */
static GzStatus
gradient_batch (GzExplainCtx *ctx, GzSession *scratch, const GzTensor *batch, const double *weight,
                double *acc, float *scores, GzError *err)
{
  int64_t n = batch->dims[0], per = gz_tensor_numel (batch) / n;
  /* The interpolated forwards are the method's own work (method_ms), as
   * Score-CAM's masked ones; their backward passes count as backward_ms. */
  GzStatus st = gz_session_forward (scratch, batch, "*", err);
  if (st != GZ_OK)
    return st;
  const GzTensor *out = gz_session_output (scratch);
  if (out == NULL || gz_tensor_numel (out) != n * ctx->n_classes)
    return gz_error_set (err, GZ_ERR_SHAPE, "Integrated Gradients: the output changed size");
  for (int64_t i = 0; i < n; i++)
    scores[i] = gz_explain_score_of (ctx, out, i);
  GzTensor *go = gz_explain_grad_output (ctx, n, err);
  if (go == NULL)
    return err != NULL ? err->code : GZ_ERR_NOMEM;
  GzTensor *g = NULL;
  double t0 = gz_explain_now_ms ();
  st = gz_session_backward (scratch, go, NULL, GZ_RELU_GRADIENT, &g, err);
  ctx->backward_ms += gz_explain_now_ms () - t0;
  gz_tensor_free (go);
  if (st != GZ_OK)
    return st;
  if (gz_tensor_numel (g) != n * per)
    {
      gz_tensor_free (g);
      return gz_error_set (err, GZ_ERR_SHAPE, "the input gradient is not the input's shape");
    }
  const float *gv = gz_tensor_f (g);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < per; j++)
      acc[j] += weight[i] * (double) gv[i * per + j];
  gz_tensor_free (g);
  return GZ_OK;
}

GzStatus
gz_explain_integrated_gradients (GzExplainCtx *ctx, GzSession *session, GzTensor **raw,
                                 GzError *err)
{
  const GzTensor *input = gz_session_input (session);
  if (input == NULL || input->ndim != 4 || input->dims[0] != 1)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "Integrated Gradients needs the [1,C,H,W] input");
  int64_t cin = input->dims[1], ih = input->dims[2], iw = input->dims[3];
  int64_t hw = ih * iw, per = cin * hw;
  const float *x = gz_tensor_f (input);

  const GzPlan *plan = gz_model_plan (ctx->model);
  /* Every activation is kept, and the backward needs about as much again. */
  int64_t act_bytes = plan != NULL ? 2 * plan->activation_bytes : 0;
  int nb = gz_explain_batch_size (ctx, act_bytes, IG_STEPS);
  GzSession *scratch = NULL;
  GzStatus st = gz_session_new (ctx->model, &scratch, err);
  if (st != GZ_OK)
    return st;
  int64_t bdims[4] = { nb, cin, ih, iw };
  GzTensor *batch = gz_tensor_new (GZ_DTYPE_FLOAT, 4, bdims, err);
  double *acc = calloc ((size_t) per, sizeof *acc);
  double weight[IG_STEPS];
  float scores[IG_STEPS];
  GzTensor *map = gz_explain_new_map (ih, iw, err);
  if (batch == NULL || acc == NULL || map == NULL)
    {
      st = gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
      goto out;
    }
  float baseline_score = 0;
  for (int k0 = 0; k0 < IG_STEPS;)
    {
      int n = IG_STEPS - k0 < nb ? IG_STEPS - k0 : nb;
      for (int i = 0; i < n; i++)
        {
          int k = k0 + i;
          double alpha = (double) k / (IG_STEPS - 1);
          weight[i] = (k == 0 || k == IG_STEPS - 1 ? 0.5 : 1.0) / (IG_STEPS - 1);
          float *dst = gz_tensor_f (batch) + (int64_t) i * per;
          for (int64_t j = 0; j < per; j++)
            dst[j] = (float) (alpha * (double) x[j]); /* x' + α (x − x'), x' = 0 */
        }
      GzTensor view = *batch;
      view.dims[0] = n;
      view.owns_data = false;
      st = gradient_batch (ctx, scratch, &view, weight, acc, scores, err);
      if (st != GZ_OK && n > 1 && st != GZ_ERR_NOMEM && st != GZ_ERR_CANCELLED)
        {
          nb = 1; /* the plan does not take this batch size: image by image */
          continue;
        }
      if (st != GZ_OK)
        goto out;
      if (k0 == 0)
        baseline_score = scores[0];
      ctx->forwards += n;
      k0 += n;
      st = gz_explain_progress (ctx, (double) k0 / IG_STEPS, err);
      if (st != GZ_OK)
        goto out;
    }
  float *m = gz_tensor_f (map);
  double total = 0;
  for (int64_t p = 0; p < hw; p++)
    {
      double s = 0;
      for (int64_t ch = 0; ch < cin; ch++)
        s += (double) x[ch * hw + p] * acc[ch * hw + p];
      m[p] = (float) s;
      total += s;
    }
  ctx->completeness_error = total - ((double) ctx->score - (double) baseline_score);
  *raw = map;
  map = NULL;
  st = GZ_OK;
out:
  gz_tensor_free (map);
  gz_tensor_free (batch);
  free (acc);
  gz_session_free (scratch);
  return st;
}
