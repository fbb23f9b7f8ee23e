/* gz-explain-private.h — what the explanation methods share with their driver
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * gz-explain.c resolves the layer and the target, makes sure the session holds
 * a forward pass with what the method needs, and turns the method's raw map
 * into the normalised map at input resolution. Each method (one file each)
 * only computes its raw map: at layer resolution [h,w] for the CAM family, at
 * input resolution [H,W] for the guided (pixel) methods.
 *
 * The per-channel kernels are exposed here (not in the public header) so the
 * unit tests can check the formulas on hand-made activations and gradients.
 */
#pragma once

#include <stdio.h>

#include "gaze-engine.h"
#include "gz-layer-layout.h"

/* Session and model internals the explain module reads: gz_session_input,
 * gz_session_keep, gz_session_run_from, gz_model_graph, ... (engine/core/gz-session.c). */
#include "gz-session-private.h"

/* ---- The context one gz_explain call hands to its method ---------------- */

typedef struct
{
  GzSession *session; /* the caller's session: forward of the image */
  const GzModel *model;
  const GzExplainOptions *options;
  GzMethod method;
  const char *layer; /* resolved layer name (never "auto") */
  int layer_value; /* its value index in the model's graph */
  GzLayerLayout layout; /* how the layer's tensor reads as [C,h,w] */
  GzTensor *act_map; /* the activation rearranged to [1,C,h,w] (not NCHW layers) */
  int class_index;
  bool negative; /* explain −logit (sigmoid models' negative class) */
  int64_t n_classes; /* logits per image */
  int out_ndim; /* the output's shape ([1,K], or e.g. [1,K,1,1]) */
  int64_t out_dims[GZ_MAX_DIMS];
  float score; /* the explained score of the image: ±logit */
  int input_width, input_height;
  /* Time spent so far, in milliseconds; methods add what they run. */
  double forward_ms, backward_ms;
  /* Progress of a long method goes through gz_explain_progress. */
  double progress_base, progress_span;
  /* Forwards of images other than the session's (Score-CAM's masked inputs). */
  int64_t forwards;
  /* Integrated Gradients' completeness error (NaN for other methods). */
  double completeness_error;
} GzExplainCtx;

/* A method: computes the raw map from the forward held in `session` (the
 * caller's session or, for SmoothGrad, a scratch one on a noisy copy). */
typedef GzStatus (*GzExplainMethodFn) (GzExplainCtx *ctx, GzSession *session, GzTensor **raw,
                                       GzError *err);

GzStatus gz_explain_cam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err);
GzStatus gz_explain_gradcam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err);
GzStatus gz_explain_gradcampp (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err);
GzStatus gz_explain_xgradcam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err);
GzStatus gz_explain_hirescam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err);
GzStatus gz_explain_layercam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err);
GzStatus gz_explain_eigencam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err);
GzStatus gz_explain_scorecam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err);
GzStatus gz_explain_ablationcam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw,
                                 GzError *err);
GzStatus gz_explain_guided_backprop (GzExplainCtx *ctx, GzSession *session, GzTensor **raw,
                                     GzError *err);
GzStatus gz_explain_guided_gradcam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw,
                                    GzError *err);
GzStatus gz_explain_eigengradcam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw,
                                  GzError *err);
GzStatus gz_explain_gradcam_elementwise (GzExplainCtx *ctx, GzSession *session, GzTensor **raw,
                                         GzError *err);
GzStatus gz_explain_saliency (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err);
GzStatus gz_explain_inputxgrad (GzExplainCtx *ctx, GzSession *session, GzTensor **raw,
                                GzError *err);
GzStatus gz_explain_integrated_gradients (GzExplainCtx *ctx, GzSession *session, GzTensor **raw,
                                          GzError *err);
GzStatus gz_explain_occlusion (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err);
/* SmoothGrad around any method: averages its raw maps over noisy copies. */
GzStatus gz_explain_smooth (GzExplainCtx *ctx, GzExplainMethodFn fn, GzTensor **raw, GzError *err);

/* ---- Helpers the methods share (gz-explain.c) --------------------------- */

double gz_explain_now_ms (void);
/* Reports fraction (of the current method's share) to options->progress;
 * GZ_ERR_CANCELLED when the callback asks to stop. */
GzStatus gz_explain_progress (GzExplainCtx *ctx, double fraction, GzError *err);
/* The one-hot (±1) gradient of the explained score with respect to the
 * logits, for a batch of n images. */
GzTensor *gz_explain_grad_output (const GzExplainCtx *ctx, int64_t n, GzError *err);
/* The explained score of image i of a [N,K] logits tensor. */
float gz_explain_score_of (const GzExplainCtx *ctx, const GzTensor *logits, int64_t i);
/* The layer activation of session as a [1,C,h,w] map (checked): the kept
 * tensor itself for NCHW layers, else a rearranged copy held in ctx->act_map
 * until the next call or the end of gz_explain. */
GzStatus gz_explain_activation (GzExplainCtx *ctx, GzSession *session, const GzTensor **act,
                                GzError *err);
/* d score / d activation at the layer as a [1,C,h,w] map (rearranged like
 * the activation), timed into backward_ms. */
GzStatus gz_explain_layer_gradient (GzExplainCtx *ctx, GzSession *session, GzTensor **grad,
                                    GzError *err);
/* For the gradient methods: the activation A, its gradient G (caller frees)
 * and a zeroed raw map [h,w] (caller owns). */
GzStatus gz_explain_act_grad (GzExplainCtx *ctx, GzSession *session, const GzTensor **act,
                              GzTensor **grad, GzTensor **raw, GzError *err);
/* The weights-then-sum shape shared by Grad-CAM, Grad-CAM++ and XGrad-CAM:
 * raw = Σ_c w_c A_c with w from fn (A and G are [C, hw]). */
typedef void (*GzCamWeightsFn) (int64_t c, int64_t hw, const float *a, const float *g, float *w);
GzStatus gz_explain_weighted_cam (GzExplainCtx *ctx, GzSession *session, GzCamWeightsFn fn,
                                  GzTensor **raw, GzError *err);
/* What a method needs from the session's forward. */
typedef enum
{
  GZ_NEED_ACTIVATION, /* the layer's value */
  GZ_NEED_BACKWARD, /* the layer and everything a backward pass to it reads */
  GZ_NEED_ALL, /* every activation (gradients down to the input) */
  GZ_NEED_OUTPUT, /* only the logits (methods that run their own forwards) */
} GzExplainNeed;
/* Re-runs the forward of the session's input when what it kept does not cover
 * `need` (timed into forward_ms). A re-run keeps every activation when they
 * fit in 256 MiB, so later layer and method switches need no forward. */
GzStatus gz_explain_ensure_forward (GzExplainCtx *ctx, GzSession *session, GzExplainNeed need,
                                    GzError *err);
/* A [h,w] float map. */
GzTensor *gz_explain_new_map (int64_t h, int64_t w, GzError *err);
/* Images per batch for methods that run many forwards: options->batch_size,
 * else as many as fit ~256 MiB of activations, at most max. */
int gz_explain_batch_size (const GzExplainCtx *ctx, int64_t per_image_bytes, int max);

/* ---- Kernels (activations A and gradients G are [C, hw], C order) ------- */

/* out[p] = sum_c w[c] * A[c,p] */
void gz_cam_weighted_sum (int64_t c, int64_t hw, const float *a, const float *w, float *out);
/* Grad-CAM: w[c] = mean_p G[c,p] */
void gz_gradcam_weights (int64_t c, int64_t hw, const float *g, float *w);
/* Grad-CAM++ (exp-score closed form) */
void gz_gradcampp_weights (int64_t c, int64_t hw, const float *a, const float *g, float *w);
/* XGrad-CAM: w[c] = sum_p G[c,p] A[c,p] / (sum_p A[c,p] + eps) */
void gz_xgradcam_weights (int64_t c, int64_t hw, const float *a, const float *g, float *w);
/* HiResCAM: out[p] = sum_c G[c,p] A[c,p] */
void gz_hirescam_map (int64_t c, int64_t hw, const float *a, const float *g, float *out);
/* LayerCAM: out[p] = sum_c max(G[c,p],0) A[c,p] */
void gz_layercam_map (int64_t c, int64_t hw, const float *a, const float *g, float *out);
/* Eigen-CAM: projection of the (centred) [hw, C] activations on their first
 * principal direction, sign fixed by convention. */
GzStatus gz_eigencam_map (int64_t c, int64_t hw, const float *a, float *out, GzError *err);

/* CAM's head: the [K,C] weights of the linear layer after global average
 * pooling of `layer`. Returns false and a reason when the head is not GAP →
 * (Flatten | Reshape | Dropout | Identity)* → Gemm | MatMul (+ Add) → output.
 * On success *weights points at constant data: row k of class k starts at
 * weights + k * row_stride, consecutive channels col_stride apart; scale is
 * Gemm's alpha. */
typedef struct
{
  const float *weights;
  int64_t n_classes, n_channels;
  int64_t row_stride, col_stride;
  float scale;
} GzCamHead;

bool gz_cam_find_head (const GzModel *model, const char *layer, GzCamHead *head, char *reason,
                       size_t reason_len);

/* d score / d input of the forward held in session (kept "*"), [1,C,H,W],
 * with the true gradient through every ReLU; timed into backward_ms. */
GzStatus gz_explain_input_gradient (GzExplainCtx *ctx, GzSession *session, GzTensor **grad,
                                    GzError *err);

/* Post-processing: min-max normalisation to [0,1] with eps, in place. */
void gz_explain_normalise (float *x, int64_t n);
