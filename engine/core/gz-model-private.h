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
  struct GzLayerLayout *layouts; /* per value (onnx/gz-layer-layout.h) */
  int64_t parameter_count;
  /* Output head (gz-model.c): the trailing activation node replaced by
   * Identity while `head_removed`; its own op and op_type kept to restore. */
  GzOutputKind output_kind;
  int head_node; /* -1 when no head was detected */
  const GzOpDef *head_op;
  char *head_op_type;
  bool head_removed;
  /* Input layout (issue 19): NHWC puts a Transpose at node 0 (gz-input-layout.h). */
  GzInputLayout input_layout;
  /* Symbolic input height/width (issue 19): which, and the size planned. */
  bool symbolic_h, symbolic_w;
  int64_t input_h, input_w;
};
