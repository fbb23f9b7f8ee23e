/* gz-occlusion.c — Occlusion
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks",
 * ECCV 2014, §4.2: slide a grey square over the image and watch the class
 * score fall. As Captum's Occlusion: a W×W window (every channel) moves in
 * steps of S from the top-left corner, at offsets 0, S, 2S, … while it fits
 * (⌊(H − W)/S⌋ + 1 rows of windows, likewise for columns); the window is set
 * to the baseline 0 (with ImageNet normalisation, the dataset-mean colour);
 * each pixel gets the drop of the score averaged over the windows covering it,
 *
 *   R_ij = mean over windows w ∋ (i,j) of  y(x) − y(x with w set to 0)
 *
 * and 0 where no window reaches (the right and bottom margins when S does not
 * divide H − W). Defaults W = 32, S = 16 (169 forwards at 224×224); both are
 * clipped to the input. y is the explained score (the logit).
 *
 * The occluded images run in batches on a scratch session, so the caller's
 * forward stays as it was, with progress and cancellation.
 */
#include <stdlib.h>
#include <string.h>

#include "gz-explain-private.h"

#define OCCLUSION_WINDOW 32
#define OCCLUSION_STRIDE 16

/* Scores of a batch of images, image by image when the plan takes no batch. */
static GzStatus
score_batch (GzExplainCtx *ctx, GzSession *scratch, GzTensor *batch, bool *one_by_one,
             float *scores, GzError *err)
{
  int64_t n = batch->dims[0];
  if (!*one_by_one)
    {
      GzStatus st = gz_session_forward (scratch, batch, NULL, err);
      if (st == GZ_OK)
        {
          const GzTensor *out = gz_session_output (scratch);
          if (out != NULL && gz_tensor_numel (out) == n * ctx->n_classes)
            {
              for (int64_t i = 0; i < n; i++)
                scores[i] = gz_explain_score_of (ctx, out, i);
              return GZ_OK;
            }
        }
      else if (st == GZ_ERR_NOMEM || st == GZ_ERR_CANCELLED || n == 1)
        return st;
      *one_by_one = true;
    }
  GzTensor one = *batch;
  one.dims[0] = 1;
  one.owns_data = false;
  int64_t per = gz_tensor_numel (&one);
  for (int64_t i = 0; i < n; i++)
    {
      one.data = gz_tensor_f (batch) + i * per;
      GzStatus st = gz_session_forward (scratch, &one, NULL, err);
      if (st != GZ_OK)
        return st;
      const GzTensor *out = gz_session_output (scratch);
      if (out == NULL || gz_tensor_numel (out) != ctx->n_classes)
        return gz_error_set (err, GZ_ERR_SHAPE, "Occlusion: the model's output changed size");
      scores[i] = gz_explain_score_of (ctx, out, 0);
    }
  return GZ_OK;
}

static int64_t
clip (int64_t v, int64_t hi)
{
  return v < 1 ? 1 : v > hi ? hi : v;
}

GzStatus
gz_explain_occlusion (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err)
{
  const GzTensor *input = gz_session_input (session);
  if (input == NULL || input->ndim != 4 || input->dims[0] != 1)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "Occlusion needs the [1,C,H,W] input");
  int64_t cin = input->dims[1], ih = input->dims[2], iw = input->dims[3];
  int64_t hw = ih * iw, per = cin * hw;
  int win = ctx->options->occlusion_window, step = ctx->options->occlusion_stride;
  if (win < 0 || step < 0)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "Occlusion: window and stride must be positive");
  int64_t wy = clip (win > 0 ? win : OCCLUSION_WINDOW, ih);
  int64_t wx = clip (win > 0 ? win : OCCLUSION_WINDOW, iw);
  int64_t sy = clip (step > 0 ? step : OCCLUSION_STRIDE, ih);
  int64_t sx = clip (step > 0 ? step : OCCLUSION_STRIDE, iw);
  int64_t ny = (ih - wy) / sy + 1, nx = (iw - wx) / sx + 1, total = ny * nx;

  const GzPlan *plan = gz_model_plan (ctx->model);
  int64_t act_bytes = plan != NULL ? plan->activation_bytes : 0;
  int64_t nb = gz_explain_batch_size (ctx, act_bytes, 32);
  if (nb > total)
    nb = total;
  GzSession *scratch = NULL;
  GzStatus st = gz_session_new (ctx->model, &scratch, err);
  if (st != GZ_OK)
    return st;
  int64_t bdims[4] = { nb, cin, ih, iw };
  GzTensor *batch = gz_tensor_new (GZ_DTYPE_FLOAT, 4, bdims, err);
  float *scores = malloc ((size_t) nb * sizeof *scores);
  double *sum = calloc ((size_t) hw, sizeof *sum);
  int *count = calloc ((size_t) hw, sizeof *count);
  GzTensor *map = gz_explain_new_map (ih, iw, err);
  if (batch == NULL || scores == NULL || sum == NULL || count == NULL || map == NULL)
    {
      st = gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
      goto out;
    }
  const float *x = gz_tensor_f (input);
  bool one_by_one = false;
  for (int64_t w0 = 0; w0 < total; w0 += nb)
    {
      int64_t n = total - w0 < nb ? total - w0 : nb;
      for (int64_t i = 0; i < n; i++)
        {
          int64_t y0 = ((w0 + i) / nx) * sy, x0 = ((w0 + i) % nx) * sx;
          float *dst = gz_tensor_f (batch) + i * per;
          memcpy (dst, x, (size_t) per * sizeof *dst);
          for (int64_t ch = 0; ch < cin; ch++)
            for (int64_t y = y0; y < y0 + wy; y++)
              memset (dst + ch * hw + y * iw + x0, 0, (size_t) wx * sizeof *dst);
        }
      GzTensor view = *batch;
      view.dims[0] = n;
      view.owns_data = false;
      /* The occluded forwards are the method's own work (method_ms), as
       * Score-CAM's masked ones. */
      st = score_batch (ctx, scratch, &view, &one_by_one, scores, err);
      if (st != GZ_OK)
        goto out;
      for (int64_t i = 0; i < n; i++)
        {
          int64_t y0 = ((w0 + i) / nx) * sy, x0 = ((w0 + i) % nx) * sx;
          double drop = (double) ctx->score - (double) scores[i];
          for (int64_t y = y0; y < y0 + wy; y++)
            for (int64_t xx = x0; xx < x0 + wx; xx++)
              {
                sum[y * iw + xx] += drop;
                count[y * iw + xx]++;
              }
        }
      ctx->forwards += n;
      st = gz_explain_progress (ctx, (double) (w0 + n) / (double) total, err);
      if (st != GZ_OK)
        goto out;
    }
  float *m = gz_tensor_f (map);
  for (int64_t p = 0; p < hw; p++)
    m[p] = count[p] > 0 ? (float) (sum[p] / count[p]) : 0.0f;
  *raw = map;
  map = NULL;
  st = GZ_OK;
out:
  gz_tensor_free (map);
  gz_tensor_free (batch);
  free (scores);
  free (sum);
  free (count);
  gz_session_free (scratch);
  return st;
}
