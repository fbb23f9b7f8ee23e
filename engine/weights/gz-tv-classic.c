/* gz-tv-classic.c — the early ImageNet networks: AlexNet and SqueezeNet
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Neither has BatchNorm; both end without a linear head that CAM could use
 * except through SqueezeNet's final 1×1 convolution. Kernel sizes come from
 * the weights, strides and paddings from torchvision's definitions.
 */
#include <stdio.h>

#include "gz-tv-builder.h"

static int
max_pool (Builder *b, const char *name, int x, bool ceil_mode)
{
  AttrSpec mp[3] = { { "kernel_shape", 2, { 3, 3 } },
                     { "strides", 2, { 2, 2 } },
                     { "ceil_mode", 0, { ceil_mode ? 1 : 0 } } };
  return tvb_node (b, "MaxPool", name, 1, &x, 3, mp);
}

static int
conv_relu (Builder *b, int x, const char *conv, const char *relu, int stride, int pad)
{
  x = tvb_conv_bn (b, x, conv, NULL, stride, pad);
  return tvb_unary (b, "Relu", relu, x);
}

/* A Fire module: squeeze 1×1, then 1×1 and 3×3 expansions concatenated. */
static int
fire (Builder *b, int x, const char *p)
{
  char q[96], r[96];
  snprintf (q, sizeof q, "%s.squeeze", p);
  snprintf (r, sizeof r, "%s.squeeze_activation", p);
  x = conv_relu (b, x, q, r, 1, 0);
  snprintf (q, sizeof q, "%s.expand1x1", p);
  snprintf (r, sizeof r, "%s.expand1x1_activation", p);
  int e1 = conv_relu (b, x, q, r, 1, 0);
  snprintf (q, sizeof q, "%s.expand3x3", p);
  snprintf (r, sizeof r, "%s.expand3x3_activation", p);
  int e3 = conv_relu (b, x, q, r, 1, 1);
  snprintf (q, sizeof q, "%s.concat", p);
  int in[2] = { e1, e3 };
  AttrSpec ax = { "axis", 0, { 1 } };
  return tvb_node (b, "Concat", q, 2, in, 1, &ax);
}

/* SqueezeNet 1.0 (7×7 stem) and 1.1 (3×3 stem): features.0 conv + ReLU, then
 * Fire modules, with a 3×3/2 ceil-mode MaxPool at every index that holds no
 * weights; the classifier is a 1×1 conv + ReLU before global pooling. */
GzStatus
gz_tv_build_squeezenet (Builder *b, int x, char *desc, size_t desc_len)
{
  int64_t stem = tvb_kernel_of (b, "features.0");
  snprintf (desc, desc_len,
            stem == 7       ? "squeezenet1_0"
                : stem == 3 ? "squeezenet1_1"
                            : "squeezenet");
  x = conv_relu (b, x, "features.0", "features.1", 2, 0);
  int last = 0;
  for (int i = 2; i < 64; i++)
    if (tvb_key_exists (b, NULL, i, 0, "squeeze.weight"))
      last = i;
  char p[64];
  for (int i = 2; i <= last; i++)
    {
      snprintf (p, sizeof p, "features.%d", i);
      x = tvb_key_exists (b, NULL, i, 0, "squeeze.weight") ? fire (b, x, p)
                                                           : max_pool (b, p, x, true);
    }
  x = conv_relu (b, x, "classifier.1", "classifier.2", 1, 0);
  x = tvb_unary (b, "GlobalAveragePool", "classifier.3", x);
  AttrSpec ax = { "axis", 0, { 1 } };
  x = tvb_node (b, "Flatten", "flatten", 1, &x, 1, &ax);
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}

/* AlexNet (torchvision's, after "One weird trick"): five convolutions with
 * MaxPools after the 1st, 2nd and 5th; the adaptive 6×6 average pool is the
 * identity at 224×224; three linear layers. */
GzStatus
gz_tv_build_alexnet (Builder *b, int x, char *desc, size_t desc_len)
{
  snprintf (desc, desc_len, "alexnet");
  x = conv_relu (b, x, "features.0", "features.1", 4, 2);
  x = max_pool (b, "features.2", x, false);
  x = conv_relu (b, x, "features.3", "features.4", 1, 2);
  x = max_pool (b, "features.5", x, false);
  x = conv_relu (b, x, "features.6", "features.7", 1, 1);
  x = conv_relu (b, x, "features.8", "features.9", 1, 1);
  x = conv_relu (b, x, "features.10", "features.11", 1, 1);
  x = max_pool (b, "features.12", x, false);
  AttrSpec ax = { "axis", 0, { 1 } };
  x = tvb_node (b, "Flatten", "flatten", 1, &x, 1, &ax);
  x = tvb_linear (b, x, "classifier.1");
  x = tvb_unary (b, "Relu", "classifier.2", x);
  x = tvb_linear (b, x, "classifier.4");
  x = tvb_unary (b, "Relu", "classifier.5", x);
  x = tvb_linear (b, x, "classifier.6");
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}
