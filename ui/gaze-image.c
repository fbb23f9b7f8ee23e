/* gaze-image.c — a decoded image: RGB8 pixels for the engine and a texture for the screen
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-image"

#include "config.h"

#include <glib/gi18n.h>

#include "gaze-image.h"
#include "gaze-model.h"

struct _GazeImage
{
  gatomicrefcount ref_count;
  GFile *file;
  GBytes *rgb;        /* packed RGB8, stride = 3 * width */
  int width, height;
  GdkTexture *texture;
};

G_DEFINE_BOXED_TYPE (GazeImage, gaze_image, gaze_image_ref, gaze_image_unref)

GazeImage *
gaze_image_ref (GazeImage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
gaze_image_unref (GazeImage *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    {
      g_clear_object (&self->file);
      g_clear_pointer (&self->rgb, g_bytes_unref);
      g_clear_object (&self->texture);
      g_free (self);
    }
}

GazeImage *
gaze_image_new_for_pixbuf (GdkPixbuf *pixbuf,
                           GFile     *file)
{
  g_autoptr (GdkPixbuf) oriented = NULL;
  GazeImage *self;
  int w, h, n, stride;
  const guint8 *src;
  guint8 *rgb;
  gsize size;

  g_return_val_if_fail (GDK_IS_PIXBUF (pixbuf), NULL);

  oriented = gdk_pixbuf_apply_embedded_orientation (pixbuf);
  w = gdk_pixbuf_get_width (oriented);
  h = gdk_pixbuf_get_height (oriented);
  n = gdk_pixbuf_get_n_channels (oriented);
  stride = gdk_pixbuf_get_rowstride (oriented);
  src = gdk_pixbuf_read_pixels (oriented);

  if (!g_size_checked_mul (&size, (gsize) w, (gsize) h) || !g_size_checked_mul (&size, size, 3))
    return NULL;
  rgb = g_malloc (size);
  for (int y = 0; y < h; y++)
    {
      const guint8 *s = src + (gsize) y * stride;
      guint8 *d = rgb + (gsize) y * w * 3;

      for (int x = 0; x < w; x++, s += n, d += 3)
        {
          if (n == 4)
            {
              /* Over white, as a viewer shows transparency on a light page. */
              unsigned a = s[3];

              d[0] = (s[0] * a + 255 * (255 - a) + 127) / 255;
              d[1] = (s[1] * a + 255 * (255 - a) + 127) / 255;
              d[2] = (s[2] * a + 255 * (255 - a) + 127) / 255;
            }
          else
            {
              d[0] = s[0];
              d[1] = s[1];
              d[2] = s[2];
            }
        }
    }

  self = g_new0 (GazeImage, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->file = file != NULL ? g_object_ref (file) : NULL;
  self->width = w;
  self->height = h;
  self->rgb = g_bytes_new_take (rgb, size);
  self->texture = gdk_memory_texture_new (w, h, GDK_MEMORY_R8G8B8, self->rgb, (gsize) w * 3);
  return self;
}

static void
free_pixels (guchar  *pixels,
             gpointer data)
{
  g_free (pixels);
}

GazeImage *
gaze_image_new_for_texture (GdkTexture *texture,
                            GFile      *file)
{
  g_autoptr (GdkPixbuf) pixbuf = NULL;
  int w, h;
  guchar *data;

  g_return_val_if_fail (GDK_IS_TEXTURE (texture), NULL);

  w = gdk_texture_get_width (texture);
  h = gdk_texture_get_height (texture);
  data = g_malloc ((gsize) w * h * 4);
  /* Downloads as premultiplied B8G8R8A8 on little endian (cairo's ARGB32). */
  gdk_texture_download (texture, data, (gsize) w * 4);
  for (gsize i = 0; i < (gsize) w * h; i++)
    {
      guint8 *p = data + i * 4;
      guint8 b = p[0], g = p[1], r = p[2], a = p[3];

      /* Un-premultiply into RGBA for the pixbuf. */
      p[0] = a ? MIN (255, (r * 255 + a / 2) / a) : 0;
      p[1] = a ? MIN (255, (g * 255 + a / 2) / a) : 0;
      p[2] = a ? MIN (255, (b * 255 + a / 2) / a) : 0;
      p[3] = a;
    }
  pixbuf = gdk_pixbuf_new_from_data (data, GDK_COLORSPACE_RGB, TRUE, 8, w, h, w * 4,
                                     free_pixels, NULL);
  return gaze_image_new_for_pixbuf (pixbuf, file);
}

GazeImage *
gaze_image_load (GFile         *file,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_autoptr (GFileInputStream) stream = NULL;
  g_autoptr (GdkPixbuf) pixbuf = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *basename = NULL;
  GzLimits limits;
  GazeImage *image;

  g_return_val_if_fail (G_IS_FILE (file), NULL);

  basename = g_file_get_basename (file);
  stream = g_file_read (file, cancellable, error);
  if (stream == NULL)
    return NULL;
  pixbuf = gdk_pixbuf_new_from_stream (G_INPUT_STREAM (stream), cancellable, &local_error);
  if (pixbuf == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, GAZE_ERROR, GAZE_ERROR_NOT_IMAGE, _("“%s” is not an image Gaze can read: %s"),
                     basename, local_error->message);
      return NULL;
    }

  gz_limits_default (&limits);
  if ((gint64) gdk_pixbuf_get_width (pixbuf) * gdk_pixbuf_get_height (pixbuf) > limits.max_image_pixels)
    {
      g_set_error (error, GAZE_ERROR, GAZE_ERROR_NOT_IMAGE, _("“%s” is too large (%d × %d pixels)"),
                   basename, gdk_pixbuf_get_width (pixbuf), gdk_pixbuf_get_height (pixbuf));
      return NULL;
    }

  image = gaze_image_new_for_pixbuf (pixbuf, file);
  if (image == NULL)
    g_set_error (error, GAZE_ERROR, GAZE_ERROR_NOT_IMAGE, _("“%s” is too large"), basename);
  return image;
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GError *error = NULL;
  GazeImage *image = gaze_image_load (task_data, cancellable, &error);

  if (image == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, image, (GDestroyNotify) gaze_image_unref);
}

void
gaze_image_load_async (GFile               *file,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (G_IS_FILE (file));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, gaze_image_load_async);
  g_task_set_task_data (task, g_object_ref (file), g_object_unref);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, load_thread);
}

GazeImage *
gaze_image_load_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gaze_image_load_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

GFile *
gaze_image_get_file (GazeImage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->file;
}

GdkTexture *
gaze_image_get_texture (GazeImage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->texture;
}

void
gaze_image_get_gz_image (GazeImage *self,
                         GzImage   *out)
{
  g_return_if_fail (self != NULL);

  out->width = self->width;
  out->height = self->height;
  out->channels = 3;
  out->stride = self->width * 3;
  out->pixels = g_bytes_get_data (self->rgb, NULL);
}

int
gaze_image_get_width (GazeImage *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->width;
}

int
gaze_image_get_height (GazeImage *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->height;
}
