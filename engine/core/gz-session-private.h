/* gz-session-private.h — what the explanation code may ask a session and a model
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gaze-engine.h"
#include "gz-graph.h"
#include "gz-plan.h"

/* ---- A model, read-only ------------------------------------------------ */

const GzGraph *gz_model_graph (const GzModel *model);
/* The plan for batch 1 (shapes, constants, activation bytes). */
const GzPlan *gz_model_plan (const GzModel *model);
const GzLimits *gz_model_limits (const GzModel *model);

/* ---- A session --------------------------------------------------------- */

/* How many forward passes this session has run (tests check that a class
 * switch does not run another). */
uint64_t gz_session_forward_count (const GzSession *session);
/* The input of the last forward (the session keeps it), NULL before one. */
const GzTensor *gz_session_input (const GzSession *session);
/* The keep_layer of the last forward ("*", a tensor name, or NULL). */
const char *gz_session_keep (const GzSession *session);

/* One memo an explanation method may leave on the session for later calls on
 * the same image: Score-CAM's masked-forward logits do not depend on the
 * class, so a class switch needs none of its forwards again. The session
 * frees the memo (free_fn) when a forward brings a different input (dims or
 * bytes), when a forward fails, when another memo is set, and with itself. */
void gz_session_set_memo (GzSession *session, void *memo, void (*free_fn) (void *));
/* The memo, if it was set with this free_fn (which tells its type), else NULL. */
void *gz_session_memo (const GzSession *session, void (*free_fn) (void *));

/* ---- Running the graph from a layer ------------------------------------ */

/* Ablation-CAM changes one channel of a layer and asks what the output
 * becomes. Running the whole network again would recompute everything
 * upstream of the layer for nothing, so gz_session_run_from runs only the
 * nodes between the layer's value and the output, in topological order, on a
 * batch of N values of the layer, with the plan for batch N (built once per
 * batch size and kept) and activations from the session's block pool. Tensors
 * the run reads from upstream of the layer (a residual branch, say) are the
 * last forward's kept values, repeated over the batch. The run leaves the
 * forward's values as they are. */
typedef struct
{
  bool ready; /* the last forward kept every tensor the run reads from upstream */
  bool backward_ready; /* it kept every tensor a backward pass through the run reads */
  int64_t image_bytes; /* the run's activations per image */
} GzTailInfo;

/* GZ_ERR_ARGUMENT when the layer is no activation or the output does not depend on it. */
GzStatus gz_session_tail_info (GzSession *session, const char *layer, GzTailInfo *info,
                               GzError *err);
/* layer_batch: [N, ...] with the layer's shape otherwise. *output: the graph
 * output for the batch, a new tensor (gz_tensor_free). */
GzStatus gz_session_run_from (GzSession *session, const char *layer, const GzTensor *layer_batch,
                              GzTensor **output, GzError *err);
