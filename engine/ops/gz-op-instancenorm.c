/* op-instancenorm.c — InstanceNormalization: per (n, c) plane statistics
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * y = scale_c (x - mu) / sqrt(var + epsilon) + B_c with mu, var (biased) over
 * each plane. With xhat = (x - mu) inv and S the plane size, the input
 * gradient is dx = scale_c inv / S (S dy - sum dy - xhat sum(dy xhat)).
 */
#include <math.h>
#include <string.h>

#include "gz-op.h"

typedef struct
{
  float epsilon;
} Params;

static GzStatus
in_init (GzNode *node, int64_t opset, GzError *err)
{
  Params *p = calloc (1, sizeof *p);
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_NOMEM, node, "out of memory");
  p->epsilon = gz_node_attr_float (node, "epsilon", 1e-5f);
  node->params = p;
  return GZ_OK;
}

static GzStatus
in_check (const GzNode *node, const GzTensor *const *in, GzError *err)
{
  static const char *const names[] = { "input", "scale", "B" };
  GzStatus st;
  char sx[160], sp[160];
  if (node->params == NULL)
    return gz_op_error (err, GZ_ERR_ARGUMENT, node, "operator used before init");
  for (int i = 0; i < 3; i++)
    if ((st = gz_op_need_float (node, in, i, names[i], err)) != GZ_OK)
      return st;
  const GzTensor *x = in[0];
  if (x->ndim < 3)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "input %s must have rank >= 3 (N,C,...)",
                        gz_op_shape_str (x->ndim, x->dims, sx, sizeof sx));
  for (int i = 1; i < 3; i++)
    if (in[i]->ndim != 1 || in[i]->dims[0] != x->dims[1])
      return gz_op_error (err, GZ_ERR_SHAPE, node, "%s %s must be [%lld]", names[i],
                          gz_op_shape_str (in[i]->ndim, in[i]->dims, sp, sizeof sp),
                          (long long) x->dims[1]);
  return GZ_OK;
}

static GzStatus
in_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st;
  if ((st = in_check (node, in, err)) != GZ_OK
      || (st = gz_op_check_shape (node, in[0]->ndim, in[0]->dims, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], GZ_DTYPE_FLOAT, in[0]->ndim, in[0]->dims);
  return GZ_OK;
}

typedef struct
{
  int64_t c, plane;
  float eps;
  const float *x, *scale, *bias, *dy;
  float *y, *dx;
} Job;

/* Mean and 1/sqrt(var + eps) of one plane, in double. */
static void
plane_stats (const float *x, int64_t n, float eps, double *mu, double *inv)
{
  double s = 0.0, ss = 0.0;
  for (int64_t i = 0; i < n; i++)
    s += x[i];
  *mu = n > 0 ? s / (double) n : 0.0;
  for (int64_t i = 0; i < n; i++)
    {
      double d = x[i] - *mu;
      ss += d * d;
    }
  *inv = 1.0 / sqrt ((n > 0 ? ss / (double) n : 0.0) + eps);
}

static void
forward_planes (long begin, long end, void *data)
{
  const Job *j = data;
  for (long pl = begin; pl < end; pl++)
    {
      const float *x = j->x + pl * j->plane;
      float *y = j->y + pl * j->plane;
      double mu, inv;
      plane_stats (x, j->plane, j->eps, &mu, &inv);
      const float a = (float) (j->scale[pl % j->c] * inv);
      const float b = (float) (j->bias[pl % j->c] - mu * j->scale[pl % j->c] * inv);
      for (int64_t i = 0; i < j->plane; i++)
        y[i] = a * x[i] + b;
    }
}

static void
backward_planes (long begin, long end, void *data)
{
  const Job *j = data;
  for (long pl = begin; pl < end; pl++)
    {
      const float *x = j->x + pl * j->plane, *dy = j->dy + pl * j->plane;
      float *dx = j->dx + pl * j->plane;
      double mu, inv, sdy = 0.0, sdyx = 0.0;
      plane_stats (x, j->plane, j->eps, &mu, &inv);
      for (int64_t i = 0; i < j->plane; i++)
        {
          sdy += dy[i];
          sdyx += dy[i] * ((x[i] - mu) * inv);
        }
      const double n = (double) j->plane, k = j->scale[pl % j->c] * inv / n;
      for (int64_t i = 0; i < j->plane; i++)
        dx[i] = (float) (k * (n * dy[i] - sdy - (x[i] - mu) * inv * sdyx));
    }
}

static GzStatus
in_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  const Params *p = node->params;
  GzStatus st;
  if ((st = in_check (node, in, err)) != GZ_OK)
    return st;
  const GzTensor *x = in[0];
  Job j = { .c = x->dims[1],
            .plane = gz_shape_numel (x->ndim - 2, x->dims + 2),
            .eps = p->epsilon,
            .x = x->data,
            .scale = in[1]->data,
            .bias = in[2]->data,
            .y = out[0]->data };
  gz_parallel_for (x->dims[0] * x->dims[1], gz_op_chunk (2.0 * (double) j.plane), forward_planes,
                   &j);
  return GZ_OK;
}

static GzStatus
in_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
             const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode, GzError *err)
{
  const Params *p = node->params;
  GzStatus st;
  if ((st = in_check (node, in, err)) != GZ_OK)
    return st;
  const GzTensor *x = in[0];
  int64_t c = x->dims[1], n = x->dims[0], plane = gz_shape_numel (x->ndim - 2, x->dims + 2);
  for (int i = 0; i < 3 && i < node->n_inputs; i++)
    if (din[i] != NULL)
      memset (din[i]->data, 0, (size_t) gz_tensor_numel (din[i]) * sizeof (float));
  if (dout[0] == NULL)
    return GZ_OK;
  const float *dy = dout[0]->data, *xs = x->data;
  if (din[0] != NULL)
    {
      Job j = { .c = c,
                .plane = plane,
                .eps = p->epsilon,
                .x = xs,
                .scale = in[1]->data,
                .dy = dy,
                .dx = din[0]->data };
      gz_parallel_for (n * c, gz_op_chunk (3.0 * (double) plane), backward_planes, &j);
    }
  if (din[1] != NULL || din[2] != NULL)
    for (int64_t pl = 0; pl < n * c; pl++)
      {
        double mu, inv, sdy = 0.0, sdyx = 0.0;
        const float *xp = xs + pl * plane, *g = dy + pl * plane;
        plane_stats (xp, plane, p->epsilon, &mu, &inv);
        for (int64_t i = 0; i < plane; i++)
          {
            sdy += g[i];
            sdyx += g[i] * ((xp[i] - mu) * inv);
          }
        if (din[1] != NULL)
          gz_tensor_f (din[1])[pl % c] += (float) sdyx;
        if (din[2] != NULL)
          gz_tensor_f (din[2])[pl % c] += (float) sdy;
      }
  return GZ_OK;
}

const GzOpDef gz_op_instancenorm[] = {
  { "InstanceNormalization", 1, in_init, in_infer, in_forward, in_backward, gz_op_free_params },
  GZ_OP_END,
};
