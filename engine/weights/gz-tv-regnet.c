/* gz-tv-regnet.c — RegNetX and RegNetY (torchvision) from their state dicts
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Radosavovic et al., "Designing Network Design Spaces" (2020). The stem is
 * a 3×3 stride-2 convolution, BatchNorm and ReLU; four stages
 * trunk_output.block1-4 of ResBottleneckBlocks follow: f.a (1×1), f.b (3×3
 * grouped, stride 2 in each stage's first block), the squeeze-excitation
 * f.se of RegNetY (ReLU, Sigmoid), f.c (1×1, no activation); the identity or
 * the projection proj (1×1, the block's stride) is added, then ReLU. Then
 * global average pooling and fc. Depths, widths and group counts come from
 * the weights; the member's name from torchvision's table of them.
 */
#include <stdio.h>
#include <string.h>

#include "gz-tv-builder.h"

/* The convolution p.0 with its BatchNorm p.1, then ReLU (named p.2) when
 * asked. grouped: the groups come from the weight, [out, in/groups, k, k]
 * with in = out (f.b keeps the width). */
static int
conv_bn (Builder *b, int x, const char *p, int stride, bool grouped, bool relu)
{
  char conv[160], bn[160], key[192];
  snprintf (conv, sizeof conv, "%s.0", p);
  snprintf (bn, sizeof bn, "%s.1", p);
  int64_t groups = 1;
  if (grouped)
    {
      snprintf (key, sizeof key, "%s.weight", conv);
      const GzTensor *w = gz_state_dict_get (b->sd, key);
      if (w != NULL && w->ndim == 4 && w->dims[1] > 0 && w->dims[0] % w->dims[1] == 0)
        groups = w->dims[0] / w->dims[1];
    }
  x = tvb_conv_bn_groups (b, x, conv, bn, stride, (int) (tvb_kernel_of (b, conv) - 1) / 2, groups);
  if (!relu)
    return x;
  snprintf (key, sizeof key, "%s.2", p);
  return tvb_unary (b, "Relu", key, x);
}

/* Does trunk_output.block<s>.block<s>-<j><suffix> exist? */
static bool
has_key (Builder *b, int s, int j, const char *suffix)
{
  char key[256];
  snprintf (key, sizeof key, "trunk_output.block%d.block%d-%d%s", s, s, j, suffix);
  return gz_state_dict_get (b->sd, key) != NULL;
}

static const struct
{
  const char *name;
  int depths[4];
  int64_t widths[4];
} known[] = {
  { "regnet_x_400mf", { 1, 2, 7, 12 }, { 32, 64, 160, 400 } },
  { "regnet_x_800mf", { 1, 3, 7, 5 }, { 64, 128, 288, 672 } },
  { "regnet_x_1_6gf", { 2, 4, 10, 2 }, { 72, 168, 408, 912 } },
  { "regnet_x_3_2gf", { 2, 6, 15, 2 }, { 96, 192, 432, 1008 } },
  { "regnet_x_8gf", { 2, 5, 15, 1 }, { 80, 240, 720, 1920 } },
  { "regnet_x_16gf", { 2, 6, 13, 1 }, { 256, 512, 896, 2048 } },
  { "regnet_x_32gf", { 2, 7, 13, 1 }, { 336, 672, 1344, 2520 } },
  { "regnet_y_400mf", { 1, 3, 6, 6 }, { 48, 104, 208, 440 } },
  { "regnet_y_800mf", { 1, 3, 8, 2 }, { 64, 144, 320, 784 } },
  { "regnet_y_1_6gf", { 2, 6, 17, 2 }, { 48, 120, 336, 888 } },
  { "regnet_y_3_2gf", { 2, 5, 13, 1 }, { 72, 216, 576, 1512 } },
  { "regnet_y_8gf", { 2, 4, 10, 1 }, { 224, 448, 896, 2016 } },
  { "regnet_y_16gf", { 2, 4, 11, 1 }, { 224, 448, 1232, 3024 } },
  { "regnet_y_32gf", { 2, 5, 12, 1 }, { 232, 696, 1392, 3712 } },
  { "regnet_y_128gf", { 2, 7, 17, 1 }, { 528, 1056, 2904, 7392 } },
};

GzStatus
gz_tv_build_regnet (Builder *b, int x, char *desc, size_t desc_len)
{
  int depths[4];
  int64_t widths[4];
  bool se = has_key (b, 1, 0, ".f.se.fc1.weight");
  for (int s = 1; s <= 4; s++)
    {
      int d = 0;
      while (d < 1000 && has_key (b, s, d, ".f.a.0.weight"))
        d++;
      char key[192];
      snprintf (key, sizeof key, "trunk_output.block%d.block%d-0.f.c.0.weight", s, s);
      const GzTensor *c = gz_state_dict_get (b->sd, key);
      if (d == 0 || c == NULL || c->ndim != 4)
        return gz_error_set (b->err, GZ_ERR_FORMAT,
                             "a RegNet state dict without trunk_output.block%d", s);
      depths[s - 1] = d;
      widths[s - 1] = c->dims[0];
    }
  const char *name = NULL;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (memcmp (known[i].depths, depths, sizeof depths) == 0
        && memcmp (known[i].widths, widths, sizeof widths) == 0 && (known[i].name[7] == 'y') == se)
      name = known[i].name;
  if (name != NULL)
    snprintf (desc, desc_len, "%s", name);
  else
    snprintf (desc, desc_len, "regnet_%c (depths %d-%d-%d-%d, widths %lld-%lld-%lld-%lld)",
              se ? 'y' : 'x', depths[0], depths[1], depths[2], depths[3], (long long) widths[0],
              (long long) widths[1], (long long) widths[2], (long long) widths[3]);

  x = conv_bn (b, x, "stem", 2, false, true);
  char p[64], q[128];
  for (int s = 1; s <= 4; s++)
    for (int j = 0; j < depths[s - 1]; j++)
      {
        int stride = j == 0 ? 2 : 1;
        snprintf (p, sizeof p, "trunk_output.block%d.block%d-%d", s, s, j);
        snprintf (q, sizeof q, "%s.f.a", p);
        int y = conv_bn (b, x, q, 1, false, true);
        snprintf (q, sizeof q, "%s.f.b", p);
        y = conv_bn (b, y, q, stride, true, true);
        if (se)
          {
            snprintf (q, sizeof q, "%s.f.se", p);
            y = tvb_squeeze_excite (b, y, q, TVB_SE_RELU_SIGMOID);
          }
        snprintf (q, sizeof q, "%s.f.c", p);
        y = conv_bn (b, y, q, 1, false, false);
        int identity = x;
        if (has_key (b, s, j, ".proj.0.weight"))
          {
            snprintf (q, sizeof q, "%s.proj", p);
            identity = conv_bn (b, x, q, stride, false, false);
          }
        int in[2] = { identity, y };
        snprintf (q, sizeof q, "%s.add", p);
        y = tvb_node (b, "Add", q, 2, in, 0, NULL);
        snprintf (q, sizeof q, "%s.activation", p);
        x = tvb_unary (b, "Relu", q, y);
        if (b->status != GZ_OK)
          return b->status;
      }
  x = tvb_head (b, x, "fc");
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}
