/* gz-torchvision.c — torchvision architectures rebuilt from their state dicts
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The graph is the one torch.onnx.export gives in eval mode: each
 * BatchNorm folded into the convolution before it (w·γ/√(var+ε), β − mean·γ/√(var+ε)),
 * then Relu, MaxPool, Add, GlobalAveragePool, Flatten and Gemm.
 * Recognised: resnet18/34/50/101/152, resnext, wide_resnet, densenet121/161/
 * 169/201, mobilenet_v2, vgg11-19 (± bn), efficientnet_b0-b7, with any
 * number of classes and input channels. Strides, which a state dict does not
 * hold, come from torchvision's configurations.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gz-limits.h"
#include "gz-op.h"
#include "gz-torchvision.h"

#define BN_EPS 1e-5

typedef struct
{
  GzGraph *g;
  int cap_values, cap_nodes;
  GzStateDict *sd; /* tensors are taken from it as the graph uses them */
  const GzLimits *limits;
  GzError *err;
  GzStatus status;
} Builder;

static int
add_value (Builder *b, const char *name, GzTensor *init)
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

typedef struct
{
  const char *name;
  int n; /* 0: a plain int */
  int64_t v[4];
} AttrSpec;

static int
add_node (Builder *b, const char *op_type, const char *name, int n_in, const int *in, int n_attrs,
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
  int out = add_value (b, oname, NULL);
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

static const GzTensor *
weight (Builder *b, const char *prefix, const char *suffix, int ndim)
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
static GzTensor *
take (Builder *b, const GzTensor *t)
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
 * Returns the output value. */
static int
conv_bn_groups (Builder *b, int x, const char *conv, const char *bn, int stride, int pad,
                int64_t groups)
{
  const GzTensor *w = weight (b, conv, "weight", 4);
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
      gamma = weight (b, bn, "weight", 1);
      beta = weight (b, bn, "bias", 1);
      mean = weight (b, bn, "running_mean", 1);
      var = weight (b, bn, "running_var", 1);
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
  GzTensor *wf = take (b, w);
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
      double scale = gz_tensor_f (gamma)[o] / sqrt ((double) gz_tensor_f (var)[o] + BN_EPS);
      for (int64_t k = 0; k < per; k++)
        W[o * per + k] = (float) (W[o * per + k] * scale);
      B[o] = (float) (gz_tensor_f (beta)[o] + (b0 - gz_tensor_f (mean)[o]) * scale);
    }
  if (groups < 0)
    groups = oc;
  snprintf (name, sizeof name, "%.200s.weight", conv);
  int wv = add_value (b, name, wf);
  snprintf (name, sizeof name, "%.200s.bias", conv);
  int bv = add_value (b, name, bf);
  int in[3] = { x, wv, bv };
  AttrSpec attrs[5] = {
    { "kernel_shape", 2, { kh, kw } },
    { "strides", 2, { stride, stride } },
    { "pads", 4, { pad, pad, pad, pad } },
    { "dilations", 2, { 1, 1 } },
    { "group", 0, { groups } },
  };
  return add_node (b, "Conv", conv, 3, in, 5, attrs);
}

/* The kernel size of conv `prefix`, for "same" padding ((k-1)/2); 0 if absent. */
static int64_t
kernel_of (Builder *b, const char *prefix)
{
  char key[256];
  snprintf (key, sizeof key, "%.200s.weight", prefix);
  const GzTensor *w = gz_state_dict_get (b->sd, key);
  return w != NULL && w->ndim == 4 ? w->dims[2] : 0;
}

/* A standalone BatchNormalization node (pre-activation networks: DenseNet). */
static int
batchnorm (Builder *b, int x, const char *bn)
{
  const char *parts[4] = { "weight", "bias", "running_mean", "running_var" };
  int in[5] = { x, -1, -1, -1, -1 };
  for (int i = 0; i < 4; i++)
    {
      const GzTensor *t = weight (b, bn, parts[i], 1);
      if (t == NULL)
        return -1;
      char name[256];
      snprintf (name, sizeof name, "%.200s.%s", bn, parts[i]);
      in[i + 1] = add_value (b, name, take (b, t));
    }
  return add_node (b, "BatchNormalization", bn, 5, in, 0, NULL);
}

static int
scalar (Builder *b, const char *name, float v)
{
  int64_t one = 1;
  GzTensor *t = gz_tensor_new (GZ_DTYPE_FLOAT, 0, &one, b->err);
  if (t != NULL)
    gz_tensor_f (t)[0] = v;
  return add_value (b, name, t);
}

/* ReLU6 as torch.onnx.export writes it: Clip(x, 0, 6). */
static int
relu6 (Builder *b, const char *name, int x)
{
  char n[256];
  snprintf (n, sizeof n, "%.200s.min", name);
  int lo = scalar (b, n, 0.0f);
  snprintf (n, sizeof n, "%.200s.max", name);
  int hi = scalar (b, n, 6.0f);
  int in[3] = { x, lo, hi };
  return add_node (b, "Clip", name, 3, in, 0, NULL);
}

/* SiLU as torch.onnx.export writes it: x * Sigmoid(x). */
static int
silu (Builder *b, const char *name, int x)
{
  char n[256];
  snprintf (n, sizeof n, "%.200s.sigmoid", name);
  int s = add_node (b, "Sigmoid", n, 1, &x, 0, NULL);
  int in[2] = { x, s };
  return add_node (b, "Mul", name, 2, in, 0, NULL);
}

static int
binary (Builder *b, const char *op, const char *name, int x, int y)
{
  int in[2] = { x, y };
  return add_node (b, op, name, 2, in, 0, NULL);
}

static int
conv_bn (Builder *b, int x, const char *conv, const char *bn, int stride, int pad)
{
  return conv_bn_groups (b, x, conv, bn, stride, pad, 1);
}

static int
unary (Builder *b, const char *op, const char *name, int x)
{
  return add_node (b, op, name, 1, &x, 0, NULL);
}

static int
has (const GzStateDict *sd, int layer, int block, const char *suffix)
{
  char key[256];
  snprintf (key, sizeof key, "layer%d.%d.%s", layer, block, suffix);
  return gz_state_dict_get (sd, key) != NULL;
}

/* Linear head: Flatten → Gemm(transB). */
static int
linear (Builder *b, int x, const char *prefix)
{
  const GzTensor *w = weight (b, prefix, "weight", 2);
  const GzTensor *bias = weight (b, prefix, "bias", 1);
  if (b->status != GZ_OK)
    return -1;
  char name[256];
  snprintf (name, sizeof name, "%s.weight", prefix);
  int wv = add_value (b, name, take (b, w));
  snprintf (name, sizeof name, "%s.bias", prefix);
  int bv = add_value (b, name, take (b, bias));
  int in[3] = { x, wv, bv };
  AttrSpec t = { "transB", 0, { 1 } };
  snprintf (name, sizeof name, "%s", prefix);
  return add_node (b, "Gemm", name, 3, in, 1, &t);
}

static int head (Builder *b, int x, const char *fc);

static GzStatus
build_resnet (Builder *b, int x, char *desc, size_t desc_len)
{
  const GzStateDict *sd = b->sd;
  bool bottleneck = has (sd, 1, 0, "conv3.weight");
  int blocks[4];
  for (int l = 0; l < 4; l++)
    {
      blocks[l] = 0;
      while (blocks[l] < 1000 && has (sd, l + 1, blocks[l], "conv1.weight"))
        blocks[l]++;
      if (blocks[l] == 0)
        return gz_error_set (b->err, GZ_ERR_FORMAT, "a ResNet state dict without layer%d", l + 1);
    }
  const GzTensor *c2 = gz_state_dict_get (sd, "layer1.0.conv2.weight");
  const GzTensor *c1 = gz_state_dict_get (sd, "conv1.weight");
  if (c2 == NULL || c2->ndim != 4 || c1 == NULL || c1->ndim != 4)
    return gz_error_set (b->err, GZ_ERR_FORMAT, "a ResNet state dict without conv1/layer1");
  int64_t width = c2->dims[0];
  int64_t groups = c2->dims[1] > 0 ? width / c2->dims[1] : 1;
  if (groups < 1)
    groups = 1;
  int depth = 0;
  int d18[4] = { 2, 2, 2, 2 }, d34[4] = { 3, 4, 6, 3 }, d101[4] = { 3, 4, 23, 3 },
      d152[4] = { 3, 8, 36, 3 };
  if (memcmp (blocks, d18, sizeof blocks) == 0 && !bottleneck)
    depth = 18;
  else if (memcmp (blocks, d34, sizeof blocks) == 0)
    depth = bottleneck ? 50 : 34;
  else if (memcmp (blocks, d101, sizeof blocks) == 0 && bottleneck)
    depth = 101;
  else if (memcmp (blocks, d152, sizeof blocks) == 0 && bottleneck)
    depth = 152;
  if (groups > 1)
    snprintf (desc, desc_len, "resnext%d_%lldx%lldd", depth, (long long) groups,
              (long long) (width / groups));
  else if (bottleneck && width == 128)
    snprintf (desc, desc_len, "wide_resnet%d_2", depth);
  else if (depth > 0)
    snprintf (desc, desc_len, "resnet%d", depth);
  else
    snprintf (desc, desc_len, "resnet (blocks %d-%d-%d-%d%s)", blocks[0], blocks[1], blocks[2],
              blocks[3], bottleneck ? ", bottleneck" : "");

  x = conv_bn (b, x, "conv1", "bn1", 2, 3);
  x = unary (b, "Relu", "relu", x);
  AttrSpec mp[3] = { { "kernel_shape", 2, { 3, 3 } },
                     { "strides", 2, { 2, 2 } },
                     { "pads", 4, { 1, 1, 1, 1 } } };
  x = add_node (b, "MaxPool", "maxpool", 1, &x, 3, mp);
  char p[32], q[64], r[64], n[64];
  for (int l = 0; l < 4; l++)
    for (int k = 0; k < blocks[l]; k++)
      {
        int stride = l > 0 && k == 0 ? 2 : 1;
        int identity = x;
        snprintf (p, sizeof p, "layer%d.%d", l + 1, k);
        int y;
        if (bottleneck)
          {
            snprintf (q, sizeof q, "%s.conv1", p);
            snprintf (r, sizeof r, "%s.bn1", p);
            y = conv_bn (b, x, q, r, 1, 0);
            snprintf (n, sizeof n, "%s.relu1", p);
            y = unary (b, "Relu", n, y);
            snprintf (q, sizeof q, "%s.conv2", p);
            snprintf (r, sizeof r, "%s.bn2", p);
            y = conv_bn_groups (b, y, q, r, stride, 1, groups);
            snprintf (n, sizeof n, "%s.relu2", p);
            y = unary (b, "Relu", n, y);
            snprintf (q, sizeof q, "%s.conv3", p);
            snprintf (r, sizeof r, "%s.bn3", p);
            y = conv_bn (b, y, q, r, 1, 0);
          }
        else
          {
            snprintf (q, sizeof q, "%s.conv1", p);
            snprintf (r, sizeof r, "%s.bn1", p);
            y = conv_bn (b, x, q, r, stride, 1);
            snprintf (n, sizeof n, "%s.relu1", p);
            y = unary (b, "Relu", n, y);
            snprintf (q, sizeof q, "%s.conv2", p);
            snprintf (r, sizeof r, "%s.bn2", p);
            y = conv_bn (b, y, q, r, 1, 1);
          }
        if (has (sd, l + 1, k, "downsample.0.weight"))
          {
            snprintf (q, sizeof q, "%s.downsample.0", p);
            snprintf (r, sizeof r, "%s.downsample.1", p);
            identity = conv_bn (b, x, q, r, stride, 0);
          }
        int in[2] = { y, identity };
        snprintf (n, sizeof n, "%s.add", p);
        y = add_node (b, "Add", n, 2, in, 0, NULL);
        snprintf (n, sizeof n, "%s.relu", p);
        x = unary (b, "Relu", n, y);
      }
  x = head (b, x, "fc");
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}

/* Global pooling and the classifier: GlobalAveragePool → Flatten → Gemm. */
static int
head (Builder *b, int x, const char *fc)
{
  x = unary (b, "GlobalAveragePool", "avgpool", x);
  AttrSpec ax = { "axis", 0, { 1 } };
  x = add_node (b, "Flatten", "flatten", 1, &x, 1, &ax);
  return linear (b, x, fc);
}

static bool
key_exists (Builder *b, const char *fmt2, int i, int j, const char *suffix)
{
  char key[256];
  int n = snprintf (key, sizeof key, "features.%d.%d", i, j);
  if (fmt2 == NULL)
    n = snprintf (key, sizeof key, "features.%d", i);
  snprintf (key + n, sizeof key - (size_t) n, ".%s", suffix);
  return gz_state_dict_get (b->sd, key) != NULL;
}

/* MobileNetV2: features.0 ConvBNReLU6, 17 inverted residuals, features.18,
 * classifier.1. Strides come from torchvision's configuration. */
static GzStatus
build_mobilenet_v2 (Builder *b, int x, char *desc, size_t desc_len)
{
  snprintf (desc, desc_len, "mobilenet_v2");
  static const int stride2[] = { 2, 4, 7, 14 };
  x = conv_bn (b, x, "features.0.0", "features.0.1", 2, 1);
  x = relu6 (b, "features.0.2", x);
  int i = 1;
  char p[64], q[96], r[96];
  for (; key_exists (b, NULL, i, 0, "conv.0.0.weight"); i++)
    {
      int stride = 1;
      for (int k = 0; k < 4; k++)
        if (stride2[k] == i)
          stride = 2;
      snprintf (p, sizeof p, "features.%d.conv", i);
      int y = x;
      bool expand = key_exists (b, NULL, i, 0, "conv.3.running_mean");
      int dw = 0;
      if (expand)
        {
          snprintf (q, sizeof q, "%s.0.0", p);
          snprintf (r, sizeof r, "%s.0.1", p);
          y = conv_bn (b, y, q, r, 1, 0);
          snprintf (q, sizeof q, "%s.0.2", p);
          y = relu6 (b, q, y);
          dw = 1;
        }
      snprintf (q, sizeof q, "%s.%d.0", p, dw);
      snprintf (r, sizeof r, "%s.%d.1", p, dw);
      y = conv_bn_groups (b, y, q, r, stride, (int) (kernel_of (b, q) - 1) / 2, -1);
      snprintf (q, sizeof q, "%s.%d.2", p, dw);
      y = relu6 (b, q, y);
      snprintf (q, sizeof q, "%s.%d", p, dw + 1);
      snprintf (r, sizeof r, "%s.%d", p, dw + 2);
      y = conv_bn (b, y, q, r, 1, 0);
      /* Residual when the block keeps shape: stride 1 and in == out channels. */
      snprintf (q, sizeof q, "%s.%d.weight", p, dw + 1);
      const GzTensor *pw = gz_state_dict_get (b->sd, q);
      snprintf (q, sizeof q, "%s.0.0.weight", p);
      const GzTensor *first = gz_state_dict_get (b->sd, q);
      if (stride == 1 && pw != NULL && first != NULL
          && pw->dims[0] == (expand ? first->dims[1] : first->dims[0]))
        {
          snprintf (q, sizeof q, "features.%d.add", i);
          y = binary (b, "Add", q, x, y);
        }
      x = y;
    }
  snprintf (q, sizeof q, "features.%d.0", i);
  snprintf (r, sizeof r, "features.%d.1", i);
  x = conv_bn (b, x, q, r, 1, 0);
  snprintf (q, sizeof q, "features.%d.2", i);
  x = relu6 (b, q, x);
  x = head (b, x, "classifier.1");
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}

/* DenseNet: pre-activation dense layers (BatchNormalization nodes, conv1's
 * following norm2 folded), concatenation, transitions with AveragePool. */
static GzStatus
build_densenet (Builder *b, int x, char *desc, size_t desc_len)
{
  x = conv_bn (b, x, "features.conv0", "features.norm0", 2, 3);
  x = unary (b, "Relu", "features.relu0", x);
  AttrSpec mp[3] = { { "kernel_shape", 2, { 3, 3 } },
                     { "strides", 2, { 2, 2 } },
                     { "pads", 4, { 1, 1, 1, 1 } } };
  x = add_node (b, "MaxPool", "features.pool0", 1, &x, 3, mp);
  int layers[8] = { 0 }, nblocks = 0;
  char p[96], q[128], r[128];
  for (int blk = 1; blk <= 8; blk++)
    {
      snprintf (q, sizeof q, "features.denseblock%d.denselayer1.conv1.weight", blk);
      if (gz_state_dict_get (b->sd, q) == NULL)
        break;
      nblocks = blk;
      for (int l = 1;; l++)
        {
          snprintf (p, sizeof p, "features.denseblock%d.denselayer%d", blk, l);
          snprintf (q, sizeof q, "%s.conv1.weight", p);
          if (gz_state_dict_get (b->sd, q) == NULL)
            break;
          layers[blk - 1] = l;
          snprintf (q, sizeof q, "%s.norm1", p);
          int y = batchnorm (b, x, q);
          snprintf (q, sizeof q, "%s.relu1", p);
          y = unary (b, "Relu", q, y);
          snprintf (q, sizeof q, "%s.conv1", p);
          snprintf (r, sizeof r, "%s.norm2", p);
          y = conv_bn (b, y, q, r, 1, 0);
          snprintf (q, sizeof q, "%s.relu2", p);
          y = unary (b, "Relu", q, y);
          snprintf (q, sizeof q, "%s.conv2", p);
          y = conv_bn (b, y, q, NULL, 1, 1);
          snprintf (q, sizeof q, "%s.concat", p);
          int in[2] = { x, y };
          AttrSpec ax = { "axis", 0, { 1 } };
          x = add_node (b, "Concat", q, 2, in, 1, &ax);
        }
      snprintf (p, sizeof p, "features.transition%d", blk);
      snprintf (q, sizeof q, "%s.conv.weight", p);
      if (gz_state_dict_get (b->sd, q) == NULL)
        continue;
      snprintf (q, sizeof q, "%s.norm", p);
      x = batchnorm (b, x, q);
      snprintf (q, sizeof q, "%s.relu", p);
      x = unary (b, "Relu", q, x);
      snprintf (q, sizeof q, "%s.conv", p);
      x = conv_bn (b, x, q, NULL, 1, 0);
      snprintf (q, sizeof q, "%s.pool", p);
      AttrSpec ap[2] = { { "kernel_shape", 2, { 2, 2 } }, { "strides", 2, { 2, 2 } } };
      x = add_node (b, "AveragePool", q, 1, &x, 2, ap);
    }
  x = batchnorm (b, x, "features.norm5");
  x = unary (b, "Relu", "features.relu5", x);
  x = head (b, x, "classifier");
  const GzTensor *c0 = gz_state_dict_get (b->sd, "features.conv0.weight");
  int growth = 0;
  snprintf (q, sizeof q, "features.denseblock1.denselayer1.conv2.weight");
  const GzTensor *g2 = gz_state_dict_get (b->sd, q);
  if (g2 != NULL)
    growth = (int) g2->dims[0];
  const struct
  {
    const char *name;
    int c0, growth, l[4];
  } known[] = { { "densenet121", 64, 32, { 6, 12, 24, 16 } },
                { "densenet161", 96, 48, { 6, 12, 36, 24 } },
                { "densenet169", 64, 32, { 6, 12, 32, 32 } },
                { "densenet201", 64, 32, { 6, 12, 48, 32 } } };
  snprintf (desc, desc_len, "densenet (%d blocks)", nblocks);
  for (int k = 0; k < 4; k++)
    if (nblocks == 4 && c0 != NULL && c0->dims[0] == known[k].c0 && growth == known[k].growth
        && memcmp (layers, known[k].l, sizeof known[k].l) == 0)
      snprintf (desc, desc_len, "%s", known[k].name);
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}

/* VGG: features.N convolutions (+ BatchNorm at N+1 for the _bn variants),
 * ReLU, a MaxPool wherever the index skips one; the adaptive 7×7 pool is the
 * identity at 224×224; classifier.0/3/6 with ReLU between. */
static GzStatus
build_vgg (Builder *b, int x, char *desc, size_t desc_len)
{
  bool bn = gz_state_dict_get (b->sd, "features.1.running_mean") != NULL;
  int per = bn ? 3 : 2, convs = 0;
  char q[64], r[64];
  int i = 0;
  while (i < 200)
    {
      snprintf (q, sizeof q, "features.%d.weight", i);
      if (gz_state_dict_get (b->sd, q) == NULL)
        break;
      snprintf (q, sizeof q, "features.%d", i);
      snprintf (r, sizeof r, "features.%d", i + 1);
      x = conv_bn (b, x, q, bn ? r : NULL, 1, 1);
      snprintf (q, sizeof q, "features.%d", i + per - 1);
      x = unary (b, "Relu", q, x);
      convs++;
      int next = i + per;
      snprintf (q, sizeof q, "features.%d.weight", next);
      if (gz_state_dict_get (b->sd, q) == NULL)
        {
          snprintf (q, sizeof q, "features.%d.weight", next + 1);
          snprintf (r, sizeof r, "features.%d", next);
          AttrSpec mp[2] = { { "kernel_shape", 2, { 2, 2 } }, { "strides", 2, { 2, 2 } } };
          x = add_node (b, "MaxPool", r, 1, &x, 2, mp);
          next++;
        }
      i = next;
    }
  snprintf (desc, desc_len, "vgg%d%s", convs + 3, bn ? "_bn" : "");
  AttrSpec ax = { "axis", 0, { 1 } };
  x = add_node (b, "Flatten", "flatten", 1, &x, 1, &ax);
  x = linear (b, x, "classifier.0");
  x = unary (b, "Relu", "classifier.1", x);
  x = linear (b, x, "classifier.3");
  x = unary (b, "Relu", "classifier.4", x);
  x = linear (b, x, "classifier.6");
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}

/* EfficientNet (B0-B7): stages features.1-7 of MBConv blocks (expand 1×1,
 * depthwise k×k, squeeze-excitation, project 1×1; SiLU), features.8, then
 * classifier.1. The first block of stages 2, 3, 4 and 6 has stride 2. */
static GzStatus
build_efficientnet (Builder *b, int x, char *desc, size_t desc_len)
{
  x = conv_bn (b, x, "features.0.0", "features.0.1", 2, 1);
  x = silu (b, "features.0.2", x);
  static const int stage_stride[8] = { 0, 1, 2, 2, 2, 1, 2, 1 };
  char p[64], q[96], r[96];
  int blocks = 0;
  for (int st = 1; st <= 7; st++)
    for (int j = 0; key_exists (b, "", st, j, "block.0.0.weight"); j++)
      {
        blocks++;
        int stride = j == 0 ? stage_stride[st] : 1;
        snprintf (p, sizeof p, "features.%d.%d.block", st, j);
        int y = x, k = 0;
        snprintf (q, sizeof q, "%s.1.fc1.weight", p);
        bool expand = gz_state_dict_get (b->sd, q) == NULL; /* SE sits at block.2 */
        if (expand)
          {
            snprintf (q, sizeof q, "%s.0.0", p);
            snprintf (r, sizeof r, "%s.0.1", p);
            y = conv_bn (b, y, q, r, 1, 0);
            snprintf (q, sizeof q, "%s.0.2", p);
            y = silu (b, q, y);
            k = 1;
          }
        snprintf (q, sizeof q, "%s.%d.0", p, k);
        snprintf (r, sizeof r, "%s.%d.1", p, k);
        y = conv_bn_groups (b, y, q, r, stride, (int) (kernel_of (b, q) - 1) / 2, -1);
        snprintf (q, sizeof q, "%s.%d.2", p, k);
        y = silu (b, q, y);
        /* Squeeze-excitation: scale = Sigmoid(fc2(SiLU(fc1(avgpool(y))))). */
        snprintf (q, sizeof q, "%s.%d.avgpool", p, k + 1);
        int se = unary (b, "GlobalAveragePool", q, y);
        snprintf (q, sizeof q, "%s.%d.fc1", p, k + 1);
        se = conv_bn (b, se, q, NULL, 1, 0);
        snprintf (q, sizeof q, "%s.%d.activation", p, k + 1);
        se = silu (b, q, se);
        snprintf (q, sizeof q, "%s.%d.fc2", p, k + 1);
        se = conv_bn (b, se, q, NULL, 1, 0);
        snprintf (q, sizeof q, "%s.%d.scale_activation", p, k + 1);
        se = unary (b, "Sigmoid", q, se);
        snprintf (q, sizeof q, "%s.%d.mul", p, k + 1);
        y = binary (b, "Mul", q, y, se);
        snprintf (q, sizeof q, "%s.%d.0", p, k + 2);
        snprintf (r, sizeof r, "%s.%d.1", p, k + 2);
        y = conv_bn (b, y, q, r, 1, 0);
        if (stride == 1 && b->status == GZ_OK)
          {
            snprintf (q, sizeof q, "%s.%d.0.weight", p, k + 2);
            const GzTensor *pw = gz_state_dict_get (b->sd, q);
            snprintf (q, sizeof q, "%s.0.0.weight", p);
            const GzTensor *first = gz_state_dict_get (b->sd, q);
            if (pw != NULL && first != NULL
                && pw->dims[0] == (expand ? first->dims[1] : first->dims[0]))
              {
                snprintf (q, sizeof q, "features.%d.%d.add", st, j);
                y = binary (b, "Add", q, x, y);
              }
          }
        x = y;
      }
  x = conv_bn (b, x, "features.8.0", "features.8.1", 1, 0);
  x = silu (b, "features.8.2", x);
  x = head (b, x, "classifier.1");
  const GzTensor *c0 = gz_state_dict_get (b->sd, "features.0.0.weight");
  static const struct
  {
    int stem, blocks;
  } sizes[8] = { { 32, 16 }, { 32, 23 }, { 32, 23 }, { 40, 26 },
                 { 48, 32 }, { 48, 39 }, { 56, 45 }, { 64, 55 } };
  snprintf (desc, desc_len, "efficientnet (%d blocks)", blocks);
  for (int v = 0; v < 8; v++)
    if (c0 != NULL && c0->dims[0] == sizes[v].stem && blocks == sizes[v].blocks)
      snprintf (desc, desc_len, "efficientnet_b%d", v);
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}

typedef GzStatus (*BuildFn) (Builder *b, int x, char *desc, size_t desc_len);

typedef struct
{
  const char *family;
  const char *const *keys; /* keys every member has */
  BuildFn build;
  const char *first_conv, *classifier;
} Family;

static const char *const resnet_keys[]
    = { "conv1.weight",          "bn1.running_mean", "layer1.0.conv1.weight",
        "layer4.0.conv1.weight", "fc.weight",        NULL };
static const char *const densenet_keys[]
    = { "features.conv0.weight", "features.denseblock1.denselayer1.conv1.weight",
        "features.norm5.weight", "classifier.weight", NULL };
static const char *const mobilenet_v2_keys[]
    = { "features.0.0.weight", "features.1.conv.0.0.weight", "features.18.0.weight",
        "classifier.1.weight", NULL };
static const char *const vgg_keys[] = { "features.0.weight", "classifier.0.weight",
                                        "classifier.3.weight", "classifier.6.weight", NULL };
static const char *const efficientnet_keys[]
    = { "features.0.0.weight", "features.1.0.block.0.0.weight", "features.8.0.weight",
        "classifier.1.weight", NULL };

static const Family families[] = {
  { "resnet", resnet_keys, build_resnet, "conv1.weight", "fc.weight" },
  { "densenet", densenet_keys, build_densenet, "features.conv0.weight", "classifier.weight" },
  { "mobilenet_v2", mobilenet_v2_keys, build_mobilenet_v2, "features.0.0.weight",
    "classifier.1.weight" },
  { "vgg", vgg_keys, build_vgg, "features.0.weight", "classifier.6.weight" },
  { "efficientnet", efficientnet_keys, build_efficientnet, "features.0.0.weight",
    "classifier.1.weight" },
};

static int
family_missing (const GzStateDict *sd, const Family *f, char *missing, size_t len)
{
  int n = 0;
  missing[0] = '\0';
  for (int i = 0; f->keys[i] != NULL; i++)
    if (gz_state_dict_get (sd, f->keys[i]) == NULL)
      {
        size_t used = strlen (missing);
        if (used + strlen (f->keys[i]) + 3 < len)
          snprintf (missing + used, len - used, "%s%s", n ? ", " : "", f->keys[i]);
        n++;
      }
  return n;
}

/* The sidecar's "architecture" names a member ("resnet50", "densenet121",
 * "vgg16_bn", "resnext50_32x4d", "wide_resnet50_2", ...): its family. */
static int
family_of (const char *arch)
{
  if (strncmp (arch, "resnext", 7) == 0 || strncmp (arch, "wide_resnet", 11) == 0)
    return 0;
  for (int i = 0; i < (int) (sizeof families / sizeof families[0]); i++)
    if (strncmp (arch, families[i].family, strlen (families[i].family)) == 0)
      return i;
  return -1;
}

GzStatus
gz_torchvision_build (GzStateDict *sd, const char *arch, const GzLimits *limits, GzGraph **out,
                      GzError *err)
{
  *out = NULL;
  char missing[512];
  int best = -1, best_missing = 1 << 30;
  int forced = arch != NULL ? family_of (arch) : -1;
  if (arch != NULL && forced < 0)
    return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                         "unknown architecture '%s': Gaze builds resnet*, resnext*, "
                         "wide_resnet*, densenet*, mobilenet_v2, vgg* and efficientnet_b*",
                         arch);
  for (int i = 0; i < (int) (sizeof families / sizeof families[0]); i++)
    {
      int m = family_missing (sd, &families[i], missing, sizeof missing);
      if ((forced < 0 || forced == i) && m < best_missing)
        {
          best = i;
          best_missing = m;
        }
    }
  const char *export_hint = "export the model to ONNX instead: torch.onnx.export(model.eval(), "
                            "torch.randn(1, 3, 224, 224), \"model.onnx\")";
  if (best_missing > 0)
    {
      family_missing (sd, &families[best], missing, sizeof missing);
      const char *first = sd->n > 0 ? sd->w[0].name : "(none)";
      return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                           "the weights match no torchvision architecture Gaze knows (%d tensors, "
                           "first '%s'); closest: %s, which would also need %s; %s",
                           sd->n, first, families[best].family, missing, export_hint);
    }
  const Family *fam = &families[best];

  GzGraph *g = calloc (1, sizeof *g);
  if (g == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  g->input = -1;
  g->output = -1;
  g->opset = 17;
  Builder b = { .g = g, .sd = sd, .limits = limits, .err = err, .status = GZ_OK };
  const GzTensor *c1 = gz_state_dict_get (sd, fam->first_conv);
  const GzTensor *fc = gz_state_dict_get (sd, fam->classifier);
  int64_t channels = c1->ndim == 4 ? c1->dims[1] : 3;
  int x = add_value (&b, "input", NULL);
  if (x >= 0)
    {
      g->input = x;
      GzValue *v = &g->values[x];
      v->has_shape = true;
      v->ndim = 4;
      v->dims[0] = -1;
      v->dims[1] = channels;
      v->dims[2] = 224;
      v->dims[3] = 224;
    }
  char desc[128] = "";
  GzStatus s = b.status == GZ_OK ? fam->build (&b, x, desc, sizeof desc) : b.status;
  if (s != GZ_OK && s != GZ_ERR_NOMEM && s != GZ_ERR_LIMIT && err != NULL)
    {
      /* Say what was attempted, and the way out. */
      char msg[sizeof err->message];
      snprintf (msg, sizeof msg, "%s", err->message);
      s = gz_error_set (err, s, "the weights look like torchvision %s but do not fit it: %s; %s",
                        desc[0] ? desc : fam->family, msg, export_hint);
    }
  if (s == GZ_OK)
    {
      char producer[256];
      snprintf (producer, sizeof producer,
                "torchvision %s, %lld classes, %lld-channel input (from weights)", desc,
                (long long) (fc->ndim == 2 ? fc->dims[0] : 0), (long long) channels);
      g->producer = strdup (producer);
      if (g->producer == NULL)
        s = gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  if (s != GZ_OK)
    {
      gz_graph_free (g);
      return s;
    }
  *out = g;
  return GZ_OK;
}
