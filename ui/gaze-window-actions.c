/* gaze-window-actions.c — the window's actions: file choosers, folder walking, zoom, export,
 * preprocessing, compare, paste and drops
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-window"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "gaze-export.h"
#include "gaze-task.h"
#include "gaze-settings.h"
#include "gaze-ui.h"
#include "gaze-weak-ref.h"
#include "gaze-window-private.h"
#include "gaze-io-overrides.h"

/* ---- File chooser ------------------------------------------------------- */

static void
chooser_response_cb (GtkNativeDialog *dialog, int response, gpointer user_data)
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

  chooser
      = gtk_file_chooser_native_new (model ? _ ("Open Model") : _ ("Open Image"), GTK_WINDOW (self),
                                     GTK_FILE_CHOOSER_ACTION_OPEN, _ ("_Open"), _ ("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);

  gtk_file_filter_set_name (images, _ ("Images"));
  gtk_file_filter_add_pixbuf_formats (images);
  /* ONNX and PyTorch weights (.pth/.pt/.ckpt/.safetensors, issue 20). */
  static const char *const model_suffixes[] = { "onnx", "pth", "pt", "ckpt", "safetensors", NULL };
  gtk_file_filter_set_name (models, _ ("Models (ONNX, PyTorch weights)"));
  gtk_file_filter_add_mime_type (models, "application/x-onnx");
  gtk_file_filter_set_name (all, _ ("Images and Models"));
  gtk_file_filter_add_pixbuf_formats (all);
  for (int i = 0; model_suffixes[i] != NULL; i++)
    {
      gtk_file_filter_add_suffix (models, model_suffixes[i]);
      gtk_file_filter_add_suffix (all, model_suffixes[i]);
    }

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

  _gaze_window_load_model (GAZE_WINDOW (widget), file);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

/* Opens the model and one image of a demo folder. The photo demo shows its
 * first image; the medical demo its last, whose name (like its content) has
 * the most findings, so that a positive finding's heatmap shows at once. */
static void
open_demo_folder (GazeWindow *self, const char *dir, gboolean last_image)
{
  g_autoptr (GDir) d = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GFile) model = NULL;
  g_autoptr (GFile) image = NULL;
  const char *entry;

  if (dir != NULL)
    d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    {
      _gaze_window_show_error_text (self, _ ("The demo is not installed"));
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

      if (model == NULL && gz_model_file_suffix (n) > 0)
        model = g_file_new_for_path (path);
      else if ((image == NULL || last_image) && _gaze_window_is_image_content_type (type))
        {
          g_clear_object (&image);
          image = g_file_new_for_path (path);
        }
    }
  if (model == NULL || image == NULL)
    {
      _gaze_window_show_error_text (self, _ ("The demo is incomplete"));
      return;
    }
  gaze_window_open_files (self, (GFile *[]){ model, image }, 2);
}

static void
open_demo_action (GtkWidget *widget, const char *name, GVariant *param)
{
  g_autofree char *dir = gaze_ui_find_demo_dir ();

  open_demo_folder (GAZE_WINDOW (widget), dir, FALSE);
}

static void
open_medical_demo_action (GtkWidget *widget, const char *name, GVariant *param)
{
  g_autofree char *dir = gaze_ui_find_medical_demo_dir ();

  open_demo_folder (GAZE_WINDOW (widget), dir, TRUE);
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
  _gaze_window_update_state (self);
  _gaze_window_load_image (self, self->folder->pdata[next]);
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
  _gaze_window_request_analysis (self);
}

static void
cycle_method_action (GtkWidget *widget, const char *name, GVariant *param)
{
  GazeWindow *self = GAZE_WINDOW (widget);
  GzMethod method = gaze_settings_get_method (self->settings);
  char reason[256];

  /* The next method this model can do (M on a model without CAM skips it).
   * Score-CAM, Ablation-CAM, Integrated Gradients and Occlusion run tens to
   * hundreds of forwards (half a minute on a large model): a casual key press
   * never starts them; the method list does. */
  for (int i = 0; i < GZ_METHOD_COUNT; i++)
    {
      method = (method + 1) % GZ_METHOD_COUNT;
      if (method == GZ_METHOD_SCORECAM || method == GZ_METHOD_ABLATIONCAM
          || method == GZ_METHOD_INTEGRATED_GRADIENTS || method == GZ_METHOD_OCCLUSION)
        continue;
      if (self->model == NULL
          || gz_method_applicable (gaze_model_get_engine_model (self->model), method, self->layer,
                                   reason, sizeof reason))
        break;
    }
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
paste_texture_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GazeWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkTexture) texture
      = gdk_clipboard_read_texture_finish (GDK_CLIPBOARD (source), res, &error);
  g_autoptr (GazeImage) image = NULL;

  if (texture == NULL)
    {
      gaze_window_show_toast (self, _ ("The clipboard holds no image"));
      return;
    }
  image = gaze_image_new_for_texture (texture, NULL);
  g_clear_pointer (&self->folder, g_ptr_array_unref);
  _gaze_window_show_image (self, image);
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
  g_autoptr (GDateTime) now = gaze_io_report_now ();

  if (self->result == NULL)
    return NULL;
  ex = self->result->explanation;
  export = gaze_export_new ();
  export->image = gaze_image_ref (self->image);
  export->projected = gz_tensor_copy (self->result->projected, NULL);
  export->map = gz_tensor_copy (ex->map, NULL);
  export->raw = gz_tensor_copy (ex->raw, NULL);
  export->geometry = self->result->geometry;
  export->colormap = gaze_settings_get_colormap (self->settings);
  export->opacity = g_settings_get_double (self->settings, "opacity");
  export->threshold = (float) g_settings_get_double (self->settings, "threshold");
  file = gaze_image_get_file (self->image);
  export->image_name = file != NULL ? g_file_get_basename (file) : g_strdup (_ ("Pasted Image"));
  export->model_name = g_strdup (gaze_model_get_name (self->model));
  export->class_label = g_strdup (gaze_model_get_label (self->model, ex->class_index));
  export->probability = ex->probability;
  export->method = ex->method;
  export->smooth_samples = ex->smooth_samples;
  export->layer = g_strdup (ex->layer);
  export->raw_min = ex->raw_min;
  export->raw_max = ex->raw_max;
  export->time = g_date_time_ref (now);
  /* issue 15: report options. */
  export->disclaimer = g_settings_get_string (self->settings, "export-disclaimer");
  {
    g_autofree char *page = g_settings_get_string (self->settings, "export-page");

    if (!gaze_io_report_page_from_name (page, &export->page))
      export->page = GAZE_IO_PAGE_IMAGE;
  }
  export->dpi = g_settings_get_int (self->settings, "export-dpi");
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
export_done_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  ExportData *data = user_data;
  GazeWindow *self = data->self;
  g_autoptr (GError) error = NULL;
  g_autofree char *name = g_file_get_basename (data->file);
  g_autofree char *message = NULL;

  _gaze_window_pending_end (self);
  if (!gaze_export_write_finish (res, &error))
    {
      message = g_strdup_printf (_ ("Cannot export “%s”: %s"), name, error->message);
      _gaze_window_show_error_text (self, message);
    }
  else
    {
      message = g_strdup_printf (_ ("Exported “%s”"), name);
      gaze_window_show_toast (self, message);
    }

  g_object_unref (data->file);
  g_object_unref (data->self);
  g_free (data);
}

static void
export_file_as (GazeWindow *self, GFile *file, GazeExportFormat format)
{
  GazeExport *export;
  ExportData *data;

  export = make_export (self);
  if (export == NULL)
    return;

  data = g_new0 (ExportData, 1);
  data->self = g_object_ref (self);
  data->file = g_object_ref (file);
  _gaze_window_pending_begin (self);
  gaze_export_write_async (export, file, format, NULL, export_done_cb, data);
}

void
gaze_window_export_file (GazeWindow *self, GFile *file)
{
  GazeExportFormat format;
  g_autofree char *name = NULL;

  g_return_if_fail (GAZE_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  name = g_file_get_basename (file);
  if (!gaze_export_format_from_name (name, &format))
    {
      _gaze_window_show_error_text (self, _ ("Export as .png, .pdf, .svg or .npy"));
      return;
    }
  export_file_as (self, file, format);
}

void
gaze_window_export_raw_map (GazeWindow *self, GFile *file)
{
  g_return_if_fail (GAZE_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  export_file_as (self, file, GAZE_EXPORT_NPY_RAW);
}

static char *
suggested_export_name (GazeWindow *self)
{
  GFile *file = gaze_image_get_file (self->image);
  g_autofree char *base = file != NULL ? g_file_get_basename (file) : g_strdup ("image");
  char *dot = strrchr (base, '.');

  if (dot != NULL && dot != base)
    *dot = '\0';
  return g_strdup_printf ("%s-%s.png", base, gz_method_name (self->result->explanation->method));
}

static void
export_chooser_response_cb (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  GazeWindow *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      GtkFileFilter *filter = gtk_file_chooser_get_filter (GTK_FILE_CHOOSER (dialog));
      const char *kind = filter != NULL ? g_object_get_data (G_OBJECT (filter), "gaze-kind") : NULL;

      if (file != NULL && g_strcmp0 (kind, "raw") == 0)
        gaze_window_export_raw_map (self, file);
      else if (file != NULL)
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
  const char *kinds[][3] = { { N_ ("PNG Image"), "png", "png" },
                             { N_ ("PDF Document"), "pdf", "pdf" },
                             { N_ ("SVG Image"), "svg", "svg" },
                             { N_ ("NumPy Map, Normalised (model input size)"), "npy", "map" },
                             { N_ ("NumPy Map, Raw (layer size, before ReLU)"), "npy", "raw" } };

  if (self->result == NULL)
    return;
  /* The chooser asks before replacing an existing file. */
  chooser
      = gtk_file_chooser_native_new (_ ("Export Annotated Image"), GTK_WINDOW (self),
                                     GTK_FILE_CHOOSER_ACTION_SAVE, _ ("_Export"), _ ("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();
      gtk_file_filter_set_name (filter, _ (kinds[i][0]));
      gtk_file_filter_add_suffix (filter, kinds[i][1]);
      g_object_set_data (G_OBJECT (filter), "gaze-kind", (gpointer) kinds[i][2]);
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
  gaze_window_show_toast (self, _ ("Copied the annotated image"));
}

/* ---- Preprocessing ------------------------------------------------------ */

/* Applies the preprocessing fields to the model; FALSE (and the error bar
 * says why) when they are invalid, and the model keeps its values. */
static gboolean
apply_preprocess (GazeWindow *self)
{
  GzPreprocess pp;
  int n;

  if (self->model == NULL)
    return FALSE;
  pp = *gaze_model_get_preprocess (self->model);
  n = pp.channels == 1 ? 1 : 3;
  if (!_gaze_window_parse_triple (gtk_editable_get_text (self->mean_entry), n, FALSE, pp.mean)
      || !_gaze_window_parse_triple (gtk_editable_get_text (self->std_entry), n, TRUE, pp.std))
    {
      _gaze_window_show_error_text (self,
                                    n == 1
                                        ? _ ("Mean and std need one number (std above 0)")
                                        : _ ("Mean and std need three numbers each (std above 0)"));
      return FALSE;
    }
  pp.mode = gtk_switch_get_active (self->stretch_switch) ? GZ_RESIZE_STRETCH : GZ_RESIZE_CROP;
  pp.resize = gtk_spin_button_get_value_as_int (self->resize_spin);
  if (pp.mode == GZ_RESIZE_CROP && pp.resize < MIN (pp.crop_width, pp.crop_height))
    {
      g_autofree char *message = g_strdup_printf (_ ("Resize must be at least the crop size (%d)"),
                                                  MIN (pp.crop_width, pp.crop_height));
      _gaze_window_show_error_text (self, message);
      return FALSE;
    }

  gaze_model_set_preprocess (self->model, &pp);
  /* issue 15 item 8: the model's summary shows the values now in use. */
  _gaze_window_update_model_summary (self);
  /* The forward pass depends on it: start over for this image. */
  _gaze_window_drop_results (self);
  _gaze_window_request_analysis (self);
  return TRUE;
}

static void
apply_preprocess_action (GtkWidget *widget, const char *name, GVariant *param)
{
  apply_preprocess (GAZE_WINDOW (widget));
}

static void
save_sidecar_now (GazeWindow *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = gaze_model_get_sidecar_path (self->model);
  g_autofree char *name = g_path_get_basename (path);
  g_autofree char *message = NULL;

  if (!gaze_model_save_sidecar (self->model, &error))
    {
      message = g_strdup_printf (_ ("Cannot save “%s”: %s"), name, error->message);
      _gaze_window_show_error_text (self, message);
    }
  else
    {
      message = g_strdup_printf (_ ("Saved “%s”"), name);
      gaze_window_show_toast (self, message);
    }
}

static void
replace_sidecar_response_cb (AdwMessageDialog *dialog, const char *response, GazeWindow *self)
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
  /* What is saved is what is applied: apply the fields first, and save
   * nothing when they are invalid (the error bar says why). */
  if (!apply_preprocess (self))
    return;
  path = gaze_model_get_sidecar_path (self->model);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      save_sidecar_now (self);
      return;
    }
  base = g_path_get_basename (path);
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _ ("Replace the Model Settings?"), NULL);
  adw_message_dialog_format_body (
      ADW_MESSAGE_DIALOG (dialog),
      _ ("“%s” already exists beside the model. Replacing it changes how "
         "the model prepares images for everyone who uses this file."),
      base);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _ ("_Cancel"), "replace",
                                    _ ("_Replace"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "replace",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (replace_sidecar_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- Labels ------------------------------------------------------------- */

static void
read_labels_thread (GTask *task, gpointer source_object, gpointer task_data,
                    GCancellable *cancellable)
{
  gaze_task_begin (task);
  GError *error = NULL;
  GStrv labels = gaze_io_labels_read (task_data, &error);

  gaze_task_end (task);
  if (labels == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, labels, (GDestroyNotify) g_strfreev);
}

/* What a labels read is for: the window (weakly) and the model chosen for. */
typedef struct
{
  gpointer window; /* gaze_weak_ref_new */
  GazeModel *model;
} LabelsFor;

static void
labels_read_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  LabelsFor *data = user_data;
  g_autoptr (GazeWindow) self = gaze_weak_ref_take (data->window);
  g_autoptr (GazeModel) model = data->model;
  g_autoptr (GError) error = NULL;
  gaze_task_finish (res);
  g_auto (GStrv) labels = g_task_propagate_pointer (G_TASK (res), &error);
  const char *path = g_task_get_task_data (G_TASK (res));
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *message = NULL;

  g_free (data);
  if (self == NULL) /* the window closed meanwhile */
    return;
  _gaze_window_pending_end (self);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  /* Labels belong to the model they were chosen for. */
  if (model != self->model)
    return;
  if (labels == NULL)
    {
      message = g_strdup_printf (_ ("Cannot read the labels “%s”: %s"), base, error->message);
      _gaze_window_show_error_text (self, message);
      return;
    }
  gaze_model_set_labels (model, (const char *const *) labels, path);
  _gaze_window_labels_changed (self);
  message = g_strdup_printf (_ ("Labels from “%s”"), base);
  gaze_window_show_toast (self, message);
}

void
gaze_window_open_labels (GazeWindow *self, GFile *file)
{
  g_autoptr (GTask) task = NULL;
  LabelsFor *data;
  char *path;

  g_return_if_fail (GAZE_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  if (self->model == NULL)
    return;
  path = g_file_get_path (file);
  if (path == NULL)
    {
      _gaze_window_show_error_text (self, _ ("Labels must be a local file"));
      return;
    }
  if (self->labels_cancellable != NULL)
    g_cancellable_cancel (self->labels_cancellable);
  g_clear_object (&self->labels_cancellable);
  self->labels_cancellable = g_cancellable_new ();

  /* The file may sit on a slow mount: read it in a worker. */
  data = g_new0 (LabelsFor, 1);
  data->window = gaze_weak_ref_new (self);
  data->model = g_object_ref (self->model);
  task = g_task_new (NULL, self->labels_cancellable, labels_read_cb, data);
  g_task_set_source_tag (task, gaze_window_open_labels);
  g_task_set_task_data (task, path, g_free);
  g_task_set_return_on_cancel (task, TRUE);
  _gaze_window_pending_begin (self);
  gaze_task_run_in_thread (task, read_labels_thread);
}

static void
labels_chooser_response_cb (GtkNativeDialog *chooser, int response, GazeWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      if (file != NULL)
        gaze_window_open_labels (self, file);
    }
  g_object_unref (chooser);
}

static void
choose_labels_action (GtkWidget *widget, const char *name, GVariant *param)
{
  GazeWindow *self = GAZE_WINDOW (widget);
  GtkFileChooserNative *chooser;
  g_autoptr (GtkFileFilter) text = gtk_file_filter_new ();
  g_autoptr (GtkFileFilter) all = gtk_file_filter_new ();
  g_autoptr (GFile) dir = NULL;

  if (self->model == NULL)
    return;
  chooser = gtk_file_chooser_native_new (_ ("Choose Labels File"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _ ("_Open"), _ ("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_filter_set_name (text, _ ("Text Files"));
  gtk_file_filter_add_mime_type (text, "text/plain");
  gtk_file_filter_add_suffix (text, "txt");
  gtk_file_filter_set_name (all, _ ("All Files"));
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), text);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), all);
  gtk_file_chooser_set_filter (GTK_FILE_CHOOSER (chooser), text);
  dir = g_file_get_parent (gaze_model_get_file (self->model));
  if (dir != NULL)
    gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), dir, NULL);
  g_signal_connect (chooser, "response", G_CALLBACK (labels_chooser_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* ---- Compare ------------------------------------------------------------ */

void
_gaze_window_set_compare (GazeWindow *self, gboolean compare)
{
  compare = !!compare;
  if (self->compare == compare)
    return;
  self->compare = compare;
  gtk_widget_set_visible (self->compare_pane, compare);
  gtk_widget_set_visible (self->compare_box, compare);
  gtk_widget_set_visible (GTK_WIDGET (self->main_method_label), compare);
  if (compare)
    _gaze_window_request_compare (self);
  else
    {
      if (self->compare_cancellable != NULL)
        g_cancellable_cancel (self->compare_cancellable);
      g_clear_object (&self->compare_task);
      g_clear_pointer (&self->compare_result, gaze_analysis_result_free);
      _gaze_window_update_compare_overlay (self);
    }
}

/* Zoom and pan move both views together. */
static void
viewport_changed_cb (GazeImageView *view, GazeWindow *self)
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
compare_selected_cb (GtkDropDown *dropdown, GParamSpec *pspec, GazeWindow *self)
{
  guint selected = gtk_drop_down_get_selected (dropdown);

  if (self->updating_widgets || selected >= GZ_METHOD_COUNT || selected == self->compare_method)
    return;
  self->compare_method = selected;
  _gaze_window_request_compare (self);
}

/* ---- Drag and drop ------------------------------------------------------ */

static gboolean
drop_cb (GtkDropTarget *target, const GValue *value, double x, double y, GazeWindow *self)
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

/* ---- Installation ------------------------------------------------------- */

/* -- Preprocessing hint (issue 19): open the model's preprocessing -- */
static void
edit_preprocess_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  GazeWindow *self = GAZE_WINDOW (widget);

  gtk_expander_set_expanded (self->model_expander, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->mean_entry));
}
/* -- end preprocessing hint -- */

static void
analyse_damaged_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  _gaze_window_load_damaged_image (GAZE_WINDOW (widget));
}

void
_gaze_window_class_init_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.open-image", NULL, open_image_action);
  gtk_widget_class_install_action (widget_class, "win.open-model", NULL, open_model_action);
  gtk_widget_class_install_action (widget_class, "win.open-recent-model", "s",
                                   open_recent_model_action);
  gtk_widget_class_install_action (widget_class, "win.open-demo", NULL, open_demo_action);
  gtk_widget_class_install_action (widget_class, "win.open-medical-demo", NULL,
                                   open_medical_demo_action);
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
  gtk_widget_class_install_action (widget_class, "win.analyse-damaged", NULL,
                                   analyse_damaged_action);
  gtk_widget_class_install_action (widget_class, "win.edit-preprocess", NULL,
                                   edit_preprocess_action); /* issue 19 */
  gtk_widget_class_install_property_action (widget_class, "win.compare", "compare");
  gtk_widget_class_install_action (widget_class, "win.apply-preprocess", NULL,
                                   apply_preprocess_action);
  gtk_widget_class_install_action (widget_class, "win.save-sidecar", NULL, save_sidecar_action);
  gtk_widget_class_install_action (widget_class, "win.choose-labels", NULL, choose_labels_action);
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

void
_gaze_window_init_actions (GazeWindow *self)
{
  GType types[] = { GDK_TYPE_FILE_LIST };
  GtkDropTarget *drop;

  g_signal_connect (self->compare_dropdown, "notify::selected", G_CALLBACK (compare_selected_cb),
                    self);
  g_signal_connect (self->image_view, "viewport-changed", G_CALLBACK (viewport_changed_cb), self);
  g_signal_connect (self->compare_view, "viewport-changed", G_CALLBACK (viewport_changed_cb), self);

  drop = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);
  gtk_drop_target_set_gtypes (drop, types, G_N_ELEMENTS (types));
  g_signal_connect (drop, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));
}
