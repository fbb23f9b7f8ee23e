/* gaze-export.c — the annotated image at full resolution: PNG, PDF, SVG, clipboard
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-export"

#include "config.h"

#include <glib/gi18n.h>

#include "gaze-export.h"
#include "gaze-io-atomic.h"
#include "gaze-io-report.h"
#include "gaze-task.h"

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
  g_clear_pointer (&export->map, gz_tensor_free);
  g_clear_pointer (&export->raw, gz_tensor_free);
  g_clear_pointer (&export->image_name, g_free);
  g_clear_pointer (&export->model_name, g_free);
  g_clear_pointer (&export->class_label, g_free);
  g_clear_pointer (&export->layer, g_free);
  g_clear_pointer (&export->time, g_date_time_unref);
  g_clear_pointer (&export->disclaimer, g_free);
  g_free (export);
}

gboolean
gaze_export_format_from_name (const char *name, GazeExportFormat *format)
{
  GazeIoReportFormat f;

  if (name != NULL && g_str_has_suffix (name, ".npy"))
    {
      *format = GAZE_EXPORT_NPY_MAP;
      return TRUE;
    }
  if (!gaze_io_report_format_from_name (name, &f))
    return FALSE;
  *format = (GazeExportFormat) f;
  return TRUE;
}

/* The borrowed view of the export that the shared renderer draws. */
static void
to_report (const GazeExport *export, GazeIoReport *report)
{
  gaze_io_report_init (report);
  gaze_image_get_gz_image (export->image, &report->image);
  report->projected = export->projected;
  report->geometry = export->geometry;
  report->colormap = export->colormap;
  report->opacity = export->opacity;
  report->threshold = export->threshold;
  report->image_name = export->image_name;
  report->model_name = export->model_name;
  report->class_label = export->class_label;
  report->probability = export->probability;
  report->method = export->method;
  report->smooth_samples = export->smooth_samples;
  report->layer = export->layer;
  report->raw_min = export->raw_min;
  report->raw_max = export->raw_max;
  report->mm_per_pixel = gaze_image_get_mm_per_pixel (export->image);
  report->time = export->time;
  report->disclaimer = export->disclaimer;
  report->page = export->page;
  if (export->dpi > 0)
    report->dpi = export->dpi;
}

void
gaze_export_get_size (const GazeExport *export, int *width, int *height)
{
  GazeIoReport report;

  to_report (export, &report);
  gaze_io_report_get_size (&report, width, height);
}

void
gaze_export_draw_colorbar (cairo_t *cr, GzColormap colormap, double x, double y, double width,
                           double height)
{
  gaze_io_report_draw_colorbar (cr, colormap, x, y, width, height);
}

void
gaze_export_draw (const GazeExport *export, cairo_t *cr)
{
  GazeIoReport report;

  g_return_if_fail (export != NULL && export->image != NULL);

  to_report (export, &report);
  gaze_io_report_draw (&report, cr, report.image.width, NULL);
}

char *
gaze_export_get_caption (const GazeExport *export)
{
  GazeIoReport report;

  to_report (export, &report);
  return gaze_io_report_caption (&report);
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
write_npy (const char *tmp, gpointer data, GError **error)
{
  GzError err = { 0 };

  if (gz_npy_write (tmp, data, &err) == GZ_OK)
    return TRUE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, err.message);
  return FALSE;
}

gboolean
gaze_export_write (const GazeExport *export, GFile *file, GazeExportFormat format, GError **error)
{
  g_autofree char *path = g_file_get_path (file);
  GFile *input;
  GazeIoReport report;

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
  {
    g_autofree char *input_path = input != NULL ? g_file_get_path (input) : NULL;

    if (format == GAZE_EXPORT_NPY_MAP || format == GAZE_EXPORT_NPY_RAW)
      {
        GzTensor *t = format == GAZE_EXPORT_NPY_MAP ? export->map : export->raw;
        if (t == NULL)
          {
            g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _ ("There is no map"));
            return FALSE;
          }
        return gaze_io_write_atomically (path, input_path, write_npy, t, error);
      }
    to_report (export, &report);
    return gaze_io_report_write (&report, path, (GazeIoReportFormat) format, input_path, error);
  }
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
  gboolean written = gaze_export_write (data->export, data->file, data->format, &error);

  /* After the write: the main loop frees data->export once the task returns. */
  gaze_task_end (task);
  if (written)
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
