/* test-session.c — plans, constant folding, memory reuse, keep sets, backward
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Runs the core on a hand-built graph whose operators are defined here, so the
 * executor is tested independently of the real operator set:
 *
 *   x[N,3] ─Scale(k)─▶ a ─Square─▶ b ─Add(c)─▶ out        c = Scale(k0) of a constant
 *
 * and checks the two other ways the executor runs nodes: with what an
 * operator prepared at plan time (GzOpDef.prepare), and from a layer's value
 * on a batch (gz_session_run_from).
 */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "gz-model-private.h"
#include "gz-session-private.h"

static int forward_calls;

/* Elementwise y = factor * x, factor from the "factor" attribute. */
static GzStatus
scale_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  gz_tensor_set_shape (out[0], in[0]->dtype, in[0]->ndim, in[0]->dims);
  return GZ_OK;
}

static GzStatus
scale_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  float k = gz_node_attr_float (node, "factor", 1.f);
  for (int64_t i = 0; i < gz_tensor_numel (in[0]); i++)
    gz_tensor_f (out[0])[i] = k * gz_tensor_f (in[0])[i];
  forward_calls++;
  return GZ_OK;
}

static GzStatus
scale_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                const GzTensor *const *dout, GzTensor *const *din, GzReluMode mode, GzError *err)
{
  float k = gz_node_attr_float (node, "factor", 1.f);
  for (int64_t i = 0; i < gz_tensor_numel (in[0]); i++)
    gz_tensor_f (din[0])[i] = k * gz_tensor_f (dout[0])[i];
  return GZ_OK;
}

static GzStatus
square_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  for (int64_t i = 0; i < gz_tensor_numel (in[0]); i++)
    gz_tensor_f (out[0])[i] = gz_tensor_f (in[0])[i] * gz_tensor_f (in[0])[i];
  forward_calls++;
  return GZ_OK;
}

static GzStatus
square_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                 const GzTensor *const *dout, GzTensor *const *din, GzReluMode mode, GzError *err)
{
  for (int64_t i = 0; i < gz_tensor_numel (in[0]); i++)
    gz_tensor_f (din[0])[i] = 2.f * gz_tensor_f (in[0])[i] * gz_tensor_f (dout[0])[i];
  return GZ_OK;
}

/* out = a + c with c of shape [3] broadcast over the batch. */
static GzStatus
addrow_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int64_t n = gz_tensor_numel (in[0]), w = in[1]->dims[0];
  for (int64_t i = 0; i < n; i++)
    gz_tensor_f (out[0])[i] = gz_tensor_f (in[0])[i] + gz_tensor_f (in[1])[i % w];
  forward_calls++;
  return GZ_OK;
}

static GzStatus
addrow_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                 const GzTensor *const *dout, GzTensor *const *din, GzReluMode mode, GzError *err)
{
  g_assert_null (din[1]); /* a constant never asks for a gradient */
  memcpy (din[0]->data, dout[0]->data, (size_t) gz_tensor_numel (in[0]) * sizeof (float));
  return GZ_OK;
}

static int prepare_calls, prepared_forward_calls;

/* Prepares the factor once per plan; forward_prepared must then use it. */
static GzStatus
scale_prepare (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
               void **prepared, GzError *err)
{
  float *k = malloc (sizeof *k);
  g_assert_nonnull (k);
  *k = gz_node_attr_float (node, "factor", 1.f);
  g_assert_null (in[0]->data); /* a runtime input: shapes only */
  g_assert_cmpint (out[0]->ndim, ==, 2);
  *prepared = k;
  prepare_calls++;
  return GZ_OK;
}

static GzStatus
scale_forward_prepared (const GzNode *node, const void *prepared, const GzTensor *const *in,
                        GzTensor *const *out, GzError *err)
{
  float k = *(const float *) prepared;
  for (int64_t i = 0; i < gz_tensor_numel (in[0]); i++)
    gz_tensor_f (out[0])[i] = k * gz_tensor_f (in[0])[i];
  prepared_forward_calls++;
  return GZ_OK;
}

static const GzOpDef op_scale
    = { "Scale", 1, NULL, scale_infer, scale_forward, scale_backward, NULL };
static const GzOpDef op_scale_prepared = {
  .op_type = "Scale",
  .min_opset = 1,
  .infer = scale_infer,
  .forward = scale_forward,
  .backward = scale_backward,
  .prepare = scale_prepare,
  .forward_prepared = scale_forward_prepared,
  .free_prepared = free,
};
static const GzOpDef op_square
    = { "Square", 1, NULL, scale_infer, square_forward, square_backward, NULL };
static const GzOpDef op_addrow
    = { "AddRow", 1, NULL, scale_infer, addrow_forward, addrow_backward, NULL };

enum
{
  V_X,
  V_K0,
  V_C,
  V_A,
  V_B,
  V_OUT,
  N_VALUES
};

static void
set_node (GzNode *node, const char *name, const GzOpDef *op, int n_in, const int *in, int out,
          float factor)
{
  node->name = g_strdup (name);
  node->op_type = g_strdup (op->op_type);
  node->domain = g_strdup ("");
  node->op = op;
  node->n_inputs = n_in;
  node->inputs = g_memdup2 (in, (gsize) n_in * sizeof (int));
  node->n_outputs = 1;
  node->outputs = g_new (int, 1);
  node->outputs[0] = out;
  node->n_attrs = 1;
  node->attrs = g_new0 (GzAttr, 1);
  node->attrs[0].name = g_strdup ("factor");
  node->attrs[0].type = GZ_ATTR_FLOAT;
  node->attrs[0].f = factor;
}

static GzModel *
build_model_with (const GzOpDef *scale)
{
  const char *names[N_VALUES] = { "x", "k0", "c", "a", "b", "out" };
  GzGraph *g = calloc (1, sizeof *g);
  g->n_values = N_VALUES;
  g->values = calloc (N_VALUES, sizeof *g->values);
  for (int v = 0; v < N_VALUES; v++)
    {
      g->values[v].name = strdup (names[v]);
      g->values[v].dtype = GZ_DTYPE_FLOAT;
      g->values[v].producer = -1;
    }
  g->values[V_X].has_shape = true;
  g->values[V_X].ndim = 2;
  g->values[V_X].dims[0] = -1; /* symbolic batch */
  g->values[V_X].dims[1] = 3;
  int64_t three = 3;
  GzTensor *k0 = gz_tensor_new (GZ_DTYPE_FLOAT, 1, &three, NULL);
  for (int i = 0; i < 3; i++)
    gz_tensor_f (k0)[i] = (float) (i + 1);
  g->values[V_K0].initializer = k0;

  g->n_nodes = 4;
  g->nodes = calloc (4, sizeof *g->nodes);
  int in_c[] = { V_K0 }, in_a[] = { V_X }, in_b[] = { V_A }, in_out[] = { V_B, V_C };
  set_node (&g->nodes[0], "fold_me", scale, 1, in_c, V_C, 10.f);
  set_node (&g->nodes[1], "scale", scale, 1, in_a, V_A, 3.f);
  set_node (&g->nodes[2], "square", &op_square, 1, in_b, V_B, 0.f);
  set_node (&g->nodes[3], "add", &op_addrow, 2, in_out, V_OUT, 0.f);
  for (int n = 0; n < 4; n++)
    g->values[g->nodes[n].outputs[0]].producer = n;
  g->input = V_X;
  g->output = V_OUT;
  g->opset = 13;

  GzModel *model = calloc (1, sizeof *model);
  model->graph = g;
  gz_limits_default (&model->limits);
  GzError err = { 0 };
  forward_calls = 0;
  g_assert_cmpint (gz_plan_build (g, 1, &model->limits, &model->plan, &err), ==, GZ_OK);
  return model;
}

static GzModel *
build_model (void)
{
  return build_model_with (&op_scale);
}

static void
free_model (GzModel *model)
{
  gz_plan_free (model->plan);
  gz_graph_free (model->graph);
  free (model);
}

static GzTensor *
make_input (int batch)
{
  int64_t dims[2] = { batch, 3 };
  GzTensor *x = gz_tensor_new (GZ_DTYPE_FLOAT, 2, dims, NULL);
  for (int i = 0; i < batch * 3; i++)
    gz_tensor_f (x)[i] = 0.5f * (float) (i + 1);
  return x;
}

static void
test_folding (void)
{
  GzModel *model = build_model ();
  /* The constant branch ran once, at build time. */
  g_assert_cmpint (forward_calls, ==, 1);
  g_assert_true (model->plan->node_folded[0]);
  g_assert_false (model->plan->node_folded[1]);
  g_assert_true (model->plan->is_constant[V_C]);
  g_assert_cmpfloat (gz_tensor_f (&model->plan->values[V_C])[2], ==, 30.f);
  g_assert_cmpint (model->plan->last_use[V_A], ==, 2);
  g_assert_cmpint (model->plan->last_use[V_X], ==, 1);
  free_model (model);
}

static void
test_forward_and_release (void)
{
  GzModel *model = build_model ();
  GzSession *s;
  GzError err = { 0 };
  g_assert_cmpint (gz_session_new (model, &s, &err), ==, GZ_OK);
  GzTensor *x = make_input (1);
  g_assert_cmpint (gz_session_forward (s, x, NULL, &err), ==, GZ_OK);
  const GzTensor *out = gz_session_output (s);
  for (int i = 0; i < 3; i++)
    {
      float a = 3.f * 0.5f * (float) (i + 1);
      g_assert_cmpfloat_with_epsilon (gz_tensor_f (out)[i], a * a + 10.f * (float) (i + 1), 1e-5);
    }
  /* Intermediate activations were released; nothing was asked to be kept. */
  g_assert_null (gz_session_value (s, "a"));
  g_assert_null (gz_session_value (s, "b"));
  g_assert_nonnull (gz_session_value (s, "out"));
  /* A second forward reuses the session's blocks and gives the same result. */
  g_assert_cmpint (gz_session_forward (s, x, NULL, &err), ==, GZ_OK);
  g_assert_cmpuint (gz_session_forward_count (s), ==, 2);
  gz_tensor_free (x);
  gz_session_free (s);
  free_model (model);
}

static void
test_keep_and_backward (void)
{
  GzModel *model = build_model ();
  GzSession *s;
  GzError err = { 0 };
  g_assert_cmpint (gz_session_new (model, &s, &err), ==, GZ_OK);
  GzTensor *x = make_input (1);
  g_assert_cmpint (gz_session_forward (s, x, "a", &err), ==, GZ_OK);
  const GzTensor *a = gz_session_value (s, "a");
  g_assert_nonnull (a);
  g_assert_cmpfloat_with_epsilon (gz_tensor_f (a)[1], 3.f, 1e-6);

  /* d out[0,k] / d a = 2 a (one-hot on k) */
  int64_t dims[2] = { 1, 3 };
  GzTensor *seed = gz_tensor_new (GZ_DTYPE_FLOAT, 2, dims, NULL);
  for (int k = 0; k < 3; k++)
    {
      memset (seed->data, 0, 3 * sizeof (float));
      gz_tensor_f (seed)[k] = 1.f;
      GzTensor *grad = NULL;
      g_assert_cmpint (gz_session_backward (s, seed, "a", GZ_RELU_GRADIENT, &grad, &err), ==,
                       GZ_OK);
      for (int i = 0; i < 3; i++)
        g_assert_cmpfloat_with_epsilon (gz_tensor_f (grad)[i],
                                        i == k ? 2.f * gz_tensor_f (a)[i] : 0.f, 1e-5);
      gz_tensor_free (grad);
    }
  /* Keeping only "b" drops "a", which the path from the input needs: the
   * gradient w.r.t. the input must be refused, clearly. */
  GzTensor *grad = NULL;
  g_assert_cmpint (gz_session_forward (s, x, "b", &err), ==, GZ_OK);
  g_assert_null (gz_session_value (s, "a"));
  g_assert_cmpint (gz_session_backward (s, seed, NULL, GZ_RELU_GRADIENT, &grad, &err), ==,
                   GZ_ERR_ARGUMENT);
  g_assert_nonnull (strstr (err.message, "did not keep"));

  /* Keeping everything allows it: d out / d x = 2 a * 3 = 18 x */
  g_assert_cmpint (gz_session_forward (s, x, "*", &err), ==, GZ_OK);
  for (int i = 0; i < 3; i++)
    gz_tensor_f (seed)[i] = 1.f;
  g_assert_cmpint (gz_session_backward (s, seed, NULL, GZ_RELU_GRADIENT, &grad, &err), ==, GZ_OK);
  for (int i = 0; i < 3; i++)
    g_assert_cmpfloat_with_epsilon (gz_tensor_f (grad)[i], 18.f * gz_tensor_f (x)[i], 1e-4);
  gz_tensor_free (grad);
  g_assert_cmpint (gz_session_backward (s, seed, "nope", GZ_RELU_GRADIENT, &grad, &err), ==,
                   GZ_ERR_ARGUMENT);
  gz_tensor_free (seed);
  gz_tensor_free (x);
  gz_session_free (s);
  free_model (model);
}

static void
test_batch_and_bad_input (void)
{
  GzModel *model = build_model ();
  GzSession *s;
  GzError err = { 0 };
  g_assert_cmpint (gz_session_new (model, &s, &err), ==, GZ_OK);
  GzTensor *x4 = make_input (4);
  g_assert_cmpint (gz_session_forward (s, x4, NULL, &err), ==, GZ_OK);
  const GzTensor *out = gz_session_output (s);
  g_assert_cmpint (out->dims[0], ==, 4);
  float a = 3.f * 0.5f * 12.f;
  g_assert_cmpfloat_with_epsilon (gz_tensor_f (out)[11], a * a + 30.f, 1e-3);

  int64_t bad_dims[2] = { 1, 4 };
  GzTensor *bad = gz_tensor_new (GZ_DTYPE_FLOAT, 2, bad_dims, NULL);
  g_assert_cmpint (gz_session_forward (s, bad, NULL, &err), ==, GZ_ERR_SHAPE);
  g_assert_nonnull (strstr (err.message, "expects an input of 1×3"));
  g_assert_null (gz_session_output (s));
  gz_tensor_free (bad);
  gz_tensor_free (x4);
  gz_session_free (s);
  free_model (model);
}

/* out[i] = (3 x_i)^2 + 10 (i mod 3 + 1) */
static float
expected_out (float x, int i)
{
  return 9.f * x * x + 10.f * (float) (i % 3 + 1);
}

static void
test_prepared (void)
{
  prepare_calls = prepared_forward_calls = 0;
  GzModel *model = build_model_with (&op_scale_prepared);
  /* Prepared once for the batch-1 plan, for the node that runs (the folded
   * one needs nothing). */
  g_assert_cmpint (prepare_calls, ==, 1);
  g_assert_null (model->plan->prepared[0]);
  g_assert_nonnull (model->plan->prepared[1]);
  g_assert_null (model->plan->prepared[2]);
  GzSession *s;
  GzError err = { 0 };
  g_assert_cmpint (gz_session_new (model, &s, &err), ==, GZ_OK);
  GzTensor *x = make_input (1), *x4 = make_input (4);
  g_assert_cmpint (gz_session_forward (s, x, NULL, &err), ==, GZ_OK);
  g_assert_cmpint (prepared_forward_calls, ==, 1);
  for (int i = 0; i < 3; i++)
    g_assert_cmpfloat_with_epsilon (gz_tensor_f (gz_session_output (s))[i],
                                    expected_out (gz_tensor_f (x)[i], i), 1e-4);
  /* Another batch size: another plan, prepared again, and again used. */
  g_assert_cmpint (gz_session_forward (s, x4, NULL, &err), ==, GZ_OK);
  g_assert_cmpint (prepare_calls, ==, 2);
  g_assert_cmpint (prepared_forward_calls, ==, 2);
  for (int i = 0; i < 12; i++)
    g_assert_cmpfloat_with_epsilon (gz_tensor_f (gz_session_output (s))[i],
                                    expected_out (gz_tensor_f (x4)[i], i), 1e-3);
  gz_tensor_free (x4);
  gz_tensor_free (x);
  gz_session_free (s);
  free_model (model);
}

static void
test_run_from (void)
{
  GzModel *model = build_model ();
  GzSession *s;
  GzError err = { 0 };
  g_assert_cmpint (gz_session_new (model, &s, &err), ==, GZ_OK);
  GzTensor *x = make_input (1);
  g_assert_cmpint (gz_session_forward (s, x, "a", &err), ==, GZ_OK);
  float out0[3];
  memcpy (out0, gz_session_output (s)->data, sizeof out0);

  GzTailInfo info;
  g_assert_cmpint (gz_session_tail_info (s, "a", &info, &err), ==, GZ_OK);
  g_assert_true (info.ready);
  g_assert_true (info.backward_ready);
  g_assert_cmpint (info.image_bytes, ==, 2 * 3 * (int64_t) sizeof (float)); /* b and out */

  /* Five values of "a" at once: out = a^2 + c, row by row. */
  int64_t dims[2] = { 5, 3 };
  GzTensor *batch = gz_tensor_new (GZ_DTYPE_FLOAT, 2, dims, NULL);
  for (int i = 0; i < 15; i++)
    gz_tensor_f (batch)[i] = 0.25f * (float) (i - 7);
  for (int round = 0; round < 2; round++) /* the second run reuses the pool and the plan */
    {
      GzTensor *out = NULL;
      g_assert_cmpint (gz_session_run_from (s, "a", batch, &out, &err), ==, GZ_OK);
      g_assert_cmpint (out->ndim, ==, 2);
      g_assert_cmpint (out->dims[0], ==, 5);
      for (int i = 0; i < 15; i++)
        {
          float a = gz_tensor_f (batch)[i];
          g_assert_cmpfloat_with_epsilon (gz_tensor_f (out)[i], a * a + 10.f * (float) (i % 3 + 1),
                                          1e-5);
        }
      gz_tensor_free (out);
    }
  /* The forward's values are as they were. */
  g_assert_cmpmem (gz_session_output (s)->data, sizeof out0, out0, sizeof out0);
  g_assert_nonnull (gz_session_value (s, "a"));

  /* A constant is no layer to run from; nor is a name the graph lacks. */
  GzTensor *out = NULL;
  g_assert_cmpint (gz_session_run_from (s, "c", batch, &out, &err), ==, GZ_ERR_ARGUMENT);
  g_assert_cmpint (gz_session_run_from (s, "nope", batch, &out, &err), ==, GZ_ERR_ARGUMENT);
  g_assert_null (out);
  /* A batch whose rows do not have the layer's shape. */
  int64_t bad_dims[2] = { 5, 4 };
  GzTensor *bad = gz_tensor_new (GZ_DTYPE_FLOAT, 2, bad_dims, NULL);
  g_assert_cmpint (gz_session_run_from (s, "a", bad, &out, &err), ==, GZ_ERR_SHAPE);
  gz_tensor_free (bad);
  gz_tensor_free (batch);
  gz_tensor_free (x);
  gz_session_free (s);
  free_model (model);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/plan/prepared", test_prepared);
  g_test_add_func ("/core/session/run-from", test_run_from);
  g_test_add_func ("/core/plan/folding", test_folding);
  g_test_add_func ("/core/session/forward-and-release", test_forward_and_release);
  g_test_add_func ("/core/session/keep-and-backward", test_keep_and_backward);
  g_test_add_func ("/core/session/batch-and-bad-input", test_batch_and_bad_input);
  return g_test_run ();
}
