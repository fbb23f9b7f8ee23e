/* gaze-window-private.h — the GazeWindow struct, shared by the files that make up the window
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * gaze-window.c: state, loading, the worker, the view and the sidebar.
 * gaze-window-actions.c: actions, file choosers, export, preprocessing, compare, drops.
 */
#pragma once

#include <adwaita.h>

#include "gaze-analysis.h"
#include "gaze-engine.h"
#include "gaze-error-bar.h"
#include "gaze-image-view.h"
#include "gaze-image.h"
#include "gaze-model.h"
#include "gaze-window.h"

G_BEGIN_DECLS

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
  int class_index; /* -1: whatever is top-1 */
  char *layer; /* NULL: automatic */

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
  GCancellable *labels_cancellable;
  GTask *compare_task;
  gboolean syncing_viewports;

  /* Folder browsing. */
  GPtrArray *folder; /* GFile*, images in the shown image's folder, sorted */
  int folder_index;

  gboolean updating_widgets;
  char *last_message; /* the last toast, for tests */
  /* A damaged image refused until "Analyse Anyway" (win.analyse-damaged). */
  GFile *damaged_file;

  /* Template widgets. */
  AdwToastOverlay *toast_overlay;
  GazeErrorBar *error_bar; /* issue 15: errors in full, above the damaged-image bar */
  GtkInfoBar *damaged_bar;
  GtkLabel *damaged_label;
  GtkInfoBar *preprocess_bar; /* issue 19: preprocessing hint */
  GtkWidget *damaged_button;
  AdwWindowTitle *window_title;
  AdwSplitButton *open_model_button;
  GtkLabel *compare_reason_label; /* why the right pane has no map */
  GtkStack *main_stack;
  AdwStatusPage *empty_page;
  GtkButton *demo_button;
  GtkButton *medical_demo_button;
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
  GtkAdjustment *smooth_adjustment; /* SmoothGrad copies */
  GtkSwitch *contour_switch;
  GtkDropDown *colormap_dropdown;
  GtkLabel *legend_label;
  GtkLabel *legend_min_label;
  GtkLabel *legend_max_label;
  GtkDrawingArea *colorbar;
  GtkLabel *info_label;
  GtkExpander *model_expander;
  GtkLabel *model_label;
  GtkLabel *labels_label;
  GtkLabel *labels_warning;
  GtkSpinButton *resize_spin;
  GtkSwitch *stretch_switch;
  GtkEditable *mean_entry;
  GtkEditable *std_entry;
  GMenuModel *recent_models_menu;
};

/* gaze-window.c */
void _gaze_window_show_error (GazeWindow *self, const GError *error);
/* An error in the window's error bar, in full (paths shortened); issue 15. */
void _gaze_window_show_error_text (GazeWindow *self, const char *message);
void _gaze_window_update_model_summary (GazeWindow *self);
void _gaze_window_pending_begin (GazeWindow *self);
void _gaze_window_pending_end (GazeWindow *self);
void _gaze_window_update_state (GazeWindow *self);
void _gaze_window_update_compare_overlay (GazeWindow *self);
void _gaze_window_update_preprocess_fields (GazeWindow *self);
void _gaze_window_labels_changed (GazeWindow *self);
void _gaze_window_request_analysis (GazeWindow *self);
/* A request for `class_index` (-1: top-1) with the method, layer and
 * SmoothGrad the main view uses now; no session. */
GazeAnalysisRequest *_gaze_window_new_analysis_request (GazeWindow *self, int class_index);
void _gaze_window_request_compare (GazeWindow *self);
void _gaze_window_drop_results (GazeWindow *self);
void _gaze_window_load_model (GazeWindow *self, GFile *file);
void _gaze_window_load_image (GazeWindow *self, GFile *file);
/* Loads the refused damaged image anyway; its analysis is marked damaged. */
void _gaze_window_load_damaged_image (GazeWindow *self);
void _gaze_window_show_image (GazeWindow *self, GazeImage *image);
gboolean _gaze_window_is_image_content_type (const char *content_type);
gboolean _gaze_window_parse_triple (const char *text, int n, gboolean positive, float *out);
void _gaze_window_label_setup_cb (GtkSignalListItemFactory *factory, GtkListItem *item,
                                  gpointer ellipsize);

/* gaze-window-actions.c */
void _gaze_window_class_init_actions (GtkWidgetClass *widget_class);
void _gaze_window_init_actions (GazeWindow *self);
void _gaze_window_set_compare (GazeWindow *self, gboolean compare);

G_END_DECLS
