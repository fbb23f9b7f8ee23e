/* gaze-findings.c — every positive finding of a multi-label model explained at once, in the sidebar
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-findings"

#include "config.h"

#include <glib/gi18n.h>

#include "gaze-findings.h"
#include "gaze-settings.h"
#include "gaze-task.h"
#include "gaze-weak-ref.h"
#include "gaze-window-private.h"

#define DATA_KEY "gaze-findings"
#define TILE_SIZE 96

typedef struct
{
  GazeWindow *window; /* not a reference: this lives as the window's data */
  GtkWidget *button;
  GtkWidget *spinner;
  GtkWidget *flow;
  GtkWidget *caption;
  GCancellable *cancellable;
  GTask *task;
  GPtrArray *results; /* GazeAnalysisResult*, shown as tiles */
  /* What the maps (shown or in flight) were asked with. */
  GazeImage *image;
  GzMethod method;
  char *layer;
  int smooth_samples;
  float smooth_sigma;
} Findings;

static Findings *
get_findings (GazeWindow *window)
{
  Findings *f = g_object_get_data (G_OBJECT (window), DATA_KEY);

  g_assert (f != NULL);
  return f;
}

/* ---- The worker: one forward pass, one explanation per finding ------------ */

static void
explain_all_thread (GTask *task, gpointer source_object, gpointer task_data,
                    GCancellable *cancellable)
{
  gaze_task_begin (task);
  GPtrArray *requests = task_data;
  g_autoptr (GPtrArray) results
      = g_ptr_array_new_with_free_func ((GDestroyNotify) gaze_analysis_result_free);
  GError *error = NULL;

  for (guint i = 0; i < requests->len; i++)
    {
      GazeAnalysisRequest *request = requests->pdata[i];
      GazeAnalysisResult *result;

      /* The next finding reuses the forward pass: one backward pass each. */
      if (i > 0)
        {
          GazeAnalysisResult *previous = results->pdata[i - 1];

          request->session = g_steal_pointer (&previous->session);
          request->geometry = previous->geometry;
        }
      result = gaze_analysis_run (request, cancellable, NULL, &error);
      if (result == NULL)
        {
          gaze_task_end (task);
          g_task_return_error (task, error);
          return;
        }
      g_ptr_array_add (results, result);
    }
  gaze_task_end (task);
  g_task_return_pointer (task, g_steal_pointer (&results), (GDestroyNotify) g_ptr_array_unref);
}

/* ---- The tiles ------------------------------------------------------------- */

static void
tile_clicked_cb (GtkButton *button, Findings *f)
{
  f->window->class_index = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "class-index"));
  _gaze_window_request_analysis (f->window);
}

static GtkWidget *
tile_new (Findings *f, const GazeAnalysisResult *result)
{
  GazeWindow *window = f->window;
  const GzExplanation *ex = result->explanation;
  const char *label = gaze_model_get_label (window->model, ex->class_index);
  g_autoptr (GdkTexture) overlay
      = gaze_analysis_colorize (result->projected, gaze_settings_get_colormap (window->settings),
                                (float) g_settings_get_double (window->settings, "threshold"));
  GtkWidget *button = gtk_button_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *stack = gtk_overlay_new ();
  GtkWidget *picture
      = gtk_picture_new_for_paintable (GDK_PAINTABLE (gaze_image_get_texture (f->image)));
  GtkWidget *heat = gtk_picture_new_for_paintable (GDK_PAINTABLE (overlay));
  /* Translators: a finding's map in the "all findings" strip (its accessible
   * name): finding, probability */
  g_autofree char *text = g_strdup_printf (_ ("%s · %.1f %%"), label, ex->probability * 100);
  GtkWidget *name = gtk_label_new (label);
  g_autofree char *percent = g_strdup_printf ("%.1f %%", ex->probability * 100);
  GtkWidget *probability = gtk_label_new (percent);
  /* Translators: tooltip of a finding's map; %s is the finding */
  g_autofree char *tooltip = g_strdup_printf (_ ("Explain “%s” in the main view"), label);

  gtk_widget_set_size_request (stack, TILE_SIZE, TILE_SIZE);
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
  gtk_picture_set_can_shrink (GTK_PICTURE (heat), TRUE);
  gtk_widget_set_opacity (heat, g_settings_get_double (window->settings, "opacity"));
  gtk_overlay_set_child (GTK_OVERLAY (stack), picture);
  gtk_overlay_add_overlay (GTK_OVERLAY (stack), heat);
  /* Finding and probability on lines of their own: a tile is narrow. */
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (name, "caption-heading");
  gtk_widget_add_css_class (probability, "caption");
  gtk_widget_add_css_class (probability, "dim-label");
  gtk_box_append (GTK_BOX (box), stack);
  gtk_box_append (GTK_BOX (box), name);
  gtk_box_append (GTK_BOX (box), probability);
  gtk_button_set_child (GTK_BUTTON (button), box);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_add_css_class (button, "finding-map");
  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, text, -1);
  g_object_set_data (G_OBJECT (button), "class-index", GINT_TO_POINTER (ex->class_index));
  g_signal_connect (button, "clicked", G_CALLBACK (tile_clicked_cb), f);
  return button;
}

static void
show_results (Findings *f)
{
  GtkWidget *child;

  /* GTK 4.8 has no gtk_flow_box_remove_all. */
  while ((child = gtk_widget_get_first_child (f->flow)) != NULL)
    gtk_flow_box_remove (GTK_FLOW_BOX (f->flow), child);
  for (guint i = 0; f->results != NULL && i < f->results->len; i++)
    gtk_flow_box_append (GTK_FLOW_BOX (f->flow), tile_new (f, f->results->pdata[i]));
  gtk_widget_set_visible (f->flow, f->results != NULL && f->results->len > 0);
  gtk_widget_set_visible (f->caption, f->results != NULL && f->results->len > 0);
}

static void
set_busy (Findings *f, gboolean busy)
{
  gtk_widget_set_visible (f->spinner, busy);
  gtk_spinner_set_spinning (GTK_SPINNER (f->spinner), busy);
}

static void
explain_all_done_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GazeWindow) window = gaze_weak_ref_take (user_data);
  g_autoptr (GPtrArray) results = NULL;
  g_autoptr (GError) error = NULL;
  Findings *f;

  gaze_task_finish (res);
  results = g_task_propagate_pointer (G_TASK (res), &error);
  if (window == NULL)
    return;
  f = get_findings (window);
  /* A newer request, or a clear, replaced this one. */
  if ((GTask *) res != f->task)
    return;
  g_clear_object (&f->task);
  set_busy (f, FALSE);
  if (results == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _gaze_window_show_error (window, error);
      return;
    }
  g_clear_pointer (&f->results, g_ptr_array_unref);
  f->results = g_steal_pointer (&results);
  show_results (f);
}

/* ---- Requests -------------------------------------------------------------- */

/* Touches no widget: also called while the window is disposed. */
static void
cancel_task (Findings *f)
{
  if (f->cancellable != NULL)
    g_cancellable_cancel (f->cancellable);
  g_clear_object (&f->cancellable);
  g_clear_object (&f->task);
}

static void
cancel_work (Findings *f)
{
  cancel_task (f);
  set_busy (f, FALSE);
}

void
gaze_findings_cancel (GazeWindow *window)
{
  cancel_task (get_findings (window));
}

void
gaze_findings_clear (GazeWindow *window)
{
  Findings *f = get_findings (window);

  cancel_work (f);
  g_clear_pointer (&f->results, g_ptr_array_unref);
  g_clear_pointer (&f->image, gaze_image_unref);
  show_results (f);
}

/* The positive findings of the shown predictions, most likely first. */
static GArray *
positive_classes (GazeWindow *window)
{
  GArray *classes = g_array_new (FALSE, FALSE, sizeof (int));

  if (window->result == NULL || window->model == NULL || !gaze_model_is_multilabel (window->model))
    return classes;
  for (guint i = 0; i < window->result->predictions->len; i++)
    {
      const GazePrediction *p = &g_array_index (window->result->predictions, GazePrediction, i);

      if (p->probability >= gaze_model_get_threshold (window->model))
        g_array_append_val (classes, p->class_index);
    }
  return classes;
}

static void
explain_all (Findings *f)
{
  GazeWindow *window = f->window;
  g_autoptr (GArray) classes = positive_classes (window);
  GPtrArray *requests;

  if (classes->len == 0 || window->image == NULL)
    return;
  gaze_findings_clear (window);
  requests = g_ptr_array_new_with_free_func ((GDestroyNotify) gaze_analysis_request_free);
  for (guint i = 0; i < classes->len; i++)
    {
      GazeAnalysisRequest *request
          = _gaze_window_new_analysis_request (window, g_array_index (classes, int, i));

      request->top_k = 1;
      g_ptr_array_add (requests, request);
    }
  {
    const GazeAnalysisRequest *first = requests->pdata[0];

    f->image = gaze_image_ref (window->image);
    f->method = first->method;
    g_free (f->layer);
    f->layer = g_strdup (first->layer);
    f->smooth_samples = first->smooth_samples;
    f->smooth_sigma = first->smooth_sigma;
  }
  f->cancellable = g_cancellable_new ();
  f->task = g_task_new (NULL, f->cancellable, explain_all_done_cb, gaze_weak_ref_new (window));
  g_task_set_source_tag (f->task, explain_all);
  g_task_set_task_data (f->task, requests, (GDestroyNotify) g_ptr_array_unref);
  gaze_task_run_in_thread (f->task, explain_all_thread);
  set_busy (f, TRUE);
}

static void
explain_all_clicked_cb (GtkButton *button, Findings *f)
{
  explain_all (f);
}

void
gaze_findings_analysis_requested (GazeWindow *window)
{
  Findings *f = get_findings (window);
  g_autoptr (GazeAnalysisRequest) now = NULL;

  if (f->image == NULL)
    return;
  if (window->image != f->image || window->model == NULL)
    {
      gaze_findings_clear (window);
      return;
    }
  now = _gaze_window_new_analysis_request (window, -1);
  if (now->method != f->method || g_strcmp0 (now->layer, f->layer) != 0
      || now->smooth_samples != f->smooth_samples || now->smooth_sigma != f->smooth_sigma)
    gaze_findings_clear (window);
}

void
gaze_findings_predictions_shown (GazeWindow *window)
{
  Findings *f = get_findings (window);
  gboolean multilabel = window->model != NULL && gaze_model_is_multilabel (window->model);
  g_autoptr (GArray) classes = positive_classes (window);

  gtk_widget_set_visible (f->button, multilabel && window->result != NULL);
  gtk_widget_set_sensitive (f->button, classes->len > 0);
}

/* ---- Set-up ---------------------------------------------------------------- */

static void
findings_free (Findings *f)
{
  cancel_task (f);
  g_clear_pointer (&f->results, g_ptr_array_unref);
  g_clear_pointer (&f->image, gaze_image_unref);
  g_free (f->layer);
  g_free (f);
}

void
gaze_findings_attach (GazeWindow *window)
{
  Findings *f;
  GtkWidget *box;
  GtkWidget *header;

  g_return_if_fail (GAZE_IS_WINDOW (window));
  g_return_if_fail (g_object_get_data (G_OBJECT (window), DATA_KEY) == NULL);

  f = g_new0 (Findings, 1);
  f->window = window;
  g_object_set_data_full (G_OBJECT (window), DATA_KEY, f, (GDestroyNotify) findings_free);

  /* Under the class chooser, in the predictions page. */
  box = gtk_widget_get_parent (GTK_WIDGET (window->class_dropdown));
  g_assert (GTK_IS_BOX (box));

  header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  f->button = gtk_button_new_with_mnemonic (_ ("Explain All _Findings"));
  gtk_widget_set_name (f->button, "explain-all-findings");
  gtk_widget_set_hexpand (f->button, TRUE);
  gtk_widget_set_tooltip_text (f->button,
                               _ ("Show the map of every positive finding, side by side"));
  g_signal_connect (f->button, "clicked", G_CALLBACK (explain_all_clicked_cb), f);
  f->spinner = gtk_spinner_new ();
  gtk_box_append (GTK_BOX (header), f->button);
  gtk_box_append (GTK_BOX (header), f->spinner);
  gtk_box_append (GTK_BOX (box), header);

  f->flow = gtk_flow_box_new ();
  gtk_widget_set_name (f->flow, "finding-maps");
  gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (f->flow), GTK_SELECTION_NONE);
  gtk_flow_box_set_homogeneous (GTK_FLOW_BOX (f->flow), TRUE);
  /* Three a row: the sidebar is wide enough, and a 14-finding head wraps. */
  gtk_flow_box_set_min_children_per_line (GTK_FLOW_BOX (f->flow), 3);
  gtk_flow_box_set_max_children_per_line (GTK_FLOW_BOX (f->flow), 3);
  gtk_flow_box_set_column_spacing (GTK_FLOW_BOX (f->flow), 6);
  gtk_flow_box_set_row_spacing (GTK_FLOW_BOX (f->flow), 6);
  gtk_accessible_update_property (GTK_ACCESSIBLE (f->flow), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _ ("Maps of the positive findings"), -1);
  gtk_box_append (GTK_BOX (box), f->flow);

  f->caption = gtk_label_new (
      _ ("Click a map to explain its finding in the main view. Exports show the main view only."));
  gtk_label_set_wrap (GTK_LABEL (f->caption), TRUE);
  gtk_label_set_xalign (GTK_LABEL (f->caption), 0);
  gtk_widget_add_css_class (f->caption, "dim-label");
  gtk_widget_add_css_class (f->caption, "caption");
  gtk_box_append (GTK_BOX (box), f->caption);

  set_busy (f, FALSE);
  show_results (f);
  gtk_widget_set_visible (f->button, FALSE);
}

gboolean
gaze_findings_is_busy (GazeWindow *window)
{
  g_return_val_if_fail (GAZE_IS_WINDOW (window), FALSE);
  return get_findings (window)->task != NULL;
}

guint
gaze_findings_get_n_maps (GazeWindow *window)
{
  Findings *f;

  g_return_val_if_fail (GAZE_IS_WINDOW (window), 0);
  f = get_findings (window);
  return f->results != NULL ? f->results->len : 0;
}

const GzExplanation *
gaze_findings_get_explanation (GazeWindow *window, guint index)
{
  Findings *f;

  g_return_val_if_fail (GAZE_IS_WINDOW (window), NULL);
  f = get_findings (window);
  if (f->results == NULL || index >= f->results->len)
    return NULL;
  return ((GazeAnalysisResult *) f->results->pdata[index])->explanation;
}
