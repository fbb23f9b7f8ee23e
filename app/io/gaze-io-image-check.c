/* gaze-io-image-check.c — what the reference decoders say about a JPEG or PNG file
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-io"

#include "config.h"

/* jpeglib.h needs size_t and FILE declared first. */
#include <stdio.h>

#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <string.h>

#include "gaze-io-image-check.h"

/* A damaged file can repeat one warning for every block: the first few tell. */
#define MAX_MESSAGES 4

static void
add_message (GPtrArray *messages, const char *text)
{
  for (guint i = 0; i < messages->len; i++)
    if (strcmp (g_ptr_array_index (messages, i), text) == 0)
      return;
  if (messages->len < MAX_MESSAGES)
    g_ptr_array_add (messages, g_strdup (text));
}

static GStrv
take_messages (GPtrArray *messages)
{
  if (messages->len == 0)
    {
      g_ptr_array_unref (messages);
      return NULL;
    }
  g_ptr_array_add (messages, NULL);
  return (GStrv) g_ptr_array_free (messages, FALSE);
}

/* ---- JPEG: libjpeg's warnings (level -1) and its fatal error ---- */

typedef struct
{
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  GPtrArray *messages;
} JpegErrors;

static void
jpeg_record (j_common_ptr cinfo)
{
  JpegErrors *e = (JpegErrors *) cinfo->err;
  char text[JMSG_LENGTH_MAX];
  cinfo->err->format_message (cinfo, text);
  add_message (e->messages, text);
}

static void
jpeg_error_exit_cb (j_common_ptr cinfo)
{
  jpeg_record (cinfo);
  longjmp (((JpegErrors *) cinfo->err)->jump, 1);
}

static void
jpeg_emit_message_cb (j_common_ptr cinfo, int level)
{
  /* level < 0: a warning ("Premature end of JPEG file", "Corrupt JPEG
   * data: …"); higher levels are trace messages. */
  if (level < 0)
    {
      cinfo->err->num_warnings++;
      jpeg_record (cinfo);
    }
}

static void
jpeg_output_message_cb (j_common_ptr cinfo)
{
  (void) cinfo; /* nothing goes to stderr */
}

static void
check_jpeg (const guint8 *data, gsize len, GPtrArray *messages)
{
  struct jpeg_decompress_struct cinfo;
  JpegErrors err;
  memset (&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error (&err.pub);
  err.pub.error_exit = jpeg_error_exit_cb;
  err.pub.emit_message = jpeg_emit_message_cb;
  err.pub.output_message = jpeg_output_message_cb;
  err.messages = messages;
  if (setjmp (err.jump))
    {
      jpeg_destroy_decompress (&cinfo);
      return;
    }
  jpeg_create_decompress (&cinfo);
  jpeg_mem_src (&cinfo, data, (unsigned long) len);
  jpeg_read_header (&cinfo, TRUE);
  /* Every entropy-coded bit is still read (that is where damage shows), but
   * an eighth-scale output needs only the DC terms: cheap. */
  cinfo.scale_num = 1;
  cinfo.scale_denom = 8;
  cinfo.dct_method = JDCT_IFAST;
  cinfo.do_fancy_upsampling = FALSE;
  jpeg_start_decompress (&cinfo);
  /* Allocated by libjpeg, freed by jpeg_destroy_decompress (even after a
   * longjmp). */
  JSAMPARRAY row = cinfo.mem->alloc_sarray ((j_common_ptr) &cinfo, JPOOL_IMAGE,
                                            cinfo.output_width * cinfo.output_components, 1);
  while (cinfo.output_scanline < cinfo.output_height)
    if (jpeg_read_scanlines (&cinfo, row, 1) != 1)
      break;
  /* Reads on to the EOI marker: a file cut after the last row warns here. */
  jpeg_finish_decompress (&cinfo);
  jpeg_destroy_decompress (&cinfo);
}

/* ---- PNG: libpng's warnings, benign errors and its fatal error ---- */

typedef struct
{
  const guint8 *data;
  gsize len, pos;
  GPtrArray *messages;
  png_bytep row;
} PngReader;

static void
png_error_cb (png_structp png, png_const_charp message)
{
  PngReader *r = png_get_error_ptr (png);
  add_message (r->messages, message);
  png_longjmp (png, 1);
}

static void
png_warning_cb (png_structp png, png_const_charp message)
{
  PngReader *r = png_get_error_ptr (png);
  add_message (r->messages, message);
}

static void
png_read_cb (png_structp png, png_bytep out, png_size_t n)
{
  PngReader *r = png_get_io_ptr (png);
  if (n > r->len - r->pos)
    png_error (png, "Premature end of PNG file");
  memcpy (out, r->data + r->pos, n);
  r->pos += n;
}

static void
check_png (const guint8 *data, gsize len, GPtrArray *messages)
{
  /* On the heap: what changes after setjmp must not live in this frame. */
  g_autofree PngReader *r = g_new0 (PngReader, 1);
  r->data = data;
  r->len = len;
  r->messages = messages;
  png_structp png = png_create_read_struct (PNG_LIBPNG_VER_STRING, r, png_error_cb, png_warning_cb);
  if (png == NULL)
    return;
  png_infop info = png_create_info_struct (png);
  if (info == NULL)
    {
      png_destroy_read_struct (&png, NULL, NULL);
      return;
    }
  if (setjmp (png_jmpbuf (png)))
    {
      png_free (png, r->row);
      png_destroy_read_struct (&png, &info, NULL);
      return;
    }
  png_set_read_fn (png, r, png_read_cb);
  /* Damage, not taste: ancillary chunks (colour profiles, text, …) are
   * skipped unparsed, so a profile libpng finds odd is no warning, while their
   * CRC is still checked. Critical chunks with a bad CRC are fatal (libpng's
   * default), ancillary ones warn. */
  png_set_keep_unknown_chunks (png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
  png_set_benign_errors (png, 1);
  png_read_info (png, info);
  int passes = png_set_interlace_handling (png);
  png_read_update_info (png, info);
  png_uint_32 height = png_get_image_height (png, info);
  r->row = png_malloc (png, png_get_rowbytes (png, info));
  for (int p = 0; p < passes; p++)
    for (png_uint_32 y = 0; y < height; y++)
      png_read_row (png, r->row, NULL);
  /* The chunks after the image data, up to IEND. */
  png_read_end (png, info);
  png_free (png, r->row);
  r->row = NULL;
  png_destroy_read_struct (&png, &info, NULL);
}

GStrv
gaze_io_image_check_damage (const guint8 *data, gsize len, const char *format)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  if (format == NULL)
    return NULL;
  GPtrArray *messages = g_ptr_array_new_with_free_func (g_free);
  if (strcmp (format, "jpeg") == 0)
    check_jpeg (data, len, messages);
  else if (strcmp (format, "png") == 0)
    check_png (data, len, messages);
  return take_messages (messages);
}
