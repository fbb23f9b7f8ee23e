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
#include "gaze-image-view.h"
#include "gaze-image.h"
#include "gaze-model.h"
#include "gaze-settings.h"
#include "gaze-ui.h"
#include "gaze-window.h"

struct _GazeWindow
{
  AdwApplicationWindow parent_instance;

  GSettings *settings;

  /* What is shown. */
  GazeModel *model;
  GazeImage *image;
  GazeAnalysisResult *result;
  GdkTexture *overlay;
  /* The forward pass of (image, model), parked between jobs. */
  GzSession *session;
  GzGeometry session_geometry;

  /* What the user asked for, kept across images. */
  int class_index;          /* -1: whatever is top-1 */
  char *layer;              /* NULL: automatic */

  /* Work in flight: each kind has its own cancellable; a new request cancels
   * the older one of its kind, and a cancelled result is dropped. */
  GCancellable *model_cancellable;
  GCancellable *image_cancellable;
  GCancellable *analysis_cancellable;
  GTask *analysis_task;
  guint progress_source;
  gint64 analysis_started;
  guint n_pending;

  /* Compare: a second method on the same image and class, side by side. */
  gboolean compare;
  GzMethod compare_method;
  GazeAnalysisResult *compare_result;
  GdkTexture *compare_overlay;
  GCancellable *compare_cancellable;
  GTask *compare_task;
  gboolean syncing_viewports;

  /* Folder browsing. */
  GPtrArray *folder;        /* GFile*, images in the shown image's folder, sorted */
  int folder_index;

  gboolean updating_widgets;
  char *last_message;       /* the last toast, for tests */

  /* Template widgets. */
  AdwToastOverlay *toast_overlay;
  AdwWindowTitle *window_title;
  AdwSplitButton *open_model_button;
  GtkStack *main_stack;
  AdwStatusPage *empty_page;
  GtkButton *demo_button;
  GtkLabel *empty_model_label;
  GazeImageView *image_view;
  GazeImageView *compare_view;
  GtkWidget *compare_pane;
  GtkWidget *compare_box;
  GtkDropDown *compare_dropdown;
  GtkLabel *main_method_label;
  GtkLabel *compare_method_label;
  GtkSpinner *spinner;
  GtkRevealer *progress_revealer;
  GtkProgressBar *progress_bar;
  GtkStack *sidebar_stack;
  GtkListBox *predictions_list;
  GtkDropDown *class_dropdown;
  GtkToggleButton *cam_button;
  GtkToggleButton *gradcam_button;
  GtkDropDown *method_dropdown;
  GtkDropDown *layer_dropdown;
  GtkAdjustment *opacity_adjustment;
  GtkAdjustment *threshold_adjustment;
  GtkSwitch *contour_switch;
  GtkDropDown *colormap_dropdown;
  GtkLabel *legend_label;
  GtkLabel *legend_min_label;
  GtkLabel *legend_max_label;
  GtkDrawingArea *colorbar;
  GtkLabel *info_label;
  GtkExpander *model_expander;
  GtkLabel *model_label;
  GtkSpinButton *resize_spin;
  GtkSwitch *stretch_switch;
  GtkEditable *mean_entry;
  GtkEditable *std_entry;
  GMenuModel *recent_models_menu;
};

G_DEFINE_FINAL_TYPE (GazeWindow, gaze_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_COMPARE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void request_analysis (GazeWindow *self);
static void request_compare (GazeWindow *self);
static void update_compare_overlay (GazeWindow *self);
static void load_image (GazeWindow *self, GFile *file);
static void load_model (GazeWindow *self, GFile *file);

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

static void
show_error (GazeWindow *self, const GError *error)
{
  g_assert (error != NULL);

  g_debug ("%s", error->message);
  gaze_window_show_toast (self, error->message);
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

static void
pending_begin (GazeWindow *self)
{
  self->n_pending++;
  update_busy (self);
}

static void
pending_end (GazeWindow *self)
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
    image_name = g_strdup (_("Pasted Image"));

  if (image_name != NULL && self->model != NULL)
    /* Translators: window subtitle, "image — model" */
    subtitle = g_strdup_printf (_("%s — %s"), image_name, gaze_model_get_name (self->model));
  else if (image_name != NULL)
    subtitle = g_strdup (image_name);
  else if (self->model != NULL)
    subtitle = g_strdup (gaze_model_get_name (self->model));

  adw_window_title_set_subtitle (self->window_title, subtitle != NULL ? subtitle : "");
}

static void
update_state (GazeWindow *self)
{
  gboolean has_result = self->result != NULL;

  gtk_stack_set_visible_child_name (self->main_stack, self->image != NULL ? "viewer" : "empty");
  gtk_stack_set_visible_child_name (self->sidebar_stack,
                                    self->model != NULL ? "results" : "no-model");

  if (self->model != NULL)
    {
      g_autofree char *text = g_strdup_printf (_("Model “%s” is ready. Now drop an image."),
                                               gaze_model_get_name (self->model));
      gtk_label_set_label (self->empty_model_label, text);
    }
  else
    gtk_label_set_label (self->empty_model_label, "");

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.export", has_result);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.copy", has_result);
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
      g_autoptr (GArray) contour = gaze_analysis_contour (self->result->explanation->map,
                                                          &self->result->geometry,
                                                          threshold > 0 ? (float) threshold : 0.5f);
      gaze_image_view_set_contour (self->image_view, contour);
    }
  else
    gaze_image_view_set_contour (self->image_view, NULL);
}

static void
update_compare_overlay (GazeWindow *self)
{
  graphene_rect_t analysed;

  g_clear_object (&self->compare_overlay);
  gtk_label_set_label (self->compare_method_label,
                       gaze_settings_method_label (self->compare_method));
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

static void
label_setup_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *item,
                gpointer                  ellipsize)
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
label_bind_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *item,
               gpointer                  ellipsize)
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

  g_signal_connect (button, "setup", G_CALLBACK (label_setup_cb), GINT_TO_POINTER (mode));
  g_signal_connect (button, "bind", G_CALLBACK (label_bind_cb), NULL);
  g_signal_connect (list, "setup", G_CALLBACK (label_setup_cb),
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
    tooltip = g_strdup_printf (_("Explain this class (%d)"), rank + 1);
  else
    tooltip = g_strdup (_("Explain this class"));
  gtk_widget_set_tooltip_text (row, tooltip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  gaze_model_get_label (self->model, pred->class_index), -1);
  g_object_set_data (G_OBJECT (row), "class-index", GINT_TO_POINTER (pred->class_index));
  return row;
}

static void
update_predictions (GazeWindow *self)
{
  GtkWidget *child;

  /* Rows only: the placeholder is a child too. */
  while ((child = GTK_WIDGET (gtk_list_box_get_row_at_index (self->predictions_list, 0))) != NULL)
    gtk_list_box_remove (self->predictions_list, child);

  gtk_widget_set_visible (GTK_WIDGET (self->class_dropdown), self->result != NULL);
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
            ? gz_model_input (gaze_model_get_engine_model (self->model)) : NULL;

  /* The colour bar spans the raw scores of the upsampled map. */
  legend = g_strdup_printf ("%.3g", ex->raw_min);
  gtk_label_set_label (self->legend_min_label, legend);
  g_free (legend);
  legend = g_strdup_printf ("%.3g", ex->raw_max);
  gtk_label_set_label (self->legend_max_label, legend);
  gtk_label_set_label (self->legend_label, _("raw score"));

  info = g_strdup_printf (_("%s of “%s” (%.1f %%) at layer %s\n"
                            "Model input %d × %d · forward %.0f ms · explanation %.0f ms"),
                          gaze_settings_method_label (ex->method),
                          gaze_model_get_label (self->model, ex->class_index),
                          ex->probability * 100, ex->layer,
                          input != NULL && input->ndim == 4 ? (int) input->dims[3] : 0,
                          input != NULL && input->ndim == 4 ? (int) input->dims[2] : 0,
                          ex->forward_ms, ex->backward_ms + ex->method_ms);
  gtk_label_set_label (self->info_label, info);
}

/* Methods that do not apply to the model (e.g. CAM without a pooled linear
 * head) are greyed out in the list, with the reason as their tooltip. */
static void
method_bind_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *item,
                GazeWindow               *self)
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

  g_signal_connect (factory, "setup", G_CALLBACK (label_setup_cb),
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

static void
update_preprocess_fields (GazeWindow *self)
{
  const GzPreprocess *pp = gaze_model_get_preprocess (self->model);

  gtk_spin_button_set_value (self->resize_spin, pp->resize);
  gtk_switch_set_active (self->stretch_switch, pp->mode == GZ_RESIZE_STRETCH);
  format_triple (self->mean_entry, pp->mean, pp->channels == 1 ? 1 : 3);
  format_triple (self->std_entry, pp->std, pp->channels == 1 ? 1 : 3);
}

/* "0.485 0.456 0.406" (or one value for gray models); std must be positive. */
static gboolean
parse_triple (const char *text, int n, gboolean positive, float *out)
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

static void
draw_colorbar_cb (GtkDrawingArea *area,
                  cairo_t        *cr,
                  int             width,
                  int             height,
                  gpointer        user_data)
{
  GazeWindow *self = user_data;

  gaze_export_draw_colorbar (cr, gaze_settings_get_colormap (self->settings), 0.5, 0.5,
                             width - 1, height - 1);
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

  {
    const GzPreprocess *pp = gaze_model_get_preprocess (self->model);
    g_autofree char *resize
        = pp->mode == GZ_RESIZE_CROP
              /* Translators: preprocessing: shorter side, then centre crop */
              ? g_strdup_printf (_("resize to %d, centre crop %d × %d"), pp->resize,
                                 pp->crop_width, pp->crop_height)
              : g_strdup_printf (_("stretch to %d × %d"), pp->crop_width, pp->crop_height);
    g_autofree char *labels
        = gaze_model_has_labels (self->model)
              ? g_strdup_printf (_("%d classes, labelled"), gaze_model_get_n_classes (self->model))
              : g_strdup_printf (_("%d classes, no labels file"),
                                 gaze_model_get_n_classes (self->model));
    g_autofree char *params
        = g_strdup_printf ("%" G_GINT64_FORMAT, gz_model_parameter_count (model));
    g_autofree char *text =
      g_strdup_printf (_("Name: %s\nPreprocessing: %s\nMean: %.3f %.3f %.3f\nStd: %.3f %.3f %.3f\n"
                         "Classes: %s\nLayers: %d\nParameters: %s\nProducer: %s"),
                       gaze_model_get_name (self->model), resize,
                       pp->mean[0], pp->mean[1], pp->mean[2], pp->std[0], pp->std[1], pp->std[2],
                       labels, gz_model_layer_count (model), params,
                       gz_model_producer (model) != NULL ? gz_model_producer (model) : "");
    gtk_label_set_label (self->model_label, text);
    gtk_widget_set_visible (GTK_WIDGET (self->model_expander), TRUE);
    update_preprocess_fields (self);
  }

  for (int i = 0; i < gaze_model_get_n_classes (self->model); i++)
    {
      g_autofree char *item = g_strdup_printf ("%d · %s", i, gaze_model_get_label (self->model, i));
      gtk_string_list_append (classes, item);
    }
  gtk_drop_down_set_model (self->class_dropdown, G_LIST_MODEL (classes));
  gtk_drop_down_set_selected (self->class_dropdown, GTK_INVALID_LIST_POSITION);

  auto_layer = gz_model_default_layer (model);
  /* Translators: the layer chosen automatically; %s is its name */
  auto_name = g_strdup_printf (_("Automatic (%s)"), auto_layer != NULL ? auto_layer : _("none"));
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
        cam_ok ? _("Class activation map: the classifier weights applied to the last feature maps")
               : reason);
  }

  self->updating_widgets = FALSE;
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
      g_autoptr (GMenuItem) item = g_menu_item_new (base, NULL);

      g_menu_item_set_action_and_target_value (item, "win.open-recent-model",
                                               g_variant_new_string (recent[i]));
      g_menu_append_item (section, item);
    }
  if (recent[0] == NULL)
    {
      g_autoptr (GMenuItem) item = g_menu_item_new (_("No Recent Models"), "win.none");
      g_menu_append_item (section, item);
    }
  g_menu_append_section (menu, _("Recent Models"), G_MENU_MODEL (section));
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
analysis_done_cb (GObject      *source,
                  GAsyncResult *res,
                  gpointer      user_data)
{
  g_autoptr (GazeWindow) self = user_data;
  g_autoptr (GazeAnalysisResult) result = NULL;
  g_autoptr (GError) error = NULL;
  gboolean current = G_TASK (res) == self->analysis_task;

  result = gaze_analysis_run_finish (res, &error);
  pending_end (self);
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
      show_error (self, error);
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
  update_state (self);
  gtk_label_set_label (self->main_method_label,
                       gaze_settings_method_label (self->result->explanation->method));
  /* The right-hand view follows the class just explained. */
  request_compare (self);
}

static void
compare_done_cb (GObject      *source,
                 GAsyncResult *res,
                 gpointer      user_data)
{
  g_autoptr (GazeWindow) self = user_data;
  g_autoptr (GazeAnalysisResult) result = NULL;
  g_autoptr (GError) error = NULL;
  gboolean current = G_TASK (res) == self->compare_task;

  result = gaze_analysis_run_finish (res, &error);
  pending_end (self);
  if (current)
    g_clear_object (&self->compare_task);
  if (!current || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (result == NULL)
    {
      show_error (self, error);
      return;
    }
  g_clear_pointer (&self->compare_result, gaze_analysis_result_free);
  self->compare_result = g_steal_pointer (&result);
  update_compare_overlay (self);
}

static void
request_compare (GazeWindow *self)
{
  g_autoptr (GazeAnalysisRequest) request = NULL;

  if (!self->compare || self->model == NULL || self->image == NULL)
    return;

  replace_cancellable (&self->compare_cancellable);
  request = gaze_analysis_request_new (self->model, self->image);
  request->method = self->compare_method;
  request->class_index = self->result != NULL ? self->result->explanation->class_index
                                              : self->class_index;
  request->layer = g_strdup (self->layer);
  request->top_k = 1;
  g_clear_object (&self->compare_task);
  self->compare_task = gaze_analysis_run_async (
      g_steal_pointer (&request), self->compare_cancellable, compare_done_cb, g_object_ref (self));
  pending_begin (self);
}

static void
request_analysis (GazeWindow *self)
{
  g_autoptr (GazeAnalysisRequest) request = NULL;

  if (self->model == NULL || self->image == NULL)
    return;

  replace_cancellable (&self->analysis_cancellable);

  request = gaze_analysis_request_new (self->model, self->image);
  request->method = gaze_settings_get_method (self->settings);
  request->class_index = self->class_index;
  request->layer = g_strdup (self->layer);
  request->top_k = g_settings_get_int (self->settings, "top-k");
  if (self->session != NULL)
    {
      request->session = g_steal_pointer (&self->session);
      request->geometry = self->session_geometry;
    }

  g_clear_object (&self->analysis_task);
  self->analysis_task
      = gaze_analysis_run_async (g_steal_pointer (&request), self->analysis_cancellable,
                                 analysis_done_cb, g_object_ref (self));
  self->analysis_started = g_get_monotonic_time ();
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  if (self->progress_source == 0)
    self->progress_source = g_timeout_add (100, progress_tick_cb, self);
  pending_begin (self);
}

/* The image or model changed: what was computed no longer applies. */
static void
drop_results (GazeWindow *self)
{
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
  update_compare_overlay (self);
  update_predictions (self);
  update_info (self);
}

/* ---- Loading ------------------------------------------------------------ */

static void
model_loaded_cb (GObject      *source,
                 GAsyncResult *res,
                 gpointer      user_data)
{
  g_autoptr (GazeWindow) self = user_data;
  g_autoptr (GazeModel) model = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;

  model = gaze_model_load_finish (res, &error);
  pending_end (self);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (model == NULL)
    {
      show_error (self, error);
      return;
    }

  drop_results (self);
  g_set_object (&self->model, model);
  self->class_index = -1;
  update_model_widgets (self);

  path = g_file_get_path (gaze_model_get_file (model));
  g_settings_set_string (self->settings, "last-model", path);
  gaze_settings_add_recent_model (self->settings, path);

  update_state (self);
  request_analysis (self);
}

static void
load_model (GazeWindow *self, GFile *file)
{
  replace_cancellable (&self->model_cancellable);
  pending_begin (self);
  gaze_model_load_async (file, self->model_cancellable, model_loaded_cb, g_object_ref (self));
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

static gboolean
is_image_content_type (const char *content_type)
{
  g_autofree char *mime = content_type != NULL ? g_content_type_get_mime_type (content_type) : NULL;

  return mime != NULL && g_str_has_prefix (mime, "image/");
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
                                          G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                          G_FILE_ATTRIBUTE_STANDARD_FAST_CONTENT_TYPE ","
                                          G_FILE_ATTRIBUTE_STANDARD_TYPE,
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
          && is_image_content_type (
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

static void
show_image (GazeWindow *self, GazeImage *image)
{
  drop_results (self);
  g_clear_pointer (&self->image, gaze_image_unref);
  self->image = gaze_image_ref (image);
  gaze_image_view_set_texture (self->image_view, gaze_image_get_texture (image));
  gaze_image_view_set_texture (self->compare_view, gaze_image_get_texture (image));
  gaze_image_view_set_levels (self->image_view, gaze_image_get_levels (image));
  gaze_image_view_set_levels (self->compare_view, gaze_image_get_levels (image));

  if (gaze_image_get_file (image) != NULL)
    {
      GFile *file = gaze_image_get_file (image);

      /* Keep the folder list while walking it; rescan on a new folder. */
      if (self->folder == NULL || self->folder_index >= (int) self->folder->len ||
          !g_file_equal (self->folder->pdata[self->folder_index], file))
        scan_folder (self, file);
    }
  else
    g_clear_pointer (&self->folder, g_ptr_array_unref);

  update_state (self);
  request_analysis (self);
}

static void
image_loaded_cb (GObject      *source,
                 GAsyncResult *res,
                 gpointer      user_data)
{
  g_autoptr (GazeWindow) self = user_data;
  g_autoptr (GazeImage) image = NULL;
  g_autoptr (GError) error = NULL;

  image = gaze_image_load_finish (res, &error);
  pending_end (self);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (image == NULL)
    {
      show_error (self, error);
      return;
    }
  show_image (self, image);
}

static void
load_image (GazeWindow *self, GFile *file)
{
  replace_cancellable (&self->image_cancellable);
  pending_begin (self);
  gaze_image_load_async (file, self->image_cancellable, image_loaded_cb, g_object_ref (self));
}

static gboolean
is_model_file (GFile *file, const char *content_type)
{
  g_autofree char *name = g_file_get_basename (file);

  if (name != NULL && g_str_has_suffix (name, ".onnx"))
    return TRUE;
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
              = g_strdup_printf (_("Cannot open “%s”: %s"), name, error->message);
          gaze_window_show_toast (self, message);
          continue;
        }
      content_type = g_file_info_get_content_type (info);

      if (is_model_file (files[i], content_type))
        model = files[i];
      else if (is_image_content_type (content_type))
        {
          if (image == NULL)
            image = files[i];
        }
      else
        {
          g_autofree char *message =
            g_strdup_printf (_("“%s” is neither an image nor an ONNX model"), name);
          gaze_window_show_toast (self, message);
        }
    }

  if (model != NULL)
    load_model (self, model);
  if (image != NULL)
    {
      g_clear_pointer (&self->folder, g_ptr_array_unref);
      load_image (self, image);
    }
}

/* ---- File chooser ------------------------------------------------------- */

static void
chooser_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     gpointer         user_data)
{
  GazeWindow *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (dialog));
      guint n = g_list_model_get_n_items (files);
      g_autoptr (GPtrArray) array = g_ptr_array_new_with_free_func (g_object_unref);

      for (guint i = 0; i < n; i++)
        g_ptr_array_add (array, g_list_model_get_item (files, i));
      gaze_window_open_files (self, (GFile **) array->pdata, array->len);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
open_chooser (GazeWindow *self, gboolean model)
{
  GtkFileChooserNative *chooser;
  g_autoptr (GtkFileFilter) images = gtk_file_filter_new ();
  g_autoptr (GtkFileFilter) models = gtk_file_filter_new ();
  g_autoptr (GtkFileFilter) all = gtk_file_filter_new ();

  chooser = gtk_file_chooser_native_new (model ? _("Open Model") : _("Open Image"),
                                         GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_OPEN,
                                         _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);

  gtk_file_filter_set_name (images, _("Images"));
  gtk_file_filter_add_pixbuf_formats (images);
  gtk_file_filter_set_name (models, _("ONNX Models"));
  gtk_file_filter_add_mime_type (models, "application/x-onnx");
  gtk_file_filter_add_suffix (models, "onnx");
  gtk_file_filter_set_name (all, _("Images and Models"));
  gtk_file_filter_add_pixbuf_formats (all);
  gtk_file_filter_add_suffix (all, "onnx");

  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), model ? models : images);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), model ? images : models);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), all);
  gtk_file_chooser_set_filter (GTK_FILE_CHOOSER (chooser), model ? models : images);

  if (self->image != NULL && gaze_image_get_file (self->image) != NULL && !model)
    {
      g_autoptr (GFile) dir = g_file_get_parent (gaze_image_get_file (self->image));
      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), dir, NULL);
    }

  g_signal_connect (chooser, "response", G_CALLBACK (chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* ---- Actions ------------------------------------------------------------ */

static void
open_image_action (GtkWidget *widget, const char *name, GVariant *param)
{
  open_chooser (GAZE_WINDOW (widget), FALSE);
}

static void
open_model_action (GtkWidget *widget, const char *name, GVariant *param)
{
  open_chooser (GAZE_WINDOW (widget), TRUE);
}

static void
open_recent_model_action (GtkWidget *widget, const char *name, GVariant *param)
{
  g_autoptr (GFile) file = g_file_new_for_path (g_variant_get_string (param, NULL));

  load_model (GAZE_WINDOW (widget), file);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

static void
open_demo_action (GtkWidget *widget, const char *name, GVariant *param)
{
  GazeWindow *self = GAZE_WINDOW (widget);
  g_autofree char *dir = gaze_ui_find_demo_dir ();
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GDir) d = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  gboolean have_model = FALSE, have_image = FALSE;
  const char *entry;

  if (dir != NULL)
    d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    {
      gaze_window_show_toast (self, _("The demo is not installed"));
      return;
    }
  while ((entry = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (entry));
  g_ptr_array_sort (names, compare_strings);

  for (guint i = 0; i < names->len; i++)
    {
      const char *n = names->pdata[i];
      g_autofree char *path = g_build_filename (dir, n, NULL);
      g_autofree char *type = g_content_type_guess (n, NULL, 0, NULL);

      if (!have_model && g_str_has_suffix (n, ".onnx"))
        have_model = TRUE;
      else if (!have_image && is_image_content_type (type))
        have_image = TRUE;
      else
        continue;
      g_ptr_array_add (files, g_file_new_for_path (path));
    }
  if (!have_model || !have_image)
    {
      gaze_window_show_toast (self, _("The demo is incomplete"));
      return;
    }
  gaze_window_open_files (self, (GFile **) files->pdata, files->len);
}

static void
walk_folder (GazeWindow *self, int step)
{
  int next;

  if (self->folder == NULL)
    return;
  next = self->folder_index + step;
  if (next < 0 || next >= (int) self->folder->len)
    return;
  self->folder_index = next;
  update_state (self);
  load_image (self, self->folder->pdata[next]);
}

static void
previous_action (GtkWidget *widget, const char *name, GVariant *param)
{
  walk_folder (GAZE_WINDOW (widget), -1);
}

static void
next_action (GtkWidget *widget, const char *name, GVariant *param)
{
  walk_folder (GAZE_WINDOW (widget), +1);
}

static void
cancel_action (GtkWidget *widget, const char *name, GVariant *param)
{
  GazeWindow *self = GAZE_WINDOW (widget);

  if (self->analysis_cancellable != NULL)
    g_cancellable_cancel (self->analysis_cancellable);
}

static void
zoom_action (GtkWidget *widget, const char *name, GVariant *param)
{
  GazeWindow *self = GAZE_WINDOW (widget);

  if (g_str_equal (name, "win.zoom-in"))
    gaze_image_view_zoom_in (self->image_view);
  else if (g_str_equal (name, "win.zoom-out"))
    gaze_image_view_zoom_out (self->image_view);
  else if (g_str_equal (name, "win.zoom-fit"))
    gaze_image_view_set_fit (self->image_view, TRUE);
  else
    gaze_image_view_set_zoom (self->image_view, 1.0);
}

static void
opacity_step_action (GtkWidget *widget, const char *name, GVariant *param)
{
  GazeWindow *self = GAZE_WINDOW (widget);
  double value = g_settings_get_double (self->settings, "opacity") + g_variant_get_double (param);

  g_settings_set_double (self->settings, "opacity", CLAMP (value, 0.0, 1.0));
}

static void
select_class_action (GtkWidget *widget, const char *name, GVariant *param)
{
  GazeWindow *self = GAZE_WINDOW (widget);
  int k = g_variant_get_int32 (param);

  if (self->result == NULL || k < 1 || k > (int) self->result->predictions->len)
    return;
  self->class_index = g_array_index (self->result->predictions, GazePrediction, k - 1).class_index;
  request_analysis (self);
}

static void
cycle_method_action (GtkWidget *widget, const char *name, GVariant *param)
{
  GazeWindow *self = GAZE_WINDOW (widget);
  GzMethod method = (gaze_settings_get_method (self->settings) + 1) % GZ_METHOD_COUNT;

  g_settings_set_string (self->settings, "method", gz_method_name (method));
}

static void
fullscreen_action (GtkWidget *widget, const char *name, GVariant *param)
{
  GtkWindow *window = GTK_WINDOW (widget);

  if (gtk_window_is_fullscreen (window))
    gtk_window_unfullscreen (window);
  else
    gtk_window_fullscreen (window);
}

static void
paste_texture_cb (GObject      *source,
                  GAsyncResult *res,
                  gpointer      user_data)
{
  g_autoptr (GazeWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkTexture) texture
      = gdk_clipboard_read_texture_finish (GDK_CLIPBOARD (source), res, &error);
  g_autoptr (GazeImage) image = NULL;

  if (texture == NULL)
    {
      gaze_window_show_toast (self, _("The clipboard holds no image"));
      return;
    }
  image = gaze_image_new_for_texture (texture, NULL);
  g_clear_pointer (&self->folder, g_ptr_array_unref);
  show_image (self, image);
}

static void
paste_action (GtkWidget *widget, const char *name, GVariant *param)
{
  GdkClipboard *clipboard = gtk_widget_get_clipboard (widget);

  gdk_clipboard_read_texture_async (clipboard, NULL, paste_texture_cb, g_object_ref (widget));
}

/* ---- Export ------------------------------------------------------------- */

static GazeExport *
make_export (GazeWindow *self)
{
  GazeExport *export;
  const GzExplanation *ex;
  GFile *file;
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();

  if (self->result == NULL)
    return NULL;
  ex = self->result->explanation;
  export = gaze_export_new ();
  export->image = gaze_image_ref (self->image);
  export->projected = gz_tensor_copy (self->result->projected, NULL);
  export->geometry = self->result->geometry;
  export->colormap = gaze_settings_get_colormap (self->settings);
  export->opacity = g_settings_get_double (self->settings, "opacity");
  export->threshold = (float) g_settings_get_double (self->settings, "threshold");
  file = gaze_image_get_file (self->image);
  export->image_name = file != NULL ? g_file_get_basename (file) : g_strdup (_("Pasted Image"));
  export->model_name = g_strdup (gaze_model_get_name (self->model));
  export->class_label = g_strdup (gaze_model_get_label (self->model, ex->class_index));
  export->probability = ex->probability;
  export->method = ex->method;
  export->layer = g_strdup (ex->layer);
  export->raw_min = ex->raw_min;
  export->raw_max = ex->raw_max;
  export->time = g_date_time_ref (now);
  if (export->projected == NULL)
    g_clear_pointer (&export, gaze_export_free);
  return export;
}

typedef struct
{
  GazeWindow *self;
  GFile *file;
} ExportData;

static void
export_done_cb (GObject      *source,
                GAsyncResult *res,
                gpointer      user_data)
{
  ExportData *data = user_data;
  GazeWindow *self = data->self;
  g_autoptr (GError) error = NULL;
  g_autofree char *name = g_file_get_basename (data->file);
  g_autofree char *message = NULL;

  pending_end (self);
  if (!gaze_export_write_finish (res, &error))
    message = g_strdup_printf (_("Cannot export “%s”: %s"), name, error->message);
  else
    message = g_strdup_printf (_("Exported “%s”"), name);
  gaze_window_show_toast (self, message);

  g_object_unref (data->file);
  g_object_unref (data->self);
  g_free (data);
}

void
gaze_window_export_file (GazeWindow *self, GFile *file)
{
  GazeExport *export;
  GazeExportFormat format;
  g_autofree char *name = NULL;
  ExportData *data;

  g_return_if_fail (GAZE_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  name = g_file_get_basename (file);
  if (!gaze_export_format_from_name (name, &format))
    {
      gaze_window_show_toast (self, _("Export as .png, .pdf or .svg"));
      return;
    }
  export = make_export (self);
  if (export == NULL)
    return;

  data = g_new0 (ExportData, 1);
  data->self = g_object_ref (self);
  data->file = g_object_ref (file);
  pending_begin (self);
  gaze_export_write_async (export, file, format, NULL, export_done_cb, data);
}

static char *
suggested_export_name (GazeWindow *self)
{
  GFile *file = gaze_image_get_file (self->image);
  g_autofree char *base = file != NULL ? g_file_get_basename (file) : g_strdup ("image");
  char *dot = strrchr (base, '.');

  if (dot != NULL && dot != base)
    *dot = '\0';
  return g_strdup_printf ("%s-%s.png", base,
                          gz_method_name (self->result->explanation->method));
}

static void
export_chooser_response_cb (GtkNativeDialog *dialog,
                            int              response,
                            gpointer         user_data)
{
  GazeWindow *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      if (file != NULL)
        gaze_window_export_file (self, file);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
export_action (GtkWidget *widget, const char *name, GVariant *param)
{
  GazeWindow *self = GAZE_WINDOW (widget);
  GtkFileChooserNative *chooser;
  g_autofree char *suggested = NULL;
  const char *kinds[][2] = { { N_("PNG Image"), "png" }, { N_("PDF Document"), "pdf" },
                             { N_("SVG Image"), "svg" } };

  if (self->result == NULL)
    return;
  /* The chooser asks before replacing an existing file. */
  chooser = gtk_file_chooser_native_new (_("Export Annotated Image"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();
      gtk_file_filter_set_name (filter, _(kinds[i][0]));
      gtk_file_filter_add_suffix (filter, kinds[i][1]);
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
    }
  suggested = suggested_export_name (self);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), suggested);
  if (gaze_image_get_file (self->image) != NULL)
    {
      g_autoptr (GFile) dir = g_file_get_parent (gaze_image_get_file (self->image));
      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), dir, NULL);
    }
  g_signal_connect (chooser, "response", G_CALLBACK (export_chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
copy_action (GtkWidget *widget, const char *name, GVariant *param)
{
  GazeWindow *self = GAZE_WINDOW (widget);
  g_autoptr (GazeExport) export = make_export (self);
  g_autoptr (GdkTexture) texture = NULL;

  if (export == NULL)
    return;
  texture = gaze_export_to_texture (export);
  gdk_clipboard_set_texture (gtk_widget_get_clipboard (widget), texture);
  gaze_window_show_toast (self, _("Copied the annotated image"));
}

/* ---- Preprocessing ------------------------------------------------------ */

static void
apply_preprocess_action (GtkWidget *widget, const char *name, GVariant *param)
{
  GazeWindow *self = GAZE_WINDOW (widget);
  GzPreprocess pp;
  int n;

  if (self->model == NULL)
    return;
  pp = *gaze_model_get_preprocess (self->model);
  n = pp.channels == 1 ? 1 : 3;
  if (!parse_triple (gtk_editable_get_text (self->mean_entry), n, FALSE, pp.mean) ||
      !parse_triple (gtk_editable_get_text (self->std_entry), n, TRUE, pp.std))
    {
      gaze_window_show_toast (self, n == 1
                                        ? _("Mean and std need one number (std above 0)")
                                        : _("Mean and std need three numbers each (std above 0)"));
      return;
    }
  pp.mode = gtk_switch_get_active (self->stretch_switch) ? GZ_RESIZE_STRETCH : GZ_RESIZE_CROP;
  pp.resize = gtk_spin_button_get_value_as_int (self->resize_spin);
  if (pp.mode == GZ_RESIZE_CROP && pp.resize < MIN (pp.crop_width, pp.crop_height))
    {
      g_autofree char *message = g_strdup_printf (_("Resize must be at least the crop size (%d)"),
                                                  MIN (pp.crop_width, pp.crop_height));
      gaze_window_show_toast (self, message);
      return;
    }

  gaze_model_set_preprocess (self->model, &pp);
  /* The forward pass depends on it: start over for this image. */
  drop_results (self);
  request_analysis (self);
}

static void
save_sidecar_now (GazeWindow *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = gaze_model_get_sidecar_path (self->model);
  g_autofree char *name = g_path_get_basename (path);
  g_autofree char *message = NULL;

  if (!gaze_model_save_sidecar (self->model, &error))
    message = g_strdup_printf (_("Cannot save “%s”: %s"), name, error->message);
  else
    message = g_strdup_printf (_("Saved “%s”"), name);
  gaze_window_show_toast (self, message);
}

static void
replace_sidecar_response_cb (AdwMessageDialog *dialog,
                             const char       *response,
                             GazeWindow       *self)
{
  if (g_str_equal (response, "replace") && self->model != NULL)
    save_sidecar_now (self);
}

static void
save_sidecar_action (GtkWidget *widget, const char *name, GVariant *param)
{
  GazeWindow *self = GAZE_WINDOW (widget);
  g_autofree char *path = NULL;
  g_autofree char *base = NULL;
  GtkWidget *dialog;

  if (self->model == NULL)
    return;
  /* What is saved is what is applied: apply the fields first. */
  apply_preprocess_action (widget, NULL, NULL);
  path = gaze_model_get_sidecar_path (self->model);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      save_sidecar_now (self);
      return;
    }
  base = g_path_get_basename (path);
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Replace the Model Settings?"), NULL);
  adw_message_dialog_format_body (
      ADW_MESSAGE_DIALOG (dialog),
      _("“%s” already exists beside the model. Replacing it changes how "
         "the model prepares images for everyone who uses this file."),
      base);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _("_Cancel"),
                                    "replace", _("_Replace"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "replace",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (replace_sidecar_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- Compare ------------------------------------------------------------ */

static void
set_compare (GazeWindow *self, gboolean compare)
{
  compare = !!compare;
  if (self->compare == compare)
    return;
  self->compare = compare;
  gtk_widget_set_visible (self->compare_pane, compare);
  gtk_widget_set_visible (self->compare_box, compare);
  gtk_widget_set_visible (GTK_WIDGET (self->main_method_label), compare);
  if (compare)
    request_compare (self);
  else
    {
      if (self->compare_cancellable != NULL)
        g_cancellable_cancel (self->compare_cancellable);
      g_clear_object (&self->compare_task);
      g_clear_pointer (&self->compare_result, gaze_analysis_result_free);
      update_compare_overlay (self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPARE]);
}

/* Zoom and pan move both views together. */
static void
viewport_changed_cb (GazeImageView *view,
                     GazeWindow    *self)
{
  GazeImageView *other = view == self->image_view ? self->compare_view : self->image_view;
  gboolean fit;
  double zoom, cx, cy;

  if (self->syncing_viewports)
    return;
  self->syncing_viewports = TRUE;
  gaze_image_view_get_viewport (view, &fit, &zoom, &cx, &cy);
  gaze_image_view_set_viewport (other, fit, zoom, cx, cy);
  self->syncing_viewports = FALSE;
}

static void
compare_selected_cb (GtkDropDown *dropdown,
                     GParamSpec  *pspec,
                     GazeWindow  *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);

  if (self->updating_widgets || selected >= GZ_METHOD_COUNT || selected == self->compare_method)
    return;
  self->compare_method = selected;
  request_compare (self);
}

/* ---- Drag and drop ------------------------------------------------------ */

static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         GazeWindow    *self)
{
  GSList *list;
  g_autoptr (GPtrArray) files = g_ptr_array_new ();

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  list = gdk_file_list_get_files (g_value_get_boxed (value));
  for (GSList *l = list; l != NULL; l = l->next)
    g_ptr_array_add (files, l->data);
  g_slist_free (list);
  if (files->len == 0)
    return FALSE;
  gaze_window_open_files (self, (GFile **) files->pdata, files->len);
  return TRUE;
}

/* ---- Sidebar signals ---------------------------------------------------- */

static void
prediction_activated_cb (GtkListBox    *box,
                         GtkListBoxRow *row,
                         GazeWindow    *self)
{
  int index = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "class-index"));

  if (self->updating_widgets)
    return;
  self->class_index = index;
  request_analysis (self);
}

static void
class_selected_cb (GtkDropDown *dropdown,
                   GParamSpec  *pspec,
                   GazeWindow  *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);

  if (self->updating_widgets || selected == GTK_INVALID_LIST_POSITION)
    return;
  if (self->result != NULL && (int) selected == self->result->explanation->class_index)
    return;
  self->class_index = selected;
  request_analysis (self);
}

static void
layer_selected_cb (GtkDropDown *dropdown,
                   GParamSpec  *pspec,
                   GazeWindow  *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);
  const GzModel *model;

  if (self->updating_widgets || self->model == NULL || selected == GTK_INVALID_LIST_POSITION)
    return;
  model = gaze_model_get_engine_model (self->model);
  g_clear_pointer (&self->layer, g_free);
  if (selected > 0 && (int) selected <= gz_model_layer_count (model))
    self->layer = g_strdup (gz_model_layer (model, selected - 1)->output);
  request_analysis (self);
}

static void
method_selected_cb (GtkDropDown *dropdown,
                    GParamSpec  *pspec,
                    GazeWindow  *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);

  if (self->updating_widgets || selected >= GZ_METHOD_COUNT)
    return;
  g_settings_set_string (self->settings, "method", gz_method_name (selected));
}

static void
settings_changed_cb (GSettings  *settings,
                     const char *key,
                     GazeWindow *self)
{
  if (g_str_equal (key, "method"))
    {
      GzMethod method = gaze_settings_get_method (settings);
      char reason[256] = "";

      /* A method the model cannot do: say why and stay with the shown one. */
      if (self->model != NULL &&
          !gz_method_applicable (gaze_model_get_engine_model (self->model), method, self->layer,
                                 reason, sizeof reason))
        {
          gaze_window_show_toast (self, reason);
          if (self->result != NULL)
            g_settings_set_string (settings, "method",
                                   gz_method_name (self->result->explanation->method));
          return;
        }

      self->updating_widgets = TRUE;
      gtk_drop_down_set_selected (self->method_dropdown, method);
      self->updating_widgets = FALSE;
      /* Back to what is shown (after a refusal): nothing to compute. */
      if (self->result != NULL && self->analysis_task == NULL &&
          self->result->explanation->method == method)
        return;
      request_analysis (self);
    }
  else if (g_str_equal (key, "colormap") || g_str_equal (key, "threshold") ||
           g_str_equal (key, "show-contour"))
    {
      update_overlay (self);
      update_compare_overlay (self);
      gtk_widget_queue_draw (GTK_WIDGET (self->colorbar));
    }
  else if (g_str_equal (key, "top-k"))
    request_analysis (self);
  else if (g_str_equal (key, "recent-models"))
    update_recent_models (self);
}

static gboolean
key_pressed_cb (GtkEventControllerKey *controller,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                GazeWindow            *self)
{
  /* Hold Space to see the image alone, unless a text field has the focus. */
  if (keyval == GDK_KEY_space && (state & GDK_MODIFIER_MASK) == 0 &&
      !GTK_IS_EDITABLE (gtk_root_get_focus (GTK_ROOT (self))) &&
      gtk_stack_get_visible_child (self->main_stack) != GTK_WIDGET (self->empty_page))
    {
      gaze_image_view_set_show_overlay (self->image_view, FALSE);
      gaze_image_view_set_show_overlay (self->compare_view, FALSE);
      return TRUE;
    }
  return FALSE;
}

static void
key_released_cb (GtkEventControllerKey *controller,
                 guint                  keyval,
                 guint                  keycode,
                 GdkModifierType        state,
                 GazeWindow            *self)
{
  if (keyval == GDK_KEY_space)
    {
      gaze_image_view_set_show_overlay (self->image_view, TRUE);
      gaze_image_view_set_show_overlay (self->compare_view, TRUE);
    }
}

/* ---- Life cycle --------------------------------------------------------- */

static void
gaze_window_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
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
gaze_window_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  GazeWindow *self = GAZE_WINDOW (object);

  switch (prop_id)
    {
    case PROP_COMPARE:
      set_compare (self, g_value_get_boolean (value));
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
  g_clear_pointer (&self->compare_result, gaze_analysis_result_free);
  g_clear_object (&self->compare_overlay);
  g_clear_object (&self->compare_cancellable);
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

  properties[PROP_COMPARE] =
    g_param_spec_boolean ("compare", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gaze_ui_init ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/gazeviewer/Gaze/gaze-window.ui");
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, open_model_button);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, empty_page);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, demo_button);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, empty_model_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, image_view);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, compare_view);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, compare_pane);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, compare_box);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, compare_dropdown);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, main_method_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, compare_method_label);
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
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, contour_switch);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, colormap_dropdown);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, legend_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, legend_min_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, legend_max_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, colorbar);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, info_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, model_expander);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, model_label);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, resize_spin);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, stretch_switch);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, mean_entry);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, std_entry);
  gtk_widget_class_bind_template_child (widget_class, GazeWindow, recent_models_menu);

  gtk_widget_class_install_action (widget_class, "win.open-image", NULL, open_image_action);
  gtk_widget_class_install_action (widget_class, "win.open-model", NULL, open_model_action);
  gtk_widget_class_install_action (widget_class, "win.open-recent-model", "s",
                                   open_recent_model_action);
  gtk_widget_class_install_action (widget_class, "win.open-demo", NULL, open_demo_action);
  gtk_widget_class_install_action (widget_class, "win.previous", NULL, previous_action);
  gtk_widget_class_install_action (widget_class, "win.next", NULL, next_action);
  gtk_widget_class_install_action (widget_class, "win.cancel", NULL, cancel_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-in", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-out", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-fit", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-original", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.opacity-step", "d", opacity_step_action);
  gtk_widget_class_install_action (widget_class, "win.select-class", "i", select_class_action);
  gtk_widget_class_install_action (widget_class, "win.cycle-method", NULL, cycle_method_action);
  gtk_widget_class_install_action (widget_class, "win.fullscreen", NULL, fullscreen_action);
  gtk_widget_class_install_action (widget_class, "win.paste", NULL, paste_action);
  gtk_widget_class_install_property_action (widget_class, "win.compare", "compare");
  gtk_widget_class_install_action (widget_class, "win.apply-preprocess", NULL,
                                   apply_preprocess_action);
  gtk_widget_class_install_action (widget_class, "win.save-sidecar", NULL, save_sidecar_action);
  gtk_widget_class_install_action (widget_class, "win.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "win.copy", NULL, copy_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open-image",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.open-model", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_O, GDK_CONTROL_MASK | GDK_SHIFT_MASK,
                                       "win.open-model", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK, "win.export",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_c, GDK_CONTROL_MASK, "win.copy", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_v, GDK_CONTROL_MASK, "win.paste",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, 0, "win.previous", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Page_Up, 0, "win.previous", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, 0, "win.next", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Page_Down, 0, "win.next", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "win.cancel", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, 0, "win.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, 0, "win.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Add, 0, "win.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, 0, "win.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Subtract, 0, "win.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, 0, "win.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, GDK_CONTROL_MASK,
                                       "win.zoom-original", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_bracketleft, 0, "win.opacity-step",
                                       "d", -0.1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_bracketright, 0, "win.opacity-step",
                                       "d", 0.1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_m, 0, "win.cycle-method", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F11, 0, "win.fullscreen", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_d, 0, "win.compare", NULL);
  for (int k = 1; k <= 9; k++)
    gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0 + k, 0, "win.select-class", "i",
                                         k);
}

static void
gaze_window_init (GazeWindow *self)
{
  g_autoptr (GtkStringList) colormaps = gaze_settings_colormap_model ();
  g_autoptr (GtkStringList) methods = gaze_settings_method_model ();
  GtkDropTarget *drop;
  GtkEventController *keys;
  GType types[] = { GDK_TYPE_FILE_LIST };

  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (APP_ID);
  self->class_index = -1;

  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  gtk_drawing_area_set_draw_func (self->colorbar, draw_colorbar_cb, self, NULL);
  set_method_factory (self);
  {
    GtkWidget *placeholder = gtk_label_new (_("Computing…"));

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

  gaze_settings_bind_percent (self->settings, "opacity", self->opacity_adjustment, "value");
  gaze_settings_bind_percent (self->settings, "threshold", self->threshold_adjustment, "value");
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
  g_signal_connect (self->compare_dropdown, "notify::selected", G_CALLBACK (compare_selected_cb),
                    self);
  g_signal_connect (self->image_view, "viewport-changed", G_CALLBACK (viewport_changed_cb), self);
  g_signal_connect (self->compare_view, "viewport-changed", G_CALLBACK (viewport_changed_cb), self);
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

  drop = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);
  gtk_drop_target_set_gtypes (drop, types, G_N_ELEMENTS (types));
  g_signal_connect (drop, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (key_pressed_cb), self);
  g_signal_connect (keys, "key-released", G_CALLBACK (key_released_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), keys);

  gtk_widget_set_visible (GTK_WIDGET (self->demo_button), gaze_ui_find_demo_dir () != NULL);

  update_recent_models (self);
  update_state (self);
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

  if (self->model != NULL || self->model_cancellable != NULL ||
      !g_settings_get_boolean (self->settings, "reopen-last-model"))
    return;
  path = g_settings_get_string (self->settings, "last-model");
  if (*path == '\0' || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return;
  file = g_file_new_for_path (path);
  load_model (self, file);
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
