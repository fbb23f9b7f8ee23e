/* gz-op-reduce.c — ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceSumSquare,
 * ReduceL1, ReduceL2, ReduceProd, ReduceLogSum, ReduceLogSumExp over a set of axes
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Axes come from the 'axes' input when present (ReduceSum from opset 13, the
 * others from 18), else from the attribute; none means all axes unless
 * noop_with_empty_axes. The loops walk the input once, with the output offset
 * advanced by strides that are 0 along reduced axes. Max's (Min's) gradient is
 * shared equally between tied extrema; L2's is x / y (0 where y = 0); Prod's
 * is the product of the other elements, exact with zeros; LogSumExp subtracts
 * the maximum first.
 */
#include <math.h>
#include <string.h>

#include "gz-op.h"

typedef enum
{
  REDUCE_MEAN,
  REDUCE_SUM,
  REDUCE_MAX,
  REDUCE_MIN,
  REDUCE_SUM_SQUARE,
  REDUCE_L1,
  REDUCE_L2,
  REDUCE_PROD,
  REDUCE_LOG_SUM,
  REDUCE_LOG_SUM_EXP,
} ReduceKind;

typedef struct
{
  bool reduced[GZ_MAX_DIMS];
  int64_t out_strides[GZ_MAX_DIMS]; /* per input axis, 0 where reduced */
  int out_ndim;
  int64_t out_dims[GZ_MAX_DIMS];
  int64_t count; /* input elements per output element */
} ReduceLayout;

/* The member of the family, from the table row. */
static ReduceKind
kind_of (const GzNode *node)
{
  return *(const ReduceKind *) node->op->data;
}

static GzStatus
reduce_layout (const GzNode *node, const GzTensor *const *in, ReduceLayout *l, GzError *err)
{
  const GzTensor *x = in[0];
  const int64_t *axes;
  int n;
  GzStatus st;
  const GzTensor *axes_in = gz_op_input (node, in, 1);
  if (axes_in != NULL)
    {
      if ((st = gz_op_const_ints (node, axes_in, "axes", &axes, &n, err)) != GZ_OK)
        return st;
    }
  else
    n = gz_node_attr_ints (node, "axes", &axes);

  bool keep = gz_node_attr_int (node, "keepdims", 1) != 0;
  bool noop = gz_node_attr_int (node, "noop_with_empty_axes", 0) != 0;
  memset (l->reduced, 0, sizeof l->reduced);
  if (n == 0)
    for (int a = 0; a < x->ndim; a++)
      l->reduced[a] = !noop;
  for (int i = 0; i < n; i++)
    {
      int a = gz_axis (axes[i], x->ndim);
      if (a < 0)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
                            (long long) axes[i], x->ndim);
      l->reduced[a] = true;
    }
  int64_t kept[GZ_MAX_DIMS], kst[GZ_MAX_DIMS];
  l->out_ndim = 0;
  l->count = 1;
  for (int a = 0; a < x->ndim; a++)
    {
      kept[a] = l->reduced[a] ? 1 : x->dims[a];
      if (l->reduced[a])
        l->count *= x->dims[a];
      if (keep || !l->reduced[a])
        l->out_dims[l->out_ndim++] = kept[a];
    }
  gz_op_strides (x->ndim, kept, kst);
  for (int a = 0; a < x->ndim; a++)
    l->out_strides[a] = l->reduced[a] ? 0 : kst[a];
  return GZ_OK;
}

static GzStatus
reduce_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  if (in[0]->dtype != GZ_DTYPE_FLOAT)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "only float input is supported");
  ReduceLayout l;
  GzStatus st = reduce_layout (node, in, &l, err);
  if (st != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], GZ_DTYPE_FLOAT, l.out_ndim, l.out_dims);
  return GZ_OK;
}

/* The input is walked row by row along its last axis; a row either folds
 * into one output element (last axis reduced: output stride 0) or adds into a
 * row of outputs (stride 1). This advances the multi-index over the other
 * axes and returns the new output offset of the row. */
static inline int64_t
next_row (int nrow_axes, const int64_t *dims, int64_t *idx, const int64_t *ost, int64_t o)
{
  for (int a = nrow_axes - 1; a >= 0; a--)
    {
      o += ost[a];
      if (++idx[a] < dims[a])
        return o;
      o -= ost[a] * dims[a];
      idx[a] = 0;
    }
  return o;
}

/* Runs BODY for every input element v = xr[k], with a pointing at its accumulator
 * (whose output index is jx). */
#define FOR_EACH_ROW(BODY)                                                             \
  do                                                                                   \
    {                                                                                  \
      int64_t idx_[GZ_MAX_DIMS] = { 0 }, o_ = 0;                                       \
      for (int64_t r_ = 0; r_ < rows; r_++)                                            \
        {                                                                              \
          const float *xr = xs + r_ * inner;                                           \
          if (ost == 0)                                                                \
            {                                                                          \
              /* a local accumulator: acc may alias xs as far as the compiler knows */ \
              double t_ = acc[o_], *a = &t_;                                           \
              int64_t jx = o_;                                                         \
              for (int64_t k = 0; k < inner; k++)                                      \
                {                                                                      \
                  double v = xr[k];                                                    \
                  (void) jx;                                                           \
                  BODY;                                                                \
                }                                                                      \
              acc[o_] = t_;                                                            \
            }                                                                          \
          else                                                                         \
            for (int64_t k = 0; k < inner; k++)                                        \
              {                                                                        \
                double v = xr[k];                                                      \
                int64_t jx = o_ + k;                                                   \
                double *a = acc + jx;                                                  \
                (void) jx;                                                             \
                BODY;                                                                  \
              }                                                                        \
          o_ = next_row (nd - 1, x->dims, idx_, l.out_strides, o_);                    \
        }                                                                              \
    }                                                                                  \
  while (0)

static GzStatus
reduce_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  ReduceKind kind = kind_of (node);
  ReduceLayout l;
  GzStatus st = reduce_layout (node, in, &l, err);
  if (st != GZ_OK)
    return st;
  const GzTensor *x = in[0];
  int64_t total = gz_tensor_numel (x), n_out = gz_tensor_numel (out[0]);
  const float *xs = x->data;
  float *y = out[0]->data;
  double *acc = malloc ((size_t) (n_out > 0 ? n_out : 1) * sizeof *acc);
  if (acc == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  double *mx = NULL;
  for (int64_t j = 0; j < n_out; j++)
    acc[j] = kind == REDUCE_MAX || kind == REDUCE_LOG_SUM_EXP ? -INFINITY
        : kind == REDUCE_MIN                                  ? INFINITY
        : kind == REDUCE_PROD                                 ? 1.0
                                                              : 0.0;
  /* a scalar is one row of one element */
  int nd = x->ndim > 0 ? x->ndim : 1;
  int64_t inner = x->ndim > 0 ? x->dims[x->ndim - 1] : 1;
  int64_t rows = inner > 0 ? total / inner : 0;
  int64_t ost = x->ndim > 0 ? l.out_strides[x->ndim - 1] : 0;
  if (kind == REDUCE_LOG_SUM_EXP)
    {
      /* the maxima first, so that exp never overflows */
      FOR_EACH_ROW (*a = v > *a ? v : *a);
      mx = malloc ((size_t) (n_out > 0 ? n_out : 1) * sizeof *mx);
      if (mx == NULL)
        {
          free (acc);
          return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
        }
      for (int64_t j = 0; j < n_out; j++)
        {
          mx[j] = isfinite (acc[j]) ? acc[j] : 0.0;
          acc[j] = 0.0;
        }
    }
  switch (kind)
    {
      case REDUCE_PROD:
        FOR_EACH_ROW (*a *= v);
        break;
      case REDUCE_LOG_SUM_EXP:
        FOR_EACH_ROW (*a += exp (v - mx[jx]));
        break;
      case REDUCE_MAX:
        FOR_EACH_ROW (*a = v > *a || isnan (v) ? v : *a);
        break;
      case REDUCE_MIN:
        FOR_EACH_ROW (*a = v < *a || isnan (v) ? v : *a);
        break;
      case REDUCE_SUM_SQUARE:
      case REDUCE_L2:
        FOR_EACH_ROW (*a += v * v);
        break;
      case REDUCE_L1:
        FOR_EACH_ROW (*a += fabs (v));
        break;
      case REDUCE_MEAN:
      case REDUCE_LOG_SUM:
      case REDUCE_SUM:
        FOR_EACH_ROW (*a += v);
        break;
    }
  for (int64_t j = 0; j < n_out; j++)
    y[j] = (float) (kind == REDUCE_MEAN              ? acc[j] / (double) l.count
                        : kind == REDUCE_L2          ? sqrt (acc[j])
                        : kind == REDUCE_LOG_SUM     ? log (acc[j])
                        : kind == REDUCE_LOG_SUM_EXP ? mx[j] + log (acc[j])
                                                     : acc[j]);
  free (mx);
  free (acc);
  return GZ_OK;
}

static GzStatus
reduce_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                 const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                 GzError *err)
{
  if (!gz_op_backward_begin (din, dout, false))
    return GZ_OK;
  ReduceKind kind = kind_of (node);
  ReduceLayout l;
  GzStatus st = reduce_layout (node, in, &l, err);
  if (st != GZ_OK)
    return st;
  const GzTensor *x = in[0];
  int64_t total = gz_tensor_numel (x), n_out = gz_tensor_numel (out[0]);
  const float *xs = x->data, *y = out[0]->data, *g = dout[0]->data;
  float *dx = din[0]->data;
  int nd = x->ndim > 0 ? x->ndim : 1;
  int64_t inner = x->ndim > 0 ? x->dims[x->ndim - 1] : 1;
  int64_t rows = inner > 0 ? total / inner : 0;
  int64_t ost = x->ndim > 0 ? l.out_strides[x->ndim - 1] : 0;
  /* acc holds, per output, the output gradient divided by the number of
   * elements it goes to (Mean: all; Max/Min: the tied extrema) */
  double *acc = calloc ((size_t) (n_out > 0 ? n_out : 1), sizeof *acc);
  if (acc == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  if (kind == REDUCE_MAX || kind == REDUCE_MIN)
    {
      /* count ties: acc[o] += (x == y[o]) */
      int64_t idx_[GZ_MAX_DIMS] = { 0 }, o_ = 0;
      for (int64_t r = 0; r < rows; r++)
        {
          const float *xr = xs + r * inner;
          for (int64_t k = 0; k < inner; k++)
            acc[o_ + k * ost] += xr[k] == y[o_ + k * ost];
          o_ = next_row (nd - 1, x->dims, idx_, l.out_strides, o_);
        }
      for (int64_t j = 0; j < n_out; j++)
        acc[j] = acc[j] > 0 ? g[j] / acc[j] : 0.0;
    }
  else
    for (int64_t j = 0; j < n_out; j++)
      acc[j] = kind == REDUCE_MEAN && l.count > 0 ? g[j] / (double) l.count : g[j];

  /* Prod: zeros and the product of the non-zero elements per output */
  double *zeros = NULL, *pnz = NULL;
  if (kind == REDUCE_PROD)
    {
      zeros = calloc ((size_t) (n_out > 0 ? n_out : 1), sizeof *zeros);
      pnz = malloc ((size_t) (n_out > 0 ? n_out : 1) * sizeof *pnz);
      if (zeros == NULL || pnz == NULL)
        {
          free (zeros);
          free (pnz);
          free (acc);
          return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
        }
      for (int64_t j = 0; j < n_out; j++)
        pnz[j] = 1.0;
      int64_t idx_[GZ_MAX_DIMS] = { 0 }, o_ = 0;
      for (int64_t r = 0; r < rows; r++)
        {
          const float *xr = xs + r * inner;
          for (int64_t k = 0; k < inner; k++)
            {
              if (xr[k] == 0.0f)
                zeros[o_ + k * ost] += 1.0;
              else
                pnz[o_ + k * ost] *= xr[k];
            }
          o_ = next_row (nd - 1, x->dims, idx_, l.out_strides, o_);
        }
    }

  int64_t idx[GZ_MAX_DIMS] = { 0 }, o = 0;
  for (int64_t r = 0; r < rows; r++)
    {
      const float *xr = xs + r * inner;
      float *dr = dx + r * inner;
      for (int64_t k = 0; k < inner; k++)
        {
          int64_t j = o + k * ost;
          float v = xr[k];
          switch (kind)
            {
              case REDUCE_MAX:
              case REDUCE_MIN:
                dr[k] = v == y[j] ? (float) acc[j] : 0.0f;
                break;
              case REDUCE_SUM_SQUARE:
                dr[k] = (float) (acc[j] * 2.0 * v);
                break;
              case REDUCE_L1:
                dr[k] = (float) (acc[j] * ((v > 0.0f) - (v < 0.0f)));
                break;
              case REDUCE_L2:
                dr[k] = y[j] != 0.0f ? (float) (acc[j] * v / y[j]) : 0.0f;
                break;
              case REDUCE_MEAN:
              case REDUCE_SUM:
                dr[k] = (float) acc[j];
                break;
              case REDUCE_LOG_SUM:
                dr[k] = (float) (acc[j] * exp (-(double) y[j]));
                break;
              case REDUCE_LOG_SUM_EXP:
                dr[k] = (float) (acc[j] * exp ((double) v - y[j]));
                break;
              case REDUCE_PROD:
                if (v != 0.0f)
                  dr[k] = zeros[j] > 0 ? 0.0f : (float) (acc[j] * pnz[j] / v);
                else
                  dr[k] = zeros[j] == 1.0 ? (float) (acc[j] * pnz[j]) : 0.0f;
                break;
            }
        }
      o = next_row (nd - 1, x->dims, idx, l.out_strides, o);
    }
  free (zeros);
  free (pnz);
  free (acc);
  return GZ_OK;
}

#define REDUCE(type, kind)                                                             \
  {                                                                                    \
    .op_type = type, .min_opset = 1, .infer = reduce_infer, .forward = reduce_forward, \
    .backward = reduce_backward, .data = &(const ReduceKind){ kind },                  \
  }

const GzOpDef gz_op_reduce[] = {
  REDUCE ("ReduceMean", REDUCE_MEAN),
  REDUCE ("ReduceSum", REDUCE_SUM),
  REDUCE ("ReduceMax", REDUCE_MAX),
  REDUCE ("ReduceMin", REDUCE_MIN),
  REDUCE ("ReduceSumSquare", REDUCE_SUM_SQUARE),
  REDUCE ("ReduceL1", REDUCE_L1),
  REDUCE ("ReduceL2", REDUCE_L2),
  REDUCE ("ReduceProd", REDUCE_PROD),
  REDUCE ("ReduceLogSum", REDUCE_LOG_SUM),
  REDUCE ("ReduceLogSumExp", REDUCE_LOG_SUM_EXP),
  GZ_OP_END,
};
