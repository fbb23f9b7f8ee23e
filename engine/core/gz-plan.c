/* gz-plan.c — shape inference and constant folding for one batch size
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "gz-plan.h"

void
gz_plan_free (GzPlan *plan)
{
  if (plan == NULL)
    return;
  for (int i = 0; i < plan->n_values; i++)
    if (plan->folded_owned[i])
      free (plan->values[i].data);
  free (plan->values);
  free (plan->is_constant);
  free (plan->folded_owned);
  free (plan->node_folded);
  free (plan->last_use);
  if (plan->prepared != NULL)
    for (int n = 0; n < plan->n_nodes; n++)
      if (plan->prepared[n] != NULL)
        plan->free_prepared[n](plan->prepared[n]);
  free (plan->prepared);
  free (plan->free_prepared);
  free (plan);
}

/* The element count with empty (0) dimensions counted as 1: an empty tensor
 * of shape [0, 2^40, 2^40] holds nothing, but operators multiply its other
 * dimensions (H*W, strides) and would overflow. -1 when it overflows. */
static int64_t
shape_extent (int ndim, const int64_t *dims)
{
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    {
      int64_t d = dims[i] == 0 ? 1 : dims[i];
      if (d < 0 || n > INT64_MAX / d)
        return -1;
      n *= d;
    }
  return n;
}

/* The graph input's shape for this batch: symbolic batch → batch. */
static GzStatus
plan_input_shape (const GzGraph *g, int batch, const GzLimits *limits, GzTensor *t, GzError *err)
{
  const GzValue *v = &g->values[g->input];
  if (!v->has_shape)
    return gz_error_set (err, GZ_ERR_SHAPE, "the model input '%s' declares no shape", v->name);
  gz_tensor_set_shape (t, v->dtype, v->ndim, v->dims);
  if (v->ndim > 0)
    {
      if (v->dims[0] >= 0 && v->dims[0] != batch)
        return gz_error_set (err, GZ_ERR_SHAPE,
                             "the model input '%s' has a fixed batch of %lld, not %d", v->name,
                             (long long) v->dims[0], batch);
      t->dims[0] = batch;
    }
  for (int d = 1; d < v->ndim; d++)
    if (v->dims[d] < 0)
      return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                           "dimension %d of the model input '%s' is symbolic; only the batch "
                           "dimension may be",
                           d, v->name);
  int64_t extent = shape_extent (t->ndim, t->dims);
  if (limits != NULL && (extent < 0 || extent > limits->max_tensor_elements))
    return gz_error_set (
        err, GZ_ERR_LIMIT,
        "the model input '%s' would have more elements than the tensor-elements limit of %lld",
        v->name, (long long) limits->max_tensor_elements);
  return GZ_OK;
}

static bool
node_inputs_constant (const GzNode *node, const GzPlan *plan)
{
  for (int i = 0; i < node->n_inputs; i++)
    if (node->inputs[i] >= 0 && !plan->is_constant[node->inputs[i]])
      return false;
  return true;
}

static GzStatus
check_output (const GzNode *node, const GzTensor *t, const GzLimits *limits, GzError *err)
{
  if (t->ndim < 0 || t->ndim > GZ_MAX_DIMS)
    return gz_error_set (err, GZ_ERR_SHAPE, "node '%s' (%s) produced rank %d", node->name,
                         node->op_type, t->ndim);
  int64_t n = gz_shape_numel (t->ndim, t->dims);
  if (n < 0)
    return gz_error_set (err, GZ_ERR_SHAPE,
                         "node '%s' (%s) has an output with a negative or overflowing shape",
                         node->name, node->op_type);
  if (limits != NULL && n > limits->max_tensor_elements)
    return gz_error_set (
        err, GZ_ERR_LIMIT,
        "node '%s' (%s) output has %lld elements, above the tensor-elements limit of %lld",
        node->name, node->op_type, (long long) n, (long long) limits->max_tensor_elements);
  int64_t extent = shape_extent (t->ndim, t->dims);
  if (limits != NULL && (extent < 0 || extent > limits->max_tensor_elements))
    return gz_error_set (err, GZ_ERR_LIMIT,
                         "node '%s' (%s) output is empty but its other dimensions multiply to "
                         "more than the tensor-elements limit of %lld",
                         node->name, node->op_type, (long long) limits->max_tensor_elements);
  return GZ_OK;
}

/* Runs one node at build time: all its inputs are constant. */
/* Folded constants live as long as the model: they count against the
 * activation budget too, or a chain of ConstantOfShape/Expand nodes, each
 * under the element limit, could fill the memory at load time. */
static GzStatus
count_constant (const GzNode *node, const GzTensor *t, const GzLimits *limits, int64_t *total,
                GzError *err)
{
  int64_t bytes = gz_tensor_numel (t) * (int64_t) gz_dtype_size (t->dtype);
  if (bytes < 0 || *total > INT64_MAX - bytes)
    return gz_error_set (err, GZ_ERR_LIMIT, "constant memory overflows at node '%s'", node->name);
  *total += bytes;
  if (limits != NULL && *total > limits->max_activation_bytes)
    return gz_error_set (err, GZ_ERR_LIMIT,
                         "constants computed at load time need more than the activation-bytes "
                         "limit of %lld MiB (at node '%s' (%s))",
                         (long long) (limits->max_activation_bytes >> 20), node->name,
                         node->op_type);
  return GZ_OK;
}

static GzStatus
plan_fold_node (const GzNode *node, GzPlan *plan, const GzTensor *const *in, GzTensor *const *out,
                const GzLimits *limits, int64_t *folded_bytes, GzError *err)
{
  for (int j = 0; j < node->n_outputs; j++)
    {
      GzTensor *t = out[j];
      if (t == NULL || t->data != NULL)
        continue;
      GzStatus st = count_constant (node, t, limits, folded_bytes, err);
      if (st != GZ_OK)
        return st;
      int64_t n = gz_tensor_numel (t);
      t->data = calloc (n > 0 ? (size_t) n : 1, gz_dtype_size (t->dtype));
      if (t->data == NULL)
        return gz_error_set (err, GZ_ERR_NOMEM, "out of memory folding node '%s'", node->name);
      plan->folded_owned[node->outputs[j]] = true;
    }
  return node->op->forward (node, in, out, err);
}

GzStatus
gz_plan_build (const GzGraph *g, int batch, const GzLimits *limits, GzPlan **out, GzError *err)
{
  enum
  {
    MAX_IO = 64
  };
  GzStatus st = GZ_OK;
  int64_t folded_bytes = 0;
  GzPlan *plan = calloc (1, sizeof *plan);
  if (plan == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  plan->batch = batch;
  plan->tail_layer = -1;
  plan->n_values = g->n_values;
  plan->values = calloc ((size_t) g->n_values + 1, sizeof *plan->values);
  plan->is_constant = calloc ((size_t) g->n_values + 1, sizeof (bool));
  plan->folded_owned = calloc ((size_t) g->n_values + 1, sizeof (bool));
  plan->last_use = malloc (((size_t) g->n_values + 1) * sizeof (int));
  plan->node_folded = calloc ((size_t) g->n_nodes + 1, sizeof (bool));
  plan->n_nodes = g->n_nodes;
  plan->prepared = calloc ((size_t) g->n_nodes + 1, sizeof *plan->prepared);
  plan->free_prepared = calloc ((size_t) g->n_nodes + 1, sizeof *plan->free_prepared);
  if (!plan->values || !plan->is_constant || !plan->folded_owned || !plan->last_use
      || !plan->node_folded || !plan->prepared || !plan->free_prepared)
    {
      gz_plan_free (plan);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }

  for (int v = 0; v < g->n_values; v++)
    {
      const GzTensor *init = g->values[v].initializer;
      plan->last_use[v] = -1;
      if (init != NULL)
        {
          plan->values[v] = *init;
          plan->values[v].owns_data = false; /* borrowed from the graph */
          plan->is_constant[v] = true;
        }
    }
  if ((st = plan_input_shape (g, batch, limits, &plan->values[g->input], err)) != GZ_OK)
    goto fail;

  for (int n = 0; n < g->n_nodes; n++)
    {
      const GzNode *node = &g->nodes[n];
      const GzTensor *in[MAX_IO];
      GzTensor *outs[MAX_IO];
      if (node->n_inputs > MAX_IO || node->n_outputs > MAX_IO)
        {
          st = gz_error_set (err, GZ_ERR_UNSUPPORTED, "node '%s' has too many inputs or outputs",
                             node->name);
          goto fail;
        }
      for (int i = 0; i < node->n_inputs; i++)
        in[i] = node->inputs[i] >= 0 ? &plan->values[node->inputs[i]] : NULL;
      for (int j = 0; j < node->n_outputs; j++)
        {
          int v = node->outputs[j];
          outs[j] = v >= 0 ? &plan->values[v] : NULL;
          if (outs[j] != NULL)
            memset (outs[j], 0, sizeof *outs[j]);
        }
      if ((st = node->op->infer (node, in, outs, err)) != GZ_OK)
        goto fail;
      bool all_constant = true;
      for (int j = 0; j < node->n_outputs; j++)
        {
          int v = node->outputs[j];
          if (v < 0)
            continue;
          if ((st = check_output (node, outs[j], limits, err)) != GZ_OK)
            goto fail;
          if (outs[j]->data != NULL)
            {
              /* The operator knew the value from shapes alone (e.g. Shape). */
              plan->is_constant[v] = true;
              plan->folded_owned[v] = outs[j]->owns_data;
              outs[j]->owns_data = false;
              if ((st = count_constant (node, outs[j], limits, &folded_bytes, err)) != GZ_OK)
                goto fail;
            }
          else
            all_constant = false;
        }
      if (!all_constant && node_inputs_constant (node, plan))
        {
          if ((st = plan_fold_node (node, plan, in, outs, limits, &folded_bytes, err)) != GZ_OK)
            goto fail;
          for (int j = 0; j < node->n_outputs; j++)
            if (node->outputs[j] >= 0)
              plan->is_constant[node->outputs[j]] = true;
          all_constant = true;
        }
      plan->node_folded[n] = all_constant;
      if (!all_constant && node->op->prepare != NULL)
        {
          if ((st = node->op->prepare (node, in, (const GzTensor *const *) outs, &plan->prepared[n],
                                       err))
              != GZ_OK)
            goto fail;
          plan->free_prepared[n] = node->op->free_prepared;
        }
    }

  /* Liveness of runtime values, and the activation memory bound. */
  for (int n = 0; n < g->n_nodes; n++)
    {
      if (plan->node_folded[n])
        continue;
      const GzNode *node = &g->nodes[n];
      for (int i = 0; i < node->n_inputs; i++)
        if (node->inputs[i] >= 0 && !plan->is_constant[node->inputs[i]])
          plan->last_use[node->inputs[i]] = n;
    }
  for (int v = 0; v < g->n_values; v++)
    if (!plan->is_constant[v] && (g->values[v].producer >= 0 || v == g->input))
      {
        int64_t bytes
            = gz_tensor_numel (&plan->values[v]) * (int64_t) gz_dtype_size (plan->values[v].dtype);
        if (bytes < 0 || plan->activation_bytes > INT64_MAX - bytes)
          {
            st = gz_error_set (err, GZ_ERR_LIMIT, "activation memory overflows");
            goto fail;
          }
        plan->activation_bytes += bytes;
      }
  if (limits != NULL && plan->activation_bytes > limits->max_activation_bytes)
    {
      st = gz_error_set (err, GZ_ERR_LIMIT,
                         "a forward pass at batch %d needs about %lld MiB of activations, above "
                         "the activation-bytes limit of %lld MiB",
                         batch, (long long) (plan->activation_bytes >> 20),
                         (long long) (limits->max_activation_bytes >> 20));
      goto fail;
    }
  *out = plan;
  return GZ_OK;

fail:
  gz_plan_free (plan);
  return st;
}

/* ---- Plans for the part of the graph after a layer ---------------------- */

/* base's shape with the first dimension times batch, into t (header only). */
static GzStatus
batched_header (const GzTensor *base, int batch, GzTensor *t, const char *name, GzError *err)
{
  if (base->ndim < 1 || base->dims[0] < 1 || base->dims[0] > INT64_MAX / batch)
    return gz_error_set (err, GZ_ERR_SHAPE, "tensor '%s' has no batch dimension", name);
  gz_tensor_set_shape (t, base->dtype, base->ndim, base->dims);
  t->dims[0] = base->dims[0] * batch;
  return GZ_OK;
}

static bool
is_batched (const GzTensor *base, int batch, const GzTensor *t)
{
  if (t->ndim != base->ndim || t->ndim < 1 || t->dtype != base->dtype
      || t->dims[0] != base->dims[0] * batch)
    return false;
  for (int d = 1; d < t->ndim; d++)
    if (t->dims[d] != base->dims[d])
      return false;
  return true;
}

GzStatus
gz_plan_build_tail (const GzGraph *g, const GzPlan *base, const bool *runs, int layer, int batch,
                    const GzLimits *limits, GzPlan **out, GzError *err)
{
  enum
  {
    MAX_IO = 64
  };
  *out = NULL;
  if (base->batch != 1 || batch < 1 || layer < 0 || layer >= g->n_values)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "tail plan: bad arguments");
  GzStatus st = GZ_OK;
  int64_t folded_bytes = 0;
  GzPlan *plan = calloc (1, sizeof *plan);
  if (plan == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  plan->batch = batch;
  plan->tail_layer = layer;
  plan->n_values = g->n_values;
  plan->n_nodes = g->n_nodes;
  plan->values = calloc ((size_t) g->n_values + 1, sizeof *plan->values);
  plan->is_constant = calloc ((size_t) g->n_values + 1, sizeof (bool));
  plan->folded_owned = calloc ((size_t) g->n_values + 1, sizeof (bool));
  plan->last_use = malloc (((size_t) g->n_values + 1) * sizeof (int));
  plan->node_folded = calloc ((size_t) g->n_nodes + 1, sizeof (bool));
  plan->prepared = calloc ((size_t) g->n_nodes + 1, sizeof *plan->prepared);
  plan->free_prepared = calloc ((size_t) g->n_nodes + 1, sizeof *plan->free_prepared);
  bool *produced = calloc ((size_t) g->n_values + 1, sizeof (bool));
  if (!plan->values || !plan->is_constant || !plan->folded_owned || !plan->last_use
      || !plan->node_folded || !plan->prepared || !plan->free_prepared || !produced)
    {
      free (produced);
      gz_plan_free (plan);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  /* Base's headers and constants (borrowed: base outlives this plan). */
  for (int v = 0; v < g->n_values; v++)
    {
      plan->values[v] = base->values[v];
      plan->values[v].owns_data = false;
      plan->is_constant[v] = base->is_constant[v];
      plan->last_use[v] = -1;
    }
  for (int n = 0; n < g->n_nodes; n++)
    plan->node_folded[n] = true; /* outside the run: never executed with this plan */
  if ((st = batched_header (&base->values[layer], batch, &plan->values[layer],
                            g->values[layer].name, err))
      != GZ_OK)
    goto fail;
  produced[layer] = true;

  for (int n = 0; n < g->n_nodes; n++)
    {
      if (!runs[n])
        continue;
      const GzNode *node = &g->nodes[n];
      const GzTensor *in[MAX_IO];
      GzTensor *outs[MAX_IO];
      if (node->n_inputs > MAX_IO || node->n_outputs > MAX_IO)
        {
          st = gz_error_set (err, GZ_ERR_UNSUPPORTED, "node '%s' has too many inputs or outputs",
                             node->name);
          goto fail;
        }
      for (int i = 0; i < node->n_inputs; i++)
        {
          int v = node->inputs[i];
          in[i] = v >= 0 ? &plan->values[v] : NULL;
          /* Read from upstream of the layer: repeated over the batch. */
          if (v >= 0 && !plan->is_constant[v] && !produced[v])
            {
              if ((st = batched_header (&base->values[v], batch, &plan->values[v],
                                        g->values[v].name, err))
                  != GZ_OK)
                goto fail;
              produced[v] = true;
            }
        }
      for (int j = 0; j < node->n_outputs; j++)
        {
          int v = node->outputs[j];
          outs[j] = v >= 0 ? &plan->values[v] : NULL;
          if (outs[j] != NULL)
            {
              memset (outs[j], 0, sizeof *outs[j]);
              plan->is_constant[v] = false;
            }
        }
      if ((st = node->op->infer (node, in, outs, err)) != GZ_OK)
        goto fail;
      bool all_constant = true;
      for (int j = 0; j < node->n_outputs; j++)
        {
          int v = node->outputs[j];
          if (v < 0)
            continue;
          produced[v] = true;
          if ((st = check_output (node, outs[j], limits, err)) != GZ_OK)
            goto fail;
          if (outs[j]->data != NULL)
            {
              plan->is_constant[v] = true;
              plan->folded_owned[v] = outs[j]->owns_data;
              outs[j]->owns_data = false;
              if ((st = count_constant (node, outs[j], limits, &folded_bytes, err)) != GZ_OK)
                goto fail;
            }
          else
            all_constant = false;
        }
      if (!all_constant && node_inputs_constant (node, plan))
        {
          if ((st = plan_fold_node (node, plan, in, outs, limits, &folded_bytes, err)) != GZ_OK)
            goto fail;
          for (int j = 0; j < node->n_outputs; j++)
            if (node->outputs[j] >= 0)
              plan->is_constant[node->outputs[j]] = true;
          all_constant = true;
        }
      plan->node_folded[n] = all_constant;
      /* Images must stay apart: every runtime value is base's, batched. */
      for (int j = 0; j < node->n_outputs; j++)
        {
          int v = node->outputs[j];
          if (v >= 0 && !plan->is_constant[v] && !base->is_constant[v]
              && !is_batched (&base->values[v], batch, &plan->values[v]))
            {
              st = gz_error_set (err, GZ_ERR_SHAPE,
                                 "the graph after '%s' does not run at batch %d (tensor '%s')",
                                 g->values[layer].name, batch, g->values[v].name);
              goto fail;
            }
          if (v >= 0 && plan->is_constant[v] != base->is_constant[v])
            {
              st = gz_error_set (err, GZ_ERR_SHAPE,
                                 "the graph after '%s' does not run at batch %d (tensor '%s')",
                                 g->values[layer].name, batch, g->values[v].name);
              goto fail;
            }
        }
      if (!all_constant && node->op->prepare != NULL)
        {
          if ((st = node->op->prepare (node, in, (const GzTensor *const *) outs, &plan->prepared[n],
                                       err))
              != GZ_OK)
            goto fail;
          plan->free_prepared[n] = node->op->free_prepared;
        }
    }
  /* Liveness over the run, as gz_plan_build does for the whole graph. */
  for (int n = 0; n < g->n_nodes; n++)
    {
      if (!runs[n] || plan->node_folded[n])
        continue;
      const GzNode *node = &g->nodes[n];
      for (int i = 0; i < node->n_inputs; i++)
        if (node->inputs[i] >= 0 && !plan->is_constant[node->inputs[i]])
          plan->last_use[node->inputs[i]] = n;
    }
  for (int v = 0; v < g->n_values; v++)
    if (produced[v] && !plan->is_constant[v])
      {
        int64_t bytes
            = gz_tensor_numel (&plan->values[v]) * (int64_t) gz_dtype_size (plan->values[v].dtype);
        if (bytes < 0 || plan->activation_bytes > INT64_MAX - bytes)
          {
            st = gz_error_set (err, GZ_ERR_LIMIT, "activation memory overflows");
            goto fail;
          }
        plan->activation_bytes += bytes;
      }
  if (limits != NULL && plan->activation_bytes > limits->max_activation_bytes)
    {
      st = gz_error_set (err, GZ_ERR_LIMIT,
                         "a run after '%s' at batch %d needs about %lld MiB of activations, above "
                         "the activation-bytes limit of %lld MiB",
                         g->values[layer].name, batch, (long long) (plan->activation_bytes >> 20),
                         (long long) (limits->max_activation_bytes >> 20));
      goto fail;
    }
  free (produced);
  *out = plan;
  return GZ_OK;

fail:
  free (produced);
  gz_plan_free (plan);
  return st;
}
