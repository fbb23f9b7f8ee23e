/* test-ops-tensor-fuzz.c — every tensor operator on random, often malformed nodes
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Random input counts, ranks, shapes (including empty and 0-size), data types,
 * constant-ness, extreme int64 values (shape, axes, pads, repeats…) and
 * attributes. The only requirements: nothing crashes (run it under ASan), an
 * accepted node has a sane output shape, and forward/backward of an accepted
 * node either succeed or fail with a message. GAZE_FUZZ_ITERATIONS overrides
 * the per-operator iteration count.
 */
#include "gz-op.h"
#include "tensor-test-util.h"

static guint32 rng = 2024;

static guint32
rnd (guint32 n)
{
  rng = rng * 1103515245u + 12345u;
  return n > 0 ? (rng >> 8) % n : 0;
}

static int64_t
rnd_int (void)
{
  static const int64_t special[]
      = { 0, 1, -1, 2, -2, 3, INT64_MAX, INT64_MIN, 1000, -1000, ((int64_t) 1) << 40, 4, 5, -3 };
  return special[rnd (G_N_ELEMENTS (special))];
}

/* A "parameter" input: a small int64 vector or scalar, mostly in range. */
static GzTensor *
rnd_param (void)
{
  int64_t n = rnd (5);
  GzTensor *t = rnd (4) == 0 ? mki (0, NULL, NULL) : mki (1, &n, NULL);
  for (int64_t i = 0; i < gz_tensor_numel (t); i++)
    ((int64_t *) t->data)[i] = rnd (5) == 0 ? rnd_int () : (int64_t) rnd (7) - 3;
  return t;
}

static GzTensor *
rnd_tensor (void)
{
  int ndim = (int) rnd (5);
  int64_t dims[GZ_MAX_DIMS];
  for (int a = 0; a < ndim; a++)
    dims[a] = rnd (8) == 0 ? 0 : 1 + rnd (3);
  if (rnd (3) == 0)
    {
      GzTensor *t = mki (ndim, dims, NULL);
      for (int64_t i = 0; i < gz_tensor_numel (t); i++)
        ((int64_t *) t->data)[i] = rnd_int ();
      return t;
    }
  GzTensor *t = mkf (ndim, dims, NULL);
  for (int64_t i = 0; i < gz_tensor_numel (t); i++)
    gz_tensor_f (t)[i] = (float) ((int) rnd (200) - 100) / 37.0f;
  return t;
}

/* Attribute pool: names the operators read, with random values. */
static void
rnd_attrs (TNode *t, int64_t *ints_store, float *floats_store, GzTensor **tensor_store)
{
  static const char *const int_names[] = { "axis",
                                           "keepdims",
                                           "allowzero",
                                           "to",
                                           "start",
                                           "end",
                                           "noop_with_empty_axes",
                                           "num_outputs",
                                           "value_int",
                                           "blocksize",
                                           "upper",
                                           "exclusive",
                                           "reverse",
                                           "select_last_index",
                                           "k",
                                           "largest",
                                           "batch_dims",
                                           "dtype" };
  static const char *const ints_names[]
      = { "axes", "perm", "split", "starts", "ends", "pads", "shape", "value_ints" };
  static const char *const modes[]
      = { "constant", "reflect", "edge", "wrap", "", "linear", "cubic", "nearest" };
  static const char *const reductions[] = { "none", "add", "mul", "max" };
  int n = (int) rnd (5);
  for (int i = 0; i < n && t->node.n_attrs < TN_MAX - 1; i++)
    switch (rnd (6))
      {
        case 0:
        case 1:
          {
            const char *name = int_names[rnd (G_N_ELEMENTS (int_names))];
            int64_t v = strcmp (name, "to") == 0 ? (int64_t) rnd (12) : rnd_int ();
            tn_int (t, name, v);
            break;
          }
        case 2:
          {
            int k = (int) rnd (6);
            int64_t *v = ints_store + 8 * i;
            for (int j = 0; j < k; j++)
              v[j] = rnd (2) ? (int64_t) rnd (5) - 2 : rnd_int ();
            tn_ints (t, ints_names[rnd (G_N_ELEMENTS (ints_names))], k, v);
            break;
          }
        case 3:
          tn_string (t, rnd (2) ? "mode" : "reduction",
                     rnd (2) ? modes[rnd (G_N_ELEMENTS (modes))]
                             : reductions[rnd (G_N_ELEMENTS (reductions))]);
          break;
        case 4:
          {
            float *v = floats_store + 8 * i;
            v[0] = (float) rnd (10) / 3.0f;
            if (rnd (2))
              tn_float (t, rnd (2) ? "epsilon" : "value_float", v[0]);
            else
              tn_floats (t, "value_floats", (int) rnd (3), v);
            break;
          }
        default:
          if (tensor_store[i] == NULL)
            tensor_store[i] = rnd_tensor ();
          tn_attr_tensor (t, "value", tensor_store[i]);
          break;
      }
}

static int n_accepted, n_forward_ok;

/* For the operators whose valid nodes random draws almost never hit (a
 * required attribute with a divisibility rule, or three constant scalars):
 * sometimes a well-formed node, so that their accepting paths are fuzzed too.
 * Returns the number of inputs filled, or -1 for any other operator. */
static int
plausible_inputs (const GzOpDef *op, TNode *t, GzTensor **in)
{
  if (strcmp (op->op_type, "DepthToSpace") == 0 || strcmp (op->op_type, "SpaceToDepth") == 0)
    {
      int64_t b = 1 + rnd (2);
      int64_t dims[4] = { 1, 1 + rnd (3), 1 + rnd (3), 1 + rnd (3) };
      if (op->op_type[0] == 'D')
        dims[1] *= b * b;
      else
        dims[2] *= b, dims[3] *= b;
      tn_init (t, op->op_type, 1, 1, 7 + (int64_t) rnd (12));
      in[0] = mkf (4, dims, NULL);
      tn_int (t, "blocksize", b);
      if (op->op_type[0] == 'D' && rnd (2))
        tn_string (t, "mode", rnd (2) ? "CRD" : "DCR");
      return 1;
    }
  if (strcmp (op->op_type, "Range") == 0)
    {
      tn_init (t, op->op_type, 3, 1, 7 + (int64_t) rnd (12));
      for (int i = 0; i < 3; i++)
        {
          int64_t v = i == 2 ? 1 + rnd (3) : (int64_t) rnd (9) - 4;
          in[i] = mki (0, NULL, &v);
        }
      return 3;
    }
  return -1;
}

static void
fuzz_one (const GzOpDef *op)
{
  TNode t = { 0 };
  GzTensor *in[TN_MAX] = { NULL }, *hdr[TN_MAX] = { NULL }, *out[TN_MAX] = { NULL };
  GzTensor *dout[TN_MAX] = { NULL }, *din[TN_MAX] = { NULL }, *tensor_store[TN_MAX] = { NULL };
  int64_t ints_store[8 * TN_MAX];
  float floats_store[8 * TN_MAX];
  GzError err = { 0 };

  int n_in, n_out = 1;
  unsigned mask;
  if (rnd (4) == 0 && (n_in = plausible_inputs (op, &t, in)) >= 0)
    mask = n_in == 3 ? ~0u : ~1u; /* Range's scalars are constants */
  else
    {
      n_in = (int) rnd (6), n_out = rnd (2) ? 1 : 1 + (int) rnd (3);
      tn_init (&t, op->op_type, n_in, n_out, 7 + (int64_t) rnd (12));
      for (int i = 0; i < n_in; i++)
        {
          if (rnd (10) == 0)
            tn_omit_input (&t, i);
          in[i] = i > 0 && rnd (2) ? rnd_param () : rnd_tensor ();
        }
      if (rnd (6) == 0)
        tn_omit_input (&t, 0);
      if (rnd (8) == 0)
        t.outputs[n_out - 1] = -1;
      rnd_attrs (&t, ints_store, floats_store, tensor_store);
      /* input 0 is usually the run-time activation */
      mask = rnd (3) == 0 ? ~0u : ~1u;
    }

  GzStatus st = tn_infer (&t, in, mask, hdr, &err);
  if (st != GZ_OK)
    {
      g_assert_cmpstr (err.message, !=, "");
      goto out;
    }
  n_accepted++;
  int64_t total = 0;
  for (int j = 0; j < n_out; j++)
    {
      if (hdr[j] == NULL)
        continue;
      g_assert_cmpint (hdr[j]->ndim, >=, 0);
      g_assert_cmpint (hdr[j]->ndim, <=, GZ_MAX_DIMS);
      int64_t n = gz_shape_numel (hdr[j]->ndim, hdr[j]->dims);
      g_assert_cmpint (n, >=, 0);
      g_assert_true (hdr[j]->dtype == GZ_DTYPE_FLOAT || hdr[j]->dtype == GZ_DTYPE_INT64);
      total = n > INT64_MAX - total ? INT64_MAX : total + n;
    }
  if (total > 100000)
    goto out; /* a valid but huge output (e.g. Expand to [1000,1000]) */
  for (int j = 0; j < n_out; j++)
    if (hdr[j] != NULL)
      out[j] = gz_tensor_new (hdr[j]->dtype, hdr[j]->ndim, hdr[j]->dims, NULL);
  for (int i = 0; i < n_in; i++)
    if (t.inputs[i] < 0)
      {
        gz_tensor_free (in[i]);
        in[i] = NULL;
      }
  err.message[0] = '\0';
  st = op->forward (&t.node, (const GzTensor *const *) in, out, &err);
  if (st != GZ_OK)
    {
      g_assert_cmpstr (err.message, !=, "");
      goto out;
    }
  n_forward_ok++;
  if (op->backward == NULL)
    goto out;
  for (int j = 0; j < n_out; j++)
    if (out[j] != NULL && out[j]->dtype == GZ_DTYPE_FLOAT && rnd (4) != 0)
      dout[j] = mkr (out[j]->ndim, out[j]->dims, rnd (1000));
  for (int i = 0; i < n_in; i++)
    if (in[i] != NULL && in[i]->dtype == GZ_DTYPE_FLOAT && rnd (3) != 0)
      din[i] = mkf (in[i]->ndim, in[i]->dims, NULL);
  st = op->backward (&t.node, (const GzTensor *const *) in, (const GzTensor *const *) out,
                     (const GzTensor *const *) dout, din, GZ_RELU_GRADIENT, &err);
  if (st != GZ_OK)
    g_assert_cmpstr (err.message, !=, "");

out:
  tn_free_headers (hdr, n_out);
  free_all (in, TN_MAX);
  free_all (out, TN_MAX);
  free_all (dout, TN_MAX);
  free_all (din, TN_MAX);
  tn_clear (&t);
  free_all (tensor_store, TN_MAX);
}

static void
test_fuzz (gconstpointer data)
{
  const GzOpDef *op = data;
  const char *env = g_getenv ("GAZE_FUZZ_ITERATIONS");
  int iterations = env != NULL ? atoi (env) : 3000;
  n_accepted = n_forward_ok = 0;
  for (int k = 0; k < iterations; k++)
    fuzz_one (op);
  g_test_message ("%s: %d of %d random nodes accepted, %d forwards succeeded", op->op_type,
                  n_accepted, iterations, n_forward_ok);
  /* An operator that refuses every random node is fuzzed only in its
   * refusals: a regression that made it refuse everything would pass
   * unnoticed. */
  if (iterations >= 1000)
    g_assert_cmpint (n_accepted, >, 0);
}

/* The operators these tests cover: shape and data movement, indexing,
 * comparisons, reductions, softmax, normalisation (tests/ops-nn has the rest). */
static const GzOpDef *const tensor_tables[] = {
  gz_op_argmax, gz_op_cast,    gz_op_concat,    gz_op_constant,  gz_op_cumsum, gz_op_depth_to_space,
  gz_op_expand, gz_op_gather,  gz_op_layernorm, gz_op_logic,     gz_op_mod,    gz_op_pad,
  gz_op_reduce, gz_op_reshape, gz_op_resize,    gz_op_scatter,   gz_op_slice,  gz_op_softmax,
  gz_op_split,  gz_op_tile,    gz_op_topk,      gz_op_transpose, gz_op_trilu,  gz_op_where,
  NULL,
};

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (const GzOpDef *const *table = tensor_tables; *table != NULL; table++)
    for (const GzOpDef *op = *table; op->op_type != NULL; op++)
      {
        char *path = g_strdup_printf ("/ops-tensor-fuzz/%s", op->op_type);
        g_test_add_data_func (path, op, test_fuzz);
        g_free (path);
      }
  return g_test_run ();
}
