/* gaze-io-dicom.h — reading one frame of a DICOM file (GDCM, behind C)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The frame is decoded to stored values and put through the Modality LUT
 * (Rescale Slope/Intercept or a Modality LUT Sequence); the resulting modality
 * values (e.g. Hounsfield units) stay in memory as floats, so re-windowing
 * (VOI: Window Center/Width with LINEAR, LINEAR_EXACT or SIGMOID, or a VOI LUT
 * Sequence; then MONOCHROME1 inversion) is a lookup, not a re-decode. Colour
 * files (RGB, YBR_FULL, YBR_FULL_422, PALETTE COLOR) come back as RGB values.
 *
 * Patient identifiers (name, ID, birth date, accession number, institution,
 * referring physician) are read into their own array, for one reader only:
 * the viewer's Study panel when the user asks for them (issue 14, privacy).
 * Nothing else — window titles, captions, exports, logs, gaze-cli — may use it.
 */
#pragma once

#include <glib.h>

#include "gaze-io-image.h"
#include "gaze-io-window.h"

G_BEGIN_DECLS

typedef enum
{
  GAZE_IO_DICOM_PATIENT_NAME, /* (0010,0010) */
  GAZE_IO_DICOM_PATIENT_ID, /* (0010,0020) */
  GAZE_IO_DICOM_PATIENT_BIRTH_DATE, /* (0010,0030) */
  GAZE_IO_DICOM_ACCESSION_NUMBER, /* (0008,0050) */
  GAZE_IO_DICOM_INSTITUTION, /* (0008,0080) */
  GAZE_IO_DICOM_REFERRING_PHYSICIAN, /* (0008,0090) */
  GAZE_IO_DICOM_N_IDENTIFIERS
} GazeIoDicomIdentifier;

typedef struct
{
  char *modality; /* (0008,0060), or NULL */
  char *body_part; /* (0018,0015), or NULL */
  char *study_date; /* (0008,0020) YYYYMMDD, or NULL */
  char *photometric; /* (0028,0004) */
  char *transfer_syntax_uid;
  char *transfer_syntax_name;
  int rows, columns;
  int frames; /* number of frames in the file */
  double pixel_spacing[2]; /* row, column spacing in mm; 0 when absent */
  gboolean spacing_is_imager; /* from Imager Pixel Spacing (0018,1164) */
  GazeIoWindow *presets; /* windows named in the file */
  int n_presets;
  /* The raw values (not checked to be UTF-8), or NULL; see above for who may
   * read them. */
  char *identifiers[GAZE_IO_DICOM_N_IDENTIFIERS];
} GazeIoDicomMeta;

typedef struct
{
  GazeIoDicomMeta meta;
  int frame; /* the decoded frame */
  int width, height;
  int channels; /* 1 (grayscale: modality values) or 3 (RGB 0..255) */
  float *values; /* width * height * channels, interleaved */
  gboolean monochrome1; /* invert after the VOI */
  GazeIoWindow window; /* default: the first preset, else the values' min..max */
  double min, max; /* of values */
  guint16 *voi_lut; /* a VOI LUT Sequence's first LUT, or NULL */
  GazeIoVoiLut voi_lut_desc;
} GazeIoDicom;

/* Whether the bytes start like a DICOM file ("DICM" at offset 128). */
gboolean gaze_io_dicom_sniff (const guint8 *data, gsize len);

/* frame < 0: the middle frame. max_pixels <= 0: the engine's default limit.
 * Errors are GAZE_IO_ERROR: NOT_IMAGE (not DICOM / no pixel data), TOO_LARGE,
 * CORRUPT (unsupported transfer syntax, named; bad attributes), DAMAGED (pixel
 * data shorter than declared), INVALID (frame out of range). */
GazeIoDicom *gaze_io_dicom_load (const char *path, int frame, gint64 max_pixels, GError **error);
GazeIoDicom *gaze_io_dicom_load_bytes (const guint8 *data, gsize len, int frame, gint64 max_pixels,
                                       GError **error);
void gaze_io_dicom_free (GazeIoDicom *dicom);

/* Renders through a window (NULL: a VOI LUT Sequence if the file has one,
 * else dicom->window) into 8-bit: gray8 (width * height) for grayscale, RGB8
 * for colour (colour ignores the window). */
void gaze_io_dicom_render_u8 (const GazeIoDicom *dicom, const GazeIoWindow *window, guint8 *out);

/* The frame as an RGB8 GazeIoImage (gray replicated; is_gray set), format "dicom". */
GazeIoImage *gaze_io_dicom_to_image (const GazeIoDicom *dicom, const GazeIoWindow *window);

/* Loads frame (< 0: the middle one) of a DICOM file as an RGB8 image seen
 * through window (NULL: the file's VOI LUT, first window preset, or min..max). */
GazeIoImage *gaze_io_dicom_load_image (const char *path, int frame, const GazeIoWindow *window,
                                       gint64 max_pixels, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GazeIoDicom, gaze_io_dicom_free)

G_END_DECLS
