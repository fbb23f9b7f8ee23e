/* fuzz-sidecar.c — libFuzzer target: MODEL.json bytes through gaze_io_sidecar_parse
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The model folder does not exist, so a "labels" file name resolves to
 * nothing unless it is absolute: those are read (bounded, regular files only).
 */
#include "fuzz-common.h"
#include "gaze-io-sidecar.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GazeIoOverrides s;
  gaze_io_overrides_init (&s);
  GError *error = NULL;
  gboolean have_labels = FALSE;
  if (gaze_io_sidecar_parse ((const char *) data, size, "/nonexistent-gaze-fuzz", "fuzz.json", &s,
                             &have_labels, &error))
    {
      if (error != NULL)
        __builtin_trap ();
      /* What the sidecar set must be in its documented ranges. */
      if ((s.has_resize && (s.resize < 1 || s.resize > 65536))
          || (s.has_crop && (s.crop_width < 1 || s.crop_height < 1))
          || (s.has_channels && s.channels != 1 && s.channels != 3)
          || (s.has_std && (s.std[0] == 0 || s.std[1] == 0 || s.std[2] == 0))
          || (have_labels && s.labels == NULL))
        __builtin_trap ();
      char buf[32];
      for (int i = 0; s.labels != NULL && i < 4; i++)
        (void) gaze_io_label_for ((const char *const *) s.labels, i, buf, sizeof buf);
    }
  else if (error == NULL || error->message == NULL)
    __builtin_trap ();
  g_clear_error (&error);
  gaze_io_overrides_clear (&s);
  return 0;
}
