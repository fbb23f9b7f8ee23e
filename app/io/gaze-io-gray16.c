/* gaze-io-gray16.c — 16-bit grayscale PNG and TIFF (libpng, libtiff)
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-io"

#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

#include "gaze-io-gray16.h"

/* libtiff refuses single allocations beyond this (a forged tile size). */
#define TIFF_MAX_ALLOC ((tmsize_t) 512 * 1024 * 1024)

static const guint8 png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

static gint64
default_max_pixels (void)
{
  GzLimits limits;
  gz_limits_default (&limits);
  return limits.max_image_pixels > 0 ? limits.max_image_pixels : (gint64) 100 * 1000 * 1000;
}

static gboolean
is_png (const guint8 *data, gsize len)
{
  return len >= 8 && memcmp (data, png_magic, 8) == 0;
}

static gboolean
is_tiff (const guint8 *data, gsize len)
{
  return len >= 4
      && ((data[0] == 'I' && data[1] == 'I' && (data[2] == 42 || data[2] == 43) && data[3] == 0)
          || (data[0] == 'M' && data[1] == 'M' && data[2] == 0
              && (data[3] == 42 || data[3] == 43)));
}

/* The frame every reader fills: grayscale values, default window min..max. */
static GazeIoDicom *
frame_new (int width, int height, const char *container)
{
  GazeIoDicom *d = g_new0 (GazeIoDicom, 1);
  d->width = d->meta.columns = width;
  d->height = d->meta.rows = height;
  d->channels = 1;
  d->frame = 0;
  d->meta.frames = 1;
  d->meta.photometric = g_strdup ("MONOCHROME2");
  d->meta.transfer_syntax_uid = g_strdup ("");
  d->meta.transfer_syntax_name = g_strdup (container);
  return d;
}

static void
frame_finish (GazeIoDicom *d)
{
  gaze_io_window_range (d->values, (gsize) d->width * d->height, &d->min, &d->max);
  d->window = gaze_io_window_from_range (d->min, d->max);
}

static gboolean
check_size (const char *what, gint64 w, gint64 h, gint64 max_pixels, GError **error)
{
  if (w <= 0 || h <= 0)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT,
                   "%s: the image has no pixels (%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT ")", what,
                   w, h);
      return FALSE;
    }
  if (w > max_pixels / h || w > G_MAXINT / 4 || h > G_MAXINT / 4)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_TOO_LARGE,
                   "%s: too large: %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                   " exceeds the image-pixels limit of %" G_GINT64_FORMAT " pixels",
                   what, w, h, max_pixels);
      return FALSE;
    }
  return TRUE;
}

/* PNG ------------------------------------------------------------------- */

typedef struct
{
  const guint8 *data;
  gsize len, pos;
  gboolean ran_out; /* the file ended before libpng was done */
  char message[256];
  jmp_buf jump;
  /* Owned buffers, freed by the caller whether or not libpng jumped. */
  guint8 *samples;
  png_bytep *rows;
} PngReader;

static void
png_read_cb (png_structp png, png_bytep out, size_t n)
{
  PngReader *r = png_get_io_ptr (png);
  if (n > r->len - r->pos)
    {
      r->ran_out = TRUE;
      png_error (png, "the file is cut short");
    }
  memcpy (out, r->data + r->pos, n);
  r->pos += n;
}

static void
png_error_cb (png_structp png, png_const_charp message)
{
  PngReader *r = png_get_error_ptr (png);
  g_strlcpy (r->message, message, sizeof r->message);
  longjmp (r->jump, 1);
}

static void
png_warning_cb (png_structp png, png_const_charp message)
{
}

static gboolean
png_header_is_gray16 (const guint8 *data, gsize len)
{
  /* Signature, then IHDR: length, "IHDR", width, height, depth, colour type. */
  return is_png (data, len) && len >= 26 && memcmp (data + 12, "IHDR", 4) == 0 && data[24] == 16
      && data[25] == 0;
}

static GazeIoDicom *
load_png (const guint8 *data, gsize len, const char *what, gint64 max_pixels, GError **error)
{
  PngReader r;
  memset (&r, 0, sizeof r);
  r.data = data;
  r.len = len;
  png_structp png
      = png_create_read_struct (PNG_LIBPNG_VER_STRING, &r, png_error_cb, png_warning_cb);
  png_infop info = png != NULL ? png_create_info_struct (png) : NULL;
  if (info == NULL)
    {
      png_destroy_read_struct (&png, NULL, NULL);
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_TOO_LARGE, "%s: out of memory", what);
      return NULL;
    }
  GazeIoDicom *volatile d = NULL;
  if (setjmp (r.jump) != 0)
    {
      png_destroy_read_struct (&png, &info, NULL);
      g_free (r.samples);
      g_free (r.rows);
      gaze_io_dicom_free (d);
      if (r.ran_out)
        g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_DAMAGED,
                     "%s: the image is damaged (the PNG file is cut short)", what);
      else
        g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT, "%s: cannot decode png image: %s",
                     what, r.message);
      return NULL;
    }
  png_set_read_fn (png, &r, png_read_cb);
  /* The pixel limit below is Gaze's; libpng's own only has to let it through. */
  png_set_user_limits (png, 0x7fffffff, 0x7fffffff);
  png_read_info (png, info);
  png_uint_32 w = 0, h = 0;
  int depth = 0, color = 0, interlace = 0;
  png_get_IHDR (png, info, &w, &h, &depth, &color, &interlace, NULL, NULL);
  if (depth != 16 || color != PNG_COLOR_TYPE_GRAY)
    {
      png_destroy_read_struct (&png, &info, NULL);
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT,
                   "%s: not a 16-bit grayscale PNG (bit depth %d, colour type %d)", what, depth,
                   color);
      return NULL;
    }
  if (!check_size (what, w, h, max_pixels, error))
    {
      png_destroy_read_struct (&png, &info, NULL);
      return NULL;
    }
  png_set_interlace_handling (png);
  png_read_update_info (png, info);
  gsize stride = (gsize) w * 2;
  r.samples = g_try_malloc (stride * h);
  r.rows = g_try_new (png_bytep, h);
  d = frame_new ((int) w, (int) h, "PNG");
  d->values = g_try_new (float, (gsize) w *h);
  if (r.samples == NULL || r.rows == NULL || d->values == NULL)
    {
      png_destroy_read_struct (&png, &info, NULL);
      g_free (r.samples);
      g_free (r.rows);
      gaze_io_dicom_free (d);
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_TOO_LARGE,
                   "%s: not enough memory for a %u×%u image", what, (unsigned) w, (unsigned) h);
      return NULL;
    }
  for (png_uint_32 y = 0; y < h; y++)
    r.rows[y] = r.samples + y * stride;
  png_read_image (png, r.rows);
  png_read_end (png, NULL);
  png_destroy_read_struct (&png, &info, NULL);
  /* PNG samples are big-endian. */
  for (gsize i = 0; i < (gsize) w * h; i++)
    d->values[i] = (float) ((guint) r.samples[2 * i] << 8 | r.samples[2 * i + 1]);
  g_free (r.samples);
  g_free (r.rows);
  frame_finish (d);
  return d;
}

/* TIFF ------------------------------------------------------------------ */

typedef struct
{
  const guint8 *data;
  gsize len;
  toff_t pos;
  char message[256];
} TiffReader;

static tmsize_t
tiff_read_cb (thandle_t h, void *buf, tmsize_t n)
{
  TiffReader *r = h;
  if (n < 0 || r->pos >= r->len)
    return 0;
  gsize take = MIN ((gsize) n, r->len - (gsize) r->pos);
  memcpy (buf, r->data + r->pos, take);
  r->pos += take;
  return (tmsize_t) take;
}

static tmsize_t
tiff_write_cb (thandle_t h, void *buf, tmsize_t n)
{
  return -1;
}

static toff_t
tiff_seek_cb (thandle_t h, toff_t off, int whence)
{
  TiffReader *r = h;
  toff_t base = whence == SEEK_CUR ? r->pos : whence == SEEK_END ? (toff_t) r->len : 0;
  r->pos = base + off;
  return r->pos;
}

static int
tiff_close_cb (thandle_t h)
{
  return 0;
}

static toff_t
tiff_size_cb (thandle_t h)
{
  TiffReader *r = h;
  return r->len;
}

static int tiff_error_cb (TIFF *tif, void *user_data, const char *module, const char *fmt,
                          va_list ap) G_GNUC_PRINTF (4, 0);

static int
tiff_error_cb (TIFF *tif, void *user_data, const char *module, const char *fmt, va_list ap)
{
  TiffReader *r = user_data;
  if (r->message[0] == '\0')
    g_vsnprintf (r->message, sizeof r->message, fmt, ap);
  return 1;
}

static int
tiff_warning_cb (TIFF *tif, void *user_data, const char *module, const char *fmt, va_list ap)
{
  return 1;
}

static TIFF *
tiff_open (TiffReader *r)
{
  TIFFOpenOptions *opts = TIFFOpenOptionsAlloc ();
  TIFFOpenOptionsSetMaxSingleMemAlloc (opts, TIFF_MAX_ALLOC);
  TIFFOpenOptionsSetErrorHandlerExtR (opts, tiff_error_cb, r);
  TIFFOpenOptionsSetWarningHandlerExtR (opts, tiff_warning_cb, r);
  /* "m": no memory mapping, every read goes through tiff_read_cb. */
  TIFF *tif = TIFFClientOpenExt ("tiff", "rm", r, tiff_read_cb, tiff_write_cb, tiff_seek_cb,
                                 tiff_close_cb, tiff_size_cb, NULL, NULL, opts);
  TIFFOpenOptionsFree (opts);
  return tif;
}

typedef struct
{
  guint32 width, height;
  guint16 bits, samples, photometric, compression, format;
} TiffLayout;

static void
tiff_layout (TIFF *tif, TiffLayout *l)
{
  memset (l, 0, sizeof *l);
  TIFFGetField (tif, TIFFTAG_IMAGEWIDTH, &l->width);
  TIFFGetField (tif, TIFFTAG_IMAGELENGTH, &l->height);
  TIFFGetFieldDefaulted (tif, TIFFTAG_BITSPERSAMPLE, &l->bits);
  TIFFGetFieldDefaulted (tif, TIFFTAG_SAMPLESPERPIXEL, &l->samples);
  TIFFGetFieldDefaulted (tif, TIFFTAG_COMPRESSION, &l->compression);
  TIFFGetFieldDefaulted (tif, TIFFTAG_SAMPLEFORMAT, &l->format);
  l->photometric = G_MAXUINT16;
  TIFFGetField (tif, TIFFTAG_PHOTOMETRIC, &l->photometric);
}

static gboolean
tiff_is_gray16 (const guint8 *data, gsize len)
{
  TiffReader r = { data, len, 0, "" };
  TIFF *tif = tiff_open (&r);
  if (tif == NULL)
    return FALSE;
  TiffLayout l;
  tiff_layout (tif, &l);
  TIFFClose (tif);
  return l.samples == 1 && l.bits == 16
      && (l.photometric == PHOTOMETRIC_MINISBLACK || l.photometric == PHOTOMETRIC_MINISWHITE);
}

static const char *
compression_name (guint16 compression, char *buf, gsize size)
{
  switch (compression)
    {
      case COMPRESSION_NONE:
        return "uncompressed";
      case COMPRESSION_LZW:
        return "LZW";
      case COMPRESSION_ADOBE_DEFLATE:
      case COMPRESSION_DEFLATE:
        return "Deflate";
      case COMPRESSION_PACKBITS:
        return "PackBits";
      default:
        break;
    }
  const TIFFCodec *codec = TIFFFindCODEC (compression);
  if (codec != NULL && codec->name != NULL)
    g_snprintf (buf, size, "%s (%u)", codec->name, compression);
  else
    g_snprintf (buf, size, "compression %u", compression);
  return buf;
}

/* Copies decoded samples (a strip or a tile: cols × rows at x0, y0, with
 * stride samples per row) into the frame, clipped to the image. */
static void
tiff_put (GazeIoDicom *d, const TiffLayout *l, const guint8 *buf, guint32 x0, guint32 y0,
          guint32 cols, guint32 rows)
{
  for (guint32 y = 0; y < rows && y0 + y < l->height; y++)
    for (guint32 x = 0; x < cols && x0 + x < l->width; x++)
      {
        gsize i = (gsize) y * cols + x;
        float v;
        if (l->bits == 8)
          v = l->format == SAMPLEFORMAT_INT ? (float) ((const gint8 *) buf)[i] : (float) buf[i];
        else
          {
            guint16 u;
            memcpy (&u, buf + 2 * i, 2); /* libtiff swapped it to host order */
            v = l->format == SAMPLEFORMAT_INT ? (float) (gint16) u : (float) u;
          }
        d->values[(gsize) (y0 + y) * l->width + x0 + x] = v;
      }
}

static gboolean
tiff_strile_present (TIFF *tif, guint32 strile, gsize len)
{
  guint64 off = TIFFGetStrileOffset (tif, strile);
  guint64 count = TIFFGetStrileByteCount (tif, strile);
  return off <= len && count <= len - off;
}

static GazeIoDicom *
load_tiff (const guint8 *data, gsize len, const char *what, gint64 max_pixels, GError **error)
{
  TiffReader r = { data, len, 0, "" };
  TIFF *tif = tiff_open (&r);
  if (tif == NULL)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT, "%s: cannot read TIFF: %s", what,
                   r.message[0] ? r.message : "no image directory");
      return NULL;
    }
  TiffLayout l;
  tiff_layout (tif, &l);
  char cbuf[96];
  const char *cname = compression_name (l.compression, cbuf, sizeof cbuf);
  const char *problem = NULL;
  g_autofree char *problem_buf = NULL;
  if (l.samples != 1)
    problem = problem_buf = g_strdup_printf ("%u samples per pixel", l.samples);
  else if (l.bits != 8 && l.bits != 16)
    problem = problem_buf = g_strdup_printf ("%u bits per sample", l.bits);
  else if (l.format != SAMPLEFORMAT_UINT && l.format != SAMPLEFORMAT_INT)
    problem = problem_buf = g_strdup_printf ("sample format %u (only integers are read)", l.format);
  else if (l.photometric != PHOTOMETRIC_MINISBLACK && l.photometric != PHOTOMETRIC_MINISWHITE)
    problem = problem_buf = g_strdup_printf ("photometric interpretation %u", l.photometric);
  else if (l.compression != COMPRESSION_NONE && l.compression != COMPRESSION_LZW
           && l.compression != COMPRESSION_ADOBE_DEFLATE && l.compression != COMPRESSION_DEFLATE
           && l.compression != COMPRESSION_PACKBITS)
    problem = problem_buf = g_strdup_printf ("%s compression", cname);
  if (problem != NULL)
    {
      TIFFClose (tif);
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT,
                   "%s: unsupported grayscale TIFF: %s (read: 8 or 16-bit integer gray, "
                   "uncompressed, LZW, Deflate or PackBits)",
                   what, problem);
      return NULL;
    }
  if (!check_size (what, l.width, l.height, max_pixels, error))
    {
      TIFFClose (tif);
      return NULL;
    }
  g_autofree char *container = g_strdup_printf ("TIFF (%s)", cname);
  g_autoptr (GazeIoDicom) d = frame_new ((int) l.width, (int) l.height, container);
  if (l.photometric == PHOTOMETRIC_MINISWHITE)
    {
      g_free (d->meta.photometric);
      d->meta.photometric = g_strdup ("MONOCHROME1");
      d->monochrome1 = TRUE;
    }
  d->values = g_try_new0 (float, (gsize) l.width *l.height);
  tmsize_t chunk = TIFFIsTiled (tif) ? TIFFTileSize (tif) : TIFFStripSize (tif);
  g_autofree guint8 *buf = d->values != NULL && chunk > 0 ? g_try_malloc ((gsize) chunk) : NULL;
  if (buf == NULL)
    {
      TIFFClose (tif);
      if (d->values != NULL && chunk <= 0)
        g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT, "%s: cannot decode TIFF: %s",
                     what, r.message[0] ? r.message : "bad strip or tile size");
      else
        g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_TOO_LARGE,
                     "%s: not enough memory for a %u×%u image", what, l.width, l.height);
      return NULL;
    }
  guint32 n = TIFFIsTiled (tif) ? TIFFNumberOfTiles (tif) : TIFFNumberOfStrips (tif);
  guint32 tw = 0, th = 0, rows_per_strip = 0;
  if (TIFFIsTiled (tif))
    {
      TIFFGetField (tif, TIFFTAG_TILEWIDTH, &tw);
      TIFFGetField (tif, TIFFTAG_TILELENGTH, &th);
      /* Every tile's samples must fit the buffer libtiff sized. */
      if (tw == 0 || th == 0 || (guint64) tw * th * (l.bits / 8) > (guint64) chunk)
        n = 0;
    }
  else
    {
      TIFFGetFieldDefaulted (tif, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
      rows_per_strip = MIN (rows_per_strip, l.height);
      if (rows_per_strip == 0
          || (guint64) l.width * rows_per_strip * (l.bits / 8) > (guint64) chunk)
        n = 0;
    }
  if (n == 0)
    {
      TIFFClose (tif);
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT,
                   "%s: cannot decode TIFF: inconsistent strip or tile layout", what);
      return NULL;
    }
  guint32 across = TIFFIsTiled (tif) ? (l.width + tw - 1) / tw : 1;
  for (guint32 s = 0; s < n; s++)
    {
      if (!tiff_strile_present (tif, s, len))
        {
          TIFFClose (tif);
          g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_DAMAGED,
                       "%s: the image is damaged (the TIFF file is cut short)", what);
          return NULL;
        }
      tmsize_t got = TIFFIsTiled (tif) ? TIFFReadEncodedTile (tif, s, buf, chunk)
                                       : TIFFReadEncodedStrip (tif, s, buf, chunk);
      if (got < 0)
        {
          TIFFClose (tif);
          g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT, "%s: cannot decode TIFF: %s",
                       what, r.message[0] ? r.message : "a strip or tile does not decode");
          return NULL;
        }
      if (TIFFIsTiled (tif))
        tiff_put (d, &l, buf, (s % across) * tw, (s / across) * th, tw, th);
      else
        tiff_put (d, &l, buf, 0, s * rows_per_strip, l.width, rows_per_strip);
    }
  TIFFClose (tif);
  frame_finish (d);
  return g_steal_pointer (&d);
}

/* Public ---------------------------------------------------------------- */

gboolean
gaze_io_gray16_sniff (const guint8 *data, gsize len)
{
  if (data == NULL)
    return FALSE;
  if (is_png (data, len))
    return png_header_is_gray16 (data, len);
  return is_tiff (data, len) && tiff_is_gray16 (data, len);
}

gboolean
gaze_io_gray16_is_file (const char *path)
{
  g_return_val_if_fail (path != NULL, FALSE);
  guint8 head[26];
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return FALSE;
  int fd = g_open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;
  struct stat st;
  ssize_t got = fstat (fd, &st) == 0 && S_ISREG (st.st_mode) ? read (fd, head, sizeof head) : -1;
  close (fd);
  if (got <= 0)
    return FALSE;
  if (is_png (head, (gsize) got))
    return png_header_is_gray16 (head, (gsize) got);
  if (!is_tiff (head, (gsize) got))
    return FALSE;
  g_autoptr (GMappedFile) map = g_mapped_file_new (path, FALSE, NULL);
  if (map == NULL)
    return FALSE;
  return tiff_is_gray16 ((const guint8 *) g_mapped_file_get_contents (map),
                         g_mapped_file_get_length (map));
}

static GazeIoDicom *
load_data (const guint8 *data, gsize len, const char *what, gint64 max_pixels, GError **error)
{
  if (max_pixels <= 0)
    max_pixels = default_max_pixels ();
  if (data != NULL && is_png (data, len))
    return load_png (data, len, what, max_pixels, error);
  if (data != NULL && is_tiff (data, len))
    return load_tiff (data, len, what, max_pixels, error);
  g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_NOT_IMAGE, "%s: neither a PNG nor a TIFF file",
               what);
  return NULL;
}

GazeIoDicom *
gaze_io_gray16_load_bytes (const guint8 *data, gsize len, gint64 max_pixels, GError **error)
{
  return load_data (data, len, "image data", max_pixels, error);
}

GazeIoDicom *
gaze_io_gray16_load (const char *path, gint64 max_pixels, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_NOT_IMAGE, "%s: not a regular file", path);
      return NULL;
    }
  g_autoptr (GError) local = NULL;
  g_autoptr (GMappedFile) map = g_mapped_file_new (path, FALSE, &local);
  if (map == NULL)
    {
      g_set_error (error, local->domain, local->code, "%s: %s", path, local->message);
      return NULL;
    }
  return load_data ((const guint8 *) g_mapped_file_get_contents (map),
                    g_mapped_file_get_length (map), path, max_pixels, error);
}

GazeIoImage *
gaze_io_gray16_load_image (const char *path, const GazeIoWindow *window, gint64 max_pixels,
                           GError **error)
{
  g_autoptr (GazeIoDicom) d = gaze_io_gray16_load (path, max_pixels, error);
  if (d == NULL)
    return NULL;
  GazeIoImage *img = gaze_io_dicom_to_image (d, window);
  g_free (img->format);
  img->format
      = g_strdup (g_str_has_prefix (d->meta.transfer_syntax_name, "PNG") ? "png16" : "tiff16");
  return img;
}
