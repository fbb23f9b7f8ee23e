/* gaze-export.c — the annotated image at full resolution: PNG, PDF, SVG, clipboard
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-export"

#include "config.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <unistd.h>

#include "gaze-export.h"
#include "gaze-task.h"
#include "gaze-model.h"
#include "gaze-settings.h"

GazeExport *
gaze_export_new (void)
{
  GazeExport *export = g_new0 (GazeExport, 1);

  export->opacity = 0.5;
  return export;
}

void
gaze_export_free (GazeExport *export)
{
  if (export == NULL)
    return;
  g_clear_pointer (&export->image, gaze_image_unref);
  g_clear_pointer (&export->projected, gz_tensor_free);
  g_clear_pointer (&export->image_name, g_free);
  g_clear_pointer (&export->model_name, g_free);
  g_clear_pointer (&export->class_label, g_free);
  g_clear_pointer (&export->layer, g_free);
  g_clear_pointer (&export->time, g_date_time_unref);
  g_free (export);
}

gboolean
gaze_export_format_from_name (const char *name, GazeExportFormat *format)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);

  if (g_str_has_suffix (lower, ".png"))
    *format = GAZE_EXPORT_PNG;
  else if (g_str_has_suffix (lower, ".pdf"))
    *format = GAZE_EXPORT_PDF;
  else if (g_str_has_suffix (lower, ".svg"))
    *format = GAZE_EXPORT_SVG;
  else
    return FALSE;
  return TRUE;
}

/* The caption scales with the image so that it reads the same at any size. */
static double
caption_unit (const GazeExport *export)
{
  return MAX (0.5, gaze_image_get_width (export->image) / 1000.0);
}

void
gaze_export_get_size (const GazeExport *export, int *width, int *height)
{
  *width = gaze_image_get_width (export->image);
  *height = gaze_image_get_height (export->image) + (int) ceil (150 * caption_unit (export));
}

void
gaze_export_draw_colorbar (cairo_t *cr, GzColormap colormap, double x, double y, double width,
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

/* Image pixels as a cairo surface (RGB24 is xRGB in native words). */
static cairo_surface_t *
image_surface (GazeImage *image)
{
  GzImage gz;
  cairo_surface_t *surface;
  guint8 *data;
  int stride;

  gaze_image_get_gz_image (image, &gz);
  surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, gz.width, gz.height);
  cairo_surface_flush (surface);
  data = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  for (int y = 0; y < gz.height; y++)
    {
      const guint8 *s = gz.pixels + (gsize) y * gz.stride;
      guint32 *d = (guint32 *) (gpointer) (data + (gsize) y * stride);

      for (int x = 0; x < gz.width; x++, s += 3)
        d[x] = 0xff000000u | ((guint32) s[0] << 16) | ((guint32) s[1] << 8) | s[2];
    }
  cairo_surface_mark_dirty (surface);
  return surface;
}

/* The coloured map with the opacity in its alpha (premultiplied ARGB32). */
static cairo_surface_t *
overlay_surface (const GazeExport *export)
{
  int h = (int) export->projected->dims[0];
  int w = (int) export->projected->dims[1];
  const float *m = gz_tensor_f (export->projected);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  guint8 lut[256][3];
  guint8 *data;
  int stride;
  guint a = (guint) lround (CLAMP (export->opacity, 0, 1) * 255);

  for (int i = 0; i < 256; i++)
    gz_colormap_lookup (export->colormap, i / 255.0f, lut[i]);
  cairo_surface_flush (surface);
  data = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  for (int y = 0; y < h; y++)
    {
      guint32 *d = (guint32 *) (gpointer) (data + (gsize) y * stride);

      for (int x = 0; x < w; x++)
        {
          float v = m[(gsize) y * w + x];
          const guint8 *c;

          if (isnan (v) || v < export->threshold)
            {
              d[x] = 0;
              continue;
            }
          c = lut[(int) lrintf (CLAMP (v, 0.0f, 1.0f) * 255)];
          d[x] = (a << 24) | ((c[0] * a / 255) << 16) | ((c[1] * a / 255) << 8) | (c[2] * a / 255);
        }
    }
  cairo_surface_mark_dirty (surface);
  return surface;
}

static void
draw_hatch (const GazeExport *export, cairo_t *cr, double unit)
{
  double w = gaze_image_get_width (export->image);
  double h = gaze_image_get_height (export->image);
  double x0 = MAX (0, export->geometry.offset_x);
  double y0 = MAX (0, export->geometry.offset_y);
  double x1 = MIN (
      w, export->geometry.offset_x + export->geometry.input_width * export->geometry.scale_x);
  double y1 = MIN (
      h, export->geometry.offset_y + export->geometry.input_height * export->geometry.scale_y);

  if (x0 <= 0.5 && y0 <= 0.5 && x1 >= w - 0.5 && y1 >= h - 0.5)
    return;

  cairo_save (cr);
  cairo_set_fill_rule (cr, CAIRO_FILL_RULE_EVEN_ODD);
  cairo_rectangle (cr, 0, 0, w, h);
  cairo_rectangle (cr, x0, y0, x1 - x0, y1 - y0);
  cairo_clip_preserve (cr);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.45);
  cairo_fill (cr);
  cairo_set_source_rgba (cr, 1, 1, 1, 0.35);
  cairo_set_line_width (cr, 1.5 * unit);
  for (double d = -h; d < w; d += 12 * unit)
    {
      cairo_move_to (cr, d, h);
      cairo_line_to (cr, d + h, 0);
    }
  cairo_stroke (cr);
  cairo_restore (cr);
}

static void
draw_text (cairo_t *cr, const char *text, double x, double y, double max_width, double size,
           gboolean bold, gboolean right)
{
  PangoLayout *layout = pango_cairo_create_layout (cr);
  PangoFontDescription *font = pango_font_description_from_string ("Sans");
  int tw, th;

  pango_font_description_set_absolute_size (font, size * PANGO_SCALE);
  if (bold)
    pango_font_description_set_weight (font, PANGO_WEIGHT_BOLD);
  pango_layout_set_font_description (layout, font);
  pango_layout_set_text (layout, text, -1);
  pango_layout_set_width (layout, (int) (max_width * PANGO_SCALE));
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  pango_layout_get_pixel_size (layout, &tw, &th);
  cairo_move_to (cr, right ? x - tw : x, y);
  pango_cairo_show_layout (cr, layout);
  pango_font_description_free (font);
  g_object_unref (layout);
}

void
gaze_export_draw (const GazeExport *export, cairo_t *cr)
{
  cairo_surface_t *surface;
  int w, h, total_h;
  double u = caption_unit (export);
  double pad = 16 * u, bar_w, text_w;
  g_autofree char *title = NULL;
  g_autofree char *what = NULL;
  g_autofree char *when = NULL;
  g_autofree char *min = NULL;
  g_autofree char *max = NULL;

  g_return_if_fail (export != NULL && export->image != NULL);

  w = gaze_image_get_width (export->image);
  h = gaze_image_get_height (export->image);
  gaze_export_get_size (export, &w, &total_h);

  surface = image_surface (export->image);
  cairo_set_source_surface (cr, surface, 0, 0);
  cairo_paint (cr);
  cairo_surface_destroy (surface);

  if (export->projected != NULL)
    {
      surface = overlay_surface (export);
      cairo_set_source_surface (cr, surface, 0, 0);
      cairo_paint (cr);
      cairo_surface_destroy (surface);
      draw_hatch (export, cr, u);
    }

  /* The caption band. */
  cairo_rectangle (cr, 0, h, w, total_h - h);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_fill (cr);
  cairo_set_source_rgb (cr, 0.1, 0.1, 0.12);

  bar_w = MIN (260 * u, w * 0.3);
  text_w = w - bar_w - 3 * pad;
  /* Translators: export caption, "image — model" */
  title = g_strdup_printf (_ ("%s — %s"), export->image_name ? export->image_name : "",
                           export->model_name ? export->model_name : "");
  /* Translators: export caption: method, class label, probability */
  what
      = g_strdup_printf (_ ("%s of “%s” (%.1f %%)"), gaze_settings_method_label (export->method),
                         export->class_label ? export->class_label : "", export->probability * 100);
  {
    g_autofree char *date = export->time != NULL
        ? g_date_time_format (export->time, "%Y-%m-%d %H:%M:%S %Z")
        : g_strdup ("");
    /* Translators: export caption: layer name, date and time */
    when = g_strdup_printf (_ ("Layer %s · %s"), export->layer ? export->layer : "", date);
  }

  draw_text (cr, title, pad, h + pad, text_w, 26 * u, TRUE, FALSE);
  draw_text (cr, what, pad, h + pad + 40 * u, text_w, 20 * u, FALSE, FALSE);
  cairo_set_source_rgb (cr, 0.35, 0.35, 0.4);
  draw_text (cr, when, pad, h + pad + 74 * u, text_w, 18 * u, FALSE, FALSE);

  /* Colour bar with the raw score range it stands for. */
  gaze_export_draw_colorbar (cr, export->colormap, w - pad - bar_w, h + pad + 8 * u, bar_w, 28 * u);
  min = g_strdup_printf ("%.3g", export->raw_min);
  max = g_strdup_printf ("%.3g", export->raw_max);
  cairo_set_source_rgb (cr, 0.1, 0.1, 0.12);
  draw_text (cr, min, w - pad - bar_w, h + pad + 42 * u, bar_w / 2, 18 * u, FALSE, FALSE);
  draw_text (cr, max, w - pad, h + pad + 42 * u, bar_w / 2, 18 * u, FALSE, TRUE);
  cairo_set_source_rgb (cr, 0.35, 0.35, 0.4);
  draw_text (cr, _ ("raw score"), w - pad - bar_w, h + pad + 70 * u, bar_w, 16 * u, FALSE, FALSE);
}

GdkTexture *
gaze_export_to_texture (const GazeExport *export)
{
  cairo_surface_t *surface;
  cairo_t *cr;
  GBytes *bytes;
  GdkTexture *texture;
  int w, h;

  gaze_export_get_size (export, &w, &h);
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  cr = cairo_create (surface);
  gaze_export_draw (export, cr);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  bytes = g_bytes_new (cairo_image_surface_get_data (surface),
                       (gsize) cairo_image_surface_get_stride (surface) * h);
  texture = gdk_memory_texture_new (w, h, GDK_MEMORY_DEFAULT, bytes,
                                    cairo_image_surface_get_stride (surface));
  g_bytes_unref (bytes);
  cairo_surface_destroy (surface);
  return texture;
}

static gboolean
write_to_path (const GazeExport *export, const char *path, GazeExportFormat format, GError **error)
{
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;
  int w, h;

  gaze_export_get_size (export, &w, &h);
  switch (format)
    {
      case GAZE_EXPORT_PNG:
        surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
        break;
      case GAZE_EXPORT_PDF:
        surface = cairo_pdf_surface_create (path, w, h);
        {
          g_autofree char *title
              = g_strdup_printf ("%s — %s", export->image_name ? export->image_name : "",
                                 export->model_name ? export->model_name : "");
          g_autofree char *subject = g_strdup_printf (
              "%s: %s (%.1f %%)", gaze_settings_method_label (export->method),
              export->class_label ? export->class_label : "", export->probability * 100);
          cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_TITLE, title);
          cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_SUBJECT, subject);
          cairo_pdf_surface_set_metadata (surface, CAIRO_PDF_METADATA_CREATOR,
                                          "Gaze " PACKAGE_VERSION);
        }
        break;
      case GAZE_EXPORT_SVG:
        surface = cairo_svg_surface_create (path, w, h);
        /* One unit per image pixel, as the PNG. */
        cairo_svg_surface_set_document_unit (surface, CAIRO_SVG_UNIT_PX);
        break;
      default:
        g_assert_not_reached ();
    }

  cr = cairo_create (surface);
  gaze_export_draw (export, cr);
  status = cairo_status (cr);
  cairo_destroy (cr);
  if (status == CAIRO_STATUS_SUCCESS && format == GAZE_EXPORT_PNG)
    status = cairo_surface_write_to_png (surface, path);
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

gboolean
gaze_export_write (const GazeExport *export, GFile *file, GazeExportFormat format, GError **error)
{
  g_autofree char *path = g_file_get_path (file);
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *tmp = NULL;
  GFile *input;
  int fd;

  g_return_val_if_fail (export != NULL && G_IS_FILE (file), FALSE);

  if (path == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           _ ("Export needs a local file"));
      return FALSE;
    }
  input = gaze_image_get_file (export->image);
  if (input != NULL && g_file_equal (input, file))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                           _ ("The export would replace the analysed image itself"));
      return FALSE;
    }

  /* Write beside the target, then rename: a reader never sees half a file. */
  dir = g_path_get_dirname (path);
  base = g_path_get_basename (path);
  tmp = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  fd = g_mkstemp (tmp);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _ ("Cannot write to “%s”: %s"),
                   dir, g_strerror (saved));
      return FALSE;
    }
  close (fd);

  if (!write_to_path (export, tmp, format, error))
    {
      g_unlink (tmp);
      return FALSE;
    }
  if (g_rename (tmp, path) != 0)
    {
      int saved = errno;
      g_unlink (tmp);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _ ("Cannot write “%s”: %s"),
                   base, g_strerror (saved));
      return FALSE;
    }
  /* mkstemp made it private; an export is an ordinary document. */
  g_chmod (path, 0644);
  return TRUE;
}

typedef struct
{
  GazeExport *export;
  GFile *file;
  GazeExportFormat format;
} WriteData;

static void
write_data_free (WriteData *data)
{
  gaze_export_free (data->export);
  g_object_unref (data->file);
  g_free (data);
}

static void
write_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  gaze_task_begin (task);
  WriteData *data = task_data;
  GError *error = NULL;

  gaze_task_end (task);
  if (gaze_export_write (data->export, data->file, data->format, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
gaze_export_write_async (GazeExport *export, GFile *file, GazeExportFormat format,
                         GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  WriteData *data;

  g_return_if_fail (export != NULL && G_IS_FILE (file));

  data = g_new0 (WriteData, 1);
  data->export = export;
  data->file = g_object_ref (file);
  data->format = format;
  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, gaze_export_write_async);
  g_task_set_task_data (task, data, (GDestroyNotify) write_data_free);
  gaze_task_run_in_thread (task, write_thread);
}

gboolean
gaze_export_write_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);

  gaze_task_finish (result);
  return g_task_propagate_boolean (G_TASK (result), error);
}
