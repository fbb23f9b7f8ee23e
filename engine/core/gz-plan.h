/* gz-plan.h — shapes and constants of a graph for one batch size
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Building a plan runs every operator's infer in topological order with the
 * graph input's symbolic dimensions set (batch = N, other symbolic dims from the
 * declared shape or 1), and folds every node whose inputs are all constant by
 * running its forward at build time. That resolves the Shape → Gather →
 * Unsqueeze → Concat → Reshape chains torch emits. The plan then knows, for
 * every value, its shape, whether it is constant, and (for runtime values) the
 * last node that reads it — what the session's memory planner needs.
 */
#pragma once

#include "gz-graph.h"

typedef struct
{
  int batch;
  int n_values;
  int n_nodes;
  GzTensor *values; /* one header per graph value: dtype, shape; data for constants */
  bool *is_constant; /* initializer or folded */
  bool *folded_owned; /* values[i].data was allocated by folding (freed with the plan) */
  bool *node_folded; /* per node: computed at build time, skipped at run time */
  int *last_use; /* per value: index of the last runtime node reading it, -1 if none */
  int64_t activation_bytes; /* sum of runtime value sizes (an upper bound on memory) */
  void **prepared; /* per node: op->prepare's result for this plan, or NULL */
  void (**free_prepared) (void *); /* per node: how to free it */
  int tail_layer; /* -1, or the layer value a gz_plan_build_tail plan starts from */
} GzPlan;

GzStatus gz_plan_build (const GzGraph *g, int batch, const GzLimits *limits, GzPlan **out,
                        GzError *err);
void gz_plan_free (GzPlan *plan);

/* A plan for the nodes marked in runs (those downstream of value `layer`, in
 * topological order) at `batch` images, built from `base`, the model's plan
 * for one image. For models exported with a fixed batch of 1, whose full
 * graph cannot be planned at another batch (constant Reshape shapes
 * upstream), but whose part after the layer can. Runtime values the run reads
 * from upstream get base's shape with the batch dimension times `batch`.
 * Every runtime value of the run must come out as base's shape with the
 * first dimension times `batch`, or the build fails (GZ_ERR_SHAPE): the part
 * after the layer mixes images then. Values outside the run keep base's
 * headers and must not be used. With layer = the graph input and every node
 * in runs, this is a plan for a whole forward at `batch`. */
GzStatus gz_plan_build_tail (const GzGraph *g, const GzPlan *base, const bool *runs, int layer,
                             int batch, const GzLimits *limits, GzPlan **out, GzError *err);

/* Runs node n's forward with what its operator prepared for this plan. */
static inline GzStatus
gz_plan_forward (const GzPlan *plan, int n, const GzNode *node, const GzTensor *const *in,
                 GzTensor *const *out, GzError *err)
{
  if (plan->prepared[n] != NULL)
    return node->op->forward_prepared (node, plan->prepared[n], in, out, err);
  return node->op->forward (node, in, out, err);
}
