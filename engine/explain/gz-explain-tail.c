/* gz-explain-tail.c — runs the graph downstream of a layer on a batch of layer values
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Ablation-CAM changes one channel of the layer and asks what the logit becomes.
 * Running the whole network again would recompute everything upstream of the
 * layer for nothing, and the public session API cannot replace a tensor in the
 * middle of a forward. So this small executor runs only the nodes that depend
 * on the layer, in topological order, on a batch of N layer values, with the
 * plan for batch N (shapes, folded constants). Tensors the tail reads from
 * upstream of the layer (a residual branch, say) come from the session's kept
 * values and are repeated over the batch. Each tensor is freed after its last
 * reader, as the session does.
 */
#include <stdlib.h>
#include <string.h>

#include "gz-explain-private.h"

typedef struct
{
  const GzGraph *g;
  const GzPlan *plan;
  bool *down;        /* per value: depends on the layer */
  bool *runs;        /* per node: runs in the tail */
  int *last;         /* per value: last tail node reading it */
} Tail;

static void
tail_clear (Tail *t)
{
  free (t->down);
  free (t->runs);
  free (t->last);
}

static bool
tail_analyse (const GzModel *model, const GzPlan *plan, int layer, Tail *t)
{
  const GzGraph *g = model->graph;
  memset (t, 0, sizeof *t);
  t->g = g;
  t->plan = plan;
  t->down = calloc ((size_t) g->n_values, sizeof *t->down);
  t->runs = calloc ((size_t) g->n_nodes, sizeof *t->runs);
  t->last = malloc ((size_t) g->n_values * sizeof *t->last);
  if (t->down == NULL || t->runs == NULL || t->last == NULL)
    {
      tail_clear (t);
      return false;
    }
  for (int v = 0; v < g->n_values; v++)
    t->last[v] = -1;
  t->down[layer] = true;
  for (int i = 0; i < g->n_nodes; i++)
    {
      const GzNode *node = &g->nodes[i];
      if (plan->node_folded[i])
        continue;
      bool reached = false;
      for (int j = 0; j < node->n_inputs; j++)
        reached |= node->inputs[j] >= 0 && t->down[node->inputs[j]];
      if (!reached)
        continue;
      t->runs[i] = true;
      for (int j = 0; j < node->n_outputs; j++)
        if (node->outputs[j] >= 0 && !plan->is_constant[node->outputs[j]])
          t->down[node->outputs[j]] = true;
      for (int j = 0; j < node->n_inputs; j++)
        if (node->inputs[j] >= 0)
          t->last[node->inputs[j]] = i;
    }
  return true;
}

/* Whether value v is read by the tail but computed upstream of the layer. */
static bool
is_external (const Tail *t, int v)
{
  return v >= 0 && !t->down[v] && !t->plan->is_constant[v] && t->last[v] >= 0;
}

bool
gz_explain_tail_ready (const GzExplainCtx *ctx, GzSession *session)
{
  Tail t;
  if (!tail_analyse (ctx->model, ctx->model->plan, ctx->layer_value, &t))
    return false;
  bool ok = true;
  for (int v = 0; v < t.g->n_values && ok; v++)
    if (is_external (&t, v))
      ok = gz_session_value (session, t.g->values[v].name) != NULL;
  tail_clear (&t);
  return ok;
}

/* The batch-1 tensor src repeated to fill the batch-N header shape. */
static GzTensor *
repeat_batch (const GzTensor *src, const GzTensor *shape, GzError *err)
{
  GzTensor *dst = gz_tensor_new (shape->dtype, shape->ndim, shape->dims, err);
  if (dst == NULL)
    return NULL;
  int64_t n_src = gz_tensor_numel (src), n_dst = gz_tensor_numel (dst);
  size_t es = gz_dtype_size (src->dtype);
  if (src->dtype != shape->dtype || n_src <= 0 || n_dst % n_src != 0)
    {
      gz_tensor_free (dst);
      gz_error_set (err, GZ_ERR_SHAPE, "cannot repeat a kept tensor over the batch");
      return NULL;
    }
  for (int64_t off = 0; off < n_dst; off += n_src)
    memcpy ((char *) dst->data + (size_t) off * es, src->data, (size_t) n_src * es);
  return dst;
}

GzStatus
gz_explain_run_tail (const GzExplainCtx *ctx, GzSession *session, const GzTensor *layer_batch,
                     GzTensor **logits, GzError *err)
{
  const GzModel *model = ctx->model;
  const GzGraph *g = model->graph;
  *logits = NULL;
  int64_t n = layer_batch->dims[0];
  if (n < 1 || n > INT32_MAX)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "bad batch size");
  GzPlan *plan = NULL;
  GzStatus st = gz_plan_build (g, (int) n, &model->limits, &plan, err);
  if (st != GZ_OK)
    return st;
  Tail t;
  if (!tail_analyse (model, plan, ctx->layer_value, &t))
    {
      gz_plan_free (plan);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  GzTensor **vals = calloc ((size_t) g->n_values, sizeof *vals);
  bool *owned = calloc ((size_t) g->n_values, sizeof *owned);
  if (vals == NULL || owned == NULL)
    {
      st = gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
      goto out;
    }
  const GzTensor *lh = &plan->values[ctx->layer_value];
  if (lh->ndim != layer_batch->ndim || gz_tensor_numel (lh) != gz_tensor_numel (layer_batch))
    {
      st = gz_error_set (err, GZ_ERR_SHAPE, "layer batch does not match the plan");
      goto out;
    }
  vals[ctx->layer_value] = (GzTensor *) layer_batch;
  if (!t.down[g->output])
    {
      st = gz_error_set (err, GZ_ERR_ARGUMENT, "the output does not depend on layer '%s'",
                         ctx->layer);
      goto out;
    }
  enum { MAX_IO = 64 };
  for (int i = 0; i < g->n_nodes; i++)
    {
      if (!t.runs[i])
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
              const GzTensor *kept = gz_session_value (session, g->values[v].name);
              if (kept == NULL)
                {
                  st = gz_error_set (err, GZ_ERR_ARGUMENT, "tensor '%s' was not kept",
                                     g->values[v].name);
                  goto out;
                }
              vals[v] = repeat_batch (kept, &plan->values[v], err);
              if (vals[v] == NULL)
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
          vals[v] = gz_tensor_new (hd->dtype, hd->ndim, hd->dims, err);
          if (vals[v] == NULL)
            {
              st = err != NULL ? err->code : GZ_ERR_NOMEM;
              goto out;
            }
          owned[v] = true;
          outs[j] = vals[v];
        }
      st = node->op->forward (node, in, outs, err);
      if (st != GZ_OK)
        goto out;
      /* Free what no later tail node reads. */
      for (int j = 0; j < node->n_inputs; j++)
        {
          int v = node->inputs[j];
          if (v >= 0 && owned[v] && t.last[v] == i && v != g->output)
            {
              gz_tensor_free (vals[v]);
              vals[v] = NULL;
              owned[v] = false;
            }
        }
    }
  if (vals[g->output] == NULL)
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
  tail_clear (&t);
  gz_plan_free (plan);
  return st;
}
