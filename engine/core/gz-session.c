/* gz-session.c — running a model: forward with memory reuse, and the backward pass
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Memory: activation buffers come from a pool of blocks that lives as long as
 * the session. A block returns to the pool after the last node reading its
 * value has run, unless the value is kept (the output, and whatever a backward
 * pass from the output to the kept layer needs). Blocks are never given back to
 * malloc between runs, so repeated forwards do not fault pages in again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gz-model-private.h"
#include "gz-session-private.h"

enum
{
  MAX_IO = 64
};

typedef struct
{
  void *data;
  size_t capacity;
  bool in_use;
} Block;

enum
{
  N_TAIL_PLANS = 2
};

/* What gz_session_run_from needs for one layer (see gz-session-private.h). */
typedef struct
{
  int layer; /* value index; -1 before the first run */
  bool *runs; /* per node: on a path from the layer to the output */
  bool *down; /* per value: the layer or computed by a running node */
  int *last; /* per value: the last running node that reads it, -1 */
  int64_t image_bytes; /* activations of one image */
  GzTensor *values; /* per value: header for the run's batch, data while live */
  int *block_of; /* per value: pool block index, -1 */
  GzPlan *plans[N_TAIL_PLANS]; /* by batch size, most recent first */
} Tail;

struct GzSession
{
  const GzModel *model;
  const GzPlan *plan; /* model->plan or batch_plan */
  GzPlan *batch_plan; /* for a batch other than 1 */
  GzTensor *values; /* per graph value: header + data while live */
  int *block_of; /* per value: pool block index, -1 */
  bool *kept; /* per value: kept after the last forward */
  Block *blocks;
  int n_blocks;
  bool have_forward;
  uint64_t forward_count;
  char *keep; /* keep_layer of the last forward (explain reuses it) */
  uint64_t memo_input_hash; /* of the input the memo was made for */
  void *memo; /* gz_session_set_memo */
  void (*memo_free) (void *);
  Tail tail;
};

static const GzGraph *
session_graph (const GzSession *s)
{
  return s->model->graph;
}

GzStatus
gz_session_new (const GzModel *model, GzSession **out, GzError *err)
{
  const GzGraph *g = model->graph;
  GzSession *s = calloc (1, sizeof *s);
  if (s == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  s->model = model;
  s->plan = model->plan;
  s->values = calloc ((size_t) g->n_values + 1, sizeof *s->values);
  s->block_of = malloc (((size_t) g->n_values + 1) * sizeof (int));
  s->kept = calloc ((size_t) g->n_values + 1, sizeof (bool));
  if (s->values == NULL || s->block_of == NULL || s->kept == NULL)
    {
      gz_session_free (s);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  for (int v = 0; v < g->n_values; v++)
    s->block_of[v] = -1;
  s->tail.layer = -1;
  *out = s;
  return GZ_OK;
}

void
gz_session_free (GzSession *s)
{
  if (s == NULL)
    return;
  for (int b = 0; b < s->n_blocks; b++)
    free (s->blocks[b].data);
  free (s->blocks);
  free (s->values);
  free (s->block_of);
  free (s->kept);
  free (s->keep);
  gz_plan_free (s->batch_plan);
  free (s->tail.runs);
  free (s->tail.down);
  free (s->tail.last);
  free (s->tail.values);
  free (s->tail.block_of);
  for (int i = 0; i < N_TAIL_PLANS; i++)
    gz_plan_free (s->tail.plans[i]);
  gz_session_set_memo (s, NULL, NULL);
  free (s);
}

void *
gz_session_memo (const GzSession *s, void (*free_fn) (void *))
{
  return s->memo_free == free_fn ? s->memo : NULL;
}

/* FNV-1a over the input's dims and bytes, 8 bytes at a time: ~0.1 ms for an
 * ImageNet input, against a forward of milliseconds. */
static uint64_t
input_hash (const GzTensor *t)
{
  uint64_t h = 1469598103934665603u;
  for (int d = 0; d < t->ndim; d++)
    h = (h ^ (uint64_t) t->dims[d]) * 1099511628211u;
  size_t bytes = (size_t) gz_tensor_numel (t) * sizeof (float);
  const unsigned char *p = t->data;
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8)
    {
      uint64_t w;
      memcpy (&w, p + i, 8);
      h = (h ^ w) * 1099511628211u;
    }
  for (; i < bytes; i++)
    h = (h ^ p[i]) * 1099511628211u;
  return h;
}

void
gz_session_set_memo (GzSession *s, void *memo, void (*free_fn) (void *))
{
  if (s->memo != NULL && s->memo_free != NULL)
    s->memo_free (s->memo);
  s->memo = memo;
  s->memo_free = free_fn;
  /* Hashed here, not on every forward: sessions without a memo (Score-CAM's
   * own scratch session among them) pay nothing. */
  const GzTensor *in = memo != NULL ? gz_session_input (s) : NULL;
  s->memo_input_hash = in != NULL && in->data != NULL ? input_hash (in) : 0;
}

const GzModel *
gz_session_model (const GzSession *s)
{
  return s->model;
}

uint64_t
gz_session_forward_count (const GzSession *s)
{
  return s->forward_count;
}

const GzTensor *
gz_session_input (const GzSession *s)
{
  return s->have_forward ? &s->values[session_graph (s)->input] : NULL;
}

const char *
gz_session_keep (const GzSession *s)
{
  return s->have_forward ? s->keep : NULL;
}

/* ---- A model, read-only ------------------------------------------------ */

const GzGraph *
gz_model_graph (const GzModel *model)
{
  return model->graph;
}

const GzPlan *
gz_model_plan (const GzModel *model)
{
  return model->plan;
}

const GzLimits *
gz_model_limits (const GzModel *model)
{
  return &model->limits;
}

/* ---- The block pool ---------------------------------------------------- */

/* A value's block goes back to the pool. values/block_of: the forward's
 * (s->values, s->block_of) or a run from a layer's (s->tail). */
static void
pool_release (GzSession *s, GzTensor *values, int *block_of, int v)
{
  int b = block_of[v];
  if (b < 0)
    return;
  s->blocks[b].in_use = false;
  block_of[v] = -1;
  values[v].data = NULL;
}

/* Best fit among free blocks; else grow the largest free block; else a new one. */
static GzStatus
pool_acquire (GzSession *s, GzTensor *values, int *block_of, int v, GzError *err)
{
  size_t need = (size_t) gz_tensor_numel (&values[v]) * gz_dtype_size (values[v].dtype);
  if (need == 0)
    need = sizeof (float);
  int best = -1, largest = -1;
  for (int b = 0; b < s->n_blocks; b++)
    {
      if (s->blocks[b].in_use)
        continue;
      if (s->blocks[b].capacity >= need
          && (best < 0 || s->blocks[b].capacity < s->blocks[best].capacity))
        best = b;
      if (largest < 0 || s->blocks[b].capacity > s->blocks[largest].capacity)
        largest = b;
    }
  if (best < 0 && largest >= 0)
    {
      void *p = realloc (s->blocks[largest].data, need);
      if (p == NULL)
        return gz_error_set (err, GZ_ERR_NOMEM, "out of memory for activations");
      s->blocks[largest].data = p;
      s->blocks[largest].capacity = need;
      best = largest;
    }
  if (best < 0)
    {
      Block *blocks = realloc (s->blocks, ((size_t) s->n_blocks + 1) * sizeof *blocks);
      if (blocks == NULL)
        return gz_error_set (err, GZ_ERR_NOMEM, "out of memory for activations");
      s->blocks = blocks;
      void *p = malloc (need);
      if (p == NULL)
        return gz_error_set (err, GZ_ERR_NOMEM, "out of memory for activations");
      best = s->n_blocks++;
      s->blocks[best] = (Block){ p, need, false };
    }
  s->blocks[best].in_use = true;
  block_of[v] = best;
  values[v].data = s->blocks[best].data;
  return GZ_OK;
}

/* ---- Graph reachability ------------------------------------------------ */

/* Marks the nodes that lie on a path from value `from` to the graph output:
 * descendants of `from` that are ancestors of the output. */
static void
mark_path_nodes (const GzGraph *g, const GzPlan *plan, int from, bool *on_path)
{
  bool *reached = calloc ((size_t) g->n_values + 1, sizeof (bool));
  bool *needed = calloc ((size_t) g->n_values + 1, sizeof (bool));
  if (reached == NULL || needed == NULL)
    goto out;
  reached[from] = true;
  for (int n = 0; n < g->n_nodes; n++)
    {
      const GzNode *node = &g->nodes[n];
      bool hit = false;
      for (int i = 0; i < node->n_inputs; i++)
        hit |= node->inputs[i] >= 0 && reached[node->inputs[i]];
      on_path[n] = hit && !plan->node_folded[n];
      if (on_path[n])
        for (int j = 0; j < node->n_outputs; j++)
          if (node->outputs[j] >= 0)
            reached[node->outputs[j]] = true;
    }
  needed[g->output] = true;
  for (int n = g->n_nodes - 1; n >= 0; n--)
    {
      const GzNode *node = &g->nodes[n];
      bool feeds = false;
      for (int j = 0; j < node->n_outputs; j++)
        feeds |= node->outputs[j] >= 0 && needed[node->outputs[j]];
      on_path[n] = on_path[n] && feeds;
      if (feeds)
        for (int i = 0; i < node->n_inputs; i++)
          if (node->inputs[i] >= 0)
            needed[node->inputs[i]] = true;
    }
out:
  free (reached);
  free (needed);
}

static GzStatus
resolve_value (const GzSession *s, const char *name, int *v, GzError *err)
{
  const GzGraph *g = session_graph (s);
  *v = name == NULL ? g->input : gz_graph_find_value (g, name);
  if (*v < 0)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "the model has no tensor named '%s'", name);
  if (s->plan->is_constant[*v])
    return gz_error_set (err, GZ_ERR_ARGUMENT, "'%s' is a constant, not an activation", name);
  return GZ_OK;
}

/* Which values survive the forward. */
static GzStatus
compute_keep_set (GzSession *s, const char *keep_layer, GzError *err)
{
  const GzGraph *g = session_graph (s);
  memset (s->kept, 0, (size_t) g->n_values * sizeof (bool));
  s->kept[g->output] = true;
  s->kept[g->input] = true; /* explanations re-run or perturb it (gz_session_input) */
  if (keep_layer == NULL)
    return GZ_OK;
  if (strcmp (keep_layer, "*") == 0)
    {
      for (int v = 0; v < g->n_values; v++)
        s->kept[v] = !s->plan->is_constant[v];
      return GZ_OK;
    }
  int layer;
  GzStatus st = resolve_value (s, keep_layer, &layer, err);
  if (st != GZ_OK)
    return st;
  bool *on_path = calloc ((size_t) g->n_nodes + 1, sizeof (bool));
  if (on_path == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  mark_path_nodes (g, s->plan, layer, on_path);
  s->kept[layer] = true;
  for (int n = 0; n < g->n_nodes; n++)
    if (on_path[n])
      {
        const GzNode *node = &g->nodes[n];
        for (int i = 0; i < node->n_inputs; i++)
          if (node->inputs[i] >= 0 && !s->plan->is_constant[node->inputs[i]])
            s->kept[node->inputs[i]] = true;
        for (int j = 0; j < node->n_outputs; j++)
          if (node->outputs[j] >= 0)
            s->kept[node->outputs[j]] = true;
      }
  free (on_path);
  return GZ_OK;
}

/* ---- Forward ----------------------------------------------------------- */

/* The model was exported with a fixed batch of 1 (no dynamic batch axis). */
static bool
fixed_batch_1 (const GzSession *s)
{
  const GzGraph *g = s->model->graph;
  const GzValue *in = &g->values[g->input];
  return s->model->plan->batch == 1 && in->has_shape && in->ndim > 0 && in->dims[0] == 1;
}

static GzStatus
select_plan (GzSession *s, int batch, GzError *err)
{
  if (batch == s->model->plan->batch)
    {
      s->plan = s->model->plan;
      return GZ_OK;
    }
  if (s->batch_plan == NULL || s->batch_plan->batch != batch)
    {
      gz_plan_free (s->batch_plan);
      s->batch_plan = NULL;
      const GzGraph *g = s->model->graph;
      GzStatus st;
      if (fixed_batch_1 (s))
        {
          /* Exported with a fixed batch of 1: a batch of N runs when every
           * tensor comes out as the one-image shape times N (no Reshape with
           * the 1 baked in); the error names the tensor that does not. */
          bool *all = malloc (((size_t) g->n_nodes + 1) * sizeof *all);
          if (all == NULL)
            return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
          for (int n = 0; n < g->n_nodes; n++)
            all[n] = true;
          st = gz_plan_build_tail (g, s->model->plan, all, g->input, batch, &s->model->limits,
                                   &s->batch_plan, err);
          free (all);
        }
      else
        st = gz_plan_build (g, batch, &s->model->limits, &s->batch_plan, err);
      if (st != GZ_OK)
        return st;
    }
  s->plan = s->batch_plan;
  return GZ_OK;
}

static GzStatus
run_forward (GzSession *s, const GzTensor *input, const char *keep_layer, GzError *err)
{
  const GzGraph *g = session_graph (s);
  GzStatus st;
  s->have_forward = false;
  for (int v = 0; v < g->n_values; v++)
    pool_release (s, s->values, s->block_of, v);

  if (input == NULL || input->dtype != GZ_DTYPE_FLOAT || input->ndim < 1)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "the input must be a float32 tensor");
  if ((st = select_plan (s, (int) input->dims[0], err)) != GZ_OK)
    return st;
  const GzTensor *expect = &s->plan->values[g->input];
  if (input->ndim != expect->ndim
      || memcmp (input->dims, expect->dims, (size_t) input->ndim * sizeof (int64_t)) != 0)
    {
      char want[128] = "", got[128] = "";
      for (int d = 0; d < expect->ndim; d++)
        snprintf (want + strlen (want), sizeof want - strlen (want), "%s%lld", d ? "×" : "",
                  (long long) expect->dims[d]);
      for (int d = 0; d < input->ndim; d++)
        snprintf (got + strlen (got), sizeof got - strlen (got), "%s%lld", d ? "×" : "",
                  (long long) input->dims[d]);
      return gz_error_set (err, GZ_ERR_SHAPE, "the model expects an input of %s, got %s", want,
                           got);
    }
  for (int v = 0; v < g->n_values; v++)
    {
      s->values[v] = s->plan->values[v];
      s->values[v].owns_data = false;
      if (!s->plan->is_constant[v])
        s->values[v].data = NULL;
    }
  if ((st = compute_keep_set (s, keep_layer, err)) != GZ_OK)
    return st;
  free (s->keep);
  s->keep = keep_layer != NULL ? strdup (keep_layer) : NULL;
  if (keep_layer != NULL && s->keep == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");

  if ((st = pool_acquire (s, s->values, s->block_of, g->input, err)) != GZ_OK)
    return st;
  memcpy (s->values[g->input].data, input->data, (size_t) gz_tensor_numel (input) * sizeof (float));

  for (int n = 0; n < g->n_nodes; n++)
    {
      if (s->plan->node_folded[n])
        continue;
      const GzNode *node = &g->nodes[n];
      const GzTensor *in[MAX_IO];
      GzTensor *out[MAX_IO];
      for (int i = 0; i < node->n_inputs; i++)
        in[i] = node->inputs[i] >= 0 ? &s->values[node->inputs[i]] : NULL;
      for (int j = 0; j < node->n_outputs; j++)
        {
          int v = node->outputs[j];
          out[j] = v >= 0 ? &s->values[v] : NULL;
          if (v >= 0 && !s->plan->is_constant[v]
              && (st = pool_acquire (s, s->values, s->block_of, v, err)) != GZ_OK)
            return st;
        }
      if ((st = gz_plan_forward (s->plan, n, node, in, out, err)) != GZ_OK)
        return st;
      /* Free what no later node reads. */
      for (int i = 0; i < node->n_inputs; i++)
        {
          int v = node->inputs[i];
          if (v >= 0 && s->plan->last_use[v] == n && !s->kept[v])
            pool_release (s, s->values, s->block_of, v);
        }
      for (int j = 0; j < node->n_outputs; j++)
        {
          int v = node->outputs[j];
          if (v >= 0 && s->plan->last_use[v] < 0 && !s->kept[v])
            pool_release (s, s->values, s->block_of, v);
        }
    }
  s->have_forward = true;
  s->forward_count++;
  return GZ_OK;
}

GzStatus
gz_session_forward (GzSession *s, const GzTensor *input, const char *keep_layer, GzError *err)
{
  /* The memo belongs to one image; a failed forward drops it too. */
  if (s->memo != NULL
      && (input == NULL || input->data == NULL || input_hash (input) != s->memo_input_hash))
    gz_session_set_memo (s, NULL, NULL);
  GzStatus st = run_forward (s, input, keep_layer, err);
  if (st != GZ_OK)
    gz_session_set_memo (s, NULL, NULL);
  return st;
}

const GzTensor *
gz_session_output (const GzSession *s)
{
  if (!s->have_forward)
    return NULL;
  return &s->values[session_graph (s)->output];
}

const GzTensor *
gz_session_value (const GzSession *s, const char *name)
{
  if (!s->have_forward || name == NULL)
    return NULL;
  int v = gz_graph_find_value (session_graph (s), name);
  if (v < 0 || s->values[v].data == NULL)
    return NULL;
  return &s->values[v];
}

/* ---- Runs from a layer ------------------------------------------------ */

/* The nodes between the layer's value and the output, and what they read. */
static GzStatus
tail_prepare (GzSession *s, const char *layer, GzError *err)
{
  const GzGraph *g = session_graph (s);
  const GzPlan *plan = s->model->plan;
  Tail *t = &s->tail;
  int v = layer != NULL ? gz_graph_find_value (g, layer) : -1;
  if (v < 0)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "the model has no tensor named '%s'",
                         layer != NULL ? layer : "");
  if (plan->is_constant[v])
    return gz_error_set (err, GZ_ERR_ARGUMENT, "'%s' is a constant, not an activation", layer);
  if (t->layer == v)
    return GZ_OK;
  if (t->runs == NULL)
    {
      t->runs = calloc ((size_t) g->n_nodes + 1, sizeof *t->runs);
      t->down = calloc ((size_t) g->n_values + 1, sizeof *t->down);
      t->last = malloc (((size_t) g->n_values + 1) * sizeof *t->last);
      t->values = calloc ((size_t) g->n_values + 1, sizeof *t->values);
      t->block_of = malloc (((size_t) g->n_values + 1) * sizeof *t->block_of);
      if (t->runs == NULL || t->down == NULL || t->last == NULL || t->values == NULL
          || t->block_of == NULL)
        return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
      for (int u = 0; u < g->n_values; u++)
        t->block_of[u] = -1;
    }
  t->layer = -1;
  memset (t->runs, 0, (size_t) g->n_nodes * sizeof *t->runs);
  memset (t->down, 0, (size_t) g->n_values * sizeof *t->down);
  mark_path_nodes (g, plan, v, t->runs);
  t->down[v] = true;
  t->image_bytes = 0;
  for (int u = 0; u < g->n_values; u++)
    t->last[u] = -1;
  for (int n = 0; n < g->n_nodes; n++)
    if (t->runs[n])
      {
        const GzNode *node = &g->nodes[n];
        for (int i = 0; i < node->n_inputs; i++)
          if (node->inputs[i] >= 0)
            t->last[node->inputs[i]] = n;
        for (int j = 0; j < node->n_outputs; j++)
          {
            int u = node->outputs[j];
            if (u >= 0 && !plan->is_constant[u])
              {
                t->down[u] = true;
                int64_t numel = gz_tensor_numel (&plan->values[u]);
                t->image_bytes
                    += numel > 0 ? numel * (int64_t) gz_dtype_size (plan->values[u].dtype) : 0;
              }
          }
      }
  if (!t->down[g->output])
    return gz_error_set (err, GZ_ERR_ARGUMENT, "the output does not depend on layer '%s'", layer);
  t->layer = v;
  return GZ_OK;
}

/* Whether the last forward holds value v. */
static bool
have_value (const GzSession *s, int v)
{
  return s->have_forward && s->values[v].data != NULL;
}

GzStatus
gz_session_tail_info (GzSession *s, const char *layer, GzTailInfo *info, GzError *err)
{
  const GzGraph *g = session_graph (s);
  const GzPlan *plan = s->model->plan;
  const Tail *t = &s->tail;
  GzStatus st = tail_prepare (s, layer, err);
  if (st != GZ_OK)
    return st;
  info->image_bytes = t->image_bytes;
  /* Read from upstream of the layer: kept by the forward, or not. */
  info->ready = true;
  for (int v = 0; v < g->n_values; v++)
    if (!t->down[v] && !plan->is_constant[v] && t->last[v] >= 0 && !have_value (s, v))
      info->ready = false;
  /* A backward pass through the tail reads every value there. */
  info->backward_ready = have_value (s, t->layer);
  for (int n = 0; n < g->n_nodes && info->backward_ready; n++)
    {
      if (!t->runs[n])
        continue;
      const GzNode *node = &g->nodes[n];
      for (int i = 0; i < node->n_inputs; i++)
        if (node->inputs[i] >= 0 && !plan->is_constant[node->inputs[i]]
            && !have_value (s, node->inputs[i]))
          info->backward_ready = false;
      for (int j = 0; j < node->n_outputs; j++)
        if (node->outputs[j] >= 0 && !plan->is_constant[node->outputs[j]]
            && !have_value (s, node->outputs[j]))
          info->backward_ready = false;
    }
  return GZ_OK;
}

/* The plan for a run of `batch` layer values. */
static GzStatus
tail_plan (GzSession *s, int batch, const GzPlan **out, GzError *err)
{
  Tail *t = &s->tail;
  if (batch == s->model->plan->batch)
    {
      *out = s->model->plan;
      return GZ_OK;
    }
  for (int i = 0; i < N_TAIL_PLANS; i++)
    if (t->plans[i] != NULL && t->plans[i]->batch == batch
        && (t->plans[i]->tail_layer < 0 || t->plans[i]->tail_layer == t->layer))
      {
        *out = t->plans[i];
        return GZ_OK;
      }
  GzPlan *plan = NULL;
  const GzGraph *g = s->model->graph;
  GzStatus st;
  if (fixed_batch_1 (s))
    /* Exported with a fixed batch of 1: only the part after the layer is
     * planned at this batch (upstream Reshapes may have the 1 baked in). */
    st = gz_plan_build_tail (g, s->model->plan, t->runs, t->layer, batch, &s->model->limits, &plan,
                             err);
  else
    st = gz_plan_build (g, batch, &s->model->limits, &plan, err);
  if (st != GZ_OK)
    return st;
  gz_plan_free (t->plans[N_TAIL_PLANS - 1]);
  for (int i = N_TAIL_PLANS - 1; i > 0; i--)
    t->plans[i] = t->plans[i - 1];
  t->plans[0] = plan;
  *out = plan;
  return GZ_OK;
}

/* Value v, read by the run but computed upstream of the layer: the
 * forward's kept tensor (one image) repeated over the run's batch. */
static GzStatus
tail_external (GzSession *s, int v, GzError *err)
{
  const GzGraph *g = session_graph (s);
  Tail *t = &s->tail;
  if (!have_value (s, v))
    return gz_error_set (err, GZ_ERR_ARGUMENT, "tensor '%s' was not kept", g->values[v].name);
  const GzTensor *src = &s->values[v];
  int64_t n_src = gz_tensor_numel (src), n_dst = gz_tensor_numel (&t->values[v]);
  if (src->dtype != t->values[v].dtype || n_src <= 0 || n_dst % n_src != 0)
    return gz_error_set (err, GZ_ERR_SHAPE, "cannot repeat tensor '%s' over the batch",
                         g->values[v].name);
  GzStatus st = pool_acquire (s, t->values, t->block_of, v, err);
  if (st != GZ_OK)
    return st;
  size_t es = gz_dtype_size (src->dtype);
  for (int64_t off = 0; off < n_dst; off += n_src)
    memcpy ((char *) t->values[v].data + (size_t) off * es, src->data, (size_t) n_src * es);
  return GZ_OK;
}

static GzStatus
tail_run (GzSession *s, const GzPlan *plan, GzTensor **output, GzError *err)
{
  const GzGraph *g = session_graph (s);
  Tail *t = &s->tail;
  GzStatus st;
  for (int n = 0; n < g->n_nodes; n++)
    {
      if (!t->runs[n])
        continue;
      const GzNode *node = &g->nodes[n];
      if (node->n_inputs > MAX_IO || node->n_outputs > MAX_IO)
        return gz_error_set (err, GZ_ERR_LIMIT, "node '%s' has too many inputs", node->name);
      bool any_runtime_output = false;
      for (int j = 0; j < node->n_outputs; j++)
        any_runtime_output |= node->outputs[j] >= 0 && !plan->is_constant[node->outputs[j]];
      if (!any_runtime_output)
        continue;
      const GzTensor *in[MAX_IO];
      GzTensor *out[MAX_IO];
      for (int i = 0; i < node->n_inputs; i++)
        {
          int v = node->inputs[i];
          in[i] = v >= 0 ? &t->values[v] : NULL;
          if (v >= 0 && t->values[v].data == NULL && (st = tail_external (s, v, err)) != GZ_OK)
            return st;
        }
      for (int j = 0; j < node->n_outputs; j++)
        {
          int v = node->outputs[j];
          out[j] = v >= 0 ? &t->values[v] : NULL;
          if (v >= 0 && !plan->is_constant[v]
              && (st = pool_acquire (s, t->values, t->block_of, v, err)) != GZ_OK)
            return st;
        }
      if ((st = gz_plan_forward (plan, n, node, in, out, err)) != GZ_OK)
        return st;
      /* Free what no later node of the run reads. */
      for (int i = 0; i < node->n_inputs; i++)
        {
          int v = node->inputs[i];
          if (v >= 0 && t->last[v] == n && v != g->output)
            pool_release (s, t->values, t->block_of, v);
        }
    }
  const GzTensor *y = &t->values[g->output];
  if (y->data == NULL)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "the run did not produce the output");
  if ((*output = gz_tensor_new (y->dtype, y->ndim, y->dims, err)) == NULL)
    return err != NULL && err->code != GZ_OK ? err->code : GZ_ERR_NOMEM;
  memcpy ((*output)->data, y->data, (size_t) gz_tensor_numel (y) * gz_dtype_size (y->dtype));
  return GZ_OK;
}

GzStatus
gz_session_run_from (GzSession *s, const char *layer, const GzTensor *layer_batch,
                     GzTensor **output, GzError *err)
{
  const GzGraph *g = session_graph (s);
  Tail *t = &s->tail;
  *output = NULL;
  GzStatus st = tail_prepare (s, layer, err);
  if (st != GZ_OK)
    return st;
  if (layer_batch->ndim < 1 || layer_batch->dims[0] < 1 || layer_batch->dims[0] > INT32_MAX)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "bad batch size");
  const GzPlan *plan;
  if ((st = tail_plan (s, (int) layer_batch->dims[0], &plan, err)) != GZ_OK)
    return st;
  const GzTensor *lh = &plan->values[t->layer];
  if (lh->ndim != layer_batch->ndim || gz_tensor_numel (lh) != gz_tensor_numel (layer_batch))
    return gz_error_set (err, GZ_ERR_SHAPE, "the layer batch does not match the plan");
  for (int v = 0; v < g->n_values; v++)
    {
      t->values[v] = plan->values[v];
      t->values[v].owns_data = false;
      if (!plan->is_constant[v])
        t->values[v].data = NULL;
    }
  t->values[t->layer].data = layer_batch->data;
  st = tail_run (s, plan, output, err);
  for (int v = 0; v < g->n_values; v++)
    pool_release (s, t->values, t->block_of, v);
  return st;
}

/* ---- Backward ---------------------------------------------------------- */

/* Adds a node's contribution to a value's gradient, taking ownership of it. */
static void
grad_accumulate (GzTensor **grads, int v, GzTensor *fresh)
{
  if (grads[v] == NULL)
    {
      grads[v] = fresh;
      return;
    }
  float *dst = gz_tensor_f (grads[v]);
  const float *src = gz_tensor_f (fresh);
  int64_t n = gz_tensor_numel (fresh);
  for (int64_t k = 0; k < n; k++)
    dst[k] += src[k];
  gz_tensor_free (fresh);
}

GzStatus
gz_session_backward (GzSession *s, const GzTensor *grad_output, const char *wrt,
                     GzReluMode relu_mode, GzTensor **grad, GzError *err)
{
  const GzGraph *g = session_graph (s);
  GzStatus st = GZ_OK;
  int target;
  *grad = NULL;
  if (!s->have_forward)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "backward needs a forward pass first");
  if ((st = resolve_value (s, wrt, &target, err)) != GZ_OK)
    return st;
  const GzTensor *out_header = &s->values[g->output];
  if (grad_output == NULL || grad_output->ndim != out_header->ndim
      || gz_tensor_numel (grad_output) != gz_tensor_numel (out_header))
    return gz_error_set (err, GZ_ERR_SHAPE, "the output gradient must have the output's shape");

  bool *on_path = calloc ((size_t) g->n_nodes + 1, sizeof (bool));
  bool *needs_grad = calloc ((size_t) g->n_values + 1, sizeof (bool));
  GzTensor **grads = calloc ((size_t) g->n_values + 1, sizeof *grads);
  if (on_path == NULL || needs_grad == NULL || grads == NULL)
    {
      st = gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
      goto out;
    }
  mark_path_nodes (g, s->plan, target, on_path);
  needs_grad[target] = true;
  for (int n = 0; n < g->n_nodes; n++)
    if (on_path[n])
      {
        const GzNode *node = &g->nodes[n];
        for (int j = 0; j < node->n_outputs; j++)
          if (node->outputs[j] >= 0)
            needs_grad[node->outputs[j]] = true;
        for (int i = 0; i < node->n_inputs; i++)
          if (node->inputs[i] >= 0 && !s->plan->is_constant[node->inputs[i]]
              && s->values[node->inputs[i]].data == NULL)
            {
              st = gz_error_set (err, GZ_ERR_ARGUMENT,
                                 "the forward pass did not keep '%s', needed for the backward "
                                 "pass to '%s'",
                                 g->values[node->inputs[i]].name, g->values[target].name);
              goto out;
            }
      }
  if ((grads[g->output] = gz_tensor_copy (grad_output, err)) == NULL)
    {
      st = err ? err->code : GZ_ERR_NOMEM;
      goto out;
    }
  gz_tensor_set_shape (grads[g->output], GZ_DTYPE_FLOAT, out_header->ndim, out_header->dims);

  for (int n = g->n_nodes - 1; n >= 0; n--)
    {
      if (!on_path[n])
        continue;
      const GzNode *node = &g->nodes[n];
      const GzTensor *in[MAX_IO], *outv[MAX_IO], *dout[MAX_IO];
      GzTensor *din[MAX_IO];
      bool any = false;
      for (int j = 0; j < node->n_outputs; j++)
        {
          int v = node->outputs[j];
          outv[j] = v >= 0 ? &s->values[v] : NULL;
          dout[j] = v >= 0 ? grads[v] : NULL;
          any |= dout[j] != NULL;
        }
      if (!any)
        continue;
      if (node->op->backward == NULL)
        {
          st = gz_error_set (err, GZ_ERR_UNSUPPORTED, "no gradient through operator %s (node '%s')",
                             node->op_type, node->name);
          goto out;
        }
      for (int i = 0; i < node->n_inputs; i++)
        {
          int v = node->inputs[i];
          in[i] = v >= 0 ? &s->values[v] : NULL;
          din[i] = NULL;
          if (v >= 0 && needs_grad[v] && !s->plan->is_constant[v]
              && s->values[v].dtype == GZ_DTYPE_FLOAT)
            {
              din[i] = gz_tensor_new (GZ_DTYPE_FLOAT, s->values[v].ndim, s->values[v].dims, err);
              if (din[i] == NULL)
                {
                  for (int k = 0; k < i; k++)
                    gz_tensor_free (din[k]);
                  st = err ? err->code : GZ_ERR_NOMEM;
                  goto out;
                }
            }
        }
      st = node->op->backward (node, in, outv, dout, din, relu_mode, err);
      for (int i = 0; i < node->n_inputs; i++)
        {
          if (din[i] == NULL)
            continue;
          if (st == GZ_OK)
            grad_accumulate (grads, node->inputs[i], din[i]);
          else
            gz_tensor_free (din[i]);
        }
      if (st != GZ_OK)
        goto out;
      /* Gradients of this node's outputs are no longer needed. */
      for (int j = 0; j < node->n_outputs; j++)
        if (node->outputs[j] >= 0 && node->outputs[j] != target)
          {
            gz_tensor_free (grads[node->outputs[j]]);
            grads[node->outputs[j]] = NULL;
          }
    }
  if (grads[target] == NULL)
    {
      st = gz_error_set (err, GZ_ERR_ARGUMENT, "the output does not depend on '%s'",
                         g->values[target].name);
      goto out;
    }
  *grad = grads[target];
  grads[target] = NULL;

out:
  if (grads != NULL)
    for (int v = 0; v < g->n_values; v++)
      gz_tensor_free (grads[v]);
  free (grads);
  free (needs_grad);
  free (on_path);
  return st;
}
