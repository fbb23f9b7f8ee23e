/* gz-model-private.h — what a loaded GzModel holds
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gz-graph.h"
#include "gz-plan.h"

struct GzModel
{
  GzGraph *graph;
  GzPlan *plan; /* batch 1 */
  GzLimits limits;
  char *path; /* as given, or NULL for gz_model_load_mem */
  GzValueInfo input_info; /* name points into graph */
  GzValueInfo output_info;
  int n_node_infos;
  GzNodeInfo *node_infos; /* one per node, topological order */
  int n_layers;
  GzNodeInfo *layers; /* copies of the node infos whose output is [1,C,H,W] */
  const char *default_layer; /* points into graph, NULL if none */
  int64_t parameter_count;
};
