/* test-explain-cli.c — `gaze-cli explain`: outputs, JSON, exit statuses
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Runs the real executable (its path is argv[1]) on a tiny ONNX model written
 * by tests/common/onnx-builder.h, and on the shared MobileNetV2 and dog photo when present.
 */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "gaze-engine.h"
#include "onnx-builder.h"

static const char *cli_path;
static char *tmp_dir;
static char *model_path; /* Conv → Relu → GAP → Flatten → Gemm(3 classes), input [1,3,8,8] */
static char *resid_path; /* Relu output read by a residual Add: no CAM there */
static char *input_path;

typedef struct
{
  int status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
}

/* Runs gaze-cli explain with the NULL-terminated arguments. */
static Run
run_cli (const char *first, ...)
{
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *) cli_path);
  g_ptr_array_add (argv, "explain");
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  Run r = { 0 };
  int wait = 0;
  GError *error = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &r.out, &r.err, &wait, &error));
  g_assert_no_error (error);
  r.status = WIFEXITED (wait) ? WEXITSTATUS (wait) : -1;
  g_test_message ("exit %d; stderr: %s", r.status, r.err);
  g_ptr_array_free (argv, TRUE);
  return r;
}

static void
fill (float *x, int n, guint32 s, float scale)
{
  for (int i = 0; i < n; i++)
    {
      s = s * 1664525u + 1013904223u;
      x[i] = scale * ((float) (s >> 8) / (float) (1u << 23) - 1.0f);
    }
}

static char *
write_model (gboolean residual)
{
  OnnxBuilder b;
  onnx_builder_init (&b, 13);
  const int64_t in_dims[4] = { -1, 3, 8, 8 }, out_dims[2] = { -1, 3 };
  onnx_add_input (&b, "input", 4, in_dims);
  float w[4 * 4 * 9], bias[4], fc[12], fcb[3];
  int64_t wd[4] = { 4, 3, 3, 3 }, w1d[4] = { 4, 4, 3, 3 }, bd[1] = { 4 };
  int64_t fd[2] = { 3, 4 }, fbd[1] = { 3 };
  const int64_t k[2] = { 3, 3 }, pads[4] = { 1, 1, 1, 1 };
  fill (w, 4 * 4 * 9, 1, 0.5f);
  fill (bias, 4, 2, 0.2f);
  fill (fc, 12, 3, 1.0f);
  fill (fcb, 3, 4, 0.1f);
  onnx_add_initializer_f (&b, "w0", 4, wd, w);
  onnx_add_initializer_f (&b, "b0", 1, bd, bias);
  onnx_add_initializer_f (&b, "fc.w", 2, fd, fc);
  onnx_add_initializer_f (&b, "fc.b", 1, fbd, fcb);
  Onnx__NodeProto *conv
      = onnx_add_node (&b, "Conv", "conv0", ONNX_NAMES ("input", "w0", "b0"), ONNX_NAMES ("c0"));
  onnx_attr_ints (&b, conv, "kernel_shape", 2, k);
  onnx_attr_ints (&b, conv, "pads", 4, pads);
  onnx_add_node (&b, "Relu", "relu0", ONNX_NAMES ("c0"), ONNX_NAMES ("feat"));
  const char *pooled_from = "feat";
  if (residual)
    {
      onnx_add_initializer_f (&b, "w1", 4, w1d, w);
      conv = onnx_add_node (&b, "Conv", "conv1", ONNX_NAMES ("feat", "w1"), ONNX_NAMES ("c1"));
      onnx_attr_ints (&b, conv, "kernel_shape", 2, k);
      onnx_attr_ints (&b, conv, "pads", 4, pads);
      onnx_add_node (&b, "Add", "add", ONNX_NAMES ("c1", "feat"), ONNX_NAMES ("sum"));
      pooled_from = "sum";
    }
  onnx_add_node (&b, "GlobalAveragePool", "gap", ONNX_NAMES (pooled_from), ONNX_NAMES ("p"));
  onnx_attr_int (&b, onnx_add_node (&b, "Flatten", "flatten", ONNX_NAMES ("p"), ONNX_NAMES ("f")),
                 "axis", 1);
  onnx_attr_int (
      &b, onnx_add_node (&b, "Gemm", "fc", ONNX_NAMES ("f", "fc.w", "fc.b"), ONNX_NAMES ("logits")),
      "transB", 1);
  onnx_add_output (&b, "logits", 2, out_dims);
  size_t len;
  g_autofree uint8_t *data = onnx_builder_pack (&b, &len);
  onnx_builder_clear (&b);
  char *path = g_build_filename (tmp_dir, residual ? "resid.onnx" : "tiny.onnx", NULL);
  g_assert_true (g_file_set_contents (path, (const char *) data, (gssize) len, NULL));
  return path;
}

static GzTensor *
read_npy (const char *path)
{
  GzTensor *t = NULL;
  GzError err = { 0 };
  if (gz_npy_read (path, &t, &err) != GZ_OK)
    g_error ("%s: %s", path, err.message);
  return t;
}

static void
test_outputs (void)
{
  g_autofree char *heat = g_build_filename (tmp_dir, "h.npy", NULL);
  g_autofree char *raw = g_build_filename (tmp_dir, "r.npy", NULL);
  g_autofree char *png = g_build_filename (tmp_dir, "o.png", NULL);
  Run r = run_cli (model_path, "--input-tensor", input_path, "--method", "gradcam", "--class", "2",
                   "--heatmap", heat, "--raw", raw, "--output", png, "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);

  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, r.out, -1, NULL));
  JsonObject *o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (o, "class"), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (o, "method"), ==, "gradcam");
  g_assert_cmpstr (json_object_get_string_member (o, "layer"), ==, "feat");
  g_assert_cmpstr (json_object_get_string_member (o, "label"), ==, "class 2");
  const char *keys[] = { "logit", "probability", "raw_min", "raw_max" };
  for (size_t i = 0; i < G_N_ELEMENTS (keys); i++)
    g_assert_true (json_object_has_member (o, keys[i]));
  double p = json_object_get_double_member (o, "probability");
  g_assert_cmpfloat (p, >, 0);
  g_assert_cmpfloat (p, <, 1);
  JsonObject *t = json_object_get_object_member (o, "timings_ms");
  const char *phases[] = { "forward", "backward", "method", "total" };
  for (size_t i = 0; i < G_N_ELEMENTS (phases); i++)
    g_assert_cmpfloat (json_object_get_double_member (t, phases[i]), >=, 0);
  g_assert_cmpfloat (json_object_get_double_member (t, "total"), >=,
                     json_object_get_double_member (t, "forward"));

  /* --heatmap: [H,W] in [0,1] reaching 1; --raw: the layer's [h,w]; its
   * upsampled min/max are the JSON's raw_min/raw_max (same size here). */
  GzTensor *h = read_npy (heat), *rw = read_npy (raw);
  g_assert_cmpint (h->ndim, ==, 2);
  g_assert_cmpint (h->dims[0], ==, 8);
  g_assert_cmpint (h->dims[1], ==, 8);
  g_assert_cmpint (rw->ndim, ==, 2);
  float hmax = 0, rmin = INFINITY, rmax = -INFINITY;
  for (int i = 0; i < 64; i++)
    {
      float v = gz_tensor_f (h)[i];
      g_assert_true (v >= 0 && v <= 1);
      hmax = fmaxf (hmax, v);
      rmin = fminf (rmin, gz_tensor_f (rw)[i]);
      rmax = fmaxf (rmax, gz_tensor_f (rw)[i]);
    }
  g_assert_cmpfloat_with_epsilon (hmax, 1.0, 1e-5);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "raw_min"), rmin, 1e-6);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "raw_max"), rmax, 1e-6);
  gz_tensor_free (h);
  gz_tensor_free (rw);

  /* --output: a PNG of the input's size (no photo: the de-normalised tensor). */
  GError *error = NULL;
  GdkPixbuf *pb = gdk_pixbuf_new_from_file (png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (pb), ==, 8);
  g_assert_cmpint (gdk_pixbuf_get_height (pb), ==, 8);
  g_object_unref (pb);
  run_clear (&r);
}

static void
test_errors (void)
{
  /* A method that does not apply: exit 1 with the reason. */
  Run r = run_cli (resid_path, "--input-tensor", input_path, "--method", "cam", "--layer", "feat",
                   NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "not applicable"));
  run_clear (&r);

  /* Usage errors: exit 2. */
  r = run_cli (model_path, "--input-tensor", input_path, "--method", "nope", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
  r = run_cli (model_path, "--input-tensor", input_path, "--class", "two", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
  r = run_cli (model_path, NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);
  r = run_cli (model_path, "--input-tensor", input_path, "--alpha", "2", NULL);
  g_assert_cmpint (r.status, ==, 2);
  run_clear (&r);

  /* Bad input: exit 1. */
  r = run_cli (model_path, "--input-tensor", input_path, "--class", "3", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "class 3"));
  run_clear (&r);
  r = run_cli (model_path, "--input-tensor", input_path, "--layer", "nope", NULL);
  g_assert_cmpint (r.status, ==, 1);
  run_clear (&r);

  /* Never overwrite the input with an output. */
  g_autofree char *before = NULL, *after = NULL;
  gsize n_before, n_after;
  g_assert_true (g_file_get_contents (input_path, &before, &n_before, NULL));
  r = run_cli (model_path, "--input-tensor", input_path, "--output", input_path, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_true (g_file_get_contents (input_path, &after, &n_after, NULL));
  g_assert_cmpmem (before, n_before, after, n_after);
  run_clear (&r);

  /* Nor replace something that is not a regular file (the atomic rename
   * would put a file in place of a FIFO or, as root, of /dev/null). */
  g_autofree char *fifo = g_build_filename (tmp_dir, "pipe.png", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  const char *flags[] = { "--output", "--heatmap", "--raw" };
  for (size_t i = 0; i < G_N_ELEMENTS (flags); i++)
    {
      r = run_cli (model_path, "--input-tensor", input_path, flags[i], fifo, NULL);
      g_assert_cmpint (r.status, ==, 1);
      g_assert_nonnull (strstr (r.err, "not a regular file"));
      g_assert_true (g_file_test (fifo, G_FILE_TEST_EXISTS)
                     && !g_file_test (fifo, G_FILE_TEST_IS_REGULAR));
      run_clear (&r);
    }
  g_unlink (fifo);
}

static void
test_every_method (void)
{
  const char *methods[] = { "cam",
                            "gradcam",
                            "gradcam++",
                            "xgradcam",
                            "hirescam",
                            "layercam",
                            "eigencam",
                            "scorecam",
                            "ablationcam",
                            "guided-backprop",
                            "guided-gradcam",
                            "eigengradcam",
                            "gradcam-elementwise",
                            "saliency",
                            "inputxgrad",
                            "integrated-gradients",
                            "occlusion" };
  g_autofree char *heat = g_build_filename (tmp_dir, "m.npy", NULL);
  for (size_t i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      Run r = run_cli (model_path, "--input-tensor", input_path, "--method", methods[i],
                       "--heatmap", heat, "--quiet", NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_nonnull (strstr (r.out, methods[i]));
      GzTensor *h = read_npy (heat);
      g_assert_cmpint (h->dims[0], ==, 8);
      gz_tensor_free (h);
      run_clear (&r);
    }
  /* Integrated Gradients reports its completeness error; the occlusion
   * options belong to occlusion. */
  Run ig = run_cli (model_path, "--input-tensor", input_path, "--method", "integrated-gradients",
                    "--json", "--quiet", NULL);
  g_assert_cmpint (ig.status, ==, 0);
  g_assert_nonnull (strstr (ig.out, "\"completeness_error\""));
  run_clear (&ig);
  Run occ
      = run_cli (model_path, "--input-tensor", input_path, "--method", "occlusion",
                 "--occlusion-window", "4", "--occlusion-stride", "2", "--json", "--quiet", NULL);
  g_assert_cmpint (occ.status, ==, 0);
  g_assert_null (strstr (occ.out, "completeness_error"));
  run_clear (&occ);
  Run bad = run_cli (model_path, "--input-tensor", input_path, "--method", "gradcam",
                     "--occlusion-window", "4", NULL);
  g_assert_cmpint (bad.status, ==, 2);
  run_clear (&bad);
  /* SmoothGrad, seeded: the same command gives the same map. */
  g_autofree char *s1 = g_build_filename (tmp_dir, "s1.npy", NULL);
  g_autofree char *s2 = g_build_filename (tmp_dir, "s2.npy", NULL);
  Run r
      = run_cli (model_path, "--input-tensor", input_path, "--smooth", "3", "--heatmap", s1, NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  r = run_cli (model_path, "--input-tensor", input_path, "--smooth", "3", "--heatmap", s2, NULL);
  g_assert_cmpint (r.status, ==, 0);
  run_clear (&r);
  GzTensor *a = read_npy (s1), *b = read_npy (s2);
  g_assert_cmpmem (a->data, 64 * 4, b->data, 64 * 4);
  gz_tensor_free (a);
  gz_tensor_free (b);
}

static void
test_photo (void)
{
  const char *shared = g_getenv ("GAZE_SHARED_DIR");
  g_autofree char *base = shared != NULL ? g_strdup (shared) : g_strdup ("../shared");
  g_autofree char *model
      = g_build_filename (base, "models", "mobilenet_v2-imagenet", "mobilenet_v2.onnx", NULL);
  g_autofree char *photo = g_build_filename (base, "images", "dog.jpg", NULL);
  if (!g_file_test (model, G_FILE_TEST_EXISTS) || !g_file_test (photo, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("the shared MobileNetV2 or dog.jpg is absent (GAZE_SHARED_DIR)");
      return;
    }
  g_autofree char *png = g_build_filename (tmp_dir, "dog.png", NULL);
  Run r = run_cli (model, photo, "--output", png, "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\"class\":249")); /* malamute */
  run_clear (&r);
  /* The overlay has the photo's full size. */
  int w = 0, h = 0, pw = 0, ph = 0;
  g_assert_nonnull (gdk_pixbuf_get_file_info (png, &w, &h));
  g_assert_nonnull (gdk_pixbuf_get_file_info (photo, &pw, &ph));
  g_assert_cmpint (w, ==, pw);
  g_assert_cmpint (h, ==, ph);
  /* The photo itself is never a target. */
  r = run_cli (model, photo, "--output", photo, NULL);
  g_assert_cmpint (r.status, ==, 1);
  run_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (argc < 2)
    {
      g_printerr ("usage: %s PATH/TO/gaze-cli\n", argv[0]);
      return 2;
    }
  cli_path = argv[1];
  tmp_dir = g_dir_make_tmp ("gaze-explain-cli-XXXXXX", NULL);
  model_path = write_model (FALSE);
  resid_path = write_model (TRUE);
  input_path = g_build_filename (tmp_dir, "x.npy", NULL);
  int64_t dims[4] = { 1, 3, 8, 8 };
  GzTensor *x = gz_tensor_new (GZ_DTYPE_FLOAT, 4, dims, NULL);
  fill (gz_tensor_f (x), 192, 5, 1.0f);
  g_assert_cmpint (gz_npy_write (input_path, x, NULL), ==, GZ_OK);
  gz_tensor_free (x);

  g_test_add_func ("/explain-cli/outputs", test_outputs);
  g_test_add_func ("/explain-cli/errors", test_errors);
  g_test_add_func ("/explain-cli/every-method", test_every_method);
  g_test_add_func ("/explain-cli/photo", test_photo);
  int status = g_test_run ();

  /* Clean up the temporary folder. */
  GDir *dir = g_dir_open (tmp_dir, 0, NULL);
  for (const char *name; dir != NULL && (name = g_dir_read_name (dir)) != NULL;)
    {
      g_autofree char *p = g_build_filename (tmp_dir, name, NULL);
      g_unlink (p);
    }
  if (dir != NULL)
    g_dir_close (dir);
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
  g_free (model_path);
  g_free (resid_path);
  g_free (input_path);
  return status;
}
