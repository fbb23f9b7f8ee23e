/* gaze-model.c — a loaded classifier: the engine model plus its labels and preprocessing
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-model"

#include "config.h"

#include <glib/gi18n.h>

#include "gaze-limits-settings.h"
#include "gaze-model.h"
#include "gaze-task.h"
#include "gaze-io-sidecar.h"

struct _GazeModel
{
  GObject parent_instance;

  GFile *file;
  char *name;
  GzModel *model;
  GzPreprocess preprocess;
  int n_classes;
  GPtrArray *labels; /* char*, n_classes entries once loaded */
  gboolean has_labels;
  int n_labels_given; /* how many the source held: may differ from n_classes */
  char *labels_path; /* the labels file, NULL when inline or none */
  double threshold; /* output head (issue 14): multi-label positive threshold */
};

G_DEFINE_FINAL_TYPE (GazeModel, gaze_model, G_TYPE_OBJECT)
G_DEFINE_QUARK (gaze - error - quark, gaze_error)

void
gaze_propagate_engine_error (GError **error, const GzError *err, const char *context)
{
  if (err->code == GZ_ERR_CANCELLED)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _ ("Cancelled"));
  else if (context != NULL)
    g_set_error (error, GAZE_ERROR, GAZE_ERROR_ENGINE, "%s: %s", context, err->message);
  else
    g_set_error_literal (error, GAZE_ERROR, GAZE_ERROR_ENGINE, err->message);
}

static void
gaze_model_finalize (GObject *object)
{
  GazeModel *self = GAZE_MODEL (object);

  g_clear_object (&self->file);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->model, gz_model_free);
  g_clear_pointer (&self->labels, g_ptr_array_unref);
  g_clear_pointer (&self->labels_path, g_free);

  G_OBJECT_CLASS (gaze_model_parent_class)->finalize (object);
}

static void
gaze_model_class_init (GazeModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = gaze_model_finalize;
}

static void
gaze_model_init (GazeModel *self)
{
  self->labels = g_ptr_array_new_with_free_func (g_free);
  self->threshold = 0.5;
}

/* Labels and preprocessing come from MODEL.json / labels.txt beside the model,
 * read by gaze-io exactly as gaze-cli reads them. */
static gboolean
load_sidecar (GazeModel *self, const char *path, const char *basename, GError **error)
{
  GazeIoOverrides sidecar;
  g_autoptr (GError) local_error = NULL;
  const char *const *labels;

  gaze_io_overrides_init (&sidecar);
  if (!gaze_io_sidecar_read (path, &sidecar, &local_error)
      || !gaze_io_overrides_apply_layout (self->model, &sidecar, NULL, &local_error)
      || !gaze_io_overrides_apply_input_size (self->model, &sidecar, NULL, &local_error)
      || !gaze_io_overrides_resolve (self->model, &sidecar, NULL, &self->preprocess, &local_error))
    {
      g_set_error (error, GAZE_ERROR, GAZE_ERROR_NOT_MODEL,
                   _ ("The settings beside the model “%s” are not usable: %s"), basename,
                   local_error->message);
      gaze_io_overrides_clear (&sidecar);
      return FALSE;
    }

  /* Output head (issue 14): the sidecar's "output" before any session exists. */
  gaze_io_overrides_apply_output (self->model, &sidecar, NULL);
  self->threshold = gaze_io_overrides_threshold (&sidecar, NULL);
  labels = gaze_io_overrides_labels (&sidecar, NULL);
  gaze_model_set_labels (self, labels,
                         sidecar.labels_path != NULL && g_str_equal (sidecar.labels_path, "inline")
                             ? NULL
                             : sidecar.labels_path);
  gaze_io_overrides_clear (&sidecar);
  return TRUE;
}

GazeModel *
gaze_model_load (GFile *file, GCancellable *cancellable, GError **error)
{
  g_autoptr (GazeModel) self = NULL;
  g_autofree char *path = NULL;
  g_autofree char *basename = NULL;
  const GzValueInfo *output;
  GzError err = { 0 };

  g_return_val_if_fail (G_IS_FILE (file), NULL);

  path = g_file_get_path (file);
  if (path == NULL)
    {
      g_set_error (error, GAZE_ERROR, GAZE_ERROR_NOT_MODEL, _ ("Models must be local files"));
      return NULL;
    }

  self = g_object_new (GAZE_TYPE_MODEL, NULL);
  self->file = g_object_ref (file);
  basename = g_file_get_basename (file);
  /* "best_model.pth" → "best_model": .onnx and the PyTorch weight files. */
  self->name = g_strndup (basename, strlen (basename) - gz_model_file_suffix (basename));

  g_autofree char *architecture = gaze_io_sidecar_architecture (path); /* issue 20 */
  GzLimits limits;
  gaze_limits_settings_get (&limits); /* issue 15: Preferences › Limits */
  if (gz_model_load_arch (path, architecture, &limits, &self->model, &err) != GZ_OK)
    {
      g_set_error (error, GAZE_ERROR, GAZE_ERROR_ENGINE, _ ("Cannot load the model “%s”: %s"),
                   basename, err.message);
      return NULL;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  output = gz_model_output (self->model);
  self->n_classes = output != NULL && output->ndim >= 1 ? (int) output->dims[output->ndim - 1] : 0;
  if (self->n_classes <= 0)
    {
      g_set_error (error, GAZE_ERROR, GAZE_ERROR_NOT_MODEL,
                   _ ("The model “%s” has no class output"), basename);
      return NULL;
    }

  if (!load_sidecar (self, path, basename, error))
    return NULL;

  return g_steal_pointer (&self);
}

static void
load_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  gaze_task_begin (task);
  GError *error = NULL;
  GazeModel *model = gaze_model_load (task_data, cancellable, &error);

  gaze_task_end (task);
  if (model == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, model, g_object_unref);
}

void
gaze_model_load_async (GFile *file, GCancellable *cancellable, GAsyncReadyCallback callback,
                       gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (G_IS_FILE (file));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, gaze_model_load_async);
  g_task_set_task_data (task, g_object_ref (file), g_object_unref);
  /* A cancelled load is thrown away even if the thread is still reading. */
  g_task_set_return_on_cancel (task, TRUE);
  gaze_task_run_in_thread (task, load_thread);
}

GazeModel *
gaze_model_load_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gaze_model_load_async, NULL);

  gaze_task_finish (result);
  return g_task_propagate_pointer (G_TASK (result), error);
}

GFile *
gaze_model_get_file (GazeModel *self)
{
  g_return_val_if_fail (GAZE_IS_MODEL (self), NULL);

  return self->file;
}

const char *
gaze_model_get_name (GazeModel *self)
{
  g_return_val_if_fail (GAZE_IS_MODEL (self), NULL);

  return self->name;
}

const GzModel *
gaze_model_get_engine_model (GazeModel *self)
{
  g_return_val_if_fail (GAZE_IS_MODEL (self), NULL);

  return self->model;
}

gboolean
gaze_model_is_multilabel (GazeModel *self)
{
  g_return_val_if_fail (GAZE_IS_MODEL (self), FALSE);

  return gz_model_output_kind (self->model) == GZ_OUTPUT_SIGMOID && self->n_classes > 1;
}

double
gaze_model_get_threshold (GazeModel *self)
{
  g_return_val_if_fail (GAZE_IS_MODEL (self), 0.5);

  return self->threshold;
}

const GzPreprocess *
gaze_model_get_preprocess (GazeModel *self)
{
  g_return_val_if_fail (GAZE_IS_MODEL (self), NULL);

  return &self->preprocess;
}

int
gaze_model_get_n_classes (GazeModel *self)
{
  g_return_val_if_fail (GAZE_IS_MODEL (self), 0);

  return self->n_classes;
}

const char *
gaze_model_get_label (GazeModel *self, int index)
{
  g_return_val_if_fail (GAZE_IS_MODEL (self), NULL);
  g_return_val_if_fail (index >= 0 && index < self->n_classes, NULL);

  return g_ptr_array_index (self->labels, index);
}

gboolean
gaze_model_has_labels (GazeModel *self)
{
  g_return_val_if_fail (GAZE_IS_MODEL (self), FALSE);

  return self->has_labels;
}

void
gaze_model_set_preprocess (GazeModel *self, const GzPreprocess *preprocess)
{
  g_return_if_fail (GAZE_IS_MODEL (self));
  g_return_if_fail (preprocess != NULL);

  self->preprocess = *preprocess;
}

gboolean
gaze_model_save_sidecar (GazeModel *self, GError **error)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (GAZE_IS_MODEL (self), FALSE);

  path = g_file_get_path (self->file);
  return gaze_io_sidecar_write (path, &self->preprocess, self->labels_path, error);
}

char *
gaze_model_get_sidecar_path (GazeModel *self)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (GAZE_IS_MODEL (self), NULL);

  path = g_file_get_path (self->file);
  return gaze_io_sidecar_path (path);
}

/* As gaze-cli's gaze_io_label_for: label i names class i; classes beyond the list
 * are "class N", labels beyond the classes are unused. The panel warns when
 * the counts differ. */
void
gaze_model_set_labels (GazeModel *self, const char *const *labels, const char *path)
{
  guint n = labels != NULL ? g_strv_length ((GStrv) labels) : 0;

  char *new_path = n > 0 ? g_strdup (path) : NULL;

  g_return_if_fail (GAZE_IS_MODEL (self));

  g_ptr_array_set_size (self->labels, 0);
  for (int i = 0; i < self->n_classes; i++)
    g_ptr_array_add (self->labels,
                     (guint) i < n ? g_strdup (labels[i]) : g_strdup_printf (_ ("class %d"), i));
  self->has_labels = n > 0;
  self->n_labels_given = (int) MIN (n, (guint) G_MAXINT);
  g_free (self->labels_path);
  self->labels_path = new_path;
}

int
gaze_model_get_n_labels (GazeModel *self)
{
  g_return_val_if_fail (GAZE_IS_MODEL (self), 0);

  return self->n_labels_given;
}

const char *
gaze_model_get_labels_path (GazeModel *self)
{
  g_return_val_if_fail (GAZE_IS_MODEL (self), NULL);

  return self->labels_path;
}
