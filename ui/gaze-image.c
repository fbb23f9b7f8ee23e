/* gaze-image.c — a decoded image: RGB8 pixels for the engine and a texture for the screen
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-image"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "gaze-image.h"
#include "gaze-limits-settings.h"
#include "gaze-task.h"
#include "gaze-model.h"
#include "gaze-io-image.h"
#include "gaze-gray-frame.h"

struct _GazeImage
{
  gatomicrefcount ref_count;
  GFile *file;
  GBytes *rgb; /* RGB8 rows, stride bytes apart */
  int width, height, stride;
  GdkTexture *texture;
  GPtrArray *levels; /* GdkTexture: halved again and again, for drawing zoomed out */
  char **warnings; /* NULL, or why the file is damaged */
  /* issue 14: a grayscale DICOM / 16-bit image keeps its values, and the
   * window it is shown through (custom_window FALSE: the file's own VOI). */
  GazeGrayFrame *gray;
  GazeIoWindow window;
  gboolean custom_window;
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
      g_clear_pointer (&self->levels, g_ptr_array_unref);
      g_strfreev (self->warnings);
      g_clear_pointer (&self->gray, gaze_gray_frame_unref);
      g_free (self);
    }
}

/* Halves an RGB8 image with a 2×2 box filter (odd edges repeat). */
static GBytes *
halve (const guint8 *src, int w, int h, int stride, int *out_w, int *out_h)
{
  int hw = (w + 1) / 2, hh = (h + 1) / 2;
  guint8 *dst = g_malloc ((gsize) hw * hh * 3);

  for (int y = 0; y < hh; y++)
    {
      const guint8 *r0 = src + (gsize) MIN (2 * y, h - 1) * stride;
      const guint8 *r1 = src + (gsize) MIN (2 * y + 1, h - 1) * stride;
      guint8 *d = dst + (gsize) y * hw * 3;

      for (int x = 0; x < hw; x++)
        {
          int x0 = MIN (2 * x, w - 1) * 3, x1 = MIN (2 * x + 1, w - 1) * 3;

          for (int c = 0; c < 3; c++)
            d[3 * x + c] = (r0[x0 + c] + r0[x1 + c] + r1[x0 + c] + r1[x1 + c] + 2) / 4;
        }
    }
  *out_w = hw;
  *out_h = hh;
  return g_bytes_new_take (dst, (gsize) hw * hh * 3);
}

/* Drawing a large texture scaled far down costs in proportion to its pixels
 * on every frame (Cairo renderer); smaller copies keep frames cheap. */
static void
build_levels (GazeImage *self)
{
  g_autoptr (GBytes) bytes = g_bytes_ref (self->rgb);
  int w = self->width, h = self->height, stride = self->stride;

  self->levels = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (self->levels, g_object_ref (self->texture));
  while (MAX (w, h) > 512)
    {
      int hw, hh;
      GBytes *half = halve (g_bytes_get_data (bytes, NULL), w, h, stride, &hw, &hh);

      g_ptr_array_add (self->levels,
                       gdk_memory_texture_new (hw, hh, GDK_MEMORY_R8G8B8, half, (gsize) hw * 3));
      g_bytes_unref (bytes);
      bytes = half;
      w = hw;
      h = hh;
      stride = hw * 3;
    }
}

/* Takes the pixels of a gaze-io image (RGB8, as gaze-cli decodes it). */
static GazeImage *
gaze_image_new_take (GazeIoImage *loaded, GFile *file)
{
  GazeImage *self = g_new0 (GazeImage, 1);
  gsize size = (gsize) loaded->image.stride * loaded->image.height;

  g_atomic_ref_count_init (&self->ref_count);
  self->file = file != NULL ? g_object_ref (file) : NULL;
  self->width = loaded->image.width;
  self->height = loaded->image.height;
  self->stride = loaded->image.stride;
  self->rgb = g_bytes_new_take (g_steal_pointer (&loaded->pixels), size);
  self->texture = gdk_memory_texture_new (self->width, self->height, GDK_MEMORY_R8G8B8, self->rgb,
                                          self->stride);
  self->warnings = g_steal_pointer (&loaded->warnings);
  gaze_io_image_free (loaded);
  build_levels (self);
  return self;
}

GazeImage *
gaze_image_new_for_gray_frame (GazeGrayFrame *frame, const GazeIoWindow *window, GFile *file)
{
  GazeImage *self;

  g_return_val_if_fail (frame != NULL, NULL);
  g_return_val_if_fail (gaze_gray_frame_is_gray (frame), NULL);

  self = gaze_image_new_take (gaze_gray_frame_render (frame, window), file);
  self->gray = gaze_gray_frame_ref (frame);
  self->custom_window = window != NULL;
  self->window = window != NULL ? *window : gaze_gray_frame_get_default_window (frame);
  return self;
}

GazeImage *
gaze_image_new_for_pixbuf (GdkPixbuf *pixbuf, GFile *file)
{
  GazeIoImage *loaded;

  g_return_val_if_fail (GDK_IS_PIXBUF (pixbuf), NULL);

  /* gaze-io applies the EXIF orientation and composites alpha. */
  loaded = gaze_io_image_from_pixbuf (pixbuf, NULL);
  if (loaded == NULL)
    return NULL;
  return gaze_image_new_take (loaded, file);
}

static void
free_pixels (guchar *pixels, gpointer data)
{
  g_free (pixels);
}

GazeImage *
gaze_image_new_for_texture (GdkTexture *texture, GFile *file)
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
  pixbuf = gdk_pixbuf_new_from_data (data, GDK_COLORSPACE_RGB, TRUE, 8, w, h, w * 4, free_pixels,
                                     NULL);
  return gaze_image_new_for_pixbuf (pixbuf, file);
}

GazeImage *
gaze_image_load (GFile *file, gboolean allow_damaged, GCancellable *cancellable, GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *basename = NULL;
  g_autoptr (GError) local_error = NULL;
  GazeIoImage *loaded;

  g_return_val_if_fail (G_IS_FILE (file), NULL);

  basename = g_file_get_basename (file);
  path = g_file_get_path (file);
  if (path == NULL)
    {
      g_set_error (error, GAZE_ERROR, GAZE_ERROR_NOT_IMAGE, _ ("“%s” is not a local file"),
                   basename);
      return NULL;
    }
  if (gaze_gray_frame_is_candidate (path))
    {
      /* issue 14: kept as values for re-windowing. A file that fails here
       * takes the ordinary path below, which says why (and may allow it damaged). */
      g_autoptr (GazeGrayFrame) frame = gaze_gray_frame_load (path, -1, NULL);

      if (frame != NULL && gaze_gray_frame_is_gray (frame))
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return NULL;
          return gaze_image_new_for_gray_frame (frame, NULL, file);
        }
    }
  GzLimits limits;
  gaze_limits_settings_get (&limits); /* issue 15: Preferences › Limits */
  loaded = gaze_io_image_load_full (
      path, limits.max_image_pixels,
      allow_damaged ? GAZE_IO_IMAGE_LOAD_ALLOW_DAMAGED : GAZE_IO_IMAGE_LOAD_DEFAULT, &local_error);
  /* gaze-io's message starts with the path, which ours names already. */
  const char *why = local_error != NULL ? local_error->message : "";
  if (g_str_has_prefix (why, path) && g_str_has_prefix (why + strlen (path), ": "))
    why += strlen (path) + 2;
  if (loaded == NULL && g_error_matches (local_error, GAZE_IO_ERROR, GAZE_IO_ERROR_DAMAGED))
    {
      /* The window offers to analyse it anyway. */
      g_set_error (error, GAZE_ERROR, GAZE_ERROR_DAMAGED_IMAGE, _ ("“%s” was not analysed: %s"),
                   basename, why);
      return NULL;
    }
  if (loaded == NULL)
    {
      g_set_error (error, GAZE_ERROR, GAZE_ERROR_NOT_IMAGE, _ ("Cannot open the image “%s”: %s"),
                   basename, why);
      return NULL;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      gaze_io_image_free (loaded);
      return NULL;
    }
  return gaze_image_new_take (loaded, file);
}

typedef struct
{
  GFile *file;
  gboolean allow_damaged;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_object_unref (data->file);
  g_free (data);
}

static void
load_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  gaze_task_begin (task);
  LoadData *data = task_data;
  GError *error = NULL;
  GazeImage *image = gaze_image_load (data->file, data->allow_damaged, cancellable, &error);

  gaze_task_end (task);
  if (image == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, image, (GDestroyNotify) gaze_image_unref);
}

void
gaze_image_load_async (GFile *file, gboolean allow_damaged, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  LoadData *data;

  g_return_if_fail (G_IS_FILE (file));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, gaze_image_load_async);
  data = g_new0 (LoadData, 1);
  data->file = g_object_ref (file);
  data->allow_damaged = allow_damaged;
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  g_task_set_return_on_cancel (task, TRUE);
  gaze_task_run_in_thread (task, load_thread);
}

GazeImage *
gaze_image_load_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gaze_image_load_async, NULL);

  gaze_task_finish (result);
  return g_task_propagate_pointer (G_TASK (result), error);
}

GFile *
gaze_image_get_file (GazeImage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->file;
}

GFile *
gaze_image_load_get_file (GAsyncResult *result)
{
  LoadData *data;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gaze_image_load_async, NULL);

  data = g_task_get_task_data (G_TASK (result));
  return data->file;
}

const char *const *
gaze_image_get_warnings (GazeImage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return (const char *const *) self->warnings;
}

GdkTexture *
gaze_image_get_texture (GazeImage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->texture;
}

void
gaze_image_get_gz_image (GazeImage *self, GzImage *out)
{
  g_return_if_fail (self != NULL);

  out->width = self->width;
  out->height = self->height;
  out->channels = 3;
  out->stride = self->stride;
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

GPtrArray *
gaze_image_get_levels (GazeImage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->levels;
}

GazeGrayFrame *
gaze_image_get_gray_frame (GazeImage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->gray;
}

double
gaze_image_get_mm_per_pixel (GazeImage *self)
{
  const GazeIoDicom *dicom;

  g_return_val_if_fail (self != NULL, 0);

  if (self->gray == NULL)
    return 0;
  dicom = gaze_gray_frame_get_dicom (self->gray);
  /* Pixel Spacing is (row spacing, column spacing): across is the second. */
  if (dicom->meta.pixel_spacing[1] <= 0 || dicom->width <= 0 || self->width <= 0)
    return 0;
  return dicom->meta.pixel_spacing[1] * dicom->width / self->width;
}

gboolean
gaze_image_get_window (GazeImage *self, GazeIoWindow *window, gboolean *custom)
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (self->gray == NULL)
    return FALSE;
  if (window != NULL)
    *window = self->window;
  if (custom != NULL)
    *custom = self->custom_window;
  return TRUE;
}
