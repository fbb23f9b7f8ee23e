/* gaze-window-level.c — window/level for grayscale DICOM and 16-bit images, like a radiology viewer
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-window-level"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "gaze-window-level.h"
#include "gaze-window-private.h"

#define DATA_KEY "gaze-window-level"
/* Pixels of drag that sweep the whole range of the values. */
#define DRAG_SPAN 500.0

typedef struct
{
  const char *id;
  const char *name;
  double center, width;
} CtPreset;

static const CtPreset ct_presets[] = {
  { "lung", N_ ("Lung"), -600, 1500 },
  { "mediastinum", N_ ("Mediastinum"), 40, 400 },
  { "bone", N_ ("Bone"), 400, 1800 },
  { "brain", N_ ("Brain"), 40, 80 },
};

typedef struct
{
  GazeWindow *window; /* not a reference: this lives as the window's data */
  GtkGesture *drag;
  GazeIoWindow drag_start;
  GtkLabel *label; /* C/W over the image */
  GtkWidget *panel; /* sidebar: presets, frame */
  GtkMenuButton *presets_button;
  GtkWidget *frame_box;
  GtkScale *frame_scale;
  GtkLabel *frame_label;
  GSimpleActionGroup *actions;
  guint debounce_source;
  GCancellable *frame_cancellable;
  gboolean updating;
  guint n_analyses;
} WindowLevel;

static WindowLevel *
get_wl (GazeWindow *window)
{
  WindowLevel *wl = g_object_get_data (G_OBJECT (window), DATA_KEY);

  g_assert (wl != NULL);
  return wl;
}

static GazeGrayFrame *
current_frame (WindowLevel *wl)
{
  GazeImage *image = wl->window->image;

  return image != NULL ? gaze_image_get_gray_frame (image) : NULL;
}

/* ---- The C/W label ------------------------------------------------------ */

static void
update_label (WindowLevel *wl)
{
  GazeImage *image = wl->window->image;
  GazeIoWindow voi;
  g_autofree char *text = NULL;
  const GazeIoDicom *dicom;
  double range;
  int digits;

  if (image == NULL || !gaze_image_get_window (image, &voi, NULL))
    {
      gtk_widget_set_visible (GTK_WIDGET (wl->label), FALSE);
      return;
    }
  /* Integers for HU and 16-bit values; decimals for small float ranges. */
  dicom = gaze_gray_frame_get_dicom (gaze_image_get_gray_frame (image));
  range = dicom->max - dicom->min;
  digits = range >= 100 ? 0 : range >= 1 ? 2 : 4;
  /* Translators: window center (level) and width on the image, e.g. "C 40  W 400" */
  text = g_strdup_printf (_ ("C %.*f  W %.*f"), digits, voi.center, digits, voi.width);
  gtk_label_set_text (wl->label, text);
  gtk_widget_set_visible (GTK_WIDGET (wl->label), TRUE);
}

/* ---- Re-windowing --------------------------------------------------------- */

static gboolean
debounce_cb (gpointer user_data)
{
  WindowLevel *wl = user_data;

  wl->debounce_source = 0;
  wl->n_analyses++;
  _gaze_window_request_analysis (wl->window);
  return G_SOURCE_REMOVE;
}

/* Shows image in place of the current one without moving the viewport. */
static void
replace_image (WindowLevel *wl, GazeImage *image)
{
  GazeWindow *win = wl->window;
  gboolean fit;
  double zoom, cx, cy;

  /* The heatmap belongs to the old pixels: gone now, never shown over these. */
  _gaze_window_drop_results (win);
  gaze_image_view_get_viewport (win->image_view, &fit, &zoom, &cx, &cy);
  g_clear_pointer (&win->image, gaze_image_unref);
  win->image = gaze_image_ref (image);
  gaze_image_view_set_texture (win->image_view, gaze_image_get_texture (image));
  gaze_image_view_set_texture (win->compare_view, gaze_image_get_texture (image));
  gaze_image_view_set_levels (win->image_view, gaze_image_get_levels (image));
  gaze_image_view_set_levels (win->compare_view, gaze_image_get_levels (image));
  gaze_image_view_set_viewport (win->image_view, fit, zoom, cx, cy);
  gaze_image_view_set_viewport (win->compare_view, fit, zoom, cx, cy);
  update_label (wl);

  /* The model's input changed: analyse once the window rests. */
  g_clear_handle_id (&wl->debounce_source, g_source_remove);
  wl->debounce_source = g_timeout_add (GAZE_WINDOW_LEVEL_DEBOUNCE_MS, debounce_cb, wl);
}

static gboolean
set_window (WindowLevel *wl, const GazeIoWindow *voi)
{
  GazeImage *image = wl->window->image;
  GazeGrayFrame *frame = current_frame (wl);
  g_autoptr (GazeImage) windowed = NULL;

  if (frame == NULL)
    return FALSE;
  windowed = gaze_image_new_for_gray_frame (frame, voi, gaze_image_get_file (image));
  replace_image (wl, windowed);
  return TRUE;
}

static void
drag_begin_cb (GtkGestureDrag *gesture, double x, double y, WindowLevel *wl)
{
  GazeImage *image = wl->window->image;

  if (image == NULL || !gaze_image_get_window (image, &wl->drag_start, NULL))
    {
      gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
      return;
    }
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
}

static void
drag_update_cb (GtkGestureDrag *gesture, double dx, double dy, WindowLevel *wl)
{
  GazeGrayFrame *frame = current_frame (wl);
  const GazeIoDicom *dicom;
  GazeIoWindow voi;
  double step;

  if (frame == NULL)
    return;
  dicom = gaze_gray_frame_get_dicom (frame);
  /* A drag of DRAG_SPAN pixels sweeps the values' whole range. */
  step = MAX (dicom->max - dicom->min, 1e-6) / DRAG_SPAN;
  voi = wl->drag_start;
  voi.width
      = MAX (wl->drag_start.width + dx * step, voi.function == GAZE_IO_VOI_LINEAR ? 1.0 : step);
  voi.center = wl->drag_start.center + dy * step;
  set_window (wl, &voi);
}

/* ---- Presets -------------------------------------------------------------- */

static void
preset_activated_cb (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  WindowLevel *wl = user_data;
  const char *id = g_variant_get_string (parameter, NULL);
  GazeGrayFrame *frame = current_frame (wl);
  const GazeIoDicom *dicom;
  GazeIoWindow voi = { 0, 0, GAZE_IO_VOI_LINEAR };

  if (frame == NULL)
    return;
  dicom = gaze_gray_frame_get_dicom (frame);
  if (g_str_equal (id, "reset"))
    {
      set_window (wl, NULL);
      return;
    }
  if (g_str_has_prefix (id, "file-"))
    {
      guint64 i = g_ascii_strtoull (id + 5, NULL, 10);

      if (i >= (guint64) dicom->meta.n_presets)
        return;
      voi = dicom->meta.presets[i];
      set_window (wl, &voi);
      return;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (ct_presets); i++)
    if (g_str_equal (id, ct_presets[i].id) && gaze_gray_frame_is_ct (frame))
      {
        voi.center = ct_presets[i].center;
        voi.width = ct_presets[i].width;
        set_window (wl, &voi);
        return;
      }
}

static void
rebuild_presets_menu (WindowLevel *wl, GazeGrayFrame *frame)
{
  g_autoptr (GMenu) menu = g_menu_new ();
  g_autoptr (GMenu) file_section = g_menu_new ();
  g_autoptr (GMenu) ct_section = g_menu_new ();
  g_autoptr (GMenu) reset_section = g_menu_new ();
  const GazeIoDicom *dicom = gaze_gray_frame_get_dicom (frame);

  for (int i = 0; i < dicom->meta.n_presets; i++)
    {
      /* Translators: a window (center/width) stored in the DICOM file */
      g_autofree char *label = g_strdup_printf (_ ("File window %d"), i + 1);
      g_autofree char *action = g_strdup_printf ("wl.preset::file-%d", i);

      g_menu_append (file_section, label, action);
    }
  if (gaze_gray_frame_is_ct (frame))
    for (gsize i = 0; i < G_N_ELEMENTS (ct_presets); i++)
      {
        g_autofree char *action = g_strdup_printf ("wl.preset::%s", ct_presets[i].id);
        g_autofree char *label = g_strdup_printf ("%s (%g / %g)", _ (ct_presets[i].name),
                                                  ct_presets[i].center, ct_presets[i].width);

        g_menu_append (ct_section, label, action);
      }
  /* Translators: back to the file's own window */
  g_menu_append (reset_section, _ ("Reset"), "wl.preset::reset");
  g_menu_append_section (menu, NULL, G_MENU_MODEL (file_section));
  g_menu_append_section (menu, NULL, G_MENU_MODEL (ct_section));
  g_menu_append_section (menu, NULL, G_MENU_MODEL (reset_section));
  gtk_menu_button_set_menu_model (wl->presets_button, G_MENU_MODEL (menu));
}

/* ---- Frames --------------------------------------------------------------- */

static void
frame_loaded_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GazeWindow) win = user_data;
  g_autoptr (GazeGrayFrame) frame = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GazeImage) image = NULL;
  GazeIoWindow voi;
  gboolean custom = FALSE;
  WindowLevel *wl;

  frame = gaze_gray_frame_load_finish (res, &error);
  _gaze_window_pending_end (win);
  /* Superseded by a newer frame, or the window went away. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  wl = g_object_get_data (G_OBJECT (win), DATA_KEY);
  if (wl == NULL || win->image == NULL)
    return;
  if (frame == NULL)
    {
      _gaze_window_show_error (win, error);
      return;
    }
  if (!gaze_gray_frame_is_gray (frame))
    return;
  /* A window the user chose stays across frames. */
  gaze_image_get_window (win->image, &voi, &custom);
  image = gaze_image_new_for_gray_frame (frame, custom ? &voi : NULL,
                                         gaze_image_get_file (win->image));
  g_clear_handle_id (&wl->debounce_source, g_source_remove);
  _gaze_window_show_image (win, image);
}

static void
update_frame_label (WindowLevel *wl, int frame, int frames)
{
  /* Translators: frame number of a multi-frame DICOM file, "3 / 10" */
  g_autofree char *text = g_strdup_printf (_ ("%d / %d"), frame + 1, frames);

  gtk_label_set_text (wl->frame_label, text);
}

static void
frame_changed_cb (GtkRange *range, WindowLevel *wl)
{
  GazeGrayFrame *frame = current_frame (wl);
  const GazeIoDicom *dicom;
  int index;

  if (wl->updating || frame == NULL)
    return;
  dicom = gaze_gray_frame_get_dicom (frame);
  index = (int) lround (gtk_range_get_value (range)) - 1;
  update_frame_label (wl, index, dicom->meta.frames);
  if (index == dicom->frame)
    return;

  /* A newer frame request cancels the older one. */
  if (wl->frame_cancellable != NULL)
    g_cancellable_cancel (wl->frame_cancellable);
  g_clear_object (&wl->frame_cancellable);
  wl->frame_cancellable = g_cancellable_new ();
  _gaze_window_pending_begin (wl->window);
  gaze_gray_frame_load_async (gaze_gray_frame_get_path (frame), index, wl->frame_cancellable,
                              frame_loaded_cb, g_object_ref (wl->window));
}

/* ---- Setup ---------------------------------------------------------------- */

static GtkWidget *
build_panel (WindowLevel *wl)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *heading = gtk_label_new (_ ("Window"));
  GtkWidget *frame_heading;

  gtk_label_set_xalign (GTK_LABEL (heading), 0);
  gtk_widget_add_css_class (heading, "heading");
  gtk_box_append (GTK_BOX (box), heading);

  wl->presets_button = GTK_MENU_BUTTON (gtk_menu_button_new ());
  gtk_menu_button_set_label (wl->presets_button, _ ("Window Presets"));
  gtk_menu_button_set_use_underline (wl->presets_button, TRUE);
  gtk_widget_set_tooltip_text (
      GTK_WIDGET (wl->presets_button),
      _ ("Right-drag on the image: horizontal changes the width, vertical the level"));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (wl->presets_button));

  wl->frame_box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  frame_heading = gtk_label_new_with_mnemonic (_ ("_Frame"));
  wl->frame_scale = GTK_SCALE (gtk_scale_new_with_range (GTK_ORIENTATION_HORIZONTAL, 1, 2, 1));
  gtk_widget_set_name (GTK_WIDGET (wl->frame_scale), "frame-scale");
  gtk_scale_set_draw_value (wl->frame_scale, FALSE);
  gtk_widget_set_hexpand (GTK_WIDGET (wl->frame_scale), TRUE);
  gtk_label_set_mnemonic_widget (GTK_LABEL (frame_heading), GTK_WIDGET (wl->frame_scale));
  wl->frame_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_widget_add_css_class (GTK_WIDGET (wl->frame_label), "numeric");
  gtk_box_append (GTK_BOX (wl->frame_box), frame_heading);
  gtk_box_append (GTK_BOX (wl->frame_box), GTK_WIDGET (wl->frame_scale));
  gtk_box_append (GTK_BOX (wl->frame_box), GTK_WIDGET (wl->frame_label));
  g_signal_connect (wl->frame_scale, "value-changed", G_CALLBACK (frame_changed_cb), wl);
  gtk_box_append (GTK_BOX (box), wl->frame_box);

  gtk_widget_set_visible (box, FALSE);
  return box;
}

static void
window_destroy_cb (GtkWidget *widget, WindowLevel *wl)
{
  g_clear_handle_id (&wl->debounce_source, g_source_remove);
  if (wl->frame_cancellable != NULL)
    g_cancellable_cancel (wl->frame_cancellable);
}

static void
window_level_free (WindowLevel *wl)
{
  g_clear_handle_id (&wl->debounce_source, g_source_remove);
  if (wl->frame_cancellable != NULL)
    g_cancellable_cancel (wl->frame_cancellable);
  g_clear_object (&wl->frame_cancellable);
  g_clear_object (&wl->actions);
  g_free (wl);
}

void
gaze_window_level_attach (GazeWindow *window)
{
  WindowLevel *wl;
  GtkWidget *overlay, *sidebar_box;
  g_autoptr (GSimpleAction) preset = NULL;

  g_return_if_fail (GAZE_IS_WINDOW (window));
  g_return_if_fail (g_object_get_data (G_OBJECT (window), DATA_KEY) == NULL);

  wl = g_new0 (WindowLevel, 1);
  wl->window = window;
  g_object_set_data_full (G_OBJECT (window), DATA_KEY, wl, (GDestroyNotify) window_level_free);
  g_signal_connect (window, "destroy", G_CALLBACK (window_destroy_cb), wl);

  /* Right-button drag on the main view. */
  wl->drag = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (wl->drag), GDK_BUTTON_SECONDARY);
  g_signal_connect (wl->drag, "drag-begin", G_CALLBACK (drag_begin_cb), wl);
  g_signal_connect (wl->drag, "drag-update", G_CALLBACK (drag_update_cb), wl);
  gtk_widget_add_controller (GTK_WIDGET (window->image_view), GTK_EVENT_CONTROLLER (wl->drag));

  /* C/W in the view's top right corner (its parent is an overlay). */
  overlay = gtk_widget_get_parent (GTK_WIDGET (window->image_view));
  g_assert (GTK_IS_OVERLAY (overlay));
  wl->label = GTK_LABEL (gtk_label_new (NULL));
  gtk_widget_set_name (GTK_WIDGET (wl->label), "window-level-label");
  gtk_widget_set_halign (GTK_WIDGET (wl->label), GTK_ALIGN_END);
  gtk_widget_set_valign (GTK_WIDGET (wl->label), GTK_ALIGN_START);
  gtk_widget_set_margin_end (GTK_WIDGET (wl->label), 12);
  gtk_widget_set_margin_top (GTK_WIDGET (wl->label), 12);
  gtk_widget_set_can_target (GTK_WIDGET (wl->label), FALSE);
  gtk_widget_add_css_class (GTK_WIDGET (wl->label), "osd");
  gtk_widget_add_css_class (GTK_WIDGET (wl->label), "compare-label");
  gtk_widget_add_css_class (GTK_WIDGET (wl->label), "numeric");
  gtk_widget_set_visible (GTK_WIDGET (wl->label), FALSE);
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), GTK_WIDGET (wl->label));

  /* Presets and frames at the top of the sidebar. */
  sidebar_box = gtk_widget_get_parent (GTK_WIDGET (window->sidebar_stack));
  g_assert (GTK_IS_BOX (sidebar_box));
  wl->panel = build_panel (wl);
  gtk_box_prepend (GTK_BOX (sidebar_box), wl->panel);

  wl->actions = g_simple_action_group_new ();
  preset = g_simple_action_new ("preset", G_VARIANT_TYPE_STRING);
  g_signal_connect (preset, "activate", G_CALLBACK (preset_activated_cb), wl);
  g_action_map_add_action (G_ACTION_MAP (wl->actions), G_ACTION (preset));
  gtk_widget_insert_action_group (GTK_WIDGET (window), "wl", G_ACTION_GROUP (wl->actions));
}

void
gaze_window_level_image_shown (GazeWindow *window)
{
  WindowLevel *wl;
  GazeGrayFrame *frame;
  const GazeIoDicom *dicom;
  int frames;

  g_return_if_fail (GAZE_IS_WINDOW (window));

  wl = get_wl (window);
  g_clear_handle_id (&wl->debounce_source, g_source_remove);
  frame = current_frame (wl);
  update_label (wl);
  gtk_widget_set_visible (wl->panel, frame != NULL);
  if (frame == NULL)
    return;

  dicom = gaze_gray_frame_get_dicom (frame);
  rebuild_presets_menu (wl, frame);
  frames = MAX (dicom->meta.frames, 1);
  gtk_widget_set_visible (wl->frame_box, frames > 1);
  wl->updating = TRUE;
  gtk_range_set_range (GTK_RANGE (wl->frame_scale), 1, MAX (frames, 2));
  gtk_range_set_value (GTK_RANGE (wl->frame_scale), dicom->frame + 1);
  wl->updating = FALSE;
  update_frame_label (wl, dicom->frame, frames);
}

GazeImage *
gaze_window_level_get_image (GazeWindow *window)
{
  g_return_val_if_fail (GAZE_IS_WINDOW (window), NULL);

  return window->image;
}

gboolean
gaze_window_level_set_window (GazeWindow *window, const GazeIoWindow *voi)
{
  g_return_val_if_fail (GAZE_IS_WINDOW (window), FALSE);

  return set_window (get_wl (window), voi);
}

guint
gaze_window_level_get_analysis_count (GazeWindow *window)
{
  g_return_val_if_fail (GAZE_IS_WINDOW (window), 0);

  return get_wl (window)->n_analyses;
}
