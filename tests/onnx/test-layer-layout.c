/* test-layer-layout.c — how a layer's tensor becomes a [C,h,w] map (issue 19)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Small graphs built here with the ONNX builder: a ViT-like patch embedding
 * with a class token (tokens [1,1+h·w,C]), a channels-last block between two
 * Transposes (Swin / ConvNeXt style), a [1,H,W,C]-sized tensor that the graph
 * gives no reason to read as channels-last (so it stays NCHW), and tensors of
 * the wrong shape, which are refused.
 */
#include <glib.h>
#include <string.h>

#include "gz-layer-layout.h"
#include "gz-model-private.h"
#include "onnx-builder.h"

#define IN(...) ((const char *const[]){ __VA_ARGS__, NULL })

static GzModel *
load (OnnxBuilder *b)
{
  size_t len;
  uint8_t *data = onnx_builder_pack (b, &len);
  GzModel *model = NULL;
  GzError err = { 0 };
  GzStatus st = gz_model_load_mem (data, len, NULL, NULL, &model, &err);
  free (data);
  if (st != GZ_OK)
    g_error ("load: %s", err.message);
  return model;
}

static const GzLayerLayout *
layout_of (const GzModel *model, const char *name)
{
  int v = gz_graph_find_value (model->graph, name);
  g_assert_cmpint (v, >=, 0);
  const GzLayerLayout *l = gz_model_layer_layout (model, v);
  g_assert_nonnull (l);
  return l;
}

static void
assert_layout (const GzLayerLayout *l, GzLayoutKind kind, int64_t c, int64_t h, int64_t w,
               int64_t skip)
{
  g_assert_cmpstr (gz_layer_layout_name (l->kind), ==, gz_layer_layout_name (kind));
  g_assert_cmpint (l->c, ==, c);
  g_assert_cmpint (l->h, ==, h);
  g_assert_cmpint (l->w, ==, w);
  g_assert_cmpint (l->skip, ==, skip);
}

/* The explainable layer that produces `output`, or NULL. */
static const GzNodeInfo *
layer_info (const GzModel *model, const char *output)
{
  for (int i = 0; i < gz_model_layer_count (model); i++)
    if (strcmp (gz_model_layer (model, i)->output, output) == 0)
      return gz_model_layer (model, i);
  return NULL;
}

/* X [1,3,8,8] → Conv 2×2 stride 2 (patches) → P [1,6,4,4] → Reshape [1,6,16]
 * → Transpose → S [1,16,6] → Concat (class token first) → T [1,17,6] →
 * LayerNormalization → L → Gather token 0 → Y [1,6]. */
static void
test_tokens (void)
{
  OnnxBuilder b;
  onnx_builder_init (&b, 17);
  int64_t xd[] = { 1, 3, 8, 8 };
  onnx_add_input (&b, "X", 4, xd);
  float w[6 * 3 * 2 * 2], cls[6], one[6], zero[6];
  for (int i = 0; i < 72; i++)
    w[i] = (float) ((i * 7) % 11) / 11.0f - 0.5f;
  for (int i = 0; i < 6; i++)
    {
      cls[i] = 0.1f * (float) i;
      one[i] = 1;
      zero[i] = 0;
    }
  onnx_add_initializer_f (&b, "W", 4, (int64_t[]){ 6, 3, 2, 2 }, w);
  onnx_add_initializer_f (&b, "cls", 3, (int64_t[]){ 1, 1, 6 }, cls);
  onnx_add_initializer_f (&b, "gamma", 1, (int64_t[]){ 6 }, one);
  onnx_add_initializer_f (&b, "beta", 1, (int64_t[]){ 6 }, zero);
  onnx_add_initializer_i64 (&b, "shape", 1, (int64_t[]){ 3 }, (int64_t[]){ 1, 6, 16 });
  onnx_add_initializer_i64 (&b, "idx", 0, NULL, (int64_t[]){ 0 });
  Onnx__NodeProto *conv = onnx_add_node (&b, "Conv", "patch", IN ("X", "W"), IN ("P"));
  onnx_attr_ints (&b, conv, "strides", 2, (int64_t[]){ 2, 2 });
  onnx_attr_ints (&b, conv, "kernel_shape", 2, (int64_t[]){ 2, 2 });
  onnx_add_node (&b, "Reshape", "flat", IN ("P", "shape"), IN ("F"));
  Onnx__NodeProto *tr = onnx_add_node (&b, "Transpose", "tokens", IN ("F"), IN ("S"));
  onnx_attr_ints (&b, tr, "perm", 3, (int64_t[]){ 0, 2, 1 });
  Onnx__NodeProto *cat = onnx_add_node (&b, "Concat", "with_cls", IN ("cls", "S"), IN ("T"));
  onnx_attr_int (&b, cat, "axis", 1);
  Onnx__NodeProto *ln
      = onnx_add_node (&b, "LayerNormalization", "norm", IN ("T", "gamma", "beta"), IN ("L"));
  onnx_attr_int (&b, ln, "axis", -1);
  Onnx__NodeProto *g = onnx_add_node (&b, "Gather", "cls_token", IN ("L", "idx"), IN ("Y"));
  onnx_attr_int (&b, g, "axis", 1);
  onnx_add_output (&b, "Y", 2, (int64_t[]){ 1, 6 });
  GzModel *model = load (&b);
  onnx_builder_clear (&b);

  /* The patch grid comes from the Conv: 4×4, one class token. */
  assert_layout (layout_of (model, "T"), GZ_LAYOUT_TOKENS, 6, 4, 4, 1);
  assert_layout (layout_of (model, "L"), GZ_LAYOUT_TOKENS, 6, 4, 4, 1);
  assert_layout (layout_of (model, "S"), GZ_LAYOUT_TOKENS, 6, 4, 4, 0);
  /* NCHW as it is. */
  assert_layout (layout_of (model, "P"), GZ_LAYOUT_NCHW, 6, 4, 4, 0);
  /* [1,6,16]: 6 tokens cannot hold a 4×4 grid: no map. */
  assert_layout (layout_of (model, "F"), GZ_LAYOUT_NONE, 0, 0, 0, 0);
  g_assert_null (layer_info (model, "F"));
  /* Listed as a layer with its map. */
  const GzNodeInfo *info = layer_info (model, "T");
  g_assert_nonnull (info);
  g_assert_cmpint (info->ndim, ==, 3);
  g_assert_cmpint (info->map[0], ==, 6);
  g_assert_cmpint (info->map[1], ==, 4);
  g_assert_cmpint (info->map[2], ==, 4);
  /* The ViT rule: nothing mixes the tokens after L (no attention), so the
   * automatic layer is the last token tensor before the head. */
  g_assert_cmpstr (gz_model_default_layer (model), ==, "L");

  /* Rearranged: map[k][p] = token (1 + p), channel k. */
  GzError err = { 0 };
  GzTensor *t = gz_tensor_new (GZ_DTYPE_FLOAT, 3, (int64_t[]){ 1, 17, 6 }, &err);
  float *d = gz_tensor_f (t);
  for (int n = 0; n < 17; n++)
    for (int k = 0; k < 6; k++)
      d[n * 6 + k] = (float) (n * 10 + k);
  GzTensor *m = gz_layer_to_map (layout_of (model, "T"), t, &err);
  g_assert_nonnull (m);
  g_assert_cmpint (m->ndim, ==, 4);
  g_assert_cmpint (m->dims[1], ==, 6);
  g_assert_cmpint (m->dims[2], ==, 4);
  g_assert_cmpint (m->dims[3], ==, 4);
  for (int k = 0; k < 6; k++)
    for (int p = 0; p < 16; p++)
      g_assert_cmpfloat (gz_tensor_f (m)[k * 16 + p], ==, (float) ((p + 1) * 10 + k));
  gz_tensor_free (m);
  gz_tensor_free (t);

  /* A tensor of the wrong shape is refused, with the expected shape named. */
  t = gz_tensor_new (GZ_DTYPE_FLOAT, 3, (int64_t[]){ 1, 16, 6 }, &err);
  char reason[200];
  g_assert_false (gz_layer_layout_fits (layout_of (model, "T"), t, reason, sizeof reason));
  g_assert_nonnull (strstr (reason, "[1,P+h·w,C]"));
  GzError err2 = { 0 };
  g_assert_null (gz_layer_to_map (layout_of (model, "T"), t, &err2));
  g_assert_cmpint (err2.code, ==, GZ_ERR_SHAPE);
  gz_tensor_free (t);
  gz_model_free (model);
}

/* X [1,3,4,5] → Transpose to channels-last → N [1,4,5,3] → Relu → R →
 * Transpose back → B [1,3,4,5] → ReduceMean over H,W → Y [1,3,1,1]. */
static void
test_channels_last (void)
{
  OnnxBuilder b;
  onnx_builder_init (&b, 17);
  onnx_add_input (&b, "X", 4, (int64_t[]){ 1, 3, 4, 5 });
  Onnx__NodeProto *t1 = onnx_add_node (&b, "Transpose", "to_nhwc", IN ("X"), IN ("N"));
  onnx_attr_ints (&b, t1, "perm", 4, (int64_t[]){ 0, 2, 3, 1 });
  onnx_add_node (&b, "Relu", "act", IN ("N"), IN ("R"));
  Onnx__NodeProto *t2 = onnx_add_node (&b, "Transpose", "to_nchw", IN ("R"), IN ("B"));
  onnx_attr_ints (&b, t2, "perm", 4, (int64_t[]){ 0, 3, 1, 2 });
  Onnx__NodeProto *rm = onnx_add_node (&b, "ReduceMean", "pool", IN ("B"), IN ("Y"));
  onnx_attr_ints (&b, rm, "axes", 2, (int64_t[]){ 2, 3 });
  onnx_add_output (&b, "Y", 4, (int64_t[]){ 1, 3, 1, 1 });
  GzModel *model = load (&b);
  onnx_builder_clear (&b);

  assert_layout (layout_of (model, "N"), GZ_LAYOUT_NHWC, 3, 4, 5, 0);
  assert_layout (layout_of (model, "R"), GZ_LAYOUT_NHWC, 3, 4, 5, 0);
  assert_layout (layout_of (model, "B"), GZ_LAYOUT_NCHW, 3, 4, 5, 0);
  const GzNodeInfo *info = layer_info (model, "R");
  g_assert_nonnull (info);
  g_assert_cmpint (info->map[0], ==, 3);
  g_assert_cmpint (info->map[1], ==, 4);
  g_assert_cmpint (info->map[2], ==, 5);

  /* Rearranged: map[k][y*5+x] = R[y][x][k]. */
  GzError err = { 0 };
  GzTensor *t = gz_tensor_new (GZ_DTYPE_FLOAT, 4, (int64_t[]){ 1, 4, 5, 3 }, &err);
  for (int i = 0; i < 60; i++)
    gz_tensor_f (t)[i] = (float) i;
  GzTensor *m = gz_layer_to_map (layout_of (model, "R"), t, &err);
  g_assert_nonnull (m);
  for (int k = 0; k < 3; k++)
    for (int p = 0; p < 20; p++)
      g_assert_cmpfloat (gz_tensor_f (m)[k * 20 + p], ==, (float) (p * 3 + k));
  gz_tensor_free (m);
  /* The NCHW-shaped tensor does not fit the channels-last layout. */
  GzTensor *wrong = gz_tensor_new (GZ_DTYPE_FLOAT, 4, (int64_t[]){ 1, 3, 4, 5 }, &err);
  GzError err2 = { 0 };
  g_assert_null (gz_layer_to_map (layout_of (model, "R"), wrong, &err2));
  g_assert_cmpint (err2.code, ==, GZ_ERR_SHAPE);
  gz_tensor_free (wrong);
  gz_tensor_free (t);
  gz_model_free (model);
}

/* X [1,4,5,3] → Relu → R → ReduceMean over axes 2,3: the same sizes as a
 * channels-last tensor, but nothing in the graph says so: NCHW. */
static void
test_sizes_alone (void)
{
  OnnxBuilder b;
  onnx_builder_init (&b, 17);
  onnx_add_input (&b, "X", 4, (int64_t[]){ 1, 4, 5, 3 });
  onnx_add_node (&b, "Relu", "act", IN ("X"), IN ("R"));
  Onnx__NodeProto *rm = onnx_add_node (&b, "ReduceMean", "pool", IN ("R"), IN ("Y"));
  onnx_attr_ints (&b, rm, "axes", 2, (int64_t[]){ 2, 3 });
  onnx_add_output (&b, "Y", 4, (int64_t[]){ 1, 4, 1, 1 });
  GzModel *model = load (&b);
  onnx_builder_clear (&b);
  assert_layout (layout_of (model, "R"), GZ_LAYOUT_NCHW, 4, 5, 3, 0);
  g_assert_cmpstr (gz_model_default_layer (model), ==, "R");
  gz_model_free (model);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/layer-layout/tokens", test_tokens);
  g_test_add_func ("/layer-layout/channels-last", test_channels_last);
  g_test_add_func ("/layer-layout/sizes-alone", test_sizes_alone);
  return g_test_run ();
}
