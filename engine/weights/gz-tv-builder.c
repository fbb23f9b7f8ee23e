/* gz-tv-builder.c — building an ONNX-shaped graph from a state dict's tensors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The pieces every torchvision architecture is made of, written as
 * torch.onnx.export writes them in eval mode (BatchNorm folded into the
 * convolution before it). Tensors are taken out of the state dict, not copied.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gz-limits.h"
#include "gz-op.h"
#include "gz-tv-builder.h"

int
tvb_value (Builder *b, const char *name, GzTensor *init)
{
  GzGraph *g = b->g;
  if (b->status != GZ_OK)
    {
      gz_tensor_free (init);
      return -1;
    }
  if (g->n_values >= b->cap_values)
    {
      int cap = b->cap_values ? b->cap_values * 2 : 256;
      GzValue *v = realloc (g->values, (size_t) cap * sizeof *v);
      if (v == NULL)
        goto nomem;
      g->values = v;
      b->cap_values = cap;
    }
  GzValue *v = &g->values[g->n_values];
  memset (v, 0, sizeof *v);
  v->name = strdup (name);
  if (v->name == NULL)
    goto nomem;
  v->dtype = GZ_DTYPE_FLOAT;
  v->producer = -1;
  v->initializer = init;
  return g->n_values++;
nomem:
  gz_tensor_free (init);
  b->status = gz_error_set (b->err, GZ_ERR_NOMEM, "out of memory");
  return -1;
}

/* ints attribute when n > 1 or `list`, else an int attribute. */
static bool
set_attr_ints (GzAttr *a, const char *name, int n, const int64_t *v, bool list)
{
  a->name = strdup (name);
  if (a->name == NULL)
    return false;
  if (!list)
    {
      a->type = GZ_ATTR_INT;
      a->i = v[0];
      return true;
    }
  a->type = GZ_ATTR_INTS;
  a->n = n;
  a->ints = malloc ((size_t) n * sizeof *a->ints);
  if (a->ints == NULL)
    return false;
  memcpy (a->ints, v, (size_t) n * sizeof *a->ints);
  return true;
}

int
tvb_node (Builder *b, const char *op_type, const char *name, int n_in, const int *in, int n_attrs,
          const AttrSpec *attrs)
{
  GzGraph *g = b->g;
  if (b->status != GZ_OK)
    return -1;
  for (int i = 0; i < n_in; i++)
    if (in[i] < 0)
      return -1;
  if (g->n_nodes >= b->limits->max_nodes)
    {
      b->status
          = gz_error_set (b->err, GZ_ERR_LIMIT,
                          "the model has more nodes than the " GZ_LIMIT_NODES " limit of %lld",
                          (long long) b->limits->max_nodes);
      return -1;
    }
  if (g->n_nodes >= b->cap_nodes)
    {
      int cap = b->cap_nodes ? b->cap_nodes * 2 : 128;
      GzNode *nn = realloc (g->nodes, (size_t) cap * sizeof *nn);
      if (nn == NULL)
        goto nomem;
      g->nodes = nn;
      b->cap_nodes = cap;
    }
  char oname[256];
  snprintf (oname, sizeof oname, "%.200s_output", name);
  int out = tvb_value (b, oname, NULL);
  if (out < 0)
    return -1;
  GzNode *node = &g->nodes[g->n_nodes];
  memset (node, 0, sizeof *node);
  g->n_nodes++;
  node->name = strdup (name);
  node->op_type = strdup (op_type);
  node->domain = strdup ("");
  node->inputs = malloc ((size_t) n_in * sizeof *node->inputs + 1);
  node->outputs = malloc (sizeof *node->outputs);
  node->attrs = calloc ((size_t) n_attrs + 1, sizeof *node->attrs);
  if (node->name == NULL || node->op_type == NULL || node->domain == NULL || node->inputs == NULL
      || node->outputs == NULL || node->attrs == NULL)
    goto nomem;
  node->n_inputs = n_in;
  memcpy (node->inputs, in, (size_t) n_in * sizeof *in);
  node->n_outputs = 1;
  node->outputs[0] = out;
  for (int i = 0; i < n_attrs; i++)
    {
      node->n_attrs++;
      if (attrs[i].n < 0)
        {
          node->attrs[i].name = strdup (attrs[i].name);
          if (node->attrs[i].name == NULL)
            goto nomem;
          node->attrs[i].type = GZ_ATTR_FLOAT;
          node->attrs[i].f = attrs[i].f;
          continue;
        }
      if (!set_attr_ints (&node->attrs[i], attrs[i].name, attrs[i].n > 0 ? attrs[i].n : 1,
                          attrs[i].v, attrs[i].n > 0))
        goto nomem;
    }
  g->values[out].producer = g->n_nodes - 1;
  node->op = gz_op_lookup (op_type);
  if (node->op == NULL)
    {
      b->status = gz_error_set (b->err, GZ_ERR_UNSUPPORTED, "no operator %s", op_type);
      return -1;
    }
  if (node->op->init != NULL && (b->status = node->op->init (node, g->opset, b->err)) != GZ_OK)
    return -1;
  return out;
nomem:
  b->status = gz_error_set (b->err, GZ_ERR_NOMEM, "out of memory");
  return -1;
}

const GzTensor *
tvb_weight (Builder *b, const char *prefix, const char *suffix, int ndim)
{
  char key[256];
  snprintf (key, sizeof key, "%.200s.%s", prefix, suffix);
  const GzTensor *t = gz_state_dict_get (b->sd, key);
  if (b->status != GZ_OK)
    return NULL;
  if (t == NULL || (ndim >= 0 && t->ndim != ndim))
    {
      b->status = gz_error_set (b->err, GZ_ERR_FORMAT,
                                "the state dict has no %dD tensor '%s' where the architecture "
                                "needs one",
                                ndim, key);
      return NULL;
    }
  return t;
}

/* Moves t (an entry of the state dict) into the graph instead of copying it
 * (a ResNet-50 is 100 MB of weights). BatchNorm folding then rewrites it in
 * place, so a second use would read folded values: refused, torchvision's
 * architectures never share a weight. */
GzTensor *
tvb_take (Builder *b, const GzTensor *t)
{
  for (int i = 0; i < b->sd->n; i++)
    if (b->sd->w[i].t == t)
      {
        if (b->sd->w[i].taken)
          {
            b->status = gz_error_set (b->err, GZ_ERR_FORMAT,
                                      "the weight '%s' is used by two layers (shared weights are "
                                      "not supported)",
                                      b->sd->w[i].name);
            return NULL;
          }
        b->sd->w[i].taken = true;
        return b->sd->w[i].t;
      }
  return gz_tensor_copy (t, b->err);
}

/* Conv, with the BatchNorm `bn` (NULL: none) folded in; the conv's own bias
 * when it has one. groups -1: depthwise (one group per output channel).
 * pad_h/pad_w on both sides of each axis. Returns the output value. */
int
tvb_conv_bn_pads (Builder *b, int x, const char *conv, const char *bn, int stride, int pad_h,
                  int pad_w, int64_t groups)
{
  const GzTensor *w = tvb_weight (b, conv, "weight", 4);
  if (b->status != GZ_OK)
    return -1;
  int64_t oc = w->dims[0];
  char name[256];
  snprintf (name, sizeof name, "%.200s.bias", conv);
  const GzTensor *cb = gz_state_dict_get (b->sd, name);
  if (cb != NULL && (cb->ndim != 1 || cb->dims[0] != oc))
    cb = NULL;
  const GzTensor *gamma = NULL, *beta = NULL, *mean = NULL, *var = NULL;
  if (bn != NULL)
    {
      gamma = tvb_weight (b, bn, "weight", 1);
      beta = tvb_weight (b, bn, "bias", 1);
      mean = tvb_weight (b, bn, "running_mean", 1);
      var = tvb_weight (b, bn, "running_var", 1);
      if (b->status != GZ_OK)
        return -1;
      if (gamma->dims[0] != oc || beta->dims[0] != oc || mean->dims[0] != oc || var->dims[0] != oc)
        {
          b->status = gz_error_set (b->err, GZ_ERR_SHAPE, "BatchNorm '%s' does not match conv '%s'",
                                    bn, conv);
          return -1;
        }
    }
  int64_t kh = w->dims[2], kw = w->dims[3];
  GzTensor *wf = tvb_take (b, w);
  GzTensor *bf = gz_tensor_new (GZ_DTYPE_FLOAT, 1, &oc, b->err);
  if (wf == NULL || bf == NULL)
    {
      gz_tensor_free (wf);
      gz_tensor_free (bf);
      b->status = GZ_ERR_NOMEM;
      return -1;
    }
  int64_t per = gz_tensor_numel (wf) / (oc > 0 ? oc : 1);
  float *W = gz_tensor_f (wf), *B = gz_tensor_f (bf);
  for (int64_t o = 0; o < oc; o++)
    {
      double b0 = cb != NULL ? gz_tensor_f (cb)[o] : 0.0;
      if (bn == NULL)
        {
          B[o] = (float) b0;
          continue;
        }
      double scale = gz_tensor_f (gamma)[o]
          / sqrt ((double) gz_tensor_f (var)[o] + (b->bn_eps > 0 ? b->bn_eps : 1e-5));
      for (int64_t k = 0; k < per; k++)
        W[o * per + k] = (float) (W[o * per + k] * scale);
      B[o] = (float) (gz_tensor_f (beta)[o] + (b0 - gz_tensor_f (mean)[o]) * scale);
    }
  if (groups < 0)
    groups = oc;
  snprintf (name, sizeof name, "%.200s.weight", conv);
  int wv = tvb_value (b, name, wf);
  snprintf (name, sizeof name, "%.200s.bias", conv);
  int bv = tvb_value (b, name, bf);
  int in[3] = { x, wv, bv };
  AttrSpec attrs[5] = {
    { "kernel_shape", 2, { kh, kw } },
    { "strides", 2, { stride, stride } },
    { "pads", 4, { pad_h, pad_w, pad_h, pad_w } },
    { "dilations", 2, { 1, 1 } },
    { "group", 0, { groups } },
  };
  return tvb_node (b, "Conv", conv, 3, in, 5, attrs);
}

int
tvb_conv_bn_groups (Builder *b, int x, const char *conv, const char *bn, int stride, int pad,
                    int64_t groups)
{
  return tvb_conv_bn_pads (b, x, conv, bn, stride, pad, pad, groups);
}

/* The kernel size of conv `prefix`, for "same" padding ((k-1)/2); 0 if absent. */
int64_t
tvb_kernel_of (Builder *b, const char *prefix)
{
  char key[256];
  snprintf (key, sizeof key, "%.200s.weight", prefix);
  const GzTensor *w = gz_state_dict_get (b->sd, key);
  return w != NULL && w->ndim == 4 ? w->dims[2] : 0;
}

/* A standalone BatchNormalization node (pre-activation networks: DenseNet). */
int
tvb_batchnorm (Builder *b, int x, const char *bn)
{
  const char *parts[4] = { "weight", "bias", "running_mean", "running_var" };
  int in[5] = { x, -1, -1, -1, -1 };
  for (int i = 0; i < 4; i++)
    {
      const GzTensor *t = tvb_weight (b, bn, parts[i], 1);
      if (t == NULL)
        return -1;
      char name[256];
      snprintf (name, sizeof name, "%.200s.%s", bn, parts[i]);
      in[i + 1] = tvb_value (b, name, tvb_take (b, t));
    }
  return tvb_node (b, "BatchNormalization", bn, 5, in, 0, NULL);
}

int
tvb_scalar (Builder *b, const char *name, float v)
{
  int64_t one = 1;
  GzTensor *t = gz_tensor_new (GZ_DTYPE_FLOAT, 0, &one, b->err);
  if (t != NULL)
    gz_tensor_f (t)[0] = v;
  return tvb_value (b, name, t);
}

/* ReLU6 as torch.onnx.export writes it: Clip(x, 0, 6). */
int
tvb_relu6 (Builder *b, const char *name, int x)
{
  char n[256];
  snprintf (n, sizeof n, "%.200s.min", name);
  int lo = tvb_scalar (b, n, 0.0f);
  snprintf (n, sizeof n, "%.200s.max", name);
  int hi = tvb_scalar (b, n, 6.0f);
  int in[3] = { x, lo, hi };
  return tvb_node (b, "Clip", name, 3, in, 0, NULL);
}

/* SiLU as torch.onnx.export writes it: x * Sigmoid(x). */
int
tvb_silu (Builder *b, const char *name, int x)
{
  char n[256];
  snprintf (n, sizeof n, "%.200s.sigmoid", name);
  int s = tvb_node (b, "Sigmoid", n, 1, &x, 0, NULL);
  int in[2] = { x, s };
  return tvb_node (b, "Mul", name, 2, in, 0, NULL);
}

int
tvb_binary (Builder *b, const char *op, const char *name, int x, int y)
{
  int in[2] = { x, y };
  return tvb_node (b, op, name, 2, in, 0, NULL);
}

int
tvb_conv_bn (Builder *b, int x, const char *conv, const char *bn, int stride, int pad)
{
  return tvb_conv_bn_groups (b, x, conv, bn, stride, pad, 1);
}

int
tvb_unary (Builder *b, const char *op, const char *name, int x)
{
  return tvb_node (b, op, name, 1, &x, 0, NULL);
}

int
tvb_has_layer (const GzStateDict *sd, int layer, int block, const char *suffix)
{
  char key[256];
  snprintf (key, sizeof key, "layer%d.%d.%s", layer, block, suffix);
  return gz_state_dict_get (sd, key) != NULL;
}

int
tvb_param (Builder *b, const char *prefix, const char *suffix, int ndim)
{
  const GzTensor *t = tvb_weight (b, prefix, suffix, ndim);
  if (b->status != GZ_OK)
    return -1;
  char name[256];
  snprintf (name, sizeof name, "%.200s.%s", prefix, suffix);
  return tvb_value (b, name, tvb_take (b, t));
}

/* Linear head: Flatten → Gemm(transB). */
int
tvb_linear (Builder *b, int x, const char *prefix)
{
  int wv = tvb_param (b, prefix, "weight", 2);
  int bv = tvb_param (b, prefix, "bias", 1);
  if (b->status != GZ_OK)
    return -1;
  char name[256];
  int in[3] = { x, wv, bv };
  AttrSpec t = { "transB", 0, { 1 } };
  snprintf (name, sizeof name, "%s", prefix);
  return tvb_node (b, "Gemm", name, 3, in, 1, &t);
}

/* torchvision's SqueezeExcitation at p: x · gate(p.fc2(act(p.fc1(avgpool(x))))),
 * act ReLU or SiLU, gate Sigmoid or HardSigmoid (MobileNetV3). */
int
tvb_squeeze_excite (Builder *b, int x, const char *p, TvbSqueezeKind kind)
{
  char q[192];
  snprintf (q, sizeof q, "%.160s.avgpool", p);
  int s = tvb_unary (b, "GlobalAveragePool", q, x);
  snprintf (q, sizeof q, "%.160s.fc1", p);
  s = tvb_conv_bn (b, s, q, NULL, 1, 0);
  snprintf (q, sizeof q, "%.160s.activation", p);
  s = kind == TVB_SE_SILU_SIGMOID ? tvb_silu (b, q, s) : tvb_unary (b, "Relu", q, s);
  snprintf (q, sizeof q, "%.160s.fc2", p);
  s = tvb_conv_bn (b, s, q, NULL, 1, 0);
  snprintf (q, sizeof q, "%.160s.scale_activation", p);
  if (kind == TVB_SE_RELU_HARDSIGMOID)
    {
      AttrSpec hs[2] = { { "alpha", -1, { 0 }, 1.0f / 6.0f }, { "beta", -1, { 0 }, 0.5f } };
      s = tvb_node (b, "HardSigmoid", q, 1, &s, 2, hs);
    }
  else
    s = tvb_unary (b, "Sigmoid", q, s);
  snprintf (q, sizeof q, "%.160s.mul", p);
  return tvb_binary (b, "Mul", q, x, s);
}

/* Global pooling and the classifier: GlobalAveragePool → Flatten → Gemm. */
int
tvb_head (Builder *b, int x, const char *fc)
{
  x = tvb_unary (b, "GlobalAveragePool", "avgpool", x);
  AttrSpec ax = { "axis", 0, { 1 } };
  x = tvb_node (b, "Flatten", "flatten", 1, &x, 1, &ax);
  return tvb_linear (b, x, fc);
}

bool
tvb_key_exists (Builder *b, const char *fmt2, int i, int j, const char *suffix)
{
  char key[256];
  int n = snprintf (key, sizeof key, "features.%d.%d", i, j);
  if (fmt2 == NULL)
    n = snprintf (key, sizeof key, "features.%d", i);
  snprintf (key + n, sizeof key - (size_t) n, ".%s", suffix);
  return gz_state_dict_get (b->sd, key) != NULL;
}

/* GoogLeNet's and Inception v3's transform_input: ImageNet-normalised input
 * mapped to the (x − 0.5)/0.5 scale, x·σ_c/0.5 + (μ_c − 0.5)/0.5 per channel,
 * as one Mul and one Add. */
int
tvb_transform_input (Builder *b, int x)
{
  static const double mean[3] = { 0.485, 0.456, 0.406 }, std[3] = { 0.229, 0.224, 0.225 };
  int64_t dims[4] = { 1, 3, 1, 1 };
  GzTensor *scale = gz_tensor_new (GZ_DTYPE_FLOAT, 4, dims, b->err);
  GzTensor *shift = gz_tensor_new (GZ_DTYPE_FLOAT, 4, dims, b->err);
  if (scale == NULL || shift == NULL)
    {
      gz_tensor_free (scale);
      gz_tensor_free (shift);
      b->status = GZ_ERR_NOMEM;
      return -1;
    }
  for (int c = 0; c < 3; c++)
    {
      gz_tensor_f (scale)[c] = (float) (std[c] / 0.5);
      gz_tensor_f (shift)[c] = (float) ((mean[c] - 0.5) / 0.5);
    }
  int s = tvb_value (b, "transform_input.scale", scale);
  int t = tvb_value (b, "transform_input.shift", shift);
  x = tvb_binary (b, "Mul", "transform_input.mul", x, s);
  return tvb_binary (b, "Add", "transform_input", x, t);
}
