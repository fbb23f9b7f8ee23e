/* test-dicom-isolate.c — the DICOM decoder in a child process: a result comes
 * back whole, an error keeps its code and text, an abort or a crash is an error,
 * a child that stalls (deadlocked after fork) is killed and the decode retried
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "gaze-io-dicom-isolate.h"
#include "gaze-io-image.h"

static GazeIoDicom *
make_dicom (gpointer data, GError **error)
{
  GazeIoDicom *d = g_new0 (GazeIoDicom, 1);
  d->meta.modality = g_strdup ("CT");
  d->meta.study_date = g_strdup ("20261206");
  d->meta.photometric = g_strdup ("MONOCHROME2");
  d->meta.transfer_syntax_uid = g_strdup ("1.2.840.10008.1.2.1");
  d->meta.transfer_syntax_name = g_strdup ("Explicit VR Little Endian");
  d->meta.rows = 3, d->meta.columns = 5, d->meta.frames = 7;
  d->meta.pixel_spacing[0] = 0.5, d->meta.pixel_spacing[1] = 0.75;
  d->meta.spacing_is_imager = TRUE;
  d->meta.n_presets = 2;
  d->meta.presets = g_new (GazeIoWindow, 2);
  d->meta.presets[0] = (GazeIoWindow){ 40, 400, GAZE_IO_VOI_LINEAR };
  d->meta.presets[1] = (GazeIoWindow){ -600, 1500, GAZE_IO_VOI_SIGMOID };
  d->frame = 3, d->width = 5, d->height = 3, d->channels = 1;
  d->values = g_new (float, 15);
  for (int i = 0; i < 15; i++)
    d->values[i] = (float) (i * i) - 1000.5f;
  d->monochrome1 = TRUE;
  d->window = d->meta.presets[1];
  d->min = -1000.5, d->max = 195.5;
  d->voi_lut = g_new (guint16, 4);
  for (int i = 0; i < 4; i++)
    d->voi_lut[i] = (guint16) (i * 1000);
  d->voi_lut_desc = (GazeIoVoiLut){ -2, 12, 4, d->voi_lut };
  return d;
}

static void
test_result_whole (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GazeIoDicom) want = make_dicom (NULL, NULL);
  g_autoptr (GazeIoDicom) got = gaze_io_dicom_isolate (make_dicom, NULL, "x.dcm", &error);

  g_assert_no_error (error);
  g_assert_nonnull (got);
  g_assert_cmpstr (got->meta.modality, ==, "CT");
  g_assert_null (got->meta.body_part);
  g_assert_cmpstr (got->meta.study_date, ==, want->meta.study_date);
  g_assert_cmpstr (got->meta.transfer_syntax_name, ==, want->meta.transfer_syntax_name);
  g_assert_cmpint (got->meta.frames, ==, 7);
  g_assert_cmpfloat (got->meta.pixel_spacing[1], ==, 0.75);
  g_assert_true (got->meta.spacing_is_imager);
  g_assert_cmpint (got->meta.n_presets, ==, 2);
  for (int i = 0; i < 2; i++)
    {
      g_assert_cmpfloat (got->meta.presets[i].center, ==, want->meta.presets[i].center);
      g_assert_cmpfloat (got->meta.presets[i].width, ==, want->meta.presets[i].width);
      g_assert_cmpint (got->meta.presets[i].function, ==, want->meta.presets[i].function);
    }
  g_assert_cmpint (got->frame, ==, 3);
  g_assert_cmpmem (got->values, 15 * sizeof (float), want->values, 15 * sizeof (float));
  g_assert_true (got->monochrome1);
  g_assert_cmpfloat (got->window.center, ==, -600);
  g_assert_cmpfloat (got->min, ==, -1000.5);
  g_assert_cmpuint (got->voi_lut_desc.n_entries, ==, 4);
  g_assert_true (got->voi_lut_desc.entries == got->voi_lut);
  g_assert_cmpint (got->voi_lut_desc.first, ==, -2);
  g_assert_cmpmem (got->voi_lut, 4 * sizeof (guint16), want->voi_lut, 4 * sizeof (guint16));
}

static GazeIoDicom *
refuse (gpointer data, GError **error)
{
  g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_DAMAGED,
               "y.dcm: pixel data has 8 of its 16 bytes");
  return NULL;
}

static void
test_error_kept (void)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (gaze_io_dicom_isolate (refuse, NULL, "y.dcm", &error));
  g_assert_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_DAMAGED);
  g_assert_cmpstr (error->message, ==, "y.dcm: pixel data has 8 of its 16 bytes");
}

static GazeIoDicom *
die (gpointer data, GError **error)
{
  /* What a failed assertion in GDCM does, or a wild pointer. */
  raise (GPOINTER_TO_INT (data));
  return NULL;
}

static void
test_crash_is_an_error (void)
{
  int signals[] = { SIGABRT, SIGSEGV };
  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_null (
          gaze_io_dicom_isolate (die, GINT_TO_POINTER (signals[i]), "hostile.dcm", &error));
      g_assert_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT);
      g_test_message ("%s", error->message);
      g_assert_true (g_str_has_prefix (error->message,
                                       "hostile.dcm: malformed DICOM: the decoder "
                                       "stopped on it"));
    }
}

/* A child that sleeps for good, as one that forked while another thread held
 * a lock it then takes: no CPU, no answer. The first try only (data counts
 * the tries through a file: the retry must start a new child). */
static GazeIoDicom *
hang_first (gpointer data, GError **error)
{
  const char *marker = data;
  if (!g_file_test (marker, G_FILE_TEST_EXISTS))
    {
      g_file_set_contents (marker, "1", 1, NULL);
      for (;;)
        pause ();
    }
  return make_dicom (NULL, error);
}

G_GNUC_NORETURN static GazeIoDicom *
hang_always (gpointer data, GError **error)
{
  for (;;)
    pause ();
}

/* Busy for 2.5 s before answering: decoding, not stalled. */
static GazeIoDicom *
slow_decode (gpointer data, GError **error)
{
  struct timespec t0, t;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  volatile double x = 0;
  do
    {
      for (int i = 0; i < 100000; i++)
        x += i;
      clock_gettime (CLOCK_MONOTONIC, &t);
    }
  while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) * 1e-9 < 2.5);
  return make_dicom (NULL, error);
}

static void
test_stalled_child (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("gaze-isolate-XXXXXX", NULL);
  g_autofree char *marker = g_build_filename (dir, "tried", NULL);
  GazeIoDicom *d;

  gaze_io_dicom_isolate_set_stall_seconds (1);
  /* A deadlocked first child is killed and the decode forked again. */
  d = gaze_io_dicom_isolate (hang_first, marker, "stall.dcm", &error);
  g_assert_no_error (error);
  g_assert_nonnull (d);
  g_assert_cmpint (d->meta.frames, ==, 7);
  gaze_io_dicom_free (d);
  /* Always stalled: a clear error after three tries, not a hang. */
  g_assert_null (gaze_io_dicom_isolate (hang_always, NULL, "stall.dcm", &error));
  g_assert_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_CORRUPT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "stopped answering"));
  g_clear_error (&error);
  /* A child that works longer than the stall time is not cut short. */
  d = gaze_io_dicom_isolate (slow_decode, NULL, "slow.dcm", &error);
  g_assert_no_error (error);
  g_assert_nonnull (d);
  gaze_io_dicom_free (d);
  gaze_io_dicom_isolate_set_stall_seconds (10);
  g_unlink (marker);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dicom-isolate/result-whole", test_result_whole);
  g_test_add_func ("/dicom-isolate/error-kept", test_error_kept);
  g_test_add_func ("/dicom-isolate/crash-is-an-error", test_crash_is_an_error);
  g_test_add_func ("/dicom-isolate/stalled-child", test_stalled_child);
  return g_test_run ();
}
