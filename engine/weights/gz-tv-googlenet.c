/* gz-tv-googlenet.c — GoogLeNet (torchvision) from its state dict
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Szegedy et al., "Going Deeper with Convolutions" (2015), as torchvision
 * writes it: BasicConv2d = convolution, BatchNorm (ε 1e-3), ReLU; conv1 7×7/2,
 * max pooling 3/2 (ceil mode), conv2 1×1, conv3 3×3, max pooling, inception
 * 3a 3b, pooling, 4a-4e, pooling 2/2, 5a 5b, global average pooling, fc.
 * An Inception block concatenates branch1 (1×1), branch2 (1×1, 3×3),
 * branch3 (1×1, 3×3: torchvision's kernel, not the paper's 5×5) and
 * branch4 (max pooling 3/1 pad 1, 1×1). The auxiliary classifiers aux1/aux2
 * only run in training and are left out.
 *
 * transform_input: torchvision's pretrained GoogLeNet re-maps ImageNet-
 * normalised input to the (x − 0.5)/0.5 scale its weights were trained on,
 * per channel x·σ/0.5 + (μ − 0.5)/0.5. A state dict does not record it:
 * googlenet(weights=None) builds without it and with the auxiliary
 * classifiers, googlenet(weights=…) with it and without them, so their
 * presence decides, and `gaze-cli info` says which was built.
 */
#include <stdio.h>

#include "gz-tv-builder.h"

/* BasicConv2d p: p.conv, p.bn, ReLU. */
static int
basic_conv (Builder *b, int x, const char *p, int stride)
{
  char conv[160], bn[160];
  snprintf (conv, sizeof conv, "%s.conv", p);
  snprintf (bn, sizeof bn, "%s.bn", p);
  x = tvb_conv_bn (b, x, conv, bn, stride, (int) (tvb_kernel_of (b, conv) - 1) / 2);
  char n[192];
  snprintf (n, sizeof n, "%s.relu", p);
  return tvb_unary (b, "Relu", n, x);
}

static int
max_pool (Builder *b, int x, const char *name, int k, int stride, int pad)
{
  AttrSpec a[4] = { { "kernel_shape", 2, { k, k } },
                    { "strides", 2, { stride, stride } },
                    { "pads", 4, { pad, pad, pad, pad } },
                    { "ceil_mode", 0, { 1 } } };
  return tvb_node (b, "MaxPool", name, 1, &x, 4, a);
}

static int
inception (Builder *b, int x, const char *p)
{
  char q[128];
  int br[4];
  snprintf (q, sizeof q, "%s.branch1", p);
  br[0] = basic_conv (b, x, q, 1);
  snprintf (q, sizeof q, "%s.branch2.0", p);
  br[1] = basic_conv (b, x, q, 1);
  snprintf (q, sizeof q, "%s.branch2.1", p);
  br[1] = basic_conv (b, br[1], q, 1);
  snprintf (q, sizeof q, "%s.branch3.0", p);
  br[2] = basic_conv (b, x, q, 1);
  snprintf (q, sizeof q, "%s.branch3.1", p);
  br[2] = basic_conv (b, br[2], q, 1);
  snprintf (q, sizeof q, "%s.branch4.0", p);
  br[3] = max_pool (b, x, q, 3, 1, 1);
  snprintf (q, sizeof q, "%s.branch4.1", p);
  br[3] = basic_conv (b, br[3], q, 1);
  AttrSpec ax = { "axis", 0, { 1 } };
  snprintf (q, sizeof q, "%s.concat", p);
  return tvb_node (b, "Concat", q, 4, br, 1, &ax);
}

GzStatus
gz_tv_build_googlenet (Builder *b, int x, char *desc, size_t desc_len)
{
  const GzTensor *c1 = gz_state_dict_get (b->sd, "conv1.conv.weight");
  if (c1 == NULL || c1->ndim != 4)
    return gz_error_set (b->err, GZ_ERR_FORMAT, "a GoogLeNet state dict without conv1");
  bool aux = gz_state_dict_get (b->sd, "aux1.conv.conv.weight") != NULL;
  bool transform = !aux && c1->dims[1] == 3;
  snprintf (desc, desc_len, "googlenet (transform_input %s)", transform ? "on" : "off");
  b->bn_eps = 1e-3;
  if (transform)
    x = tvb_transform_input (b, x);
  x = basic_conv (b, x, "conv1", 2);
  x = max_pool (b, x, "maxpool1", 3, 2, 0);
  x = basic_conv (b, x, "conv2", 1);
  x = basic_conv (b, x, "conv3", 1);
  x = max_pool (b, x, "maxpool2", 3, 2, 0);
  x = inception (b, x, "inception3a");
  x = inception (b, x, "inception3b");
  x = max_pool (b, x, "maxpool3", 3, 2, 0);
  static const char *const four[]
      = { "inception4a", "inception4b", "inception4c", "inception4d", "inception4e" };
  for (int i = 0; i < 5; i++)
    x = inception (b, x, four[i]);
  x = max_pool (b, x, "maxpool4", 2, 2, 0);
  x = inception (b, x, "inception5a");
  x = inception (b, x, "inception5b");
  x = tvb_head (b, x, "fc");
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}
