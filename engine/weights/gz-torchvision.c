/* gz-torchvision.c — torchvision architectures rebuilt from their state dicts
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The graph is the one torch.onnx.export gives in eval mode: each
 * BatchNorm folded into the convolution before it (w·γ/√(var+ε), β − mean·γ/√(var+ε)),
 * then Relu, MaxPool, Add, GlobalAveragePool, Flatten and Gemm.
 * Recognised so far: the ResNet family (resnet18/34/50/101/152, resnext,
 * wide_resnet), with any number of classes and input channels.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gz-limits.h"
#include "gz-op.h"
#include "gz-weights.h"

#define BN_EPS 1e-5

typedef struct
{
  GzGraph *g;
  int cap_values, cap_nodes;
  const GzStateDict *sd;
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

/* Conv (no bias) + BatchNorm folded; returns the output value. */
static int
conv_bn_groups (Builder *b, int x, const char *conv, const char *bn, int stride, int pad,
                int64_t groups)
{
  const GzTensor *w = weight (b, conv, "weight", 4);
  const GzTensor *gamma = weight (b, bn, "weight", 1);
  const GzTensor *beta = weight (b, bn, "bias", 1);
  const GzTensor *mean = weight (b, bn, "running_mean", 1);
  const GzTensor *var = weight (b, bn, "running_var", 1);
  if (b->status != GZ_OK)
    return -1;
  int64_t oc = w->dims[0];
  if (gamma->dims[0] != oc || beta->dims[0] != oc || mean->dims[0] != oc || var->dims[0] != oc)
    {
      b->status = gz_error_set (b->err, GZ_ERR_SHAPE, "BatchNorm '%s' does not match conv '%s'", bn,
                                conv);
      return -1;
    }
  GzTensor *wf = gz_tensor_copy (w, b->err);
  GzTensor *bf = gz_tensor_new (GZ_DTYPE_FLOAT, 1, &oc, b->err);
  if (wf == NULL || bf == NULL)
    {
      gz_tensor_free (wf);
      gz_tensor_free (bf);
      b->status = GZ_ERR_NOMEM;
      return -1;
    }
  int64_t per = gz_tensor_numel (w) / (oc > 0 ? oc : 1);
  float *W = gz_tensor_f (wf), *B = gz_tensor_f (bf);
  for (int64_t o = 0; o < oc; o++)
    {
      double scale = gz_tensor_f (gamma)[o] / sqrt ((double) gz_tensor_f (var)[o] + BN_EPS);
      for (int64_t k = 0; k < per; k++)
        W[o * per + k] = (float) (W[o * per + k] * scale);
      B[o] = (float) (gz_tensor_f (beta)[o] - gz_tensor_f (mean)[o] * scale);
    }
  char name[256];
  snprintf (name, sizeof name, "%s.weight", conv);
  int wv = add_value (b, name, wf);
  snprintf (name, sizeof name, "%s.bias", conv);
  int bv = add_value (b, name, bf);
  int in[3] = { x, wv, bv };
  AttrSpec attrs[5] = {
    { "kernel_shape", 2, { w->dims[2], w->dims[3] } },
    { "strides", 2, { stride, stride } },
    { "pads", 4, { pad, pad, pad, pad } },
    { "dilations", 2, { 1, 1 } },
    { "group", 0, { groups } },
  };
  return add_node (b, "Conv", conv, 3, in, 5, attrs);
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
  int wv = add_value (b, name, gz_tensor_copy (w, b->err));
  snprintf (name, sizeof name, "%s.bias", prefix);
  int bv = add_value (b, name, gz_tensor_copy (bias, b->err));
  int in[3] = { x, wv, bv };
  AttrSpec t = { "transB", 0, { 1 } };
  snprintf (name, sizeof name, "%s", prefix);
  return add_node (b, "Gemm", name, 3, in, 1, &t);
}

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
  x = unary (b, "GlobalAveragePool", "avgpool", x);
  AttrSpec ax = { "axis", 0, { 1 } };
  x = add_node (b, "Flatten", "flatten", 1, &x, 1, &ax);
  x = linear (b, x, "fc");
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}

typedef struct
{
  const char *family;
  const char *const *keys; /* keys every member has */
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
    = { "features.0.0.weight", "features.1.0.block.0.0.weight", "classifier.1.weight", NULL };

static const Family families[] = {
  { "resnet", resnet_keys },
  { "densenet", densenet_keys },
  { "mobilenet_v2", mobilenet_v2_keys },
  { "vgg", vgg_keys },
  { "efficientnet", efficientnet_keys },
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

GzStatus
gz_torchvision_build (GzStateDict *sd, const char *arch, const GzLimits *limits, GzGraph **out,
                      GzError *err)
{
  *out = NULL;
  char missing[512];
  int best = -1, best_missing = 1 << 30;
  for (int i = 0; i < (int) (sizeof families / sizeof families[0]); i++)
    {
      int m = family_missing (sd, &families[i], missing, sizeof missing);
      if (arch != NULL && strncmp (arch, families[i].family, strlen (families[i].family)) == 0)
        m = -1;
      if (m < best_missing)
        {
          best = i;
          best_missing = m;
        }
    }
  if (best_missing > 0 || strcmp (families[best].family, "resnet") != 0)
    {
      family_missing (sd, &families[best], missing, sizeof missing);
      const char *first = sd->n > 0 ? sd->w[0].name : "(none)";
      if (best_missing <= 0)
        return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                             "the weights look like torchvision %s, which Gaze cannot build "
                             "from weights yet; export it to ONNX instead: "
                             "torch.onnx.export(model.eval(), torch.randn(1, 3, 224, 224), "
                             "\"model.onnx\")",
                             families[best].family);
      return gz_error_set (err, GZ_ERR_UNSUPPORTED,
                           "the weights match no torchvision architecture Gaze knows (%d tensors, "
                           "first '%s'); closest: %s, which would also need %s. Export the model "
                           "to ONNX instead: torch.onnx.export(model.eval(), torch.randn(1, 3, "
                           "224, 224), \"model.onnx\")",
                           sd->n, first, families[best].family, missing);
    }

  GzGraph *g = calloc (1, sizeof *g);
  if (g == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  g->input = -1;
  g->output = -1;
  g->opset = 17;
  Builder b = { .g = g, .sd = sd, .limits = limits, .err = err, .status = GZ_OK };
  const GzTensor *c1 = gz_state_dict_get (sd, "conv1.weight");
  int64_t channels = c1 != NULL && c1->ndim == 4 ? c1->dims[1] : 3;
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
  GzStatus s = b.status == GZ_OK ? build_resnet (&b, x, desc, sizeof desc) : b.status;
  if (s == GZ_OK)
    {
      const GzTensor *fc = gz_state_dict_get (sd, "fc.weight");
      char producer[256];
      snprintf (producer, sizeof producer,
                "torchvision %s, %lld classes, %lld-channel input (from weights)", desc,
                (long long) fc->dims[0], (long long) channels);
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
