/* test-image.c — .npy edge cases, geometry, projection, colormaps and overlay
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Reference values are derived by hand in the comments, or are the published
 * colormap endpoints; the torch/torchvision comparisons live in the Python
 * tests next to this file.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "gaze-engine.h"

/* ---- .npy -------------------------------------------------------------- */

/* A v1.0 file: prefix + dict (padded to 64) + n_data bytes of 0x3f. */
static GByteArray *
npy_bytes (const char *dict, gsize n_data)
{
  GByteArray *b = g_byte_array_new ();
  gsize hl = strlen (dict) + 1;
  gsize total = (10 + hl + 63) / 64 * 64;
  hl = total - 10;
  guint8 prefix[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, hl & 0xff, hl >> 8 };
  g_byte_array_append (b, prefix, 10);
  g_byte_array_append (b, (const guint8 *) dict, strlen (dict));
  for (gsize i = strlen (dict); i < hl - 1; i++)
    g_byte_array_append (b, (const guint8 *) " ", 1);
  g_byte_array_append (b, (const guint8 *) "\n", 1);
  for (gsize i = 0; i < n_data; i++)
    g_byte_array_append (b, (const guint8 *) "\x3f", 1);
  return b;
}

static void
expect_npy_error (const char *dict, gsize n_data, GzStatus code, const char *needle)
{
  g_autoptr (GByteArray) b = npy_bytes (dict, n_data);
  GzError err = { 0 };
  GzTensor *t = NULL;
  GzStatus st = gz_npy_read_mem (b->data, b->len, &t, &err);
  g_test_message ("%s -> %s", dict, err.message);
  g_assert_cmpint (st, ==, code);
  g_assert_null (t);
  g_assert_nonnull (strstr (err.message, needle));

  /* The file reader reaches the same verdict. */
  g_autofree char *dir = g_dir_make_tmp ("gaze-npy-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "bad.npy", NULL);
  g_assert_true (g_file_set_contents (path, (const char *) b->data, b->len, NULL));
  GzError err2 = { 0 };
  g_assert_cmpint (gz_npy_read (path, &t, &err2), ==, code);
  g_assert_null (t);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_npy_malformed (void)
{
  expect_npy_error ("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16,
                    GZ_ERR_UNSUPPORTED, "Fortran");
  expect_npy_error ("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", 16,
                    GZ_ERR_UNSUPPORTED, "big-endian");
  expect_npy_error ("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16,
                    GZ_ERR_UNSUPPORTED, "objects");
  expect_npy_error ("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8,
                    GZ_ERR_UNSUPPORTED, "structured");
  expect_npy_error ("{'descr': '<f4', 'fortran_order': False, 'shape': (10,), }", 39, GZ_ERR_FORMAT,
                    "truncated");
  /* 2^40 × 2^40 overflows int64 bytes; 2^32 elements exceeds the limit. */
  expect_npy_error ("{'descr': '<f4', 'fortran_order': False, "
                    "'shape': (1099511627776, 1099511627776, 1099511627776), }",
                    0, GZ_ERR_LIMIT, "too large");
  expect_npy_error ("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536), }", 0,
                    GZ_ERR_LIMIT, "too large");
  expect_npy_error ("{'descr': '<f4', 'fortran_order': False, "
                    "'shape': (99999999999999999999999,), }",
                    0, GZ_ERR_LIMIT, "overflows");
  expect_npy_error ("{'descr': '<f4', 'fortran_order': False, "
                    "'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }",
                    4, GZ_ERR_LIMIT, "dimensions");
  expect_npy_error ("{'descr': '<f4', 'shape': (1,), }", 4, GZ_ERR_FORMAT, "lacks");
  expect_npy_error ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4, GZ_ERR_FORMAT,
                    "shape");
  expect_npy_error ("{'descr': '<U8', 'fortran_order': False, 'shape': (1,), }", 32,
                    GZ_ERR_UNSUPPORTED, "not supported");
  expect_npy_error ("not a dict", 0, GZ_ERR_FORMAT, "dictionary");

  /* Bad magic, and a header length longer than the file. */
  GzError err = { 0 };
  GzTensor *t = NULL;
  g_assert_cmpint (gz_npy_read_mem ("PK\x03\x04 not numpy at all", 22, &t, &err), ==,
                   GZ_ERR_FORMAT);
  g_assert_nonnull (strstr (err.message, "not a NumPy"));
  g_autoptr (GByteArray) b
      = npy_bytes ("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 4);
  g_assert_cmpint (gz_npy_read_mem (b->data, 40, &t, &err), ==, GZ_ERR_FORMAT);
  g_assert_nonnull (strstr (err.message, "truncated"));
  /* The same bytes complete: a 0-d float. */
  g_assert_cmpint (gz_npy_read_mem (b->data, b->len, &t, &err), ==, GZ_OK);
  g_assert_cmpint (t->ndim, ==, 0);
  gz_tensor_free (t);

  g_assert_cmpint (gz_npy_read ("/nonexistent/x.npy", &t, &err), ==, GZ_ERR_IO);
  g_assert_null (t);
}

/* Every truncation and many random byte flips of a valid file: the reader
 * either succeeds with a consistent tensor or fails cleanly (run under ASan
 * in CI, this is a small fuzzer). */
static void
test_npy_corrupt (void)
{
  g_autoptr (GByteArray) good
      = npy_bytes ("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 48);
  GzError err = { 0 };
  GzTensor *t = NULL;
  for (guint len = 0; len <= good->len; len++)
    {
      GzStatus st = gz_npy_read_mem (good->data, len, &t, &err);
      g_assert_cmpint (st == GZ_OK, ==, len == good->len);
      if (st == GZ_OK)
        gz_tensor_free (t);
      else
        g_assert_null (t);
    }
  g_autoptr (GRand) rand = g_rand_new_with_seed (42);
  guint8 *copy = g_malloc (good->len);
  int accepted = 0;
  for (int round = 0; round < 20000; round++)
    {
      memcpy (copy, good->data, good->len);
      int flips = g_rand_int_range (rand, 1, 4);
      for (int f = 0; f < flips; f++)
        copy[g_rand_int_range (rand, 0, 64)] = (guint8) g_rand_int_range (rand, 0, 256);
      if (gz_npy_read_mem (copy, good->len, &t, &err) == GZ_OK)
        {
          /* Whatever was accepted fits in the bytes given. */
          g_assert_cmpint (gz_tensor_numel (t) * (int64_t) gz_dtype_size (t->dtype), <=,
                           (int64_t) good->len);
          gz_tensor_free (t);
          accepted++;
        }
      else
        g_assert_cmpstr (err.message, !=, "");
    }
  g_test_message ("%d of 20000 corrupted headers still parsed", accepted);
  g_free (copy);
}

static int
count_entries (const char *dir)
{
  int n = 0;
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static void
test_npy_roundtrip (void)
{
  g_autofree char *dir = g_dir_make_tmp ("gaze-npy-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "t.npy", NULL);
  GzError err = { 0 };
  int64_t dims[3] = { 2, 3, 5 };
  GzTensor *t = gz_tensor_new (GZ_DTYPE_FLOAT, 3, dims, &err);
  for (int i = 0; i < 30; i++)
    gz_tensor_f (t)[i] = (float) i * 0.37f - 4.0f;
  g_assert_cmpint (gz_npy_write (path, t, &err), ==, GZ_OK);
  /* Overwriting an existing file is fine too. */
  g_assert_cmpint (gz_npy_write (path, t, &err), ==, GZ_OK);
  g_assert_cmpint (count_entries (dir), ==, 1);

  g_autofree char *contents = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_cmpuint (len, ==, 128 + 30 * 4);
  g_assert_cmpmem (contents, 8, "\x93NUMPY\x01\x00", 8);
  g_assert_cmpint (contents[127], ==, '\n');
  g_assert_nonnull (memmem (contents, 128, "'shape': (2, 3, 5)", 18));

  GzTensor *back;
  g_assert_cmpint (gz_npy_read (path, &back, &err), ==, GZ_OK);
  g_assert_cmpint (back->ndim, ==, 3);
  g_assert_cmpint (back->dims[2], ==, 5);
  g_assert_cmpmem (back->data, 120, t->data, 120);
  gz_tensor_free (back);

  /* int64, 1-d: the shape is written as a one-element tuple "(3,)". */
  int64_t d1 = 3;
  GzTensor *ti = gz_tensor_new (GZ_DTYPE_INT64, 1, &d1, &err);
  ((int64_t *) ti->data)[0] = -1;
  ((int64_t *) ti->data)[2] = INT64_MAX;
  g_assert_cmpint (gz_npy_write (path, ti, &err), ==, GZ_OK);
  g_assert_cmpint (gz_npy_read (path, &back, &err), ==, GZ_OK);
  g_assert_cmpint (back->dtype, ==, GZ_DTYPE_INT64);
  g_assert_cmpint (((int64_t *) back->data)[0], ==, -1);
  g_assert_cmpint (((int64_t *) back->data)[2], ==, INT64_MAX);
  gz_tensor_free (back);

  /* A failing write (the target is a directory) leaves nothing behind and
   * keeps the old file intact. */
  g_autofree char *sub = g_build_filename (dir, "sub", NULL);
  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
  g_assert_cmpint (gz_npy_write (sub, t, &err), ==, GZ_ERR_IO);
  g_assert_cmpint (count_entries (dir), ==, 2);
  g_autofree char *missing = g_build_filename (dir, "no", "such", "x.npy", NULL);
  g_assert_cmpint (gz_npy_write (missing, t, &err), ==, GZ_ERR_IO);
  g_test_message ("%s", err.message);

  g_rmdir (sub);
  g_unlink (path);
  g_rmdir (dir);
  gz_tensor_free (t);
  gz_tensor_free (ti);
}

/* ---- Preprocessing geometry and arguments ------------------------------ */

static void
test_preprocess_geometry (void)
{
  /* 100×50 image, resize 20, crop 16: resized 40×20 (shorter side 20, longer
   * int (20·100/50)); left = round ((40-16)/2) = 12, top = round (4/2) = 2;
   * scale 100/40 = 2.5, offsets 12·2.5 = 30 and 2·2.5 = 5. */
  guint8 *px = g_malloc0 (100 * 50 * 3);
  GzImage image = { 100, 50, 3, 300, px };
  GzPreprocess pp;
  gz_preprocess_defaults (NULL, &pp);
  g_assert_cmpint (pp.resize, ==, 256);
  g_assert_cmpint (pp.crop_width, ==, 224);
  g_assert_cmpfloat (pp.mean[0], ==, 0.485f);
  pp.resize = 20;
  pp.crop_width = pp.crop_height = 16;
  GzTensor *t;
  GzGeometry g;
  GzError err = { 0 };
  g_assert_cmpint (gz_preprocess_image (&image, &pp, &t, &g, &err), ==, GZ_OK);
  g_assert_cmpint (t->dims[1], ==, 3);
  g_assert_cmpint (t->dims[2], ==, 16);
  g_assert_cmpfloat_with_epsilon (g.scale_x, 2.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (g.scale_y, 2.5, 1e-12);
  g_assert_cmpfloat_with_epsilon (g.offset_x, 30.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (g.offset_y, 5.0, 1e-12);
  /* Black pixels normalise to -mean/std. */
  g_assert_cmpfloat_with_epsilon (gz_tensor_f (t)[0], -0.485 / 0.229, 1e-5);
  gz_tensor_free (t);

  /* Stretch: the whole image, no offset. */
  pp.mode = GZ_RESIZE_STRETCH;
  pp.crop_width = 10;
  pp.crop_height = 25;
  g_assert_cmpint (gz_preprocess_pixels (&image, &pp, &t, &g, &err), ==, GZ_OK);
  g_assert_cmpfloat_with_epsilon (g.scale_x, 10.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (g.scale_y, 2.0, 1e-12);
  g_assert_cmpfloat (g.offset_x, ==, 0.0);
  gz_tensor_free (t);

  /* Bad arguments fail cleanly. */
  pp.crop_width = 0;
  g_assert_cmpint (gz_preprocess_pixels (&image, &pp, &t, &g, &err), ==, GZ_ERR_ARGUMENT);
  g_assert_null (t);
  pp.crop_width = 10;
  pp.std[1] = 0.0f;
  g_assert_cmpint (gz_preprocess_image (&image, &pp, &t, &g, &err), ==, GZ_ERR_ARGUMENT);
  pp.std[1] = 0.2f;
  image.stride = 10;
  g_assert_cmpint (gz_preprocess_image (&image, &pp, &t, &g, &err), ==, GZ_ERR_ARGUMENT);
  g_free (px);
}

/* ---- Projection ---------------------------------------------------------- */

static void
test_project (void)
{
  /* A 4×4 input map whose value is its column index, an image 10×8 where the
   * input covers x in [1, 9) at 2 image pixels per input pixel. */
  int64_t dims[2] = { 4, 4 };
  GzError err = { 0 };
  GzTensor *m = gz_tensor_new (GZ_DTYPE_FLOAT, 2, dims, &err);
  for (int i = 0; i < 16; i++)
    gz_tensor_f (m)[i] = (float) (i % 4);
  GzGeometry g = { 10, 8, 4, 4, 2.0, 2.0, 1.0, 0.0 };
  GzTensor *p = gz_map_project (m, &g, &err);
  g_assert_nonnull (p);
  g_assert_cmpint (p->dims[0], ==, 8);
  g_assert_cmpint (p->dims[1], ==, 10);
  const float *v = gz_tensor_f (p);
  for (int y = 0; y < 8; y++)
    {
      /* x=0: centre 0.5 → input -0.25: outside. x=9: 4.25: outside. */
      g_assert_true (isnan (v[y * 10 + 0]));
      g_assert_true (isnan (v[y * 10 + 9]));
      /* x=1: input 0.25 → left of the first centre → 0. x=2: 0.75 → 0.25.
       * x=3: 1.25 → 0.75. x=8: 3.75 → clamps to the last centre → 3. */
      g_assert_cmpfloat_with_epsilon (v[y * 10 + 1], 0.0, 1e-6);
      g_assert_cmpfloat_with_epsilon (v[y * 10 + 2], 0.25, 1e-6);
      g_assert_cmpfloat_with_epsilon (v[y * 10 + 3], 0.75, 1e-6);
      g_assert_cmpfloat_with_epsilon (v[y * 10 + 8], 3.0, 1e-6);
    }
  gz_tensor_free (p);

  /* Round trip through preprocessing: a 60×30 image, resize 10, crop 8:
   * resized 20×10, left 6, top 1, scale 3. Image pixels x < 18 or x >= 42
   * and y < 3 or y >= 27 were cropped away. */
  guint8 *px = g_malloc0 (60 * 30 * 3);
  GzImage image = { 60, 30, 3, 180, px };
  GzPreprocess pp;
  gz_preprocess_defaults (NULL, &pp);
  pp.resize = 10;
  pp.crop_width = pp.crop_height = 8;
  GzTensor *t;
  g_assert_cmpint (gz_preprocess_pixels (&image, &pp, &t, &g, &err), ==, GZ_OK);
  GzTensor *m8 = gz_map_resize (m, 8, 8, &err);
  p = gz_map_project (m8, &g, &err);
  v = gz_tensor_f (p);
  g_assert_true (isnan (v[15 * 60 + 17]));
  g_assert_false (isnan (v[15 * 60 + 18]));
  g_assert_false (isnan (v[15 * 60 + 41]));
  g_assert_true (isnan (v[15 * 60 + 42]));
  g_assert_true (isnan (v[2 * 60 + 30]));
  g_assert_false (isnan (v[3 * 60 + 30]));
  g_assert_false (isnan (v[26 * 60 + 30]));
  g_assert_true (isnan (v[27 * 60 + 30]));
  gz_tensor_free (p);
  gz_tensor_free (m8);
  gz_tensor_free (t);
  g_free (px);

  /* Errors instead of crashes. */
  GzGeometry bad = { 10, 8, 4, 4, 0.0, 2.0, 1.0, 0.0 };
  g_assert_null (gz_map_project (m, &bad, &err));
  g_assert_cmpint (err.code, ==, GZ_ERR_ARGUMENT);
  g_assert_null (gz_map_resize (m, 0, 5, &err));
  gz_tensor_free (m);
}

/* ---- Colormaps ----------------------------------------------------------- */

static void
expect_rgb (GzColormap c, float v, int r, int g, int b)
{
  guint8 rgb[3];
  gz_colormap_lookup (c, v, rgb);
  g_test_message ("%s(%g) = %d %d %d", gz_colormap_name (c), v, rgb[0], rgb[1], rgb[2]);
  g_assert_cmpint (rgb[0], ==, r);
  g_assert_cmpint (rgb[1], ==, g);
  g_assert_cmpint (rgb[2], ==, b);
}

static void
test_colormap (void)
{
  /* Published endpoints, ×255 rounded: viridis #440154 … #fde725 (matplotlib
   * _viridis_data first/last (0.267004, 0.004874, 0.329415), (0.993248,
   * 0.906157, 0.143936)); inferno (0.001462, 0.000466, 0.013866) … (0.988362,
   * 0.998364, 0.644924); turbo (0.18995, 0.07176, 0.23217) … (0.4796, 0.01583,
   * 0.01055); jet (0, 0, 0.5) … (0.5, 0, 0). */
  expect_rgb (GZ_COLORMAP_VIRIDIS, 0.0f, 68, 1, 84);
  expect_rgb (GZ_COLORMAP_VIRIDIS, 1.0f, 253, 231, 37);
  expect_rgb (GZ_COLORMAP_INFERNO, 0.0f, 0, 0, 4);
  expect_rgb (GZ_COLORMAP_INFERNO, 1.0f, 252, 255, 164);
  expect_rgb (GZ_COLORMAP_TURBO, 0.0f, 48, 18, 59);
  expect_rgb (GZ_COLORMAP_TURBO, 1.0f, 122, 4, 3);
  expect_rgb (GZ_COLORMAP_JET, 0.0f, 0, 0, 128);
  expect_rgb (GZ_COLORMAP_JET, 1.0f, 128, 0, 0);
  /* jet at entry 128 (x = 128/255): r = (x-0.35)/0.31, g = 1,
   * b = 1-(x-0.34)/0.31 → 125, 255, 122. */
  expect_rgb (GZ_COLORMAP_JET, 0.5f, 125, 255, 122);
  expect_rgb (GZ_COLORMAP_GRAY, 0.0f, 0, 0, 0);
  expect_rgb (GZ_COLORMAP_GRAY, 1.0f, 255, 255, 255);
  /* Out of range and NaN clamp instead of reading out of bounds. */
  expect_rgb (GZ_COLORMAP_GRAY, -3.0f, 0, 0, 0);
  expect_rgb (GZ_COLORMAP_GRAY, 7.0f, 255, 255, 255);
  expect_rgb (GZ_COLORMAP_GRAY, NAN, 0, 0, 0);

  for (int i = 0; i < GZ_COLORMAP_COUNT; i++)
    {
      GzColormap c;
      g_assert_true (gz_colormap_from_name (gz_colormap_name ((GzColormap) i), &c));
      g_assert_cmpint (c, ==, i);
    }
  GzColormap c;
  g_assert_false (gz_colormap_from_name ("rainbow", &c));
  g_assert_null (gz_colormap_name (GZ_COLORMAP_COUNT));
}

/* ---- Overlay --------------------------------------------------------------- */

static void
test_overlay (void)
{
  /* 4×2 mid-grey image; gray colormap, alpha 0.5, threshold 0.5. */
  guint8 rgb[2 * 12];
  memset (rgb, 100, sizeof rgb);
  int64_t dims[2] = { 2, 4 };
  GzTensor *m = gz_tensor_new (GZ_DTYPE_FLOAT, 2, dims, NULL);
  const float v[8] = { 0.0f, 0.5f, 1.0f, NAN, NAN, 0.2f, 0.9f, NAN };
  memcpy (m->data, v, sizeof v);
  gz_overlay_compose (rgb, 4, 2, 12, m, GZ_COLORMAP_GRAY, 0.5f, 0.5f);
  /* (0,0) below threshold: untouched. (1,0): 0.5·100 + 0.5·128 = 114.
   * (2,0): 0.5·100 + 0.5·255 = 177.5 → 178. (3,0) NaN off the hatch lines
   * ((x+y) mod 8 = 3): darkened to 0.4·100 = 40. (0,1) NaN on a line
   * ((x+y) mod 8 = 1): 0.6·110 + 0.4·100 = 106. (1,1) 0.2: untouched.
   * (2,1) 0.9 → entry 230: 0.5·100 + 0.5·230 = 165. */
  const int expect[8] = { 100, 114, 178, 40, 106, 100, 165, 40 };
  for (int i = 0; i < 8; i++)
    for (int c = 0; c < 3; c++)
      g_assert_cmpint (rgb[i * 3 + c], ==, expect[i]);

  /* A colour map: the blend uses the colormap's entry per channel. */
  guint8 one[3] = { 0, 0, 0 };
  int64_t d1[2] = { 1, 1 };
  GzTensor *m1 = gz_tensor_new (GZ_DTYPE_FLOAT, 2, d1, NULL);
  gz_tensor_f (m1)[0] = 1.0f;
  gz_overlay_compose (one, 1, 1, 3, m1, GZ_COLORMAP_VIRIDIS, 1.0f, 0.0f);
  g_assert_cmpint (one[0], ==, 253);
  g_assert_cmpint (one[1], ==, 231);
  g_assert_cmpint (one[2], ==, 37);
  /* A map of the wrong size leaves the image alone. */
  gz_overlay_compose (rgb, 3, 2, 12, m, GZ_COLORMAP_GRAY, 0.5f, 0.0f);
  g_assert_cmpint (rgb[0], ==, 100);
  gz_tensor_free (m);
  gz_tensor_free (m1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/image/npy/roundtrip", test_npy_roundtrip);
  g_test_add_func ("/image/npy/malformed", test_npy_malformed);
  g_test_add_func ("/image/npy/corrupt", test_npy_corrupt);
  g_test_add_func ("/image/preprocess/geometry", test_preprocess_geometry);
  g_test_add_func ("/image/map/project", test_project);
  g_test_add_func ("/image/colormap", test_colormap);
  g_test_add_func ("/image/overlay", test_overlay);
  return g_test_run ();
}
