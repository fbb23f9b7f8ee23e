/* gaze-gray-frame.c — a grayscale DICOM or 16-bit frame kept as values, for re-windowing
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-gray-frame"

#include "config.h"

#include <string.h>

#include "gaze-gray-frame.h"
#include "gaze-limits-settings.h"
#include "gaze-io-gray16.h"
#include "gaze-task.h"

struct _GazeGrayFrame
{
  gatomicrefcount ref_count;
  char *path;
  GazeIoDicom *dicom;
};

G_DEFINE_BOXED_TYPE (GazeGrayFrame, gaze_gray_frame, gaze_gray_frame_ref, gaze_gray_frame_unref)

GazeGrayFrame *
gaze_gray_frame_ref (GazeGrayFrame *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
gaze_gray_frame_unref (GazeGrayFrame *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    {
      g_free (self->path);
      gaze_io_dicom_free (self->dicom);
      g_free (self);
    }
}

gboolean
gaze_gray_frame_is_candidate (const char *path)
{
  g_return_val_if_fail (path != NULL, FALSE);

  return gaze_io_image_is_dicom (path) || gaze_io_gray16_is_file (path);
}

GazeGrayFrame *
gaze_gray_frame_load (const char *path, int frame, GError **error)
{
  GazeIoDicom *dicom;
  GazeGrayFrame *self;

  g_return_val_if_fail (path != NULL, NULL);

  GzLimits limits;
  gaze_limits_settings_get (&limits); /* issue 15: Preferences › Limits */
  if (gaze_io_image_is_dicom (path))
    dicom = gaze_io_dicom_load (path, frame, limits.max_image_pixels, error);
  else
    dicom = gaze_io_gray16_load (path, limits.max_image_pixels, error);
  if (dicom == NULL)
    return NULL;

  self = g_new0 (GazeGrayFrame, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->path = g_strdup (path);
  self->dicom = dicom;
  return self;
}

typedef struct
{
  char *path;
  int frame;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_free (data->path);
  g_free (data);
}

static void
load_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  gaze_task_begin (task);
  LoadData *data = task_data;
  GError *error = NULL;
  GazeGrayFrame *frame = gaze_gray_frame_load (data->path, data->frame, &error);

  gaze_task_end (task);
  if (frame == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, frame, (GDestroyNotify) gaze_gray_frame_unref);
}

void
gaze_gray_frame_load_async (const char *path, int frame, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  LoadData *data;

  g_return_if_fail (path != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, gaze_gray_frame_load_async);
  data = g_new0 (LoadData, 1);
  data->path = g_strdup (path);
  data->frame = frame;
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  g_task_set_return_on_cancel (task, TRUE);
  gaze_task_run_in_thread (task, load_thread);
}

GazeGrayFrame *
gaze_gray_frame_load_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gaze_gray_frame_load_async,
                        NULL);

  gaze_task_finish (result);
  return g_task_propagate_pointer (G_TASK (result), error);
}

const GazeIoDicom *
gaze_gray_frame_get_dicom (GazeGrayFrame *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->dicom;
}

const char *
gaze_gray_frame_get_path (GazeGrayFrame *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->path;
}

gboolean
gaze_gray_frame_is_gray (GazeGrayFrame *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->dicom->channels == 1;
}

gboolean
gaze_gray_frame_is_ct (GazeGrayFrame *self)
{
  g_return_val_if_fail (self != NULL, FALSE);

  return self->dicom->meta.modality != NULL && g_str_equal (self->dicom->meta.modality, "CT");
}

GazeIoWindow
gaze_gray_frame_get_default_window (GazeGrayFrame *self)
{
  g_return_val_if_fail (self != NULL, gaze_io_window_from_range (0, 1));

  return self->dicom->window;
}

GazeIoImage *
gaze_gray_frame_render (GazeGrayFrame *self, const GazeIoWindow *window)
{
  const GazeIoDicom *d;
  GazeIoImage *img;
  gsize n;

  g_return_val_if_fail (self != NULL, NULL);

  d = self->dicom;
  if (d->channels != 1 || window == NULL)
    return gaze_io_dicom_to_image (d, window);

  /* Windowed straight into the RGB rows: one pass over the values. */
  n = (gsize) d->width * d->height;
  img = g_new0 (GazeIoImage, 1);
  img->pixels = g_malloc (n * 3);
  {
    enum
    {
      CHUNK = 4096
    };
    guint8 gray[CHUNK];

    for (gsize i = 0; i < n; i += CHUNK)
      {
        gsize m = MIN ((gsize) CHUNK, n - i);
        guint8 *out = img->pixels + 3 * i;

        gaze_io_window_apply_u8 (window, d->monochrome1, d->values + i, m, gray);
        for (gsize j = 0; j < m; j++)
          out[3 * j] = out[3 * j + 1] = out[3 * j + 2] = gray[j];
      }
  }
  img->image.width = d->width;
  img->image.height = d->height;
  img->image.channels = 3;
  img->image.stride = d->width * 3;
  img->image.pixels = img->pixels;
  img->is_gray = TRUE;
  img->format = g_strdup ("dicom");
  return img;
}
