/* gz-explain-tail.c — runs the graph downstream of a layer on a batch of layer values
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Ablation-CAM changes one channel of the layer and asks what the logit becomes.
 * Running the whole network again would recompute everything upstream of the
 * layer for nothing, and the public session API cannot replace a tensor in the
 * middle of a forward. So this small executor runs only the nodes between the
 * layer and the output, in topological order, on a batch of N layer values,
 * with the plan for batch N (shapes, folded constants; built once per batch
 * size). Tensors the tail reads from upstream of the layer (a residual branch,
 * say) come from the session's kept values, repeated over the batch. Each
 * tensor is freed after its last reader.
 */
#include <stdlib.h>
#include <string.h>

#include "gz-explain-private.h"

enum
{
  MAX_IO = 64,
  N_PLANS = 2
};

struct GzTail
{
  const GzModel *model;
  GzSession *session;
  int layer;
  bool *down; /* per value: computed by the tail */
  bool *runs; /* per node: runs in the tail */
  int *last; /* per value: last tail node reading it */
  int64_t image_bytes;
  GzPlan *plans[N_PLANS]; /* by batch size, most recent first */
};

void
gz_tail_free (GzTail *t)
{
  if (t == NULL)
    return;
  free (t->down);
  free (t->runs);
  free (t->last);
  for (int i = 0; i < N_PLANS; i++)
    gz_plan_free (t->plans[i]);
  free (t);
}

GzStatus
gz_tail_new (const GzExplainCtx *ctx, GzSession *session, GzTail **out, GzError *err)
{
  const GzModel *model = ctx->model;
  const GzGraph *g = model->graph;
  const GzPlan *plan = model->plan;
  *out = NULL;
  if (ctx->layer_value < 0)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "no layer");
  GzTail *t = calloc (1, sizeof *t);
  if (t == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  t->model = model;
  t->session = session;
  t->layer = ctx->layer_value;
  t->down = calloc ((size_t) g->n_values, sizeof *t->down);
  t->runs = calloc ((size_t) g->n_nodes, sizeof *t->runs);
  t->last = malloc ((size_t) g->n_values * sizeof *t->last);
  bool *needed = calloc ((size_t) g->n_values, sizeof *needed);
  if (t->down == NULL || t->runs == NULL || t->last == NULL || needed == NULL)
    {
      free (needed);
      gz_tail_free (t);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  /* Descendants of the layer … */
  t->down[t->layer] = true;
  for (int i = 0; i < g->n_nodes; i++)
    {
      const GzNode *node = &g->nodes[i];
      if (plan->node_folded[i])
        continue;
      for (int j = 0; j < node->n_inputs && !t->runs[i]; j++)
        t->runs[i] = node->inputs[j] >= 0 && t->down[node->inputs[j]];
      if (t->runs[i])
        for (int j = 0; j < node->n_outputs; j++)
          if (node->outputs[j] >= 0 && !plan->is_constant[node->outputs[j]])
            t->down[node->outputs[j]] = true;
    }
  /* … that are ancestors of the output. */
  needed[g->output] = true;
  for (int i = g->n_nodes - 1; i >= 0; i--)
    {
      const GzNode *node = &g->nodes[i];
      bool feeds = false;
      for (int j = 0; j < node->n_outputs; j++)
        feeds |= node->outputs[j] >= 0 && needed[node->outputs[j]];
      t->runs[i] = t->runs[i] && feeds;
      if (t->runs[i])
        for (int j = 0; j < node->n_inputs; j++)
          if (node->inputs[j] >= 0)
            needed[node->inputs[j]] = true;
    }
  free (needed);
  for (int v = 0; v < g->n_values; v++)
    t->last[v] = -1;
  for (int i = 0; i < g->n_nodes; i++)
    if (t->runs[i])
      {
        const GzNode *node = &g->nodes[i];
        for (int j = 0; j < node->n_inputs; j++)
          if (node->inputs[j] >= 0)
            t->last[node->inputs[j]] = i;
        for (int j = 0; j < node->n_outputs; j++)
          {
            int v = node->outputs[j];
            if (v >= 0 && !plan->is_constant[v])
              {
                int64_t n = gz_tensor_numel (&plan->values[v]);
                t->image_bytes += n > 0 ? n * (int64_t) gz_dtype_size (plan->values[v].dtype) : 0;
              }
          }
      }
  if (!t->down[g->output])
    {
      gz_tail_free (t);
      return gz_error_set (err, GZ_ERR_ARGUMENT, "the output does not depend on layer '%s'",
                           ctx->layer);
    }
  *out = t;
  return GZ_OK;
}

int64_t
gz_tail_image_bytes (const GzTail *t)
{
  return t->image_bytes;
}

/* Whether value v is read by the tail but computed upstream of the layer. */
static bool
is_external (const GzTail *t, int v)
{
  return v >= 0 && !t->down[v] && !t->model->plan->is_constant[v] && t->last[v] >= 0;
}

bool
gz_tail_ready (const GzTail *t)
{
  const GzGraph *g = t->model->graph;
  for (int v = 0; v < g->n_values; v++)
    if (is_external (t, v) && gz_session_value (t->session, g->values[v].name) == NULL)
      return false;
  return true;
}

bool
gz_tail_backward_ready (const GzTail *t)
{
  const GzGraph *g = t->model->graph;
  const GzPlan *plan = t->model->plan;
  if (gz_session_value (t->session, g->values[t->layer].name) == NULL)
    return false;
  for (int i = 0; i < g->n_nodes; i++)
    {
      if (!t->runs[i])
        continue;
      const GzNode *node = &g->nodes[i];
      for (int j = 0; j < node->n_inputs; j++)
        {
          int v = node->inputs[j];
          if (v >= 0 && !plan->is_constant[v]
              && gz_session_value (t->session, g->values[v].name) == NULL)
            return false;
        }
      for (int j = 0; j < node->n_outputs; j++)
        {
          int v = node->outputs[j];
          if (v >= 0 && !plan->is_constant[v]
              && gz_session_value (t->session, g->values[v].name) == NULL)
            return false;
        }
    }
  return true;
}

/* The batch-1 tensor src repeated to fill the batch-N header shape. */
static GzTensor *
repeat_batch (const GzTensor *src, const GzTensor *shape, GzError *err)
{
  int64_t n_src = gz_tensor_numel (src), n_dst = gz_tensor_numel (shape);
  if (src->dtype != shape->dtype || n_src <= 0 || n_dst % n_src != 0)
    {
      gz_error_set (err, GZ_ERR_SHAPE, "cannot repeat a kept tensor over the batch");
      return NULL;
    }
  GzTensor *dst = gz_tensor_new (shape->dtype, shape->ndim, shape->dims, err);
  if (dst == NULL)
    return NULL;
  size_t es = gz_dtype_size (src->dtype);
  for (int64_t off = 0; off < n_dst; off += n_src)
    memcpy ((char *) dst->data + (size_t) off * es, src->data, (size_t) n_src * es);
  return dst;
}

static GzStatus
plan_for (GzTail *t, int batch, const GzPlan **out, GzError *err)
{
  for (int i = 0; i < N_PLANS; i++)
    if (t->plans[i] != NULL && t->plans[i]->batch == batch)
      {
        *out = t->plans[i];
        return GZ_OK;
      }
  GzPlan *plan = NULL;
  GzStatus st = gz_plan_build (t->model->graph, batch, &t->model->limits, &plan, err);
  if (st != GZ_OK)
    return st;
  gz_plan_free (t->plans[N_PLANS - 1]);
  for (int i = N_PLANS - 1; i > 0; i--)
    t->plans[i] = t->plans[i - 1];
  t->plans[0] = plan;
  *out = plan;
  return GZ_OK;
}

GzStatus
gz_tail_run (GzTail *t, const GzTensor *layer_batch, GzTensor **logits, GzError *err)
{
  const GzGraph *g = t->model->graph;
  *logits = NULL;
  int64_t n = layer_batch->dims[0];
  if (layer_batch->ndim < 1 || n < 1 || n > INT32_MAX)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "bad batch size");
  const GzPlan *plan;
  GzStatus st = plan_for (t, (int) n, &plan, err);
  if (st != GZ_OK)
    return st;
  const GzTensor *lh = &plan->values[t->layer];
  if (lh->ndim != layer_batch->ndim || gz_tensor_numel (lh) != gz_tensor_numel (layer_batch))
    return gz_error_set (err, GZ_ERR_SHAPE, "the layer batch does not match the plan");
  GzTensor **vals = calloc ((size_t) g->n_values, sizeof *vals);
  bool *owned = calloc ((size_t) g->n_values, sizeof *owned);
  if (vals == NULL || owned == NULL)
    {
      st = gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
      goto out;
    }
  vals[t->layer] = (GzTensor *) layer_batch;
  for (int i = 0; i < g->n_nodes; i++)
    {
      if (!t->runs[i])
        continue;
      const GzNode *node = &g->nodes[i];
      if (node->n_inputs > MAX_IO || node->n_outputs > MAX_IO)
        {
          st = gz_error_set (err, GZ_ERR_LIMIT, "node '%s' has too many inputs", node->name);
          goto out;
        }
      bool any_runtime_output = false;
      for (int j = 0; j < node->n_outputs; j++)
        any_runtime_output |= node->outputs[j] >= 0 && !plan->is_constant[node->outputs[j]];
      if (!any_runtime_output)
        continue;
      const GzTensor *in[MAX_IO];
      GzTensor *outs[MAX_IO];
      for (int j = 0; j < node->n_inputs; j++)
        {
          int v = node->inputs[j];
          if (v < 0)
            in[j] = NULL;
          else if (plan->is_constant[v])
            in[j] = &plan->values[v];
          else if (vals[v] != NULL)
            in[j] = vals[v];
          else
            {
              const GzTensor *kept = gz_session_value (t->session, g->values[v].name);
              if (kept == NULL)
                {
                  st = gz_error_set (err, GZ_ERR_ARGUMENT, "tensor '%s' was not kept",
                                     g->values[v].name);
                  goto out;
                }
              if ((vals[v] = repeat_batch (kept, &plan->values[v], err)) == NULL)
                {
                  st = err != NULL ? err->code : GZ_ERR_NOMEM;
                  goto out;
                }
              owned[v] = true;
              in[j] = vals[v];
            }
        }
      for (int j = 0; j < node->n_outputs; j++)
        {
          int v = node->outputs[j];
          outs[j] = NULL;
          if (v < 0 || plan->is_constant[v])
            continue;
          const GzTensor *hd = &plan->values[v];
          if ((vals[v] = gz_tensor_new (hd->dtype, hd->ndim, hd->dims, err)) == NULL)
            {
              st = err != NULL ? err->code : GZ_ERR_NOMEM;
              goto out;
            }
          owned[v] = true;
          outs[j] = vals[v];
        }
      if ((st = node->op->forward (node, in, outs, err)) != GZ_OK)
        goto out;
      /* Free what no later tail node reads. */
      for (int j = 0; j < node->n_inputs; j++)
        {
          int v = node->inputs[j];
          if (v >= 0 && owned[v] && t->last[v] == i && v != g->output)
            {
              gz_tensor_free (vals[v]);
              vals[v] = NULL;
              owned[v] = false;
            }
        }
    }
  if (vals[g->output] == NULL || !owned[g->output])
    {
      st = gz_error_set (err, GZ_ERR_ARGUMENT, "the tail did not produce the output");
      goto out;
    }
  *logits = vals[g->output];
  owned[g->output] = false;
  st = GZ_OK;
out:
  if (vals != NULL && owned != NULL)
    for (int v = 0; v < g->n_values; v++)
      if (owned[v])
        gz_tensor_free (vals[v]);
  free (vals);
  free (owned);
  return st;
}
