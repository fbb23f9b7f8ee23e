/* test-report.c — the report renderer (gaze-io-report) and `gaze-cli explain --caption`:
 * captions never lose the probability or the date, the colour bar says what is drawn
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "gaze-io-report.h"
#include "gaze-io-scale-bar.h"

/* horses.jpg's worst case (issue 15). */
#define LONG_LABEL "bighorn, bighorn sheep, cimarron, Rocky Mountain bighorn, Ovis canadensis"
#define LONG_LAYER "/features/features.18/features.18.2/Clip_output_0/very/deep/block/conv_bn_relu"

static const char *cli_path;
static const char *demo_dir;

static void
fill_report (GazeIoReport *r, guint8 *pixels, int w, int h, GzTensor **projected, GDateTime *time)
{
  GzError err = { 0 };
  int64_t dims[2] = { h, w };

  gaze_io_report_init (r);
  for (int i = 0; i < w * h * 3; i++)
    pixels[i] = (guint8) (i * 7);
  r->image.width = w;
  r->image.height = h;
  r->image.stride = w * 3;
  r->image.pixels = pixels;
  *projected = gz_tensor_new (GZ_DTYPE_FLOAT, 2, dims, &err);
  g_assert_nonnull (*projected);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      gz_tensor_f (*projected)[y * w + x] = x < w / 8 ? NAN : (float) x / w;
  r->projected = *projected;
  /* The model saw all but the left eighth: hatched there. */
  r->geometry = (GzGeometry){ w, h, 224, 224, (w - w / 8) / 224.0, h / 224.0, w / 8, 0 };
  r->image_name = "horses.jpg";
  r->model_name = "mobilenet_v2";
  r->class_label = LONG_LABEL;
  r->probability = 0.268f;
  r->method = GZ_METHOD_GRADCAM;
  r->layer = LONG_LAYER;
  r->raw_min = -0.00643f;
  r->raw_max = 1.13f;
  r->time = time;
}

static void
test_range_labels (void)
{
  g_autofree char *low = NULL, *high = NULL, *low2 = NULL, *high2 = NULL;
  gboolean clipped;

  /* Grad-CAM's raw range before the ReLU: the dark end is everything ≤ 0. */
  gaze_io_report_range_labels (-0.00643f, 1.13f, &low, &high, &clipped);
  g_assert_true (clipped);
  g_assert_cmpstr (low, ==, "≤ 0");
  g_assert_cmpstr (high, ==, "1.13");
  /* Nothing clipped: min-max normalised, the dark end is the minimum. */
  gaze_io_report_range_labels (0.25f, 2.0f, &low2, &high2, &clipped);
  g_assert_false (clipped);
  g_assert_cmpstr (low2, ==, "0.25");
  g_assert_cmpstr (high2, ==, "2");
}

static void
check_layout (int width)
{
  g_autoptr (GDateTime) time = g_date_time_new_utc (2026, 12, 5, 13, 37, 42);
  g_autofree guint8 *pixels = g_malloc ((gsize) 64 * 48 * 3);
  GzTensor *projected;
  GazeIoReport r;
  cairo_surface_t *scratch = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 1, 1);
  cairo_t *cr = cairo_create (scratch);
  g_autoptr (GPtrArray) layouts = NULL;
  g_autoptr (GString) all = g_string_new (NULL);
  g_auto (GStrv) lines = NULL;
  double band;
  gboolean shortened;

  fill_report (&r, pixels, 64, 48, &projected, time);
  lines = gaze_io_report_caption_lines (&r);
  layouts = gaze_io_report_layout_caption (&r, cr, width, &band);
  g_assert_cmpuint (layouts->len, ==, g_strv_length (lines));
  for (guint i = 0; i < layouts->len; i++)
    {
      PangoLayout *layout = layouts->pdata[i];
      const PangoFontDescription *font = pango_layout_get_font_description (layout);
      int lw;

      g_assert_false (pango_layout_is_ellipsized (layout));
      g_assert_true (pango_font_description_get_size_is_absolute (font));
      g_assert_cmpfloat ((double) pango_font_description_get_size (font) / PANGO_SCALE, >=,
                         GAZE_IO_REPORT_MIN_FONT);
      pango_layout_get_pixel_size (layout, &lw, NULL);
      g_assert_cmpint (lw, <=, width);
      g_test_message ("%d px, line %u (%d lines): %s", width, i,
                      pango_layout_get_line_count (layout), pango_layout_get_text (layout));
      g_string_append (all, pango_layout_get_text (layout));
      g_string_append_c (all, '\n');
    }
  /* The probability, the date, the whole class label and what the colour bar
   * and the hatching mean are all laid out. */
  g_assert_nonnull (strstr (all->str, "26.8 %"));
  g_assert_nonnull (strstr (all->str, "2026-12-05 13:37:42 UTC"));
  g_assert_nonnull (strstr (all->str, LONG_LABEL));
  g_assert_nonnull (strstr (all->str, "≤ 0 … 1.13"));
  g_assert_nonnull (strstr (all->str, "outside the model’s view"));
  g_assert_nonnull (strstr (all->str, "Research use — not a diagnostic device"));
  /* Only the layer name may be shortened, in the middle. */
  shortened = strstr (all->str, LONG_LAYER) == NULL;
  if (shortened)
    {
      const char *when = pango_layout_get_text (layouts->pdata[2]);

      /* Its head and tail kept, "…" between. */
      g_assert_true (g_str_has_prefix (when, "Layer /featur"));
      g_assert_nonnull (strstr (when, "…"));
      g_assert_nonnull (strstr (when, "relu · 2026"));
      /* Wide enough: shortened until the line fits. */
      if (width >= 1000)
        g_assert_cmpint (pango_layout_get_line_count (layouts->pdata[2]), ==, 1);
    }
  g_test_message ("%d px: band %.0f, layer %s", width, band, shortened ? "shortened" : "whole");
  g_assert_cmpfloat (band, >, 5 * GAZE_IO_REPORT_MIN_FONT);

  g_ptr_array_set_size (layouts, 0);
  cairo_destroy (cr);
  cairo_surface_destroy (scratch);
  gz_tensor_free (projected);
}

static void
test_layout_narrow (void)
{
  check_layout (176);
}

static void
test_layout_wide (void)
{
  check_layout (6000);
}

static gboolean
file_has (const char *path, const char *needle, gsize limit)
{
  g_autofree char *data = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return memmem (data, MIN (len, limit), needle, strlen (needle)) != NULL;
}

static void
assert_svg_parses (const char *path)
{
  g_autofree char *data = NULL;
  gsize len;
  GMarkupParser parser = { 0 };
  GMarkupParseContext *ctx;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_assert_nonnull (strstr (data, "<svg"));
  ctx = g_markup_parse_context_new (&parser, 0, NULL, NULL);
  g_assert_true (g_markup_parse_context_parse (ctx, data, (gssize) len, &error));
  g_assert_true (g_markup_parse_context_end_parse (ctx, &error));
  g_assert_no_error (error);
  g_markup_parse_context_free (ctx);
}

static void
test_write (void)
{
  g_autoptr (GDateTime) time = g_date_time_new_utc (2026, 12, 5, 13, 37, 42);
  g_autofree guint8 *pixels = g_malloc ((gsize) 176 * 120 * 3);
  g_autofree char *dir = g_dir_make_tmp ("gaze-report-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "r.png", NULL);
  g_autofree char *pdf = g_build_filename (dir, "r.pdf", NULL);
  g_autofree char *svg = g_build_filename (dir, "r.svg", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkPixbuf) pixbuf = NULL;
  g_autofree char *caption = NULL;
  GzTensor *projected;
  GazeIoReport r;
  int w, h;

  fill_report (&r, pixels, 176, 120, &projected, time);
  caption = gaze_io_report_caption (&r);
  gaze_io_report_get_size (&r, &w, &h);
  g_assert_cmpint (w, ==, 176);
  g_assert_cmpint (h, >, 120);

  g_assert_true (gaze_io_report_write (&r, png, GAZE_IO_REPORT_PNG, NULL, &error));
  g_assert_no_error (error);
  pixbuf = gdk_pixbuf_new_from_file (png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, w);
  g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), ==, h);
  g_assert_cmpstr (gdk_pixbuf_get_option (pixbuf, "tEXt::Description"), ==, caption);

  r.page = GAZE_IO_PAGE_A4;
  r.dpi = 300;
  g_assert_true (gaze_io_report_write (&r, pdf, GAZE_IO_REPORT_PDF, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (file_has (pdf, "%PDF-", 16));
  g_assert_true (file_has (pdf, "/MediaBox [ 0 0 595.", G_MAXSIZE));

  g_assert_true (gaze_io_report_write (&r, svg, GAZE_IO_REPORT_SVG, NULL, &error));
  g_assert_no_error (error);
  assert_svg_parses (svg);

  /* Never over the analysed image. */
  {
    g_autofree char *before = NULL, *after = NULL;
    gsize lb, la;

    g_assert_true (g_file_get_contents (png, &before, &lb, NULL));
    g_assert_false (gaze_io_report_write (&r, png, GAZE_IO_REPORT_PNG, png, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
    g_clear_error (&error);
    g_assert_true (g_file_get_contents (png, &after, &la, NULL));
    g_assert_cmpmem (before, lb, after, la);
  }

  gz_tensor_free (projected);
  g_unlink (png);
  g_unlink (pdf);
  g_unlink (svg);
  g_rmdir (dir);
}

/* Round lengths, the longest that fits. */
static void
test_scale_bar_choose (void)
{
  static const struct
  {
    double mm_per_unit, max_length, mm;
    const char *label;
  } cases[] = {
    { 0.7, 100, 50, "5 cm" }, /* 70 mm fit: 50 */
    { 0.7, 71.42, 20, "2 cm" }, /* 49.99 mm fit: 20 */
    { 0.139, 200, 20, "2 cm" }, /* 27.8 mm */
    { 0.1, 100, 10, "1 cm" }, /* exactly 10 mm fits */
    { 0.01, 30, 0.2, "0.2 mm" }, { 2.0, 60, 100, "10 cm" }, { 0.05, 150, 5, "5 mm" },
  };
  GazeIoScaleBar bar;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_assert_true (gaze_io_scale_bar_choose (cases[i].mm_per_unit, cases[i].max_length, &bar));
      g_assert_cmpfloat_with_epsilon (bar.mm, cases[i].mm, 1e-12);
      g_assert_cmpstr (bar.label, ==, cases[i].label);
      g_assert_cmpfloat_with_epsilon (bar.length, cases[i].mm / cases[i].mm_per_unit, 1e-9);
      g_assert_cmpfloat (bar.length, <=, cases[i].max_length * (1 + 1e-9));
    }
  /* No spacing, or not even 0.1 mm fits. */
  g_assert_false (gaze_io_scale_bar_choose (0, 100, &bar));
  g_assert_false (gaze_io_scale_bar_choose (NAN, 100, &bar));
  g_assert_false (gaze_io_scale_bar_choose (-1, 100, &bar));
  g_assert_false (gaze_io_scale_bar_choose (0.01, 5, &bar));
}

/* With a pixel spacing, the exported picture has a white bar in its bottom
 * left corner and is otherwise the same picture. */
static void
test_scale_bar_drawn (void)
{
  const int w = 400, h = 300;
  g_autofree guint8 *pixels = g_malloc ((gsize) w * h * 3);
  GzTensor *projected;
  GazeIoReport r;
  cairo_surface_t *plain, *barred;
  int changed_inside = 0, changed_outside = 0, white = 0;

  fill_report (&r, pixels, w, h, &projected, NULL);
  r.projected = NULL; /* the image alone: white stands out */
  memset (pixels, 40, (gsize) w * h * 3);
  for (int pass = 0; pass < 2; pass++)
    {
      cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
      cairo_t *cr = cairo_create (s);

      r.mm_per_pixel = pass == 0 ? 0 : 0.5; /* 200 mm across: a 5 cm bar (100 px) */
      gaze_io_report_draw (&r, cr, w, NULL);
      cairo_destroy (cr);
      cairo_surface_flush (s);
      if (pass == 0)
        plain = s;
      else
        barred = s;
    }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        const guint32 *a
            = (const guint32 *) (gconstpointer) (cairo_image_surface_get_data (plain)
                                                 + y * cairo_image_surface_get_stride (plain));
        const guint32 *b
            = (const guint32 *) (gconstpointer) (cairo_image_surface_get_data (barred)
                                                 + y * cairo_image_surface_get_stride (barred));
        gboolean corner = x < w / 4 + 16 && y > h - 60 && y < h;

        if ((a[x] & 0xffffff) != (b[x] & 0xffffff))
          {
            if (corner)
              changed_inside++;
            else
              changed_outside++;
          }
        if (corner && (b[x] & 0xffffff) == 0xffffff)
          white++;
      }
  g_test_message ("scale bar: %d pixels changed in the corner, %d white", changed_inside, white);
  g_assert_cmpint (changed_outside, ==, 0);
  g_assert_cmpint (white, >=, 100 * 2); /* at least the bar's length, 2 px thick */
  cairo_surface_destroy (plain);
  cairo_surface_destroy (barred);
  gz_tensor_free (projected);
}

/* gaze-cli explain --output OUT --caption on the demo. */
static void
test_cli_caption (void)
{
  g_autofree char *model = NULL, *image = NULL, *dir = NULL;
  g_autoptr (GdkPixbuf) input = NULL;
  g_autoptr (GError) error = NULL;
  const char *names[] = { "star.png", "star.pdf", "star.svg" };

  if (cli_path == NULL || demo_dir == NULL)
    {
      g_test_skip ("run by meson: needs gaze-cli and data/demo");
      return;
    }
  model = g_build_filename (demo_dir, "shapes.onnx", NULL);
  image = g_build_filename (demo_dir, "demo-01-star.png", NULL);
  input = gdk_pixbuf_new_from_file (image, &error);
  g_assert_no_error (error);
  dir = g_dir_make_tmp ("gaze-report-cli-XXXXXX", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *out = g_build_filename (dir, names[i], NULL);
      const char *argv[]
          = { cli_path,       "explain",           model, image, "--output", out, "--caption",
              "--disclaimer", "Not for diagnosis", "-q",  NULL };
      g_autofree char *stdout_text = NULL, *stderr_text = NULL;
      int status;

      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                   &stdout_text, &stderr_text, &status, &error));
      g_assert_no_error (error);
      g_test_message ("%s: %s", names[i], stderr_text);
      g_assert_true (g_spawn_check_wait_status (status, &error));
      if (i == 0)
        {
          g_autoptr (GdkPixbuf) pb = gdk_pixbuf_new_from_file (out, &error);
          const char *text;

          g_assert_no_error (error);
          /* The image at full size and the band below it. */
          g_assert_cmpint (gdk_pixbuf_get_width (pb), ==, gdk_pixbuf_get_width (input));
          g_assert_cmpint (gdk_pixbuf_get_height (pb), >,
                           gdk_pixbuf_get_height (input) + 5 * GAZE_IO_REPORT_MIN_FONT);
          text = gdk_pixbuf_get_option (pb, "tEXt::Description");
          g_assert_nonnull (text);
          g_test_message ("caption: %s", text);
          g_assert_nonnull (strstr (text, "demo-01-star.png — shapes"));
          g_assert_nonnull (strstr (text, "Not for diagnosis"));
          g_assert_nonnull (strstr (text, " %)"));
        }
      else if (i == 1)
        g_assert_true (file_has (out, "%PDF-", 16));
      else
        assert_svg_parses (out);
      g_unlink (out);
    }
  /* Never over the input. */
  {
    const char *argv[]
        = { cli_path, "explain", model, image, "--output", image, "--caption", "-q", NULL };
    int status;

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL,
                                 G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                                 NULL, NULL, NULL, &status, &error));
    g_assert_false (g_spawn_check_wait_status (status, NULL));
  }
  g_rmdir (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  if (argc > 2)
    {
      cli_path = argv[1];
      demo_dir = argv[2];
    }
  g_test_add_func ("/report/range-labels", test_range_labels);
  g_test_add_func ("/report/layout-176", test_layout_narrow);
  g_test_add_func ("/report/layout-6000", test_layout_wide);
  g_test_add_func ("/report/write", test_write);
  g_test_add_func ("/report/scale-bar-choose", test_scale_bar_choose);
  g_test_add_func ("/report/scale-bar-drawn", test_scale_bar_drawn);
  g_test_add_func ("/report/cli-caption", test_cli_caption);
  return g_test_run ();
}
