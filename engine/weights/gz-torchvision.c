/* gz-torchvision.c — torchvision architectures rebuilt from their state dicts
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The graph is the one torch.onnx.export gives in eval mode: each
 * BatchNorm folded into the convolution before it (w·γ/√(var+ε), β − mean·γ/√(var+ε)),
 * then Relu, MaxPool, Add, GlobalAveragePool, Flatten and Gemm.
 * Recognised: resnet18/34/50/101/152, resnext, wide_resnet, densenet121/161/
 * 169/201, mobilenet_v2, vgg11-19 (± bn), and in their own files
 * (gz-tv-*.c) efficientnet_b0-b7 and v2_s/m/l, squeezenet1_0/1_1, alexnet,
 * mobilenet_v3_small/large, mnasnet0_5/0_75/1_0/1_3,
 * shufflenet_v2_x0_5/x1_0/x1_5/x2_0, regnet_x_* and regnet_y_*,
 * convnext_tiny/small/base/large, googlenet and inception_v3; with any
 * number of classes and input channels. Strides, which a state dict does
 * not hold, come from torchvision's configurations.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gz-limits.h"
#include "gz-op.h"
#include "gz-torchvision.h"
#include "gz-tv-builder.h"

static GzStatus
build_resnet (Builder *b, int x, char *desc, size_t desc_len)
{
  const GzStateDict *sd = b->sd;
  bool bottleneck = tvb_has_layer (sd, 1, 0, "conv3.weight");
  int blocks[4];
  for (int l = 0; l < 4; l++)
    {
      blocks[l] = 0;
      while (blocks[l] < 1000 && tvb_has_layer (sd, l + 1, blocks[l], "conv1.weight"))
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

  x = tvb_conv_bn (b, x, "conv1", "bn1", 2, 3);
  x = tvb_unary (b, "Relu", "relu", x);
  AttrSpec mp[3] = { { "kernel_shape", 2, { 3, 3 } },
                     { "strides", 2, { 2, 2 } },
                     { "pads", 4, { 1, 1, 1, 1 } } };
  x = tvb_node (b, "MaxPool", "maxpool", 1, &x, 3, mp);
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
            y = tvb_conv_bn (b, x, q, r, 1, 0);
            snprintf (n, sizeof n, "%s.relu1", p);
            y = tvb_unary (b, "Relu", n, y);
            snprintf (q, sizeof q, "%s.conv2", p);
            snprintf (r, sizeof r, "%s.bn2", p);
            y = tvb_conv_bn_groups (b, y, q, r, stride, 1, groups);
            snprintf (n, sizeof n, "%s.relu2", p);
            y = tvb_unary (b, "Relu", n, y);
            snprintf (q, sizeof q, "%s.conv3", p);
            snprintf (r, sizeof r, "%s.bn3", p);
            y = tvb_conv_bn (b, y, q, r, 1, 0);
          }
        else
          {
            snprintf (q, sizeof q, "%s.conv1", p);
            snprintf (r, sizeof r, "%s.bn1", p);
            y = tvb_conv_bn (b, x, q, r, stride, 1);
            snprintf (n, sizeof n, "%s.relu1", p);
            y = tvb_unary (b, "Relu", n, y);
            snprintf (q, sizeof q, "%s.conv2", p);
            snprintf (r, sizeof r, "%s.bn2", p);
            y = tvb_conv_bn (b, y, q, r, 1, 1);
          }
        if (tvb_has_layer (sd, l + 1, k, "downsample.0.weight"))
          {
            snprintf (q, sizeof q, "%s.downsample.0", p);
            snprintf (r, sizeof r, "%s.downsample.1", p);
            identity = tvb_conv_bn (b, x, q, r, stride, 0);
          }
        int in[2] = { y, identity };
        snprintf (n, sizeof n, "%s.add", p);
        y = tvb_node (b, "Add", n, 2, in, 0, NULL);
        snprintf (n, sizeof n, "%s.relu", p);
        x = tvb_unary (b, "Relu", n, y);
      }
  x = tvb_head (b, x, "fc");
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}

/* MobileNetV2: features.0 ConvBNReLU6, 17 inverted residuals, features.18,
 * classifier.1. Strides come from torchvision's configuration. */
static GzStatus
build_mobilenet_v2 (Builder *b, int x, char *desc, size_t desc_len)
{
  snprintf (desc, desc_len, "mobilenet_v2");
  static const int stride2[] = { 2, 4, 7, 14 };
  x = tvb_conv_bn (b, x, "features.0.0", "features.0.1", 2, 1);
  x = tvb_relu6 (b, "features.0.2", x);
  int i = 1;
  char p[64], q[96], r[96];
  for (; tvb_key_exists (b, NULL, i, 0, "conv.0.0.weight"); i++)
    {
      int stride = 1;
      for (int k = 0; k < 4; k++)
        if (stride2[k] == i)
          stride = 2;
      snprintf (p, sizeof p, "features.%d.conv", i);
      int y = x;
      bool expand = tvb_key_exists (b, NULL, i, 0, "conv.3.running_mean");
      int dw = 0;
      if (expand)
        {
          snprintf (q, sizeof q, "%s.0.0", p);
          snprintf (r, sizeof r, "%s.0.1", p);
          y = tvb_conv_bn (b, y, q, r, 1, 0);
          snprintf (q, sizeof q, "%s.0.2", p);
          y = tvb_relu6 (b, q, y);
          dw = 1;
        }
      snprintf (q, sizeof q, "%s.%d.0", p, dw);
      snprintf (r, sizeof r, "%s.%d.1", p, dw);
      y = tvb_conv_bn_groups (b, y, q, r, stride, (int) (tvb_kernel_of (b, q) - 1) / 2, -1);
      snprintf (q, sizeof q, "%s.%d.2", p, dw);
      y = tvb_relu6 (b, q, y);
      snprintf (q, sizeof q, "%s.%d", p, dw + 1);
      snprintf (r, sizeof r, "%s.%d", p, dw + 2);
      y = tvb_conv_bn (b, y, q, r, 1, 0);
      /* Residual when the block keeps shape: stride 1 and in == out channels. */
      snprintf (q, sizeof q, "%s.%d.weight", p, dw + 1);
      const GzTensor *pw = gz_state_dict_get (b->sd, q);
      snprintf (q, sizeof q, "%s.0.0.weight", p);
      const GzTensor *first = gz_state_dict_get (b->sd, q);
      if (stride == 1 && pw != NULL && first != NULL
          && pw->dims[0] == (expand ? first->dims[1] : first->dims[0]))
        {
          snprintf (q, sizeof q, "features.%d.add", i);
          y = tvb_binary (b, "Add", q, x, y);
        }
      x = y;
    }
  snprintf (q, sizeof q, "features.%d.0", i);
  snprintf (r, sizeof r, "features.%d.1", i);
  x = tvb_conv_bn (b, x, q, r, 1, 0);
  snprintf (q, sizeof q, "features.%d.2", i);
  x = tvb_relu6 (b, q, x);
  x = tvb_head (b, x, "classifier.1");
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}

/* DenseNet: pre-activation dense layers (BatchNormalization nodes, conv1's
 * following norm2 folded), concatenation, transitions with AveragePool. */
static GzStatus
build_densenet (Builder *b, int x, char *desc, size_t desc_len)
{
  x = tvb_conv_bn (b, x, "features.conv0", "features.norm0", 2, 3);
  x = tvb_unary (b, "Relu", "features.relu0", x);
  AttrSpec mp[3] = { { "kernel_shape", 2, { 3, 3 } },
                     { "strides", 2, { 2, 2 } },
                     { "pads", 4, { 1, 1, 1, 1 } } };
  x = tvb_node (b, "MaxPool", "features.pool0", 1, &x, 3, mp);
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
          int y = tvb_batchnorm (b, x, q);
          snprintf (q, sizeof q, "%s.relu1", p);
          y = tvb_unary (b, "Relu", q, y);
          snprintf (q, sizeof q, "%s.conv1", p);
          snprintf (r, sizeof r, "%s.norm2", p);
          y = tvb_conv_bn (b, y, q, r, 1, 0);
          snprintf (q, sizeof q, "%s.relu2", p);
          y = tvb_unary (b, "Relu", q, y);
          snprintf (q, sizeof q, "%s.conv2", p);
          y = tvb_conv_bn (b, y, q, NULL, 1, 1);
          snprintf (q, sizeof q, "%s.concat", p);
          int in[2] = { x, y };
          AttrSpec ax = { "axis", 0, { 1 } };
          x = tvb_node (b, "Concat", q, 2, in, 1, &ax);
        }
      snprintf (p, sizeof p, "features.transition%d", blk);
      snprintf (q, sizeof q, "%s.conv.weight", p);
      if (gz_state_dict_get (b->sd, q) == NULL)
        continue;
      snprintf (q, sizeof q, "%s.norm", p);
      x = tvb_batchnorm (b, x, q);
      snprintf (q, sizeof q, "%s.relu", p);
      x = tvb_unary (b, "Relu", q, x);
      snprintf (q, sizeof q, "%s.conv", p);
      x = tvb_conv_bn (b, x, q, NULL, 1, 0);
      snprintf (q, sizeof q, "%s.pool", p);
      AttrSpec ap[2] = { { "kernel_shape", 2, { 2, 2 } }, { "strides", 2, { 2, 2 } } };
      x = tvb_node (b, "AveragePool", q, 1, &x, 2, ap);
    }
  x = tvb_batchnorm (b, x, "features.norm5");
  x = tvb_unary (b, "Relu", "features.relu5", x);
  x = tvb_head (b, x, "classifier");
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
      x = tvb_conv_bn (b, x, q, bn ? r : NULL, 1, 1);
      snprintf (q, sizeof q, "features.%d", i + per - 1);
      x = tvb_unary (b, "Relu", q, x);
      convs++;
      int next = i + per;
      snprintf (q, sizeof q, "features.%d.weight", next);
      if (gz_state_dict_get (b->sd, q) == NULL)
        {
          snprintf (q, sizeof q, "features.%d.weight", next + 1);
          snprintf (r, sizeof r, "features.%d", next);
          AttrSpec mp[2] = { { "kernel_shape", 2, { 2, 2 } }, { "strides", 2, { 2, 2 } } };
          x = tvb_node (b, "MaxPool", r, 1, &x, 2, mp);
          next++;
        }
      i = next;
    }
  snprintf (desc, desc_len, "vgg%d%s", convs + 3, bn ? "_bn" : "");
  AttrSpec ax = { "axis", 0, { 1 } };
  x = tvb_node (b, "Flatten", "flatten", 1, &x, 1, &ax);
  x = tvb_linear (b, x, "classifier.0");
  x = tvb_unary (b, "Relu", "classifier.1", x);
  x = tvb_linear (b, x, "classifier.3");
  x = tvb_unary (b, "Relu", "classifier.4", x);
  x = tvb_linear (b, x, "classifier.6");
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}

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
    = { "features.0.0.weight", "features.1.0.block.0.0.weight", "classifier.1.weight", NULL };

static const char *const squeezenet_keys[]
    = { "features.0.weight", "features.3.squeeze.weight", "features.3.expand3x3.weight",
        "classifier.1.weight", NULL };
static const char *const alexnet_keys[] = { "features.0.weight",
                                            "features.3.weight",
                                            "features.10.weight",
                                            "classifier.1.weight",
                                            "classifier.4.weight",
                                            "classifier.6.weight",
                                            NULL };
static const char *const mobilenet_v3_keys[]
    = { "features.0.0.weight", "features.1.block.0.0.weight", "classifier.0.weight",
        "classifier.3.weight", NULL };
static const char *const mnasnet_keys[] = { "layers.0.weight", "layers.8.0.layers.0.weight",
                                            "layers.14.weight", "classifier.1.weight", NULL };
static const char *const shufflenet_v2_keys[] = { "conv1.0.weight",
                                                  "stage2.0.branch1.0.weight",
                                                  "stage4.0.branch2.0.weight",
                                                  "conv5.0.weight",
                                                  "fc.weight",
                                                  NULL };
static const char *const regnet_keys[]
    = { "stem.0.weight", "trunk_output.block1.block1-0.f.a.0.weight",
        "trunk_output.block4.block4-0.f.c.0.weight", "fc.weight", NULL };
static const char *const convnext_keys[] = { "features.0.0.weight", "features.1.0.layer_scale",
                                             "features.2.1.weight", "classifier.2.weight", NULL };
static const char *const googlenet_keys[]
    = { "conv1.conv.weight", "inception3a.branch1.conv.weight", "inception5b.branch4.1.conv.weight",
        "fc.weight", NULL };
static const char *const inception_v3_keys[]
    = { "Conv2d_1a_3x3.conv.weight", "Mixed_5b.branch1x1.conv.weight",
        "Mixed_7c.branch_pool.conv.weight", "fc.weight", NULL };

static const Family families[] = {
  { "resnet", resnet_keys, build_resnet, "conv1.weight", "fc.weight" },
  { "densenet", densenet_keys, build_densenet, "features.conv0.weight", "classifier.weight" },
  { "mobilenet_v2", mobilenet_v2_keys, build_mobilenet_v2, "features.0.0.weight",
    "classifier.1.weight" },
  { "vgg", vgg_keys, build_vgg, "features.0.weight", "classifier.6.weight" },
  { "efficientnet", efficientnet_keys, gz_tv_build_efficientnet, "features.0.0.weight",
    "classifier.1.weight" },
  { "squeezenet", squeezenet_keys, gz_tv_build_squeezenet, "features.0.weight",
    "classifier.1.weight" },
  { "alexnet", alexnet_keys, gz_tv_build_alexnet, "features.0.weight", "classifier.6.weight" },
  { "mobilenet_v3", mobilenet_v3_keys, gz_tv_build_mobilenet_v3, "features.0.0.weight",
    "classifier.3.weight" },
  { "mnasnet", mnasnet_keys, gz_tv_build_mnasnet, "layers.0.weight", "classifier.1.weight" },
  { "shufflenet_v2", shufflenet_v2_keys, gz_tv_build_shufflenet_v2, "conv1.0.weight", "fc.weight" },
  { "regnet", regnet_keys, gz_tv_build_regnet, "stem.0.weight", "fc.weight" },
  { "convnext", convnext_keys, gz_tv_build_convnext, "features.0.0.weight", "classifier.2.weight" },
  { "googlenet", googlenet_keys, gz_tv_build_googlenet, "conv1.conv.weight", "fc.weight" },
  { "inception_v3", inception_v3_keys, gz_tv_build_inception_v3, "Conv2d_1a_3x3.conv.weight",
    "fc.weight" },
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
    return gz_error_set (
        err, GZ_ERR_UNSUPPORTED,
        "unknown architecture '%s': Gaze builds resnet*, resnext*, "
        "wide_resnet*, densenet*, mobilenet_v2, mobilenet_v3_small/large, vgg*, "
        "efficientnet_b*/v2_*, squeezenet1_0/1_1, alexnet, mnasnet*, shufflenet_v2_*, "
        "regnet_x_*/regnet_y_*, convnext_*, googlenet and inception_v3",
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
  int x = tvb_value (&b, "input", NULL);
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
  if (s == GZ_OK && (g->output < 0 || g->output >= g->n_values))
    s = gz_error_set (err, GZ_ERR_FORMAT, "the %s builder named no output", fam->family);
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
                (long long) (fc->ndim >= 2 ? fc->dims[0] : 0), (long long) channels);
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
