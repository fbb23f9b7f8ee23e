/* test-onnx-node.c — the ONNX backend node tests, run through the public session API
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * For each folder of /usr/share/libonnx-testdata/data/node (or the folder given
 * as argument, e.g. data/pytorch-converted, or $GAZE_ONNX_NODE_DIR):
 * model.onnx plus test_data_set_N/{input,output}_K.pb (serialised TensorProtos,
 * computed by the ONNX reference implementation). A case runs when every
 * operator is registered (asked at run time: gz_op_lookup) and its tensors are
 * float32, int64, int32, bool, float16 or double, converted the way the loader
 * converts initializers (int32 and bool to int64, bool as 0/1; float16 and
 * double to float32); otherwise it is skipped with the reason.
 *
 * The session feeds one input, so the runner rewrites each model before loading
 * it: the first float input stays the runtime input (its declared shape set to
 * the test data's), every other input becomes an initializer holding its test
 * value (which is also what shape inputs such as Reshape's need), and each
 * graph output in turn is moved first, since the session returns the first.
 */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gaze-engine.h"
#include "gz-graph.h"
#include "gz-op.h"
#include "onnx.pb-c.h"

/* |got - want| <= ATOL + RTOL·|want|. Every case that runs passes at 1e-4,
 * Erf and Pow included, so no operator gets a looser bound. */
#define RTOL 1e-4
#define ATOL 1e-4

typedef struct
{
  char *name;
  char *dir;
} Case;

static GHashTable *skip_reasons; /* reason → count, for the summary */
static int n_pass, n_fail, n_skip;

static int
cmp_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
cmp_by_count (gconstpointer a, gconstpointer b, gpointer table)
{
  const char *ka = *(char *const *) a, *kb = *(char *const *) b;
  guint ca = GPOINTER_TO_UINT (g_hash_table_lookup (table, ka));
  guint cb = GPOINTER_TO_UINT (g_hash_table_lookup (table, kb));
  return ca != cb ? (ca < cb ? 1 : -1) : strcmp (ka, kb);
}

static void
case_free (gpointer data)
{
  Case *c = data;
  g_free (c->name);
  g_free (c->dir);
  g_free (c);
}

static void
skip (const char *reason)
{
  g_test_skip (reason);
  n_skip++;
  /* Group by the reason's first line without case-specific detail. */
  g_autofree char *key = g_strdup (reason);
  char *colon = strstr (key, ": ");
  if (colon != NULL && g_str_has_prefix (key, "load refused"))
    *colon = '\0';
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (skip_reasons, key));
  g_hash_table_insert (skip_reasons, g_strdup (key), GUINT_TO_POINTER (count + 1));
}

static const char *
dtype_name (int t)
{
  static const char *const names[]
      = { "UNDEFINED", "FLOAT",  "UINT8",     "INT8",       "UINT16",  "INT16",
          "INT32",     "INT64",  "STRING",    "BOOL",       "FLOAT16", "DOUBLE",
          "UINT32",    "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16" };
  return t >= 0 && t < (int) G_N_ELEMENTS (names) ? names[t] : "unknown";
}

static Onnx__TensorProto *
read_tensor (const char *path)
{
  g_autofree char *bytes = NULL;
  gsize len;
  if (!g_file_get_contents (path, &bytes, &len, NULL))
    return NULL;
  return onnx__tensor_proto__unpack (NULL, len, (const uint8_t *) bytes);
}

/* ONNX TensorProto.DataType values the runner feeds and compares. */
enum
{
  T_FLOAT = 1,
  T_INT32 = 6,
  T_INT64 = 7,
  T_BOOL = 9,
  T_FLOAT16 = 10,
  T_DOUBLE = 11,
};

static bool
feedable (int type)
{
  return type == T_FLOAT || type == T_INT32 || type == T_INT64 || type == T_BOOL
      || type == T_FLOAT16 || type == T_DOUBLE;
}

static bool
is_floating (int type)
{
  return type == T_FLOAT || type == T_FLOAT16 || type == T_DOUBLE;
}

/* IEEE half → float, by value (ldexp), independent of the loader's bit twiddling. */
static float
half_value (uint16_t h)
{
  int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  double v = e == 0 ? ldexp (m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp (1024 + m, e - 25);
  return (float) ((h & 0x8000) ? -v : v);
}

/* An independent decoder for the test data, converting the way the loader
 * converts initializers: float16 and double to float32; int32 and bool to int64
 * (bool as 0/1), the engine's storage for them. Raw or typed fields. */
static GzTensor *
tensor_to_gz (const Onnx__TensorProto *tp)
{
  int type = tp->data_type;
  if (!feedable (type) || tp->n_dims > GZ_MAX_DIMS)
    return NULL;
  GzTensor *t = gz_tensor_new (is_floating (type) ? GZ_DTYPE_FLOAT : GZ_DTYPE_INT64,
                               (int) tp->n_dims, tp->dims, NULL);
  if (t == NULL)
    return NULL;
  size_t n = (size_t) gz_tensor_numel (t);
  size_t bytes = n * gz_dtype_size (t->dtype);
  size_t file_size = type == T_INT32 ? 4
      : type == T_BOOL               ? 1
      : type == T_FLOAT16            ? 2
      : type == T_DOUBLE             ? 8
                                     : gz_dtype_size (t->dtype);
  int64_t *q = t->data;
  float *f = t->data;
  if (bytes == 0)
    ; /* empty tensor: nothing to copy (and the source may be NULL) */
  else if (tp->has_raw_data && tp->raw_data.len == n * file_size)
    {
      /* little-endian host, like the test data */
      const uint8_t *r = tp->raw_data.data;
      for (size_t i = 0; i < n; i++)
        switch (type)
          {
            case T_FLOAT:
              memcpy (&f[i], r + 4 * i, 4);
              break;
            case T_INT64:
              memcpy (&q[i], r + 8 * i, 8);
              break;
            case T_INT32:
              {
                int32_t v;
                memcpy (&v, r + 4 * i, 4);
                q[i] = v;
              }
              break;
            case T_BOOL:
              q[i] = r[i] != 0;
              break;
            case T_FLOAT16:
              f[i] = half_value ((uint16_t) (r[2 * i] | r[2 * i + 1] << 8));
              break;
            case T_DOUBLE:
              {
                double d;
                memcpy (&d, r + 8 * i, 8);
                f[i] = (float) d;
              }
              break;
          }
    }
  else if (!tp->has_raw_data && type == T_FLOAT && tp->n_float_data == n)
    memcpy (t->data, tp->float_data, bytes);
  else if (!tp->has_raw_data && type == T_DOUBLE && tp->n_double_data == n)
    for (size_t i = 0; i < n; i++)
      f[i] = (float) tp->double_data[i];
  else if (!tp->has_raw_data && type == T_INT64 && tp->n_int64_data == n)
    memcpy (t->data, tp->int64_data, bytes);
  else if (!tp->has_raw_data && (type == T_INT32 || type == T_BOOL || type == T_FLOAT16)
           && tp->n_int32_data == n)
    for (size_t i = 0; i < n; i++)
      {
        if (type == T_FLOAT16)
          f[i] = half_value ((uint16_t) tp->int32_data[i]);
        else
          q[i] = type == T_BOOL ? tp->int32_data[i] != 0 : tp->int32_data[i];
      }
  else
    {
      gz_tensor_free (t);
      return NULL;
    }
  return t;
}

static char *
shape_str (int ndim, const int64_t *dims)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "", (gint64) dims[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* NULL when equal within tolerance, else a description of the worst element. */
static char *
compare (const GzTensor *got, const GzTensor *want, double rtol, double atol)
{
  if (got == NULL)
    return g_strdup ("no output");
  if (got->ndim != want->ndim
      || memcmp (got->dims, want->dims, sizeof (int64_t) * (size_t) want->ndim) != 0
      || got->dtype != want->dtype)
    {
      g_autofree char *a = shape_str (got->ndim, got->dims);
      g_autofree char *b = shape_str (want->ndim, want->dims);
      return g_strdup_printf ("output shape %s dtype %d, expected %s dtype %d", a, got->dtype, b,
                              want->dtype);
    }
  int64_t n = gz_tensor_numel (want);
  int64_t bad = 0, worst = -1;
  double worst_excess = 0;
  for (int64_t i = 0; i < n; i++)
    {
      double g, w;
      if (want->dtype == GZ_DTYPE_FLOAT)
        {
          g = gz_tensor_f (got)[i];
          w = gz_tensor_f (want)[i];
        }
      else
        {
          g = (double) ((int64_t *) got->data)[i];
          w = (double) ((int64_t *) want->data)[i];
        }
      bool ok;
      if (isnan (w))
        ok = isnan (g);
      else if (isinf (w))
        ok = g == w;
      else
        ok = fabs (g - w) <= atol + rtol * fabs (w);
      if (!ok)
        {
          double excess = isnan (g) || isinf (g) ? INFINITY : fabs (g - w) - rtol * fabs (w);
          if (worst < 0 || excess > worst_excess)
            {
              worst = i;
              worst_excess = excess;
            }
          bad++;
        }
    }
  if (bad == 0)
    return NULL;
  double g = want->dtype == GZ_DTYPE_FLOAT ? gz_tensor_f (got)[worst]
                                           : (double) ((int64_t *) got->data)[worst];
  double w = want->dtype == GZ_DTYPE_FLOAT ? gz_tensor_f (want)[worst]
                                           : (double) ((int64_t *) want->data)[worst];
  return g_strdup_printf ("%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
                          " values off; worst at %" G_GINT64_FORMAT ": got %.7g, expected %.7g",
                          (gint64) bad, (gint64) n, (gint64) worst, g, w);
}

typedef struct
{
  int n_inputs; /* non-initializer graph inputs */
  int input_index[64]; /* their indices in graph.input */
  Onnx__TensorProto *in[64]; /* test values */
  int n_outputs;
  Onnx__TensorProto *out[64];
} DataSet;

static void
dataset_clear (DataSet *ds)
{
  for (int i = 0; i < ds->n_inputs; i++)
    if (ds->in[i] != NULL)
      onnx__tensor_proto__free_unpacked (ds->in[i], NULL);
  for (int i = 0; i < ds->n_outputs; i++)
    if (ds->out[i] != NULL)
      onnx__tensor_proto__free_unpacked (ds->out[i], NULL);
}

static bool
is_initializer (const Onnx__GraphProto *gp, const char *name)
{
  for (size_t i = 0; i < gp->n_initializer; i++)
    if (g_strcmp0 (gp->initializer[i]->name, name) == 0)
      return true;
  return false;
}

/* Rewrites the model for one output and runs it. Returns NULL on success,
 * else the failure; *skipped is set when the engine refused with UNSUPPORTED. */
static char *
run_output (Onnx__ModelProto *m, const DataSet *ds, int primary, int k, const char *dir,
            double rtol, bool *skipped)
{
  Onnx__GraphProto *gp = m->graph;
  *skipped = false;

  /* Other inputs → initializers (shallow copies named after the input). */
  size_t n_init = gp->n_initializer + (size_t) ds->n_inputs;
  g_autofree Onnx__TensorProto **inits = g_new0 (Onnx__TensorProto *, n_init + 1);
  g_autofree Onnx__TensorProto *copies = g_new0 (Onnx__TensorProto, (size_t) ds->n_inputs + 1);
  if (gp->n_initializer > 0)
    memcpy (inits, gp->initializer, sizeof (void *) * gp->n_initializer);
  size_t used = gp->n_initializer;
  for (int i = 0; i < ds->n_inputs; i++)
    {
      if (i == primary)
        continue;
      copies[i] = *ds->in[i];
      copies[i].name = gp->input[ds->input_index[i]]->name;
      inits[used++] = &copies[i];
    }

  /* The runtime input's declared shape := the test value's shape. Without a
   * float input of rank >= 1 (all inputs int64/int32/bool, or scalars), the
   * session is fed through an extra, unused float input of shape [1]: every
   * node then runs while the plan folds constants. */
  static const int64_t dummy_dims[1] = { 1 };
  const Onnx__TensorProto *pin = primary >= 0 ? ds->in[primary] : NULL;
  size_t in_ndims = pin != NULL ? pin->n_dims : 1;
  const int64_t *in_dims = pin != NULL ? pin->dims : dummy_dims;
  Onnx__ValueInfoProto dummy = ONNX__VALUE_INFO_PROTO__INIT;
  dummy.name = (char *) "gz_node_test_unused_input";
  g_autofree Onnx__ValueInfoProto **ins = g_new0 (Onnx__ValueInfoProto *, gp->n_input + 2);
  if (gp->n_input > 0)
    memcpy (ins, gp->input, sizeof (void *) * gp->n_input);
  ins[gp->n_input] = &dummy;
  Onnx__ValueInfoProto *vi = pin != NULL ? gp->input[ds->input_index[primary]] : &dummy;
  Onnx__TypeProto type = ONNX__TYPE_PROTO__INIT;
  Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
  Onnx__TensorShapeProto shape = ONNX__TENSOR_SHAPE_PROTO__INIT;
  Onnx__TensorShapeProto__Dimension dims[GZ_MAX_DIMS];
  Onnx__TensorShapeProto__Dimension *dimp[GZ_MAX_DIMS];
  for (size_t d = 0; d < in_ndims && d < GZ_MAX_DIMS; d++)
    {
      onnx__tensor_shape_proto__dimension__init (&dims[d]);
      dims[d].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      dims[d].dim_value = in_dims[d];
      dimp[d] = &dims[d];
    }
  shape.n_dim = in_ndims;
  shape.dim = dimp;
  tt.has_elem_type = true;
  tt.elem_type = T_FLOAT;
  tt.shape = &shape;
  type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  type.tensor_type = &tt;

  /* Output k first. */
  g_autofree Onnx__ValueInfoProto **outs = g_new0 (Onnx__ValueInfoProto *, gp->n_output + 1);
  memcpy (outs, gp->output, sizeof (void *) * gp->n_output);
  outs[0] = gp->output[k];
  outs[k] = gp->output[0];

  Onnx__TensorProto **saved_init = gp->initializer;
  size_t saved_n_init = gp->n_initializer;
  Onnx__ValueInfoProto **saved_out = gp->output;
  Onnx__ValueInfoProto **saved_in = gp->input;
  size_t saved_n_in = gp->n_input;
  Onnx__TypeProto *saved_type = vi->type;
  gp->initializer = inits;
  gp->n_initializer = used;
  gp->output = outs;
  if (pin == NULL)
    {
      gp->input = ins;
      gp->n_input++;
    }
  vi->type = &type;
  size_t len = onnx__model_proto__get_packed_size (m);
  g_autofree uint8_t *bytes = g_malloc (len + 1);
  onnx__model_proto__pack (m, bytes);
  gp->initializer = saved_init;
  gp->n_initializer = saved_n_init;
  gp->output = saved_out;
  gp->input = saved_in;
  gp->n_input = saved_n_in;
  vi->type = saved_type;

  GzError err = { 0 };
  GzModel *model = NULL;
  GzSession *session = NULL;
  GzTensor *input = NULL, *want = NULL;
  char *failure = NULL;
  if (gz_model_load_mem (bytes, len, dir, NULL, &model, &err) != GZ_OK)
    {
      *skipped = err.code == GZ_ERR_UNSUPPORTED;
      failure = g_strdup_printf ("%s: %s", *skipped ? "load refused" : "load failed", err.message);
      goto out;
    }
  if (gz_session_new (model, &session, &err) != GZ_OK)
    {
      failure = g_strdup_printf ("session: %s", err.message);
      goto out;
    }
  input = pin != NULL ? tensor_to_gz (pin) : gz_tensor_new (GZ_DTYPE_FLOAT, 1, dummy_dims, NULL);
  want = tensor_to_gz (ds->out[k]);
  if (input == NULL || want == NULL)
    {
      failure = g_strdup ("cannot decode the test data");
      goto out;
    }
  if (gz_session_forward (session, input, NULL, &err) != GZ_OK)
    {
      *skipped = err.code == GZ_ERR_UNSUPPORTED;
      failure = g_strdup_printf ("%s: %s", *skipped ? "forward refused" : "forward failed",
                                 err.message);
      goto out;
    }
  char *diff = compare (gz_session_output (session), want, rtol, ATOL);
  if (diff != NULL)
    {
      failure = g_strdup_printf ("output '%s': %s", gp->output[k]->name, diff);
      g_free (diff);
    }
out:
  gz_tensor_free (input);
  gz_tensor_free (want);
  gz_session_free (session);
  gz_model_free (model);
  return failure;
}

static void
run_case (gconstpointer data)
{
  const Case *c = data;
  g_autofree char *model_path = g_build_filename (c->dir, "model.onnx", NULL);
  g_autofree char *model_bytes = NULL;
  gsize model_len;
  if (!g_file_get_contents (model_path, &model_bytes, &model_len, NULL))
    {
      skip ("no model.onnx");
      return;
    }
  Onnx__ModelProto *m = onnx__model_proto__unpack (NULL, model_len, (const uint8_t *) model_bytes);
  if (m == NULL || m->graph == NULL)
    {
      g_test_fail_printf ("cannot parse %s", model_path);
      n_fail++;
      if (m != NULL)
        onnx__model_proto__free_unpacked (m, NULL);
      return;
    }
  Onnx__GraphProto *gp = m->graph;
  g_autoptr (GString) unsupported = g_string_new (NULL);
  bool has_cast_like = false;
  for (size_t i = 0; i < gp->n_node; i++)
    {
      const char *op = gp->node[i]->op_type;
      has_cast_like = has_cast_like || g_strcmp0 (op, "CastLike") == 0;
      const char *domain = gp->node[i]->domain;
      bool other_domain = domain != NULL && domain[0] != '\0' && strcmp (domain, "ai.onnx") != 0;
      g_autofree char *item
          = g_strdup_printf (", %s%s%s,", other_domain ? domain : "", other_domain ? "." : "", op);
      g_autofree char *listed = g_strdup_printf (", %s,", unsupported->str);
      if ((other_domain || gz_op_lookup (op) == NULL) && strstr (listed, item) == NULL)
        {
          item[strlen (item) - 1] = '\0';
          g_string_append (unsupported, unsupported->len ? item : item + 2);
        }
    }

  g_autoptr (GDir) d = g_dir_open (c->dir, 0, NULL);
  g_autoptr (GPtrArray) sets = g_ptr_array_new_with_free_func (g_free);
  for (const char *e; d != NULL && (e = g_dir_read_name (d)) != NULL;)
    if (g_str_has_prefix (e, "test_data_set_"))
      g_ptr_array_add (sets, g_build_filename (c->dir, e, NULL));
  g_ptr_array_sort (sets, cmp_paths);

  char *reason = NULL; /* skip reason */
  char *failure = NULL;
  if (unsupported->len > 0)
    reason = g_strdup_printf ("unsupported op %s", unsupported->str);
  else if (sets->len == 0)
    reason = g_strdup ("no test data");
  else if (gp->n_output > 64 || gp->n_input > 64)
    reason = g_strdup ("too many inputs or outputs");

  int n_checked = 0;
  for (guint s = 0; s < sets->len && reason == NULL && failure == NULL; s++)
    {
      const char *set = g_ptr_array_index (sets, s);
      DataSet ds = { 0 };
      for (size_t i = 0; i < gp->n_input; i++)
        if (!is_initializer (gp, gp->input[i]->name))
          {
            g_autofree char *p = g_strdup_printf ("%s/input_%d.pb", set, ds.n_inputs);
            ds.input_index[ds.n_inputs] = (int) i;
            ds.in[ds.n_inputs++] = read_tensor (p);
          }
      for (size_t k = 0; k < gp->n_output; k++)
        {
          g_autofree char *p = g_strdup_printf ("%s/output_%zu.pb", set, k);
          ds.out[ds.n_outputs++] = read_tensor (p);
        }
      int primary = -1;
      for (int i = 0; i < ds.n_inputs && reason == NULL; i++)
        {
          const Onnx__TensorProto *t = ds.in[i];
          if (t == NULL)
            reason = g_strdup ("input data missing (optional or sequence input)");
          else if (!feedable (t->data_type))
            reason = g_strdup_printf ("input dtype %s", dtype_name (t->data_type));
          else if (primary < 0 && is_floating (t->data_type) && t->n_dims > 0)
            primary = i;
        }
      for (int k = 0; k < ds.n_outputs && reason == NULL; k++)
        {
          const Onnx__TensorProto *t = ds.out[k];
          if (t == NULL)
            reason = g_strdup ("output data missing (sequence or optional output)");
          else if (!feedable (t->data_type))
            reason = g_strdup_printf ("output dtype %s", dtype_name (t->data_type));
          else if (t->data_type == T_FLOAT16 && has_cast_like)
            reason = g_strdup ("CastLike to FLOAT16: float16 tensors are float32 in the engine, "
                               "so CastLike cannot tell the target is half and round to it");
        }
      for (int k = 0; k < ds.n_outputs && reason == NULL && failure == NULL; k++)
        {
          bool refused;
          char *f = run_output (m, &ds, primary, k, c->dir, RTOL, &refused);
          if (f != NULL && refused)
            reason = f;
          else if (f != NULL)
            failure = g_strdup_printf ("%s (%s)", f, strrchr (set, '/') + 1), g_free (f);
          else
            n_checked++;
        }
      dataset_clear (&ds);
    }
  onnx__model_proto__free_unpacked (m, NULL);

  if (failure != NULL)
    {
      g_test_fail_printf ("%s", failure);
      n_fail++;
    }
  else if (reason != NULL)
    skip (reason);
  else
    n_pass++;
  g_free (failure);
  g_free (reason);
}

static void
no_data (gconstpointer dir)
{
  g_autofree char *why = g_strdup_printf ("no ONNX node tests in %s", (const char *) dir);
  g_test_skip (why);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  skip_reasons = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  /* The folder: the first argument, else $GAZE_ONNX_NODE_DIR, else the node tests. */
  const char *root = argc > 1 ? argv[1] : g_getenv ("GAZE_ONNX_NODE_DIR");
  if (root == NULL)
    root = "/usr/share/libonnx-testdata/data/node";

  g_autoptr (GDir) d = g_dir_open (root, 0, NULL);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (const char *e; d != NULL && (e = g_dir_read_name (d)) != NULL;)
    if (g_str_has_prefix (e, "test_"))
      g_ptr_array_add (names, g_strdup (e));
  g_ptr_array_sort (names, cmp_paths);
  if (names->len == 0)
    g_test_add_data_func ("/onnx-node/data", root, no_data);
  for (guint i = 0; i < names->len; i++)
    {
      Case *c = g_new0 (Case, 1);
      c->name = g_strdup (g_ptr_array_index (names, i));
      c->dir = g_build_filename (root, c->name, NULL);
      g_autofree char *path = g_strdup_printf ("/onnx-node/%s", c->name);
      g_test_add_data_func_full (path, c, run_case, case_free);
    }
  int status = g_test_run ();

  printf ("# onnx node tests: %d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip);
  /* Most frequent reasons first: what to implement next. */
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, skip_reasons);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_ptr_array_add (keys, key);
  g_ptr_array_sort_with_data (keys, cmp_by_count, skip_reasons);
  for (guint i = 0; i < keys->len; i++)
    printf ("# skipped %3u× %s\n",
            GPOINTER_TO_UINT (g_hash_table_lookup (skip_reasons, keys->pdata[i])),
            (const char *) keys->pdata[i]);
  g_hash_table_unref (skip_reasons);
  return status;
}
