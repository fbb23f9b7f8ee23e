/* gz-cam.c — Class Activation Mapping
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Zhou et al., "Learning Deep Features for Discriminative Localization", CVPR
 * 2016, eq. 2: for a network ending in global average pooling and one linear
 * layer with weights W, the map of class k is the linear layer applied at
 * every location,
 *
 *   M_k(i,j) = Σ_c W_k,c A_c,ij          (the bias is not part of the map)
 *
 * so CAM applies only to such a head; gz_cam_find_head recognises it in the
 * graph: GlobalAveragePool (or ReduceMean over H,W) of the layer, then only
 * Flatten / Reshape / Squeeze / Dropout / Identity, then one Gemm or MatMul
 * (+ an Add of a constant), whose output is the model output. Gemm's alpha
 * scales the map; a single-output model's negative class negates it.
 */
#include <stdlib.h>
#include <string.h>

#include "gz-explain-private.h"

/* The one runtime node reading value v, or -1 (none, several, or v is the
 * graph output and so escapes). */
static int
sole_consumer (const GzModel *model, int v, int *count)
{
  const GzGraph *g = gz_model_graph (model);
  const GzPlan *plan = gz_model_plan (model);
  int found = -1, n = 0;
  for (int i = 0; i < g->n_nodes; i++)
    {
      if (plan != NULL && plan->node_folded[i])
        continue;
      const GzNode *node = &g->nodes[i];
      for (int j = 0; j < node->n_inputs; j++)
        if (node->inputs[j] == v)
          {
            if (found != i)
              n++;
            found = i;
          }
    }
  if (v == g->output)
    n++;
  *count = n;
  return n == 1 ? found : -1;
}

static bool
is_constant (const GzModel *model, int v)
{
  const GzPlan *plan = gz_model_plan (model);
  if (v < 0)
    return false;
  if (plan != NULL && plan->is_constant[v])
    return true;
  return gz_model_graph (model)->values[v].initializer != NULL;
}

static const GzTensor *
constant_value (const GzModel *model, int v)
{
  const GzPlan *plan = gz_model_plan (model);
  if (plan != NULL && plan->is_constant[v] && plan->values[v].data != NULL)
    return &plan->values[v];
  return gz_model_graph (model)->values[v].initializer;
}

/* ReduceMean whose axes are exactly {2,3} of a 4-D input. */
static bool
reduces_hw (const GzModel *model, const GzNode *node)
{
  const int64_t *axes = NULL;
  int n = gz_node_attr_ints (node, "axes", &axes);
  int64_t buf[GZ_MAX_DIMS];
  if (n == 0 && node->n_inputs >= 2 && node->inputs[1] >= 0)
    {
      const GzTensor *t = constant_value (model, node->inputs[1]);
      if (t == NULL || t->dtype != GZ_DTYPE_INT64)
        return false;
      int64_t m = gz_tensor_numel (t);
      if (m < 0 || m > GZ_MAX_DIMS)
        return false;
      for (int64_t i = 0; i < m; i++)
        buf[i] = ((const int64_t *) t->data)[i];
      axes = buf;
      n = (int) m;
    }
  if (n != 2)
    return false;
  bool has2 = false, has3 = false;
  for (int i = 0; i < n; i++)
    {
      int64_t a = axes[i] < 0 ? axes[i] + 4 : axes[i];
      has2 |= a == 2;
      has3 |= a == 3;
    }
  return has2 && has3;
}

bool
gz_cam_find_head (const GzModel *model, const char *layer, GzCamHead *head, char *reason,
                  size_t reason_len)
{
  const GzGraph *g = gz_model_graph (model);
  const GzPlan *plan = gz_model_plan (model);
  memset (head, 0, sizeof *head);
  int v = gz_graph_find_value (g, layer);
  if (v < 0)
    {
      snprintf (reason, reason_len, "layer '%s' is not a tensor of the graph", layer);
      return false;
    }
  int64_t channels = plan != NULL && plan->values[v].ndim == 4 ? plan->values[v].dims[1] : -1;
  int count;
  int n = sole_consumer (model, v, &count);
  if (n < 0
      || (strcmp (g->nodes[n].op_type, "GlobalAveragePool") != 0
          && !(strcmp (g->nodes[n].op_type, "ReduceMean") == 0
               && reduces_hw (model, &g->nodes[n]))))
    {
      if (n >= 0)
        snprintf (reason, reason_len,
                  "CAM needs the layer to be followed only by global average pooling and one "
                  "linear layer; '%s' is followed by %s",
                  layer, g->nodes[n].op_type);
      else
        snprintf (reason, reason_len,
                  "CAM needs the layer to be followed only by global average pooling and one "
                  "linear layer; '%s' is %s",
                  layer, count > 1 ? "read by several nodes" : "not read by any node");
      return false;
    }
  int cur = g->nodes[n].outputs[0];
  for (;;)
    {
      n = sole_consumer (model, cur, &count);
      if (n < 0)
        {
          snprintf (reason, reason_len,
                    "CAM needs global average pooling followed by one linear layer; after the "
                    "pooling of '%s' there is %s",
                    layer, cur == g->output ? "no linear layer" : "a branch");
          return false;
        }
      const GzNode *node = &g->nodes[n];
      const char *op = node->op_type;
      if (strcmp (op, "Flatten") == 0 || strcmp (op, "Reshape") == 0 || strcmp (op, "Squeeze") == 0
          || strcmp (op, "Dropout") == 0 || strcmp (op, "Identity") == 0)
        {
          if (node->inputs[0] != cur)
            break;
          cur = node->outputs[0];
          continue;
        }
      if (strcmp (op, "Gemm") == 0 && node->inputs[0] == cur && node->n_inputs >= 2
          && is_constant (model, node->inputs[1]) && gz_node_attr_int (node, "transA", 0) == 0)
        {
          const GzTensor *b = constant_value (model, node->inputs[1]);
          if (b == NULL || b->ndim != 2 || b->dtype != GZ_DTYPE_FLOAT)
            break;
          bool tb = gz_node_attr_int (node, "transB", 0) != 0;
          head->weights = gz_tensor_f (b);
          head->n_classes = tb ? b->dims[0] : b->dims[1];
          head->n_channels = tb ? b->dims[1] : b->dims[0];
          head->row_stride = tb ? b->dims[1] : 1;
          head->col_stride = tb ? 1 : b->dims[1];
          head->scale = gz_node_attr_float (node, "alpha", 1.0f);
          cur = node->outputs[0];
        }
      else if (strcmp (op, "MatMul") == 0 && node->inputs[0] == cur
               && is_constant (model, node->inputs[1]))
        {
          const GzTensor *b = constant_value (model, node->inputs[1]);
          if (b == NULL || b->ndim != 2 || b->dtype != GZ_DTYPE_FLOAT)
            break;
          head->weights = gz_tensor_f (b);
          head->n_classes = b->dims[1];
          head->n_channels = b->dims[0];
          head->row_stride = 1;
          head->col_stride = b->dims[1];
          head->scale = 1.0f;
          cur = node->outputs[0];
          /* An optional bias. */
          n = sole_consumer (model, cur, &count);
          if (n >= 0 && strcmp (g->nodes[n].op_type, "Add") == 0
              && (is_constant (model, g->nodes[n].inputs[0])
                  || is_constant (model, g->nodes[n].inputs[1])))
            cur = g->nodes[n].outputs[0];
        }
      else
        break;
      if (cur != g->output)
        {
          snprintf (reason, reason_len,
                    "CAM needs the linear layer after global average pooling to give the model "
                    "output directly");
          return false;
        }
      if (channels >= 0 && head->n_channels != channels)
        {
          snprintf (reason, reason_len,
                    "the linear layer has %lld inputs but layer '%s' has %lld channels",
                    (long long) head->n_channels, layer, (long long) channels);
          return false;
        }
      return true;
    }
  snprintf (reason, reason_len,
            "CAM needs global average pooling followed by one linear layer; after the pooling "
            "of '%s' comes %s",
            layer, g->nodes[n].op_type);
  return false;
}

GzStatus
gz_explain_cam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err)
{
  GzCamHead head;
  char reason[300];
  if (!gz_cam_find_head (ctx->model, ctx->layer, &head, reason, sizeof reason))
    return gz_error_set (err, GZ_ERR_NOT_APPLICABLE, "cam is not applicable: %s", reason);
  if (head.n_classes != ctx->n_classes)
    return gz_error_set (err, GZ_ERR_SHAPE, "the linear layer has %lld outputs, the model %lld",
                         (long long) head.n_classes, (long long) ctx->n_classes);
  const GzTensor *a;
  GzStatus st = gz_explain_activation (ctx, session, &a, err);
  if (st != GZ_OK)
    return st;
  int64_t c = a->dims[1], hw = a->dims[2] * a->dims[3];
  GzTensor *map = gz_explain_new_map (a->dims[2], a->dims[3], err);
  float *w = malloc ((size_t) c * sizeof *w);
  if (map == NULL || w == NULL)
    {
      gz_tensor_free (map);
      free (w);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  float sign = ctx->negative ? -head.scale : head.scale;
  const float *row = head.weights + (int64_t) ctx->class_index * head.row_stride;
  for (int64_t k = 0; k < c; k++)
    w[k] = sign * row[k * head.col_stride];
  gz_cam_weighted_sum (c, hw, gz_tensor_f (a), w, gz_tensor_f (map));
  free (w);
  *raw = map;
  return GZ_OK;
}
