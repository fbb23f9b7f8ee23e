/* gaze-io-image.c — decoding image files into the engine's RGB8 GzImage
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-io"

#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gaze-io-dicom.h"
#include "gaze-io-gray16.h" /* issue 14: 16-bit grayscale PNG/TIFF */
#include "gaze-io-image-check.h"
#include "gaze-io-image.h"

G_DEFINE_QUARK (gaze - io - error - quark, gaze_io_error)

#define DEFAULT_MAX_PIXELS ((gint64) 100 * 1000 * 1000)
#define CHUNK (64 * 1024)

void
gaze_io_image_free (GazeIoImage *image)
{
  if (image == NULL)
    return;
  g_free (image->pixels);
  g_free (image->format);
  g_strfreev (image->warnings);
  g_free (image);
}

static gboolean
too_large (gint64 w, gint64 h, gint64 max_pixels)
{
  return w > 0 && h > 0 && w > max_pixels / h;
}

static void
set_too_large (GError **error, const char *what, gint64 w, gint64 h, gint64 max_pixels)
{
  g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_TOO_LARGE,
               "%s: too large: %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
               " exceeds the image-pixels limit of %" G_GINT64_FORMAT " pixels",
               what, w, h, max_pixels);
}

GazeIoImage *
gaze_io_image_from_pixbuf (GdkPixbuf *pixbuf, GError **error)
{
  g_return_val_if_fail (GDK_IS_PIXBUF (pixbuf), NULL);

  g_autoptr (GdkPixbuf) oriented = gdk_pixbuf_apply_embedded_orientation (pixbuf);
  GdkPixbuf *pb = oriented != NULL ? oriented : pixbuf;
  if (gdk_pixbuf_get_colorspace (pb) != GDK_COLORSPACE_RGB
      || gdk_pixbuf_get_bits_per_sample (pb) != 8)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT, "unsupported pixel layout");
      return NULL;
    }
  int w = gdk_pixbuf_get_width (pb), h = gdk_pixbuf_get_height (pb);
  int n = gdk_pixbuf_get_n_channels (pb), stride = gdk_pixbuf_get_rowstride (pb);
  gboolean alpha = gdk_pixbuf_get_has_alpha (pb);
  if (w <= 0 || h <= 0 || w > G_MAXINT / 3 || (alpha ? n != 4 : n != 3))
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT, "unsupported pixel layout");
      return NULL;
    }
  const guint8 *src = gdk_pixbuf_read_pixels (pb);

  g_autoptr (GazeIoImage) img = g_new0 (GazeIoImage, 1);
  img->pixels = g_try_malloc ((gsize) w * h * 3);
  if (img->pixels == NULL)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_TOO_LARGE,
                   "not enough memory for a %d×%d image", w, h);
      return NULL;
    }
  gboolean gray = TRUE;
  for (int y = 0; y < h; y++)
    {
      const guint8 *s = src + (gsize) y * stride;
      guint8 *d = img->pixels + (gsize) y * w * 3;
      for (int x = 0; x < w; x++, s += n, d += 3)
        {
          if (alpha)
            {
              /* Composite onto black: c·a/255, rounded. */
              guint a = s[3];
              for (int c = 0; c < 3; c++)
                d[c] = (guint8) ((s[c] * a + 127) / 255);
            }
          else
            memcpy (d, s, 3);
          gray = gray && d[0] == d[1] && d[1] == d[2];
        }
    }
  img->image.width = w;
  img->image.height = h;
  img->image.channels = 3;
  img->image.stride = w * 3;
  img->image.pixels = img->pixels;
  img->is_gray = gray;
  img->had_alpha = alpha;
  return g_steal_pointer (&img);
}

/* The engine's limit, which honours GAZE_LIMITS (the GUI passes 0). */
static gint64
default_max_pixels (void)
{
  GzLimits limits;
  gz_limits_default (&limits);
  return limits.max_image_pixels > 0 ? limits.max_image_pixels : DEFAULT_MAX_PIXELS;
}

typedef struct
{
  gint64 max_pixels;
  gint64 width, height;
  gboolean refused;
  int rows_done; /* highest row the decoder has filled (area-updated) */
  gboolean updated;
} SizeGuard;

/* A file cut short still "closes" cleanly for some loaders (PNG, JPEG) and
 * leaves the missing rows blank; what the decoder filled tells. */
static void
area_updated_cb (GdkPixbufLoader *loader, int x, int y, int width, int height, gpointer user_data)
{
  SizeGuard *guard = user_data;
  guard->updated = TRUE;
  if (y + height > guard->rows_done)
    guard->rows_done = y + height;
}

static void
size_prepared_cb (GdkPixbufLoader *loader, int width, int height, gpointer user_data)
{
  SizeGuard *guard = user_data;
  guard->width = width;
  guard->height = height;
  if (too_large (width, height, guard->max_pixels))
    {
      /* Decode to a single pixel instead of allocating the huge buffer; the
       * caller reports the refusal. */
      guard->refused = TRUE;
      gdk_pixbuf_loader_set_size (loader, 1, 1);
    }
}

/* Feeds a loader from a stream, refusing oversized images at the header and
 * damaged ones unless flags allow them. */
static GazeIoImage *
decode_stream (GInputStream *in, const char *what, gint64 max_pixels, GazeIoImageLoadFlags flags,
               GError **error)
{
  g_autoptr (GdkPixbufLoader) loader = gdk_pixbuf_loader_new ();
  SizeGuard guard = { max_pixels, 0, 0, FALSE, 0, FALSE };
  g_signal_connect (loader, "size-prepared", G_CALLBACK (size_prepared_cb), &guard);
  g_signal_connect (loader, "area-updated", G_CALLBACK (area_updated_cb), &guard);
  g_autofree guint8 *buf = g_malloc (CHUNK);
  /* The file's bytes, for the second opinion of libjpeg / libpng. */
  g_autoptr (GByteArray) data = g_byte_array_new ();
  g_autoptr (GError) local = NULL;
  gboolean ok = TRUE;
  for (;;)
    {
      gssize n = g_input_stream_read (in, buf, CHUNK, NULL, &local);
      if (n < 0)
        {
          gdk_pixbuf_loader_close (loader, NULL);
          g_set_error (error, G_IO_ERROR, local->code, "%s: %s", what, local->message);
          return NULL;
        }
      if (n == 0)
        break;
      g_byte_array_append (data, buf, (guint) n);
      if (!gdk_pixbuf_loader_write (loader, buf, (gsize) n, &local))
        {
          ok = FALSE;
          break;
        }
      if (guard.refused)
        break;
    }
  if (!gdk_pixbuf_loader_close (loader, ok && local == NULL ? &local : NULL))
    ok = FALSE;
  if (guard.refused)
    {
      set_too_large (error, what, guard.width, guard.height, max_pixels);
      return NULL;
    }
  GdkPixbuf *pb = gdk_pixbuf_loader_get_pixbuf (loader);
  GdkPixbufFormat *fmt = gdk_pixbuf_loader_get_format (loader);
  g_autofree char *format = fmt != NULL ? gdk_pixbuf_format_get_name (fmt) : NULL;
  /* A decoder that failed after filling some rows left a partial image:
   * damaged rather than unreadable. */
  if (!ok || pb == NULL)
    {
      if (pb == NULL || !guard.updated || guard.rows_done <= 0)
        {
          if (fmt == NULL || data->len == 0)
            g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_NOT_IMAGE,
                         "%s: not an image (or a format this system cannot read)", what);
          else
            g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT,
                         "%s: cannot decode %s image: %s", what, format,
                         local != NULL ? local->message : "no pixels");
          return NULL;
        }
    }
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_auto (GStrv) checked = gaze_io_image_check_damage (data->data, data->len, format);
  for (char **m = checked; m != NULL && *m != NULL; m++)
    g_ptr_array_add (warnings, g_strdup (*m));
  if (!ok && local != NULL)
    g_ptr_array_add (warnings, g_strdup (local->message));
  if (guard.updated && guard.rows_done < gdk_pixbuf_get_height (pb))
    g_ptr_array_add (warnings,
                     g_strdup_printf ("truncated: only %d of its %d rows could be decoded",
                                      guard.rows_done, gdk_pixbuf_get_height (pb)));
  if (warnings->len > 0 && !(flags & GAZE_IO_IMAGE_LOAD_ALLOW_DAMAGED))
    {
      g_ptr_array_add (warnings, NULL);
      g_autofree char *list = g_strjoinv ("; ", (char **) warnings->pdata);
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_DAMAGED, "%s: the image is damaged (%s)",
                   what, list);
      return NULL;
    }
  GazeIoImage *img = gaze_io_image_from_pixbuf (pb, error);
  if (img == NULL)
    {
      if (error != NULL && *error != NULL)
        g_prefix_error (error, "%s: ", what);
      return NULL;
    }
  img->format = format != NULL ? g_steal_pointer (&format) : g_strdup ("unknown");
  if (warnings->len > 0)
    {
      g_ptr_array_add (warnings, NULL);
      img->warnings = (char **) g_ptr_array_free (g_steal_pointer (&warnings), FALSE);
    }
  return img;
}

GazeIoImage *
gaze_io_image_load (const char *path, gint64 max_pixels, GError **error)
{
  return gaze_io_image_load_full (path, max_pixels, GAZE_IO_IMAGE_LOAD_DEFAULT, error);
}

GazeIoImage *
gaze_io_image_load_full (const char *path, gint64 max_pixels, GazeIoImageLoadFlags flags,
                         GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  if (max_pixels <= 0)
    max_pixels = default_max_pixels ();

  /* Opening a FIFO blocks until a writer comes, a device may never end:
   * only regular files are images. */
  GStatBuf st;
  if (g_stat (path, &st) == 0 && !S_ISREG (st.st_mode))
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_NOT_IMAGE, "%s: not a regular file", path);
      return NULL;
    }
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) local = NULL;
  g_autoptr (GFileInputStream) in = g_file_read (file, NULL, &local);
  if (in == NULL)
    {
      g_set_error (error, local->domain, local->code, "%s: %s", path,
                   g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ? "no such file"
                                                                             : local->message);
      return NULL;
    }
  /* issue 14: DICOM ("DICM" at byte 128, or a .dcm file without preamble). */
  if (gaze_io_image_is_dicom (path))
    return gaze_io_dicom_load_image (path, -1, NULL, max_pixels, error);
  /* issue 14: 16-bit grayscale PNG/TIFF (libpng / libtiff, windowed min..max). */
  if (gaze_io_gray16_is_file (path))
    return gaze_io_gray16_load_image (path, NULL, max_pixels, error);
  /* The header alone says whether this is an image and how big it is. */
  int w = 0, h = 0;
  GdkPixbufFormat *fmt = gdk_pixbuf_get_file_info (path, &w, &h);
  if (fmt == NULL)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_NOT_IMAGE,
                   "%s: not an image (or a format this system cannot read)", path);
      return NULL;
    }
  if (too_large (w, h, max_pixels))
    {
      set_too_large (error, path, w, h, max_pixels);
      return NULL;
    }
  return decode_stream (G_INPUT_STREAM (in), path, max_pixels, flags, error);
}

GazeIoImage *
gaze_io_image_load_bytes (GBytes *bytes, gint64 max_pixels, GError **error)
{
  return gaze_io_image_load_bytes_full (bytes, max_pixels, GAZE_IO_IMAGE_LOAD_DEFAULT, error);
}

GazeIoImage *
gaze_io_image_load_bytes_full (GBytes *bytes, gint64 max_pixels, GazeIoImageLoadFlags flags,
                               GError **error)
{
  g_return_val_if_fail (bytes != NULL, NULL);
  if (max_pixels <= 0)
    max_pixels = default_max_pixels ();
  /* issue 14: DICOM */
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  if (gaze_io_dicom_sniff (data, len))
    {
      g_autoptr (GazeIoDicom) dicom = gaze_io_dicom_load_bytes (data, len, -1, max_pixels, error);
      return dicom != NULL ? gaze_io_dicom_to_image (dicom, NULL) : NULL;
    }
  /* issue 14: 16-bit grayscale PNG/TIFF */
  if (gaze_io_gray16_sniff (data, len))
    {
      g_autoptr (GazeIoDicom) gray = gaze_io_gray16_load_bytes (data, len, max_pixels, error);
      if (gray == NULL)
        return NULL;
      GazeIoImage *img = gaze_io_dicom_to_image (gray, NULL);
      g_free (img->format);
      img->format = g_strdup (data[0] == 0x89 ? "png16" : "tiff16");
      return img;
    }
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_bytes (bytes);
  return decode_stream (in, "image data", max_pixels, flags, error);
}

/* issue 14: DICOM files -------------------------------------------------- */

gboolean
gaze_io_image_is_dicom (const char *path)
{
  guint8 head[132];
  gsize got = 0;
  /* Only regular files: opening a FIFO or a device to peek would block or
   * consume it (the image loader refuses those with a clear error). */
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return FALSE;
  int fd = g_open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      return FALSE;
    }
  ssize_t n = read (fd, head, sizeof head);
  close (fd);
  got = n > 0 ? (gsize) n : 0;
  if (gaze_io_dicom_sniff (head, got))
    return TRUE;
  /* A .dcm file without the preamble starts with a group 0002 or 0008 tag. */
  return g_str_has_suffix (path, ".dcm") && got >= 4 && (head[0] == 0x02 || head[0] == 0x08)
      && head[1] == 0x00;
}

GazeIoImage *
gaze_io_dicom_load_image (const char *path, int frame, const GazeIoWindow *window,
                          gint64 max_pixels, GError **error)
{
  if (max_pixels <= 0)
    max_pixels = default_max_pixels ();
  g_autoptr (GazeIoDicom) dicom = gaze_io_dicom_load (path, frame, max_pixels, error);
  if (dicom == NULL)
    return NULL;
  return gaze_io_dicom_to_image (dicom, window);
}
