/* gz-ablationcam.c — Ablation-CAM
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Desai & Ramaswamy, "Ablation-CAM: Visual Explanations for Deep
 * Convolutional Network via Gradient-free Localization", WACV 2020, eq. 3:
 * a channel matters by how much the class score drops when it is removed,
 *
 *   w_c = (y − y_c) / y      y: score of the image, y_c: score with A_c set to 0
 *   L   = ReLU (Σ_c w_c A_c)
 *
 * (y is the pre-softmax logit; dividing by a negative y flips the weights,
 * as in the paper; y = 0 gives all weights 0.) Only the part of the network after
 * the layer runs again, in batches of ablated copies (gz_session_run_from;
 * on models exported with a fixed batch of 1 that part is planned at the
 * batch on its own, or, when it has the 1 baked in, run one copy at a time).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gz-explain-private.h"

GzStatus
gz_explain_ablationcam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err)
{
  GzTailInfo tail;
  GzStatus st = gz_session_tail_info (session, ctx->layer, &tail, err);
  if (st != GZ_OK)
    return st;
  if (!tail.ready)
    {
      /* The run reads tensors from before the layer that were not kept. */
      st = gz_explain_ensure_forward (ctx, session, GZ_NEED_ALL, err);
      if (st != GZ_OK)
        return st;
    }
  const GzTensor *a;
  st = gz_explain_activation (ctx, session, &a, err);
  if (st != GZ_OK)
    return st;
  int64_t c = a->dims[1], h = a->dims[2], w = a->dims[3], hw = h * w;
  int64_t nb = gz_explain_batch_size (ctx, tail.image_bytes + c * hw * 4, 256);
  if (nb > c)
    nb = c;
  int64_t bdims[4] = { nb, c, h, w };
  GzTensor *batch = gz_tensor_new (GZ_DTYPE_FLOAT, 4, bdims, err);
  float *weights = malloc ((size_t) c * sizeof *weights);
  GzTensor *map = gz_explain_new_map (h, w, err);
  if (batch == NULL || weights == NULL || map == NULL)
    {
      st = gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
      goto out;
    }
  const float *av = gz_tensor_f (a);
  float y = ctx->score;
  for (int64_t k0 = 0, n = 0; k0 < c; k0 += n)
    {
      n = c - k0 < nb ? c - k0 : nb;
      for (int64_t i = 0; i < n; i++)
        {
          float *dst = gz_tensor_f (batch) + i * c * hw;
          memcpy (dst, av, (size_t) (c * hw) * sizeof *dst);
          memset (dst + (k0 + i) * hw, 0, (size_t) hw * sizeof *dst);
        }
      GzTensor view = *batch;
      view.dims[0] = n;
      view.owns_data = false;
      GzTensor *logits = NULL;
      st = gz_session_run_from (session, ctx->layer, &view, &logits, err);
      if (st == GZ_ERR_SHAPE && n > 1)
        {
          /* A fixed-batch export whose part after the layer cannot take a
           * batch either (a Reshape with the 1 baked in): one copy at a time. */
          if (err != NULL)
            memset (err, 0, sizeof *err);
          nb = 1;
          n = 0;
          continue;
        }
      if (st != GZ_OK)
        goto out;
      for (int64_t i = 0; i < n; i++)
        {
          float yc = gz_explain_score_of (ctx, logits, i);
          weights[k0 + i] = y != 0 ? (y - yc) / y : 0.0f;
        }
      gz_tensor_free (logits);
      st = gz_explain_progress (ctx, (double) (k0 + n) / (double) c, err);
      if (st != GZ_OK)
        goto out;
    }
  gz_cam_weighted_sum (c, hw, av, weights, gz_tensor_f (map));
  *raw = map;
  map = NULL;
  st = GZ_OK;
out:
  gz_tensor_free (map);
  gz_tensor_free (batch);
  free (weights);
  return st;
}
