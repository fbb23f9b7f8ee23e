/* dicom-dump.c — test tool: decodes a DICOM file with gaze-io and writes what
 * it got as .npy for tests/reference/test_dicom.py.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   dicom-dump FILE OUT_PREFIX [--frame N] [--window C,W,FUNCTION]
 *
 * A 16-bit grayscale PNG or TIFF (gaze-io-gray16.h) is read the same way.
 * Writes OUT_PREFIX.values.npy (float32, rows × columns × channels: modality
 * values, or RGB samples), OUT_PREFIX.u8.npy (the 8-bit rendering with the
 * default or given window, as float32) and, with --window,
 * OUT_PREFIX.windowed.npy (float32 in [0, 1], MONOCHROME1 inverted). Prints
 * the metadata as key=value lines; on failure prints "error=<code> <message>"
 * and exits 2.
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gaze-io-dicom.h"
#include "gaze-io-gray16.h" /* issue 14: 16-bit grayscale PNG/TIFF */

static int
write_npy (const char *prefix, const char *suffix, const float *data, int h, int w, int c)
{
  int64_t dims[3] = { h, w, c };
  GzError err = { 0 };
  GzTensor *t = gz_tensor_new (GZ_DTYPE_FLOAT, 3, dims, &err);
  if (t == NULL)
    return 0;
  memcpy (t->data, data, (size_t) h * w * c * sizeof (float));
  g_autofree char *path = g_strconcat (prefix, suffix, NULL);
  int ok = gz_npy_write (path, t, &err) == GZ_OK;
  if (!ok)
    fprintf (stderr, "%s: %s\n", path, err.message);
  gz_tensor_free (t);
  return ok;
}

int
main (int argc, char **argv)
{
  if (argc < 3)
    {
      fprintf (stderr, "usage: dicom-dump FILE OUT_PREFIX [--frame N] [--window C,W,FUNCTION]\n");
      return 1;
    }
  int frame = -1;
  GazeIoWindow window = { 0, 0, GAZE_IO_VOI_LINEAR };
  gboolean has_window = FALSE;
  for (int i = 3; i + 1 < argc; i += 2)
    {
      if (strcmp (argv[i], "--frame") == 0)
        frame = atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--window") == 0)
        {
          g_auto (GStrv) parts = g_strsplit (argv[i + 1], ",", 3);
          if (g_strv_length (parts) != 3
              || !gaze_io_voi_function_parse (parts[2], &window.function))
            {
              fprintf (stderr, "bad --window\n");
              return 1;
            }
          window.center = g_ascii_strtod (parts[0], NULL);
          window.width = g_ascii_strtod (parts[1], NULL);
          has_window = TRUE;
        }
    }
  g_autoptr (GError) error = NULL;
  /* issue 14: a 16-bit grayscale PNG/TIFF (test_gray16.py) gives the same frame. */
  g_autoptr (GazeIoDicom) d = gaze_io_gray16_is_file (argv[1])
      ? gaze_io_gray16_load (argv[1], 0, &error)
      : gaze_io_dicom_load (argv[1], frame, 0, &error);
  if (d == NULL)
    {
      static const char *const codes[]
          = { "NOT_IMAGE", "TOO_LARGE", "CORRUPT", "INVALID", "DAMAGED" };
      const char *code = error->domain == GAZE_IO_ERROR && error->code >= 0 && error->code < 5
          ? codes[error->code]
          : "OTHER";
      printf ("error=%s %s\n", code, error->message);
      return 2;
    }
  gsize n = (gsize) d->width * d->height;
  printf ("rows=%d\ncolumns=%d\nchannels=%d\nframes=%d\nframe=%d\n", d->height, d->width,
          d->channels, d->meta.frames, d->frame);
  printf ("transfer_syntax=%s\ntransfer_syntax_name=%s\n", d->meta.transfer_syntax_uid,
          d->meta.transfer_syntax_name);
  printf ("photometric=%s\nmonochrome1=%d\nvoi_lut=%d\n",
          d->meta.photometric ? d->meta.photometric : "", d->monochrome1, d->voi_lut != NULL);
  printf ("modality=%s\n", d->meta.modality ? d->meta.modality : "");
  printf ("window=%.17g,%.17g,%s\n", d->window.center, d->window.width,
          gaze_io_voi_function_name (d->window.function));
  printf ("spacing=%.17g,%.17g\n", d->meta.pixel_spacing[0], d->meta.pixel_spacing[1]);
  if (!write_npy (argv[2], ".values.npy", d->values, d->height, d->width, d->channels))
    return 3;
  g_autofree guint8 *u8 = g_malloc (n * d->channels);
  gaze_io_dicom_render_u8 (d, has_window ? &window : NULL, u8);
  g_autofree float *f = g_new (float, n * d->channels);
  for (gsize i = 0; i < n * d->channels; i++)
    f[i] = u8[i];
  if (!write_npy (argv[2], ".u8.npy", f, d->height, d->width, d->channels))
    return 3;
  if (has_window && d->channels == 1)
    {
      gaze_io_window_apply (&window, d->monochrome1, d->values, n, f);
      if (!write_npy (argv[2], ".windowed.npy", f, d->height, d->width, 1))
        return 3;
    }
  return 0;
}
