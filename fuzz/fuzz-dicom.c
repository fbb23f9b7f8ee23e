/* fuzz-dicom.c — libFuzzer target: DICOM bytes through gaze_io_dicom_load_bytes
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The bounds-checked walk (gaze-io-dicom-scan.c) and GDCM behind it; a frame
 * that loads is rendered through its default window and a fixed one, and its
 * size checked against the limit given.
 */
#include "fuzz-common.h"
#include "gaze-io-dicom.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  /* A small pixel limit keeps each run fast; frame -1: the middle one. */
  GazeIoDicom *d = gaze_io_dicom_load_bytes (data, size, -1, 1 << 20, &error);
  if (d == NULL)
    {
      if (error == NULL || error->message == NULL)
        __builtin_trap ();
      g_clear_error (&error);
      return 0;
    }
  if (error != NULL || d->width <= 0 || d->height <= 0 || (gint64) d->width * d->height > 1 << 20
      || (d->channels != 1 && d->channels != 3) || d->values == NULL)
    __builtin_trap ();
  gsize n = (gsize) d->width * d->height * d->channels;
  guint8 *out = g_malloc (n);
  gaze_io_dicom_render_u8 (d, NULL, out);
  GazeIoWindow w = { 40.0, 400.0, GAZE_IO_VOI_SIGMOID };
  gaze_io_dicom_render_u8 (d, &w, out);
  g_free (out);
  GazeIoImage *img = gaze_io_dicom_to_image (d, NULL);
  gaze_io_image_free (img);
  gaze_io_dicom_free (d);
  return 0;
}
