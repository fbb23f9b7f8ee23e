/* gz-tv-shufflenet.c — ShuffleNetV2 (x0.5, x1.0, x1.5, x2.0) from its state dict
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * conv1 (3×3/2, BN, ReLU), MaxPool 3×3/2, stages 2-4 whose first block has
 * stride 2, conv5 (1×1, BN, ReLU), the spatial mean, fc. A stride-2 block
 * concatenates two branches of the whole input; a stride-1 block keeps the
 * first half of the channels and transforms the second. Both end with the
 * channel shuffle of two groups; that and the halving are fixed
 * permutations of the channel axis, written here as Gather on axis 1 (the
 * same values as the exported Reshape/Transpose/Reshape and Split).
 */
#include <stdio.h>

#include "gz-tv-builder.h"

/* Gather(x, indices, axis 1) with indices[k] = first + k, or for a shuffle
 * (shuffle true) the channel that lands at k: (k % 2)·(C/2) + k/2. */
static int
channels (Builder *b, const char *name, int x, int64_t n, int64_t first, bool shuffle)
{
  if (b->status != GZ_OK)
    return -1;
  GzTensor *idx = gz_tensor_new (GZ_DTYPE_INT64, 1, &n, b->err);
  if (idx == NULL)
    {
      b->status = GZ_ERR_NOMEM;
      return -1;
    }
  int64_t *v = idx->data;
  for (int64_t k = 0; k < n; k++)
    v[k] = shuffle ? (k % 2) * (n / 2) + k / 2 : first + k;
  char q[160];
  snprintf (q, sizeof q, "%.120s.indices", name);
  int iv = tvb_value (b, q, idx);
  if (iv < 0)
    return -1;
  b->g->values[iv].dtype = GZ_DTYPE_INT64;
  int in[2] = { x, iv };
  AttrSpec axis = { "axis", 0, { 1 } };
  return tvb_node (b, "Gather", name, 2, in, 1, &axis);
}

/* conv+BN(+ReLU) as torchvision's Sequential indices prefix.i, prefix.i+1 (ReLU at i+2). */
static int
conv (Builder *b, int x, const char *prefix, int i, int stride, bool depthwise, bool relu)
{
  char q[128], r[128];
  snprintf (q, sizeof q, "%s.%d", prefix, i);
  snprintf (r, sizeof r, "%s.%d", prefix, i + 1);
  int64_t k = tvb_kernel_of (b, q);
  x = tvb_conv_bn_groups (b, x, q, r, stride, (int) (k - 1) / 2, depthwise ? -1 : 1);
  if (!relu)
    return x;
  snprintf (q, sizeof q, "%s.%d", prefix, i + 2);
  return tvb_unary (b, "Relu", q, x);
}

GzStatus
gz_tv_build_shufflenet_v2 (Builder *b, int x, char *desc, size_t desc_len)
{
  const GzTensor *c5 = tvb_weight (b, "conv5.0", "weight", 4);
  if (c5 == NULL)
    return b->status;
  static const struct
  {
    int64_t stage4;
    const char *name;
  } sizes[4] = { { 192, "x0_5" }, { 464, "x1_0" }, { 704, "x1_5" }, { 976, "x2_0" } };
  snprintf (desc, desc_len, "shufflenet_v2 (%lld channels)", (long long) c5->dims[1]);
  for (int i = 0; i < 4; i++)
    if (c5->dims[1] == sizes[i].stage4)
      snprintf (desc, desc_len, "shufflenet_v2_%s", sizes[i].name);

  x = tvb_conv_bn (b, x, "conv1.0", "conv1.1", 2, 1);
  x = tvb_unary (b, "Relu", "conv1.2", x);
  AttrSpec mp[3] = { { "kernel_shape", 2, { 3, 3 } },
                     { "strides", 2, { 2, 2 } },
                     { "pads", 4, { 1, 1, 1, 1 } } };
  x = tvb_node (b, "MaxPool", "maxpool", 1, &x, 3, mp);
  char p[64], q[128];
  for (int s = 2; s <= 4; s++)
    for (int j = 0; j < 64; j++)
      {
        snprintf (p, sizeof p, "stage%d.%d", s, j);
        snprintf (q, sizeof q, "%s.branch2.0.weight", p);
        const GzTensor *b2in = gz_state_dict_get (b->sd, q);
        if (b2in == NULL)
          break;
        const GzTensor *b2out = tvb_weight (b, p, "branch2.5.weight", 4);
        if (b->status != GZ_OK)
          return b->status;
        char b1[96], b2[96];
        snprintf (b1, sizeof b1, "%s.branch1", p);
        snprintf (b2, sizeof b2, "%s.branch2", p);
        int left, right, stride = j == 0 ? 2 : 1;
        int64_t total;
        if (stride == 2)
          {
            const GzTensor *b1out = tvb_weight (b, b1, "2.weight", 4);
            if (b1out == NULL)
              return b->status;
            left = conv (b, x, b1, 0, 2, true, false);
            left = conv (b, left, b1, 2, 1, false, true);
            right = x;
            total = b1out->dims[0] + b2out->dims[0];
          }
        else
          {
            int64_t half = b2in->dims[1];
            snprintf (q, sizeof q, "%s.left", p);
            left = channels (b, q, x, half, 0, false);
            snprintf (q, sizeof q, "%s.right", p);
            right = channels (b, q, x, half, half, false);
            total = half + b2out->dims[0];
          }
        right = conv (b, right, b2, 0, 1, false, true);
        right = conv (b, right, b2, 3, stride, true, false);
        right = conv (b, right, b2, 5, 1, false, true);
        snprintf (q, sizeof q, "%s.concat", p);
        int in[2] = { left, right };
        AttrSpec ax = { "axis", 0, { 1 } };
        x = tvb_node (b, "Concat", q, 2, in, 1, &ax);
        snprintf (q, sizeof q, "%s.shuffle", p);
        x = channels (b, q, x, total, 0, true);
      }
  x = tvb_conv_bn (b, x, "conv5.0", "conv5.1", 1, 0);
  x = tvb_unary (b, "Relu", "conv5.2", x);
  x = tvb_head (b, x, "fc");
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}
