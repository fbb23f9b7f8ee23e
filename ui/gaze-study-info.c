/* gaze-study-info.c — what a DICOM file says about its image, in the sidebar, and its scale bar
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-study-info"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "gaze-study-info.h"
#include "gaze-window-private.h"

#define DATA_KEY "gaze-study-info"

typedef struct
{
  const char *id;
  const char *title;
} RowSpec;

static const RowSpec rows[] = {
  { "modality", N_ ("Modality") },
  { "body-part", N_ ("Body part") },
  { "study-date", N_ ("Study date") },
  { "size", N_ ("Size") },
  { "spacing", N_ ("Pixel spacing") },
  { "frames", N_ ("Frames") },
  { "transfer-syntax", N_ ("Transfer syntax") },
  /* issue 14, privacy: only with the preference on (show-patient-identifiers);
   * in the order of GazeIoDicomIdentifier. */
  { "patient-name", N_ ("Patient") },
  { "patient-id", N_ ("Patient ID") },
  { "birth-date", N_ ("Birth date") },
  { "accession-number", N_ ("Accession number") },
  { "institution", N_ ("Institution") },
  { "referring-physician", N_ ("Referring physician") },
};

#define FIRST_IDENTIFIER_ROW 7
G_STATIC_ASSERT (G_N_ELEMENTS (rows) == FIRST_IDENTIFIER_ROW + GAZE_IO_DICOM_N_IDENTIFIERS);

typedef struct
{
  GazeWindow *window; /* not a reference: this lives as the window's data */
  GtkWidget *panel;
  GtkWidget *titles[G_N_ELEMENTS (rows)];
  GtkLabel *values[G_N_ELEMENTS (rows)];
} StudyInfo;

static StudyInfo *
get_info (GazeWindow *window)
{
  StudyInfo *info = g_object_get_data (G_OBJECT (window), DATA_KEY);

  g_assert (info != NULL);
  return info;
}

static int
row_index (const char *id)
{
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    if (g_str_equal (rows[i].id, id))
      return (int) i;
  return -1;
}

/* Shows a row with text, or hides it (text NULL or empty). */
static void
set_row (StudyInfo *info, const char *id, const char *text)
{
  int i = row_index (id);
  gboolean shown = text != NULL && *text != '\0';

  g_assert (i >= 0);
  gtk_label_set_text (info->values[i], shown ? text : "");
  gtk_widget_set_visible (info->titles[i], shown);
  gtk_widget_set_visible (GTK_WIDGET (info->values[i]), shown);
}

/* YYYYMMDD as YYYY-MM-DD; anything else as it is. */
static char *
format_date (const char *date)
{
  if (date == NULL)
    return NULL;
  if (strlen (date) == 8 && strspn (date, "0123456789") == 8)
    return g_strdup_printf ("%.4s-%.2s-%.2s", date, date + 4, date + 6);
  return g_strdup (date);
}

static char *
format_spacing (const GazeIoDicomMeta *meta)
{
  const char *source;

  if (meta->pixel_spacing[0] <= 0 || meta->pixel_spacing[1] <= 0)
    return NULL;
  /* Imager Pixel Spacing is measured at the detector, not in the patient. */
  source = meta->spacing_is_imager ? _ (" (at the detector)") : "";
  if (meta->pixel_spacing[0] == meta->pixel_spacing[1])
    return g_strdup_printf (_ ("%g mm%s"), meta->pixel_spacing[0], source);
  return g_strdup_printf (_ ("%g × %g mm%s"), meta->pixel_spacing[0], meta->pixel_spacing[1],
                          source);
}

/* An identifier as the panel shows it: valid UTF-8 (the file may use another
 * character set), a person name's "^" as spaces, a date as YYYY-MM-DD. */
static char *
format_identifier (GazeIoDicomIdentifier which, const char *value)
{
  g_autofree char *text = NULL;

  if (value == NULL || *value == '\0')
    return NULL;
  text = g_utf8_make_valid (value, -1);
  if (which == GAZE_IO_DICOM_PATIENT_BIRTH_DATE)
    return format_date (text);
  if (which == GAZE_IO_DICOM_PATIENT_NAME || which == GAZE_IO_DICOM_REFERRING_PHYSICIAN)
    g_strdelimit (text, "^", ' ');
  return g_steal_pointer (&text);
}

static void
show_identifiers (StudyInfo *info, const GazeIoDicomMeta *meta)
{
  gboolean wanted = g_settings_get_boolean (info->window->settings, "show-patient-identifiers");

  for (int i = 0; i < GAZE_IO_DICOM_N_IDENTIFIERS; i++)
    {
      g_autofree char *text
          = wanted && meta != NULL ? format_identifier (i, meta->identifiers[i]) : NULL;

      set_row (info, rows[FIRST_IDENTIFIER_ROW + i].id, text);
    }
}

static void
identifiers_setting_changed_cb (GSettings *settings, const char *key, GazeWindow *window)
{
  gaze_study_info_image_shown (window);
}

static GtkWidget *
build_panel (StudyInfo *info)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *heading = gtk_label_new (_ ("Study"));
  GtkWidget *grid = gtk_grid_new ();

  gtk_widget_set_name (box, "study-info");
  gtk_label_set_xalign (GTK_LABEL (heading), 0);
  gtk_widget_add_css_class (heading, "heading");
  gtk_box_append (GTK_BOX (box), heading);

  gtk_grid_set_row_spacing (GTK_GRID (grid), 2);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      GtkWidget *title = gtk_label_new (_ (rows[i].title));
      GtkWidget *value = gtk_label_new (NULL);

      gtk_label_set_xalign (GTK_LABEL (title), 0);
      gtk_label_set_yalign (GTK_LABEL (title), 0);
      gtk_widget_add_css_class (title, "dim-label");
      gtk_label_set_xalign (GTK_LABEL (value), 0);
      gtk_label_set_wrap (GTK_LABEL (value), TRUE);
      gtk_label_set_wrap_mode (GTK_LABEL (value), PANGO_WRAP_WORD_CHAR);
      gtk_label_set_selectable (GTK_LABEL (value), TRUE);
      gtk_widget_set_hexpand (value, TRUE);
      gtk_widget_set_name (value, rows[i].id);
      gtk_grid_attach (GTK_GRID (grid), title, 0, (int) i, 1, 1);
      gtk_grid_attach (GTK_GRID (grid), value, 1, (int) i, 1, 1);
      info->titles[i] = title;
      info->values[i] = GTK_LABEL (value);
    }
  gtk_box_append (GTK_BOX (box), grid);
  gtk_widget_set_visible (box, FALSE);
  return box;
}

void
gaze_study_info_attach (GazeWindow *window)
{
  StudyInfo *info;
  GtkWidget *sidebar_box;

  g_return_if_fail (GAZE_IS_WINDOW (window));
  g_return_if_fail (g_object_get_data (G_OBJECT (window), DATA_KEY) == NULL);

  info = g_new0 (StudyInfo, 1);
  info->window = window;
  g_object_set_data_full (G_OBJECT (window), DATA_KEY, info, g_free);

  /* Below the sidebar's page stack (window/level sits above it). */
  sidebar_box = gtk_widget_get_parent (GTK_WIDGET (window->sidebar_stack));
  g_assert (GTK_IS_BOX (sidebar_box));
  info->panel = build_panel (info);
  gtk_box_append (GTK_BOX (sidebar_box), info->panel);
  g_signal_connect_object (window->settings, "changed::show-patient-identifiers",
                           G_CALLBACK (identifiers_setting_changed_cb), window, 0);
}

void
gaze_study_info_image_shown (GazeWindow *window)
{
  StudyInfo *info;
  GazeGrayFrame *frame;
  const GazeIoDicom *dicom;
  const GazeIoDicomMeta *meta;
  g_autofree char *date = NULL, *size = NULL, *spacing = NULL, *frames = NULL;
  g_autofree char *syntax = NULL;

  g_return_if_fail (GAZE_IS_WINDOW (window));

  info = get_info (window);
  frame = window->image != NULL ? gaze_image_get_gray_frame (window->image) : NULL;
  gaze_image_view_set_mm_per_pixel (
      window->image_view, window->image != NULL ? gaze_image_get_mm_per_pixel (window->image) : 0);
  gtk_widget_set_visible (info->panel, frame != NULL);
  if (frame == NULL)
    {
      show_identifiers (info, NULL);
      return;
    }

  dicom = gaze_gray_frame_get_dicom (frame);
  meta = &dicom->meta;
  date = format_date (meta->study_date);
  size = g_strdup_printf (_ ("%d × %d pixels"), dicom->width, dicom->height);
  spacing = format_spacing (meta);
  if (meta->frames > 1)
    frames = g_strdup_printf ("%d", meta->frames);
  if (meta->transfer_syntax_uid != NULL)
    syntax = meta->transfer_syntax_name != NULL
        ? g_strdup_printf ("%s (%s)", meta->transfer_syntax_name, meta->transfer_syntax_uid)
        : g_strdup (meta->transfer_syntax_uid);

  set_row (info, "modality", meta->modality);
  set_row (info, "body-part", meta->body_part);
  set_row (info, "study-date", date);
  set_row (info, "size", size);
  set_row (info, "spacing", spacing);
  set_row (info, "frames", frames);
  set_row (info, "transfer-syntax", syntax);
  show_identifiers (info, meta);
}

const char *
gaze_study_info_get_value (GazeWindow *window, const char *row)
{
  StudyInfo *info;
  int i;

  g_return_val_if_fail (GAZE_IS_WINDOW (window) && row != NULL, NULL);

  info = get_info (window);
  i = row_index (row);
  if (i < 0 || !gtk_widget_get_visible (info->panel)
      || !gtk_widget_get_visible (GTK_WIDGET (info->values[i])))
    return NULL;
  return gtk_label_get_text (info->values[i]);
}
