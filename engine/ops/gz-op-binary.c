/* op-binary.c — Add, Sub, Mul, Div, Pow and PRelu with numpy broadcasting
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Forward walks the broadcast iterator row by row (rows split across threads);
 * the innermost stride of each operand is 0 (broadcast) or 1. The backward
 * pass for an operand sums the local gradient over the axes it was broadcast
 * along: in parallel when the operand has the output's size (no reduction),
 * serially otherwise. Add/Sub/Mul/Div/Pow also accept int64 (shape
 * arithmetic that gets folded at load time); they have no gradient.
 */
#include <math.h>
#include <string.h>

#include "gz-op.h"

typedef enum
{
  B_ADD,
  B_SUB,
  B_MUL,
  B_DIV,
  B_POW,
  B_PRELU,
} Kind;

/* The member of the family, from the table row. */
static Kind
kind_of (const GzNode *node)
{
  return *(const Kind *) node->op->data;
}

/* Opsets before 7 had no numpy broadcasting: Add/Sub/Mul/Div/Pow took
 * broadcast = 1 with an optional axis where B's dims line up with A's, and
 * PRelu's slope [C] was per channel. Both are rewritten into the numpy shape
 * of B (same memory), so that everything below only knows numpy rules. */
typedef struct
{
  bool legacy_axis, legacy_prelu;
  int64_t axis;
} Params;

static GzStatus
binary_init (GzNode *node, int64_t opset, GzError *err)
{
  Params *p = calloc (1, sizeof *p);
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_NOMEM, node, "out of memory");
  if (opset < 7)
    {
      if (kind_of (node) == B_PRELU)
        p->legacy_prelu = true;
      else if (gz_node_attr_int (node, "broadcast", 0) != 0 && gz_node_attr (node, "axis") != NULL)
        {
          p->legacy_axis = true;
          p->axis = gz_node_attr_int (node, "axis", 0);
        }
    }
  node->params = p;
  return GZ_OK;
}

static GzStatus
b_shape (const GzNode *node, const GzTensor *a, const GzTensor *b, int *nd, int64_t *dims,
         GzError *err)
{
  const Params *p = node->params;
  *nd = b->ndim;
  for (int i = 0; i < b->ndim; i++)
    dims[i] = b->dims[i];
  if (p == NULL)
    return GZ_OK;
  if (p->legacy_prelu && b->ndim == 1 && a->ndim >= 3 && b->dims[0] == a->dims[1])
    {
      *nd = a->ndim - 1;
      for (int i = 1; i < *nd; i++)
        dims[i] = 1;
    }
  else if (p->legacy_axis)
    {
      int ax = gz_axis (p->axis, a->ndim);
      if (ax < 0 || ax + b->ndim > a->ndim)
        return gz_op_error (err, GZ_ERR_SHAPE, node,
                            "axis %lld does not place a rank-%d B inside a rank-%d A",
                            (long long) p->axis, b->ndim, a->ndim);
      *nd = a->ndim - ax;
      for (int i = b->ndim; i < *nd; i++)
        dims[i] = 1;
    }
  return GZ_OK;
}

static GzStatus
binary_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  Kind k = kind_of (node);
  const GzTensor *a = gz_op_input (node, in, 0), *b = gz_op_input (node, in, 1);
  int nd;
  int64_t dims[GZ_MAX_DIMS];
  char sa[160], sb[160];
  GzStatus st;

  if (a == NULL || b == NULL)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "needs two inputs");
  bool ints = a->dtype == GZ_DTYPE_INT64 && b->dtype == GZ_DTYPE_INT64 && k <= B_POW;
  ints = ints || (k == B_POW && a->dtype == GZ_DTYPE_INT64 && b->dtype == GZ_DTYPE_FLOAT);
  bool pow_int_exp = k == B_POW && a->dtype == GZ_DTYPE_FLOAT && b->dtype == GZ_DTYPE_INT64;
  if (!ints && !pow_int_exp && (a->dtype != GZ_DTYPE_FLOAT || b->dtype != GZ_DTYPE_FLOAT))
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                        "input data types %d and %d; only float32 (or int64 for "
                        "Add/Sub/Mul/Div/Pow) are supported",
                        (int) a->dtype, (int) b->dtype);
  if (a->ndim > GZ_MAX_DIMS || b->ndim > GZ_MAX_DIMS)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "rank above %d", GZ_MAX_DIMS);
  int bnd;
  int64_t bdims[GZ_MAX_DIMS];
  if ((st = b_shape (node, a, b, &bnd, bdims, err)) != GZ_OK)
    return st;
  if (gz_broadcast_shape (a->ndim, a->dims, bnd, bdims, &nd, dims, NULL) != GZ_OK)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "shapes %s and %s cannot be broadcast",
                        gz_op_shape_str (a->ndim, a->dims, sa, sizeof sa),
                        gz_op_shape_str (b->ndim, b->dims, sb, sizeof sb));
  if (k == B_PRELU)
    {
      bool same = nd == a->ndim;
      for (int i = 0; same && i < nd; i++)
        same = dims[i] == a->dims[i];
      if (!same)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "slope %s does not broadcast to the input %s",
                            gz_op_shape_str (b->ndim, b->dims, sb, sizeof sb),
                            gz_op_shape_str (a->ndim, a->dims, sa, sizeof sa));
    }
  if ((st = gz_op_check_shape (node, nd, dims, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], a->dtype, nd, dims);
  return GZ_OK;
}

static GzStatus
make_iter (const GzNode *node, const GzTensor *out, const GzTensor *a, const GzTensor *b,
           GzOpBcast *it, GzError *err)
{
  int bnd;
  int64_t bdims[GZ_MAX_DIMS];
  GzStatus st = b_shape (node, a, b, &bnd, bdims, err);
  if (st != GZ_OK)
    return st;
  const int nds[3] = { out->ndim, a->ndim, bnd };
  const int64_t *const ds[3] = { out->dims, a->dims, bdims };
  gz_op_bcast_init (it, out->ndim, out->dims, 3, nds, ds);
  return GZ_OK;
}

typedef struct
{
  Kind kind;
  const GzOpBcast *it;
  const float *a, *b, *y, *dy;
  float *o;
  int target; /* backward: 1 (dA) or 2 (dB) */
} Job;

/* Inner loop over one row with the broadcast cases split so each vectorises. */
#define ROW_LOOP(EXPR)                        \
  do                                          \
    {                                         \
      if (sa == 1 && sb == 1)                 \
        for (int64_t i = 0; i < n; i++)       \
          {                                   \
            float av = pa[i], bv = pb[i];     \
            po[i] = (EXPR);                   \
          }                                   \
      else if (sa == 1)                       \
        {                                     \
          const float bv = pb[0];             \
          for (int64_t i = 0; i < n; i++)     \
            {                                 \
              float av = pa[i];               \
              po[i] = (EXPR);                 \
            }                                 \
        }                                     \
      else if (sb == 1)                       \
        {                                     \
          const float av = pa[0];             \
          for (int64_t i = 0; i < n; i++)     \
            {                                 \
              float bv = pb[i];               \
              po[i] = (EXPR);                 \
            }                                 \
        }                                     \
      else                                    \
        {                                     \
          const float av = pa[0], bv = pb[0]; \
          for (int64_t i = 0; i < n; i++)     \
            po[i] = (EXPR);                   \
        }                                     \
    }                                         \
  while (0)

GZ_OP_VECTOR_CLONES static void
forward_rows (long begin, long end, void *data)
{
  const Job *j = data;
  const GzOpBcast *it = j->it;
  const int64_t n = it->inner, sa = gz_op_bcast_inner_stride (it, 1),
                sb = gz_op_bcast_inner_stride (it, 2);
  GzOpBcastPos pos;
  gz_op_bcast_seek (it, begin, &pos);
  for (long r = begin; r < end; r++, gz_op_bcast_next (it, &pos))
    {
      const float *pa = j->a + pos.off[1], *pb = j->b + pos.off[2];
      float *po = j->o + pos.off[0];
      switch (j->kind)
        {
          case B_ADD:
            ROW_LOOP (av + bv);
            break;
          case B_SUB:
            ROW_LOOP (av - bv);
            break;
          case B_MUL:
            ROW_LOOP (av * bv);
            break;
          case B_DIV:
            ROW_LOOP (av / bv);
            break;
          case B_POW:
            ROW_LOOP (powf (av, bv));
            break;
          case B_PRELU:
            ROW_LOOP (av >= 0.0f ? av : av * bv);
            break;
        }
    }
}

static void
forward_int64 (Kind k, const GzOpBcast *it, const int64_t *a, const void *b, bool b_float,
               int64_t *o)
{
  GzOpBcastPos pos;
  const int64_t sa = gz_op_bcast_inner_stride (it, 1), sb = gz_op_bcast_inner_stride (it, 2);
  gz_op_bcast_seek (it, 0, &pos);
  for (int64_t r = 0; r < it->rows; r++, gz_op_bcast_next (it, &pos))
    for (int64_t i = 0; i < it->inner; i++)
      {
        /* Unsigned arithmetic: wrap-around instead of undefined overflow. */
        int64_t ib = pos.off[2] + i * sb;
        int64_t as = a[pos.off[1] + i * sa];
        float fb = b_float ? ((const float *) b)[ib] : 0.0f; /* NaN/huge: no UB cast */
        int64_t bs = !b_float ? ((const int64_t *) b)[ib]
            : isnan (fb)      ? 0
            : fb >= 9.2e18f   ? INT64_MAX
            : fb <= -9.2e18f  ? INT64_MIN
                              : (int64_t) fb;
        uint64_t av = (uint64_t) as, bv = (uint64_t) bs;
        int64_t v;
        if (k == B_POW)
          {
            /* The result has the base's type; saturate instead of overflowing. */
            double e = b_float ? ((const float *) b)[ib] : (double) bs;
            double pw = pow ((double) as, e);
            v = isnan (pw)      ? 0
                : pw >= 9.2e18  ? INT64_MAX
                : pw <= -9.2e18 ? INT64_MIN
                                : (int64_t) pw;
            o[pos.off[0] + i] = v;
            continue;
          }
        switch (k)
          {
            case B_ADD:
              v = (int64_t) (av + bv);
              break;
            case B_SUB:
              v = (int64_t) (av - bv);
              break;
            case B_MUL:
              v = (int64_t) (av * bv);
              break;
            default:
              v = bs == 0 || (bs == -1 && as == INT64_MIN) ? 0 : as / bs;
              break;
          }
        o[pos.off[0] + i] = v;
      }
}

static GzStatus
binary_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzOpBcast it;
  Job j = { 0 };
  float *tmp = NULL;
  GzStatus st = make_iter (node, out[0], in[0], in[1], &it, err);
  if (st != GZ_OK)
    return st;
  j.kind = kind_of (node);
  if (in[0]->dtype == GZ_DTYPE_INT64)
    {
      forward_int64 (j.kind, &it, in[0]->data, in[1]->data, in[1]->dtype == GZ_DTYPE_FLOAT,
                     out[0]->data);
      return GZ_OK;
    }
  j.b = in[1]->data;
  if (in[1]->dtype == GZ_DTYPE_INT64)
    {
      /* Pow with an integer exponent. */
      int64_t nb = gz_tensor_numel (in[1]);
      if ((tmp = gz_op_alloc_floats (node, nb, err)) == NULL)
        return err != NULL ? err->code : GZ_ERR_NOMEM;
      for (int64_t i = 0; i < nb; i++)
        tmp[i] = (float) ((const int64_t *) in[1]->data)[i];
      j.b = tmp;
    }
  j.it = &it;
  j.a = in[0]->data;
  j.o = out[0]->data;
  gz_parallel_for (it.rows, gz_op_chunk (it.inner), forward_rows, &j);
  free (tmp);
  return GZ_OK;
}

/* Local derivative of the output element w.r.t. operand `t`, times dy. */
static inline float
local_grad (Kind k, int t, float a, float b, float y, float g)
{
  switch (k)
    {
      case B_ADD:
        return g;
      case B_SUB:
        return t == 1 ? g : -g;
      case B_MUL:
        return t == 1 ? g * b : g * a;
      case B_DIV:
        return t == 1 ? g / b : -g * y / b;
      case B_POW:
        if (t == 1)
          return b == 0.0f ? 0.0f : g * b * powf (a, b - 1.0f);
        return a > 0.0f ? g * y * logf (a) : 0.0f;
      case B_PRELU:
        if (t == 1)
          return a > 0.0f ? g : g * b;
        return a > 0.0f ? 0.0f : g * a;
    }
  return 0.0f;
}

/* Writes (no reduction) or accumulates (reduction) the gradient of one operand
 * over rows [begin, end). */
static void
backward_rows (long begin, long end, void *data)
{
  const Job *j = data;
  const GzOpBcast *it = j->it;
  const int64_t n = it->inner, sa = gz_op_bcast_inner_stride (it, 1),
                sb = gz_op_bcast_inner_stride (it, 2), st = j->target == 1 ? sa : sb;
  GzOpBcastPos pos;
  gz_op_bcast_seek (it, begin, &pos);
  for (long r = begin; r < end; r++, gz_op_bcast_next (it, &pos))
    {
      const float *pa = j->a + pos.off[1], *pb = j->b + pos.off[2];
      const float *py = j->y + pos.off[0], *pg = j->dy + pos.off[0];
      float *pd = j->o + pos.off[j->target];
      for (int64_t i = 0; i < n; i++)
        pd[i * st] += local_grad (j->kind, j->target, pa[i * sa], pb[i * sb], py[i], pg[i]);
    }
}

static GzStatus
binary_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                 const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                 GzError *err)
{
  GzOpBcast it;
  Job j = { 0 };
  int64_t n_out = gz_tensor_numel (out[0]);
  for (int t = 0; t < 2; t++)
    {
      if (din[t] == NULL)
        continue;
      if (in[t]->dtype != GZ_DTYPE_FLOAT || din[t]->dtype != GZ_DTYPE_FLOAT)
        return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "no gradient through integer data");
      memset (din[t]->data, 0, (size_t) gz_tensor_numel (in[t]) * sizeof (float));
    }
  if (dout[0] == NULL || in[0]->dtype != GZ_DTYPE_FLOAT)
    return GZ_OK; /* integer inputs: refused above when a gradient was asked for */
  GzStatus st = make_iter (node, out[0], in[0], in[1], &it, err);
  if (st != GZ_OK)
    return st;
  j.kind = kind_of (node);
  j.it = &it;
  j.a = in[0]->data;
  j.b = in[1]->data;
  float *tmp = NULL;
  if (in[1]->dtype == GZ_DTYPE_INT64)
    {
      /* Pow with an integer exponent. */
      int64_t nb = gz_tensor_numel (in[1]);
      if ((tmp = gz_op_alloc_floats (node, nb, err)) == NULL)
        return err != NULL ? err->code : GZ_ERR_NOMEM;
      for (int64_t i = 0; i < nb; i++)
        tmp[i] = (float) ((const int64_t *) in[1]->data)[i];
      j.b = tmp;
    }
  j.y = out[0]->data;
  j.dy = dout[0]->data;
  for (int t = 0; t < 2; t++)
    {
      if (din[t] == NULL)
        continue;
      j.target = t + 1;
      j.o = din[t]->data;
      bool reduce = gz_tensor_numel (in[t]) != n_out;
      if (!reduce && (j.kind == B_ADD || (j.kind == B_SUB && t == 0)))
        memcpy (j.o, j.dy, (size_t) n_out * sizeof (float));
      else if (reduce)
        backward_rows (0, it.rows, &j);
      else
        gz_parallel_for (it.rows, gz_op_chunk (it.inner), backward_rows, &j);
    }
  free (tmp);
  return GZ_OK;
}

/* Opsets 1-5 differ from 6 only by the consumed_inputs hint, ignored here. */
#define BINARY(type, kind)                                                                    \
  {                                                                                           \
    .op_type = type, .min_opset = 1, .init = binary_init, .infer = binary_infer,              \
    .forward = binary_forward, .backward = binary_backward, .free_params = gz_op_free_params, \
    .data = &(const Kind){ kind },                                                            \
  }

const GzOpDef gz_op_binary[] = {
  BINARY ("Add", B_ADD),
  BINARY ("Sub", B_SUB),
  BINARY ("Mul", B_MUL),
  BINARY ("Div", B_DIV),
  BINARY ("Pow", B_POW),
  BINARY ("PRelu", B_PRELU),
  GZ_OP_END,
};
