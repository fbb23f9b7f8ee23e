/* gz-op-softmax.c — Softmax, LogSoftmax and Hardmax
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Before opset 13 the input is coerced to 2-D at `axis` (default 1) and the
 * softmax runs over the flattened trailing block; from 13 it runs along the
 * single axis (default -1). Both are one loop over [outer, n, inner].
 *
 * Backward, with y = softmax(x) and g the output gradient:
 *   Softmax:    dx = y * (g - sum_n g*y)
 *   LogSoftmax: dx = g - exp(y) * sum_n g
 *   Hardmax (one-hot of the first maximum): dx = 0, it is piecewise constant
 */
#include <math.h>

#include "gz-op.h"

typedef struct
{
  int64_t opset;
  bool log;
} SoftmaxParams;

/* `data` of a row: true for LogSoftmax. */
static const bool is_log_softmax = true, is_softmax = false;

static GzStatus
softmax_init (GzNode *node, int64_t opset, GzError *err)
{
  GzStatus st = gz_op_alloc_params (node, sizeof (SoftmaxParams), err);
  if (st != GZ_OK)
    return st;
  SoftmaxParams *p = node->params;
  p->opset = opset;
  p->log = *(const bool *) node->op->data;
  return GZ_OK;
}

static GzStatus
softmax_layout (const GzNode *node, const GzTensor *x, int64_t *outer, int64_t *n, int64_t *inner,
                GzError *err)
{
  const SoftmaxParams *p = node->params;
  bool old = p != NULL && p->opset < 13;
  int64_t axis_v = gz_node_attr_int (node, "axis", old ? 1 : -1);
  int axis = gz_axis (axis_v, x->ndim);
  /* opset < 13 also accepts axis == rank (an empty trailing block) */
  if (old && axis_v == x->ndim)
    axis = x->ndim;
  if (axis < 0 || (x->ndim == 0 && !old))
    return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
                        (long long) axis_v, x->ndim);
  *outer = gz_shape_numel (axis, x->dims);
  if (old)
    {
      *n = gz_shape_numel (x->ndim - axis, x->dims + axis);
      *inner = 1;
    }
  else
    {
      *n = x->dims[axis];
      *inner = gz_shape_numel (x->ndim - axis - 1, x->dims + axis + 1);
    }
  return GZ_OK;
}

static GzStatus
softmax_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  int64_t outer, n, inner;
  if (in[0]->dtype != GZ_DTYPE_FLOAT)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "only float input is supported");
  GzStatus st = softmax_layout (node, in[0], &outer, &n, &inner, err);
  if (st != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], GZ_DTYPE_FLOAT, in[0]->ndim, in[0]->dims);
  return GZ_OK;
}

static GzStatus
softmax_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  const SoftmaxParams *p = node->params;
  bool is_log = p != NULL && p->log;
  int64_t outer, n, inner;
  GzStatus st = softmax_layout (node, in[0], &outer, &n, &inner, err);
  if (st != GZ_OK)
    return st;
  const float *x = in[0]->data;
  float *y = out[0]->data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < inner; j++)
      {
        const float *xs = x + o * n * inner + j;
        float *ys = y + o * n * inner + j;
        float m = -INFINITY;
        for (int64_t k = 0; k < n; k++)
          m = xs[k * inner] > m ? xs[k * inner] : m;
        /* exponentials in float (1 ulp), their sum in double */
        double sum = 0.0;
        if (is_log)
          {
            for (int64_t k = 0; k < n; k++)
              sum += expf (xs[k * inner] - m);
            double lse = m + log (sum);
            for (int64_t k = 0; k < n; k++)
              ys[k * inner] = (float) (xs[k * inner] - lse);
          }
        else
          {
            for (int64_t k = 0; k < n; k++)
              {
                float e = expf (xs[k * inner] - m);
                ys[k * inner] = e;
                sum += e;
              }
            float inv = (float) (1.0 / sum);
            for (int64_t k = 0; k < n; k++)
              ys[k * inner] *= inv;
          }
      }
  return GZ_OK;
}

static GzStatus
softmax_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                  const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                  GzError *err)
{
  if (!gz_op_backward_begin (din, dout, false))
    return GZ_OK;
  const SoftmaxParams *p = node->params;
  bool is_log = p != NULL && p->log;
  int64_t outer, n, inner;
  GzStatus st = softmax_layout (node, in[0], &outer, &n, &inner, err);
  if (st != GZ_OK)
    return st;
  const float *y = out[0]->data, *g = dout[0]->data;
  float *dx = din[0]->data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < inner; j++)
      {
        int64_t b = o * n * inner + j;
        double s = 0.0;
        if (is_log)
          {
            for (int64_t k = 0; k < n; k++)
              s += g[b + k * inner];
            for (int64_t k = 0; k < n; k++)
              dx[b + k * inner] = (float) (g[b + k * inner] - exp ((double) y[b + k * inner]) * s);
          }
        else
          {
            for (int64_t k = 0; k < n; k++)
              s += (double) g[b + k * inner] * y[b + k * inner];
            for (int64_t k = 0; k < n; k++)
              dx[b + k * inner] = (float) (y[b + k * inner] * (g[b + k * inner] - s));
          }
      }
  return GZ_OK;
}

/* ---- Hardmax ----------------------------------------------------------- */

static GzStatus
hardmax_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int64_t outer, n, inner;
  GzStatus st = softmax_layout (node, in[0], &outer, &n, &inner, err);
  if (st != GZ_OK)
    return st;
  const float *x = in[0]->data;
  float *y = out[0]->data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < inner; j++)
      {
        int64_t base = o * n * inner + j, best = 0;
        for (int64_t k = 1; k < n; k++)
          if (x[base + k * inner] > x[base + best * inner])
            best = k;
        for (int64_t k = 0; k < n; k++)
          y[base + k * inner] = k == best ? 1.0f : 0.0f;
      }
  return GZ_OK;
}

static GzStatus
hardmax_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                  const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                  GzError *err)
{
  if (din[0] != NULL)
    gz_op_zero (din[0]);
  return GZ_OK;
}

const GzOpDef gz_op_softmax[] = {
  { "Softmax", 1, softmax_init, softmax_infer, softmax_forward, softmax_backward, gz_op_free_params,
    &is_softmax },
  { "LogSoftmax", 1, softmax_init, softmax_infer, softmax_forward, softmax_backward,
    gz_op_free_params, &is_log_softmax },
  { "Hardmax", 1, softmax_init, softmax_infer, hardmax_forward, hardmax_backward, gz_op_free_params,
    &is_softmax },
  GZ_OP_END,
};
