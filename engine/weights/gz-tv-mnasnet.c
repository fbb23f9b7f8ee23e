/* gz-tv-mnasnet.c — MNASNet (0.5, 0.75, 1.0, 1.3) from its state dict
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * layers.0-7: stem conv, depthwise conv, 1×1 conv; layers.8-13: six stacks of
 * inverted residuals (expand 1×1, depthwise k×k, project 1×1; ReLU), whose
 * first block has torchvision's stride (2, 2, 2, 1, 2, 1); layers.14-16: 1×1
 * conv to 1280 and ReLU; the spatial mean; classifier.1.
 */
#include <stdio.h>

#include "gz-tv-builder.h"

static const int stack_stride[6] = { 2, 2, 2, 1, 2, 1 };

GzStatus
gz_tv_build_mnasnet (Builder *b, int x, char *desc, size_t desc_len)
{
  const GzTensor *stem = tvb_weight (b, "layers.0", "weight", 4);
  if (stem == NULL)
    return b->status;
  const char *alpha = stem->dims[0] == 16 ? "0_5"
      : stem->dims[0] == 24               ? "0_75"
      : stem->dims[0] == 32               ? "1_0"
      : stem->dims[0] == 40               ? "1_3"
                                          : NULL;
  if (alpha != NULL)
    snprintf (desc, desc_len, "mnasnet%s", alpha);
  else
    snprintf (desc, desc_len, "mnasnet (stem %lld)", (long long) stem->dims[0]);
  x = tvb_conv_bn (b, x, "layers.0", "layers.1", 2, 1);
  x = tvb_unary (b, "Relu", "layers.2", x);
  x = tvb_conv_bn_groups (b, x, "layers.3", "layers.4", 1, 1, -1);
  x = tvb_unary (b, "Relu", "layers.5", x);
  x = tvb_conv_bn (b, x, "layers.6", "layers.7", 1, 0);
  char p[64], q[96], r[96];
  for (int s = 0; s < 6; s++)
    for (int j = 0; j < 64; j++)
      {
        snprintf (p, sizeof p, "layers.%d.%d.layers", 8 + s, j);
        snprintf (q, sizeof q, "%s.0.weight", p);
        if (gz_state_dict_get (b->sd, q) == NULL)
          break;
        int stride = j == 0 ? stack_stride[s] : 1;
        const GzTensor *expand = tvb_weight (b, p, "0.weight", 4);
        const GzTensor *project = tvb_weight (b, p, "6.weight", 4);
        if (b->status != GZ_OK)
          return b->status;
        bool residual = stride == 1 && expand->dims[1] == project->dims[0];
        snprintf (q, sizeof q, "%s.0", p);
        snprintf (r, sizeof r, "%s.1", p);
        int y = tvb_conv_bn (b, x, q, r, 1, 0);
        snprintf (q, sizeof q, "%s.2", p);
        y = tvb_unary (b, "Relu", q, y);
        snprintf (q, sizeof q, "%s.3", p);
        snprintf (r, sizeof r, "%s.4", p);
        y = tvb_conv_bn_groups (b, y, q, r, stride, (int) (tvb_kernel_of (b, q) - 1) / 2, -1);
        snprintf (q, sizeof q, "%s.5", p);
        y = tvb_unary (b, "Relu", q, y);
        snprintf (q, sizeof q, "%s.6", p);
        snprintf (r, sizeof r, "%s.7", p);
        y = tvb_conv_bn (b, y, q, r, 1, 0);
        if (residual)
          {
            snprintf (q, sizeof q, "layers.%d.%d.add", 8 + s, j);
            y = tvb_binary (b, "Add", q, y, x);
          }
        x = y;
      }
  x = tvb_conv_bn (b, x, "layers.14", "layers.15", 1, 0);
  x = tvb_unary (b, "Relu", "layers.16", x);
  x = tvb_head (b, x, "classifier.1");
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}
