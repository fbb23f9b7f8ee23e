/* gz-tv-efficientnet.c — EfficientNet B0-B7 and V2 S/M/L from their state dicts
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * B0-B7: stages features.1-7 of MBConv blocks (expand 1×1, depthwise k×k,
 * squeeze-excitation, project 1×1; SiLU), features.8, classifier.1; the
 * first block of stages 2, 3, 4 and 6 has stride 2. V2: the first three
 * stages are FusedMBConv (a full k×k convolution in place of expand +
 * depthwise, no squeeze-excitation), then MBConv; stride 2 at stages 2, 3, 4
 * and 6. Strides are torchvision's (_efficientnet_conf); kernels come from
 * the weights. BatchNorm epsilon is torchvision's: 1e-5 for B0-B4, 1e-3 for
 * B5-B7 and every V2.
 */
#include <stdio.h>

#include "gz-tv-builder.h"

static int
conv_bn_silu (Builder *b, int x, const char *p, int i, int stride, bool depthwise, bool silu)
{
  char q[128], r[128];
  snprintf (q, sizeof q, "%s.%d.0", p, i);
  snprintf (r, sizeof r, "%s.%d.1", p, i);
  x = tvb_conv_bn_groups (b, x, q, r, stride, (int) (tvb_kernel_of (b, q) - 1) / 2,
                          depthwise ? -1 : 1);
  if (!silu)
    return x;
  snprintf (q, sizeof q, "%s.%d.2", p, i);
  return tvb_silu (b, q, x);
}

/* The 4D weight p.i.0.weight, or NULL (no error). */
static const GzTensor *
conv_weight (Builder *b, const char *p, int i)
{
  char q[128];
  snprintf (q, sizeof q, "%s.%d.0.weight", p, i);
  const GzTensor *t = gz_state_dict_get (b->sd, q);
  return t != NULL && t->ndim == 4 ? t : NULL;
}

/* One block features.st.j.block: MBConv, or FusedMBConv when block.0 is a
 * full k×k convolution. Adds the residual when shape is kept. */
static int
block (Builder *b, int x, int st, int j, int stride)
{
  char p[64], q[96];
  snprintf (p, sizeof p, "features.%d.%d.block", st, j);
  const GzTensor *first = conv_weight (b, p, 0);
  if (first == NULL)
    {
      b->status = gz_error_set (b->err, GZ_ERR_FORMAT,
                                "the state dict has no 4D tensor '%s.0.0.weight'", p);
      return -1;
    }
  bool depthwise_first = first->dims[1] == 1 && first->dims[2] > 1;
  bool fused = !depthwise_first && first->dims[2] > 1;
  int64_t in_channels = depthwise_first ? first->dims[0] : first->dims[1];
  int y = x, last;
  if (fused)
    {
      bool project = conv_weight (b, p, 1) != NULL;
      y = conv_bn_silu (b, y, p, 0, stride, false, true);
      if (project)
        y = conv_bn_silu (b, y, p, 1, 1, false, false);
      last = project ? 1 : 0;
    }
  else
    {
      int k = 0;
      if (!depthwise_first)
        {
          y = conv_bn_silu (b, y, p, 0, 1, false, true);
          k = 1;
        }
      y = conv_bn_silu (b, y, p, k, stride, true, true);
      {
        char se[96];
        snprintf (se, sizeof se, "%s.%d", p, k + 1);
        y = tvb_squeeze_excite (b, y, se, TVB_SE_SILU_SIGMOID);
      }
      y = conv_bn_silu (b, y, p, k + 2, 1, false, false);
      last = k + 2;
    }
  const GzTensor *out = conv_weight (b, p, last);
  if (stride == 1 && out != NULL && out->dims[0] == in_channels)
    {
      snprintf (q, sizeof q, "features.%d.%d.add", st, j);
      y = tvb_binary (b, "Add", q, x, y);
    }
  return y;
}

static int
blocks_in_stage (Builder *b, int st)
{
  int n = 0;
  while (n < 256 && tvb_key_exists (b, "", st, n, "block.0.0.weight"))
    n++;
  return n;
}

GzStatus
gz_tv_build_efficientnet (Builder *b, int x, char *desc, size_t desc_len)
{
  const GzTensor *stem = tvb_weight (b, "features.0", "0.weight", 4);
  const GzTensor *first = tvb_weight (b, "features.1.0.block", "0.0.weight", 4);
  if (b->status != GZ_OK)
    return b->status;
  int stages = 0, blocks = 0;
  while (stages < 16 && blocks_in_stage (b, stages + 1) > 0)
    blocks += blocks_in_stage (b, ++stages);
  /* V1's first block starts with a depthwise conv; V2's with a full one. */
  bool v2 = !(first->dims[1] == 1 && first->dims[2] > 1);
  /* Both versions: stride 2 at the first block of stages 2, 3, 4 and 6. */
  static const int stage_stride[8] = { 0, 1, 2, 2, 2, 1, 2, 1 };
  if ((!v2 && stages != 7) || (v2 && stages != 6 && stages != 7))
    return gz_error_set (b->err, GZ_ERR_FORMAT,
                         "an EfficientNet state dict with %d stages (torchvision's B0-B7 have 7, "
                         "V2 6 or 7)",
                         stages);
  if (v2)
    {
      b->bn_eps = 1e-3;
      snprintf (desc, desc_len, "efficientnet_v2 (%d blocks)", blocks);
      if (stem->dims[0] == 24 && stages == 6 && blocks == 40)
        snprintf (desc, desc_len, "efficientnet_v2_s");
      else if (stem->dims[0] == 24 && stages == 7 && blocks == 57)
        snprintf (desc, desc_len, "efficientnet_v2_m");
      else if (stem->dims[0] == 32 && stages == 7 && blocks == 79)
        snprintf (desc, desc_len, "efficientnet_v2_l");
    }
  else
    {
      /* B1 and B2 share the stem and the block count: the last
       * convolution's width (features.8) tells them apart. */
      static const struct
      {
        int stem, blocks, last;
      } sizes[8] = { { 32, 16, 1280 }, { 32, 23, 1280 }, { 32, 23, 1408 }, { 40, 26, 1536 },
                     { 48, 32, 1792 }, { 48, 39, 2048 }, { 56, 45, 2304 }, { 64, 55, 2560 } };
      char key[64];
      snprintf (key, sizeof key, "features.%d.0.weight", stages + 1);
      const GzTensor *last = gz_state_dict_get (b->sd, key);
      int64_t last_width = last != NULL && last->ndim == 4 ? last->dims[0] : -1;
      snprintf (desc, desc_len, "efficientnet (%d blocks)", blocks);
      for (int v = 0; v < 8; v++)
        if (stem->dims[0] == sizes[v].stem && blocks == sizes[v].blocks
            && last_width == sizes[v].last)
          {
            snprintf (desc, desc_len, "efficientnet_b%d", v);
            b->bn_eps = v >= 5 ? 1e-3 : 1e-5;
          }
    }
  x = conv_bn_silu (b, x, "features", 0, 2, false, true);
  for (int st = 1; st <= stages; st++)
    {
      int n = blocks_in_stage (b, st);
      for (int j = 0; j < n; j++)
        x = block (b, x, st, j, j == 0 ? stage_stride[st] : 1);
    }
  x = conv_bn_silu (b, x, "features", stages + 1, 1, false, true);
  x = tvb_head (b, x, "classifier.1");
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}
