/* gz-op-where.c — Where, comparisons (Equal, Less, Greater, …) and logic (And, Or, Xor, Not)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The engine has no boolean type: ONNX booleans are int64 0/1 here (comparison
 * outputs, Where's condition; a float used as a boolean is true when non-zero).
 * These mostly serve torch's shape arithmetic and are folded at load time.
 * Where's gradient goes to x where the condition holds and to y elsewhere,
 * summed over broadcast axes.
 */
#include <string.h>

#include "gz-tensor-ops.h"

/* Broadcast output shape of up to three inputs, with GZ_ERR_SHAPE naming the node. */
static GzStatus
broadcast_all (const GzNode *node, const GzTensor *const *ts, int k, int *ndim, int64_t *dims,
               GzError *err)
{
  *ndim = 0;
  for (int i = 0; i < k; i++)
    {
      int64_t tmp[GZ_MAX_DIMS];
      int r;
      if (ts[i]->ndim > GZ_MAX_DIMS
          || gz_broadcast_shape (*ndim, dims, ts[i]->ndim, ts[i]->dims, &r, tmp, NULL) != GZ_OK)
        {
          char b1[128], b2[128];
          return gz_tops_error (err, GZ_ERR_SHAPE, node,
                                "input %d of shape %s cannot be "
                                "broadcast with %s",
                                i, gz_tops_shape_str (ts[i]->ndim, ts[i]->dims, b1, sizeof b1),
                                gz_tops_shape_str (*ndim, dims, b2, sizeof b2));
        }
      *ndim = r;
      for (int a = 0; a < r; a++)
        dims[a] = tmp[a];
    }
  return gz_tops_check_shape (node, *ndim, dims, err);
}

/* Walks the output in order; off[i] is input i's offset. */
typedef struct
{
  int ndim, k;
  const int64_t *dims;
  int64_t strides[3][GZ_MAX_DIMS];
  int64_t idx[GZ_MAX_DIMS];
  int64_t off[3];
} BroadcastWalk;

static void
walk_init (BroadcastWalk *w, const GzTensor *const *ts, int k, const GzTensor *out)
{
  w->ndim = out->ndim;
  w->dims = out->dims;
  w->k = k;
  for (int i = 0; i < k; i++)
    {
      gz_tops_broadcast_strides (ts[i]->ndim, ts[i]->dims, out->ndim, out->dims, w->strides[i]);
      w->off[i] = 0;
    }
  for (int a = 0; a < GZ_MAX_DIMS; a++)
    w->idx[a] = 0;
}

static inline void
walk_next (BroadcastWalk *w)
{
  for (int a = w->ndim - 1; a >= 0; a--)
    {
      for (int i = 0; i < w->k; i++)
        w->off[i] += w->strides[i][a];
      if (++w->idx[a] < w->dims[a])
        return;
      for (int i = 0; i < w->k; i++)
        w->off[i] -= w->strides[i][a] * w->dims[a];
      w->idx[a] = 0;
    }
}

static inline bool
truth (const GzTensor *c, int64_t off)
{
  return c->dtype == GZ_DTYPE_INT64 ? ((const int64_t *) c->data)[off] != 0
                                    : ((const float *) c->data)[off] != 0.0f;
}

/* ---- Where ------------------------------------------------------------- */

static GzStatus
where_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_tops_need (node, in, out, 3, 1, err);
  if (need != GZ_OK)
    return need;
  if (node->n_inputs < 3 || in[0] == NULL || in[1] == NULL || in[2] == NULL)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "needs condition, X and Y");
  if (in[1]->dtype != in[2]->dtype)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "X and Y differ in data type");
  int r;
  int64_t dims[GZ_MAX_DIMS];
  GzStatus st = broadcast_all (node, in, 3, &r, dims, err);
  if (st != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], in[1]->dtype, r, dims);
  return GZ_OK;
}

static GzStatus
where_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  BroadcastWalk w;
  walk_init (&w, in, 3, out[0]);
  int64_t total = gz_tensor_numel (out[0]);
  bool wide = out[0]->dtype == GZ_DTYPE_INT64;
  for (int64_t i = 0; i < total; i++)
    {
      int src = truth (in[0], w.off[0]) ? 1 : 2;
      if (wide)
        ((int64_t *) out[0]->data)[i] = ((const int64_t *) in[src]->data)[w.off[src]];
      else
        ((float *) out[0]->data)[i] = ((const float *) in[src]->data)[w.off[src]];
      walk_next (&w);
    }
  return GZ_OK;
}

static GzStatus
where_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                GzError *err)
{
  for (int i = 0; i < 3; i++)
    if (din[i] != NULL)
      gz_tops_zero (din[i]);
  if (dout[0] == NULL || (din[1] == NULL && din[2] == NULL))
    return GZ_OK;
  BroadcastWalk w;
  walk_init (&w, in, 3, out[0]);
  int64_t total = gz_tensor_numel (out[0]);
  const float *g = dout[0]->data;
  for (int64_t i = 0; i < total; i++)
    {
      int dst = truth (in[0], w.off[0]) ? 1 : 2;
      if (din[dst] != NULL)
        gz_tensor_f (din[dst])[w.off[dst]] += g[i];
      walk_next (&w);
    }
  return GZ_OK;
}

const GzOpDef gz_tops_where = {
  "Where", 9, NULL, where_infer, where_forward, where_backward, NULL,
};

/* ---- Comparisons and binary logic ------------------------------------- */

typedef enum
{
  CMP_EQUAL,
  CMP_LESS,
  CMP_LESS_EQUAL,
  CMP_GREATER,
  CMP_GREATER_EQUAL,
  LOGIC_AND,
  LOGIC_OR,
  LOGIC_XOR,
} CompareKind;

typedef struct
{
  CompareKind kind;
} CompareParams;

static const struct
{
  const char *op_type;
  CompareKind kind;
} compare_kinds[] = {
  { "Equal", CMP_EQUAL },
  { "Less", CMP_LESS },
  { "LessOrEqual", CMP_LESS_EQUAL },
  { "Greater", CMP_GREATER },
  { "GreaterOrEqual", CMP_GREATER_EQUAL },
  { "And", LOGIC_AND },
  { "Or", LOGIC_OR },
  { "Xor", LOGIC_XOR },
};

static GzStatus
compare_init (GzNode *node, int64_t opset, GzError *err)
{
  for (size_t i = 0; i < sizeof compare_kinds / sizeof compare_kinds[0]; i++)
    if (strcmp (node->op_type, compare_kinds[i].op_type) == 0)
      {
        GzStatus st = gz_tops_alloc_params (node, sizeof (CompareParams), err);
        if (st == GZ_OK)
          ((CompareParams *) node->params)->kind = compare_kinds[i].kind;
        return st;
      }
  return gz_tops_error (err, GZ_ERR_UNSUPPORTED, node, "unknown comparison");
}

static GzStatus
compare_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_tops_need (node, in, out, 2, 1, err);
  if (need != GZ_OK)
    return need;
  if (in[0]->dtype != in[1]->dtype)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "inputs differ in data type");
  int r;
  int64_t dims[GZ_MAX_DIMS];
  GzStatus st = broadcast_all (node, in, 2, &r, dims, err);
  if (st != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], GZ_DTYPE_INT64, r, dims);
  return GZ_OK;
}

static inline double
value_at (const GzTensor *t, int64_t off)
{
  return t->dtype == GZ_DTYPE_INT64 ? (double) ((const int64_t *) t->data)[off]
                                    : (double) ((const float *) t->data)[off];
}

static GzStatus
compare_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  CompareKind kind
      = node->params != NULL ? ((const CompareParams *) node->params)->kind : CMP_EQUAL;
  BroadcastWalk w;
  walk_init (&w, in, 2, out[0]);
  int64_t total = gz_tensor_numel (out[0]);
  bool wide = in[0]->dtype == GZ_DTYPE_INT64;
  int64_t *y = out[0]->data;
  for (int64_t i = 0; i < total; i++)
    {
      bool r;
      if (kind >= LOGIC_AND)
        {
          bool a = truth (in[0], w.off[0]), b = truth (in[1], w.off[1]);
          r = kind == LOGIC_AND ? a && b : kind == LOGIC_OR ? a || b : a != b;
        }
      else if (wide)
        {
          /* exact int64 comparisons, no detour through double */
          int64_t a = ((const int64_t *) in[0]->data)[w.off[0]];
          int64_t b = ((const int64_t *) in[1]->data)[w.off[1]];
          r = kind == CMP_EQUAL        ? a == b
              : kind == CMP_LESS       ? a < b
              : kind == CMP_LESS_EQUAL ? a <= b
              : kind == CMP_GREATER    ? a > b
                                       : a >= b;
        }
      else
        {
          double a = value_at (in[0], w.off[0]), b = value_at (in[1], w.off[1]);
          r = kind == CMP_EQUAL        ? a == b
              : kind == CMP_LESS       ? a < b
              : kind == CMP_LESS_EQUAL ? a <= b
              : kind == CMP_GREATER    ? a > b
                                       : a >= b;
        }
      y[i] = r;
      walk_next (&w);
    }
  return GZ_OK;
}

#define COMPARE_OP(sym, name, since)                                               \
  const GzOpDef sym = {                                                            \
    name, since, compare_init, compare_infer, compare_forward, NULL, gz_tops_free, \
  }

COMPARE_OP (gz_tops_equal, "Equal", 7);
COMPARE_OP (gz_tops_less, "Less", 7);
COMPARE_OP (gz_tops_less_equal, "LessOrEqual", 12);
COMPARE_OP (gz_tops_greater, "Greater", 7);
COMPARE_OP (gz_tops_greater_equal, "GreaterOrEqual", 12);
COMPARE_OP (gz_tops_and, "And", 7);
COMPARE_OP (gz_tops_or, "Or", 7);
COMPARE_OP (gz_tops_xor, "Xor", 7);

/* ---- Not --------------------------------------------------------------- */

static GzStatus
not_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_tops_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  gz_tensor_set_shape (out[0], GZ_DTYPE_INT64, in[0]->ndim, in[0]->dims);
  return GZ_OK;
}

static GzStatus
not_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int64_t n = gz_tensor_numel (in[0]);
  int64_t *y = out[0]->data;
  for (int64_t i = 0; i < n; i++)
    y[i] = !truth (in[0], i);
  return GZ_OK;
}

const GzOpDef gz_tops_not = {
  "Not", 1, NULL, not_infer, not_forward, NULL, NULL,
};
