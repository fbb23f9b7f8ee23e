/* test-io.c — gaze-io: sidecar round trip, settings precedence, labels, image decoding
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gaze-io-image.h"
#include "gaze-io-overrides.h"
#include "gaze-io-sidecar.h"

static char *
tmp_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("gaze-io-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
remove_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (dir);
}

static void
test_sidecar_path (void)
{
  g_autofree char *a = gaze_io_sidecar_path ("/m/net.onnx");
  g_autofree char *b = gaze_io_sidecar_path ("/m/net.v2.onnx");
  g_autofree char *c = gaze_io_sidecar_path ("model");
  g_assert_cmpstr (a, ==, "/m/net.json");
  g_assert_cmpstr (b, ==, "/m/net.v2.json");
  g_assert_cmpstr (c, ==, "./model.json");
}

static void
test_sidecar_roundtrip (void)
{
  g_autofree char *dir = tmp_dir ();
  g_autofree char *model = g_build_filename (dir, "net.onnx", NULL);
  g_autofree char *labels = g_build_filename (dir, "classes.txt", NULL);
  g_assert_true (g_file_set_contents (labels, "zero\r\none\ntwo\n", -1, NULL));

  GzPreprocess pp = { GZ_RESIZE_CROP,
                      259,
                      227,
                      200,
                      3,
                      { 0.48235f, 0.45882f, 0.40784f },
                      { 0.0039216f, 0.0039216f, 0.0039216f } };
  g_autoptr (GError) error = NULL;
  g_assert_true (gaze_io_sidecar_write (model, &pp, labels, &error));
  g_assert_no_error (error);
  g_autofree char *json_path = gaze_io_sidecar_path (model);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (json_path, &text, NULL, NULL));
  g_test_message ("%s", text);
  /* Stored relative to the model, with short numbers. */
  g_assert_nonnull (strstr (text, "\"labels\": \"classes.txt\""));
  g_assert_nonnull (strstr (text, "0.48235"));
  g_assert_null (strstr (text, "0.4823499"));

  GazeIoOverrides s;
  gaze_io_overrides_init (&s);
  g_assert_true (gaze_io_sidecar_read (model, &s, &error));
  g_assert_no_error (error);
  GzPreprocess back;
  g_assert_true (gaze_io_overrides_resolve (NULL, &s, NULL, &back, &error));
  g_assert_cmpint (back.mode, ==, GZ_RESIZE_CROP);
  g_assert_cmpint (back.resize, ==, 259);
  g_assert_cmpint (back.crop_width, ==, 227);
  g_assert_cmpint (back.crop_height, ==, 200);
  for (int c = 0; c < 3; c++)
    {
      g_assert_cmpfloat_with_epsilon (back.mean[c], pp.mean[c], 1e-6);
      g_assert_cmpfloat_with_epsilon (back.std[c], pp.std[c], 1e-9);
    }
  const char *const *l = gaze_io_overrides_labels (&s, NULL);
  g_assert_cmpint (g_strv_length ((GStrv) l), ==, 3);
  g_assert_cmpstr (l[1], ==, "one");
  g_assert_cmpstr (l[0], ==, "zero"); /* CR stripped */
  char buf[32];
  g_assert_cmpstr (gaze_io_label_for (l, 2, buf, sizeof buf), ==, "two");
  g_assert_cmpstr (gaze_io_label_for (l, 3, buf, sizeof buf), ==, "class 3");
  g_assert_cmpstr (gaze_io_label_for (NULL, 7, buf, sizeof buf), ==, "class 7");

  /* Flags win over the sidecar, the sidecar over the defaults. */
  GazeIoOverrides flags;
  gaze_io_overrides_init (&flags);
  flags.has_stretch = flags.stretch = TRUE;
  flags.has_mean = TRUE;
  flags.mean[0] = flags.mean[1] = flags.mean[2] = 0.5f;
  g_assert_true (gaze_io_overrides_resolve (NULL, &s, &flags, &back, &error));
  g_assert_cmpint (back.mode, ==, GZ_RESIZE_STRETCH);
  g_assert_cmpfloat (back.mean[0], ==, 0.5f);
  g_assert_cmpfloat_with_epsilon (back.std[0], 0.0039216, 1e-9);
  g_assert_cmpint (back.crop_width, ==, 227);
  flags.has_std = TRUE; /* std 0: refused */
  g_assert_false (gaze_io_overrides_resolve (NULL, &s, &flags, &back, &error));
  g_assert_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID);
  g_clear_error (&error);
  gaze_io_overrides_clear (&flags);
  gaze_io_overrides_clear (&s);

  /* A crop alone keeps the 256:224 ratio; no sidecar uses labels.txt. */
  g_unlink (json_path);
  g_autofree char *lt = g_build_filename (dir, "labels.txt", NULL);
  g_assert_true (g_file_set_contents (lt, "a\nb\n", -1, NULL));
  gaze_io_overrides_init (&s);
  g_assert_true (gaze_io_sidecar_read (model, &s, &error));
  g_assert_cmpstr (s.labels_path, ==, lt);
  gaze_io_overrides_init (&flags);
  flags.has_crop = TRUE;
  flags.crop_width = flags.crop_height = 112;
  g_assert_true (gaze_io_overrides_resolve (NULL, &s, &flags, &back, &error));
  g_assert_cmpint (back.resize, ==, 128);
  gaze_io_overrides_clear (&s);

  /* Malformed sidecars name the file and the key. */
  const char *bad[] = {
    "{\"mean\": [1, 2]}",
    "{\"resize\": -3}",
    "{\"crop\": [1]}",
    "{\"stretch\": 1}",
    "{\"labels\": 4}",
    "{\"labels\": \"missing.txt\"}",
    "[1, 2]",
    "{not json",
    "{\"channels\": 2}",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_true (g_file_set_contents (json_path, bad[i], -1, NULL));
      gaze_io_overrides_init (&s);
      g_assert_false (gaze_io_sidecar_read (model, &s, &error));
      g_assert_nonnull (error);
      g_test_message ("%s → %s", bad[i], error->message);
      g_assert_nonnull (strstr (error->message, "net.json"));
      g_clear_error (&error);
      gaze_io_overrides_clear (&s);
    }
  remove_dir (dir);
}

/* Saving a sidecar whose labels are an inline array keeps the array (the UI
 * passes no labels file for them), even with a labels.txt beside the model. */
static void
test_sidecar_inline_labels (void)
{
  g_autofree char *dir = tmp_dir ();
  g_autofree char *model = g_build_filename (dir, "net.onnx", NULL);
  g_autofree char *json_path = gaze_io_sidecar_path (model);
  g_autofree char *lt = g_build_filename (dir, "labels.txt", NULL);
  g_assert_true (g_file_set_contents (lt, "file0\nfile1\n", -1, NULL));
  g_assert_true (g_file_set_contents (json_path,
                                      "{ \"crop\": 64, \"labels\": [\"tabby \\\"cat\\\"\", "
                                      "\"caf\u00e9\", \"back\\\\slash\"] }",
                                      -1, NULL));
  const char *want[] = { "tabby \"cat\"", "caf\u00e9", "back\\slash", NULL };
  GzPreprocess pp
      = { GZ_RESIZE_CROP, 73, 64, 64, 3, { 0.5f, 0.5f, 0.5f }, { 0.25f, 0.25f, 0.25f } };
  g_autoptr (GError) error = NULL;

  /* NULL (what the UI passes for inline labels) and the "inline" marker alike */
  const char *passes[] = { NULL, "inline" };
  for (int k = 0; k < 2; k++)
    {
      g_assert_true (gaze_io_sidecar_write (model, &pp, passes[k], &error));
      g_assert_no_error (error);
      GazeIoOverrides s;
      gaze_io_overrides_init (&s);
      g_assert_true (gaze_io_sidecar_read (model, &s, &error));
      g_assert_no_error (error);
      g_assert_cmpstr (s.labels_path, ==, "inline");
      g_assert_nonnull (s.labels);
      g_assert_cmpint (g_strv_length (s.labels), ==, 3);
      for (int i = 0; i < 3; i++)
        g_assert_cmpstr (s.labels[i], ==, want[i]);
      g_assert_true (s.has_crop);
      g_assert_cmpint (s.crop_width, ==, 64);
      g_assert_cmpint (s.resize, ==, 73);
      gaze_io_overrides_clear (&s);
    }

  /* A labels file given explicitly replaces the inline array. */
  g_assert_true (gaze_io_sidecar_write (model, &pp, lt, &error));
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (json_path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"labels\": \"labels.txt\""));
  g_assert_null (strstr (text, "tabby"));

  /* No labels anywhere: no "labels" key is written. */
  g_unlink (lt);
  g_assert_true (g_file_set_contents (json_path, "{ \"crop\": 64 }", -1, NULL));
  g_assert_true (gaze_io_sidecar_write (model, &pp, NULL, &error));
  g_clear_pointer (&text, g_free);
  g_assert_true (g_file_get_contents (json_path, &text, NULL, NULL));
  g_assert_null (strstr (text, "labels"));
  remove_dir (dir);
}

static void
test_labels_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (gaze_io_labels_read ("/nonexistent/labels.txt", &error));
  g_assert_nonnull (strstr (error->message, "no such file"));
  g_clear_error (&error);
  g_autofree char *dir = tmp_dir ();
  g_autofree char *p = g_build_filename (dir, "empty.txt", NULL);
  g_assert_true (g_file_set_contents (p, "", 0, NULL));
  g_assert_null (gaze_io_labels_read (p, &error));
  g_assert_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID);
  remove_dir (dir);
}

static void
test_image_decode (void)
{
  /* A 3×2 RGBA image: alpha composited onto black, orientation none. */
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, TRUE, 8, 3, 2);
  guint8 *px = gdk_pixbuf_get_pixels (pb);
  int stride = gdk_pixbuf_get_rowstride (pb);
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 3; x++)
      {
        guint8 *p = px + y * stride + x * 4;
        p[0] = 200;
        p[1] = 100;
        p[2] = 50;
        p[3] = (guint8) (x * 127); /* 0, 127, 254 */
      }
  g_autofree char *buf = NULL;
  gsize len;
  g_autoptr (GError) error = NULL;
  g_assert_true (gdk_pixbuf_save_to_buffer (pb, &buf, &len, "png", &error, NULL));
  g_autoptr (GBytes) bytes = g_bytes_new (buf, len);
  g_autoptr (GazeIoImage) img = gaze_io_image_load_bytes (bytes, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (img->image.width, ==, 3);
  g_assert_cmpint (img->image.channels, ==, 3);
  g_assert_true (img->had_alpha);
  g_assert_false (img->is_gray);
  g_assert_cmpstr (img->format, ==, "png");
  /* c·a/255 rounded: 200·127/255 = 99.6 → 100; 100·254/255 = 99.6 → 100. */
  const guint8 *q = img->image.pixels;
  g_assert_cmpint (q[0], ==, 0);
  g_assert_cmpint (q[3], ==, 100);
  g_assert_cmpint (q[4], ==, 50);
  g_assert_cmpint (q[7], ==, 100);

  /* The size limit applies before decoding; garbage is "not an image". */
  g_autoptr (GazeIoImage) none = gaze_io_image_load_bytes (bytes, 5, &error);
  g_assert_null (none);
  g_assert_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_TOO_LARGE);
  g_assert_nonnull (
      strstr (error->message, "too large: 3×2 exceeds the image-pixels limit of 5 pixels"));
  g_assert_cmpstr (gz_limits_key_in (error->message), ==, "image-pixels");
  g_clear_error (&error);
  g_autoptr (GBytes) junk = g_bytes_new_static ("hello, world", 12);
  g_assert_null (gaze_io_image_load_bytes (junk, 0, &error));
  g_assert_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_NOT_IMAGE);
  g_clear_error (&error);

  /* Gray pixels are flagged. */
  g_autoptr (GdkPixbuf) g = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 2, 2);
  gdk_pixbuf_fill (g, 0x808080ff);
  g_autoptr (GazeIoImage) gi = gaze_io_image_from_pixbuf (g, &error);
  g_assert_true (gi->is_gray);
  g_assert_false (gi->had_alpha);
}

/* A JPEG cut in half: GdkPixbuf alone would paint the rest grey and succeed;
 * the load refuses it, or with GAZE_IO_IMAGE_LOAD_ALLOW_DAMAGED returns it with
 * libjpeg's warning. */
static void
test_image_damaged (void)
{
  g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 64, 64);
  guint8 *px = gdk_pixbuf_get_pixels (pb);
  int stride = gdk_pixbuf_get_rowstride (pb);
  for (int y = 0; y < 64; y++)
    for (int x = 0; x < 64 * 3; x++)
      px[y * stride + x] = (guint8) ((x * 7 + y * 13) ^ (x * y));
  g_autofree char *buf = NULL;
  gsize len;
  g_autoptr (GError) error = NULL;
  g_assert_true (gdk_pixbuf_save_to_buffer (pb, &buf, &len, "jpeg", &error, "quality", "95", NULL));
  g_autoptr (GBytes) whole = g_bytes_new (buf, len);
  g_autoptr (GazeIoImage) sound = gaze_io_image_load_bytes (whole, 0, &error);
  g_assert_no_error (error);
  g_assert_null (sound->warnings);

  g_autoptr (GBytes) half = g_bytes_new (buf, len / 2);
  g_assert_null (gaze_io_image_load_bytes (half, 0, &error));
  g_assert_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_DAMAGED);
  g_assert_nonnull (strstr (error->message, "Premature end of JPEG file"));
  g_clear_error (&error);
  g_autoptr (GazeIoImage) allowed
      = gaze_io_image_load_bytes_full (half, 0, GAZE_IO_IMAGE_LOAD_ALLOW_DAMAGED, &error);
  g_assert_no_error (error);
  g_assert_cmpint (allowed->image.width, ==, 64);
  g_assert_nonnull (allowed->warnings);
  g_assert_true (
      g_strv_contains ((const char *const *) allowed->warnings, "Premature end of JPEG file"));

  /* Damage is no excuse for what was unreadable before: garbage stays "not an image". */
  g_autoptr (GBytes) junk = g_bytes_new_static ("hello, world", 12);
  g_assert_null (gaze_io_image_load_bytes_full (junk, 0, GAZE_IO_IMAGE_LOAD_ALLOW_DAMAGED, &error));
  g_assert_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_NOT_IMAGE);
}

/* -- Resampler keys (issue 19): "resize_backend", "interpolation" -- */
static void
test_sidecar_resampler (void)
{
  g_autofree char *dir = tmp_dir ();
  g_autofree char *model = g_build_filename (dir, "net.onnx", NULL);
  g_autofree char *json_path = gaze_io_sidecar_path (model);
  g_autoptr (GError) error = NULL;
  GzPreprocess pp, back;
  GazeIoOverrides s;

  /* Defaults: Pillow, bilinear; written sidecars leave the defaults out. */
  gz_preprocess_defaults (NULL, &pp);
  g_assert_cmpint (pp.backend, ==, GZ_RESIZE_BACKEND_PIL);
  g_assert_cmpint (pp.filter, ==, GZ_RESIZE_BILINEAR);
  g_assert_true (gaze_io_sidecar_write (model, &pp, NULL, &error));
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (json_path, &text, NULL, NULL));
  g_assert_null (strstr (text, "resize_backend"));
  g_assert_null (strstr (text, "interpolation"));

  /* Round trip of the other choices. */
  pp.backend = GZ_RESIZE_BACKEND_TENSOR;
  pp.filter = GZ_RESIZE_BICUBIC;
  g_assert_true (gaze_io_sidecar_write (model, &pp, NULL, &error));
  g_clear_pointer (&text, g_free);
  g_assert_true (g_file_get_contents (json_path, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"resize_backend\": \"tensor\""));
  g_assert_nonnull (strstr (text, "\"interpolation\": \"bicubic\""));
  gaze_io_overrides_init (&s);
  g_assert_true (gaze_io_sidecar_read (model, &s, &error));
  g_assert_true (gaze_io_overrides_resolve (NULL, &s, NULL, &back, &error));
  g_assert_cmpint (back.backend, ==, GZ_RESIZE_BACKEND_TENSOR);
  g_assert_cmpint (back.filter, ==, GZ_RESIZE_BICUBIC);

  /* Flags win over the sidecar. */
  GazeIoOverrides flags;
  gaze_io_overrides_init (&flags);
  g_assert_true (gaze_io_resize_backend_parse ("pil", &flags.resize_backend));
  flags.has_resize_backend = TRUE;
  g_assert_true (gaze_io_overrides_resolve (NULL, &s, &flags, &back, &error));
  g_assert_cmpint (back.backend, ==, GZ_RESIZE_BACKEND_PIL);
  g_assert_cmpint (back.filter, ==, GZ_RESIZE_BICUBIC);
  gaze_io_overrides_clear (&flags);
  gaze_io_overrides_clear (&s);

  /* Unknown names and wrong types are refused, naming the key. */
  const char *bad[] = {
    "{\"resize_backend\": \"opencv\"}",
    "{\"resize_backend\": 1}",
    "{\"interpolation\": \"lanczos\"}",
    "{\"interpolation\": [\"bilinear\"]}",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_true (g_file_set_contents (json_path, bad[i], -1, NULL));
      gaze_io_overrides_init (&s);
      g_assert_false (gaze_io_sidecar_read (model, &s, &error));
      g_assert_nonnull (error);
      g_test_message ("%s → %s", bad[i], error->message);
      g_assert_nonnull (
          strstr (error->message, i < 2 ? "\"resize_backend\"" : "\"interpolation\""));
      g_clear_error (&error);
      gaze_io_overrides_clear (&s);
    }
  remove_dir (dir);
}
/* -- end resampler keys -- */

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/io/sidecar/path", test_sidecar_path);
  g_test_add_func ("/io/sidecar/roundtrip", test_sidecar_roundtrip);
  g_test_add_func ("/io/sidecar/inline-labels", test_sidecar_inline_labels);
  g_test_add_func ("/io/sidecar/resampler", test_sidecar_resampler); /* issue 19 */
  g_test_add_func ("/io/labels/errors", test_labels_errors);
  g_test_add_func ("/io/image/decode", test_image_decode);
  g_test_add_func ("/io/image/damaged", test_image_damaged);
  return g_test_run ();
}
