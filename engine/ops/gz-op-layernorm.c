/* gz-op-layernorm.c — LayerNormalization (opset 17)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * x is seen as [outer, n] with n = prod(shape[axis:]); per row
 *   xhat = (x - mean) * rstd,  rstd = 1 / sqrt(var + epsilon),  y = xhat * scale + bias
 * with the biased variance. Optional outputs Mean and InvStdDev have the
 * input's shape with the normalised axes set to 1. Backward (g = dy * scale):
 *   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),
 *   dscale = sum_rows dy * xhat,  dbias = sum_rows dy.
 */
#include <math.h>
#include <string.h>

#include "gz-op.h"

static GzStatus
ln_layout (const GzNode *node, const GzTensor *const *in, int *axis, int64_t *outer, int64_t *n,
           GzError *err)
{
  const GzTensor *x = in[0];
  int64_t axis_v = gz_node_attr_int (node, "axis", -1);
  *axis = gz_axis (axis_v, x->ndim);
  if (*axis < 0 || x->ndim == 0)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
                        (long long) axis_v, x->ndim);
  *outer = gz_shape_numel (*axis, x->dims);
  *n = gz_shape_numel (x->ndim - *axis, x->dims + *axis);
  for (int i = 1; i <= 2; i++)
    {
      const GzTensor *t = gz_op_input (node, in, i);
      if (t == NULL)
        {
          if (i == 1)
            return gz_op_error (err, GZ_ERR_SHAPE, node, "the Scale input is missing");
          continue;
        }
      if (t->dtype != GZ_DTYPE_FLOAT || gz_tensor_numel (t) != *n)
        {
          char b1[128], b2[128];
          return gz_op_error (
              err, GZ_ERR_SHAPE, node,
              "%s has shape %s; the normalised shape is %s (%lld elements)", i == 1 ? "Scale" : "B",
              gz_op_shape_str (t->ndim, t->dims, b1, sizeof b1),
              gz_op_shape_str (x->ndim - *axis, x->dims + *axis, b2, sizeof b2), (long long) *n);
        }
    }
  return GZ_OK;
}

static GzStatus
ln_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 2, 3, err);
  if (need != GZ_OK)
    return need;
  const GzTensor *x = in[0];
  int axis;
  int64_t outer, n;
  if (x->dtype != GZ_DTYPE_FLOAT)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "only float input is supported");
  GzStatus st = ln_layout (node, in, &axis, &outer, &n, err);
  if (st != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], GZ_DTYPE_FLOAT, x->ndim, x->dims);
  int64_t stat_dims[GZ_MAX_DIMS];
  for (int a = 0; a < x->ndim; a++)
    stat_dims[a] = a < axis ? x->dims[a] : 1;
  for (int j = 1; j <= 2; j++)
    {
      GzTensor *t = gz_op_output (node, out, j);
      if (t != NULL)
        gz_tensor_set_shape (t, GZ_DTYPE_FLOAT, x->ndim, stat_dims);
    }
  return GZ_OK;
}

/* Mean and 1/sqrt(var + eps) of one row, in double. */
static void
row_stats (const float *x, int64_t n, float eps, double *mean, double *rstd)
{
  double s = 0.0, ss = 0.0;
  for (int64_t k = 0; k < n; k++)
    s += x[k];
  double m = n > 0 ? s / (double) n : 0.0;
  for (int64_t k = 0; k < n; k++)
    ss += ((double) x[k] - m) * ((double) x[k] - m);
  *mean = m;
  *rstd = 1.0 / sqrt ((n > 0 ? ss / (double) n : 0.0) + eps);
}

static GzStatus
ln_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int axis;
  int64_t outer, n;
  GzStatus st = ln_layout (node, in, &axis, &outer, &n, err);
  if (st != GZ_OK)
    return st;
  float eps = gz_node_attr_float (node, "epsilon", 1e-5f);
  const float *x = in[0]->data, *scale = in[1]->data;
  const GzTensor *b = gz_op_input (node, in, 2);
  const float *bias = b != NULL ? b->data : NULL;
  GzTensor *mean_t = gz_op_output (node, out, 1), *rstd_t = gz_op_output (node, out, 2);
  float *y = out[0]->data;
  for (int64_t o = 0; o < outer; o++)
    {
      const float *xr = x + o * n;
      float *yr = y + o * n;
      double m, r;
      row_stats (xr, n, eps, &m, &r);
      for (int64_t k = 0; k < n; k++)
        yr[k] = (float) (((double) xr[k] - m) * r * scale[k] + (bias != NULL ? bias[k] : 0.0f));
      if (mean_t != NULL)
        gz_tensor_f (mean_t)[o] = (float) m;
      if (rstd_t != NULL)
        gz_tensor_f (rstd_t)[o] = (float) r;
    }
  return GZ_OK;
}

static GzStatus
ln_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
             const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode, GzError *err)
{
  int axis;
  int64_t outer, n;
  GzStatus st = ln_layout (node, in, &axis, &outer, &n, err);
  if (st != GZ_OK)
    return st;
  GzTensor *dx_t = din[0];
  GzTensor *ds_t = node->n_inputs > 1 ? din[1] : NULL;
  GzTensor *db_t = node->n_inputs > 2 ? din[2] : NULL;
  for (int i = 0; i < 3; i++)
    if (i < node->n_inputs && din[i] != NULL)
      gz_op_zero (din[i]);
  if (dout[0] == NULL)
    return GZ_OK;
  float eps = gz_node_attr_float (node, "epsilon", 1e-5f);
  const float *x = in[0]->data, *scale = in[1]->data, *g = dout[0]->data;
  for (int64_t o = 0; o < outer; o++)
    {
      const float *xr = x + o * n, *gr = g + o * n;
      double m, r;
      row_stats (xr, n, eps, &m, &r);
      if (ds_t != NULL || db_t != NULL)
        for (int64_t k = 0; k < n; k++)
          {
            if (ds_t != NULL)
              gz_tensor_f (ds_t)[k] += (float) (gr[k] * ((double) xr[k] - m) * r);
            if (db_t != NULL)
              gz_tensor_f (db_t)[k] += gr[k];
          }
      if (dx_t == NULL)
        continue;
      double mg = 0.0, mgx = 0.0;
      for (int64_t k = 0; k < n; k++)
        {
          double gs = (double) gr[k] * scale[k];
          mg += gs;
          mgx += gs * ((double) xr[k] - m) * r;
        }
      mg /= (double) n;
      mgx /= (double) n;
      float *dx = gz_tensor_f (dx_t) + o * n;
      for (int64_t k = 0; k < n; k++)
        {
          double xhat = ((double) xr[k] - m) * r;
          dx[k] = (float) (r * ((double) gr[k] * scale[k] - mg - xhat * mgx));
        }
    }
  return GZ_OK;
}

const GzOpDef gz_op_layernorm[] = {
  { "LayerNormalization", 17, NULL, ln_infer, ln_forward, ln_backward, NULL },
  GZ_OP_END,
};
