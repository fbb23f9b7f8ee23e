/* gaze-io-window.h — DICOM VOI (window/level) functions, PS3.3 C.11.2.1.2
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Pure C (libc, libm): maps modality values (e.g. Hounsfield units) to a
 * display range [0, 1]. The decoded values stay in memory, so re-windowing is
 * a pass over them, never a re-decode.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

  typedef enum
  {
    GAZE_IO_VOI_LINEAR = 0, /* the default when a file names none */
    GAZE_IO_VOI_LINEAR_EXACT,
    GAZE_IO_VOI_SIGMOID,
  } GazeIoVoiFunction;

  typedef struct
  {
    double center;
    double width;
    GazeIoVoiFunction function;
  } GazeIoWindow;

  /* A VOI LUT (from a VOI LUT Sequence): entries[i] is the output for input
   * first + i; inputs below first map to entries[0], above the end to the last
   * entry. Outputs are scaled by 1 / (2^bits - 1). */
  typedef struct
  {
    int first;
    int bits;
    size_t n_entries;
    const uint16_t *entries;
  } GazeIoVoiLut;

  /* "LINEAR", "LINEAR_EXACT", "SIGMOID" (case and trailing blanks ignored);
   * returns 0 and leaves *out alone for anything else. */
  int gaze_io_voi_function_parse (const char *name, GazeIoVoiFunction *out);
  const char *gaze_io_voi_function_name (GazeIoVoiFunction function);

  /* Whether the width is usable for its function (LINEAR: >= 1; others: > 0). */
  int gaze_io_window_valid (const GazeIoWindow *window);

  /* The window spanning min..max exactly (LINEAR_EXACT; a flat image gets width 1). */
  GazeIoWindow gaze_io_window_from_range (double min, double max);

  /* One value through the window: [0, 1]. */
  double gaze_io_window_apply1 (const GazeIoWindow *window, double x);

  /* n values through the window, then optionally inverted (MONOCHROME1), into
   * [0, 1] floats or 0..255 bytes (rounded). */
  void gaze_io_window_apply (const GazeIoWindow *window, int invert, const float *values, size_t n,
                             float *out);
  void gaze_io_window_apply_u8 (const GazeIoWindow *window, int invert, const float *values,
                                size_t n, uint8_t *out);
  void gaze_io_voi_lut_apply_u8 (const GazeIoVoiLut *lut, int invert, const float *values, size_t n,
                                 uint8_t *out);

  /* Minimum and maximum of n values (n > 0). */
  void gaze_io_window_range (const float *values, size_t n, double *min, double *max);

#ifdef __cplusplus
}
#endif
