/* gaze-study-info.h — what a DICOM file says about its image, in the sidebar, and its scale bar
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Attached to a GazeWindow: for a grayscale DICOM or 16-bit image, a sidebar
 * group lists modality, body part, study date, rows × columns, pixel spacing,
 * frames and transfer syntax, and the image view draws a millimetre scale bar
 * from the pixel spacing. Hidden for ordinary photos. Patient identifiers
 * (issue 14) are shown here, and only here, when the preference
 * show-patient-identifiers is on; they are never in titles, exports or logs.
 */
#pragma once

#include "gaze-window.h"

G_BEGIN_DECLS

/* Called once by the window (init), then whenever it shows a new image. */
void gaze_study_info_attach (GazeWindow *window);
void gaze_study_info_image_shown (GazeWindow *window);

/* The value shown for a row ("modality", "body-part", "study-date", "size",
 * "spacing", "frames", "transfer-syntax"; with the preference on,
 * "patient-name", "patient-id", "birth-date", "accession-number",
 * "institution", "referring-physician"); NULL when the row is hidden. */
const char *gaze_study_info_get_value (GazeWindow *window, const char *row);

G_END_DECLS
