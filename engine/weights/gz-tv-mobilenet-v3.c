/* gz-tv-mobilenet-v3.c — MobileNetV3 small and large from their state dicts
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Which blocks use Hardswish rather than ReLU, and which have stride 2, is
 * not in the weights: it comes from torchvision's configuration tables
 * (mobilenetv3.py, _mobilenet_v3_conf), chosen by the number of blocks.
 * BatchNorm epsilon is 0.001 throughout; the squeeze-excitation gate is
 * Hardsigmoid = relu6(x + 3) / 6, i.e. ONNX HardSigmoid(alpha 1/6, beta 0.5).
 */
#include <stdio.h>

#include "gz-tv-builder.h"

typedef struct
{
  bool hardswish;
  int stride;
} BlockConf;

/* torchvision's bneck_conf rows: activation ("HS") and stride only. */
static const BlockConf large[15] = {
  { false, 1 }, { false, 2 }, { false, 1 }, { false, 2 }, { false, 1 },
  { false, 1 }, { true, 2 },  { true, 1 },  { true, 1 },  { true, 1 },
  { true, 1 },  { true, 1 },  { true, 2 },  { true, 1 },  { true, 1 },
};
static const BlockConf small[11] = {
  { false, 2 }, { false, 2 }, { false, 1 }, { true, 2 }, { true, 1 }, { true, 1 },
  { true, 1 },  { true, 1 },  { true, 2 },  { true, 1 }, { true, 1 },
};

static int
activation (Builder *b, bool hardswish, const char *name, int x)
{
  return tvb_unary (b, hardswish ? "HardSwish" : "Relu", name, x);
}

GzStatus
gz_tv_build_mobilenet_v3 (Builder *b, int x, char *desc, size_t desc_len)
{
  b->bn_eps = 1e-3;
  int n = 0;
  while (n < 64 && tvb_key_exists (b, NULL, n + 1, 0, "block.0.0.weight"))
    n++;
  const BlockConf *conf = n == 15 ? large : n == 11 ? small : NULL;
  if (conf == NULL)
    return gz_error_set (b->err, GZ_ERR_FORMAT,
                         "a MobileNetV3 state dict with %d inverted-residual blocks (torchvision's "
                         "small has 11, large 15)",
                         n);
  snprintf (desc, desc_len, n == 15 ? "mobilenet_v3_large" : "mobilenet_v3_small");
  x = tvb_conv_bn (b, x, "features.0.0", "features.0.1", 2, 1);
  x = activation (b, true, "features.0.2", x);
  char p[64], q[96], r[96];
  for (int i = 1; i <= n; i++)
    {
      const BlockConf *c = &conf[i - 1];
      snprintf (p, sizeof p, "features.%d.block", i);
      const GzTensor *first = tvb_weight (b, p, "0.0.weight", 4);
      if (first == NULL)
        return b->status;
      /* block.0 is the 1×1 expansion unless it is already the depthwise conv. */
      bool expand = !(first->dims[1] == 1 && first->dims[2] > 1);
      int64_t in_channels = first->dims[expand ? 1 : 0];
      int y = x, k = 0;
      if (expand)
        {
          snprintf (q, sizeof q, "%s.0.0", p);
          snprintf (r, sizeof r, "%s.0.1", p);
          y = tvb_conv_bn (b, y, q, r, 1, 0);
          snprintf (q, sizeof q, "%s.0.2", p);
          y = activation (b, c->hardswish, q, y);
          k = 1;
        }
      snprintf (q, sizeof q, "%s.%d.0", p, k);
      snprintf (r, sizeof r, "%s.%d.1", p, k);
      y = tvb_conv_bn_groups (b, y, q, r, c->stride, (int) (tvb_kernel_of (b, q) - 1) / 2, -1);
      snprintf (q, sizeof q, "%s.%d.2", p, k);
      y = activation (b, c->hardswish, q, y);
      snprintf (q, sizeof q, "%s.%d.fc1.weight", p, k + 1);
      if (gz_state_dict_get (b->sd, q) != NULL)
        {
          snprintf (q, sizeof q, "%s.%d", p, k + 1);
          y = tvb_squeeze_excite (b, y, q, TVB_SE_RELU_HARDSIGMOID);
          k++;
        }
      snprintf (q, sizeof q, "%s.%d.0", p, k + 1);
      snprintf (r, sizeof r, "%s.%d.1", p, k + 1);
      const GzTensor *proj = tvb_weight (b, q, "weight", 4);
      if (proj == NULL)
        return b->status;
      int64_t out_channels = proj->dims[0];
      y = tvb_conv_bn (b, y, q, r, 1, 0);
      if (c->stride == 1 && in_channels == out_channels)
        {
          snprintf (q, sizeof q, "features.%d.add", i);
          y = tvb_binary (b, "Add", q, y, x);
        }
      x = y;
    }
  snprintf (q, sizeof q, "features.%d.0", n + 1);
  snprintf (r, sizeof r, "features.%d.1", n + 1);
  x = tvb_conv_bn (b, x, q, r, 1, 0);
  snprintf (q, sizeof q, "features.%d.2", n + 1);
  x = activation (b, true, q, x);
  x = tvb_unary (b, "GlobalAveragePool", "avgpool", x);
  AttrSpec ax = { "axis", 0, { 1 } };
  x = tvb_node (b, "Flatten", "flatten", 1, &x, 1, &ax);
  x = tvb_linear (b, x, "classifier.0");
  x = activation (b, true, "classifier.1", x);
  x = tvb_linear (b, x, "classifier.3");
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}
