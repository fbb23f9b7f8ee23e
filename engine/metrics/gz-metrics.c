/* gz-metrics.c — what the faithfulness metrics share: batched scoring, ranking, blur, AUC
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The metrics run many forwards of modified inputs. They go in batches
 * through a scratch session of the model (the caller's sessions stay as they
 * were); a model whose plan takes no batch (a fixed-batch export) is run one
 * image at a time, as Score-CAM does.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gz-metrics-private.h"
#include "gz-session-private.h"

double
gz_metric_auc (const double *y, int n)
{
  if (n < 1)
    return 0.0;
  double s = 0.0;
  for (int i = 1; i < n; i++)
    s += y[i];
  s += 0.5 * (y[0] + y[n]);
  return s / (double) n;
}

/* Images per batch: within ~256 MiB of activations and the model's
 * activation limit (as gz_explain_batch_size), at most max. */
static int64_t
batch_size_for (const GzModel *model, const GzMetricOptions *o, int max)
{
  if (o->batch_size > 0)
    return o->batch_size < max ? o->batch_size : max;
  const GzPlan *plan = gz_model_plan (model);
  int64_t per = plan != NULL ? plan->activation_bytes : 0;
  int64_t n = per > 0 ? (256ll << 20) / per : max;
  int64_t limit = gz_model_limits (model)->max_activation_bytes;
  if (per > 0 && limit / per < n)
    n = limit / per;
  if (n < 1)
    n = 1;
  return n < max ? n : max;
}

GzStatus
gz_metric_runner_init (GzMetricRunner *r, const GzModel *model, const GzTensor *input,
                       int class_index, const GzMetricOptions *options, int max_batch,
                       const char *what, GzError *err)
{
  memset (r, 0, sizeof *r);
  r->model = model;
  r->options = options;
  r->class_index = class_index;
  r->what = what;
  if (model == NULL || input == NULL || options == NULL)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "%s: no model or input", what);
  if (input->dtype != GZ_DTYPE_FLOAT || input->ndim != 4 || input->dims[0] != 1
      || input->dims[1] < 1 || input->dims[2] < 1 || input->dims[3] < 1)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "%s needs a [1,C,H,W] float input", what);
  if (options->batch_size < 0 || options->batch_size > 4096)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "batch size must be in 0…4096, not %d",
                         options->batch_size);
  r->channels = input->dims[1];
  r->height = input->dims[2];
  r->width = input->dims[3];
  const GzValueInfo *out = gz_model_output (model);
  int64_t k = 1;
  for (int i = 1; out != NULL && i < out->ndim; i++)
    k *= out->dims[i] > 0 ? out->dims[i] : 1;
  r->n_classes = k;
  if (class_index < 0 || class_index >= k)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "%s: class %d is out of range (the model has %lld)",
                         what, class_index, (long long) k);
  r->batch_size = batch_size_for (model, options, max_batch < 1 ? 1 : max_batch);
  GzStatus st = gz_session_new (model, &r->session, err);
  if (st != GZ_OK)
    return st;
  int64_t dims[4] = { r->batch_size, r->channels, r->height, r->width };
  r->batch = gz_tensor_new (GZ_DTYPE_FLOAT, 4, dims, err);
  if (r->batch == NULL)
    return err != NULL ? err->code : GZ_ERR_NOMEM;
  r->rows = malloc ((size_t) (r->batch_size * k) * sizeof *r->rows);
  if (r->rows == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  return GZ_OK;
}

void
gz_metric_runner_clear (GzMetricRunner *r)
{
  gz_session_free (r->session);
  gz_tensor_free (r->batch);
  free (r->rows);
  memset (r, 0, sizeof *r);
}

float *
gz_metric_runner_slot (GzMetricRunner *r, int64_t i)
{
  return gz_tensor_f (r->batch) + i * r->channels * r->height * r->width;
}

GzStatus
gz_metric_progress (const GzMetricRunner *r, double fraction, GzError *err)
{
  if (r->options->progress == NULL)
    return GZ_OK;
  if (!r->options->progress (fraction < 0       ? 0
                                 : fraction > 1 ? 1
                                                : fraction,
                             r->options->progress_data))
    return gz_error_set (err, GZ_ERR_CANCELLED, "%s cancelled", r->what);
  return GZ_OK;
}

/* Logits of the first n batch images into r->rows. */
static GzStatus
forward_rows (GzMetricRunner *r, int64_t n, GzError *err)
{
  int64_t k = r->n_classes;
  GzTensor view = *r->batch;
  view.dims[0] = n;
  view.owns_data = false;
  if (!r->one_by_one)
    {
      GzStatus st = gz_session_forward (r->session, &view, NULL, err);
      if (st == GZ_OK)
        {
          const GzTensor *out = gz_session_output (r->session);
          if (out != NULL && out->ndim >= 1 && out->dims[0] == n && gz_tensor_numel (out) == n * k)
            {
              memcpy (r->rows, gz_tensor_f (out), (size_t) (n * k) * sizeof *r->rows);
              return GZ_OK;
            }
          if (n == 1)
            return gz_error_set (err, GZ_ERR_SHAPE, "%s: the model's output changed size", r->what);
        }
      else if (st == GZ_ERR_NOMEM || st == GZ_ERR_CANCELLED || n == 1)
        return st;
      r->one_by_one = true; /* the plan does not take this batch size */
    }
  view.dims[0] = 1;
  int64_t per = r->channels * r->height * r->width;
  for (int64_t i = 0; i < n; i++)
    {
      view.data = gz_tensor_f (r->batch) + i * per;
      GzStatus st = gz_session_forward (r->session, &view, NULL, err);
      if (st != GZ_OK)
        return st;
      const GzTensor *out = gz_session_output (r->session);
      if (out == NULL || gz_tensor_numel (out) != k)
        return gz_error_set (err, GZ_ERR_SHAPE, "%s: the model's output changed size", r->what);
      memcpy (r->rows + i * k, gz_tensor_f (out), (size_t) k * sizeof *r->rows);
    }
  return GZ_OK;
}

GzStatus
gz_metric_runner_score (GzMetricRunner *r, int64_t n, double *probs, GzError *err)
{
  GzStatus st = forward_rows (r, n, err);
  if (st != GZ_OK)
    return st;
  GzOutputKind kind = gz_model_output_kind (r->model);
  for (int64_t i = 0; i < n; i++)
    {
      double p
          = gz_logits_probability (r->rows + i * r->n_classes, r->n_classes, r->class_index, kind);
      probs[i] = r->options->negative && r->n_classes == 1 ? 1.0 - p : p;
    }
  return GZ_OK;
}

GzTensor *
gz_metric_map_at (const GzTensor *map, int64_t height, int64_t width, GzError *err)
{
  if (map == NULL || map->dtype != GZ_DTYPE_FLOAT || map->ndim != 2 || map->dims[0] < 1
      || map->dims[1] < 1)
    {
      gz_error_set (err, GZ_ERR_ARGUMENT, "the map must be a float [h,w] tensor");
      return NULL;
    }
  if (map->dims[0] == height && map->dims[1] == width)
    return gz_tensor_copy (map, err);
  return gz_map_resize (map, (int) width, (int) height, err);
}

typedef struct
{
  float v;
  int64_t i;
} Ranked;

static int
cmp_ranked (const void *pa, const void *pb)
{
  const Ranked *a = pa, *b = pb;
  bool na = isnan (a->v), nb = isnan (b->v);
  if (na != nb)
    return na ? 1 : -1;
  if (!na && a->v != b->v)
    return a->v > b->v ? -1 : 1;
  return a->i < b->i ? -1 : a->i > b->i;
}

int64_t *
gz_metric_rank (const float *values, int64_t n)
{
  Ranked *r = malloc ((size_t) (n > 0 ? n : 1) * sizeof *r);
  int64_t *order = malloc ((size_t) (n > 0 ? n : 1) * sizeof *order);
  if (r == NULL || order == NULL)
    {
      free (r);
      free (order);
      return NULL;
    }
  for (int64_t i = 0; i < n; i++)
    r[i] = (Ranked){ values[i], i };
  qsort (r, (size_t) n, sizeof *r, cmp_ranked);
  for (int64_t i = 0; i < n; i++)
    order[i] = r[i].i;
  free (r);
  return order;
}

bool
gz_metric_blur (const float *in, int64_t c, int64_t h, int64_t w, float sigma, int size, float *out)
{
  if (size < 1 || size > 255 || size % 2 == 0)
    return false;
  int rad = size / 2;
  double k[257];
  double sum = 0;
  for (int d = -rad; d <= rad; d++)
    {
      k[d + rad] = sigma > 0 ? exp (-(double) d * d / (2.0 * (double) sigma * sigma)) : d == 0;
      sum += k[d + rad];
    }
  for (int d = 0; d <= 2 * rad; d++)
    k[d] /= sum;
  double *tmp = malloc ((size_t) (h * w) * sizeof *tmp);
  if (tmp == NULL)
    return false;
  for (int64_t ch = 0; ch < c; ch++)
    {
      const float *src = in + ch * h * w;
      float *dst = out + ch * h * w;
      for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++)
          {
            double s = 0;
            for (int d = -rad; d <= rad; d++)
              if (x + d >= 0 && x + d < w)
                s += k[d + rad] * src[y * w + x + d];
            tmp[y * w + x] = s;
          }
      for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++)
          {
            double s = 0;
            for (int d = -rad; d <= rad; d++)
              if (y + d >= 0 && y + d < h)
                s += k[d + rad] * tmp[(y + d) * w + x];
            dst[y * w + x] = (float) s;
          }
    }
  free (tmp);
  return true;
}
