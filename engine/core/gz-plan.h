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
  GzTensor *values; /* one header per graph value: dtype, shape; data for constants */
  bool *is_constant; /* initializer or folded */
  bool *folded_owned; /* values[i].data was allocated by folding (freed with the plan) */
  bool *node_folded; /* per node: computed at build time, skipped at run time */
  int *last_use; /* per value: index of the last runtime node reading it, -1 if none */
  int64_t activation_bytes; /* sum of runtime value sizes (an upper bound on memory) */
} GzPlan;

GzStatus gz_plan_build (const GzGraph *g, int batch, const GzLimits *limits, GzPlan **out,
                        GzError *err);
void gz_plan_free (GzPlan *plan);
