/* gz-model.c — loading a model: graph, batch-1 plan, node and layer tables
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gz-input-layout.h"
#include "gz-layer-layout.h"
#include "gz-limits.h"
#include "gz-model-private.h"
#include "gz-onnx-load.h"
#include "gz-op.h"
#include "gz-weights.h"

/* Whether value v reads as a map with more than one position. */
static bool
is_spatial (const GzLayerLayout *layouts, int v)
{
  return layouts[v].kind != GZ_LAYOUT_NONE && layouts[v].h * layouts[v].w > 1;
}

/* The runtime input a pass-through node reads (its first non-constant one). */
static int
data_input (const GzNode *node, const GzPlan *plan)
{
  for (int i = 0; i < node->n_inputs; i++)
    if (node->inputs[i] >= 0 && !plan->is_constant[node->inputs[i]])
      return node->inputs[i];
  return -1;
}

static bool
op_is (const GzNode *node, const char *const *ops)
{
  for (int i = 0; ops[i] != NULL; i++)
    if (strcmp (node->op_type, ops[i]) == 0)
      return true;
  return false;
}

/* A fully convolutional classifier (squeezenet: Dropout → Conv 1×1 with one
 * channel per class → Relu → global pool) puts its spatial maps after the
 * classifier: step back over that Conv to the features it classifies. */
static int
skip_conv_classifier (const GzGraph *g, const GzPlan *plan, const GzLayerLayout *layouts, int layer)
{
  static const char *const passthrough[] = { "Relu", "Clip", "Dropout", "Identity", NULL };
  const GzTensor *logits = &plan->values[g->output];
  if (logits->ndim < 1 || logits->dims[0] < 1)
    return layer;
  int64_t classes = gz_tensor_numel (logits) / logits->dims[0];
  int v = layer;
  bool past_conv = false;
  for (int steps = 0; steps < 8 && v >= 0; steps++)
    {
      int p = g->values[v].producer;
      if (p < 0)
        break;
      const GzNode *node = &g->nodes[p];
      if (op_is (node, passthrough))
        {
          v = data_input (node, plan);
          continue;
        }
      if (past_conv || strcmp (node->op_type, "Conv") != 0 || node->n_inputs < 2
          || node->inputs[1] < 0)
        break;
      const GzTensor *w = &plan->values[node->inputs[1]];
      if (w->ndim != 4 || w->dims[0] != classes || w->dims[2] != 1 || w->dims[3] != 1)
        break;
      past_conv = true;
      v = data_input (node, plan);
    }
  if (past_conv && v >= 0 && g->values[v].producer >= 0 && is_spatial (layouts, v))
    return v;
  return layer;
}

/* Whether a MatMul of two computed operands (attention: queries by keys, or
 * weights by values) lies downstream of value v: the tokens still mix there. */
static bool
tokens_mix_after (const GzGraph *g, const GzPlan *plan, int v, bool *reach)
{
  memset (reach, 0, (size_t) g->n_values * sizeof *reach);
  reach[v] = true;
  for (int i = 0; i < g->n_nodes; i++)
    {
      const GzNode *node = &g->nodes[i];
      bool reached = false;
      for (int j = 0; j < node->n_inputs && !reached; j++)
        reached = node->inputs[j] >= 0 && reach[node->inputs[j]];
      if (!reached)
        continue;
      if (strcmp (node->op_type, "MatMul") == 0 && node->n_inputs == 2 && node->inputs[0] >= 0
          && node->inputs[1] >= 0 && !plan->is_constant[node->inputs[0]]
          && !plan->is_constant[node->inputs[1]])
        return true;
      for (int j = 0; j < node->n_outputs; j++)
        if (node->outputs[j] >= 0)
          reach[node->outputs[j]] = true;
    }
  return false;
}

/* Whether value v is a LayerNorm's output: a LayerNormalization node (opset
 * 17), or the end of one decomposed by older exporters, γ·((x − μ) / σ) + β:
 * an Add of a constant to a Mul by a constant of a Div. */
static bool
is_layer_norm_output (const GzGraph *g, const GzPlan *plan, int v)
{
  static const char *const chain[] = { "Add", "Mul", "Div" };
  for (int step = 0; step < 3; step++)
    {
      int p = v >= 0 ? g->values[v].producer : -1;
      if (p < 0)
        return false;
      const GzNode *node = &g->nodes[p];
      if (step == 0 && strcmp (node->op_type, "LayerNormalization") == 0)
        return true;
      if (strcmp (node->op_type, chain[step]) != 0)
        return false;
      if (step == 2)
        return true;
      if (node->n_inputs != 2 || node->inputs[0] < 0 || node->inputs[1] < 0)
        return false;
      bool c0 = plan->is_constant[node->inputs[0]], c1 = plan->is_constant[node->inputs[1]];
      if (c0 == c1)
        return false;
      v = c0 ? node->inputs[1] : node->inputs[0];
    }
  return false;
}

/* A ViT reads only its class token after the last block's attention, so the
 * patch tokens get no gradient from there on: take the last normalised
 * token tensor (torchvision encoder.layers[-1].ln_1's output, as
 * pytorch-grad-cam's examples do) whose tokens still mix downstream. Not the
 * norm's input: a LayerNorm is scale-invariant per token, so there
 * sum_c G_c·A_c = 0 at every position and HiResCAM reads rounding noise. */
static int
vit_layer (const GzGraph *g, const GzPlan *plan, const GzLayerLayout *layouts, int layer)
{
  bool *reach = malloc (((size_t) g->n_values + 1) * sizeof *reach);
  if (reach == NULL)
    return layer;
  int found = layer;
  for (int i = g->n_nodes - 1; i >= 0; i--)
    {
      const GzNode *node = &g->nodes[i];
      int v = node->n_outputs > 0 ? node->outputs[0] : -1;
      if (v < 0 || !is_layer_norm_output (g, plan, v))
        continue;
      if (layouts[v].kind != GZ_LAYOUT_TOKENS || layouts[v].skip != layouts[layer].skip
          || layouts[v].c != layouts[layer].c)
        continue;
      if (tokens_mix_after (g, plan, v, reach))
        {
          found = v;
          break;
        }
    }
  free (reach);
  return found;
}

/* A transformer's map after its final norm (Swin: norm, then a Transpose to
 * NCHW for the pooling): step back to the norm's input, the last stage's
 * output. */
static int
skip_final_norm (const GzGraph *g, const GzPlan *plan, const GzLayerLayout *layouts, int layer)
{
  static const char *const passthrough[] = { "Transpose", "Reshape", "Identity", NULL };
  int v = layer;
  for (int steps = 0; steps < 4 && v >= 0; steps++)
    {
      int p = g->values[v].producer;
      if (p < 0)
        break;
      const GzNode *node = &g->nodes[p];
      if (strcmp (node->op_type, "LayerNormalization") == 0)
        {
          int in = node->n_inputs > 0 ? node->inputs[0] : -1;
          if (in >= 0 && g->values[in].producer >= 0 && is_spatial (layouts, in))
            return in;
          break;
        }
      if (!op_is (node, passthrough))
        break;
      v = data_input (node, plan);
    }
  return layer;
}

/* The default layer: walk back from the output through the nodes whose
 * outputs have no spatial extent left (pooling, flatten, linear, softmax…);
 * the spatial values where the walk stops feed the classifier head. Of those,
 * the one produced last is the layer (for torchvision models: resnet's layer4
 * output, mobilenet_v2's features[18], densenet's final Relu, convnext's last
 * stage). Transformers then step back as vit_layer and skip_final_norm say. */
static int
find_default_layer (const GzGraph *g, const GzPlan *plan, const GzLayerLayout *layouts)
{
  if (g->output < 0)
    return -1;
  if (is_spatial (layouts, g->output))
    return g->values[g->output].producer >= 0 ? g->output : -1;
  int *stack = malloc (((size_t) g->n_values + 1) * sizeof *stack);
  bool *seen = calloc ((size_t) g->n_values + 1, 1);
  int best = -1;
  if (stack == NULL || seen == NULL)
    goto out;
  int top = 0;
  stack[top++] = g->output;
  seen[g->output] = true;
  while (top > 0)
    {
      int v = stack[--top];
      int p = g->values[v].producer;
      if (p < 0 || plan->is_constant[v])
        continue;
      if (is_spatial (layouts, v))
        {
          if (best < 0 || p > g->values[best].producer)
            best = v;
          continue;
        }
      const GzNode *node = &g->nodes[p];
      for (int i = 0; i < node->n_inputs; i++)
        {
          int in = node->inputs[i];
          if (in >= 0 && !seen[in] && !plan->is_constant[in])
            {
              seen[in] = true;
              stack[top++] = in;
            }
        }
    }
out:
  free (stack);
  free (seen);
  if (best < 0)
    return -1;
  if (layouts[best].kind == GZ_LAYOUT_TOKENS && layouts[best].skip > 0)
    return vit_layer (g, plan, layouts, best);
  best = skip_final_norm (g, plan, layouts, best);
  return skip_conv_classifier (g, plan, layouts, best);
}

static void
fill_info (GzNodeInfo *info, const GzGraph *g, const GzPlan *plan, const GzLayerLayout *layouts,
           const GzNode *node, int value)
{
  info->name = node->name;
  info->op_type = node->op_type;
  info->output = value >= 0 ? g->values[value].name : "";
  info->ndim = 0;
  if (value >= 0)
    {
      const GzTensor *t = &plan->values[value];
      info->ndim = t->ndim;
      memcpy (info->dims, t->dims, sizeof info->dims);
      if (layouts != NULL && layouts[value].kind != GZ_LAYOUT_NONE)
        {
          info->map[0] = layouts[value].c;
          info->map[1] = layouts[value].h;
          info->map[2] = layouts[value].w;
        }
    }
}

static void
value_info (GzValueInfo *info, const GzGraph *g, const GzPlan *plan, int index, bool batch_dim)
{
  const GzValue *v = &g->values[index];
  info->name = v->name;
  if (v->has_shape)
    {
      info->ndim = v->ndim;
      memcpy (info->dims, v->dims, sizeof info->dims);
    }
  else
    {
      /* Only the batch-1 plan knows it: the batch dimension is symbolic. */
      info->ndim = plan->values[index].ndim;
      memcpy (info->dims, plan->values[index].dims, sizeof info->dims);
      if (batch_dim && info->ndim > 0)
        info->dims[0] = -1;
    }
}

static GzStatus
model_index (GzModel *model, GzError *err)
{
  const GzGraph *g = model->graph;
  const GzPlan *plan = model->plan;

  value_info (&model->input_info, g, plan, g->input, true);
  value_info (&model->output_info, g, plan, g->output, true);

  for (int i = 0; i < g->n_values; i++)
    {
      const GzTensor *t = g->values[i].initializer;
      if (t != NULL && t->dtype == GZ_DTYPE_FLOAT)
        model->parameter_count += gz_tensor_numel (t);
    }

  int n_outputs = 0;
  for (int i = 0; i < g->n_nodes; i++)
    n_outputs += g->nodes[i].n_outputs;
  model->node_infos = calloc ((size_t) g->n_nodes + 1, sizeof *model->node_infos);
  model->layers = calloc ((size_t) n_outputs + 1, sizeof *model->layers);
  model->layouts = malloc (((size_t) g->n_values + 1) * sizeof *model->layouts);
  if (model->node_infos == NULL || model->layers == NULL || model->layouts == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  gz_layer_layouts (g, plan, model->layouts);
  for (int i = 0; i < g->n_nodes; i++)
    {
      const GzNode *node = &g->nodes[i];
      fill_info (&model->node_infos[i], g, plan, model->layouts, node,
                 node->n_outputs > 0 ? node->outputs[0] : -1);
      model->n_node_infos++;
      if (plan->node_folded[i])
        continue; /* constants are no layers */
      for (int j = 0; j < node->n_outputs; j++)
        {
          int v = node->outputs[j];
          if (v < 0)
            continue;
          if (model->layouts[v].kind != GZ_LAYOUT_NONE)
            fill_info (&model->layers[model->n_layers++], g, plan, model->layouts, node, v);
        }
    }
  int layer = find_default_layer (g, plan, model->layouts);
  model->default_layer = layer >= 0 ? g->values[layer].name : NULL;
  return GZ_OK;
}

/* ---- Output head -------------------------------------------------------- */

static int
count_consumers (const GzGraph *g, int value)
{
  int n = 0;
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; j < g->nodes[i].n_inputs; j++)
      if (g->nodes[i].inputs[j] == value)
        n++;
  return n;
}

/* Whether a Softmax / LogSoftmax node normalises over all the classes of one
 * image (x: its input): the block it normalises holds every non-batch value. */
static bool
softmax_spans_classes (const GzNode *node, int64_t opset, const GzTensor *x)
{
  if (x->ndim < 1 || x->dims[0] < 1)
    return false;
  int64_t classes = gz_tensor_numel (x) / x->dims[0];
  bool old = opset < 13;
  int axis = gz_axis (gz_node_attr_int (node, "axis", old ? 1 : -1), x->ndim);
  if (axis < 0)
    return false;
  int64_t n = old ? gz_shape_numel (x->ndim - axis, x->dims + axis) : x->dims[axis];
  return n == classes;
}

/* Swaps the head node between its activation and Identity (same shapes, so
 * the plan stays valid), and the node tables that name its operator. */
static void
head_set_removed (GzModel *model, bool removed)
{
  if (model->head_node < 0 || model->head_removed == removed)
    return;
  GzNode *node = &model->graph->nodes[model->head_node];
  if (removed)
    {
      node->op = gz_op_lookup ("Identity");
      node->op_type = (char *) "Identity"; /* restored before the graph is freed */
    }
  else
    {
      node->op = model->head_op;
      node->op_type = model->head_op_type;
    }
  model->head_removed = removed;
  if (model->node_infos != NULL)
    model->node_infos[model->head_node].op_type = node->op_type;
  for (int i = 0; i < model->n_layers; i++)
    if (strcmp (model->layers[i].name, node->name) == 0)
      model->layers[i].op_type = node->op_type;
}

/* Walks back from the output over reshaping nodes to a Sigmoid, Softmax or
 * LogSoftmax that only feeds them, and removes it (gaze-engine.h). Only for
 * image models (4-D input) whose activation reads a computed value. */
static void
detect_head (GzModel *model)
{
  static const char *const passthrough[]
      = { "Flatten", "Reshape", "Squeeze", "Identity", "Dropout", NULL };
  GzGraph *g = model->graph;
  const GzPlan *plan = model->plan;
  model->head_node = -1;
  model->output_kind = GZ_OUTPUT_LOGITS;
  if (g->output < 0 || g->input < 0 || plan->values[g->input].ndim != 4
      || gz_op_lookup ("Identity") == NULL)
    return;
  int v = g->output;
  for (int steps = 0; steps < 8; steps++)
    {
      int p = g->values[v].producer;
      if (p < 0 || plan->node_folded[p] || (v != g->output && count_consumers (g, v) != 1))
        return;
      GzNode *node = &g->nodes[p];
      int x = data_input (node, plan);
      if (x < 0)
        return;
      if (op_is (node, passthrough))
        {
          v = x;
          continue;
        }
      GzOutputKind kind;
      if (strcmp (node->op_type, "Sigmoid") == 0)
        kind = GZ_OUTPUT_SIGMOID;
      else if (strcmp (node->op_type, "Softmax") == 0)
        kind = GZ_OUTPUT_SOFTMAX;
      else if (strcmp (node->op_type, "LogSoftmax") == 0)
        kind = GZ_OUTPUT_LOG_SOFTMAX;
      else
        return;
      if (g->values[x].producer < 0 || node->n_inputs != 1 || node->n_outputs != 1)
        return;
      if (kind != GZ_OUTPUT_SIGMOID && !softmax_spans_classes (node, g->opset, &plan->values[x]))
        return;
      model->head_node = p;
      model->head_op = node->op;
      model->head_op_type = node->op_type;
      model->output_kind = kind;
      head_set_removed (model, true);
      return;
    }
}

/* The batch-1 plan, node and layer tables and the output head, from the graph. */
static GzStatus
model_plan_and_index (GzModel *model, GzError *err)
{
  /* Batch 1, unless the input fixes another batch size (then no batch-1
   * plan can exist; ONNX node tests do that). */
  const GzValue *in = &model->graph->values[model->graph->input];
  int batch = 1;
  if (in->has_shape && in->ndim > 0 && in->dims[0] != 1 && in->dims[0] >= 0
      && in->dims[0] <= INT32_MAX)
    batch = (int) in->dims[0];
  GzStatus s = gz_plan_build (model->graph, batch, &model->limits, &model->plan, err);
  if (s == GZ_OK)
    s = model_index (model, err);
  if (s == GZ_OK)
    detect_head (model);
  return s;
}

/* Drops what model_plan_and_index made (the graph keeps its own head op). */
static void
model_unindex (GzModel *model)
{
  head_set_removed (model, false);
  model->head_node = -1;
  model->output_kind = GZ_OUTPUT_LOGITS;
  gz_plan_free (model->plan);
  model->plan = NULL;
  free (model->node_infos);
  free (model->layers);
  free (model->layouts);
  model->node_infos = NULL;
  model->layers = NULL;
  model->layouts = NULL;
  model->n_node_infos = 0;
  model->n_layers = 0;
  model->parameter_count = 0;
  model->default_layer = NULL;
}

/* The default planning size of a symbolic height or width. */
#define GZ_SYMBOLIC_DEFAULT_SIDE 224

/* Fills the graph input's symbolic height and width (NCHW dims 2, 3) with the
 * model's chosen size; the plan refuses symbolic dims other than the batch.
 * resize: the dims filled before take the new size too. */
static void
fill_symbolic_size (GzModel *model, bool resize)
{
  GzValue *in = &model->graph->values[model->graph->input];
  if (!in->has_shape || in->ndim != 4)
    return;
  if (in->dims[2] < 0 || (resize && model->symbolic_h))
    {
      model->symbolic_h = true;
      in->dims[2] = model->input_h;
    }
  if (in->dims[3] < 0 || (resize && model->symbolic_w))
    {
      model->symbolic_w = true;
      in->dims[3] = model->input_w;
    }
}

bool
gz_model_input_size_symbolic (const GzModel *model)
{
  return model->symbolic_h || model->symbolic_w;
}

GzStatus
gz_model_set_input_size (GzModel *model, int height, int width, GzError *err)
{
  GzValue *in = &model->graph->values[model->graph->input];
  if (height < 1 || width < 1)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "input size %d×%d is not positive", width, height);
  if (!in->has_shape || in->ndim != 4)
    return gz_error_set (err, GZ_ERR_SHAPE, "the model input '%s' is not 4-D: no input size",
                         in->name);
  if ((!model->symbolic_h && in->dims[2] != height) || (!model->symbolic_w && in->dims[3] != width))
    return gz_error_set (err, GZ_ERR_ARGUMENT,
                         "the model input '%s' is %lld×%lld (width × height), not %d×%d", in->name,
                         (long long) in->dims[3], (long long) in->dims[2], width, height);
  if (in->dims[2] == height && in->dims[3] == width)
    return GZ_OK;
  int64_t before_h = model->input_h, before_w = model->input_w;
  model_unindex (model);
  model->input_h = height;
  model->input_w = width;
  fill_symbolic_size (model, true);
  GzStatus s = model_plan_and_index (model, err);
  if (s == GZ_OK)
    return GZ_OK;
  model_unindex (model);
  model->input_h = before_h;
  model->input_w = before_w;
  fill_symbolic_size (model, true);
  GzError ignored = { 0 };
  model_plan_and_index (model, &ignored);
  return s;
}

static void
layout_switch (GzModel *model, GzInputLayout layout, GzError *err)
{
  if (layout == GZ_INPUT_NHWC)
    {
      if (gz_graph_prepend_nhwc_transpose (model->graph, err) == GZ_OK)
        model->input_layout = GZ_INPUT_NHWC;
    }
  else
    {
      gz_graph_remove_nhwc_transpose (model->graph);
      model->input_layout = GZ_INPUT_NCHW;
    }
}

GzStatus
gz_model_set_input_layout (GzModel *model, GzInputLayout layout, GzError *err)
{
  if (layout != GZ_INPUT_NCHW && layout != GZ_INPUT_NHWC)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "unknown input layout");
  if (model->input_layout == layout)
    return GZ_OK;
  const GzValue *in = &model->graph->values[model->graph->input];
  if (!in->has_shape || in->ndim != 4)
    return gz_error_set (err, GZ_ERR_SHAPE, "the model input '%s' is not 4-D: no %s layout",
                         in->name, gz_input_layout_name (layout));
  GzInputLayout before = model->input_layout;
  model_unindex (model);
  layout_switch (model, layout, err);
  fill_symbolic_size (model, false);
  if (model->input_layout == layout)
    {
      GzStatus s = model_plan_and_index (model, err);
      if (s == GZ_OK)
        return GZ_OK;
      /* Back to the layout that worked, keeping this error. */
      model_unindex (model);
      layout_switch (model, before, NULL);
      fill_symbolic_size (model, false);
    }
  GzError ignored = { 0 };
  model_plan_and_index (model, &ignored);
  return err != NULL && err->code != GZ_OK ? err->code : GZ_ERR_SHAPE;
}

GzInputLayout
gz_model_input_layout (const GzModel *model)
{
  return model->input_layout;
}

const char *
gz_input_layout_name (GzInputLayout layout)
{
  return layout == GZ_INPUT_NHWC ? "nhwc" : "nchw";
}

bool
gz_input_layout_from_name (const char *name, GzInputLayout *layout)
{
  if (name == NULL)
    return false;
  if (strcasecmp (name, "nchw") == 0)
    *layout = GZ_INPUT_NCHW;
  else if (strcasecmp (name, "nhwc") == 0)
    *layout = GZ_INPUT_NHWC;
  else
    return false;
  return true;
}

static GzModel *
model_new (const GzLimits *limits, GzError *err)
{
  GzModel *model = calloc (1, sizeof *model);
  if (model == NULL)
    {
      gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
      return NULL;
    }
  model->head_node = -1;
  if (limits != NULL)
    model->limits = *limits;
  else
    gz_limits_default (&model->limits);
  return model;
}

/* The rest once model->graph is read (`s`: how reading it went): plan,
 * tables, head. Frees the model on failure. */
static GzStatus
model_finish (GzModel *model, GzStatus s, GzModel **out, GzError *err)
{
  if (s == GZ_OK)
    {
      if (gz_input_looks_nhwc (model->graph))
        {
          s = gz_graph_prepend_nhwc_transpose (model->graph, err);
          model->input_layout = GZ_INPUT_NHWC;
        }
      model->input_h = model->input_w = GZ_SYMBOLIC_DEFAULT_SIDE;
      fill_symbolic_size (model, false);
    }
  if (s == GZ_OK)
    s = model_plan_and_index (model, err);
  if (s != GZ_OK)
    {
      gz_model_free (model);
      return s;
    }
  *out = model;
  return GZ_OK;
}

static GzStatus
load_mem (const void *bytes, size_t len, const char *base_dir, const char *arch,
          const GzLimits *limits, GzModel **out, GzError *err)
{
  *out = NULL;
  GzModel *model = model_new (limits, err);
  if (model == NULL)
    return GZ_ERR_NOMEM;
  /* PyTorch weights (.pth/.pt/.ckpt, .safetensors): a torchvision graph
   * built from them (engine/weights/); everything else is ONNX. */
  GzStatus s = gz_weights_sniff (bytes, len)
      ? gz_weights_load_graph (bytes, len, arch, &model->limits, &model->graph, err)
      : gz_onnx_load_graph (bytes, len, base_dir, &model->limits, &model->graph, err);
  return model_finish (model, s, out, err);
}

/* A torch.save zip is read from the file storage by storage, never whole. */
static GzStatus
load_zip_file (int fd, const char *path, const char *arch, const GzLimits *limits, GzModel **out,
               GzError *err)
{
  *out = NULL;
  GzModel *model = model_new (limits, err);
  if (model == NULL)
    return GZ_ERR_NOMEM;
  GzStatus s = gz_weights_load_zip_file (fd, path, arch, &model->limits, &model->graph, err);
  return model_finish (model, s, out, err);
}

GzStatus
gz_model_load_mem (const void *bytes, size_t len, const char *base_dir, const GzLimits *limits,
                   GzModel **out, GzError *err)
{
  return load_mem (bytes, len, base_dir, NULL, limits, out, err);
}

size_t
gz_model_file_suffix (const char *name)
{
  static const char *const suffixes[] = { ".onnx", ".pth", ".pt", ".ckpt", ".safetensors", NULL };
  size_t n = name != NULL ? strlen (name) : 0;
  for (int i = 0; suffixes[i] != NULL; i++)
    {
      size_t k = strlen (suffixes[i]);
      if (n > k && strcasecmp (name + n - k, suffixes[i]) == 0)
        return k;
    }
  return 0;
}

GzStatus
gz_model_load (const char *path, const GzLimits *limits, GzModel **out, GzError *err)
{
  return gz_model_load_arch (path, NULL, limits, out, err);
}

static GzStatus
set_path (GzModel **out, const char *path, GzError *err)
{
  if (((*out)->path = strdup (path)) == NULL)
    {
      gz_model_free (*out);
      *out = NULL;
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  return GZ_OK;
}

GzStatus
gz_model_load_arch (const char *path, const char *architecture, const GzLimits *limits,
                    GzModel **out, GzError *err)
{
  *out = NULL;
  GzLimits lim;
  if (limits != NULL)
    lim = *limits;
  else
    gz_limits_default (&lim);
  if (path == NULL)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "no model path");

  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return gz_error_set (err, GZ_ERR_IO, "cannot open '%s': %s", path, strerror (errno));
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      return gz_error_set (err, GZ_ERR_IO, "'%s' is not a regular file", path);
    }
  if (st.st_size > lim.max_file_bytes || (uint64_t) st.st_size > SIZE_MAX - 1)
    {
      close (fd);
      return gz_error_set (err, GZ_ERR_LIMIT,
                           "'%s' is %lld bytes, above the " GZ_LIMIT_FILE_BYTES " limit of %lld",
                           path, (long long) st.st_size, (long long) lim.max_file_bytes);
    }
  unsigned char head[4];
  if (pread (fd, head, sizeof head, 0) == (ssize_t) sizeof head
      && gz_weights_file_is_zip (head, sizeof head))
    {
      GzStatus s = load_zip_file (fd, path, architecture, &lim, out, err);
      close (fd);
      return s == GZ_OK ? set_path (out, path, err) : s;
    }
  size_t size = (size_t) st.st_size;
  unsigned char *bytes = malloc (size + 1);
  if (bytes == NULL)
    {
      close (fd);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory reading '%s'", path);
    }
  size_t done = 0;
  while (done < size)
    {
      ssize_t r = read (fd, bytes + done, size - done);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      done += (size_t) r;
    }
  close (fd);
  if (done != size)
    {
      free (bytes);
      return gz_error_set (err, GZ_ERR_IO, "cannot read '%s'", path);
    }

  /* External data is looked up next to the model file. */
  char *dir = strdup (path);
  char *slash = dir != NULL ? strrchr (dir, '/') : NULL;
  if (dir != NULL)
    {
      if (slash == NULL)
        strcpy (dir, ".");
      else if (slash == dir)
        dir[1] = '\0';
      else
        *slash = '\0';
    }
  GzStatus s = dir == NULL ? gz_error_set (err, GZ_ERR_NOMEM, "out of memory")
                           : load_mem (bytes, size, dir, architecture, &lim, out, err);
  free (dir);
  free (bytes);
  return s == GZ_OK ? set_path (out, path, err) : s;
}

void
gz_model_free (GzModel *model)
{
  if (model == NULL)
    return;
  head_set_removed (model, false); /* the graph frees the node's own op_type */
  gz_plan_free (model->plan);
  gz_graph_free (model->graph);
  free (model->node_infos);
  free (model->layers);
  free (model->layouts);
  free (model->path);
  free (model);
}

const GzValueInfo *
gz_model_input (const GzModel *model)
{
  return &model->input_info;
}

const GzValueInfo *
gz_model_output (const GzModel *model)
{
  return &model->output_info;
}

GzOutputKind
gz_model_output_kind (const GzModel *model)
{
  return model->output_kind;
}

const char *
gz_model_output_head (const GzModel *model)
{
  return model->head_node >= 0 ? model->head_op_type : NULL;
}

void
gz_model_set_output_kind (GzModel *model, GzOutputKind kind)
{
  if (kind < 0 || kind >= GZ_OUTPUT_KIND_COUNT)
    return;
  model->output_kind = kind;
  head_set_removed (model, kind != GZ_OUTPUT_LOGITS);
}

int64_t
gz_model_opset (const GzModel *model)
{
  return model->graph->opset;
}

int64_t
gz_model_parameter_count (const GzModel *model)
{
  return model->parameter_count;
}

const char *
gz_model_producer (const GzModel *model)
{
  return model->graph->producer != NULL ? model->graph->producer : "";
}

int
gz_model_node_count (const GzModel *model)
{
  return model->n_node_infos;
}

const GzNodeInfo *
gz_model_node (const GzModel *model, int index)
{
  if (index < 0 || index >= model->n_node_infos)
    return NULL;
  return &model->node_infos[index];
}

int
gz_model_layer_count (const GzModel *model)
{
  return model->n_layers;
}

const GzNodeInfo *
gz_model_layer (const GzModel *model, int index)
{
  if (index < 0 || index >= model->n_layers)
    return NULL;
  return &model->layers[index];
}

const GzLayerLayout *
gz_model_layer_layout (const GzModel *model, int value)
{
  if (model == NULL || model->layouts == NULL || value < 0 || value >= model->graph->n_values)
    return NULL;
  return &model->layouts[value];
}

const char *
gz_model_default_layer (const GzModel *model)
{
  return model->default_layer;
}
