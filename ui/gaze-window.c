/* gaze-window.c — the main window: loading, the worker, the view and the sidebar
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-window"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "gaze-analysis.h"
#include "gaze-export.h"
#include "gaze-application.h"
#include "gaze-dropdown-search.h"
#include "gaze-error-bar.h"
#include "gaze-image-view.h"
#include "gaze-image.h"
#include "gaze-limits-settings.h"
#include "gaze-model.h"
#include "gaze-scroll-guard.h"
#include "gaze-settings.h"
#include "gaze-findings.h"
#include "gaze-study-info.h"
#include "gaze-ui.h"
#include "gaze-weak-ref.h"
#include "gaze-window-level.h"
#include "gaze-window-private.h"

G_DEFINE_FINAL_TYPE (GazeWindow, gaze_window, ADW_TYPE_APPLICATION_WINDOW)

enum
{
  PROP_0,
  PROP_COMPARE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- Small helpers ----------------------------------------------------- */

void
gaze_window_show_toast (GazeWindow *self, const char *message)
{
  AdwToast *toast;

  g_return_if_fail (GAZE_IS_WINDOW (self));

  g_free (self->last_message);
  self->last_message = g_strdup (message);
  toast = adw_toast_new (message);
  adw_toast_set_timeout (toast, 6);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

void
_gaze_window_show_error_text (GazeWindow *self, const char *message)
{
  g_return_if_fail (GAZE_IS_WINDOW (self));

  gaze_error_bar_show (self->error_bar, message, NULL, NULL);
  g_free (self->last_message);
  self->last_message = g_strdup (gaze_error_bar_get_message (self->error_bar));
}

void
_gaze_window_show_error (GazeWindow *self, const GError *error)
{
  g_assert (error != NULL);

  g_debug ("%s", error->message);
  /* The engine names a resource limit it hit: say where the GUI changes it. */
  const char *key = gz_limits_key_in (error->message);
  const char *title = gaze_limits_settings_title (key);
  if (title != NULL && gaze_limits_settings_from_environment (key))
    {
      /* Set by the user's own GAZE_LIMITS: Preferences would not help. */
      g_autofree char *message = g_strdup_printf (
          _ ("%s. This limit is set by GAZE_LIMITS in the environment, which overrides "
             "Preferences."),
          error->message);
      _gaze_window_show_error_text (self, message);
      return;
    }
  if (title != NULL)
    {
      /* Translators: the first %s is the error; the second the name of a row
       * in Preferences › Limits */
      g_autofree char *message = g_strdup_printf (
          _ ("%s. To open it, raise “%s” in Preferences › Limits."), error->message, title);
      gaze_error_bar_show (self->error_bar, message, _ ("_Preferences"), "app.preferences-limits");
      g_free (self->last_message);
      self->last_message = g_strdup (gaze_error_bar_get_message (self->error_bar));
      return;
    }
  _gaze_window_show_error_text (self, error->message);
}

static void
replace_cancellable (GCancellable **slot)
{
  if (*slot != NULL)
    g_cancellable_cancel (*slot);
  g_clear_object (slot);
  *slot = g_cancellable_new ();
}

static void
update_busy (GazeWindow *self)
{
  gboolean busy = self->n_pending > 0;

  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
  gtk_spinner_set_spinning (self->spinner, busy);
  if (!busy || self->analysis_task == NULL)
    gtk_revealer_set_reveal_child (self->progress_revealer, FALSE);
}

void
_gaze_window_pending_begin (GazeWindow *self)
{
  self->n_pending++;
  update_busy (self);
}

void
_gaze_window_pending_end (GazeWindow *self)
{
  g_assert (self->n_pending > 0);

  self->n_pending--;
  update_busy (self);
}

static void
update_title (GazeWindow *self)
{
  g_autofree char *image_name = NULL;
  g_autofree char *subtitle = NULL;

  if (self->image != NULL && gaze_image_get_file (self->image) != NULL)
    image_name = g_file_get_basename (gaze_image_get_file (self->image));
  else if (self->image != NULL)
    image_name = g_strdup (_ ("Pasted Image"));

  if (image_name != NULL && self->model != NULL)
    /* Translators: window subtitle, "image — model" */
    subtitle = g_strdup_printf (_ ("%s — %s"), image_name, gaze_model_get_name (self->model));
  else if (image_name != NULL)
    subtitle = g_strdup (image_name);
  else if (self->model != NULL)
    subtitle = g_strdup (gaze_model_get_name (self->model));

  adw_window_title_set_subtitle (self->window_title, subtitle != NULL ? subtitle : "");
}

void
_gaze_window_update_state (GazeWindow *self)
{
  gboolean has_result = self->result != NULL;

  gtk_stack_set_visible_child_name (self->main_stack, self->image != NULL ? "viewer" : "empty");
  gtk_stack_set_visible_child_name (self->sidebar_stack,
                                    self->model != NULL ? "results" : "no-model");

  if (self->model != NULL)
    {
      g_autofree char *text = g_strdup_printf (_ ("Model “%s” is ready. Now drop an image."),
                                               gaze_model_get_name (self->model));
      gtk_label_set_label (self->empty_model_label, text);
    }
  else
    gtk_label_set_label (self->empty_model_label, "");

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.export", has_result);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.copy", has_result);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.compare", self->image != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.previous",
                                 self->folder != NULL && self->folder_index > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.next",
                                 self->folder != NULL
                                     && self->folder_index + 1 < (int) self->folder->len);
  update_title (self);
}

/* ---- The overlay -------------------------------------------------------- */

static void
update_overlay (GazeWindow *self)
{
  graphene_rect_t analysed;

  g_clear_object (&self->overlay);
  if (self->result == NULL)
    {
      gaze_image_view_set_overlay (self->image_view, NULL, NULL);
      return;
    }

  self->overlay = gaze_analysis_colorize (
      self->result->projected, gaze_settings_get_colormap (self->settings),
      (float) g_settings_get_double (self->settings, "threshold"));
  gaze_analysis_get_analysed_rect (&self->result->geometry, &analysed);
  gaze_image_view_set_overlay (self->image_view, self->overlay, &analysed);

  if (g_settings_get_boolean (self->settings, "show-contour"))
    {
      double threshold = g_settings_get_double (self->settings, "threshold");
      g_autoptr (GArray) contour
          = gaze_analysis_contour (self->result->explanation->map, &self->result->geometry,
                                   threshold > 0 ? (float) threshold : 0.5f);
      gaze_image_view_set_contour (self->image_view, contour);
    }
  else
    gaze_image_view_set_contour (self->image_view, NULL);
}

void
_gaze_window_update_compare_overlay (GazeWindow *self)
{
  graphene_rect_t analysed;

  g_clear_object (&self->compare_overlay);
  gtk_label_set_label (self->compare_method_label,
                       gaze_settings_method_label (self->compare_method));
  gtk_widget_set_visible (GTK_WIDGET (self->compare_reason_label), FALSE);
  if (self->compare_result == NULL)
    {
      gaze_image_view_set_overlay (self->compare_view, NULL, NULL);
      return;
    }
  self->compare_overlay = gaze_analysis_colorize (
      self->compare_result->projected, gaze_settings_get_colormap (self->settings),
      (float) g_settings_get_double (self->settings, "threshold"));
  gaze_analysis_get_analysed_rect (&self->compare_result->geometry, &analysed);
  gaze_image_view_set_overlay (self->compare_view, self->compare_overlay, &analysed);
}

/* ---- Sidebar ------------------------------------------------------------ */

void
_gaze_window_label_setup_cb (GtkSignalListItemFactory *factory, GtkListItem *item,
                             gpointer ellipsize)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  if (GPOINTER_TO_INT (ellipsize) != PANGO_ELLIPSIZE_NONE)
    {
      /* Bounded both ways, so that the sidebar keeps its width. */
      gtk_label_set_ellipsize (GTK_LABEL (label), GPOINTER_TO_INT (ellipsize));
      gtk_label_set_width_chars (GTK_LABEL (label), 8);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 26);
    }
  gtk_list_item_set_child (item, label);
}

static void
label_bind_cb (GtkSignalListItemFactory *factory, GtkListItem *item, gpointer ellipsize)
{
  GtkStringObject *string = gtk_list_item_get_item (item);
  GtkWidget *label = gtk_list_item_get_child (item);

  gtk_label_set_label (GTK_LABEL (label), gtk_string_object_get_string (string));
  gtk_widget_set_tooltip_text (label, gtk_string_object_get_string (string));
}

/* Long class and layer names must not widen the sidebar: the button
 * ellipsizes, the popup list shows them whole. */
static void
set_ellipsizing_factories (GtkDropDown *dropdown, PangoEllipsizeMode mode)
{
  g_autoptr (GtkListItemFactory) button = gtk_signal_list_item_factory_new ();
  g_autoptr (GtkListItemFactory) list = gtk_signal_list_item_factory_new ();

  g_signal_connect (button, "setup", G_CALLBACK (_gaze_window_label_setup_cb),
                    GINT_TO_POINTER (mode));
  g_signal_connect (button, "bind", G_CALLBACK (label_bind_cb), NULL);
  g_signal_connect (list, "setup", G_CALLBACK (_gaze_window_label_setup_cb),
                    GINT_TO_POINTER (PANGO_ELLIPSIZE_NONE));
  g_signal_connect (list, "bind", G_CALLBACK (label_bind_cb), NULL);
  gtk_drop_down_set_factory (dropdown, button);
  gtk_drop_down_set_list_factory (dropdown, list);
}

static GtkWidget *
prediction_row_new (GazeWindow *self, const GazePrediction *pred, int rank)
{
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *line = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *name = gtk_label_new (gaze_model_get_label (self->model, pred->class_index));
  g_autofree char *percent = g_strdup_printf ("%.1f %%", pred->probability * 100);
  GtkWidget *prob = gtk_label_new (percent);
  GtkWidget *bar = gtk_level_bar_new_for_interval (0, 1);
  g_autofree char *tooltip = NULL;

  gtk_widget_add_css_class (row, "prediction-row");
  gtk_label_set_xalign (GTK_LABEL (name), 0);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (name, TRUE);
  gtk_widget_add_css_class (prob, "probability");
  gtk_widget_add_css_class (prob, "dim-label");
  gtk_level_bar_set_value (GTK_LEVEL_BAR (bar), pred->probability);
  gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_LOW);
  gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_HIGH);
  gtk_level_bar_remove_offset_value (GTK_LEVEL_BAR (bar), GTK_LEVEL_BAR_OFFSET_FULL);

  gtk_box_append (GTK_BOX (line), name);
  /* Output head (issue 14): a multi-label finding at or above the threshold. */
  if (gaze_model_is_multilabel (self->model)
      && pred->probability >= gaze_model_get_threshold (self->model))
    {
      /* Translators: tag of a multi-label finding whose probability reaches the threshold */
      GtkWidget *tag = gtk_label_new (_ ("positive"));
      gtk_widget_add_css_class (tag, "positive-finding");
      gtk_widget_add_css_class (tag, "success");
      gtk_widget_add_css_class (tag, "caption-heading");
      gtk_box_append (GTK_BOX (line), tag);
    }
  gtk_box_append (GTK_BOX (line), prob);
  gtk_box_append (GTK_BOX (box), line);
  gtk_box_append (GTK_BOX (box), bar);
  gtk_widget_set_margin_start (box, 10);
  gtk_widget_set_margin_end (box, 10);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);

  if (rank < 9)
    /* Translators: tooltip of a prediction; %d is the key that picks it */
    tooltip = g_strdup_printf (_ ("Explain this class (%d)"), rank + 1);
  else
    tooltip = g_strdup (_ ("Explain this class"));
  gtk_widget_set_tooltip_text (row, tooltip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  gaze_model_get_label (self->model, pred->class_index), -1);
  g_object_set_data (G_OBJECT (row), "class-index", GINT_TO_POINTER (pred->class_index));
  return row;
}

/* -- Preprocessing hint (issue 19): as gaze-cli predict's, a 1000-class model
 *    without MODEL.json whose top class is under 1 %. -- */
static void
update_preprocess_bar (GazeWindow *self)
{
  gboolean show = FALSE;

  if (self->result != NULL && self->model != NULL && self->result->predictions->len > 0
      && gaze_model_get_n_classes (self->model) == 1000
      && g_array_index (self->result->predictions, GazePrediction, 0).probability < 0.01)
    {
      g_autofree char *sidecar = gaze_model_get_sidecar_path (self->model);
      show = sidecar == NULL || !g_file_test (sidecar, G_FILE_TEST_EXISTS);
    }
  gtk_info_bar_set_revealed (self->preprocess_bar, show);
}

gboolean
gaze_window_get_preprocess_hint (GazeWindow *self)
{
  g_return_val_if_fail (GAZE_IS_WINDOW (self), FALSE);
  return gtk_info_bar_get_revealed (self->preprocess_bar);
}
/* -- end preprocessing hint -- */

static void
update_predictions (GazeWindow *self)
{
  GtkWidget *child;

  /* Rows only: the placeholder is a child too. */
  while ((child = GTK_WIDGET (gtk_list_box_get_row_at_index (self->predictions_list, 0))) != NULL)
    gtk_list_box_remove (self->predictions_list, child);

  gtk_widget_set_visible (GTK_WIDGET (self->class_dropdown), self->result != NULL);
  update_preprocess_bar (self);
  gaze_findings_predictions_shown (self);
  if (self->result == NULL)
    return;

  self->updating_widgets = TRUE;
  for (guint i = 0; i < self->result->predictions->len; i++)
    {
      const GazePrediction *pred = &g_array_index (self->result->predictions, GazePrediction, i);
      GtkWidget *row = prediction_row_new (self, pred, i);

      gtk_list_box_append (self->predictions_list, row);
      if (pred->class_index == self->result->explanation->class_index)
        gtk_list_box_select_row (self->predictions_list, GTK_LIST_BOX_ROW (row));
    }
  gtk_drop_down_set_selected (self->class_dropdown, self->result->explanation->class_index);
  self->updating_widgets = FALSE;
}

static void
update_info (GazeWindow *self)
{
  const GzExplanation *ex;
  const GzValueInfo *input;
  g_autofree char *legend = NULL;
  g_autofree char *info = NULL;
  g_autofree char *method = NULL;

  if (self->result == NULL)
    {
      gtk_label_set_label (self->info_label, "");
      gtk_label_set_label (self->legend_min_label, "");
      gtk_label_set_label (self->legend_max_label, "");
      gtk_label_set_label (self->legend_label, "");
      return;
    }
  ex = self->result->explanation;
  input = gaze_model_get_engine_model (self->model) != NULL
      ? gz_model_input (gaze_model_get_engine_model (self->model))
      : NULL;

  /* The colour bar spans the raw scores of the upsampled map after the ReLU:
   * "≤ 0" at the dark end when negative scores were clipped (issue 15). */
  {
    g_autofree char *high = NULL;

    gaze_io_report_range_labels (ex->raw_min, ex->raw_max, &legend, &high, NULL);
    gtk_label_set_label (self->legend_min_label, legend);
    gtk_label_set_label (self->legend_max_label, high);
  }
  gtk_label_set_label (self->legend_label, _ ("raw score"));

  method = gaze_io_report_method_text (ex->method, ex->smooth_samples);
  info = g_strdup_printf (_ ("%s of “%s” (%.1f %%) at layer %s\n"
                             "Model input %d × %d · forward %.0f ms · explanation %.0f ms"),
                          method, gaze_model_get_label (self->model, ex->class_index),
                          ex->probability * 100, ex->layer,
                          input != NULL && input->ndim == 4 ? (int) input->dims[3] : 0,
                          input != NULL && input->ndim == 4 ? (int) input->dims[2] : 0,
                          ex->forward_ms, ex->backward_ms + ex->method_ms);
  gtk_label_set_label (self->info_label, info);
}

/* Methods that do not apply to the model (e.g. CAM without a pooled linear
 * head) are greyed out in the list, with the reason as their tooltip. */
static void
method_bind_cb (GtkSignalListItemFactory *factory, GtkListItem *item, GazeWindow *self)
{
  GtkStringObject *string = gtk_list_item_get_item (item);
  GtkWidget *label = gtk_list_item_get_child (item);
  GzMethod method = gtk_list_item_get_position (item);
  char reason[256] = "";
  gboolean ok = TRUE;

  gtk_label_set_label (GTK_LABEL (label), gtk_string_object_get_string (string));
  if (self->model != NULL && method < GZ_METHOD_COUNT)
    ok = gz_method_applicable (gaze_model_get_engine_model (self->model), method, self->layer,
                               reason, sizeof reason);
  gtk_widget_set_sensitive (label, ok);
  gtk_list_item_set_selectable (item, ok);
  gtk_list_item_set_activatable (item, ok);
  gtk_widget_set_tooltip_text (label, ok ? NULL : reason);
}

static void
set_method_factory (GazeWindow *self)
{
  g_autoptr (GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();

  g_signal_connect (factory, "setup", G_CALLBACK (_gaze_window_label_setup_cb),
                    GINT_TO_POINTER (PANGO_ELLIPSIZE_NONE));
  g_signal_connect (factory, "bind", G_CALLBACK (method_bind_cb), self);
  gtk_drop_down_set_list_factory (self->method_dropdown, factory);
}

static void
format_triple (GtkEditable *entry, const float *v, int n)
{
  g_autoptr (GString) text = g_string_new (NULL);

  for (int i = 0; i < n; i++)
    g_string_append_printf (text, "%s%g", i ? " " : "", v[i]);
  gtk_editable_set_text (entry, text->str);
}

void
_gaze_window_update_preprocess_fields (GazeWindow *self)
{
  const GzPreprocess *pp = gaze_model_get_preprocess (self->model);

  gtk_spin_button_set_value (self->resize_spin, pp->resize);
  gtk_switch_set_active (self->stretch_switch, pp->mode == GZ_RESIZE_STRETCH);
  format_triple (self->mean_entry, pp->mean, pp->channels == 1 ? 1 : 3);
  format_triple (self->std_entry, pp->std, pp->channels == 1 ? 1 : 3);
}

/* "0.485 0.456 0.406" (or one value for gray models); std must be positive. */
gboolean
_gaze_window_parse_triple (const char *text, int n, gboolean positive, float *out)
{
  g_auto (GStrv) parts = g_strsplit_set (text, " ,;\t", -1);
  int k = 0;

  for (int i = 0; parts[i] != NULL; i++)
    {
      char *end;
      double v;

      if (*parts[i] == '\0')
        continue;
      v = g_ascii_strtod (parts[i], &end);
      if (*end != '\0' || k >= n || !isfinite (v) || (positive && v <= 0))
        return FALSE;
      out[k++] = (float) v;
    }
  return k == n;
}

/* Where the labels come from, and how many for how many classes. */
static void
update_labels_fields (GazeWindow *self)
{
  int n_labels = gaze_model_get_n_labels (self->model);
  int n_classes = gaze_model_get_n_classes (self->model);
  const char *path = gaze_model_get_labels_path (self->model);
  g_autofree char *source = NULL;
  g_autofree char *text = NULL;
  g_autofree char *warning = NULL;

  if (n_labels == 0)
    source = g_strdup (_ ("class numbers"));
  else if (path != NULL)
    source = g_path_get_basename (path);
  else
    /* Translators: labels given as a list inside MODEL.json */
    source = g_strdup (_ ("inline"));
  if (n_labels == 0)
    /* Translators: %s is "class numbers"; %d the model's class count */
    text = g_strdup_printf (_ ("Labels: %s (%d classes)"), source, n_classes);
  else
    /* Translators: %s is the labels file name or "inline"; then the label and class counts */
    text = g_strdup_printf (_ ("Labels: %s (%d for %d classes)"), source, n_labels, n_classes);
  gtk_label_set_label (self->labels_label, text);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->labels_label), path);

  if (n_labels > 0 && n_labels < n_classes)
    warning = g_strdup_printf (_ ("%d labels for %d classes: the rest are shown as class numbers"),
                               n_labels, n_classes);
  else if (n_labels > n_classes)
    warning = g_strdup_printf (_ ("%d labels for %d classes: the extra labels are not used"),
                               n_labels, n_classes);
  gtk_label_set_label (self->labels_warning, warning != NULL ? warning : "");
  gtk_widget_set_visible (GTK_WIDGET (self->labels_warning), warning != NULL);
}

static void
draw_colorbar_cb (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  GazeWindow *self = user_data;

  gaze_export_draw_colorbar (cr, gaze_settings_get_colormap (self->settings), 0.5, 0.5, width - 1,
                             height - 1);
}

/* The model's summary in the model panel: name, preprocessing in use, classes. */
void
_gaze_window_update_model_summary (GazeWindow *self)
{
  const GzModel *model = gaze_model_get_engine_model (self->model);
  const GzPreprocess *pp = gaze_model_get_preprocess (self->model);
  g_autofree char *resize = pp->mode == GZ_RESIZE_CROP
      /* Translators: preprocessing: shorter side, then centre crop */
      ? g_strdup_printf (_ ("resize to %d, centre crop %d × %d"), pp->resize, pp->crop_width,
                         pp->crop_height)
      : g_strdup_printf (_ ("stretch to %d × %d"), pp->crop_width, pp->crop_height);
  g_autofree char *labels = gaze_model_has_labels (self->model)
      ? g_strdup_printf (_ ("%d classes, labelled"), gaze_model_get_n_classes (self->model))
      : g_strdup_printf (_ ("%d classes, no labels file"), gaze_model_get_n_classes (self->model));
  g_autofree char *params = g_strdup_printf ("%" G_GINT64_FORMAT, gz_model_parameter_count (model));
  g_autofree char *text = g_strdup_printf (
      _ ("Name: %s\nPreprocessing: %s\nMean: %.3f %.3f %.3f\nStd: %.3f %.3f %.3f\n"
         "Classes: %s\nLayers: %d\nParameters: %s\nProducer: %s"),
      gaze_model_get_name (self->model), resize, pp->mean[0], pp->mean[1], pp->mean[2], pp->std[0],
      pp->std[1], pp->std[2], labels, gz_model_layer_count (model), params,
      gz_model_producer (model) != NULL ? gz_model_producer (model) : "");
  gtk_label_set_label (self->model_label, text);
}

/* Which methods apply depends on the model and the layer: the method rows
 * and the CAM toggle say so (greyed, the reason as tooltip); issue 15 item 9. */
static void
update_method_applicability (GazeWindow *self)
{
  const GzModel *model = gaze_model_get_engine_model (self->model);
  gboolean updating = self->updating_widgets;

  self->updating_widgets = TRUE;
  /* Applicability depends on the model and layer: rebuild the method rows. */
  {
    g_autoptr (GtkStringList) methods = gaze_settings_method_model ();
    gtk_drop_down_set_model (self->method_dropdown, G_LIST_MODEL (methods));
    gtk_drop_down_set_selected (self->method_dropdown, gaze_settings_get_method (self->settings));
  }

  /* CAM needs a global-average-pool + linear head: say so where it is chosen. */
  {
    char reason[256] = "";
    gboolean cam_ok
        = gz_method_applicable (model, GZ_METHOD_CAM, self->layer, reason, sizeof reason);

    gtk_widget_set_tooltip_text (
        GTK_WIDGET (self->cam_button),
        cam_ok ? _ ("Class activation map: the classifier weights applied to the last feature maps")
               : reason);
    /* Greyed like its row in the method list; the tooltip still says why. */
    gtk_widget_set_sensitive (GTK_WIDGET (self->cam_button), cam_ok);
  }
  self->updating_widgets = updating;
}

static void
update_model_widgets (GazeWindow *self)
{
  g_autoptr (GtkStringList) classes = gtk_string_list_new (NULL);
  g_autoptr (GtkStringList) layers = gtk_string_list_new (NULL);
  const GzModel *model;
  const char *auto_layer;
  g_autofree char *auto_name = NULL;
  guint selected_layer = 0;

  if (self->model == NULL)
    return;
  model = gaze_model_get_engine_model (self->model);

  self->updating_widgets = TRUE;

  _gaze_window_update_model_summary (self);
  gtk_widget_set_visible (GTK_WIDGET (self->model_expander), TRUE);
  _gaze_window_update_preprocess_fields (self);
  update_labels_fields (self);

  for (int i = 0; i < gaze_model_get_n_classes (self->model); i++)
    {
      g_autofree char *item = g_strdup_printf ("%d · %s", i, gaze_model_get_label (self->model, i));
      gtk_string_list_append (classes, item);
    }
  gtk_drop_down_set_model (self->class_dropdown, G_LIST_MODEL (classes));
  gtk_drop_down_set_selected (self->class_dropdown, GTK_INVALID_LIST_POSITION);

  auto_layer = gz_model_default_layer (model);
  /* Translators: the layer chosen automatically; %s is its name */
  auto_name = g_strdup_printf (_ ("Automatic (%s)"), auto_layer != NULL ? auto_layer : _ ("none"));
  gtk_string_list_append (layers, auto_name);
  for (int i = 0; i < gz_model_layer_count (model); i++)
    {
      const GzNodeInfo *info = gz_model_layer (model, i);
      g_autofree char *item
          = g_strdup_printf ("%s · %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT "×%" G_GINT64_FORMAT,
                             info->output, info->dims[1], info->dims[2], info->dims[3]);
      gtk_string_list_append (layers, item);
      if (self->layer != NULL && g_str_equal (self->layer, info->output))
        selected_layer = i + 1;
    }
  gtk_drop_down_set_model (self->layer_dropdown, G_LIST_MODEL (layers));
  gtk_drop_down_set_selected (self->layer_dropdown, selected_layer);
  if (selected_layer == 0)
    g_clear_pointer (&self->layer, g_free);

  update_method_applicability (self);

  self->updating_widgets = FALSE;
}

/* New labels: the class list, the panel, the predictions and the caption
 * name classes by them; nothing needs computing again. */
void
_gaze_window_labels_changed (GazeWindow *self)
{
  update_model_widgets (self);
  update_predictions (self);
  update_info (self);
}

static void
update_recent_models (GazeWindow *self)
{
  g_auto (GStrv) recent = g_settings_get_strv (self->settings, "recent-models");
  g_autoptr (GMenu) menu = g_menu_new ();
  g_autoptr (GMenu) section = g_menu_new ();

  for (guint i = 0; recent[i] != NULL; i++)
    {
      g_autofree char *base = g_path_get_basename (recent[i]);
      /* A menu label's "_" marks a mnemonic: "mobilenet_v2.onnx" needs "__". */
      g_autoptr (GString) label = g_string_new (base);
      g_autoptr (GMenuItem) item = NULL;

      g_string_replace (label, "_", "__", 0);
      item = g_menu_item_new (label->str, NULL);

      g_menu_item_set_action_and_target_value (item, "win.open-recent-model",
                                               g_variant_new_string (recent[i]));
      g_menu_append_item (section, item);
    }
  if (recent[0] == NULL)
    {
      g_autoptr (GMenuItem) item = g_menu_item_new (_ ("No Recent Models"), "win.none");
      g_menu_append_item (section, item);
    }
  g_menu_append_section (menu, _ ("Recent Models"), G_MENU_MODEL (section));
  adw_split_button_set_menu_model (self->open_model_button, G_MENU_MODEL (menu));
}

/* ---- Analysis ----------------------------------------------------------- */

static gboolean
progress_tick_cb (gpointer user_data)
{
  GazeWindow *self = user_data;
  double fraction;

  if (self->analysis_task == NULL)
    {
      self->progress_source = 0;
      return G_SOURCE_REMOVE;
    }

  /* Only jobs that take a while get the progress bar with Cancel. */
  if (g_get_monotonic_time () - self->analysis_started > 400 * G_TIME_SPAN_MILLISECOND)
    gtk_revealer_set_reveal_child (self->progress_revealer, TRUE);
  fraction = gaze_analysis_get_progress (self->analysis_task);
  if (fraction < 0)
    gtk_progress_bar_pulse (self->progress_bar);
  else
    gtk_progress_bar_set_fraction (self->progress_bar, fraction);
  return G_SOURCE_CONTINUE;
}

static void
analysis_done_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GazeWindow) self = gaze_weak_ref_take (user_data);
  g_autoptr (GazeAnalysisResult) result = NULL;
  g_autoptr (GError) error = NULL;
  gboolean current;

  result = gaze_analysis_run_finish (res, &error);
  if (self == NULL) /* closed meanwhile: nothing to show it in */
    return;
  current = G_TASK (res) == self->analysis_task;
  _gaze_window_pending_end (self);
  if (current)
    {
      g_clear_object (&self->analysis_task);
      g_clear_handle_id (&self->progress_source, g_source_remove);
      gtk_revealer_set_reveal_child (self->progress_revealer, FALSE);
    }

  /* Superseded or cancelled: never shown. */
  if (!current)
    return;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* Cancelled by the user: the controls go back to what is shown. */
      if (self->result != NULL)
        {
          const GzExplanation *shown = self->result->explanation;

          if (self->class_index >= 0)
            self->class_index = shown->class_index;
          if (gaze_settings_get_method (self->settings) != shown->method)
            g_settings_set_string (self->settings, "method", gz_method_name (shown->method));
        }
      return;
    }

  if (result == NULL)
    {
      _gaze_window_show_error (self, error);
      return;
    }

  /* Park the session for the next request on this image (class change = backward only). */
  g_clear_pointer (&self->session, gz_session_free);
  self->session = g_steal_pointer (&result->session);
  self->session_geometry = result->geometry;

  g_clear_pointer (&self->result, gaze_analysis_result_free);
  self->result = g_steal_pointer (&result);

  update_overlay (self);
  update_predictions (self);
  update_info (self);
  _gaze_window_update_state (self);
  {
    const GzExplanation *ex = self->result->explanation;
    g_autofree char *method = gaze_io_report_method_text (ex->method, ex->smooth_samples);
    gtk_label_set_label (self->main_method_label, method);
  }
  /* The right-hand view follows the class just explained. */
  _gaze_window_request_compare (self);
}

/* The right pane stays without a map: say why there, in full (issue 15). */
static void
show_compare_reason (GazeWindow *self, const char *why)
{
  g_autofree char *text = g_strdup_printf (_ ("No %s here: %s"),
                                           gaze_settings_method_label (self->compare_method), why);

  g_clear_pointer (&self->compare_result, gaze_analysis_result_free);
  _gaze_window_update_compare_overlay (self);
  gtk_label_set_label (self->compare_reason_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->compare_reason_label), TRUE);
}

static void
compare_done_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GazeWindow) self = gaze_weak_ref_take (user_data);
  g_autoptr (GazeAnalysisResult) result = NULL;
  g_autoptr (GError) error = NULL;
  gboolean current;

  result = gaze_analysis_run_finish (res, &error);
  if (self == NULL) /* closed meanwhile: nothing to show it in */
    return;
  current = G_TASK (res) == self->compare_task;
  _gaze_window_pending_end (self);
  if (current)
    g_clear_object (&self->compare_task);
  if (!current || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (result == NULL)
    {
      show_compare_reason (self, error->message);
      return;
    }
  g_clear_pointer (&self->compare_result, gaze_analysis_result_free);
  self->compare_result = g_steal_pointer (&result);
  _gaze_window_update_compare_overlay (self);
}

static void
set_smoothing (GazeWindow *self, GazeAnalysisRequest *request)
{
  request->smooth_samples = g_settings_get_int (self->settings, "smoothgrad-samples");
  request->smooth_sigma = (float) g_settings_get_double (self->settings, "smoothgrad-sigma");
}

void
_gaze_window_request_compare (GazeWindow *self)
{
  g_autoptr (GazeAnalysisRequest) request = NULL;
  char reason[256] = "";

  if (!self->compare || self->model == NULL || self->image == NULL)
    return;

  replace_cancellable (&self->compare_cancellable);
  if (!gz_method_applicable (gaze_model_get_engine_model (self->model), self->compare_method,
                             self->layer, reason, sizeof reason))
    {
      g_clear_object (&self->compare_task);
      show_compare_reason (self, reason);
      return;
    }
  request = gaze_analysis_request_new (self->model, self->image);
  request->method = self->compare_method;
  set_smoothing (self, request);
  request->class_index
      = self->result != NULL ? self->result->explanation->class_index : self->class_index;
  request->layer = g_strdup (self->layer);
  request->top_k = 1;
  g_clear_object (&self->compare_task);
  self->compare_task
      = gaze_analysis_run_async (g_steal_pointer (&request), self->compare_cancellable,
                                 compare_done_cb, gaze_weak_ref_new (self));
  _gaze_window_pending_begin (self);
}

GazeAnalysisRequest *
_gaze_window_new_analysis_request (GazeWindow *self, int class_index)
{
  GazeAnalysisRequest *request = gaze_analysis_request_new (self->model, self->image);

  request->method = gaze_settings_get_method (self->settings);
  request->class_index = class_index;
  request->layer = g_strdup (self->layer);
  request->top_k = g_settings_get_int (self->settings, "top-k");
  set_smoothing (self, request);
  return request;
}

void
_gaze_window_request_analysis (GazeWindow *self)
{
  g_autoptr (GazeAnalysisRequest) request = NULL;

  if (self->model == NULL || self->image == NULL)
    return;

  replace_cancellable (&self->analysis_cancellable);
  /* issue 14: the findings strip was made with the old method or layer. */
  gaze_findings_analysis_requested (self);

  request = _gaze_window_new_analysis_request (self, self->class_index);
  if (self->session != NULL)
    {
      request->session = g_steal_pointer (&self->session);
      request->geometry = self->session_geometry;
    }

  g_clear_object (&self->analysis_task);
  self->analysis_task
      = gaze_analysis_run_async (g_steal_pointer (&request), self->analysis_cancellable,
                                 analysis_done_cb, gaze_weak_ref_new (self));
  self->analysis_started = g_get_monotonic_time ();
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  if (self->progress_source == 0)
    self->progress_source = g_timeout_add (100, progress_tick_cb, self);
  _gaze_window_pending_begin (self);
}

/* The image or model changed: what was computed no longer applies. */
void
_gaze_window_drop_results (GazeWindow *self)
{
  gaze_findings_clear (self);
  if (self->analysis_cancellable != NULL)
    g_cancellable_cancel (self->analysis_cancellable);
  g_clear_object (&self->analysis_task);
  g_clear_pointer (&self->session, gz_session_free);
  g_clear_pointer (&self->result, gaze_analysis_result_free);
  if (self->compare_cancellable != NULL)
    g_cancellable_cancel (self->compare_cancellable);
  g_clear_object (&self->compare_task);
  g_clear_pointer (&self->compare_result, gaze_analysis_result_free);
  update_overlay (self);
  _gaze_window_update_compare_overlay (self);
  update_predictions (self);
  update_info (self);
}

/* ---- Loading ------------------------------------------------------------ */

static void
model_loaded_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GazeWindow) self = gaze_weak_ref_take (user_data);
  g_autoptr (GazeModel) model = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;

  model = gaze_model_load_finish (res, &error);
  if (self == NULL)
    return;
  _gaze_window_pending_end (self);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (model == NULL)
    {
      _gaze_window_show_error (self, error);
      return;
    }

  _gaze_window_drop_results (self);
  g_set_object (&self->model, model);
  self->class_index = -1;
  update_model_widgets (self);

  path = g_file_get_path (gaze_model_get_file (model));
  g_settings_set_string (self->settings, "last-model", path);
  gaze_settings_add_recent_model (self->settings, path);

  _gaze_window_update_state (self);
  _gaze_window_request_analysis (self);
}

void
_gaze_window_load_model (GazeWindow *self, GFile *file)
{
  replace_cancellable (&self->model_cancellable);
  _gaze_window_pending_begin (self);
  gaze_model_load_async (file, self->model_cancellable, model_loaded_cb, gaze_weak_ref_new (self));
}

static int
compare_files_by_name (gconstpointer a, gconstpointer b)
{
  g_autofree char *na = g_file_get_basename (*(GFile **) a);
  g_autofree char *nb = g_file_get_basename (*(GFile **) b);
  g_autofree char *ka = g_utf8_collate_key_for_filename (na, -1);
  g_autofree char *kb = g_utf8_collate_key_for_filename (nb, -1);

  return strcmp (ka, kb);
}

gboolean
_gaze_window_is_image_content_type (const char *content_type)
{
  g_autofree char *mime = content_type != NULL ? g_content_type_get_mime_type (content_type) : NULL;

  /* issue 14: DICOM files are images too. */
  return mime != NULL
      && (g_str_has_prefix (mime, "image/") || g_str_equal (mime, "application/dicom"));
}

/* The images beside `file`, sorted as a file manager would. */
static void
scan_folder (GazeWindow *self, GFile *file)
{
  g_autoptr (GFile) dir = g_file_get_parent (file);
  g_autoptr (GFileEnumerator) enumerator = NULL;
  g_autoptr (GPtrArray) files = NULL;

  g_clear_pointer (&self->folder, g_ptr_array_unref);
  self->folder_index = 0;
  if (dir == NULL)
    return;
  enumerator = g_file_enumerate_children (dir,
                                          G_FILE_ATTRIBUTE_STANDARD_NAME
                                          "," G_FILE_ATTRIBUTE_STANDARD_FAST_CONTENT_TYPE
                                          "," G_FILE_ATTRIBUTE_STANDARD_TYPE,
                                          G_FILE_QUERY_INFO_NONE, NULL, NULL);
  if (enumerator == NULL)
    return;

  files = g_ptr_array_new_with_free_func (g_object_unref);
  for (;;)
    {
      GFileInfo *info = NULL;
      GFile *child = NULL;

      if (!g_file_enumerator_iterate (enumerator, &info, &child, NULL, NULL) || info == NULL)
        break;
      if (g_file_info_get_file_type (info) == G_FILE_TYPE_REGULAR
          && _gaze_window_is_image_content_type (
              g_file_info_get_attribute_string (info, G_FILE_ATTRIBUTE_STANDARD_FAST_CONTENT_TYPE)))
        g_ptr_array_add (files, g_object_ref (child));
    }
  g_ptr_array_sort (files, compare_files_by_name);
  for (guint i = 0; i < files->len; i++)
    if (g_file_equal (files->pdata[i], file))
      {
        self->folder_index = i;
        self->folder = g_steal_pointer (&files);
        return;
      }
}

/* A damaged image the user chose to analyse stays marked; a sound one hides
 * the banner. */
static void
update_damaged_bar (GazeWindow *self, GazeImage *image)
{
  const char *const *warnings = gaze_image_get_warnings (image);

  g_clear_object (&self->damaged_file);
  gtk_widget_set_visible (self->damaged_button, FALSE);
  if (warnings != NULL)
    {
      GFile *file = gaze_image_get_file (image);
      g_autofree char *name = file != NULL ? g_file_get_basename (file) : g_strdup ("");
      g_autofree char *list = g_strjoinv ("; ", (char **) warnings);
      g_autofree char *text = g_strdup_printf (
          _ ("The image “%s” is damaged (%s): its analysis may be wrong."), name, list);

      gtk_label_set_text (self->damaged_label, text);
    }
  gtk_info_bar_set_revealed (self->damaged_bar, warnings != NULL);
}

void
_gaze_window_show_image (GazeWindow *self, GazeImage *image)
{
  _gaze_window_drop_results (self);
  g_clear_pointer (&self->image, gaze_image_unref);
  self->image = gaze_image_ref (image);
  update_damaged_bar (self, image);
  gaze_image_view_set_texture (self->image_view, gaze_image_get_texture (image));
  gaze_image_view_set_texture (self->compare_view, gaze_image_get_texture (image));
  gaze_image_view_set_levels (self->image_view, gaze_image_get_levels (image));
  gaze_image_view_set_levels (self->compare_view, gaze_image_get_levels (image));

  if (gaze_image_get_file (image) != NULL)
    {
      GFile *file = gaze_image_get_file (image);

      /* Keep the folder list while walking it; rescan on a new folder. */
      if (self->folder == NULL || self->folder_index >= (int) self->folder->len
          || !g_file_equal (self->folder->pdata[self->folder_index], file))
        scan_folder (self, file);
    }
  else
    g_clear_pointer (&self->folder, g_ptr_array_unref);

  gaze_window_level_image_shown (self); /* issue 14 */
  gaze_study_info_image_shown (self);
  _gaze_window_update_state (self);
  _gaze_window_request_analysis (self);
}

static void
image_loaded_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GazeWindow) self = gaze_weak_ref_take (user_data);
  g_autoptr (GazeImage) image = NULL;
  g_autoptr (GError) error = NULL;

  image = gaze_image_load_finish (res, &error);
  if (self == NULL)
    return;
  _gaze_window_pending_end (self);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (g_error_matches (error, GAZE_ERROR, GAZE_ERROR_DAMAGED_IMAGE))
    {
      /* Refused, not analysed: the banner says why and offers to go on. */
      g_set_object (&self->damaged_file, gaze_image_load_get_file (res));
      gtk_label_set_text (self->damaged_label, error->message);
      gtk_widget_set_visible (self->damaged_button, self->damaged_file != NULL);
      gtk_info_bar_set_revealed (self->damaged_bar, TRUE);
      return;
    }
  if (image == NULL)
    {
      _gaze_window_show_error (self, error);
      return;
    }
  _gaze_window_show_image (self, image);
}

static void
load_image (GazeWindow *self, GFile *file, gboolean allow_damaged)
{
  replace_cancellable (&self->image_cancellable);
  _gaze_window_pending_begin (self);
  gaze_image_load_async (file, allow_damaged, self->image_cancellable, image_loaded_cb,
                         gaze_weak_ref_new (self));
}

void
_gaze_window_load_image (GazeWindow *self, GFile *file)
{
  load_image (self, file, FALSE);
}

void
_gaze_window_load_damaged_image (GazeWindow *self)
{
  g_autoptr (GFile) file = g_steal_pointer (&self->damaged_file);

  if (file != NULL)
    load_image (self, file, TRUE);
}

static gboolean
is_model_file (GFile *file, const char *content_type)
{
  g_autofree char *name = g_file_get_basename (file);

  if (name != NULL && gz_model_file_suffix (name) > 0)
    return TRUE; /* .onnx, .pth, .pt, .ckpt, .safetensors */
  return content_type != NULL && g_content_type_equals (content_type, "application/x-onnx");
}

void
gaze_window_open_files (GazeWindow *self, GFile **files, int n_files)
{
  GFile *image = NULL;
  GFile *model = NULL;

  g_return_if_fail (GAZE_IS_WINDOW (self));

  for (int i = 0; i < n_files; i++)
    {
      g_autoptr (GFileInfo) info = NULL;
      g_autoptr (GError) error = NULL;
      const char *content_type = NULL;
      g_autofree char *name = g_file_get_basename (files[i]);

      info = g_file_query_info (files[i], G_FILE_ATTRIBUTE_STANDARD_CONTENT_TYPE,
                                G_FILE_QUERY_INFO_NONE, NULL, &error);
      if (info == NULL)
        {
          g_autofree char *message
              = g_strdup_printf (_ ("Cannot open “%s”: %s"), name, error->message);
          _gaze_window_show_error_text (self, message);
          continue;
        }
      content_type = g_file_info_get_content_type (info);

      if (is_model_file (files[i], content_type))
        model = files[i];
      else if (_gaze_window_is_image_content_type (content_type))
        {
          if (image == NULL)
            image = files[i];
        }
      else
        {
          g_autofree char *message
              = g_strdup_printf (_ ("“%s” is neither an image nor an ONNX model"), name);
          _gaze_window_show_error_text (self, message);
        }
    }

  if (model != NULL)
    _gaze_window_load_model (self, model);
  if (image != NULL)
    {
      g_clear_pointer (&self->folder, g_ptr_array_unref);
      _gaze_window_load_image (self, image);
    }
}

/* ---- Sidebar signals ---------------------------------------------------- */

static void
prediction_activated_cb (GtkListBox *box, GtkListBoxRow *row, GazeWindow *self)
{
  int index = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "class-index"));

  if (self->updating_widgets)
    return;
  self->class_index = index;
  _gaze_window_request_analysis (self);
}

static void
class_selected_cb (GtkDropDown *dropdown, GParamSpec *pspec, GazeWindow *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);

  if (self->updating_widgets || selected == GTK_INVALID_LIST_POSITION)
    return;
  if (self->result != NULL && (int) selected == self->result->explanation->class_index)
    return;
  self->class_index = selected;
  _gaze_window_request_analysis (self);
}

static void
layer_selected_cb (GtkDropDown *dropdown, GParamSpec *pspec, GazeWindow *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);
  const GzModel *model;

  if (self->updating_widgets || self->model == NULL || selected == GTK_INVALID_LIST_POSITION)
    return;
  model = gaze_model_get_engine_model (self->model);
  g_clear_pointer (&self->layer, g_free);
  if (selected > 0 && (int) selected <= gz_model_layer_count (model))
    self->layer = g_strdup (gz_model_layer (model, selected - 1)->output);
  /* CAM needs the layer that feeds the pooled linear head: not any layer. */
  update_method_applicability (self);
  _gaze_window_request_analysis (self);
}

static void
method_selected_cb (GtkDropDown *dropdown, GParamSpec *pspec, GazeWindow *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);

  if (self->updating_widgets || selected >= GZ_METHOD_COUNT)
    return;
  g_settings_set_string (self->settings, "method", gz_method_name (selected));
}

static void
settings_changed_cb (GSettings *settings, const char *key, GazeWindow *self)
{
  if (g_str_equal (key, "method"))
    {
      GzMethod method = gaze_settings_get_method (settings);
      char reason[256] = "";

      /* A method the model cannot do: say why and stay with the shown one. */
      if (self->model != NULL
          && !gz_method_applicable (gaze_model_get_engine_model (self->model), method, self->layer,
                                    reason, sizeof reason))
        {
          _gaze_window_show_error_text (self, reason);
          if (self->result != NULL)
            g_settings_set_string (settings, "method",
                                   gz_method_name (self->result->explanation->method));
          return;
        }

      self->updating_widgets = TRUE;
      gtk_drop_down_set_selected (self->method_dropdown, method);
      self->updating_widgets = FALSE;
      /* Back to what is shown (after a refusal): nothing to compute. */
      if (self->result != NULL && self->analysis_task == NULL
          && self->result->explanation->method == method)
        return;
      _gaze_window_request_analysis (self);
    }
  else if (g_str_equal (key, "colormap") || g_str_equal (key, "threshold")
           || g_str_equal (key, "show-contour"))
    {
      update_overlay (self);
      _gaze_window_update_compare_overlay (self);
      gtk_widget_queue_draw (GTK_WIDGET (self->colorbar));
    }
  else if (g_str_equal (key, "top-k"))
    _gaze_window_request_analysis (self);
  else if (g_str_equal (key, "smoothgrad-samples") || g_str_equal (key, "smoothgrad-sigma"))
    {
      /* Only the methods it applies to are recomputed. */
      GzMethod method = gaze_settings_get_method (settings);
      if (gaze_analysis_method_smooths (method)
          || (self->result != NULL && self->result->explanation->smooth_samples > 0))
        _gaze_window_request_analysis (self);
    }
  else if (g_str_equal (key, "recent-models"))
    update_recent_models (self);
}

static gboolean
focus_uses_arrows (GtkWidget *focus)
{
  return focus != NULL
      && (GTK_IS_EDITABLE (focus) || GTK_IS_RANGE (focus)
          || gtk_widget_get_ancestor (focus, GTK_TYPE_POPOVER) != NULL
          || gtk_widget_get_ancestor (focus, GTK_TYPE_LIST_BOX) != NULL
          || gtk_widget_get_ancestor (focus, GTK_TYPE_LIST_VIEW) != NULL);
}

static gboolean
key_pressed_cb (GtkEventControllerKey *controller, guint keyval, guint keycode,
                GdkModifierType state, GazeWindow *self)
{
  /* Hold Space to see the image alone, unless a text field has the focus. */
  if (keyval == GDK_KEY_space && (state & GDK_MODIFIER_MASK) == 0
      && !GTK_IS_EDITABLE (gtk_root_get_focus (GTK_ROOT (self)))
      && gtk_stack_get_visible_child (self->main_stack) != GTK_WIDGET (self->empty_page))
    {
      gaze_image_view_set_show_overlay (self->image_view, FALSE);
      gaze_image_view_set_show_overlay (self->compare_view, FALSE);
      return TRUE;
    }
  /* Left/Right (Page Up/Down) walk the folder wherever the focus is — header
   * buttons would otherwise take the arrows to move the focus — except in
   * widgets that need them: text, sliders, lists, open popovers. */
  if ((keyval == GDK_KEY_Left || keyval == GDK_KEY_Right || keyval == GDK_KEY_Page_Up
       || keyval == GDK_KEY_Page_Down)
      && (state & GDK_MODIFIER_MASK) == 0 && self->image != NULL
      && !focus_uses_arrows (gtk_root_get_focus (GTK_ROOT (self))))
    {
      gboolean back = keyval == GDK_KEY_Left || keyval == GDK_KEY_Page_Up;
      gtk_widget_activate_action (GTK_WIDGET (self), back ? "win.previous" : "win.next", NULL);
      return TRUE;
    }
  return FALSE;
}

static void
key_released_cb (GtkEventControllerKey *controller, guint keyval, guint keycode,
                 GdkModifierType state, GazeWindow *self)
{
  if (keyval == GDK_KEY_space)
    {
      gaze_image_view_set_show_overlay (self->image_view, TRUE);
      gaze_image_view_set_show_overlay (self->compare_view, TRUE);
    }
}

/* ---- Life cycle --------------------------------------------------------- */

static void
gaze_window_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GazeWindow *self = GAZE_WINDOW (object);

  switch (prop_id)
    {
      case PROP_COMPARE:
        g_value_set_boolean (value, self->compare);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gaze_window_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GazeWindow *self = GAZE_WINDOW (object);

  switch (prop_id)
    {
      case PROP_COMPARE:
        if (self->compare != g_value_get_boolean (value))
          {
            _gaze_window_set_compare (self, g_value_get_boolean (value));
            g_object_notify_by_pspec (object, pspec);
          }
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static gboolean
gaze_window_close_request (GtkWindow *window)
{
  GazeWindow *self = GAZE_WINDOW (window);
  int width, height;

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));

  return GTK_WINDOW_CLASS (gaze_window_parent_class)->close_request (window);
}

static void
gaze_window_dispose (GObject *object)
{
  GazeWindow *self = GAZE_WINDOW (object);

  if (self->model_cancellable != NULL)
    g_cancellable_cancel (self->model_cancellable);
  if (self->image_cancellable != NULL)
    g_cancellable_cancel (self->image_cancellable);
  if (self->analysis_cancellable != NULL)
    g_cancellable_cancel (self->analysis_cancellable);
  if (self->compare_cancellable != NULL)
    g_cancellable_cancel (self->compare_cancellable);
  if (self->labels_cancellable != NULL)
    g_cancellable_cancel (self->labels_cancellable);
  gaze_findings_cancel (self);
  g_clear_handle_id (&self->progress_source, g_source_remove);

  gtk_widget_dispose_template (GTK_WIDGET (self), GAZE_TYPE_WINDOW);

  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->settings);
  g_clear_object (&self->model);
  g_clear_pointer (&self->image, gaze_image_unref);
  g_clear_pointer (&self->result, gaze_analysis_result_free);
  g_clear_pointer (&self->session, gz_session_free);
  g_clear_object (&self->overlay);
  g_clear_object (&self->model_cancellable);
  g_clear_object (&self->image_cancellable);
  g_clear_object (&self->analysis_cancellable);
  g_clear_object (&self->analysis_task);
  g_clear_pointer (&self->folder, g_ptr_array_unref);
  g_clear_pointer (&self->layer, g_free);
  g_clear_pointer (&self->last_message, g_free);
  g_clear_object (&self->damaged_file);
  g_clear_pointer (&self->compare_result, gaze_analysis_result_free);
  g_clear_object (&self->compare_overlay);
  g_clear_object (&self->compare_cancellable);
  g_clear_object (&self->labels_cancellable);
  g_clear_object (&self->compare_task);

  G_OBJECT_CLASS (gaze_window_parent_class)->dispose (object);
}

static void
gaze_window_class_init (GazeWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = gaze_window_dispose;
  object_class->get_property = gaze_window_get_property;
  object_class->set_property = gaze_window_set_property;
  window_class->close_request = gaze_window_close_request;

  properties[PROP_COMPARE]
      = g_param_spec_boolean ("compare", NULL, NULL, FALSE,
                              G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gaze_ui_init ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/gazeviewer/Gaze/gaze-window.ui");
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, error_bar);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, damaged_bar);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, damaged_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, preprocess_bar);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, damaged_button);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, open_model_button);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, empty_page);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, demo_button);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, medical_demo_button);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, empty_model_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, image_view);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, compare_view);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, compare_pane);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, compare_box);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, compare_dropdown);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, main_method_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, compare_method_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, compare_reason_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, spinner);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, progress_revealer);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, sidebar_stack);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, predictions_list);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, class_dropdown);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, cam_button);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, gradcam_button);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, method_dropdown);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, layer_dropdown);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, opacity_adjustment);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, threshold_adjustment);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, smooth_adjustment);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, contour_switch);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, colormap_dropdown);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, legend_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, legend_min_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, legend_max_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, colorbar);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, info_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, model_expander);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, model_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, labels_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, labels_warning);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, resize_spin);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, stretch_switch);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, mean_entry);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, std_entry);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, recent_models_menu);

  _gaze_window_class_init_actions (widget_class);
}

static void
gaze_window_init (GazeWindow *self)
{
  g_autoptr (GtkStringList) colormaps = gaze_settings_colormap_model ();
  g_autoptr (GtkStringList) methods = gaze_settings_method_model ();
  GtkEventController *keys;

  gtk_widget_init_template (GTK_WIDGET (self));
  gaze_scroll_guard_install (GTK_WIDGET (self));
  self->settings = g_settings_new (APP_ID);
  gaze_window_level_attach (self); /* issue 14: window/level, presets, frames */
  gaze_study_info_attach (self); /* issue 14: metadata panel, scale bar, privacy */
  gaze_findings_attach (self); /* issue 14: all positive findings at once */

  gaze_limits_settings_track (self->settings); /* issue 15: Preferences › Limits */
  self->class_index = -1;

  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  gtk_drawing_area_set_draw_func (self->colorbar, draw_colorbar_cb, self, NULL);
  set_method_factory (self);
  {
    GtkWidget *placeholder = gtk_label_new (_ ("Computing…"));

    gtk_widget_add_css_class (placeholder, "dim-label");
    gtk_widget_set_margin_top (placeholder, 12);
    gtk_widget_set_margin_bottom (placeholder, 12);
    gtk_list_box_set_placeholder (self->predictions_list, placeholder);
  }
  set_ellipsizing_factories (self->class_dropdown, PANGO_ELLIPSIZE_END);
  set_ellipsizing_factories (self->layer_dropdown, PANGO_ELLIPSIZE_MIDDLE);
  gtk_drop_down_set_model (self->colormap_dropdown, G_LIST_MODEL (colormaps));
  gtk_drop_down_set_model (self->method_dropdown, G_LIST_MODEL (methods));
  gtk_drop_down_set_selected (self->method_dropdown, gaze_settings_get_method (self->settings));
  {
    g_autoptr (GtkExpression) expr
        = gtk_property_expression_new (GTK_TYPE_STRING_OBJECT, NULL, "string");
    gtk_drop_down_set_expression (self->class_dropdown, expr);
  }
  gaze_dropdown_search_attach (self->class_dropdown); /* any word, not the start only */

  gaze_settings_bind_percent (self->settings, "opacity", self->opacity_adjustment, "value");
  gaze_settings_bind_percent (self->settings, "threshold", self->threshold_adjustment, "value");
  g_settings_bind (self->settings, "smoothgrad-samples", self->smooth_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "show-contour", self->contour_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "opacity", self->image_view, "opacity", G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "opacity", self->compare_view, "opacity", G_SETTINGS_BIND_GET);

  self->compare_method = gaze_settings_get_method (self->settings) == GZ_METHOD_CAM
      ? GZ_METHOD_GRADCAM
      : GZ_METHOD_CAM;
  {
    g_autoptr (GtkStringList) compare_methods = gaze_settings_method_model ();
    gtk_drop_down_set_model (self->compare_dropdown, G_LIST_MODEL (compare_methods));
    gtk_drop_down_set_selected (self->compare_dropdown, self->compare_method);
  }
  gaze_settings_bind_colormap (self->settings, self->colormap_dropdown, "selected");

  g_signal_connect (self->settings, "changed", G_CALLBACK (settings_changed_cb), self);
  g_signal_connect (self->class_dropdown, "notify::selected", G_CALLBACK (class_selected_cb), self);
  g_signal_connect (self->layer_dropdown, "notify::selected", G_CALLBACK (layer_selected_cb), self);
  g_signal_connect (self->method_dropdown, "notify::selected", G_CALLBACK (method_selected_cb),
                    self);
  g_signal_connect (self->predictions_list, "row-activated", G_CALLBACK (prediction_activated_cb),
                    self);

  {
    /* The method toggles share the settings key with the dropdown. */
    g_autoptr (GAction) method = g_settings_create_action (self->settings, "method");
    GSimpleActionGroup *group = g_simple_action_group_new ();

    g_action_map_add_action (G_ACTION_MAP (group), method);
    gtk_widget_insert_action_group (GTK_WIDGET (self), "settings", G_ACTION_GROUP (group));
    g_object_unref (group);
  }

  _gaze_window_init_actions (self);

  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  gtk_event_controller_set_name (keys, "gaze-window-keys");
  g_signal_connect (keys, "key-pressed", G_CALLBACK (key_pressed_cb), self);
  g_signal_connect (keys, "key-released", G_CALLBACK (key_released_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), keys);

  {
    g_autofree char *photo = gaze_ui_find_demo_dir ();
    g_autofree char *medical = gaze_ui_find_medical_demo_dir ();

    gtk_widget_set_visible (GTK_WIDGET (self->demo_button), photo != NULL);
    gtk_widget_set_visible (GTK_WIDGET (self->medical_demo_button), medical != NULL);
  }

  update_recent_models (self);
  _gaze_window_update_state (self);
}

GazeWindow *
gaze_window_new (GazeApplication *application)
{
  return g_object_new (GAZE_TYPE_WINDOW, "application", application, NULL);
}

void
gaze_window_reopen_last_model (GazeWindow *self)
{
  g_autofree char *path = NULL;
  g_autoptr (GFile) file = NULL;

  g_return_if_fail (GAZE_IS_WINDOW (self));

  if (self->model != NULL || self->model_cancellable != NULL
      || !g_settings_get_boolean (self->settings, "reopen-last-model"))
    return;
  path = g_settings_get_string (self->settings, "last-model");
  if (*path == '\0' || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return;
  file = g_file_new_for_path (path);
  _gaze_window_load_model (self, file);
}

gboolean
gaze_window_is_empty (GazeWindow *self)
{
  g_return_val_if_fail (GAZE_IS_WINDOW (self), FALSE);

  return g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "empty") == 0;
}

gboolean
gaze_window_is_busy (GazeWindow *self)
{
  g_return_val_if_fail (GAZE_IS_WINDOW (self), FALSE);

  return self->n_pending > 0;
}

GazeImageView *
gaze_window_get_image_view (GazeWindow *self)
{
  g_return_val_if_fail (GAZE_IS_WINDOW (self), NULL);

  return self->image_view;
}

const char *
gaze_window_get_last_message (GazeWindow *self)
{
  g_return_val_if_fail (GAZE_IS_WINDOW (self), NULL);

  return self->last_message;
}

const char *
gaze_window_get_damaged_message (GazeWindow *self, gboolean *can_analyse)
{
  g_return_val_if_fail (GAZE_IS_WINDOW (self), NULL);

  if (can_analyse != NULL)
    *can_analyse = gtk_widget_get_visible (self->damaged_button);
  if (!gtk_info_bar_get_revealed (self->damaged_bar))
    return NULL;
  return gtk_label_get_text (self->damaged_label);
}

GazeModel *
gaze_window_get_model (GazeWindow *self)
{
  g_return_val_if_fail (GAZE_IS_WINDOW (self), NULL);

  return self->model;
}

GFile *
gaze_window_get_image_file (GazeWindow *self)
{
  g_return_val_if_fail (GAZE_IS_WINDOW (self), NULL);

  return self->image != NULL ? gaze_image_get_file (self->image) : NULL;
}

const GzExplanation *
gaze_window_get_explanation (GazeWindow *self)
{
  g_return_val_if_fail (GAZE_IS_WINDOW (self), NULL);

  return self->result != NULL ? self->result->explanation : NULL;
}

GazeImageView *
gaze_window_get_compare_view (GazeWindow *self)
{
  g_return_val_if_fail (GAZE_IS_WINDOW (self), NULL);

  return self->compare_view;
}

const GzExplanation *
gaze_window_get_compare_explanation (GazeWindow *self)
{
  g_return_val_if_fail (GAZE_IS_WINDOW (self), NULL);

  return self->compare_result != NULL ? self->compare_result->explanation : NULL;
}

int
gaze_window_get_prediction (GazeWindow *self, int rank)
{
  g_return_val_if_fail (GAZE_IS_WINDOW (self), -1);

  if (self->result == NULL || rank < 0 || rank >= (int) self->result->predictions->len)
    return -1;
  return g_array_index (self->result->predictions, GazePrediction, rank).class_index;
}
