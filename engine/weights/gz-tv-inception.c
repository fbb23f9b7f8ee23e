/* gz-tv-inception.c — Inception v3 (torchvision) from its state dict
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Szegedy et al., "Rethinking the Inception Architecture for Computer
 * Vision" (2016), as torchvision writes it, for 299×299 input. BasicConv2d =
 * convolution, BatchNorm (ε 1e-3), ReLU. The stem: Conv2d_1a_3x3 (stride 2),
 * 2a, 2b (padding 1), max pooling 3/2, 3b (1×1), 4a, max pooling; then
 * Mixed_5b-5d (InceptionA), 6a (B), 6b-6e (C), 7a (D), 7b-7c (E), global
 * average pooling and fc. Strides and paddings are torchvision's, written
 * per convolution below (several 3×3 convolutions have none); the kernel
 * sizes come from the weights. Average pooling in the blocks counts the
 * padding (F.avg_pool2d's default). AuxLogits only runs in training.
 * transform_input as for GoogLeNet (gz-tv-googlenet.c): on unless the
 * state dict has the auxiliary classifier that inception_v3(weights=None)
 * adds.
 */
#include <stdio.h>
#include <string.h>

#include "gz-tv-builder.h"

/* BasicConv2d p.q with torchvision's stride and padding (pad_h, pad_w). */
static int
conv (Builder *b, int x, const char *p, const char *q, int stride, int pad_h, int pad_w)
{
  char c[160], bn[160], n[192];
  snprintf (c, sizeof c, "%s%s%s.conv", p, p[0] ? "." : "", q);
  snprintf (bn, sizeof bn, "%s%s%s.bn", p, p[0] ? "." : "", q);
  x = tvb_conv_bn_pads (b, x, c, bn, stride, pad_h, pad_w, 1);
  snprintf (n, sizeof n, "%s%s%s.relu", p, p[0] ? "." : "", q);
  return tvb_unary (b, "Relu", n, x);
}

static int
pool (Builder *b, int x, const char *op, const char *name, int stride, int pad)
{
  AttrSpec a[4] = { { "kernel_shape", 2, { 3, 3 } },
                    { "strides", 2, { stride, stride } },
                    { "pads", 4, { pad, pad, pad, pad } },
                    { "count_include_pad", 0, { 1 } } };
  return tvb_node (b, op, name, 1, &x, strcmp (op, "AveragePool") == 0 ? 4 : 3, a);
}

static int
concat (Builder *b, const char *p, const char *what, int n, int *in)
{
  char q[128];
  snprintf (q, sizeof q, "%s.%s", p, what);
  AttrSpec ax = { "axis", 0, { 1 } };
  return tvb_node (b, "Concat", q, n, in, 1, &ax);
}

static int
avg_branch (Builder *b, int x, const char *p)
{
  char q[128];
  snprintf (q, sizeof q, "%s.avg_pool", p);
  return conv (b, pool (b, x, "AveragePool", q, 1, 1), p, "branch_pool", 1, 0, 0);
}

static int
inception_a (Builder *b, int x, const char *p)
{
  int br[4];
  br[0] = conv (b, x, p, "branch1x1", 1, 0, 0);
  br[1] = conv (b, conv (b, x, p, "branch5x5_1", 1, 0, 0), p, "branch5x5_2", 1, 2, 2);
  br[2] = conv (b, x, p, "branch3x3dbl_1", 1, 0, 0);
  br[2] = conv (b, br[2], p, "branch3x3dbl_2", 1, 1, 1);
  br[2] = conv (b, br[2], p, "branch3x3dbl_3", 1, 1, 1);
  br[3] = avg_branch (b, x, p);
  return concat (b, p, "concat", 4, br);
}

static int
inception_b (Builder *b, int x, const char *p)
{
  int br[3];
  char q[128];
  br[0] = conv (b, x, p, "branch3x3", 2, 0, 0);
  br[1] = conv (b, x, p, "branch3x3dbl_1", 1, 0, 0);
  br[1] = conv (b, br[1], p, "branch3x3dbl_2", 1, 1, 1);
  br[1] = conv (b, br[1], p, "branch3x3dbl_3", 2, 0, 0);
  snprintf (q, sizeof q, "%s.max_pool", p);
  br[2] = pool (b, x, "MaxPool", q, 2, 0);
  return concat (b, p, "concat", 3, br);
}

static int
inception_c (Builder *b, int x, const char *p)
{
  int br[4];
  br[0] = conv (b, x, p, "branch1x1", 1, 0, 0);
  br[1] = conv (b, x, p, "branch7x7_1", 1, 0, 0);
  br[1] = conv (b, br[1], p, "branch7x7_2", 1, 0, 3);
  br[1] = conv (b, br[1], p, "branch7x7_3", 1, 3, 0);
  br[2] = conv (b, x, p, "branch7x7dbl_1", 1, 0, 0);
  br[2] = conv (b, br[2], p, "branch7x7dbl_2", 1, 3, 0);
  br[2] = conv (b, br[2], p, "branch7x7dbl_3", 1, 0, 3);
  br[2] = conv (b, br[2], p, "branch7x7dbl_4", 1, 3, 0);
  br[2] = conv (b, br[2], p, "branch7x7dbl_5", 1, 0, 3);
  br[3] = avg_branch (b, x, p);
  return concat (b, p, "concat", 4, br);
}

static int
inception_d (Builder *b, int x, const char *p)
{
  int br[3];
  char q[128];
  br[0] = conv (b, conv (b, x, p, "branch3x3_1", 1, 0, 0), p, "branch3x3_2", 2, 0, 0);
  br[1] = conv (b, x, p, "branch7x7x3_1", 1, 0, 0);
  br[1] = conv (b, br[1], p, "branch7x7x3_2", 1, 0, 3);
  br[1] = conv (b, br[1], p, "branch7x7x3_3", 1, 3, 0);
  br[1] = conv (b, br[1], p, "branch7x7x3_4", 2, 0, 0);
  snprintf (q, sizeof q, "%s.max_pool", p);
  br[2] = pool (b, x, "MaxPool", q, 2, 0);
  return concat (b, p, "concat", 3, br);
}

static int
inception_e (Builder *b, int x, const char *p)
{
  int br[4], pair[2];
  br[0] = conv (b, x, p, "branch1x1", 1, 0, 0);
  int t = conv (b, x, p, "branch3x3_1", 1, 0, 0);
  pair[0] = conv (b, t, p, "branch3x3_2a", 1, 0, 1);
  pair[1] = conv (b, t, p, "branch3x3_2b", 1, 1, 0);
  br[1] = concat (b, p, "branch3x3", 2, pair);
  t = conv (b, x, p, "branch3x3dbl_1", 1, 0, 0);
  t = conv (b, t, p, "branch3x3dbl_2", 1, 1, 1);
  pair[0] = conv (b, t, p, "branch3x3dbl_3a", 1, 0, 1);
  pair[1] = conv (b, t, p, "branch3x3dbl_3b", 1, 1, 0);
  br[2] = concat (b, p, "branch3x3dbl", 2, pair);
  br[3] = avg_branch (b, x, p);
  return concat (b, p, "concat", 4, br);
}

GzStatus
gz_tv_build_inception_v3 (Builder *b, int x, char *desc, size_t desc_len)
{
  const GzTensor *c1 = gz_state_dict_get (b->sd, "Conv2d_1a_3x3.conv.weight");
  if (c1 == NULL || c1->ndim != 4)
    return gz_error_set (b->err, GZ_ERR_FORMAT, "an Inception v3 state dict without Conv2d_1a_3x3");
  bool aux = gz_state_dict_get (b->sd, "AuxLogits.fc.weight") != NULL;
  bool transform = !aux && c1->dims[1] == 3;
  snprintf (desc, desc_len, "inception_v3 (transform_input %s)", transform ? "on" : "off");
  b->bn_eps = 1e-3;
  /* Inception v3 is made for 299×299. */
  b->g->values[b->g->input].dims[2] = 299;
  b->g->values[b->g->input].dims[3] = 299;
  if (transform)
    x = tvb_transform_input (b, x);
  x = conv (b, x, "", "Conv2d_1a_3x3", 2, 0, 0);
  x = conv (b, x, "", "Conv2d_2a_3x3", 1, 0, 0);
  x = conv (b, x, "", "Conv2d_2b_3x3", 1, 1, 1);
  x = pool (b, x, "MaxPool", "maxpool1", 2, 0);
  x = conv (b, x, "", "Conv2d_3b_1x1", 1, 0, 0);
  x = conv (b, x, "", "Conv2d_4a_3x3", 1, 0, 0);
  x = pool (b, x, "MaxPool", "maxpool2", 2, 0);
  x = inception_a (b, x, "Mixed_5b");
  x = inception_a (b, x, "Mixed_5c");
  x = inception_a (b, x, "Mixed_5d");
  x = inception_b (b, x, "Mixed_6a");
  x = inception_c (b, x, "Mixed_6b");
  x = inception_c (b, x, "Mixed_6c");
  x = inception_c (b, x, "Mixed_6d");
  x = inception_c (b, x, "Mixed_6e");
  x = inception_d (b, x, "Mixed_7a");
  x = inception_e (b, x, "Mixed_7b");
  x = inception_e (b, x, "Mixed_7c");
  x = tvb_head (b, x, "fc");
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}
