/* test-explain.c — the explanation methods on hand-built graphs and the shared models
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Kernels are checked against values derived by hand; whole explanations run
 * on tiny ONNX graphs built here (tests/common/onnx-builder.h) through the real loader and
 * operators, where the head makes the expected maps computable in closed form:
 * after global average pooling and one linear layer W, ∂y_c/∂A_k,ij = W_c,k / Z,
 * so Grad-CAM = HiResCAM = CAM / Z, and zeroing channel k lowers the logit by
 * exactly W_c,k · mean(A_k) (Ablation-CAM). The PyTorch comparison of every
 * method lives in tests/reference/test_explain.py.
 */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "gz-explain-private.h"
#include "onnx-builder.h"

/* ---- Small deterministic data ------------------------------------------ */

static float
rnd (guint32 *s)
{
  *s = *s * 1664525u + 1013904223u;
  return (float) (*s >> 8) / (float) (1u << 23) - 1.0f; /* [-1, 1) */
}

static void
fill (float *x, int n, guint32 seed, float scale, float offset)
{
  for (int i = 0; i < n; i++)
    x[i] = offset + scale * rnd (&seed);
}

static double
pearson (const float *a, const float *b, int64_t n)
{
  double ma = 0, mb = 0;
  for (int64_t i = 0; i < n; i++)
    ma += a[i], mb += b[i];
  ma /= (double) n, mb /= (double) n;
  double sab = 0, saa = 0, sbb = 0;
  for (int64_t i = 0; i < n; i++)
    {
      sab += (a[i] - ma) * (b[i] - mb);
      saa += (a[i] - ma) * (a[i] - ma);
      sbb += (b[i] - mb) * (b[i] - mb);
    }
  return sab / sqrt (saa * sbb);
}

/* The references' Σ_k w_k A_k, written here in double: a reference built
 * with gz_cam_weighted_sum would share any bug of the kernel under test. */
static void
weighted_sum_ref (int c, int64_t hw, const float *a, const float *w, float *out)
{
  for (int64_t p = 0; p < hw; p++)
    {
      double sum = 0;
      for (int k = 0; k < c; k++)
        sum += (double) w[k] * a[k * hw + p];
      out[p] = (float) sum;
    }
}

/* ---- Kernels ------------------------------------------------------------ */

static void
test_kernels_identity (void)
{
  /* With G_k = W_k / Z everywhere (a GAP + linear head), Grad-CAM and
   * HiResCAM are CAM / Z. */
  enum
  {
    C = 5,
    HW = 12
  };
  float a[C * HW], g[C * HW], w[C], cam[HW], cam_k[HW], gc[HW], hr[HW], wg[C];
  fill (a, C * HW, 1, 1.0f, 0.5f);
  fill (w, C, 2, 1.0f, 0.0f);
  for (int k = 0; k < C; k++)
    for (int p = 0; p < HW; p++)
      g[k * HW + p] = w[k] / HW;
  weighted_sum_ref (C, HW, a, w, cam);
  gz_cam_weighted_sum (C, HW, a, w, cam_k);
  gz_gradcam_weights (C, HW, g, wg);
  gz_cam_weighted_sum (C, HW, a, wg, gc);
  gz_hirescam_map (C, HW, a, g, hr);
  for (int p = 0; p < HW; p++)
    {
      g_assert_cmpfloat_with_epsilon (cam_k[p], cam[p], 1e-5);
      g_assert_cmpfloat_with_epsilon (gc[p] * HW, cam[p], 1e-5);
      g_assert_cmpfloat_with_epsilon (hr[p] * HW, cam[p], 1e-5);
    }
}

static void
test_kernels_formulas (void)
{
  /* One channel, four positions: A = [1,2,3,4] (S = 10), G = [0.5,-1,0,2]. */
  const float a[4] = { 1, 2, 3, 4 }, g[4] = { 0.5f, -1, 0, 2 };
  float w, map[4];

  /* Grad-CAM: mean G = 1.5/4. */
  gz_gradcam_weights (1, 4, g, &w);
  g_assert_cmpfloat_with_epsilon (w, 0.375, 1e-7);

  /* Grad-CAM++: a = G²/(2G² + S G³) at G > 0 (the others contribute
   * nothing): G = 0.5: 0.25/(0.5 + 1.25) = 1/7, times 0.5; G = 2: 4/(8 + 80)
   * = 1/22, times 2. */
  gz_gradcampp_weights (1, 4, a, g, &w);
  g_assert_cmpfloat_with_epsilon (w, 0.5 / 7 + 2.0 / 22, 1e-6);

  /* A zero denominator (2G² + S G³ = 0 ⇔ S = −2/G) gives a = 0, not inf:
   * S = −4 with G = 0.5. */
  const float a0[2] = { -1, -3 }, g0[2] = { 0.5f, 0.5f };
  gz_gradcampp_weights (1, 2, a0, g0, &w);
  g_assert_cmpfloat (w, ==, 0);

  /* XGrad-CAM: Σ A G / S = (0.5 − 2 + 0 + 8) / 10. */
  gz_xgradcam_weights (1, 4, a, g, &w);
  g_assert_cmpfloat_with_epsilon (w, 0.65, 1e-6);
  const float az[2] = { -1, 1 };
  gz_xgradcam_weights (1, 2, az, g, &w);
  g_assert_cmpfloat (w, ==, 0); /* S = 0 */

  /* HiResCAM: G·A = [0.5, -2, 0, 8]; LayerCAM: ReLU(G)·A = [0.5, 0, 0, 8]. */
  gz_hirescam_map (1, 4, a, g, map);
  g_assert_cmpfloat (map[1], ==, -2);
  g_assert_cmpfloat (map[3], ==, 8);
  gz_layercam_map (1, 4, a, g, map);
  g_assert_cmpfloat (map[0], ==, 0.5);
  g_assert_cmpfloat (map[1], ==, 0);
}

static void
test_kernels_eigencam (void)
{
  /* A rank-one activation A[k,p] = b_k s_p + m_k: centred per channel,
   * X = b (s − s̄)ᵀ, so the projection is |b| (s − s̄), with the sign that
   * makes Σ v ≥ 0 (here Σ b > 0, so + (s − s̄)). Both Gram paths: C < HW
   * and C > HW. */
  for (int round = 0; round < 2; round++)
    {
      int c = round == 0 ? 3 : 9, hw = round == 0 ? 8 : 4;
      float b[9], s[8], m[9], a[72], out[8];
      fill (b, c, 7, 1.0f, 0.2f);
      b[0] = 2.0f; /* Σ b > 0 */
      fill (s, hw, 8, 1.0f, 0.0f);
      fill (m, c, 9, 3.0f, 0.0f);
      for (int k = 0; k < c; k++)
        for (int p = 0; p < hw; p++)
          a[k * hw + p] = b[k] * s[p] + m[k];
      double sb = 0, nb = 0, ms = 0;
      for (int k = 0; k < c; k++)
        sb += b[k], nb += b[k] * b[k];
      for (int p = 0; p < hw; p++)
        ms += s[p];
      ms /= hw;
      g_assert_cmpfloat (sb, >, 0);
      g_assert_cmpint (gz_eigencam_map (c, hw, a, out, NULL), ==, GZ_OK);
      for (int p = 0; p < hw; p++)
        g_assert_cmpfloat_with_epsilon (out[p], sqrt (nb) * (s[p] - ms), 1e-4);
    }
}

static void
test_normalise (void)
{
  float flat[6] = { 3, 3, 3, 3, 3, 3 };
  gz_explain_normalise (flat, 6);
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat (flat[i], ==, 0);
  float x[3] = { 1, 2, 5 };
  gz_explain_normalise (x, 3);
  g_assert_cmpfloat (x[0], ==, 0);
  g_assert_cmpfloat_with_epsilon (x[1], 0.25, 1e-6);
  g_assert_cmpfloat_with_epsilon (x[2], 1.0, 1e-6);
}

static void
test_names (void)
{
  for (int m = 0; m < GZ_METHOD_COUNT; m++)
    {
      GzMethod back;
      g_assert_true (gz_method_from_name (gz_method_name ((GzMethod) m), &back));
      g_assert_cmpint (back, ==, m);
    }
  GzMethod m;
  g_assert_true (gz_method_from_name ("gradcam++", &m));
  g_assert_cmpint (m, ==, GZ_METHOD_GRADCAM_PP);
  g_assert_false (gz_method_from_name ("gradcam+", &m));
  g_assert_false (gz_method_from_name (NULL, &m));
}

/* ---- Tiny models -------------------------------------------------------- */

enum
{
  IN_C = 3,
  IN_H = 8,
  IN_W = 8,
  MID = 4
};

typedef enum
{
  NET_GAP, /* Conv → Relu (layer) → GAP → Flatten → Gemm */
  NET_RESIDUAL, /* Conv → Relu (x0) → Conv → Relu (layer) → Add(layer, x0) → GAP → Flatten → Gemm */
  NET_FLAT, /* NET_GAP with zero conv weights: a constant layer */
  NET_CONVHEAD, /* Conv → Relu (layer) → GAP → 1×1 Conv: logits [N,K,1,1] */
} NetKind;

static void
add_conv (OnnxBuilder *b, const char *name, const char *in, const char *out, int cin, int cout,
          guint32 seed, gboolean zero)
{
  int64_t wd[4] = { cout, cin, 3, 3 }, bd[1] = { cout };
  float w[MID * MID * 9], bias[MID];
  fill (w, cout * cin * 9, seed, 0.5f, 0.05f);
  fill (bias, cout, seed + 1, 0.2f, 0.1f);
  if (zero)
    {
      memset (w, 0, sizeof w);
      for (int i = 0; i < cout; i++)
        bias[i] = 1.0f + i;
    }
  g_autofree char *wn = g_strconcat (name, ".w", NULL);
  g_autofree char *bn = g_strconcat (name, ".b", NULL);
  onnx_add_initializer_f (b, wn, 4, wd, w);
  onnx_add_initializer_f (b, bn, 1, bd, bias);
  const int64_t k[2] = { 3, 3 }, pads[4] = { 1, 1, 1, 1 };
  Onnx__NodeProto *conv
      = onnx_add_node (b, "Conv", name, ONNX_NAMES (in, wn, bn), ONNX_NAMES (out));
  onnx_attr_ints (b, conv, "kernel_shape", 2, k);
  onnx_attr_ints (b, conv, "pads", 4, pads);
}

/* Fixed-batch exports (issue 19): tiny_batch is the declared batch (-1:
 * dynamic); tiny_baked_reshape flattens with Reshape to a constant [1, MID],
 * as torch.onnx.export does for x.view(1, -1) without dynamic axes. */
static int64_t tiny_batch = -1;
static gboolean tiny_baked_reshape = FALSE;

/* The head: GAP(in) → Flatten → Gemm to n_out classes (weights returned). */
static void
add_head (OnnxBuilder *b, const char *in, int n_out, float *fc)
{
  int64_t wd[2] = { n_out, MID }, bd[1] = { n_out };
  float bias[8];
  fill (fc, n_out * MID, 99, 1.0f, 0.0f);
  fill (bias, n_out, 98, 0.3f, 0.0f);
  onnx_add_initializer_f (b, "fc.w", 2, wd, fc);
  onnx_add_initializer_f (b, "fc.b", 1, bd, bias);
  onnx_add_node (b, "GlobalAveragePool", "gap", ONNX_NAMES (in), ONNX_NAMES ("pooled"));
  if (tiny_baked_reshape)
    {
      const int64_t sd[1] = { 2 }, shape[2] = { 1, MID };
      onnx_add_initializer_i64 (b, "flat.shape", 1, sd, shape);
      onnx_add_node (b, "Reshape", "flatten", ONNX_NAMES ("pooled", "flat.shape"),
                     ONNX_NAMES ("flat"));
    }
  else
    onnx_attr_int (
        b, onnx_add_node (b, "Flatten", "flatten", ONNX_NAMES ("pooled"), ONNX_NAMES ("flat")),
        "axis", 1);
  onnx_attr_int (
      b,
      onnx_add_node (b, "Gemm", "fc", ONNX_NAMES ("flat", "fc.w", "fc.b"), ONNX_NAMES ("logits")),
      "transB", 1);
}

/* Builds and loads a tiny model; fc receives the [n_out, MID] head weights. */
static GzModel *
tiny_model (NetKind kind, int n_out, float *fc)
{
  OnnxBuilder b;
  onnx_builder_init (&b, 13);
  const int64_t in_dims[4] = { tiny_batch, IN_C, IN_H, IN_W };
  const int64_t out_dims[4] = { tiny_batch, n_out, 1, 1 };
  onnx_add_input (&b, "input", 4, in_dims);
  if (kind == NET_CONVHEAD)
    {
      add_conv (&b, "conv0", "input", "c0", IN_C, MID, 11, FALSE);
      onnx_add_node (&b, "Relu", "relu0", ONNX_NAMES ("c0"), ONNX_NAMES ("layer"));
      onnx_add_node (&b, "GlobalAveragePool", "gap", ONNX_NAMES ("layer"), ONNX_NAMES ("pooled"));
      int64_t wd[4] = { n_out, MID, 1, 1 };
      fill (fc, n_out * MID, 97, 1.0f, 0.0f);
      onnx_add_initializer_f (&b, "head.w", 4, wd, fc);
      onnx_add_node (&b, "Conv", "head", ONNX_NAMES ("pooled", "head.w"), ONNX_NAMES ("logits"));
    }
  else if (kind == NET_RESIDUAL)
    {
      add_conv (&b, "conv0", "input", "c0", IN_C, MID, 11, FALSE);
      onnx_add_node (&b, "Relu", "relu0", ONNX_NAMES ("c0"), ONNX_NAMES ("x0"));
      add_conv (&b, "conv1", "x0", "c1", MID, MID, 21, FALSE);
      onnx_add_node (&b, "Relu", "relu1", ONNX_NAMES ("c1"), ONNX_NAMES ("layer"));
      onnx_add_node (&b, "Add", "add", ONNX_NAMES ("layer", "x0"), ONNX_NAMES ("sum"));
      add_head (&b, "sum", n_out, fc);
    }
  else
    {
      add_conv (&b, "conv0", "input", "c0", IN_C, MID, 11, kind == NET_FLAT);
      onnx_add_node (&b, "Relu", "relu0", ONNX_NAMES ("c0"), ONNX_NAMES ("layer"));
      add_head (&b, "layer", n_out, fc);
    }
  onnx_add_output (&b, "logits", kind == NET_CONVHEAD ? 4 : 2, out_dims);
  size_t len;
  g_autofree uint8_t *data = onnx_builder_pack (&b, &len);
  onnx_builder_clear (&b);
  GzModel *model = NULL;
  GzError err = { 0 };
  GzStatus st = gz_model_load_mem (data, len, NULL, NULL, &model, &err);
  if (st != GZ_OK)
    g_error ("tiny model: %s", err.message);
  return model;
}

static GzTensor *
tiny_input (guint32 seed)
{
  int64_t dims[4] = { 1, IN_C, IN_H, IN_W };
  GzTensor *t = gz_tensor_new (GZ_DTYPE_FLOAT, 4, dims, NULL);
  fill (gz_tensor_f (t), IN_C * IN_H * IN_W, seed, 1.0f, 0.0f);
  return t;
}

/* A session that ran the forward of `input` keeping `keep`. */
static GzSession *
session_on (const GzModel *model, const GzTensor *input, const char *keep)
{
  GzSession *s = NULL;
  GzError err = { 0 };
  g_assert_cmpint (gz_session_new (model, &s, &err), ==, GZ_OK);
  if (gz_session_forward (s, input, keep, &err) != GZ_OK)
    g_error ("forward: %s", err.message);
  return s;
}

static GzExplanation *
explain (GzSession *s, GzMethod method, int class_index, const char *layer)
{
  GzExplainOptions opt = GZ_EXPLAIN_OPTIONS_INIT;
  opt.method = method;
  opt.class_index = class_index;
  opt.layer = layer;
  GzExplanation *ex = NULL;
  GzError err = { 0 };
  if (gz_explain (s, &opt, &ex, &err) != GZ_OK)
    g_error ("%s: %s", gz_method_name (method), err.message);
  g_assert_cmpint (ex->map->ndim, ==, 2);
  g_assert_cmpint (ex->map->dims[0], ==, IN_H);
  g_assert_cmpint (ex->map->dims[1], ==, IN_W);
  for (int64_t i = 0; i < IN_H * IN_W; i++)
    {
      float v = gz_tensor_f (ex->map)[i];
      g_assert_true (v >= 0 && v <= 1);
    }
  return ex;
}

static void
test_tiny_cam_identity (void)
{
  float fc[3 * MID];
  GzModel *model = tiny_model (NET_GAP, 3, fc);
  g_assert_cmpstr (gz_model_default_layer (model), ==, "layer");
  GzTensor *x = tiny_input (5);
  GzSession *s = session_on (model, x, "layer");
  for (int c = 0; c < 3; c++)
    {
      GzExplanation *cam = explain (s, GZ_METHOD_CAM, c, NULL);
      GzExplanation *gc = explain (s, GZ_METHOD_GRADCAM, c, "auto");
      GzExplanation *hr = explain (s, GZ_METHOD_HIRESCAM, c, "layer");
      g_assert_cmpint (cam->class_index, ==, c);
      int64_t z = IN_H * IN_W; /* the layer keeps the input's resolution */
      g_assert_cmpint (gz_tensor_numel (cam->raw), ==, z);
      for (int64_t i = 0; i < z; i++)
        {
          float ref = gz_tensor_f (cam->raw)[i];
          g_assert_cmpfloat_with_epsilon (gz_tensor_f (gc->raw)[i] * z, ref, 1e-4);
          g_assert_cmpfloat_with_epsilon (gz_tensor_f (hr->raw)[i] * z, ref, 1e-4);
          g_assert_cmpfloat_with_epsilon (gz_tensor_f (gc->map)[i], gz_tensor_f (cam->map)[i],
                                          1e-5);
        }
      /* CAM by hand: Σ_k W_c,k A_k. */
      const GzTensor *a = gz_session_value (s, "layer");
      for (int64_t p = 0; p < z; p++)
        {
          double ref = 0;
          for (int k = 0; k < MID; k++)
            ref += fc[c * MID + k] * gz_tensor_f (a)[k * z + p];
          g_assert_cmpfloat_with_epsilon (gz_tensor_f (cam->raw)[p], ref, 1e-4);
        }
      gz_explanation_free (cam);
      gz_explanation_free (gc);
      gz_explanation_free (hr);
    }
  gz_session_free (s);
  gz_tensor_free (x);
  gz_model_free (model);
}

static void
test_tiny_class_switch (void)
{
  float fc[3 * MID];
  GzModel *model = tiny_model (NET_GAP, 3, fc);
  GzTensor *x = tiny_input (6);
  GzSession *s = session_on (model, x, "layer");
  uint64_t forwards = gz_session_forward_count (s);
  const GzMethod methods[]
      = { GZ_METHOD_GRADCAM,  GZ_METHOD_GRADCAM_PP, GZ_METHOD_XGRADCAM, GZ_METHOD_HIRESCAM,
          GZ_METHOD_LAYERCAM, GZ_METHOD_EIGENCAM,   GZ_METHOD_CAM,      GZ_METHOD_ABLATIONCAM };
  for (size_t m = 0; m < G_N_ELEMENTS (methods); m++)
    for (int c = 0; c < 3; c++)
      {
        GzExplanation *ex = explain (s, methods[m], c, NULL);
        g_assert_cmpfloat (ex->forward_ms, ==, 0);
        gz_explanation_free (ex);
      }
  g_assert_cmpuint (gz_session_forward_count (s), ==, forwards);

  /* A guided method needs every activation: one forward, then reused. */
  GzExplanation *ex = explain (s, GZ_METHOD_GUIDED_BACKPROP, 1, NULL);
  g_assert_cmpuint (gz_session_forward_count (s), ==, forwards + 1);
  gz_explanation_free (ex);
  ex = explain (s, GZ_METHOD_GUIDED_GRADCAM, 2, NULL);
  gz_explanation_free (ex);
  ex = explain (s, GZ_METHOD_GRADCAM, 0, NULL); /* "*" covers the layer too */
  gz_explanation_free (ex);
  g_assert_cmpuint (gz_session_forward_count (s), ==, forwards + 1);

  /* A session whose forward kept nothing gets one forward from gz_explain. */
  GzSession *bare = session_on (model, x, NULL);
  ex = explain (bare, GZ_METHOD_GRADCAM, 0, NULL);
  g_assert_cmpuint (gz_session_forward_count (bare), ==, 2);
  gz_explanation_free (ex);
  ex = explain (bare, GZ_METHOD_GRADCAM, 1, NULL);
  g_assert_cmpuint (gz_session_forward_count (bare), ==, 2);
  gz_explanation_free (ex);

  gz_session_free (bare);
  gz_session_free (s);
  gz_tensor_free (x);
  gz_model_free (model);
}

static void
test_tiny_layer_switch (void)
{
  /* A forward that kept an earlier layer covers every later one: the backward
   * path from the output to a later layer is part of the earlier one's. */
  float fc[3 * MID];
  GzModel *model = tiny_model (NET_RESIDUAL, 3, fc);
  GzTensor *x = tiny_input (15);
  GzSession *s = session_on (model, x, "x0");
  GzExplanation *ex = explain (s, GZ_METHOD_GRADCAM, 0, "layer");
  gz_explanation_free (ex);
  ex = explain (s, GZ_METHOD_LAYERCAM, 1, "sum");
  gz_explanation_free (ex);
  ex = explain (s, GZ_METHOD_EIGENCAM, 1, "c1");
  gz_explanation_free (ex);
  g_assert_cmpuint (gz_session_forward_count (s), ==, 1);
  /* An earlier layer than the kept one needs a forward; gz_explain then
   * keeps everything (the model is small), so further switches are free. */
  ex = explain (s, GZ_METHOD_GRADCAM, 0, "c0");
  g_assert_cmpfloat (ex->forward_ms, >, 0);
  gz_explanation_free (ex);
  g_assert_cmpuint (gz_session_forward_count (s), ==, 2);
  g_assert_cmpstr (gz_session_keep (s), ==, "*");
  ex = explain (s, GZ_METHOD_HIRESCAM, 2, "x0");
  gz_explanation_free (ex);
  ex = explain (s, GZ_METHOD_GUIDED_GRADCAM, 2, "layer");
  gz_explanation_free (ex);
  g_assert_cmpuint (gz_session_forward_count (s), ==, 2);
  gz_session_free (s);
  gz_tensor_free (x);
  gz_model_free (model);
}

static void
test_tiny_conv_head (void)
{
  /* Logits shaped [1,K,1,1] (a 1×1-conv classifier): gradients still flow,
   * and Grad-CAM is the head applied per location, over Z; CAM refuses. */
  float w[3 * MID];
  GzModel *model = tiny_model (NET_CONVHEAD, 3, w);
  GzTensor *x = tiny_input (16);
  GzSession *s = session_on (model, x, "layer");
  g_assert_false (gz_method_applicable (model, GZ_METHOD_CAM, "layer", NULL, 0));
  GzExplanation *ex = explain (s, GZ_METHOD_GRADCAM, 1, "layer");
  const GzTensor *a = gz_session_value (s, "layer");
  int64_t z = IN_H * IN_W;
  for (int64_t p = 0; p < z; p++)
    {
      double ref = 0;
      for (int k = 0; k < MID; k++)
        ref += w[1 * MID + k] * gz_tensor_f (a)[k * z + p];
      g_assert_cmpfloat_with_epsilon (gz_tensor_f (ex->raw)[p] * z, ref, 1e-4);
    }
  gz_explanation_free (ex);
  gz_session_free (s);
  gz_tensor_free (x);
  gz_model_free (model);
}

static void
test_tiny_target (void)
{
  float fc[3 * MID];
  GzModel *model = tiny_model (NET_GAP, 3, fc);
  GzTensor *x = tiny_input (7);
  GzSession *s = session_on (model, x, "layer");
  const float *l = gz_tensor_f (gz_session_output (s));
  int top = 0;
  for (int k = 1; k < 3; k++)
    if (l[k] > l[top])
      top = k;
  GzExplanation *ex = explain (s, GZ_METHOD_GRADCAM, -1, NULL);
  g_assert_cmpint (ex->class_index, ==, top);
  g_assert_cmpfloat (ex->logit, ==, l[top]);
  double sum = 0;
  for (int k = 0; k < 3; k++)
    sum += exp (l[k] - l[top]);
  g_assert_cmpfloat_with_epsilon (ex->probability, 1.0 / sum, 1e-6);
  g_assert_cmpstr (ex->layer, ==, "layer");
  gz_explanation_free (ex);

  GzExplainOptions opt = GZ_EXPLAIN_OPTIONS_INIT;
  GzError err = { 0 };
  opt.class_index = 3;
  g_assert_cmpint (gz_explain (s, &opt, &ex, &err), ==, GZ_ERR_ARGUMENT);
  g_assert_null (ex);
  opt.class_index = -1;
  opt.negative = TRUE; /* only for single-output models */
  g_assert_cmpint (gz_explain (s, &opt, &ex, &err), ==, GZ_ERR_ARGUMENT);
  opt.negative = FALSE;
  opt.layer = "no-such-layer";
  g_assert_cmpint (gz_explain (s, &opt, &ex, &err), ==, GZ_ERR_NOT_APPLICABLE);
  g_assert_nonnull (strstr (err.message, "no-such-layer"));

  GzSession *fresh = NULL;
  g_assert_cmpint (gz_session_new (model, &fresh, &err), ==, GZ_OK);
  opt.layer = NULL;
  g_assert_cmpint (gz_explain (fresh, &opt, &ex, &err), ==, GZ_ERR_ARGUMENT);
  gz_session_free (fresh);

  gz_session_free (s);
  gz_tensor_free (x);
  gz_model_free (model);
}

static void
test_tiny_sigmoid (void)
{
  float fc[MID];
  GzModel *model = tiny_model (NET_GAP, 1, fc);
  GzTensor *x = tiny_input (8);
  GzSession *s = session_on (model, x, "layer");
  float logit = gz_tensor_f (gz_session_output (s))[0];
  GzExplainOptions opt = GZ_EXPLAIN_OPTIONS_INIT;
  GzExplanation *pos = NULL, *neg = NULL;
  GzError err = { 0 };
  g_assert_cmpint (gz_explain (s, &opt, &pos, &err), ==, GZ_OK);
  opt.negative = TRUE;
  g_assert_cmpint (gz_explain (s, &opt, &neg, &err), ==, GZ_OK);
  g_assert_cmpfloat (pos->logit, ==, logit);
  g_assert_cmpfloat_with_epsilon (pos->probability, 1 / (1 + exp (-logit)), 1e-6);
  g_assert_cmpfloat_with_epsilon (neg->probability, 1 - pos->probability, 1e-6);
  for (int64_t i = 0; i < gz_tensor_numel (pos->raw); i++)
    g_assert_cmpfloat_with_epsilon (gz_tensor_f (neg->raw)[i], -gz_tensor_f (pos->raw)[i], 1e-6);
  gz_explanation_free (pos);
  gz_explanation_free (neg);
  opt.negative = FALSE;
  opt.class_index = 1;
  g_assert_cmpint (gz_explain (s, &opt, &pos, &err), ==, GZ_ERR_ARGUMENT);
  gz_session_free (s);
  gz_tensor_free (x);
  gz_model_free (model);
}

static void
test_tiny_flat (void)
{
  /* A constant layer: every gradient map is flat, and flat maps normalise to
   * zeros, never NaN. */
  float fc[3 * MID];
  GzModel *model = tiny_model (NET_FLAT, 3, fc);
  GzTensor *x = tiny_input (9);
  GzSession *s = session_on (model, x, "layer");
  const GzMethod methods[] = { GZ_METHOD_CAM, GZ_METHOD_GRADCAM, GZ_METHOD_HIRESCAM,
                               GZ_METHOD_EIGENCAM, GZ_METHOD_SCORECAM };
  for (size_t m = 0; m < G_N_ELEMENTS (methods); m++)
    {
      GzExplanation *ex = explain (s, methods[m], 0, NULL);
      for (int64_t i = 0; i < gz_tensor_numel (ex->map); i++)
        g_assert_cmpfloat (gz_tensor_f (ex->map)[i], ==, 0);
      g_assert_true (isfinite (ex->raw_min) && isfinite (ex->raw_max));
      gz_explanation_free (ex);
    }
  gz_session_free (s);
  gz_tensor_free (x);
  gz_model_free (model);
}

static void
test_tiny_ablation (void)
{
  /* On both graphs the layer's channel k reaches the logit only through
   * mean(A_k) · W_c,k (the residual adds x0, which does not change), so
   * y − y_k = W_c,k mean(A_k) and w_k = W_c,k mean(A_k) / y. On the residual
   * graph the tail re-reads x0 from the session. */
  for (int kind = 0; kind < 2; kind++)
    {
      float fc[3 * MID];
      GzModel *model = tiny_model (kind == 0 ? NET_GAP : NET_RESIDUAL, 3, fc);
      GzTensor *x = tiny_input (10);
      GzSession *s = session_on (model, x, "layer");
      int c = 2;
      GzExplanation *ex = explain (s, GZ_METHOD_ABLATIONCAM, c, "layer");
      const GzTensor *a = gz_session_value (s, "layer");
      int64_t z = a->dims[2] * a->dims[3];
      float w[MID], ref[IN_H * IN_W];
      for (int k = 0; k < MID; k++)
        {
          double mean = 0;
          for (int64_t p = 0; p < z; p++)
            mean += gz_tensor_f (a)[k * z + p];
          mean /= (double) z;
          w[k] = (float) (fc[c * MID + k] * mean / ex->logit);
        }
      weighted_sum_ref (MID, z, gz_tensor_f (a), w, ref);
      for (int64_t p = 0; p < z; p++)
        g_assert_cmpfloat_with_epsilon (gz_tensor_f (ex->raw)[p], ref[p],
                                        1e-4 * (1 + fabsf (ref[p])));
      gz_explanation_free (ex);
      gz_session_free (s);
      gz_tensor_free (x);
      gz_model_free (model);
    }
}

/* Ablation-CAM on fixed-batch exports: the same map at any batch size as one
 * copy at a time, whether the part after the layer takes a batch (Flatten)
 * or has the 1 baked in (Reshape to [1, MID]: falls back to one at a time). */
static void
test_tiny_ablation_fixed_batch (void)
{
  for (int baked = 0; baked < 2; baked++)
    for (int kind = 0; kind < 2; kind++)
      {
        float fc[3 * MID];
        tiny_batch = 1;
        tiny_baked_reshape = baked;
        GzModel *model = tiny_model (kind == 0 ? NET_GAP : NET_RESIDUAL, 3, fc);
        tiny_batch = -1;
        tiny_baked_reshape = FALSE;
        GzTensor *x = tiny_input (10);
        GzExplanation *ex[2] = { NULL, NULL };
        for (int one = 0; one < 2; one++)
          {
            GzSession *s = session_on (model, x, "layer");
            GzExplainOptions opt = GZ_EXPLAIN_OPTIONS_INIT;
            opt.method = GZ_METHOD_ABLATIONCAM;
            opt.class_index = 2;
            opt.layer = "layer";
            opt.batch_size = one ? 1 : 3; /* batches of 3 and 1 over 4 channels */
            GzError err = { 0 };
            if (gz_explain (s, &opt, &ex[one], &err) != GZ_OK)
              g_error ("ablation, fixed batch, baked %d, kind %d: %s", baked, kind, err.message);
            gz_session_free (s);
          }
        for (int64_t i = 0; i < gz_tensor_numel (ex[0]->raw); i++)
          g_assert_cmpfloat (gz_tensor_f (ex[0]->raw)[i], ==, gz_tensor_f (ex[1]->raw)[i]);
        g_assert_cmpfloat (fabsf (gz_tensor_f (ex[0]->raw)[0]) + fabsf (ex[0]->logit), >, 0.0f);
        gz_explanation_free (ex[0]);
        gz_explanation_free (ex[1]);
        gz_tensor_free (x);
        gz_model_free (model);
      }
}

/* Score-CAM's batched forwards on fixed-batch exports: a batch of 3 through a
 * model declared [1, C, H, W] gives each image's own logits when nothing has
 * the 1 baked in, is refused (GZ_ERR_SHAPE) when a Reshape has; Score-CAM's
 * map is the same at batch 3 as at batch 1 either way. */
static void
test_tiny_scorecam_fixed_batch (void)
{
  for (int baked = 0; baked < 2; baked++)
    {
      float fc[3 * MID];
      tiny_batch = 1;
      tiny_baked_reshape = baked;
      GzModel *model = tiny_model (NET_RESIDUAL, 3, fc);
      tiny_batch = -1;
      tiny_baked_reshape = FALSE;
      int64_t dims[4] = { 3, IN_C, IN_H, IN_W };
      GzTensor *xb = gz_tensor_new (GZ_DTYPE_FLOAT, 4, dims, NULL);
      int64_t per = IN_C * IN_H * IN_W;
      float single[3][3];
      GzSession *s = NULL;
      GzError err = { 0 };
      g_assert_cmpint (gz_session_new (model, &s, &err), ==, GZ_OK);
      for (int i = 0; i < 3; i++)
        {
          GzTensor *x = tiny_input (20 + i);
          memcpy (gz_tensor_f (xb) + i * per, gz_tensor_f (x), (size_t) per * sizeof (float));
          g_assert_cmpint (gz_session_forward (s, x, NULL, &err), ==, GZ_OK);
          memcpy (single[i], gz_tensor_f (gz_session_output (s)), sizeof single[i]);
          gz_tensor_free (x);
        }
      GzStatus st = gz_session_forward (s, xb, NULL, &err);
      if (baked)
        g_assert_cmpint (st, ==, GZ_ERR_SHAPE);
      else
        {
          g_assert_cmpint (st, ==, GZ_OK);
          const GzTensor *y = gz_session_output (s);
          g_assert_cmpint (y->dims[0], ==, 3);
          for (int i = 0; i < 3; i++)
            for (int k = 0; k < 3; k++)
              g_assert_cmpfloat_with_epsilon (gz_tensor_f (y)[i * 3 + k], single[i][k], 1e-5);
        }
      gz_session_free (s);
      gz_tensor_free (xb);

      GzTensor *x = tiny_input (12);
      GzExplanation *ex[2] = { NULL, NULL };
      for (int one = 0; one < 2; one++)
        {
          GzSession *s1 = session_on (model, x, "layer");
          GzExplainOptions opt = GZ_EXPLAIN_OPTIONS_INIT;
          opt.method = GZ_METHOD_SCORECAM;
          opt.class_index = 1;
          opt.layer = "layer";
          opt.batch_size = one ? 1 : 3;
          if (gz_explain (s1, &opt, &ex[one], &err) != GZ_OK)
            g_error ("scorecam, fixed batch, baked %d: %s", baked, err.message);
          gz_session_free (s1);
        }
      for (int64_t i = 0; i < gz_tensor_numel (ex[0]->raw); i++)
        g_assert_cmpfloat_with_epsilon (gz_tensor_f (ex[0]->raw)[i], gz_tensor_f (ex[1]->raw)[i],
                                        1e-5);
      gz_explanation_free (ex[0]);
      gz_explanation_free (ex[1]);
      gz_tensor_free (x);
      gz_model_free (model);
    }
}

/* Issue 16's pixel attributions on the residual net: Occlusion with one
 * window over the whole input is y(x) − y(0) everywhere; Integrated
 * Gradients nearly satisfies completeness (the JSON's completeness_error);
 * batches of 1 (a fixed-batch export) give the maps of larger batches; the
 * methods that run their own forwards refuse SmoothGrad. */
static void
test_tiny_attributions (void)
{
  for (int fixed = 0; fixed < 2; fixed++)
    {
      float fc[3 * MID];
      tiny_batch = fixed ? 1 : -1;
      GzModel *model = tiny_model (NET_RESIDUAL, 3, fc);
      tiny_batch = -1;
      GzTensor *x = tiny_input (31);
      int64_t dims[4] = { 1, IN_C, IN_H, IN_W };
      GzTensor *zero = gz_tensor_new (GZ_DTYPE_FLOAT, 4, dims, NULL);
      GzSession *z = session_on (model, zero, NULL);
      float y0 = gz_tensor_f (gz_session_output (z))[1];
      GzSession *s = session_on (model, x, "layer");
      float y = gz_tensor_f (gz_session_output (s))[1];
      GzError err = { 0 };
      GzExplainOptions opt = GZ_EXPLAIN_OPTIONS_INIT;
      opt.class_index = 1;

      opt.method = GZ_METHOD_OCCLUSION;
      opt.occlusion_window = 100; /* clipped to the input: one window */
      opt.occlusion_stride = 3;
      GzExplanation *occ = NULL;
      if (gz_explain (s, &opt, &occ, &err) != GZ_OK)
        g_error ("occlusion: %s", err.message);
      g_assert_cmpint (occ->forwards, ==, 1);
      for (int64_t i = 0; i < IN_H * IN_W; i++)
        g_assert_cmpfloat_with_epsilon (gz_tensor_f (occ->raw)[i], y - y0, 1e-5);
      gz_explanation_free (occ);

      /* 4×4 windows in steps of 2 on 8×8: 3×3 windows, corners covered once. */
      opt.occlusion_window = 4;
      opt.occlusion_stride = 2;
      GzExplanation *o[2] = { NULL, NULL };
      for (int b = 0; b < 2; b++)
        {
          opt.batch_size = b ? 1 : 9;
          if (gz_explain (s, &opt, &o[b], &err) != GZ_OK)
            g_error ("occlusion, batch %d: %s", opt.batch_size, err.message);
          g_assert_cmpint (o[b]->forwards, ==, 9);
        }
      for (int64_t i = 0; i < IN_H * IN_W; i++)
        g_assert_cmpfloat_with_epsilon (gz_tensor_f (o[0]->raw)[i], gz_tensor_f (o[1]->raw)[i],
                                        1e-5);
      gz_explanation_free (o[0]);
      gz_explanation_free (o[1]);
      opt.occlusion_window = opt.occlusion_stride = 0;

      opt.method = GZ_METHOD_INTEGRATED_GRADIENTS;
      GzExplanation *ig[2] = { NULL, NULL };
      for (int b = 0; b < 2; b++)
        {
          opt.batch_size = b ? 1 : 16;
          if (gz_explain (s, &opt, &ig[b], &err) != GZ_OK)
            g_error ("integrated gradients, batch %d: %s", opt.batch_size, err.message);
          g_assert_cmpint (ig[b]->forwards, ==, 50);
          double sum = 0;
          for (int64_t i = 0; i < IN_H * IN_W; i++)
            sum += gz_tensor_f (ig[b]->raw)[i];
          /* The reported error is what the raw map's sum misses. */
          g_assert_cmpfloat_with_epsilon (ig[b]->completeness_error, sum - (y - y0), 1e-4);
          g_assert_cmpfloat (fabs (ig[b]->completeness_error), <=, 0.02 * fabs (y - y0) + 1e-4);
        }
      for (int64_t i = 0; i < IN_H * IN_W; i++)
        g_assert_cmpfloat_with_epsilon (gz_tensor_f (ig[0]->raw)[i], gz_tensor_f (ig[1]->raw)[i],
                                        1e-5);
      gz_explanation_free (ig[0]);
      gz_explanation_free (ig[1]);
      opt.batch_size = 0;

      /* Saliency and Input × Gradient: one backward, NaN completeness. */
      GzExplanation *sal = explain (s, GZ_METHOD_SALIENCY, 1, NULL);
      GzExplanation *ixg = explain (s, GZ_METHOD_INPUTXGRAD, 1, NULL);
      g_assert_true (isnan (sal->completeness_error));
      for (int64_t i = 0; i < IN_H * IN_W; i++)
        g_assert_cmpfloat (gz_tensor_f (sal->raw)[i], >=, 0);
      gz_explanation_free (sal);
      gz_explanation_free (ixg);

      opt.smooth_samples = 2;
      for (int m = 0; m < 2; m++)
        {
          opt.method = m ? GZ_METHOD_OCCLUSION : GZ_METHOD_INTEGRATED_GRADIENTS;
          GzExplanation *no = NULL;
          g_assert_cmpint (gz_explain (s, &opt, &no, &err), ==, GZ_ERR_NOT_APPLICABLE);
          g_assert_null (no);
        }
      gz_session_free (s);
      gz_session_free (z);
      gz_tensor_free (zero);
      gz_tensor_free (x);
      gz_model_free (model);
    }
}

static void
test_tiny_cam_not_applicable (void)
{
  float fc[3 * MID];
  GzModel *model = tiny_model (NET_RESIDUAL, 3, fc);
  char reason[256] = "";
  g_assert_false (gz_method_applicable (model, GZ_METHOD_CAM, "layer", reason, sizeof reason));
  g_test_message ("reason: %s", reason);
  g_assert_cmpstr (reason, !=, "");
  /* The sum feeding the pooling is a valid CAM layer. */
  g_assert_true (gz_method_applicable (model, GZ_METHOD_CAM, "sum", reason, sizeof reason));
  g_assert_true (gz_method_applicable (model, GZ_METHOD_GRADCAM, "layer", reason, sizeof reason));

  GzTensor *x = tiny_input (11);
  GzSession *s = session_on (model, x, "layer");
  GzExplainOptions opt = GZ_EXPLAIN_OPTIONS_INIT;
  opt.method = GZ_METHOD_CAM;
  opt.layer = "layer";
  GzExplanation *ex = NULL;
  GzError err = { 0 };
  g_assert_cmpint (gz_explain (s, &opt, &ex, &err), ==, GZ_ERR_NOT_APPLICABLE);
  g_assert_null (ex);
  g_assert_nonnull (strstr (err.message, "cam"));
  gz_session_free (s);
  gz_tensor_free (x);
  gz_model_free (model);
}

typedef struct
{
  int calls;
  int stop_after;
  double last;
  gboolean monotonic;
} Progress;

static bool
progress_cb (double f, void *data)
{
  Progress *p = data;
  p->calls++;
  if (f < p->last)
    p->monotonic = FALSE;
  p->last = f;
  return p->stop_after <= 0 || p->calls < p->stop_after;
}

static void
test_tiny_scorecam (void)
{
  float fc[3 * MID];
  GzModel *model = tiny_model (NET_GAP, 3, fc);
  GzTensor *x = tiny_input (12);
  GzSession *s = session_on (model, x, "layer");
  GzExplainOptions opt = GZ_EXPLAIN_OPTIONS_INIT;
  opt.method = GZ_METHOD_SCORECAM;
  opt.class_index = 1;
  opt.batch_size = 3; /* batches of 3 and 1 over 4 channels */
  Progress p = { 0, 0, 0, TRUE };
  opt.progress = progress_cb;
  opt.progress_data = &p;
  GzExplanation *batched = NULL, *single = NULL;
  GzError err = { 0 };
  g_assert_cmpint (gz_explain (s, &opt, &batched, &err), ==, GZ_OK);
  g_assert_cmpint (p.calls, >=, 2);
  g_assert_true (p.monotonic);
  g_assert_cmpfloat (p.last, ==, 1.0);

  g_assert_cmpint (batched->forwards, >=, 1);
  g_assert_cmpint (batched->forwards, <=, MID);

  /* Any batch size gives the same map (a new session: no memo to reuse). */
  opt.batch_size = 1;
  opt.progress = NULL;
  GzSession *s1 = session_on (model, x, "layer");
  g_assert_cmpint (gz_explain (s1, &opt, &single, &err), ==, GZ_OK);
  g_assert_cmpint (single->forwards, ==, batched->forwards);
  for (int64_t i = 0; i < gz_tensor_numel (single->raw); i++)
    g_assert_cmpfloat_with_epsilon (gz_tensor_f (single->raw)[i], gz_tensor_f (batched->raw)[i],
                                    1e-5);
  gz_session_free (s1);

  /* Another class of the same image reuses the masked forwards' logits, and
   * gives what a fresh session computes from scratch. */
  opt.class_index = 2;
  GzExplanation *again = NULL, *fresh = NULL;
  g_assert_cmpint (gz_explain (s, &opt, &again, &err), ==, GZ_OK);
  g_assert_cmpint (again->forwards, ==, 0);
  GzSession *s3 = session_on (model, x, "layer");
  g_assert_cmpint (gz_explain (s3, &opt, &fresh, &err), ==, GZ_OK);
  g_assert_cmpint (fresh->forwards, ==, batched->forwards);
  for (int64_t i = 0; i < gz_tensor_numel (fresh->raw); i++)
    g_assert_cmpfloat (gz_tensor_f (again->raw)[i], ==, gz_tensor_f (fresh->raw)[i]);
  gz_explanation_free (again);
  gz_explanation_free (fresh);
  /* A forward of the same bytes keeps the memo; another image drops it. */
  GzTensor *other = tiny_input (99);
  g_assert_cmpint (gz_session_forward (s3, x, "layer", &err), ==, GZ_OK);
  g_assert_cmpint (gz_explain (s3, &opt, &again, &err), ==, GZ_OK);
  g_assert_cmpint (again->forwards, ==, 0);
  gz_explanation_free (again);
  g_assert_cmpint (gz_session_forward (s3, other, "layer", &err), ==, GZ_OK);
  g_assert_cmpint (gz_explain (s3, &opt, &again, &err), ==, GZ_OK);
  g_assert_cmpint (again->forwards, >=, 1);
  gz_explanation_free (again);
  gz_session_free (s3);
  gz_tensor_free (other);
  opt.class_index = 1;

  /* Score-CAM's weights by hand for channel 0: the class probability of the
   * input masked by the normalised channel. The layer has the input's
   * resolution, so up() is the identity. */
  const GzTensor *a = gz_session_value (s, "layer");
  int64_t z = IN_H * IN_W;
  GzTensor *masked = gz_tensor_copy (x, NULL);
  float lo = INFINITY, hi = -INFINITY;
  for (int64_t q = 0; q < z; q++)
    lo = fminf (lo, gz_tensor_f (a)[q]), hi = fmaxf (hi, gz_tensor_f (a)[q]);
  for (int ch = 0; ch < IN_C; ch++)
    for (int64_t q = 0; q < z; q++)
      gz_tensor_f (masked)[ch * z + q] *= (gz_tensor_f (a)[q] - lo) / (hi - lo + 1e-8f);
  GzSession *s2 = session_on (model, masked, NULL);
  const float *l = gz_tensor_f (gz_session_output (s2));
  double mx = fmax (l[0], fmax (l[1], l[2]));
  double w0 = exp (l[1] - mx) / (exp (l[0] - mx) + exp (l[1] - mx) + exp (l[2] - mx));
  g_assert_cmpfloat (w0, >, 0);
  gz_session_free (s2);
  gz_tensor_free (masked);
  /* raw = Σ w_k A_k: recover w_0 from a position where only channel 0 is
   * non-zero is fragile; instead check the full sum with all weights. */
  float w[MID];
  for (int k = 0; k < MID; k++)
    {
      GzTensor *mk = gz_tensor_copy (x, NULL);
      float lk = INFINITY, hk = -INFINITY;
      for (int64_t q = 0; q < z; q++)
        lk = fminf (lk, gz_tensor_f (a)[k * z + q]), hk = fmaxf (hk, gz_tensor_f (a)[k * z + q]);
      for (int ch = 0; ch < IN_C; ch++)
        for (int64_t q = 0; q < z; q++)
          gz_tensor_f (mk)[ch * z + q] *= (gz_tensor_f (a)[k * z + q] - lk) / (hk - lk + 1e-8f);
      GzSession *sk = session_on (model, mk, NULL);
      const float *lg = gz_tensor_f (gz_session_output (sk));
      double m2 = fmax (lg[0], fmax (lg[1], lg[2]));
      w[k] = (float) (exp (lg[1] - m2) / (exp (lg[0] - m2) + exp (lg[1] - m2) + exp (lg[2] - m2)));
      gz_session_free (sk);
      gz_tensor_free (mk);
    }
  g_assert_cmpfloat_with_epsilon (w[0], w0, 1e-6);
  float ref[IN_H * IN_W];
  weighted_sum_ref (MID, z, gz_tensor_f (a), w, ref);
  for (int64_t q = 0; q < z; q++)
    g_assert_cmpfloat_with_epsilon (gz_tensor_f (batched->raw)[q], ref[q], 1e-5);
  gz_explanation_free (batched);
  gz_explanation_free (single);

  /* Cancelled from the progress callback (on a session without the memo). */
  Progress stop = { 0, 1, 0, TRUE };
  opt.batch_size = 1;
  opt.progress = progress_cb;
  opt.progress_data = &stop;
  GzExplanation *ex = NULL;
  gz_session_free (s);
  s = session_on (model, x, "layer");
  g_assert_cmpint (gz_explain (s, &opt, &ex, &err), ==, GZ_ERR_CANCELLED);
  g_assert_cmpint (err.code, ==, GZ_ERR_CANCELLED);
  g_assert_null (ex);
  g_assert_cmpint (stop.calls, ==, 1);
  /* The caller's forward survives: a class switch still needs no forward. */
  uint64_t forwards = gz_session_forward_count (s);
  ex = explain (s, GZ_METHOD_GRADCAM, 0, NULL);
  g_assert_cmpuint (gz_session_forward_count (s), ==, forwards);
  gz_explanation_free (ex);
  gz_session_free (s);
  gz_tensor_free (x);
  gz_model_free (model);
}

static void
test_tiny_smooth (void)
{
  float fc[3 * MID];
  GzModel *model = tiny_model (NET_RESIDUAL, 3, fc);
  GzTensor *x = tiny_input (13);
  GzSession *s = session_on (model, x, "layer");
  GzExplainOptions opt = GZ_EXPLAIN_OPTIONS_INIT;
  GzError err = { 0 };
  GzExplanation *plain = NULL, *zero = NULL, *a = NULL, *b = NULL;
  opt.class_index = 0;
  g_assert_cmpint (gz_explain (s, &opt, &plain, &err), ==, GZ_OK);
  /* σ = 0: every copy is the input, so the average is the plain map. */
  opt.smooth_samples = 3;
  opt.smooth_sigma = 0;
  g_assert_cmpint (gz_explain (s, &opt, &zero, &err), ==, GZ_OK);
  for (int64_t i = 0; i < gz_tensor_numel (plain->raw); i++)
    g_assert_cmpfloat_with_epsilon (gz_tensor_f (zero->raw)[i], gz_tensor_f (plain->raw)[i], 1e-5);
  /* Seeded: the same call gives the same map; noise changes it. */
  opt.smooth_sigma = 0.2f;
  g_assert_cmpint (gz_explain (s, &opt, &a, &err), ==, GZ_OK);
  g_assert_cmpint (gz_explain (s, &opt, &b, &err), ==, GZ_OK);
  g_assert_cmpmem (a->raw->data, gz_tensor_numel (a->raw) * 4, b->raw->data,
                   gz_tensor_numel (b->raw) * 4);
  gboolean differs = FALSE;
  for (int64_t i = 0; i < gz_tensor_numel (plain->raw); i++)
    differs |= gz_tensor_f (a->raw)[i] != gz_tensor_f (plain->raw)[i];
  g_assert_true (differs);
  g_assert_cmpint (a->class_index, ==, 0);
  gz_explanation_free (plain);
  gz_explanation_free (zero);
  gz_explanation_free (a);
  gz_explanation_free (b);

  /* Guided backprop averages its pixel maps too. */
  opt.method = GZ_METHOD_GUIDED_BACKPROP;
  g_assert_cmpint (gz_explain (s, &opt, &a, &err), ==, GZ_OK);
  g_assert_cmpint (a->raw->dims[0], ==, IN_H);
  gz_explanation_free (a);
  opt.method = GZ_METHOD_SCORECAM;
  g_assert_cmpint (gz_explain (s, &opt, &a, &err), ==, GZ_ERR_NOT_APPLICABLE);
  gz_session_free (s);
  gz_tensor_free (x);
  gz_model_free (model);
}

static void
test_tiny_guided (void)
{
  /* Guided Grad-CAM = guided backprop × the normalised Grad-CAM map. */
  float fc[3 * MID];
  GzModel *model = tiny_model (NET_RESIDUAL, 3, fc);
  GzTensor *x = tiny_input (14);
  GzSession *s = session_on (model, x, "*");
  GzExplanation *gb = explain (s, GZ_METHOD_GUIDED_BACKPROP, 1, NULL);
  GzExplanation *gc = explain (s, GZ_METHOD_GRADCAM, 1, NULL);
  GzExplanation *ggc = explain (s, GZ_METHOD_GUIDED_GRADCAM, 1, NULL);
  for (int64_t i = 0; i < IN_H * IN_W; i++)
    {
      g_assert_cmpfloat (gz_tensor_f (gb->raw)[i], >=, 0);
      g_assert_cmpfloat_with_epsilon (gz_tensor_f (ggc->raw)[i],
                                      gz_tensor_f (gb->raw)[i] * gz_tensor_f (gc->map)[i], 1e-6);
    }
  gz_explanation_free (gb);
  gz_explanation_free (gc);
  gz_explanation_free (ggc);
  gz_session_free (s);
  gz_tensor_free (x);
  gz_model_free (model);
}

/* ---- The shared models (skipped when ../shared is absent) -------------- */

static char *
shared_path (const char *rel)
{
  const char *dir = g_getenv ("GAZE_SHARED_DIR");
  g_autofree char *base = dir != NULL ? g_strdup (dir) : g_build_filename ("..", "shared", NULL);
  char *path = g_build_filename (base, rel, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_free (path);
      return NULL;
    }
  return path;
}

static GzModel *
shared_model (const char *rel)
{
  g_autofree char *path = shared_path (rel);
  if (path == NULL)
    {
      g_test_skip_printf ("%s not found (set GAZE_SHARED_DIR)", rel);
      return NULL;
    }
  GzModel *model = NULL;
  GzError err = { 0 };
  if (gz_model_load (path, NULL, &model, &err) != GZ_OK)
    g_error ("%s: %s", path, err.message);
  return model;
}

static void
test_squeezenet_cam (void)
{
  GzModel *model = shared_model ("models/squeezenet1_0-imagenet/squeezenet1_0.onnx");
  if (model == NULL)
    return;
  char reason[256] = "";
  g_assert_false (gz_method_applicable (model, GZ_METHOD_CAM, "auto", reason, sizeof reason));
  g_test_message ("squeezenet CAM: %s", reason);
  g_assert_cmpstr (reason, !=, "");
  g_assert_true (gz_method_applicable (model, GZ_METHOD_GRADCAM, "auto", reason, sizeof reason));
  gz_model_free (model);
}

static void
test_mobilenet (void)
{
  GzModel *model = shared_model ("models/mobilenet_v2-imagenet/mobilenet_v2.onnx");
  if (model == NULL)
    return;
  const char *layer = gz_model_default_layer (model);
  g_assert_cmpstr (layer, ==, "/features/features.18/features.18.2/Clip_output_0");
  int64_t dims[4] = { 1, 3, 224, 224 };
  GzTensor *x = gz_tensor_new (GZ_DTYPE_FLOAT, 4, dims, NULL);
  fill (gz_tensor_f (x), 3 * 224 * 224, 77, 1.5f, 0.0f);
  GzSession *s = NULL;
  GzError err = { 0 };
  g_assert_cmpint (gz_session_new (model, &s, &err), ==, GZ_OK);
  g_assert_cmpint (gz_session_forward (s, x, layer, &err), ==, GZ_OK);
  uint64_t forwards = gz_session_forward_count (s);

  GzExplainOptions opt = GZ_EXPLAIN_OPTIONS_INIT;
  GzExplanation *cam = NULL, *gc = NULL, *hr = NULL;
  opt.method = GZ_METHOD_CAM;
  g_assert_cmpint (gz_explain (s, &opt, &cam, &err), ==, GZ_OK);
  opt.method = GZ_METHOD_GRADCAM;
  opt.class_index = cam->class_index;
  g_assert_cmpint (gz_explain (s, &opt, &gc, &err), ==, GZ_OK);
  opt.method = GZ_METHOD_HIRESCAM;
  g_assert_cmpint (gz_explain (s, &opt, &hr, &err), ==, GZ_OK);
  g_assert_cmpint (cam->raw->dims[0], ==, 7);
  g_assert_cmpint (cam->raw->dims[1], ==, 7);
  /* The Grad-CAM identity, up to float rounding: same maps, scale 1/49. */
  g_assert_cmpfloat (pearson (gz_tensor_f (cam->raw), gz_tensor_f (gc->raw), 49), >, 0.99999);
  g_assert_cmpfloat (pearson (gz_tensor_f (cam->raw), gz_tensor_f (hr->raw), 49), >, 0.99999);
  for (int i = 0; i < 49; i++)
    g_assert_cmpfloat_with_epsilon (gz_tensor_f (gc->raw)[i] * 49, gz_tensor_f (cam->raw)[i],
                                    1e-3 * (1 + fabsf (gz_tensor_f (cam->raw)[i])));
  g_assert_cmpfloat (cam->map->dims[0], ==, 224);

  /* Class switches reuse the forward. */
  for (int c = 0; c < 5; c++)
    {
      GzExplanation *ex = NULL;
      opt.method = GZ_METHOD_GRADCAM;
      opt.class_index = c * 100;
      g_assert_cmpint (gz_explain (s, &opt, &ex, &err), ==, GZ_OK);
      g_test_message ("class switch: backward %.2f ms, method %.2f ms, total %.2f ms",
                      ex->backward_ms, ex->method_ms, ex->total_ms);
      g_assert_cmpint (ex->class_index, ==, c * 100);
      gz_explanation_free (ex);
    }
  g_assert_cmpuint (gz_session_forward_count (s), ==, forwards);

  /* Score-CAM stops when asked. */
  Progress stop = { 0, 2, 0, TRUE };
  GzExplanation *ex = NULL;
  opt.method = GZ_METHOD_SCORECAM;
  opt.progress = progress_cb;
  opt.progress_data = &stop;
  opt.batch_size = 4;
  g_assert_cmpint (gz_explain (s, &opt, &ex, &err), ==, GZ_ERR_CANCELLED);
  g_assert_null (ex);
  g_assert_cmpint (stop.calls, ==, 2);

  gz_explanation_free (cam);
  gz_explanation_free (gc);
  gz_explanation_free (hr);
  gz_session_free (s);
  gz_tensor_free (x);
  gz_model_free (model);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/explain/kernels/identity", test_kernels_identity);
  g_test_add_func ("/explain/kernels/formulas", test_kernels_formulas);
  g_test_add_func ("/explain/kernels/eigencam", test_kernels_eigencam);
  g_test_add_func ("/explain/kernels/normalise", test_normalise);
  g_test_add_func ("/explain/names", test_names);
  g_test_add_func ("/explain/tiny/cam-identity", test_tiny_cam_identity);
  g_test_add_func ("/explain/tiny/class-switch", test_tiny_class_switch);
  g_test_add_func ("/explain/tiny/layer-switch", test_tiny_layer_switch);
  g_test_add_func ("/explain/tiny/target", test_tiny_target);
  g_test_add_func ("/explain/tiny/conv-head", test_tiny_conv_head);
  g_test_add_func ("/explain/tiny/sigmoid", test_tiny_sigmoid);
  g_test_add_func ("/explain/tiny/flat", test_tiny_flat);
  g_test_add_func ("/explain/tiny/ablation", test_tiny_ablation);
  g_test_add_func ("/explain/tiny/ablation-fixed-batch", test_tiny_ablation_fixed_batch);
  g_test_add_func ("/explain/tiny/scorecam-fixed-batch", test_tiny_scorecam_fixed_batch);
  g_test_add_func ("/explain/tiny/cam-not-applicable", test_tiny_cam_not_applicable);
  g_test_add_func ("/explain/tiny/scorecam", test_tiny_scorecam);
  g_test_add_func ("/explain/tiny/smooth", test_tiny_smooth);
  g_test_add_func ("/explain/tiny/guided", test_tiny_guided);
  g_test_add_func ("/explain/tiny/attributions", test_tiny_attributions);
  g_test_add_func ("/explain/shared/squeezenet-cam", test_squeezenet_cam);
  g_test_add_func ("/explain/shared/mobilenet", test_mobilenet);
  return g_test_run ();
}
