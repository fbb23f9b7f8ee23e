/* gz-smooth.c — SmoothGrad averaging for any method
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Smilkov et al., "SmoothGrad: removing noise by adding noise", arXiv:1706.03825
 * (2017), eq. 3: the average of a map over noisy copies of the input,
 *
 *   M̂(x) = (1/n) Σ_i M (x + N(0, σ²)),    σ = smooth_sigma · (max x − min x)
 *
 * M is the method's raw map (before its ReLU and normalisation, which the
 * driver applies to the average). Each copy runs its forward on a scratch
 * session, so the caller's forward stays as it was; the noise comes from a
 * fixed-seed generator, so the same call gives the same map.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gz-explain-private.h"
#include "gz-random.h"

#define GZ_SMOOTH_SEED 0x67617a65ull /* "gaze" */

GzStatus
gz_explain_smooth (GzExplainCtx *ctx, GzExplainMethodFn fn, GzTensor **raw, GzError *err)
{
  const GzTensor *input = gz_session_input (ctx->session);
  if (input == NULL)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "no input to add noise to");
  int n = ctx->options->smooth_samples;
  int64_t numel = gz_tensor_numel (input);
  const float *x = gz_tensor_f (input);
  float lo = x[0], hi = x[0];
  for (int64_t i = 1; i < numel; i++)
    {
      lo = x[i] < lo ? x[i] : lo;
      hi = x[i] > hi ? x[i] : hi;
    }
  double sigma = (double) ctx->options->smooth_sigma * (double) (hi - lo);
  bool pixel = gz_method_needs_input_gradient (ctx->method);
  const char *keep = pixel ? "*" : ctx->layer;

  GzSession *scratch = NULL;
  GzStatus st = gz_session_new (ctx->model, &scratch, err);
  if (st != GZ_OK)
    return st;
  GzTensor *noisy = gz_tensor_copy (input, err);
  GzTensor *sum = NULL;
  if (noisy == NULL)
    {
      st = err != NULL ? err->code : GZ_ERR_NOMEM;
      goto out;
    }
  uint64_t rng = GZ_SMOOTH_SEED;
  double base = ctx->progress_base, span = ctx->progress_span;
  for (int s = 0; s < n; s++)
    {
      float *xn = gz_tensor_f (noisy);
      for (int64_t i = 0; i < numel; i++)
        xn[i] = x[i] + (float) (sigma * gz_random_normal (&rng));
      double t0 = gz_explain_now_ms ();
      st = gz_session_forward (scratch, noisy, keep, err);
      ctx->forward_ms += gz_explain_now_ms () - t0;
      if (st != GZ_OK)
        goto out;
      /* A long inner method (none today) reports within this copy's share. */
      ctx->progress_base = base + span * s / n;
      ctx->progress_span = span / n;
      GzTensor *one = NULL;
      st = fn (ctx, scratch, &one, err);
      ctx->progress_base = base;
      ctx->progress_span = span;
      if (st != GZ_OK)
        goto out;
      if (sum == NULL)
        sum = one;
      else
        {
          if (gz_tensor_numel (one) != gz_tensor_numel (sum))
            {
              gz_tensor_free (one);
              st = gz_error_set (err, GZ_ERR_SHAPE, "SmoothGrad maps differ in shape");
              goto out;
            }
          float *acc = gz_tensor_f (sum);
          const float *v = gz_tensor_f (one);
          for (int64_t i = 0, m = gz_tensor_numel (sum); i < m; i++)
            acc[i] += v[i];
          gz_tensor_free (one);
        }
      st = gz_explain_progress (ctx, (double) (s + 1) / n, err);
      if (st != GZ_OK)
        goto out;
    }
  float *acc = gz_tensor_f (sum);
  for (int64_t i = 0, m = gz_tensor_numel (sum); i < m; i++)
    acc[i] /= (float) n;
  *raw = sum;
  sum = NULL;
  st = GZ_OK;
out:
  gz_tensor_free (sum);
  gz_tensor_free (noisy);
  gz_session_free (scratch);
  return st;
}
