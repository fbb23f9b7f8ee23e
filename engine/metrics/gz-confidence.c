/* gz-confidence.c — Average Drop and Increase in Confidence
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Chattopadhay, Sarkar, Howlader and Balasubramanian, "Grad-CAM++:
 * Generalized Gradient-based Visual Explanations for Deep Convolutional
 * Networks", WACV 2018, section 6.1: the "explanation map" E_c ∘ x keeps the
 * input where the map is high. With y the class probability on the input and
 * o on E_c ∘ x:
 *
 *   Average Drop          = Σ_i max(0, y_i − o_i) / y_i · 100 / N
 *   Increase in Confidence = Σ_i [o_i > y_i] · 100 / N
 *
 * For one image (N = 1) both are returned here, with o − y; a caller averages
 * over a set. The product is in the normalised input space (every channel
 * times the map at input resolution, clamped to [0,1]), as TorchCAM's
 * ClassificationMetric does (cam * input_tensor). Both images run as one
 * batch of 2 (or one by one for a fixed-batch export).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gz-metrics-private.h"

GzStatus
gz_metric_confidence (const GzModel *model, const GzTensor *input, const GzTensor *map,
                      int class_index, const GzMetricOptions *options, GzConfidence *out,
                      GzError *err)
{
  if (options == NULL || out == NULL)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "confidence: no options or result");
  GzMetricRunner r;
  GzStatus st
      = gz_metric_runner_init (&r, model, input, class_index, options, 2, "confidence", err);
  if (st != GZ_OK)
    {
      gz_metric_runner_clear (&r);
      return st;
    }
  int64_t plane = r.height * r.width, per = r.channels * plane;
  GzTensor *m = gz_metric_map_at (map, r.height, r.width, err);
  if (m == NULL)
    {
      st = err != NULL && err->code != GZ_OK ? err->code : GZ_ERR_NOMEM;
      gz_metric_runner_clear (&r);
      return st;
    }
  const float *x = gz_tensor_f (input), *mv = gz_tensor_f (m);
  double probs[2];
  int64_t nb = r.batch_size >= 2 ? 2 : 1;
  memcpy (gz_metric_runner_slot (&r, 0), x, (size_t) per * sizeof (float));
  float *masked = nb == 2 ? gz_metric_runner_slot (&r, 1) : NULL;
  if (nb == 1 && (st = gz_metric_runner_score (&r, 1, probs, err)) == GZ_OK)
    masked = gz_metric_runner_slot (&r, 0);
  if (st == GZ_OK)
    {
      for (int64_t p = 0; p < plane; p++)
        {
          float v = isnan (mv[p]) ? 0.0f : mv[p] < 0 ? 0.0f : mv[p] > 1 ? 1.0f : mv[p];
          for (int64_t ch = 0; ch < r.channels; ch++)
            masked[ch * plane + p] = x[ch * plane + p] * v;
        }
      st = nb == 2 ? gz_metric_runner_score (&r, 2, probs, err)
                   : gz_metric_runner_score (&r, 1, probs + 1, err);
    }
  if (st == GZ_OK)
    st = gz_metric_progress (&r, 1.0, err);
  if (st == GZ_OK)
    {
      double y = probs[0], o = probs[1];
      out->y = y;
      out->o = o;
      out->average_drop = y > 0 ? (y - o > 0 ? y - o : 0) / y * 100.0 : 0.0;
      out->increase_in_confidence = o > y ? 100.0 : 0.0;
      out->confidence_change = o - y;
    }
  gz_tensor_free (m);
  gz_metric_runner_clear (&r);
  return st;
}
