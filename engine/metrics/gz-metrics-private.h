/* gz-metrics-private.h — what the faithfulness metrics share (gz-metrics.c)
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gaze-metrics.h"

/* A scratch session of the model that scores batches of modified inputs. */
typedef struct
{
  const GzModel *model;
  const GzMetricOptions *options;
  int class_index;
  int64_t n_classes; /* logits per image */
  int64_t channels, height, width; /* of the input */
  GzSession *session;
  GzTensor *batch; /* [batch_size, C, H, W] */
  int64_t batch_size;
  float *rows; /* [batch_size, n_classes] logits */
  bool one_by_one; /* the plan did not take a batch: one image at a time */
  const char *what; /* "deletion", …: for messages */
} GzMetricRunner;

/* Checks the input ([1,C,H,W]) and class, creates the session and buffers
 * for batches of at most max_batch images. */
GzStatus gz_metric_runner_init (GzMetricRunner *r, const GzModel *model, const GzTensor *input,
                                int class_index, const GzMetricOptions *options, int max_batch,
                                const char *what, GzError *err);
void gz_metric_runner_clear (GzMetricRunner *r);
/* Image i of the batch buffer (C·H·W floats). */
float *gz_metric_runner_slot (GzMetricRunner *r, int64_t i);
/* Scores the first n images of the batch buffer: probs[i] of the class. */
GzStatus gz_metric_runner_score (GzMetricRunner *r, int64_t n, double *probs, GzError *err);
/* Reports fraction to options->progress; GZ_ERR_CANCELLED when asked to stop. */
GzStatus gz_metric_progress (const GzMetricRunner *r, double fraction, GzError *err);

/* The map at the input's resolution (a copy, resized when needed), float [H,W]. */
GzTensor *gz_metric_map_at (const GzTensor *map, int64_t height, int64_t width, GzError *err);
/* Pixel indices 0…n−1 by value, highest first; equal values (and NaN, taken
 * as lowest) by lower index first. NULL when out of memory. */
int64_t *gz_metric_rank (const float *values, int64_t n);
/* The input blurred channel by channel: a normalised sampled Gaussian of
 * width size and std sigma, separable, zeros outside the image (as a conv2d
 * with zero padding). out has the input's C·H·W floats. False when size is
 * not odd in 1…255 or out of memory. */
bool gz_metric_blur (const float *in, int64_t c, int64_t h, int64_t w, float sigma, int size,
                     float *out);
