/* gz-layer-layout.c — how a layer's tensor becomes a [C,h,w] map
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One pass in topological order finds, for every value, the nearest Conv
 * upstream with a spatial output (the patch embedding of a ViT: its grid
 * gives the tokens' h×w); the channels-last marks come from the nodes that
 * make or read a value (Transpose to or from NCHW, a normalisation over the
 * last axis) and are carried forward through per-position operators.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gz-layer-layout.h"

/* At most this many leading (class, distillation, register) tokens. */
#define MAX_SKIP 8

static bool
op_is (const GzNode *node, const char *op)
{
  return strcmp (node->op_type, op) == 0;
}

static bool
perm_is (const GzNode *node, int64_t a, int64_t b, int64_t c, int64_t d)
{
  const int64_t *perm;
  if (!op_is (node, "Transpose") || gz_node_attr_ints (node, "perm", &perm) != 4)
    return false;
  return perm[0] == a && perm[1] == b && perm[2] == c && perm[3] == d;
}

/* Whether node normalises its 4-D input over the last axis only. */
static bool
normalises_last_axis (const GzNode *node, const GzPlan *plan)
{
  if (op_is (node, "LayerNormalization"))
    {
      int64_t axis = gz_node_attr_int (node, "axis", -1);
      return axis == -1 || axis == 3;
    }
  if (op_is (node, "ReduceMean"))
    {
      const int64_t *axes = NULL;
      int n = gz_node_attr_ints (node, "axes", &axes);
      if (n == 0 && node->n_inputs >= 2 && node->inputs[1] >= 0
          && plan->is_constant[node->inputs[1]])
        {
          const GzTensor *t = &plan->values[node->inputs[1]];
          if (t->dtype == GZ_DTYPE_INT64 && gz_tensor_numel (t) == 1)
            {
              axes = (const int64_t *) t->data;
              n = 1;
            }
        }
      return n == 1 && (axes[0] == -1 || axes[0] == 3);
    }
  return false;
}

static bool
is_rank4_b1 (const GzTensor *t)
{
  return t->ndim == 4 && t->dims[0] == 1 && t->dtype == GZ_DTYPE_FLOAT;
}

/* Operators that work per position and keep the positions' layout. */
static bool
per_position (const GzNode *node)
{
  static const char *const ops[]
      = { "Add",         "Sub",       "Mul",     "Div",  "Relu",
          "Gelu",        "Erf",       "Sigmoid", "Tanh", "Identity",
          "Dropout",     "Pow",       "Sqrt",    "Clip", "LayerNormalization",
          "HardSigmoid", "HardSwish", NULL };
  for (int i = 0; ops[i] != NULL; i++)
    if (op_is (node, ops[i]))
      return true;
  return false;
}

static void
mark_channels_last (const GzGraph *g, const GzPlan *plan, bool *nhwc)
{
  /* From the nodes that make or read a value. */
  for (int i = 0; i < g->n_nodes; i++)
    {
      const GzNode *node = &g->nodes[i];
      if (plan->node_folded[i])
        continue;
      if (perm_is (node, 0, 2, 3, 1) && node->n_outputs > 0 && node->outputs[0] >= 0)
        nhwc[node->outputs[0]] = true;
      if ((perm_is (node, 0, 3, 1, 2) || normalises_last_axis (node, plan)) && node->n_inputs > 0
          && node->inputs[0] >= 0)
        nhwc[node->inputs[0]] = true;
    }
  /* Carried forward through per-position operators and the Linear layers
   * (MatMul by a constant matrix) that act on the channels. */
  for (int i = 0; i < g->n_nodes; i++)
    {
      const GzNode *node = &g->nodes[i];
      if (plan->node_folded[i] || node->n_outputs < 1 || node->outputs[0] < 0)
        continue;
      int out = node->outputs[0];
      const GzTensor *o = &plan->values[out];
      if (!is_rank4_b1 (o) || nhwc[out])
        continue;
      bool linear = op_is (node, "MatMul") && node->n_inputs == 2 && node->inputs[1] >= 0
          && plan->is_constant[node->inputs[1]] && plan->values[node->inputs[1]].ndim == 2;
      if (!linear && !per_position (node))
        continue;
      for (int j = 0; j < node->n_inputs && !nhwc[out]; j++)
        {
          int in = node->inputs[j];
          if (in < 0 || plan->is_constant[in] || !nhwc[in])
            continue;
          const GzTensor *t = &plan->values[in];
          nhwc[out] = is_rank4_b1 (t) && t->dims[1] == o->dims[1] && t->dims[2] == o->dims[2];
        }
    }
}

/* The nearest Conv node upstream of every value whose output is a spatial
 * [1,C,H,W] map (node index, -1 if none). */
static void
nearest_conv (const GzGraph *g, const GzPlan *plan, int *conv)
{
  for (int v = 0; v < g->n_values; v++)
    conv[v] = -1;
  for (int i = 0; i < g->n_nodes; i++)
    {
      const GzNode *node = &g->nodes[i];
      int best = -1;
      if (op_is (node, "Conv") && node->n_outputs > 0 && node->outputs[0] >= 0)
        {
          const GzTensor *o = &plan->values[node->outputs[0]];
          if (is_rank4_b1 (o) && o->dims[2] * o->dims[3] > 1)
            best = i;
        }
      for (int j = 0; j < node->n_inputs && best != i; j++)
        if (node->inputs[j] >= 0 && conv[node->inputs[j]] > best)
          best = conv[node->inputs[j]];
      for (int j = 0; j < node->n_outputs; j++)
        if (node->outputs[j] >= 0)
          conv[node->outputs[j]] = best;
    }
}

/* Tokens [1,N,C]: the patch grid of the Conv upstream, else a square. */
static bool
token_layout (const GzGraph *g, const GzPlan *plan, const int *conv, int v, GzLayerLayout *out)
{
  const GzTensor *t = &plan->values[v];
  int64_t n = t->dims[1], c = t->dims[2];
  if (n < 2 || c < 1)
    return false;
  int p = conv[v];
  if (p >= 0)
    {
      const GzTensor *o = &plan->values[g->nodes[p].outputs[0]];
      int64_t gh = o->dims[2], gw = o->dims[3];
      if (n - gh * gw < 0 || n - gh * gw > MAX_SKIP)
        return false;
      *out = (GzLayerLayout){ GZ_LAYOUT_TOKENS, c, gh, gw, n - gh * gw };
      return true;
    }
  for (int64_t skip = 0; skip <= MAX_SKIP && n - skip >= 4; skip++)
    {
      int64_t s = (int64_t) llround (sqrt ((double) (n - skip)));
      if (s * s == n - skip)
        {
          *out = (GzLayerLayout){ GZ_LAYOUT_TOKENS, c, s, s, skip };
          return true;
        }
    }
  return false;
}

void
gz_layer_layouts (const GzGraph *g, const GzPlan *plan, GzLayerLayout *out)
{
  for (int v = 0; v < g->n_values; v++)
    out[v] = (GzLayerLayout){ GZ_LAYOUT_NONE, 0, 0, 0, 0 };
  bool *nhwc = calloc ((size_t) g->n_values + 1, sizeof *nhwc);
  int *conv = malloc (((size_t) g->n_values + 1) * sizeof *conv);
  if (nhwc == NULL || conv == NULL)
    {
      /* Out of memory: the plain NCHW layers still work. */
      for (int v = 0; v < g->n_values; v++)
        if (is_rank4_b1 (&plan->values[v]) && !plan->is_constant[v])
          {
            const GzTensor *t = &plan->values[v];
            out[v] = (GzLayerLayout){ GZ_LAYOUT_NCHW, t->dims[1], t->dims[2], t->dims[3], 0 };
          }
      free (nhwc);
      free (conv);
      return;
    }
  mark_channels_last (g, plan, nhwc);
  nearest_conv (g, plan, conv);
  for (int v = 0; v < g->n_values; v++)
    {
      const GzTensor *t = &plan->values[v];
      if (plan->is_constant[v] || t->dtype != GZ_DTYPE_FLOAT || t->ndim < 3 || t->dims[0] != 1)
        continue;
      if (t->ndim == 4 && nhwc[v])
        out[v] = (GzLayerLayout){ GZ_LAYOUT_NHWC, t->dims[3], t->dims[1], t->dims[2], 0 };
      else if (t->ndim == 4)
        out[v] = (GzLayerLayout){ GZ_LAYOUT_NCHW, t->dims[1], t->dims[2], t->dims[3], 0 };
      else if (t->ndim == 3)
        token_layout (g, plan, conv, v, &out[v]);
    }
  free (nhwc);
  free (conv);
}

bool
gz_layer_layout_fits (const GzLayerLayout *l, const GzTensor *t, char *reason, size_t reason_len)
{
  bool ok = t != NULL && t->dtype == GZ_DTYPE_FLOAT && t->dims[0] == 1;
  if (ok)
    switch (l->kind)
      {
        case GZ_LAYOUT_NCHW:
          ok = t->ndim == 4 && t->dims[1] == l->c && t->dims[2] == l->h && t->dims[3] == l->w;
          break;
        case GZ_LAYOUT_NHWC:
          ok = t->ndim == 4 && t->dims[1] == l->h && t->dims[2] == l->w && t->dims[3] == l->c;
          break;
        case GZ_LAYOUT_TOKENS:
          ok = t->ndim == 3 && t->dims[1] == l->skip + l->h * l->w && t->dims[2] == l->c;
          break;
        case GZ_LAYOUT_NONE:
        default:
          ok = false;
          break;
      }
  if (!ok && reason != NULL && reason_len > 0)
    {
      if (l->kind == GZ_LAYOUT_NONE)
        snprintf (reason, reason_len, "the tensor has no [C,h,w] map layout");
      else
        snprintf (reason, reason_len,
                  "a %s layer of map [%lld,%lld,%lld] needs %s, got a tensor of rank %d",
                  gz_layer_layout_name (l->kind), (long long) l->c, (long long) l->h,
                  (long long) l->w,
                  l->kind == GZ_LAYOUT_TOKENS     ? "[1,P+h·w,C]"
                      : l->kind == GZ_LAYOUT_NHWC ? "[1,H,W,C]"
                                                  : "[1,C,H,W]",
                  t != NULL ? t->ndim : 0);
    }
  return ok;
}

GzTensor *
gz_layer_to_map (const GzLayerLayout *l, const GzTensor *t, GzError *err)
{
  char reason[200];
  if (!gz_layer_layout_fits (l, t, reason, sizeof reason))
    {
      gz_error_set (err, GZ_ERR_SHAPE, "%s", reason);
      return NULL;
    }
  int64_t dims[4] = { 1, l->c, l->h, l->w };
  GzTensor *m = gz_tensor_new (GZ_DTYPE_FLOAT, 4, dims, err);
  if (m == NULL)
    return NULL;
  const float *src = gz_tensor_f (t);
  float *dst = gz_tensor_f (m);
  int64_t hw = l->h * l->w;
  if (l->kind == GZ_LAYOUT_NCHW)
    {
      memcpy (dst, src, (size_t) (l->c * hw) * sizeof *dst);
      return m;
    }
  /* Tokens and channels-last both store position-major rows of C values;
   * tokens start after the skipped ones. */
  const float *rows = src + l->skip * l->c;
  for (int64_t p = 0; p < hw; p++)
    {
      const float *row = rows + p * l->c;
      for (int64_t k = 0; k < l->c; k++)
        dst[k * hw + p] = row[k];
    }
  return m;
}

const char *
gz_layer_layout_name (GzLayoutKind kind)
{
  switch (kind)
    {
      case GZ_LAYOUT_NCHW:
        return "nchw";
      case GZ_LAYOUT_TOKENS:
        return "tokens";
      case GZ_LAYOUT_NHWC:
        return "nhwc";
      case GZ_LAYOUT_NONE:
        break;
    }
  return "none";
}
