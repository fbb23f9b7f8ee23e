/* gz-tv-convnext.c — ConvNeXt tiny/small/base/large (torchvision) from their state dicts
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Liu et al., "A ConvNet for the 2020s" (2022). features.0 is the stem (4×4
 * stride-4 convolution, LayerNorm2d); features.1, 3, 5, 7 are stages of
 * CNBlocks; features.2, 4, 6 downsample (LayerNorm2d, 2×2 stride-2
 * convolution). A CNBlock is x + γ · T⁻¹(fc2(GELU(fc1(LN(T(dwconv7×7(x))))))),
 * with T the permutation to channels-last, γ the layer scale [C,1,1], LN over
 * the channels (ε 1e-6) and fc1/fc2 linear layers on the last axis. The head
 * is global average pooling, LayerNorm2d, Flatten and the linear classifier.
 * The graph is the one torch.onnx.export writes at opset 17: Transpose,
 * LayerNormalization, MatMul + Add, and exact GELU as x·(1 + erf(x/√2))/2,
 * so the channels-last tensors are where Gaze's layer layout expects them.
 */
#include <stdio.h>

#include "gz-tv-builder.h"

#define LN_EPS 1e-6f

static int
transpose (Builder *b, int x, const char *name, const int64_t perm[4])
{
  AttrSpec a = { "perm", 4, { perm[0], perm[1], perm[2], perm[3] } };
  return tvb_node (b, "Transpose", name, 1, &x, 1, &a);
}

static const int64_t to_last[4] = { 0, 2, 3, 1 }, to_first[4] = { 0, 3, 1, 2 };

/* LayerNormalization over the last axis with p.weight and p.bias. */
static int
layer_norm_last (Builder *b, int x, const char *p)
{
  int wv = tvb_param (b, p, "weight", 1);
  int bv = tvb_param (b, p, "bias", 1);
  if (b->status != GZ_OK)
    return -1;
  int in[3] = { x, wv, bv };
  AttrSpec a[2] = { { "axis", 0, { -1 } }, { "epsilon", -1, { 0 }, LN_EPS } };
  return tvb_node (b, "LayerNormalization", p, 3, in, 2, a);
}

/* torchvision's LayerNorm2d: the channels normalised at each position. */
static int
layer_norm_2d (Builder *b, int x, const char *p)
{
  char n[192];
  snprintf (n, sizeof n, "%s.to_last", p);
  x = transpose (b, x, n, to_last);
  x = layer_norm_last (b, x, p);
  snprintf (n, sizeof n, "%s.to_first", p);
  return transpose (b, x, n, to_first);
}

/* A linear layer on the last axis: MatMul(x, Wᵀ) + bias. */
static int
linear_last (Builder *b, int x, const char *p)
{
  const GzTensor *w = tvb_weight (b, p, "weight", 2);
  if (b->status != GZ_OK)
    return -1;
  int64_t out = w->dims[0], in = w->dims[1];
  int64_t dims[2] = { in, out };
  GzTensor *wt = gz_tensor_new (GZ_DTYPE_FLOAT, 2, dims, b->err);
  GzTensor *taken = tvb_take (b, w);
  if (wt == NULL || taken == NULL)
    {
      gz_tensor_free (wt);
      gz_tensor_free (taken);
      if (b->status == GZ_OK)
        b->status = GZ_ERR_NOMEM;
      return -1;
    }
  const float *src = gz_tensor_f (taken);
  float *dst = gz_tensor_f (wt);
  for (int64_t o = 0; o < out; o++)
    for (int64_t i = 0; i < in; i++)
      dst[i * out + o] = src[o * in + i];
  gz_tensor_free (taken);
  char n[192];
  snprintf (n, sizeof n, "%s.weight_t", p);
  int wv = tvb_value (b, n, wt);
  int bv = tvb_param (b, p, "bias", 1);
  int mm[2] = { x, wv };
  snprintf (n, sizeof n, "%s.matmul", p);
  x = tvb_node (b, "MatMul", n, 2, mm, 0, NULL);
  return tvb_binary (b, "Add", p, x, bv);
}

/* Exact GELU: x · (1 + erf(x / √2)) / 2, as torch.onnx.export writes it. */
static int
gelu (Builder *b, int x, const char *p)
{
  char n[192];
  snprintf (n, sizeof n, "%s.sqrt2", p);
  int r2 = tvb_scalar (b, n, 1.41421353816986083984f);
  snprintf (n, sizeof n, "%s.div", p);
  int y = tvb_binary (b, "Div", n, x, r2);
  snprintf (n, sizeof n, "%s.erf", p);
  y = tvb_unary (b, "Erf", n, y);
  snprintf (n, sizeof n, "%s.one", p);
  int one = tvb_scalar (b, n, 1.0f);
  snprintf (n, sizeof n, "%s.add", p);
  y = tvb_binary (b, "Add", n, y, one);
  snprintf (n, sizeof n, "%s.mul", p);
  y = tvb_binary (b, "Mul", n, x, y);
  snprintf (n, sizeof n, "%s.half", p);
  int half = tvb_scalar (b, n, 0.5f);
  return tvb_binary (b, "Mul", p, y, half);
}

/* CNBlock features.st.j. */
static int
cn_block (Builder *b, int x, int st, int j)
{
  char p[64], q[128];
  snprintf (p, sizeof p, "features.%d.%d", st, j);
  snprintf (q, sizeof q, "%s.block.0", p);
  int y = tvb_conv_bn_groups (b, x, q, NULL, 1, (int) (tvb_kernel_of (b, q) - 1) / 2, -1);
  snprintf (q, sizeof q, "%s.block.1", p);
  y = transpose (b, y, q, to_last);
  snprintf (q, sizeof q, "%s.block.2", p);
  y = layer_norm_last (b, y, q);
  snprintf (q, sizeof q, "%s.block.3", p);
  y = linear_last (b, y, q);
  snprintf (q, sizeof q, "%s.block.4", p);
  y = gelu (b, y, q);
  snprintf (q, sizeof q, "%s.block.5", p);
  y = linear_last (b, y, q);
  snprintf (q, sizeof q, "%s.block.6", p);
  y = transpose (b, y, q, to_first);
  int g = tvb_param (b, p, "layer_scale", 3);
  snprintf (q, sizeof q, "%s.scale", p);
  y = tvb_binary (b, "Mul", q, g, y);
  snprintf (q, sizeof q, "%s.add", p);
  return tvb_binary (b, "Add", q, y, x);
}

static int
blocks_in_stage (Builder *b, int st)
{
  int n = 0;
  while (n < 1000 && tvb_key_exists (b, "%d.%d", st, n, "layer_scale"))
    n++;
  return n;
}

GzStatus
gz_tv_build_convnext (Builder *b, int x, char *desc, size_t desc_len)
{
  static const int stages[4] = { 1, 3, 5, 7 };
  int depths[4];
  for (int s = 0; s < 4; s++)
    if ((depths[s] = blocks_in_stage (b, stages[s])) == 0)
      return gz_error_set (b->err, GZ_ERR_FORMAT,
                           "a ConvNeXt state dict without features.%d.0.layer_scale", stages[s]);
  const GzTensor *stem = gz_state_dict_get (b->sd, "features.0.0.weight");
  if (stem == NULL || stem->ndim != 4)
    return gz_error_set (b->err, GZ_ERR_FORMAT, "a ConvNeXt state dict without its stem");
  static const struct
  {
    const char *name;
    int64_t width;
    int third;
  } known[] = { { "convnext_tiny", 96, 9 },
                { "convnext_small", 96, 27 },
                { "convnext_base", 128, 27 },
                { "convnext_large", 192, 27 } };
  snprintf (desc, desc_len, "convnext (depths %d-%d-%d-%d, width %lld)", depths[0], depths[1],
            depths[2], depths[3], (long long) stem->dims[0]);
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (known[i].width == stem->dims[0] && known[i].third == depths[2] && depths[0] == 3
        && depths[1] == 3 && depths[3] == 3)
      snprintf (desc, desc_len, "%s", known[i].name);

  x = tvb_conv_bn (b, x, "features.0.0", NULL, 4, 0);
  x = layer_norm_2d (b, x, "features.0.1");
  char p[64];
  for (int s = 0; s < 4; s++)
    {
      if (s > 0)
        {
          snprintf (p, sizeof p, "features.%d.0", stages[s] - 1);
          x = layer_norm_2d (b, x, p);
          snprintf (p, sizeof p, "features.%d.1", stages[s] - 1);
          x = tvb_conv_bn (b, x, p, NULL, 2, 0);
        }
      for (int j = 0; j < depths[s]; j++)
        x = cn_block (b, x, stages[s], j);
      if (b->status != GZ_OK)
        return b->status;
    }
  x = tvb_unary (b, "GlobalAveragePool", "avgpool", x);
  x = layer_norm_2d (b, x, "classifier.0");
  AttrSpec ax = { "axis", 0, { 1 } };
  x = tvb_node (b, "Flatten", "classifier.1", 1, &x, 1, &ax);
  x = tvb_linear (b, x, "classifier.2");
  if (b->status == GZ_OK)
    b->g->output = x;
  return b->status;
}
