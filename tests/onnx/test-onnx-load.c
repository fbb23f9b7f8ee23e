/* test-onnx-load.c — the ONNX loader on small models built here with protobuf-c
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every model is assembled from the generated protobuf-c structs and packed,
 * so each test states exactly which bytes the loader sees. Expected values are
 * written out by hand (fp16 bit patterns, byte counts, messages).
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "gz-model-private.h"
#include "gz-onnx-load.h"
#include "gz-op.h"
#include "onnx-builder.h"

/* The packed model as GBytes (onnx_builder_pack's block, malloc'd). */
static GBytes *
pack (OnnxBuilder *b)
{
  size_t len;
  uint8_t *data = onnx_builder_pack (b, &len);
  return g_bytes_new_take (data, len);
}

static GzStatus
load (GBytes *bytes, const char *base_dir, GzGraph **g, GzError *err)
{
  GzLimits limits;
  gz_limits_default (&limits);
  gsize len;
  const void *data = g_bytes_get_data (bytes, &len);
  return gz_onnx_load_graph (data, len, base_dir, &limits, g, err);
}

/* The elementwise operator the tests build their graphs from. */
static const char *
unary_op (void)
{
  g_assert_nonnull (gz_op_lookup ("Relu"));
  return "Relu";
}

#define IN(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const int64_t dims_x[] = { -1, 3 };

/* X → op → Y, with optional extra initializers added by the caller. */
static void
simple_model (OnnxBuilder *b, const char *op)
{
  onnx_builder_init (b, 13);
  onnx_add_input (b, "X", 2, dims_x);
  onnx_add_node (b, op, "n0", IN ("X"), IN ("Y"));
  onnx_add_output (b, "Y", -1, NULL);
}

/* Loads bytes expecting failure with `code` and a message containing each of
 * the NULL-terminated fragments. */
static void
expect_error (GBytes *bytes, const char *base_dir, GzStatus code, const char *const *fragments)
{
  GzGraph *g = NULL;
  GzError err = { 0 };
  GzStatus s = load (bytes, base_dir, &g, &err);
  g_test_message ("status %s: %s", gz_status_name (s), err.message);
  g_assert_null (g);
  g_assert_cmpstr (gz_status_name (s), ==, gz_status_name (code));
  for (int i = 0; fragments[i] != NULL; i++)
    if (strstr (err.message, fragments[i]) == NULL)
      g_error ("message '%s' lacks '%s'", err.message, fragments[i]);
}

/* ---- Tests ------------------------------------------------------------- */

static void
test_minimal (void)
{
  const char *op = unary_op ();
  OnnxBuilder b;
  simple_model (&b, op);
  const float w[3] = { 1.5f, -2.0f, 0.25f };
  const int64_t d3[] = { 3 };
  onnx_add_initializer_raw (&b, "W", 1, 1, d3, w, sizeof w);
  /* A graph input that is also an initializer is a constant, not an input. */
  onnx_add_value_input (&b, onnx_value_info (&b, "W", 1, 1, d3));
  /* Node without a name: the loader generates one. */
  onnx_add_node (&b, op, NULL, IN ("Y"), IN ("Z"));
  g_autoptr (GBytes) bytes = pack (&b);

  GzGraph *g = NULL;
  GzError err = { 0 };
  g_assert_cmpint (load (bytes, NULL, &g, &err), ==, GZ_OK);
  g_assert_cmpint (g->opset, ==, 13);
  g_assert_cmpstr (g->producer, ==, "gaze-tests 1.0");
  g_assert_cmpint (g->n_nodes, ==, 2);
  g_assert_cmpstr (g->values[g->input].name, ==, "X");
  g_assert_cmpint (g->values[g->input].ndim, ==, 2);
  g_assert_cmpint (g->values[g->input].dims[0], ==, -1);
  g_assert_cmpint (g->values[g->input].dims[1], ==, 3);
  g_assert_cmpstr (g->values[g->output].name, ==, "Y");
  int wi = gz_graph_find_value (g, "W");
  g_assert_cmpint (wi, >=, 0);
  g_assert_nonnull (g->values[wi].initializer);
  g_assert_cmpfloat (gz_tensor_f (g->values[wi].initializer)[1], ==, -2.0f);
  g_autofree char *generated = g_strdup_printf ("%s_1", op);
  g_assert_cmpstr (g->nodes[1].name, ==, generated);
  g_assert_true (g->nodes[0].op == gz_op_lookup (op));
  g_assert_cmpint (g->values[gz_graph_find_value (g, "Z")].producer, ==, 1);
  gz_graph_free (g);
  onnx_builder_clear (&b);
}

static void
test_topological_order (void)
{
  const char *op = unary_op ();
  OnnxBuilder b;
  onnx_builder_init (&b, 13);
  onnx_add_input (&b, "X", 2, dims_x);
  /* Listed last-first: c reads b reads a reads X. */
  onnx_add_node (&b, op, "c", IN ("vb"), IN ("vc"));
  onnx_add_node (&b, op, "b", IN ("va"), IN ("vb"));
  onnx_add_node (&b, op, "a", IN ("X"), IN ("va"));
  onnx_add_output (&b, "vc", -1, NULL);
  g_autoptr (GBytes) bytes = pack (&b);
  GzGraph *g = NULL;
  GzError err = { 0 };
  g_assert_cmpint (load (bytes, NULL, &g, &err), ==, GZ_OK);
  g_assert_cmpstr (g->nodes[0].name, ==, "a");
  g_assert_cmpstr (g->nodes[1].name, ==, "b");
  g_assert_cmpstr (g->nodes[2].name, ==, "c");
  for (int i = 0; i < g->n_nodes; i++)
    g_assert_cmpint (g->values[g->nodes[i].outputs[0]].producer, ==, i);
  gz_graph_free (g);
  onnx_builder_clear (&b);
}

static void
test_cycle (void)
{
  OnnxBuilder b;
  onnx_builder_init (&b, 13);
  onnx_add_input (&b, "X", 2, dims_x);
  onnx_add_node (&b, "Add", "first", IN ("X", "y2"), IN ("y1"));
  onnx_add_node (&b, "Relu", "second", IN ("y1"), IN ("y2"));
  onnx_add_output (&b, "y2", -1, NULL);
  g_autoptr (GBytes) bytes = pack (&b);
  expect_error (bytes, NULL, GZ_ERR_FORMAT, IN ("cycle"));
  onnx_builder_clear (&b);

  onnx_builder_init (&b, 13); /* a node reading its own output */
  onnx_add_input (&b, "X", 2, dims_x);
  onnx_add_node (&b, "Add", "self", IN ("X", "y"), IN ("y"));
  onnx_add_output (&b, "y", -1, NULL);
  g_autoptr (GBytes) bytes2 = pack (&b);
  expect_error (bytes2, NULL, GZ_ERR_FORMAT, IN ("cycle", "'self'"));
  onnx_builder_clear (&b);
}

static void
test_dangling (void)
{
  OnnxBuilder b;
  onnx_builder_init (&b, 13);
  onnx_add_input (&b, "X", 2, dims_x);
  onnx_add_node (&b, "Add", "adder", IN ("X", "ghost"), IN ("Y"));
  onnx_add_output (&b, "Y", -1, NULL);
  g_autoptr (GBytes) bytes = pack (&b);
  expect_error (bytes, NULL, GZ_ERR_FORMAT, IN ("'adder'", "'ghost'"));
  onnx_builder_clear (&b);

  onnx_builder_init (&b, 13); /* a graph output nobody writes */
  onnx_add_input (&b, "X", 2, dims_x);
  onnx_add_node (&b, "Relu", "r", IN ("X"), IN ("Y"));
  onnx_add_output (&b, "nowhere", -1, NULL);
  g_autoptr (GBytes) bytes2 = pack (&b);
  expect_error (bytes2, NULL, GZ_ERR_FORMAT, IN ("'nowhere'"));
  onnx_builder_clear (&b);

  onnx_builder_init (&b, 13); /* two nodes writing one value */
  onnx_add_input (&b, "X", 2, dims_x);
  onnx_add_node (&b, "Relu", "r1", IN ("X"), IN ("Y"));
  onnx_add_node (&b, "Relu", "r2", IN ("X"), IN ("Y"));
  onnx_add_output (&b, "Y", -1, NULL);
  g_autoptr (GBytes) bytes3 = pack (&b);
  expect_error (bytes3, NULL, GZ_ERR_FORMAT, IN ("'r2'", "'Y'"));
  onnx_builder_clear (&b);
}

static void
test_initializer_size (void)
{
  const int64_t d23[] = { 2, 3 };
  float six[6] = { 0 };
  OnnxBuilder b;

  simple_model (&b, "Relu"); /* 5 floats' worth of bytes for [2,3] */
  onnx_add_initializer_raw (&b, "weights", 1, 2, d23, six, 20);
  g_autoptr (GBytes) b1 = pack (&b);
  expect_error (b1, NULL, GZ_ERR_FORMAT, IN ("'weights'", "20 bytes", "24"));
  onnx_builder_clear (&b);

  simple_model (&b, "Relu"); /* typed field with the wrong count */
  Onnx__TensorProto *t = onnx_tensor (&b, "typed", 1, 2, d23);
  t->n_float_data = 5;
  t->float_data = six;
  onnx_add_initializer (&b, t);
  g_autoptr (GBytes) b2 = pack (&b);
  expect_error (b2, NULL, GZ_ERR_FORMAT, IN ("'typed'", "5 values", "6"));
  onnx_builder_clear (&b);

  simple_model (&b, "Relu"); /* element count overflows int64 */
  const int64_t huge[] = { INT64_C (1) << 40, INT64_C (1) << 40, INT64_C (1) << 40 };
  onnx_add_initializer_raw (&b, "huge", 1, 3, huge, six, 4);
  g_autoptr (GBytes) b3 = pack (&b);
  expect_error (b3, NULL, GZ_ERR_LIMIT, IN ("'huge'"));
  onnx_builder_clear (&b);

  simple_model (&b, "Relu"); /* a negative dimension */
  const int64_t neg[] = { 2, -3 };
  onnx_add_initializer_raw (&b, "negative", 1, 2, neg, six, 24);
  g_autoptr (GBytes) b4 = pack (&b);
  expect_error (b4, NULL, GZ_ERR_FORMAT, IN ("'negative'"));
  onnx_builder_clear (&b);

  simple_model (&b, "Relu"); /* a scalar with no data at all */
  Onnx__TensorProto *empty = onnx_tensor (&b, "nodata", 1, 0, d23);
  onnx_add_initializer (&b, empty);
  g_autoptr (GBytes) b5 = pack (&b);
  expect_error (b5, NULL, GZ_ERR_FORMAT, IN ("'nodata'"));
  onnx_builder_clear (&b);
}

static void
test_unsupported_op (void)
{
  OnnxBuilder b;
  simple_model (&b, "FooBar");
  b.graph.node[0]->name = "my_node";
  g_autoptr (GBytes) bytes = pack (&b);
  GzGraph *g = NULL;
  GzError err = { 0 };
  g_assert_cmpint (load (bytes, NULL, &g, &err), ==, GZ_ERR_UNSUPPORTED);
  g_assert_cmpstr (err.message, ==, "unsupported operator 'FooBar' in node 'my_node' (opset 13)");
  onnx_builder_clear (&b);

  simple_model (&b, "Relu"); /* another domain */
  b.graph.node[0]->domain = "com.microsoft";
  g_autoptr (GBytes) bytes2 = pack (&b);
  expect_error (bytes2, NULL, GZ_ERR_UNSUPPORTED, IN ("com.microsoft.Relu", "'n0'"));
  onnx_builder_clear (&b);
}

static void
test_unsupported_dtype (void)
{
  OnnxBuilder b;
  simple_model (&b, "Relu");
  const int64_t d2[] = { 2 };
  const guint8 pixels[2] = { 1, 0 };
  onnx_add_initializer_raw (&b, "pixels", 2, 1, d2, pixels, 2); /* UINT8: not converted */
  g_autoptr (GBytes) bytes = pack (&b);
  expect_error (bytes, NULL, GZ_ERR_UNSUPPORTED, IN ("'pixels'", "UINT8"));
  onnx_builder_clear (&b);

  onnx_builder_init (&b, 13); /* a BOOL graph input is still refused (BOOL constants load) */
  const int64_t d4b[] = { 1, 3, 8, 8 };
  onnx_add_value_input (&b, onnx_value_info (&b, "flags", 9, 4, d4b));
  onnx_add_node (&b, "Not", "n", IN ("flags"), IN ("Y"));
  onnx_add_output (&b, "Y", -1, NULL);
  g_autoptr (GBytes) bytes3 = pack (&b);
  expect_error (bytes3, NULL, GZ_ERR_UNSUPPORTED, IN ("'flags'", "BOOL"));
  onnx_builder_clear (&b);

  onnx_builder_init (&b, 13); /* a uint8 image input */
  const int64_t d4[] = { 1, 3, 8, 8 };
  onnx_add_value_input (&b, onnx_value_info (&b, "image", 2, 4, d4));
  onnx_add_node (&b, "Relu", "r", IN ("image"), IN ("Y"));
  onnx_add_output (&b, "Y", -1, NULL);
  g_autoptr (GBytes) bytes2 = pack (&b);
  expect_error (bytes2, NULL, GZ_ERR_UNSUPPORTED, IN ("'image'", "UINT8"));
  onnx_builder_clear (&b);
}

static void
test_conversions (void)
{
  const char *op = unary_op ();
  OnnxBuilder b;
  simple_model (&b, op);
  /* fp16 bit patterns: 1, -2, 0.5, 65504 (max), 2^-24 (smallest subnormal),
   * 3·2^-16 (subnormal), +inf, -0. */
  const guint16 half[8] = { 0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x0003, 0x7c00, 0x8000 };
  const float half_f[8]
      = { 1.0f,     -2.0f, 0.5f, 65504.0f, 5.9604644775390625e-08f, 1.78813934326171875e-07f,
          INFINITY, -0.0f };
  guint8 half_le[16];
  for (int i = 0; i < 8; i++)
    {
      half_le[2 * i] = half[i] & 0xff;
      half_le[2 * i + 1] = half[i] >> 8;
    }
  const int64_t d8[] = { 2, 4 };
  onnx_add_initializer_raw (&b, "half_raw", 10, 2, d8, half_le, sizeof half_le);
  Onnx__TensorProto *ht = onnx_tensor (&b, "half_typed", 10, 2, d8);
  int32_t half_i32[8];
  for (int i = 0; i < 8; i++)
    half_i32[i] = half[i];
  ht->n_int32_data = 8;
  ht->int32_data = half_i32;
  onnx_add_initializer (&b, ht);

  const double dbl[3] = { 0.1, -1e10, 3.0 };
  const int64_t d3[] = { 3 };
  onnx_add_initializer_raw (&b, "double_raw", 11, 1, d3, dbl, sizeof dbl);
  Onnx__TensorProto *dt = onnx_tensor (&b, "double_typed", 11, 1, d3);
  dt->n_double_data = 3;
  dt->double_data = (double *) dbl;
  onnx_add_initializer (&b, dt);

  const int32_t i32[3] = { -7, 0, 2147483647 };
  onnx_add_initializer_raw (&b, "int32_raw", 6, 1, d3, i32, sizeof i32);
  const int64_t i64[3] = { -1, INT64_C (1) << 40, 5 };
  Onnx__TensorProto *qt = onnx_tensor (&b, "int64_typed", 7, 1, d3);
  qt->n_int64_data = 3;
  qt->int64_data = (int64_t *) i64;
  onnx_add_initializer (&b, qt);
  const int64_t d0[] = { 0 };
  onnx_add_initializer_raw (&b, "empty", 1, 1, d0, "", 0);

  /* BOOL becomes int64 0/1 (any non-zero byte is true), raw or in int32_data. */
  const guint8 flags[3] = { 1, 0, 7 };
  onnx_add_initializer_raw (&b, "bool_raw", 9, 1, d3, flags, sizeof flags);
  Onnx__TensorProto *bt = onnx_tensor (&b, "bool_typed", 9, 1, d3);
  int32_t flags32[3] = { 0, 1, 1 };
  bt->n_int32_data = 3;
  bt->int32_data = flags32;
  onnx_add_initializer (&b, bt);

  /* Attributes of every kind, including a float16 tensor. */
  Onnx__NodeProto *n = b.graph.node[0];
  onnx_add_attr (&b, n, "alpha", 1)->f = 0.75f;
  Onnx__AttributeProto *a = onnx_add_attr (&b, n, "axis", 2);
  a->i = -2;
  a = onnx_add_attr (&b, n, "mode", 3);
  a->s.data = (guint8 *) "nearest";
  a->s.len = 7;
  a = onnx_add_attr (&b, n, "pads", 7);
  int64_t pads[4] = { 1, 2, 3, 4 };
  a->n_ints = 4;
  a->ints = pads;
  a = onnx_add_attr (&b, n, "scales", 6);
  float scales[2] = { 1.0f, 2.5f };
  a->n_floats = 2;
  a->floats = scales;
  a = onnx_add_attr (&b, n, "names", 8);
  ProtobufCBinaryData strs[2] = { { 3, (guint8 *) "abc" }, { 2, (guint8 *) "de" } };
  a->n_strings = 2;
  a->strings = strs;
  a = onnx_add_attr (&b, n, "value", 4);
  const int64_t d2[] = { 2 };
  a->t = onnx_tensor (&b, NULL, 10, 1, d2);
  onnx_tensor_set_raw (&b, a->t, half_le, 4);
  a = onnx_add_attr (&b, n, "mask", 4); /* a BOOL tensor attribute, as in Constant */
  a->t = onnx_tensor (&b, NULL, 9, 1, d2);
  onnx_tensor_set_raw (&b, a->t, flags + 1, 2);

  g_autoptr (GBytes) bytes = pack (&b);
  GzGraph *g = NULL;
  GzError err = { 0 };
  GzStatus s = load (bytes, NULL, &g, &err);
  if (s != GZ_OK)
    g_error ("load failed: %s", err.message);

  const char *halves[] = { "half_raw", "half_typed" };
  for (int k = 0; k < 2; k++)
    {
      const GzTensor *t = g->values[gz_graph_find_value (g, halves[k])].initializer;
      g_assert_cmpint (t->dtype, ==, GZ_DTYPE_FLOAT);
      g_assert_cmpint (t->ndim, ==, 2);
      g_assert_cmpint (t->dims[1], ==, 4);
      for (int i = 0; i < 8; i++)
        g_assert_true (memcmp (&gz_tensor_f (t)[i], &half_f[i], sizeof (float)) == 0);
    }
  const char *doubles[] = { "double_raw", "double_typed" };
  for (int k = 0; k < 2; k++)
    {
      const GzTensor *t = g->values[gz_graph_find_value (g, doubles[k])].initializer;
      g_assert_cmpint (t->dtype, ==, GZ_DTYPE_FLOAT);
      for (int i = 0; i < 3; i++)
        g_assert_cmpfloat (gz_tensor_f (t)[i], ==, (float) dbl[i]);
    }
  const GzTensor *t = g->values[gz_graph_find_value (g, "int32_raw")].initializer;
  g_assert_cmpint (t->dtype, ==, GZ_DTYPE_INT64);
  for (int i = 0; i < 3; i++)
    g_assert_cmpint (((int64_t *) t->data)[i], ==, i32[i]);
  t = g->values[gz_graph_find_value (g, "int64_typed")].initializer;
  g_assert_cmpint (t->dtype, ==, GZ_DTYPE_INT64);
  for (int i = 0; i < 3; i++)
    g_assert_cmpint (((int64_t *) t->data)[i], ==, i64[i]);
  t = g->values[gz_graph_find_value (g, "empty")].initializer;
  g_assert_cmpint (gz_tensor_numel (t), ==, 0);
  const char *bools[] = { "bool_raw", "bool_typed" };
  const int64_t bool_want[2][3] = { { 1, 0, 1 }, { 0, 1, 1 } };
  for (int k = 0; k < 2; k++)
    {
      t = g->values[gz_graph_find_value (g, bools[k])].initializer;
      g_assert_cmpint (t->dtype, ==, GZ_DTYPE_INT64);
      g_assert_cmpint (t->ndim, ==, 1);
      for (int i = 0; i < 3; i++)
        g_assert_cmpint (((int64_t *) t->data)[i], ==, bool_want[k][i]);
    }

  const GzNode *node = &g->nodes[0];
  g_assert_cmpfloat (gz_node_attr_float (node, "alpha", 0), ==, 0.75f);
  g_assert_cmpint (gz_node_attr_int (node, "axis", 0), ==, -2);
  g_assert_cmpstr (gz_node_attr_string (node, "mode", NULL), ==, "nearest");
  const int64_t *ints;
  g_assert_cmpint (gz_node_attr_ints (node, "pads", &ints), ==, 4);
  g_assert_cmpint (ints[3], ==, 4);
  const float *floats;
  g_assert_cmpint (gz_node_attr_floats (node, "scales", &floats), ==, 2);
  g_assert_cmpfloat (floats[1], ==, 2.5f);
  const GzAttr *sa = gz_node_attr (node, "names");
  g_assert_cmpint (sa->type, ==, GZ_ATTR_STRINGS);
  g_assert_cmpint (sa->n, ==, 2);
  g_assert_cmpstr (sa->s, ==, "abc");
  g_assert_cmpstr (sa->s + 4, ==, "de");
  const GzAttr *ta = gz_node_attr (node, "value");
  g_assert_cmpint (ta->type, ==, GZ_ATTR_TENSOR);
  g_assert_cmpint (ta->t->dtype, ==, GZ_DTYPE_FLOAT);
  g_assert_cmpfloat (gz_tensor_f (ta->t)[0], ==, 1.0f);
  g_assert_cmpfloat (gz_tensor_f (ta->t)[1], ==, -2.0f);
  const GzAttr *ma = gz_node_attr (node, "mask");
  g_assert_cmpint (ma->type, ==, GZ_ATTR_TENSOR);
  g_assert_cmpint (ma->t->dtype, ==, GZ_DTYPE_INT64);
  g_assert_cmpint (((int64_t *) ma->t->data)[0], ==, 0);
  g_assert_cmpint (((int64_t *) ma->t->data)[1], ==, 1);
  gz_graph_free (g);
  onnx_builder_clear (&b);
}

static GBytes *
model_with_weights (OnnxBuilder *b, int n_floats)
{
  simple_model (b, "Relu");
  float *w = onnx_builder_alloc (b, sizeof (float) * (size_t) n_floats);
  for (int i = 0; i < n_floats; i++)
    w[i] = (float) i;
  const int64_t d[] = { n_floats };
  onnx_add_initializer_raw (b, "weights", 1, 1, d, w, sizeof (float) * (size_t) n_floats);
  return pack (b);
}

static void
test_truncated (void)
{
  OnnxBuilder b;
  g_autoptr (GBytes) bytes = model_with_weights (&b, 256);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  /* Cut inside the weights: the protobuf parser must refuse it. */
  g_autoptr (GBytes) half = g_bytes_new (data, len / 2);
  expect_error (half, NULL, GZ_ERR_FORMAT, IN ("not an ONNX model"));
  /* Every prefix either fails cleanly or loads (never crashes; ASan checks). */
  GzLimits limits;
  gz_limits_default (&limits);
  int failures = 0;
  for (gsize cut = 0; cut < len; cut++)
    {
      guint8 *copy = g_memdup2 (data, cut + 1); /* exact-size heap copy for ASan */
      GzGraph *g = NULL;
      GzError err = { 0 };
      if (gz_onnx_load_graph (copy, cut, NULL, &limits, &g, &err) != GZ_OK)
        {
          g_assert_null (g);
          g_assert_cmpstr (err.message, !=, "");
          failures++;
        }
      gz_graph_free (g);
      g_free (copy);
    }
  /* Every prefix that cuts into the graph (packed before opset_import) fails. */
  size_t opset_len = 2 + onnx__operator_set_id_proto__get_packed_size (&b.opset);
  g_assert_cmpint (failures, >=, (int) (len - opset_len));
  onnx_builder_clear (&b);
}

/* Single-byte corruptions of a valid model: each loads or fails cleanly. */
static void
test_mutations (void)
{
  const char *op = unary_op ();
  OnnxBuilder b;
  simple_model (&b, op);
  const float w[4] = { 1, 2, 3, 4 };
  const int64_t d22[] = { 2, 2 };
  onnx_add_initializer_raw (&b, "W", 1, 2, d22, w, sizeof w);
  Onnx__AttributeProto *a = onnx_add_attr (&b, b.graph.node[0], "pads", 7);
  int64_t pads[2] = { 1, 1 };
  a->n_ints = 2;
  a->ints = pads;
  g_autoptr (GBytes) bytes = pack (&b);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  GzLimits limits;
  gz_limits_default (&limits);
  int loaded = 0, refused = 0;
  for (gsize i = 0; i < len; i++)
    {
      const guint8 values[]
          = { 0x00, 0xff, 0x7f, 0x80, (guint8) (data[i] ^ 1), (guint8) (data[i] + 1) };
      for (gsize k = 0; k < G_N_ELEMENTS (values); k++)
        {
          guint8 *copy = g_memdup2 (data, len);
          copy[i] = values[k];
          GzGraph *g = NULL;
          GzError err = { 0 };
          if (gz_onnx_load_graph (copy, len, NULL, &limits, &g, &err) == GZ_OK)
            {
              g_assert_nonnull (g);
              loaded++;
            }
          else
            {
              g_assert_null (g);
              g_assert_cmpstr (err.message, !=, "");
              refused++;
            }
          gz_graph_free (g);
          g_free (copy);
        }
    }
  g_test_message ("%d corruptions loaded, %d refused", loaded, refused);
  g_assert_cmpint (refused, >, 0);
  onnx_builder_clear (&b);
}

static void
test_wrong_magic (void)
{
  static const guint8 png[]
      = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D',
          'R',  0,   0,   1,   0,    0,    0,    1,    0, 8, 2, 0,  0,   0 };
  static const guint8 zip[] = { 'P', 'K', 3,   4,   20,  0,   0,   0,   8,   0,   'a', 'r', 'c',
                                'h', 'i', 'v', 'e', '/', 'd', 'a', 't', 'a', '.', 'p', 'k', 'l' };
  const char *text = "This is not a model, just some text.\n";
  g_autoptr (GBytes) b1 = g_bytes_new_static (png, sizeof png);
  g_autoptr (GBytes) b2 = g_bytes_new_static (zip, sizeof zip);
  g_autoptr (GBytes) b3 = g_bytes_new_static (text, strlen (text));
  g_autoptr (GBytes) b4 = g_bytes_new_static ("", 0);
  expect_error (b1, NULL, GZ_ERR_FORMAT, IN ("not an ONNX model"));
  expect_error (b2, NULL, GZ_ERR_FORMAT, IN ("not an ONNX model"));
  expect_error (b3, NULL, GZ_ERR_FORMAT, IN ("not an ONNX model"));
  expect_error (b4, NULL, GZ_ERR_FORMAT, IN ("not an ONNX model"));
}

/* A model whose only initializer lives in external data. */
static GBytes *
external_model (OnnxBuilder *b, const char *location, const char *offset, const char *length)
{
  simple_model (b, "Relu");
  const int64_t d3[] = { 3 };
  Onnx__TensorProto *t = onnx_tensor (b, "ext", 1, 1, d3);
  t->has_data_location = true;
  t->data_location = 1;
  const char *keys[] = { "location", "offset", "length" };
  const char *values[] = { location, offset, length };
  t->external_data = onnx_builder_alloc (b, sizeof (void *) * 3);
  for (int i = 0; i < 3; i++)
    if (values[i] != NULL)
      {
        Onnx__StringStringEntryProto *e = onnx_builder_alloc (b, sizeof *e);
        onnx__string_string_entry_proto__init (e);
        e->key = onnx_builder_strdup (b, keys[i]);
        e->value = onnx_builder_strdup (b, values[i]);
        t->external_data[t->n_external_data++] = e;
      }
  onnx_add_initializer (b, t);
  return pack (b);
}

static void
expect_external_error (const char *dir, const char *location, const char *offset,
                       const char *length, GzStatus code, const char *fragment)
{
  OnnxBuilder b;
  g_autoptr (GBytes) bytes = external_model (&b, location, offset, length);
  expect_error (bytes, dir, code, IN (fragment));
  onnx_builder_clear (&b);
}

static void
test_external_data (void)
{
  g_assert_nonnull (gz_op_lookup ("Relu"));
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("gaze-onnx-XXXXXX", &error);
  g_autofree char *outside = g_dir_make_tmp ("gaze-outside-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *sub = g_build_filename (dir, "sub", NULL);
  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);

  /* 8 bytes of padding, then 1, 2, 3 as little-endian floats. */
  guint8 file[20] = { 'p', 'a', 'd', 'd', 'i', 'n', 'g', '!' };
  const float w[3] = { 1.0f, 2.0f, 3.0f };
  memcpy (file + 8, w, sizeof w);
  g_autofree char *wbin = g_build_filename (dir, "w.bin", NULL);
  g_autofree char *sbin = g_build_filename (sub, "w.bin", NULL);
  g_autofree char *obin = g_build_filename (outside, "secret.bin", NULL);
  g_assert_true (g_file_set_contents (wbin, (const char *) file, sizeof file, NULL));
  g_assert_true (g_file_set_contents (sbin, (const char *) file, sizeof file, NULL));
  g_assert_true (g_file_set_contents (obin, (const char *) file, sizeof file, NULL));
  g_autofree char *link_out = g_build_filename (dir, "link.bin", NULL);
  g_autofree char *link_dev = g_build_filename (dir, "zero.bin", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo.bin", NULL);
  g_assert_cmpint (symlink (obin, link_out), ==, 0);
  g_assert_cmpint (symlink ("/dev/zero", link_dev), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);

  const char *ok_locations[] = { "w.bin", "sub/w.bin", "./sub//w.bin" };
  for (int i = 0; i < 3; i++)
    {
      OnnxBuilder b;
      g_autoptr (GBytes) bytes = external_model (&b, ok_locations[i], "8", "12");
      GzGraph *g = NULL;
      GzError err = { 0 };
      if (load (bytes, dir, &g, &err) != GZ_OK)
        g_error ("%s: %s", ok_locations[i], err.message);
      const GzTensor *t = g->values[gz_graph_find_value (g, "ext")].initializer;
      for (int k = 0; k < 3; k++)
        g_assert_cmpfloat (gz_tensor_f (t)[k], ==, w[k]);
      gz_graph_free (g);
      onnx_builder_clear (&b);
    }

  expect_external_error (dir, obin, "8", NULL, GZ_ERR_FORMAT, "absolute");
  expect_external_error (dir, "/dev/zero", NULL, NULL, GZ_ERR_FORMAT, "absolute");
  expect_external_error (dir, "../w.bin", NULL, NULL, GZ_ERR_FORMAT, "leaves");
  expect_external_error (sub, "../w.bin", "8", NULL, GZ_ERR_FORMAT, "leaves");
  expect_external_error (dir, "sub/../../x.bin", NULL, NULL, GZ_ERR_FORMAT, "leaves");
  expect_external_error (dir, "link.bin", "8", NULL, GZ_ERR_FORMAT, "outside");
  expect_external_error (dir, "zero.bin", NULL, NULL, GZ_ERR_FORMAT, "outside");
  expect_external_error (dir, "fifo.bin", NULL, NULL, GZ_ERR_FORMAT, "not a regular file");
  expect_external_error (dir, "sub", NULL, NULL, GZ_ERR_FORMAT, "not a regular file");
  /* A device node inside the folder (only root may create one: /dev/null's numbers). */
  g_autofree char *dev = g_build_filename (dir, "null.bin", NULL);
  if (mknod (dev, S_IFCHR | 0600, makedev (1, 3)) == 0)
    {
      expect_external_error (dir, "null.bin", NULL, NULL, GZ_ERR_FORMAT, "not a regular file");
      g_unlink (dev);
    }
  else
    g_test_message ("cannot create a device node here (not root): that case is unchecked");
  expect_external_error (dir, "missing.bin", NULL, NULL, GZ_ERR_IO, "missing.bin");
  expect_external_error (dir, "w.bin", "8", "16", GZ_ERR_FORMAT, "length");
  expect_external_error (dir, "w.bin", "12", NULL, GZ_ERR_FORMAT, "too short");
  expect_external_error (dir, "w.bin", "-4", NULL, GZ_ERR_FORMAT, "offset");
  expect_external_error (dir, "w.bin", "99999999999999999999", NULL, GZ_ERR_FORMAT, "offset");
  expect_external_error (dir, "", NULL, NULL, GZ_ERR_FORMAT, "without a location");
  expect_external_error (NULL, "w.bin", NULL, NULL, GZ_ERR_UNSUPPORTED, "w.bin");

  g_unlink (link_out);
  g_unlink (link_dev);
  g_unlink (fifo);
  g_unlink (wbin);
  g_unlink (sbin);
  g_unlink (obin);
  g_rmdir (sub);
  g_rmdir (dir);
  g_rmdir (outside);
}

static void
test_inputs (void)
{
  OnnxBuilder b;
  onnx_builder_init (&b, 13);
  onnx_add_input (&b, "X", 2, dims_x);
  onnx_add_input (&b, "mask", 2, dims_x);
  onnx_add_node (&b, "Mul", "m", IN ("X", "mask"), IN ("Y"));
  onnx_add_output (&b, "Y", -1, NULL);
  g_autoptr (GBytes) bytes = pack (&b);
  expect_error (bytes, NULL, GZ_ERR_UNSUPPORTED, IN ("2 inputs", "'X'", "'mask'"));
  onnx_builder_clear (&b);

  onnx_builder_init (&b, 13); /* every input is an initializer */
  const int64_t d1[] = { 1 };
  const float one = 1.0f;
  onnx_add_initializer_raw (&b, "X", 1, 1, d1, &one, 4);
  onnx_add_value_input (&b, onnx_value_info (&b, "X", 1, 1, d1));
  onnx_add_node (&b, "Relu", "r", IN ("X"), IN ("Y"));
  onnx_add_output (&b, "Y", -1, NULL);
  g_autoptr (GBytes) bytes2 = pack (&b);
  expect_error (bytes2, NULL, GZ_ERR_UNSUPPORTED, IN ("no input"));
  onnx_builder_clear (&b);
}

static void
test_limits (void)
{
  OnnxBuilder b;
  onnx_builder_init (&b, 13);
  onnx_add_input (&b, "X", 2, dims_x);
  onnx_add_node (&b, "Relu", "a", IN ("X"), IN ("Y1"));
  onnx_add_node (&b, "Relu", "b", IN ("Y1"), IN ("Y2"));
  onnx_add_output (&b, "Y2", -1, NULL);
  g_autoptr (GBytes) bytes = pack (&b);
  gsize len;
  const void *data = g_bytes_get_data (bytes, &len);
  GzLimits limits;
  gz_limits_default (&limits);
  g_assert_cmpint (limits.max_file_bytes, ==, INT64_C (2) << 30);
  g_assert_cmpint (limits.max_tensor_elements, ==, INT64_C (1) << 31);
  g_assert_cmpint (limits.max_nodes, ==, 100000);
  g_assert_cmpint (limits.max_activation_bytes, ==, INT64_C (4) << 30);
  g_assert_cmpint (limits.max_image_pixels, ==, 100000000);
  limits.max_nodes = 1;
  GzGraph *g = NULL;
  GzError err = { 0 };
  /* Each refusal names its limit's key (a front end says how to raise it),
   * and no front end's flag. */
  g_assert_cmpint (gz_onnx_load_graph (data, len, NULL, &limits, &g, &err), ==, GZ_ERR_LIMIT);
  g_assert_cmpstr (gz_limits_key_in (err.message), ==, "nodes");
  g_assert_null (strstr (err.message, "--"));
  gz_limits_default (&limits);
  limits.max_file_bytes = (int64_t) len - 1;
  g_assert_cmpint (gz_onnx_load_graph (data, len, NULL, &limits, &g, &err), ==, GZ_ERR_LIMIT);
  g_assert_cmpstr (gz_limits_key_in (err.message), ==, "file-bytes");
  g_assert_null (strstr (err.message, "--"));
  g_assert_null (gz_limits_key_in ("the model has 3 nodes"));
  g_assert_null (gz_limits_key_in (NULL));
  onnx_builder_clear (&b);

  g_autoptr (GBytes) bytes2 = model_with_weights (&b, 64);
  data = g_bytes_get_data (bytes2, &len);
  gz_limits_default (&limits);
  limits.max_tensor_elements = 63;
  g_assert_cmpint (gz_onnx_load_graph (data, len, NULL, &limits, &g, &err), ==, GZ_ERR_LIMIT);
  g_assert_nonnull (strstr (err.message, "'weights'"));
  g_assert_cmpstr (gz_limits_key_in (err.message), ==, "tensor-elements");
  onnx_builder_clear (&b);
}

/* gz_model_load: files, and the accessors on a small classifier-shaped net. */
static void
test_model_file (void)
{
  GzModel *model = NULL;
  GzError err = { 0 };
  g_assert_cmpint (gz_model_load ("/nonexistent/model.onnx", NULL, &model, &err), ==, GZ_ERR_IO);
  g_assert_null (model);
  g_assert_cmpint (gz_model_load ("/tmp", NULL, &model, &err), ==, GZ_ERR_IO);
  g_assert_cmpint (gz_model_load ("/dev/null", NULL, &model, &err), ==, GZ_ERR_IO);

  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("gaze-model-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *junk = g_build_filename (dir, "junk.onnx", NULL);
  g_assert_true (g_file_set_contents (junk, "PK\003\004 not a model", -1, NULL));
  g_assert_cmpint (gz_model_load (junk, NULL, &model, &err), ==, GZ_ERR_FORMAT);
  GzLimits limits;
  gz_limits_default (&limits);
  limits.max_file_bytes = 4;
  g_assert_cmpint (gz_model_load (junk, &limits, &model, &err), ==, GZ_ERR_LIMIT);
  g_assert_cmpstr (gz_limits_key_in (err.message), ==, "file-bytes");
  g_unlink (junk);

  const char *needed[] = { "Conv", "Relu", "GlobalAveragePool", "Flatten", "Gemm" };
  for (int i = 0; i < 5; i++)
    g_assert_nonnull (gz_op_lookup (needed[i]));
  /* X[N,2,5,5] → Conv 3x3 (4 ch) → Relu → GlobalAveragePool → Flatten → Gemm(3). */
  OnnxBuilder b;
  onnx_builder_init (&b, 13);
  const int64_t dx[] = { -1, 2, 5, 5 };
  onnx_add_input (&b, "X", 4, dx);
  const int64_t dw[] = { 4, 2, 3, 3 }, dcb[] = { 4 }, dg[] = { 3, 4 }, dgb[] = { 3 };
  float wconv[72], bconv[4], wfc[12], bfc[3];
  for (int i = 0; i < 72; i++)
    wconv[i] = (float) ((i % 7) - 3) * 0.1f;
  for (int i = 0; i < 4; i++)
    bconv[i] = 0.1f * (float) i;
  for (int i = 0; i < 12; i++)
    wfc[i] = (float) (i % 5) * 0.2f - 0.4f;
  for (int i = 0; i < 3; i++)
    bfc[i] = (float) i;
  onnx_add_initializer_raw (&b, "conv.w", 1, 4, dw, wconv, sizeof wconv);
  onnx_add_initializer_raw (&b, "conv.b", 1, 1, dcb, bconv, sizeof bconv);
  onnx_add_initializer_raw (&b, "fc.w", 1, 2, dg, wfc, sizeof wfc);
  onnx_add_initializer_raw (&b, "fc.b", 1, 1, dgb, bfc, sizeof bfc);
  const int64_t shape_init[] = { 2 };
  const int64_t shape_vals[2] = { 1, -1 };
  onnx_add_initializer_raw (&b, "unused_shape", 7, 1, shape_init, shape_vals, sizeof shape_vals);
  Onnx__NodeProto *conv
      = onnx_add_node (&b, "Conv", "conv", IN ("X", "conv.w", "conv.b"), IN ("c"));
  Onnx__AttributeProto *a = onnx_add_attr (&b, conv, "kernel_shape", 7);
  int64_t ks[2] = { 3, 3 };
  a->n_ints = 2;
  a->ints = ks;
  onnx_add_node (&b, "Relu", "relu", IN ("c"), IN ("r"));
  onnx_add_node (&b, "GlobalAveragePool", "gap", IN ("r"), IN ("p"));
  onnx_add_node (&b, "Flatten", "flat", IN ("p"), IN ("f"));
  onnx_add_node (&b, "Gemm", "fc", IN ("f", "fc.w", "fc.b"), IN ("logits"));
  Onnx__NodeProto *gemm = b.graph.node[4];
  onnx_add_attr (&b, gemm, "transB", 2)->i = 1;
  onnx_add_output (&b, "logits", -1, NULL);
  g_autoptr (GBytes) bytes = pack (&b);
  g_autofree char *path = g_build_filename (dir, "tiny.onnx", NULL);
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  g_assert_true (g_file_set_contents (path, data, (gssize) len, NULL));

  if (gz_model_load (path, NULL, &model, &err) != GZ_OK)
    g_error ("%s", err.message);
  g_assert_cmpstr (gz_model_input (model)->name, ==, "X");
  g_assert_cmpint (gz_model_input (model)->dims[0], ==, -1);
  g_assert_cmpint (gz_model_input (model)->dims[3], ==, 5);
  g_assert_cmpstr (gz_model_output (model)->name, ==, "logits");
  g_assert_cmpint (gz_model_output (model)->ndim, ==, 2);
  g_assert_cmpint (gz_model_output (model)->dims[1], ==, 3);
  g_assert_cmpint (gz_model_opset (model), ==, 13);
  g_assert_cmpstr (gz_model_producer (model), ==, "gaze-tests 1.0");
  g_assert_cmpint (gz_model_parameter_count (model), ==, 72 + 4 + 12 + 3); /* int64 excluded */
  g_assert_cmpint (gz_model_node_count (model), ==, 5);
  const GzNodeInfo *ni = gz_model_node (model, 0);
  g_assert_cmpstr (ni->name, ==, "conv");
  g_assert_cmpstr (ni->op_type, ==, "Conv");
  g_assert_cmpstr (ni->output, ==, "c");
  g_assert_cmpint (ni->ndim, ==, 4);
  const int64_t want_c[] = { 1, 4, 3, 3 };
  for (int i = 0; i < 4; i++)
    g_assert_cmpint (ni->dims[i], ==, want_c[i]);
  g_assert_cmpint (gz_model_node (model, 3)->ndim, ==, 2);
  g_assert_null (gz_model_node (model, 5));
  /* Layers: conv, relu, gap outputs are [1,C,H,W]. */
  g_assert_cmpint (gz_model_layer_count (model), ==, 3);
  g_assert_cmpstr (gz_model_layer (model, 2)->output, ==, "p");
  g_assert_cmpstr (gz_model_default_layer (model), ==, "r");
  gz_model_free (model);

  /* The same bytes from memory. */
  if (gz_model_load_mem (data, len, NULL, NULL, &model, &err) != GZ_OK)
    g_error ("%s", err.message);
  g_assert_cmpstr (gz_model_default_layer (model), ==, "r");
  gz_model_free (model);

  g_unlink (path);
  g_rmdir (dir);
  onnx_builder_clear (&b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/onnx/load/minimal", test_minimal);
  g_test_add_func ("/onnx/load/topological-order", test_topological_order);
  g_test_add_func ("/onnx/load/cycle", test_cycle);
  g_test_add_func ("/onnx/load/dangling", test_dangling);
  g_test_add_func ("/onnx/load/initializer-size", test_initializer_size);
  g_test_add_func ("/onnx/load/unsupported-op", test_unsupported_op);
  g_test_add_func ("/onnx/load/unsupported-dtype", test_unsupported_dtype);
  g_test_add_func ("/onnx/load/conversions", test_conversions);
  g_test_add_func ("/onnx/load/truncated", test_truncated);
  g_test_add_func ("/onnx/load/mutations", test_mutations);
  g_test_add_func ("/onnx/load/wrong-magic", test_wrong_magic);
  g_test_add_func ("/onnx/load/external-data", test_external_data);
  g_test_add_func ("/onnx/load/inputs", test_inputs);
  g_test_add_func ("/onnx/load/limits", test_limits);
  g_test_add_func ("/onnx/model/file", test_model_file);
  return g_test_run ();
}
