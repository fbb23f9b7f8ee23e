/* gz-op-image-scaler.c — ImageScaler: y = scale · x + bias_c (model-zoo preprocessing)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * An experimental operator of opsets 1–9 that converters (CNTK, Caffe2,
 * early tf2onnx) put at the start of zoo classifiers to fold the input
 * normalisation into the graph. The bias has one value per channel (axis 1
 * of an N,C,... input); without it only the scale applies. The input
 * gradient is scale · dy.
 */
#include "gz-op.h"

typedef struct
{
  float scale;
  int n_bias;
  const float *bias; /* points into the node's attribute; NULL: none */
} Params;

static GzStatus
scaler_init (GzNode *node, int64_t opset, GzError *err)
{
  Params *p = calloc (1, sizeof *p);
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_NOMEM, node, "out of memory");
  p->scale = gz_node_attr_float (node, "scale", 1.0f);
  p->n_bias = gz_node_attr_floats (node, "bias", &p->bias);
  if (p->bias == NULL)
    p->n_bias = 0;
  node->params = p;
  return GZ_OK;
}

static GzStatus
scaler_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  const Params *p = node->params;
  GzStatus st;
  char sx[160];
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_ARGUMENT, node, "operator used before init");
  if ((st = gz_op_need (node, in, out, 1, 1, err)) != GZ_OK
      || (st = gz_op_need_float (node, in, 0, "input", err)) != GZ_OK)
    return st;
  const GzTensor *x = in[0];
  if (x->ndim < 2)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "input %s must have rank >= 2 (N,C,...)",
                        gz_op_shape_str (x->ndim, x->dims, sx, sizeof sx));
  if (p->n_bias != 0 && p->n_bias != x->dims[1])
    return gz_op_error (err, GZ_ERR_SHAPE, node,
                        "%d bias values for the %lld channels of the input %s", p->n_bias,
                        (long long) x->dims[1], gz_op_shape_str (x->ndim, x->dims, sx, sizeof sx));
  if ((st = gz_op_check_shape (node, x->ndim, x->dims, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], GZ_DTYPE_FLOAT, x->ndim, x->dims);
  return GZ_OK;
}

static GzStatus
scaler_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  const Params *p = node->params;
  const GzTensor *x = in[0];
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_ARGUMENT, node, "operator used before init");
  const int64_t channels = x->dims[1];
  const int64_t plane = gz_shape_numel (x->ndim - 2, x->dims + 2);
  const int64_t planes = gz_tensor_numel (x) / (plane > 0 ? plane : 1);
  const float *src = x->data;
  float *dst = out[0]->data;
  for (int64_t k = 0; k < planes && plane > 0; k++)
    {
      const float b = p->n_bias != 0 ? p->bias[k % channels] : 0.0f;
      for (int64_t i = 0; i < plane; i++)
        dst[k * plane + i] = p->scale * src[k * plane + i] + b;
    }
  return GZ_OK;
}

static GzStatus
scaler_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                 const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                 GzError *err)
{
  const Params *p = node->params;
  if (!gz_op_backward_begin (din, dout, false))
    return GZ_OK;
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_ARGUMENT, node, "operator used before init");
  const int64_t n = gz_tensor_numel (din[0]);
  const float *dy = dout[0]->data;
  float *dx = din[0]->data;
  for (int64_t i = 0; i < n; i++)
    dx[i] = p->scale * dy[i];
  return GZ_OK;
}

const GzOpDef gz_op_image_scaler[] = {
  { "ImageScaler", 1, scaler_init, scaler_infer, scaler_forward, scaler_backward,
    gz_op_free_params },
  GZ_OP_END,
};
