/* gz-scorecam.c — Score-CAM
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Wang et al., "Score-CAM: Score-Weighted Visual Explanations for
 * Convolutional Neural Networks", CVPR Workshops 2020, eq. 3–8: each channel
 * of the layer, upsampled to the input and min-max normalised, masks the
 * input; the class score of the masked input weighs that channel:
 *
 *   M_k = norm (up (A_k)),    norm(u) = (u − min u) / (max u − min u + 1e-8)
 *   w_k = softmax (f (x ∘ M_k))_c     the probability of the target class c
 *                                     (its own sigmoid for a multi-label head)
 *                                     (sigmoid for a single-output model)
 *   L   = ReLU (Σ_k w_k A_k)
 *
 * up is bilinear with half-pixel centres; the mask multiplies every channel
 * of the normalised input, so masked-out pixels become the dataset mean. As
 * the authors' implementation and tests/reference/CONVENTIONS.md: no baseline
 * subtraction, no softmax over channels.
 *
 * The masked inputs run in batches on a scratch session (so the caller's
 * forward stays as it was), reporting progress and stopping when asked.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gz-explain-private.h"

/* Bilinear resize of one [h,w] plane to [H,W] with half-pixel centres, as
 * torch's interpolate (align_corners=False) and gz_map_resize, without
 * allocating per channel. */
static void
resize_plane (const float *src, int64_t h, int64_t w, float *dst, int64_t oh, int64_t ow)
{
  for (int64_t y = 0; y < oh; y++)
    {
      double sy = ((double) y + 0.5) * (double) h / (double) oh - 0.5;
      if (sy < 0)
        sy = 0;
      int64_t y0 = (int64_t) sy;
      if (y0 > h - 1)
        y0 = h - 1;
      int64_t y1 = y0 + 1 < h ? y0 + 1 : h - 1;
      float fy = (float) (sy - (double) y0);
      for (int64_t x = 0; x < ow; x++)
        {
          double sx = ((double) x + 0.5) * (double) w / (double) ow - 0.5;
          if (sx < 0)
            sx = 0;
          int64_t x0 = (int64_t) sx;
          if (x0 > w - 1)
            x0 = w - 1;
          int64_t x1 = x0 + 1 < w ? x0 + 1 : w - 1;
          float fx = (float) (sx - (double) x0);
          float top = (1 - fx) * src[y0 * w + x0] + fx * src[y0 * w + x1];
          float bot = (1 - fx) * src[y1 * w + x0] + fx * src[y1 * w + x1];
          dst[y * ow + x] = (1 - fy) * top + fy * bot;
        }
    }
}

/* The probability of the target class from one image's K logits, by the
 * model's output kind: the softmax over the classes, or the class's own
 * sigmoid for a multi-label head (gz_logits_probability). */
static float
probability_of (const GzExplainCtx *ctx, const float *l)
{
  if (ctx->n_classes == 1)
    {
      double score = ctx->negative ? -(double) l[0] : (double) l[0];
      return (float) (1.0 / (1.0 + exp (-score)));
    }
  GzOutputKind kind = gz_model_output_kind (gz_session_model (ctx->session));
  return (float) gz_logits_probability (l, ctx->n_classes, ctx->class_index, kind);
}

/* The masked forwards' logits do not depend on the class: they stay on the
 * caller's session (gz_session_set_memo), so explaining another class of the
 * same image and layer runs none of them again. */
typedef struct
{
  int layer_value;
  int64_t channels, n_classes;
  float *logits; /* [channels, n_classes]: of the input masked by each channel */
} ScoreMemo;

static void
score_memo_free (void *p)
{
  ScoreMemo *m = p;
  if (m != NULL)
    free (m->logits);
  free (m);
}

/* Runs `batch` on the scratch session, or image by image when the session
 * cannot take a batch; copies each image's logits to rows. */
static GzStatus
score_batch (GzExplainCtx *ctx, GzSession *scratch, GzTensor *batch, bool *one_by_one, float *rows,
             GzError *err)
{
  int64_t n = batch->dims[0], k = ctx->n_classes;
  if (!*one_by_one)
    {
      GzStatus st = gz_session_forward (scratch, batch, NULL, err);
      if (st == GZ_OK)
        {
          const GzTensor *out = gz_session_output (scratch);
          if (out != NULL && out->ndim >= 1 && out->dims[0] == n && gz_tensor_numel (out) == n * k)
            {
              memcpy (rows, gz_tensor_f (out), (size_t) (n * k) * sizeof *rows);
              return GZ_OK;
            }
        }
      else if (st == GZ_ERR_NOMEM || st == GZ_ERR_CANCELLED || n == 1)
        return st;
      *one_by_one = true; /* the plan does not take this batch size */
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
      if (out == NULL || gz_tensor_numel (out) != k)
        return gz_error_set (err, GZ_ERR_SHAPE, "Score-CAM: the model's output changed size");
      memcpy (rows + i * k, gz_tensor_f (out), (size_t) k * sizeof *rows);
    }
  return GZ_OK;
}

/* Fills memo->logits: one forward per distinct mask, in batches. */
static GzStatus
run_masked_forwards (GzExplainCtx *ctx, const GzTensor *input, const GzTensor *a, ScoreMemo *memo,
                     GzError *err)
{
  int64_t c = a->dims[1], h = a->dims[2], w = a->dims[3], nk = ctx->n_classes;
  int64_t cin = input->dims[1], ih = input->dims[2], iw = input->dims[3];
  int64_t plane = ih * iw, per_image = cin * plane;

  const GzPlan *plan = gz_model_plan (ctx->model);
  int64_t act_bytes = plan != NULL ? plan->activation_bytes : 0;
  int64_t nb = gz_explain_batch_size (ctx, act_bytes, 32);
  if (nb > c)
    nb = c;
  GzSession *scratch = NULL;
  GzStatus st = gz_session_new (ctx->model, &scratch, err);
  if (st != GZ_OK)
    return st;
  int64_t bdims[4] = { nb, cin, ih, iw };
  GzTensor *batch = gz_tensor_new (GZ_DTYPE_FLOAT, 4, bdims, err);
  float *mask = malloc ((size_t) plane * sizeof *mask);
  float *rows = malloc ((size_t) (nb * nk) * sizeof *rows);
  int64_t *todo = malloc ((size_t) c * sizeof *todo);
  if (batch == NULL || mask == NULL || rows == NULL || todo == NULL)
    {
      st = gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
      goto out;
    }
  const float *x = gz_tensor_f (input);
  const float *av = gz_tensor_f (a);
  /* A flat channel masks the whole input to 0: those share one forward. */
  int64_t n_todo = 0, n_flat = 0;
  for (int64_t k = 0; k < c; k++)
    {
      const float *ak = av + k * h * w;
      bool flat = true;
      for (int64_t p = 1; p < h * w && flat; p++)
        flat = ak[p] == ak[0];
      if (flat)
        n_flat++;
      else
        todo[n_todo++] = k;
    }
  bool one_by_one = false;
  if (n_flat > 0)
    {
      GzTensor zero = *batch;
      zero.dims[0] = 1;
      zero.owns_data = false;
      memset (batch->data, 0, (size_t) per_image * sizeof (float));
      st = score_batch (ctx, scratch, &zero, &one_by_one, rows, err);
      if (st != GZ_OK)
        goto out;
      for (int64_t k = 0; k < c; k++) /* the non-flat ones are overwritten below */
        memcpy (memo->logits + k * nk, rows, (size_t) nk * sizeof *rows);
    }
  for (int64_t k0 = 0; k0 < n_todo; k0 += nb)
    {
      int64_t n = n_todo - k0 < nb ? n_todo - k0 : nb;
      for (int64_t i = 0; i < n; i++)
        {
          int64_t k = todo[k0 + i];
          resize_plane (av + k * h * w, h, w, mask, ih, iw);
          float lo = mask[0], hi = mask[0];
          for (int64_t p = 1; p < plane; p++)
            {
              lo = mask[p] < lo ? mask[p] : lo;
              hi = mask[p] > hi ? mask[p] : hi;
            }
          float denom = hi - lo + 1e-8f;
          float *dst = gz_tensor_f (batch) + i * per_image;
          for (int64_t ch = 0; ch < cin; ch++)
            for (int64_t p = 0; p < plane; p++)
              dst[ch * plane + p] = x[ch * plane + p] * ((mask[p] - lo) / denom);
        }
      GzTensor view = *batch;
      view.dims[0] = n;
      view.owns_data = false;
      st = score_batch (ctx, scratch, &view, &one_by_one, rows, err);
      if (st != GZ_OK)
        goto out;
      for (int64_t i = 0; i < n; i++)
        memcpy (memo->logits + todo[k0 + i] * nk, rows + i * nk, (size_t) nk * sizeof *rows);
      ctx->forwards += n;
      st = gz_explain_progress (ctx, (double) (k0 + n) / (double) n_todo, err);
      if (st != GZ_OK)
        goto out;
    }
  ctx->forwards += n_flat > 0;
  st = GZ_OK;
out:
  gz_tensor_free (batch);
  free (mask);
  free (rows);
  free (todo);
  gz_session_free (scratch);
  return st;
}

GzStatus
gz_explain_scorecam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err)
{
  const GzTensor *a;
  GzStatus st = gz_explain_activation (ctx, session, &a, err);
  if (st != GZ_OK)
    return st;
  const GzTensor *input = gz_session_input (session);
  if (input == NULL || input->ndim != 4 || input->dims[0] != 1)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "Score-CAM needs the [1,C,H,W] input");
  int64_t c = a->dims[1], h = a->dims[2], w = a->dims[3];

  /* SmoothGrad runs methods on scratch sessions of noisy copies: those have
   * no memo worth keeping, but the lookup is harmless. */
  ScoreMemo *memo = gz_session_memo (session, score_memo_free);
  if (memo == NULL || memo->layer_value != ctx->layer_value || memo->channels != c
      || memo->n_classes != ctx->n_classes)
    {
      memo = calloc (1, sizeof *memo);
      if (memo == NULL
          || (memo->logits = malloc ((size_t) (c * ctx->n_classes) * sizeof (float))) == NULL)
        {
          score_memo_free (memo);
          return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
        }
      memo->layer_value = ctx->layer_value;
      memo->channels = c;
      memo->n_classes = ctx->n_classes;
      if ((st = run_masked_forwards (ctx, input, a, memo, err)) != GZ_OK)
        {
          score_memo_free (memo);
          return st;
        }
      gz_session_set_memo (session, memo, score_memo_free);
    }

  float *scores = malloc ((size_t) c * sizeof *scores);
  GzTensor *map = gz_explain_new_map (h, w, err);
  if (scores == NULL || map == NULL)
    {
      free (scores);
      gz_tensor_free (map);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  for (int64_t k = 0; k < c; k++)
    scores[k] = probability_of (ctx, memo->logits + k * ctx->n_classes);
  gz_cam_weighted_sum (c, h * w, gz_tensor_f (a), scores, gz_tensor_f (map));
  free (scores);
  *raw = map;
  return GZ_OK;
}
