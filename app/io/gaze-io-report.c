/* gaze-io-report.c — the annotated image with its caption band (PNG, PDF, SVG)
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gaze-io-atomic.h"
#include "gaze-io-report.h"
#include "gaze-io-scale-bar.h"

static const char *method_labels[GZ_METHOD_COUNT] = {
  [GZ_METHOD_CAM] = N_ ("CAM"),
  [GZ_METHOD_GRADCAM] = N_ ("Grad-CAM"),
  [GZ_METHOD_GRADCAM_PP] = N_ ("Grad-CAM++"),
  [GZ_METHOD_XGRADCAM] = N_ ("XGrad-CAM"),
  [GZ_METHOD_HIRESCAM] = N_ ("HiRes-CAM"),
  [GZ_METHOD_LAYERCAM] = N_ ("Layer-CAM"),
  [GZ_METHOD_EIGENCAM] = N_ ("Eigen-CAM"),
  [GZ_METHOD_SCORECAM] = N_ ("Score-CAM"),
  [GZ_METHOD_ABLATIONCAM] = N_ ("Ablation-CAM"),
  [GZ_METHOD_GUIDED_BACKPROP] = N_ ("Guided Backpropagation"),
  [GZ_METHOD_GUIDED_GRADCAM] = N_ ("Guided Grad-CAM"),
  [GZ_METHOD_EIGENGRADCAM] = N_ ("Eigen-Grad-CAM"),
  [GZ_METHOD_GRADCAM_ELEMENTWISE] = N_ ("Grad-CAM element-wise"),
  [GZ_METHOD_SALIENCY] = N_ ("Saliency"),
  [GZ_METHOD_INPUTXGRAD] = N_ ("Input × Gradient"),
  [GZ_METHOD_INTEGRATED_GRADIENTS] = N_ ("Integrated Gradients"),
  [GZ_METHOD_OCCLUSION] = N_ ("Occlusion"),
};

/* The caption lines, in gaze_io_report_caption_lines order. */
enum
{
  LINE_TITLE,
  LINE_WHAT,
  LINE_WHEN,
  LINE_BAR,
};

void
gaze_io_report_init (GazeIoReport *report)
{
  memset (report, 0, sizeof *report);
  report->opacity = 0.5;
  report->colormap = GZ_COLORMAP_JET;
  report->method = GZ_METHOD_GRADCAM;
  report->page = GAZE_IO_PAGE_IMAGE;
  report->dpi = 150;
}

const char *
gaze_io_report_default_disclaimer (void)
{
  return N_ ("Research use — not a diagnostic device");
}

const char *
gaze_io_report_method_label (GzMethod method)
{
  if ((int) method < 0 || method >= GZ_METHOD_COUNT)
    return "";
  return _ (method_labels[method]);
}

char *
gaze_io_report_method_text (GzMethod method, int smooth_samples)
{
  if (smooth_samples <= 0)
    return g_strdup (gaze_io_report_method_label (method));
  /* Translators: an explanation method averaged over noisy copies of the
     image, e.g. "Grad-CAM + SmoothGrad (25 copies)" */
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s + SmoothGrad (%d copy)",
                                       "%s + SmoothGrad (%d copies)", smooth_samples),
                          gaze_io_report_method_label (method), smooth_samples);
}

gboolean
gaze_io_report_format_from_name (const char *name, GazeIoReportFormat *format)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);

  if (g_str_has_suffix (lower, ".png"))
    *format = GAZE_IO_REPORT_PNG;
  else if (g_str_has_suffix (lower, ".pdf"))
    *format = GAZE_IO_REPORT_PDF;
  else if (g_str_has_suffix (lower, ".svg"))
    *format = GAZE_IO_REPORT_SVG;
  else
    return FALSE;
  return TRUE;
}

gboolean
gaze_io_report_page_from_name (const char *name, GazeIoPage *page)
{
  if (g_ascii_strcasecmp (name, "image") == 0)
    *page = GAZE_IO_PAGE_IMAGE;
  else if (g_ascii_strcasecmp (name, "a4") == 0)
    *page = GAZE_IO_PAGE_A4;
  else if (g_ascii_strcasecmp (name, "letter") == 0)
    *page = GAZE_IO_PAGE_LETTER;
  else
    return FALSE;
  return TRUE;
}

GDateTime *
gaze_io_report_now (void)
{
  const char *epoch = g_getenv ("SOURCE_DATE_EPOCH");

  if (epoch != NULL && *epoch != '\0')
    {
      char *end;
      gint64 t = g_ascii_strtoll (epoch, &end, 10);

      if (*end == '\0' && t >= 0)
        {
          GDateTime *utc = g_date_time_new_from_unix_utc (t);

          if (utc != NULL)
            return utc;
        }
    }
  return g_date_time_new_now_local ();
}

void
gaze_io_report_range_labels (float raw_min, float raw_max, char **low, char **high,
                             gboolean *clipped)
{
  /* gz-explain.c finish_map: ReLU, then (m − min) / (max − min). */
  gboolean below = raw_min < 0;

  if (clipped != NULL)
    *clipped = below;
  if (low != NULL)
    *low = below ? g_strdup ("≤ 0") : g_strdup_printf ("%.3g", raw_min);
  if (high != NULL)
    *high = g_strdup_printf ("%.3g", MAX (raw_max, 0.0f));
}

gboolean
gaze_io_report_has_hatch (const GazeIoReport *report)
{
  const GzGeometry *g = &report->geometry;
  double w = report->image.width, h = report->image.height;

  if (report->projected == NULL || g->input_width <= 0 || g->input_height <= 0)
    return FALSE;
  return !(MAX (0, g->offset_x) <= 0.5 && MAX (0, g->offset_y) <= 0.5
           && MIN (w, g->offset_x + g->input_width * g->scale_x) >= w - 0.5
           && MIN (h, g->offset_y + g->input_height * g->scale_y) >= h - 0.5);
}

static char *
date_text (const GazeIoReport *report)
{
  return report->time != NULL ? g_date_time_format (report->time, "%Y-%m-%d %H:%M:%S %Z")
                              : g_strdup ("");
}

static char *
when_text (const GazeIoReport *report, const char *layer)
{
  g_autofree char *date = date_text (report);

  /* Translators: report caption: layer name, date and time */
  return g_strdup_printf (_ ("Layer %s · %s"), layer, date);
}

static const char *
disclaimer (const GazeIoReport *report)
{
  return report->disclaimer != NULL ? report->disclaimer : _ (gaze_io_report_default_disclaimer ());
}

GStrv
gaze_io_report_caption_lines (const GazeIoReport *report)
{
  GPtrArray *b = g_ptr_array_new ();
  g_autofree char *low = NULL, *high = NULL;
  g_autofree char *method = gaze_io_report_method_text (report->method, report->smooth_samples);
  gboolean clipped;

  /* Translators: report caption, "image — model" */
  g_ptr_array_add (b,
                   g_strdup_printf (_ ("%s — %s"), report->image_name ? report->image_name : "",
                                    report->model_name ? report->model_name : ""));
  /* Translators: report caption: method, class label, probability */
  g_ptr_array_add (b,
                   g_strdup_printf (_ ("%s of “%s” (%.1f %%)"), method,
                                    report->class_label ? report->class_label : "",
                                    report->probability * 100));
  g_ptr_array_add (b, when_text (report, report->layer ? report->layer : ""));
  gaze_io_report_range_labels (report->raw_min, report->raw_max, &low, &high, &clipped);
  if (clipped)
    /* Translators: report caption over the colour bar: its dark end, its bright end;
       the map's negative scores were clipped to 0 */
    g_ptr_array_add (b,
                     g_strdup_printf (_ ("Colour bar (raw score): %s … %s, "
                                         "negative scores shown as 0"),
                                      low, high));
  else
    /* Translators: report caption over the colour bar: its dark end, its bright end */
    g_ptr_array_add (b, g_strdup_printf (_ ("Colour bar (raw score): %s … %s"), low, high));
  if (gaze_io_report_has_hatch (report))
    g_ptr_array_add (b, g_strdup (_ ("Hatched: outside the model’s view")));
  if (*disclaimer (report) != '\0')
    g_ptr_array_add (b, g_strdup (disclaimer (report)));
  g_ptr_array_add (b, NULL);
  return (GStrv) g_ptr_array_free (b, FALSE);
}

char *
gaze_io_report_caption (const GazeIoReport *report)
{
  g_auto (GStrv) lines = gaze_io_report_caption_lines (report);

  return g_strjoinv ("\n", lines);
}

/* ---- Layout ------------------------------------------------------------- */

typedef struct
{
  double unit, pad, gap, body, title, small;
  double text_x, text_w;
  double bar_w, bar_h;
} Metrics;

static void
metrics (double width, Metrics *m)
{
  /* Scales with the picture so that it reads the same at any size, but never
   * below a legible size: the band grows instead. */
  m->unit = width / 1000.0;
  m->body = MAX (GAZE_IO_REPORT_MIN_FONT, 18 * m->unit);
  m->title = MAX (GAZE_IO_REPORT_MIN_FONT * 1.15, 24 * m->unit);
  m->small = MAX (GAZE_IO_REPORT_MIN_FONT, 15 * m->unit);
  m->pad = MAX (6.0, 16 * m->unit);
  m->gap = m->body * 0.35;
  m->text_x = m->pad;
  m->text_w = MAX (1.0, width - 2 * m->pad);
  m->bar_h = m->body;
  m->bar_w = MIN (m->text_w, MAX (8 * m->body, 400 * m->unit));
}

static PangoLayout *
new_layout (cairo_t *cr, const char *text, double size, double width, PangoWeight weight,
            PangoStyle style)
{
  PangoLayout *layout = pango_cairo_create_layout (cr);
  PangoFontDescription *font = pango_font_description_from_string ("Sans");

  pango_font_description_set_absolute_size (font, size * PANGO_SCALE);
  pango_font_description_set_weight (font, weight);
  pango_font_description_set_style (font, style);
  pango_layout_set_font_description (layout, font);
  pango_layout_set_width (layout, (int) (width * PANGO_SCALE));
  pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_NONE);
  pango_layout_set_text (layout, text, -1);
  pango_font_description_free (font);
  return layout;
}

/* "first…last" keeping `keep` characters of `name`. */
static char *
middle_ellipsis (const char *name, glong keep)
{
  glong len = g_utf8_strlen (name, -1);
  glong head = (keep + 1) / 2, tail = keep / 2;
  const char *tail_start = g_utf8_offset_to_pointer (name, len - tail);
  g_autofree char *first = g_utf8_substring (name, 0, head);

  return g_strconcat (first, "…", tail_start, NULL);
}

/* The layer line on one line if shortening the layer name (in the middle, to
 * no fewer than 12 characters) does it; the date is never shortened. */
static PangoLayout *
when_layout (const GazeIoReport *report, cairo_t *cr, const Metrics *m)
{
  const char *layer = report->layer ? report->layer : "";
  glong len = g_utf8_strlen (layer, -1);
  g_autofree char *text = when_text (report, layer);
  PangoLayout *layout
      = new_layout (cr, text, m->body, m->text_w, PANGO_WEIGHT_NORMAL, PANGO_STYLE_NORMAL);

  for (glong keep = len - MAX (1, len / 16); pango_layout_get_line_count (layout) > 1 && keep >= 12;
       keep -= MAX (1, len / 16))
    {
      g_autofree char *shorter = middle_ellipsis (layer, keep);

      g_free (text);
      text = when_text (report, shorter);
      pango_layout_set_text (layout, text, -1);
    }
  return layout;
}

GPtrArray *
gaze_io_report_layout_caption (const GazeIoReport *report, cairo_t *cr, double width,
                               double *height)
{
  GPtrArray *layouts = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto (GStrv) lines = gaze_io_report_caption_lines (report);
  gboolean hatch = gaze_io_report_has_hatch (report);
  Metrics m;
  double h;

  metrics (width, &m);
  h = m.pad;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      PangoLayout *layout;
      int lh;

      if (i == LINE_TITLE)
        layout
            = new_layout (cr, lines[i], m.title, m.text_w, PANGO_WEIGHT_BOLD, PANGO_STYLE_NORMAL);
      else if (i == LINE_WHEN)
        layout = when_layout (report, cr, &m);
      else if (i == LINE_WHAT)
        layout
            = new_layout (cr, lines[i], m.body, m.text_w, PANGO_WEIGHT_NORMAL, PANGO_STYLE_NORMAL);
      else if (i == LINE_BAR + 1 && hatch)
        /* Beside a hatched swatch as high as the text. */
        layout = new_layout (cr, lines[i], m.small, MAX (1.0, m.text_w - 2 * m.body),
                             PANGO_WEIGHT_NORMAL, PANGO_STYLE_NORMAL);
      else if (i > LINE_BAR)
        layout
            = new_layout (cr, lines[i], m.small, m.text_w, PANGO_WEIGHT_NORMAL, PANGO_STYLE_ITALIC);
      else
        layout
            = new_layout (cr, lines[i], m.small, m.text_w, PANGO_WEIGHT_NORMAL, PANGO_STYLE_NORMAL);
      g_ptr_array_add (layouts, layout);
      pango_layout_get_pixel_size (layout, NULL, &lh);
      h += lh + m.gap;
      if (i == LINE_BAR)
        /* The bar and the labels at its ends. */
        h += m.bar_h + m.gap + m.small * 1.3 + m.gap;
    }
  if (height != NULL)
    *height = ceil (h + m.pad - m.gap);
  return layouts;
}

/* ---- Drawing ------------------------------------------------------------ */

void
gaze_io_report_draw_colorbar (cairo_t *cr, GzColormap colormap, double x, double y, double width,
                              double height)
{
  cairo_pattern_t *gradient = cairo_pattern_create_linear (x, 0, x + width, 0);

  for (int i = 0; i <= 32; i++)
    {
      guint8 rgb[3];

      gz_colormap_lookup (colormap, i / 32.0f, rgb);
      cairo_pattern_add_color_stop_rgb (gradient, i / 32.0, rgb[0] / 255.0, rgb[1] / 255.0,
                                        rgb[2] / 255.0);
    }
  cairo_save (cr);
  cairo_rectangle (cr, x, y, width, height);
  cairo_set_source (cr, gradient);
  cairo_fill_preserve (cr);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.4);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);
  cairo_restore (cr);
  cairo_pattern_destroy (gradient);
}

/* The image with the map painted over it, `width` pixels wide (at most the
 * image's own width). */
static cairo_surface_t *
picture_surface (const GazeIoReport *report, int width)
{
  const GzImage *gz = &report->image;
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, gz->width, gz->height);
  guint8 *data;
  int stride;

  cairo_surface_flush (surface);
  data = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  for (int y = 0; y < gz->height; y++)
    {
      const guint8 *s = gz->pixels + (gsize) y * gz->stride;
      guint32 *d = (guint32 *) (gpointer) (data + (gsize) y * stride);

      for (int x = 0; x < gz->width; x++, s += 3)
        d[x] = 0xff000000u | ((guint32) s[0] << 16) | ((guint32) s[1] << 8) | s[2];
    }

  if (report->projected != NULL && report->projected->dims[0] == gz->height
      && report->projected->dims[1] == gz->width)
    {
      const float *m = gz_tensor_f (report->projected);
      guint8 lut[256][3];
      double a = CLAMP (report->opacity, 0, 1);

      for (int i = 0; i < 256; i++)
        gz_colormap_lookup (report->colormap, i / 255.0f, lut[i]);
      for (int y = 0; y < gz->height; y++)
        {
          guint8 *row = data + (gsize) y * stride;

          for (int x = 0; x < gz->width; x++)
            {
              float v = m[(gsize) y * gz->width + x];
              guint32 *d = (guint32 *) (gpointer) (row + (gsize) x * 4);
              const guint8 *c;
              guint32 r, g, b;

              if (isnan (v) || v < report->threshold)
                continue;
              c = lut[(int) lrintf (CLAMP (v, 0.0f, 1.0f) * 255)];
              r = (guint32) lround ((1 - a) * ((*d >> 16) & 0xff) + a * c[0]);
              g = (guint32) lround ((1 - a) * ((*d >> 8) & 0xff) + a * c[1]);
              b = (guint32) lround ((1 - a) * (*d & 0xff) + a * c[2]);
              *d = 0xff000000u | (r << 16) | (g << 8) | b;
            }
        }
    }
  cairo_surface_mark_dirty (surface);

  if (width < gz->width && width > 0)
    {
      int height = MAX (1, (int) lround ((double) gz->height * width / gz->width));
      cairo_surface_t *small = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
      cairo_t *cr = cairo_create (small);

      cairo_scale (cr, (double) width / gz->width, (double) height / gz->height);
      cairo_set_source_surface (cr, surface, 0, 0);
      cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_GOOD);
      cairo_paint (cr);
      cairo_destroy (cr);
      cairo_surface_destroy (surface);
      surface = small;
    }
  return surface;
}

/* Darkens and hatches the parts of the image (in image pixels) that the
 * model never saw. */
static void
draw_hatch (const GazeIoReport *report, cairo_t *cr, double line_width, double spacing)
{
  const GzGeometry *g = &report->geometry;
  double w = report->image.width, h = report->image.height;
  double x0 = MAX (0, g->offset_x), y0 = MAX (0, g->offset_y);
  double x1 = MIN (w, g->offset_x + g->input_width * g->scale_x);
  double y1 = MIN (h, g->offset_y + g->input_height * g->scale_y);

  cairo_save (cr);
  cairo_set_fill_rule (cr, CAIRO_FILL_RULE_EVEN_ODD);
  cairo_rectangle (cr, 0, 0, w, h);
  cairo_rectangle (cr, x0, y0, x1 - x0, y1 - y0);
  cairo_clip_preserve (cr);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.45);
  cairo_fill (cr);
  cairo_set_source_rgba (cr, 1, 1, 1, 0.35);
  cairo_set_line_width (cr, line_width);
  for (double d = -h; d < w; d += spacing)
    {
      cairo_move_to (cr, d, h);
      cairo_line_to (cr, d + h, 0);
    }
  cairo_stroke (cr);
  cairo_restore (cr);
}

/* The legend's sample of the hatching: a size × size square. */
static void
draw_hatch_swatch (cairo_t *cr, double x, double y, double size)
{
  cairo_save (cr);
  cairo_rectangle (cr, x, y, size, size);
  cairo_clip_preserve (cr);
  cairo_set_source_rgb (cr, 0.45, 0.45, 0.47);
  cairo_fill_preserve (cr);
  cairo_set_source_rgba (cr, 1, 1, 1, 0.6);
  cairo_set_line_width (cr, MAX (1.0, size / 10));
  for (double d = -size; d < size; d += size / 3)
    {
      cairo_move_to (cr, x + d, y + size);
      cairo_line_to (cr, x + d + size, y);
    }
  cairo_stroke (cr);
  cairo_restore (cr);
  cairo_rectangle (cr, x + 0.5, y + 0.5, size - 1, size - 1);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.4);
  cairo_set_line_width (cr, 1);
  cairo_stroke (cr);
}

static void
show_layout (cairo_t *cr, PangoLayout *layout, double x, double y)
{
  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, layout);
}

/* The picture, with the image drawn from a raster `raster_w` pixels wide. */
static void
draw_report (const GazeIoReport *report, cairo_t *cr, double width, int raster_w, double *height)
{
  double scale = width / report->image.width;
  double image_h = report->image.height * scale;
  double band_h, y;
  g_autoptr (GPtrArray) layouts = NULL;
  g_autofree char *low = NULL, *high = NULL;
  gboolean hatch = gaze_io_report_has_hatch (report);
  Metrics m;
  cairo_surface_t *surface;

  metrics (width, &m);
  layouts = gaze_io_report_layout_caption (report, cr, width, &band_h);
  if (height != NULL)
    *height = image_h + band_h;

  surface = picture_surface (report, raster_w);
  cairo_save (cr);
  cairo_scale (cr, width / cairo_image_surface_get_width (surface),
               image_h / cairo_image_surface_get_height (surface));
  cairo_set_source_surface (cr, surface, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_GOOD);
  cairo_paint (cr);
  cairo_restore (cr);
  cairo_surface_destroy (surface);
  if (hatch)
    {
      cairo_save (cr);
      cairo_scale (cr, scale, scale);
      draw_hatch (report, cr, 1.5 * m.unit / scale, 12 * m.unit / scale);
      cairo_restore (cr);
    }
  if (report->mm_per_pixel > 0)
    {
      /* At most a quarter of the width, in the bottom left corner. */
      GazeIoScaleBar bar;
      double unit = MAX (1.0, width / 600.0);

      if (gaze_io_scale_bar_choose (report->mm_per_pixel / scale, width / 4, &bar))
        gaze_io_scale_bar_draw (cr, &bar, m.pad, image_h - m.pad, unit);
    }

  /* The band. */
  cairo_rectangle (cr, 0, image_h, width, band_h);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_fill (cr);

  y = image_h + m.pad;
  for (guint i = 0; i < layouts->len; i++)
    {
      PangoLayout *layout = layouts->pdata[i];
      double x = m.text_x;
      int lh;

      pango_layout_get_pixel_size (layout, NULL, &lh);
      if (i <= LINE_WHAT || i == LINE_BAR)
        cairo_set_source_rgb (cr, 0.1, 0.1, 0.12);
      else
        cairo_set_source_rgb (cr, 0.3, 0.3, 0.35);
      if (i == LINE_BAR + 1 && hatch)
        {
          draw_hatch_swatch (cr, m.text_x, y + MAX (0, (lh - m.small) / 2), m.small);
          x += 2 * m.body;
          cairo_set_source_rgb (cr, 0.3, 0.3, 0.35);
        }
      show_layout (cr, layout, x, y);
      y += lh + m.gap;
      if (i == LINE_BAR)
        {
          PangoLayout *end;
          int ew;

          gaze_io_report_draw_colorbar (cr, report->colormap, m.text_x, y, m.bar_w, m.bar_h);
          y += m.bar_h + m.gap;
          gaze_io_report_range_labels (report->raw_min, report->raw_max, &low, &high, NULL);
          cairo_set_source_rgb (cr, 0.1, 0.1, 0.12);
          end = new_layout (cr, low, m.small, -1, PANGO_WEIGHT_NORMAL, PANGO_STYLE_NORMAL);
          pango_layout_set_width (end, -1);
          show_layout (cr, end, m.text_x, y);
          g_object_unref (end);
          end = new_layout (cr, high, m.small, -1, PANGO_WEIGHT_NORMAL, PANGO_STYLE_NORMAL);
          pango_layout_set_width (end, -1);
          pango_layout_get_pixel_size (end, &ew, NULL);
          show_layout (cr, end, m.text_x + m.bar_w - ew, y);
          g_object_unref (end);
          y += m.small * 1.3 + m.gap;
        }
    }
}

void
gaze_io_report_draw (const GazeIoReport *report, cairo_t *cr, double width, double *height)
{
  draw_report (report, cr, width, report->image.width, height);
}

/* A scratch context for measuring text before a surface exists. */
static double
band_height_for (const GazeIoReport *report, double width)
{
  cairo_surface_t *scratch = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 1, 1);
  cairo_t *cr = cairo_create (scratch);
  GPtrArray *layouts;
  double h;

  layouts = gaze_io_report_layout_caption (report, cr, width, &h);
  g_ptr_array_unref (layouts);
  cairo_destroy (cr);
  cairo_surface_destroy (scratch);
  return h;
}

void
gaze_io_report_get_size (const GazeIoReport *report, int *width, int *height)
{
  *width = report->image.width;
  *height = report->image.height + (int) ceil (band_height_for (report, report->image.width));
}

/* ---- Writing ------------------------------------------------------------ */

static gboolean
write_png (const GazeIoReport *report, const char *path, GError **error)
{
  int w, h;
  cairo_surface_t *surface;
  cairo_t *cr;
  g_autoptr (GdkPixbuf) pixbuf = NULL;
  g_autofree char *caption = gaze_io_report_caption (report);
  cairo_status_t status;

  gaze_io_report_get_size (report, &w, &h);
  surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  cr = cairo_create (surface);
  gaze_io_report_draw (report, cr, w, NULL);
  status = cairo_status (cr);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      cairo_surface_destroy (surface);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", cairo_status_to_string (status));
      return FALSE;
    }
  /* Through GdkPixbuf for the caption in a text chunk. */
  pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, w, h);
  {
    const guint8 *src = cairo_image_surface_get_data (surface);
    int ss = cairo_image_surface_get_stride (surface);
    guint8 *dst = gdk_pixbuf_get_pixels (pixbuf);
    int ds = gdk_pixbuf_get_rowstride (pixbuf);

    for (int y = 0; y < h; y++)
      {
        const guint32 *s = (const guint32 *) (gconstpointer) (src + (gsize) y * ss);
        guint8 *d = dst + (gsize) y * ds;

        for (int x = 0; x < w; x++, d += 3)
          {
            d[0] = (s[x] >> 16) & 0xff;
            d[1] = (s[x] >> 8) & 0xff;
            d[2] = s[x] & 0xff;
          }
      }
  }
  cairo_surface_destroy (surface);
  return gdk_pixbuf_save (pixbuf, path, "png", error, "tEXt::Description", caption,
                          "tEXt::Software", "Gaze " PACKAGE_VERSION, NULL);
}

static void
page_size (GazeIoPage page, double *w, double *h)
{
  if (page == GAZE_IO_PAGE_LETTER)
    *w = 612, *h = 792;
  else
    *w = 595.276, *h = 841.89;
}

static gboolean
write_vector (const GazeIoReport *report, const char *path, GazeIoReportFormat format,
              GError **error)
{
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;
  double dpi = report->dpi > 0 ? report->dpi : 150;
  double width, height, page_w, page_h, margin = 0;
  int raster_w = report->image.width;

  if (format == GAZE_IO_REPORT_SVG)
    {
      /* One unit per image pixel, as the PNG. */
      width = report->image.width;
      height = report->image.height + ceil (band_height_for (report, width));
      page_w = width, page_h = height;
    }
  else if (report->page == GAZE_IO_PAGE_IMAGE)
    {
      width = report->image.width * 72.0 / dpi;
      height = report->image.height * 72.0 / dpi + band_height_for (report, width);
      page_w = width, page_h = ceil (height);
    }
  else
    {
      /* Fitted into the page inside 0.5 inch margins; the band's height
       * depends on the width, so fit twice. */
      page_size (report->page, &page_w, &page_h);
      margin = 36;
      width = page_w - 2 * margin;
      for (int i = 0; i < 3; i++)
        {
          double total = report->image.height * width / report->image.width
              + band_height_for (report, width);
          if (total <= page_h - 2 * margin)
            break;
          width *= (page_h - 2 * margin) / total;
        }
      /* The image's pixels at no more than dpi. */
      raster_w = MIN (report->image.width, MAX (1, (int) ceil (width / 72.0 * dpi)));
    }

  if (format == GAZE_IO_REPORT_SVG)
    {
      surface = cairo_svg_surface_create (path, page_w, page_h);
      cairo_svg_surface_set_document_unit (surface, CAIRO_SVG_UNIT_PX);
    }
  else
    {
      g_autofree char *title
          = g_strdup_printf ("%s — %s", report->image_name ? report->image_name : "",
                             report->model_name ? report->model_name : "");
      g_autofree char *caption = gaze_io_report_caption (report);

      surface = cairo_pdf_surface_create (path, page_w, page_h);
      cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE, title);
      cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_SUBJECT, caption);
      cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR, "Gaze " PACKAGE_VERSION);
    }
  cr = cairo_create (surface);
  cairo_translate (cr, margin, margin);
  draw_report (report, cr, width, raster_w, NULL);
  status = cairo_status (cr);
  cairo_destroy (cr);
  cairo_surface_finish (surface);
  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", cairo_status_to_string (status));
      return FALSE;
    }
  return TRUE;
}

typedef struct
{
  const GazeIoReport *report;
  GazeIoReportFormat format;
} WriteJob;

static gboolean
write_report (const char *tmp, gpointer data, GError **error)
{
  const WriteJob *job = data;

  if (job->format == GAZE_IO_REPORT_PNG)
    return write_png (job->report, tmp, error);
  return write_vector (job->report, tmp, job->format, error);
}

gboolean
gaze_io_report_write (const GazeIoReport *report, const char *path, GazeIoReportFormat format,
                      const char *input_path, GError **error)
{
  WriteJob job = { report, format };

  g_return_val_if_fail (report != NULL && path != NULL, FALSE);
  return gaze_io_write_atomically (path, input_path, write_report, &job, error);
}
