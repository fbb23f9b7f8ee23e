/* gaze-metrics.h — faithfulness metrics of an explanation map (issue 16)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Does the model rely on the regions a map points at? Each metric changes the
 * input according to the map and asks the model again (many forwards, run in
 * batches on a scratch session of the model, with progress and cancellation
 * as Score-CAM has). Implementations: engine/metrics/, one file per metric.
 *
 * Everything happens in the preprocessed input-tensor space: `input` is the
 * [1,C,H,W] tensor the model sees (after resize, crop and mean/std), `map` an
 * [h,w] explanation map (gz_explain's ex->map, normalised to [0,1] at input
 * resolution; another size is upsampled bilinearly with half-pixel centres).
 * "Zero" is therefore the dataset mean colour. The score of an image is the
 * probability of the class by the model's output kind
 * (gz_logits_probability; 1 − p for the negative class of a single output).
 *
 *   GzMetricOptions mo = GZ_METRIC_OPTIONS_INIT;
 *   double *curve = malloc ((mo.steps + 1) * sizeof *curve), auc;
 *   gz_metric_deletion (model, input, ex->map, ex->class_index, &mo, curve, &auc, &err);
 *
 * Conventions and their sources: tests/reference/CONVENTIONS.md.
 */
#pragma once

#include "gaze-engine.h"

#ifdef __cplusplus
extern "C"
{
#endif

  /* What replaces (deletion) or starts (insertion) the pixels. */
  typedef enum
  {
    GZ_SUBSTRATE_ZERO, /* 0 in the input tensor: the dataset mean colour */
    GZ_SUBSTRATE_BLUR, /* the input blurred by a Gaussian (blur_sigma, blur_size) */
  } GzSubstrate;

  typedef struct
  {
    int steps; /* deletion/insertion: the curve has steps + 1 points (default 50) */
    GzSubstrate deletion_baseline; /* default GZ_SUBSTRATE_ZERO (RISE) */
    GzSubstrate insertion_start; /* default GZ_SUBSTRATE_BLUR (RISE) */
    float blur_sigma; /* pixels (default 5, RISE's gkern(11, 5)) */
    int blur_size; /* odd kernel width (default 11) */
    bool negative; /* single-output models: score the negative class (1 − p) */
    int batch_size; /* forwards per batch (0: automatic) */
    GzProgressFn progress;
    void *progress_data;
  } GzMetricOptions;

#define GZ_METRIC_OPTIONS_INIT                                               \
  {                                                                          \
    50, GZ_SUBSTRATE_ZERO, GZ_SUBSTRATE_BLUR, 5.0f, 11, false, 0, NULL, NULL \
  }

  /* Deletion (Petsiuk et al., RISE, BMVC 2018): the pixels ranked by the map,
   * highest first (equal values: lower index first), go to the baseline in
   * `steps` steps; point i (i = 0…steps) has the first ⌊i·H·W/steps⌋ pixels
   * replaced, all channels. curve[i] is the class probability at point i
   * (steps + 1 values, caller-allocated); auc the trapezoid area over
   * x_i = i/steps ∈ [0,1]. Lower is better. */
  GzStatus gz_metric_deletion (const GzModel *model, const GzTensor *input, const GzTensor *map,
                               int class_index, const GzMetricOptions *options, double *curve,
                               double *auc, GzError *err);
  /* Insertion: starts from the insertion_start image and reveals the input's
   * pixels in the same order. Higher is better. */
  GzStatus gz_metric_insertion (const GzModel *model, const GzTensor *input, const GzTensor *map,
                                int class_index, const GzMetricOptions *options, double *curve,
                                double *auc, GzError *err);

  /* Average Drop and Increase in Confidence (Chattopadhay et al., Grad-CAM++,
   * WACV 2018) of one image: y the probability on the input, o on the input
   * multiplied by the map (every channel; the map clamped to [0,1]).
   * average_drop = max(0, y − o) / y · 100 (0 when y is 0);
   * increase_in_confidence = 100 when o > y, else 0 (means over a set of
   * images give the paper's percentages). */
  typedef struct
  {
    double y, o;
    double average_drop;
    double increase_in_confidence;
    double confidence_change; /* o − y */
  } GzConfidence;

  GzStatus gz_metric_confidence (const GzModel *model, const GzTensor *input, const GzTensor *map,
                                 int class_index, const GzMetricOptions *options, GzConfidence *out,
                                 GzError *err);

  /* ROAD, RemOve And Debias (Rong, Leemann, Borisov, Kasneci and Kasneci,
   * "A Consistent and Efficient Evaluation Strategy for Attribution
   * Methods", ICML 2022), as pytorch-grad-cam's ROADCombined: at each
   * percentile p (the share of pixels removed, in %), MoRF removes the pixels
   * whose map value is ≥ the (100 − p)-th percentile of the map, LeRF those
   * ≤ the p-th (numpy's linear percentile; NaN counts as lowest). The removed
   * pixels are filled by noisy linear imputation (gz_metric_road_impute) and
   * the class probability of the imputed image is the score. */
#define GZ_ROAD_MAX_PERCENTILES 99

  /* Called with each imputed image (C·H·W floats, valid during the call);
   * lerf false for MoRF; index into the percentiles. */
  typedef void (*GzRoadImageFn) (bool lerf, int index, const float *image, void *user_data);

  typedef struct
  {
    int n_percentiles; /* 1…GZ_ROAD_MAX_PERCENTILES (default 9) */
    double percentiles[GZ_ROAD_MAX_PERCENTILES]; /* in (0, 100), default 10, 20, …, 90 */
    double noise; /* std of the Gaussian noise added to the imputed values, in the
                     normalised input space (default 0.01, the paper's); 0: none */
    uint64_t seed; /* of the noise (default 0): equal seeds give equal images */
    GzRoadImageFn imputed; /* optional: sees every imputed image */
    void *imputed_data;
  } GzRoadOptions;

#define GZ_ROAD_OPTIONS_INIT                                       \
  {                                                                \
    9, { 10, 20, 30, 40, 50, 60, 70, 80, 90 }, 0.01, 0, NULL, NULL \
  }

  typedef struct
  {
    double y; /* the class probability on the input */
    double morf[GZ_ROAD_MAX_PERCENTILES]; /* probability with the top p % imputed */
    double lerf[GZ_ROAD_MAX_PERCENTILES]; /* probability with the bottom p % imputed */
    /* Means over the percentiles of (probability − y), as pytorch-grad-cam's
     * ROADMostRelevantFirstAverage / ROADLeastRelevantFirstAverage: MoRF low
     * (a large drop) and LeRF high are faithful. */
    double morf_mean, lerf_mean;
    double combined; /* (lerf_mean − morf_mean) / 2: ROADCombined; higher is better */
  } GzRoad;

  GzStatus gz_metric_road (const GzModel *model, const GzTensor *input, const GzTensor *map,
                           int class_index, const GzMetricOptions *options,
                           const GzRoadOptions *road, GzRoad *out, GzError *err);

  /* Noisy linear imputation (ROAD, section 4): every removed pixel (removed[p]
   * nonzero, p = y·w + x) becomes the weighted mean of its neighbours inside
   * the image, weight 1/6 for the 4 direct and 1/12 for the 4 diagonal ones,
   * divided by the sum of the weights present (fewer at the border); one
   * sparse linear system per channel over all removed pixels, the kept pixels
   * as boundary values, solved by SSOR-preconditioned conjugate gradients to a
   * relative residual of 1e-10. Then Gaussian noise of std `noise` (seeded) is
   * added to the removed pixels. With no kept pixel at all, the removed
   * pixels are 0 (the mean colour) plus noise. in and out: C·H·W floats (may
   * be the same buffer). */
  GzStatus gz_metric_road_impute (const float *in, int64_t c, int64_t h, int64_t w,
                                  const uint8_t *removed, double noise, uint64_t seed, float *out,
                                  GzError *err);

  /* The trapezoid area under y_0…y_n at x_i = i/n (n ≥ 1). */
  double gz_metric_auc (const double *y, int n);

#ifdef __cplusplus
}
#endif
