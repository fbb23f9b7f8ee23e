/* cli-options.c — the preprocessing flags shared by `predict` and `explain`
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "cli-options.h"
#include "gaze-io-dicom.h" /* issue 14 */
#include "gaze-io-gray16.h" /* issue 14: 16-bit grayscale PNG/TIFF */
#include "gaze-io-sidecar.h"

void
gz_cli_options_init (GzCliOptions *opts)
{
  memset (opts, 0, sizeof *opts);
  opts->resize = -1;
  opts->crop = -1;
  opts->threads = -1;
  gz_limits_default (&opts->limits);
  gaze_io_overrides_init (&opts->settings);
}

void
gz_cli_options_clear (GzCliOptions *opts)
{
  g_free (opts->labels_file);
  g_free (opts->input_tensor);
  g_free (opts->save_input);
  g_free (opts->limits_spec);
  gaze_io_overrides_clear (&opts->settings);
  gz_cli_options_init (opts);
}

/* "R,G,B": three finite numbers (one number means the same for all three). */
static gboolean
parse_triple (const char *flag, const char *value, float out[3], gboolean positive, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (value, ",", -1);
  guint n = g_strv_length (parts);
  if (n != 3 && n != 1)
    goto bad;
  for (guint i = 0; i < 3; i++)
    {
      const char *s = parts[n == 1 ? 0 : i];
      char *end;
      errno = 0;
      double v = g_ascii_strtod (g_strstrip ((char *) s), &end);
      if (errno != 0 || end == s || *end != '\0' || !isfinite (v) || (positive && !(v > 0)))
        goto bad;
      out[i] = (float) v;
    }
  return TRUE;
bad:
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "%s: expected three %snumbers R,G,B (0..1 units), got '%s'", flag,
               positive ? "positive " : "", value);
  return FALSE;
}

static gboolean
mean_cb (const char *name, const char *value, gpointer data, GError **error)
{
  GzCliOptions *o = data;
  o->has_mean = parse_triple (name, value, o->mean, FALSE, error);
  return o->has_mean;
}

static gboolean
std_cb (const char *name, const char *value, gpointer data, GError **error)
{
  GzCliOptions *o = data;
  o->has_std = parse_triple (name, value, o->std, TRUE, error);
  return o->has_std;
}

static gboolean
positive_int (const char *name, const char *value, int max, int *out, GError **error)
{
  char *end;
  errno = 0;
  gint64 v = g_ascii_strtoll (value, &end, 10);
  if (errno != 0 || end == value || *end != '\0' || v < 1 || v > max)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "%s: expected an integer from 1 to %d, got '%s'", name, max, value);
      return FALSE;
    }
  *out = (int) v;
  return TRUE;
}

static gboolean
int_cb (const char *name, const char *value, gpointer data, GError **error)
{
  GzCliOptions *o = data;
  if (strcmp (name, "--resize") == 0)
    return positive_int (name, value, 65536, &o->resize, error);
  if (strcmp (name, "--crop") == 0)
    return positive_int (name, value, 16384, &o->crop, error);
  return positive_int (name, value, 1024, &o->threads, error);
}

/* -- Resampler flags (issue 19): --resize-backend, --interpolation -- */
static gboolean
resampler_cb (const char *name, const char *value, gpointer data, GError **error)
{
  GazeIoOverrides *s = &((GzCliOptions *) data)->settings;
  if (strcmp (name, "--resize-backend") == 0)
    {
      s->has_resize_backend = gaze_io_resize_backend_parse (value, &s->resize_backend);
      if (!s->has_resize_backend)
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     "%s: expected pil or tensor, got '%s'", name, value);
      return s->has_resize_backend;
    }
  s->has_interpolation = gaze_io_interpolation_parse (value, &s->interpolation);
  if (!s->has_interpolation)
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "%s: expected bilinear or bicubic, got '%s'", name, value);
  return s->has_interpolation;
}
/* -- end resampler flags -- */
/* issue 19: --channel-order rgb|bgr, --scale S, --layout nchw|nhwc. */
static gboolean
convention_cb (const char *name, const char *value, gpointer data, GError **error)
{
  GazeIoOverrides *s = &((GzCliOptions *) data)->settings;
  if (strcmp (name, "--channel-order") == 0)
    {
      s->has_channel_order = gaze_io_channel_order_parse (value, &s->bgr);
      if (!s->has_channel_order)
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     "%s: expected rgb or bgr, got '%s'", name, value);
      return s->has_channel_order;
    }
  if (strcmp (name, "--layout") == 0)
    {
      s->has_layout = gz_input_layout_from_name (value, &s->layout);
      if (!s->has_layout)
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     "%s: expected nchw or nhwc, got '%s'", name, value);
      return s->has_layout;
    }
  if (strcmp (name, "--input-size") == 0)
    {
      /* HxW, or N for a square. */
      char *end = NULL;
      gint64 h = g_ascii_strtoll (value, &end, 10), w = h;
      if (end != value && (*end == 'x' || *end == 'X'))
        {
          const char *rest = end + 1;
          w = g_ascii_strtoll (rest, &end, 10);
          if (end == rest)
            end = (char *) value;
        }
      if (end == value || *end != '\0' || h < 1 || w < 1 || h > 16384 || w > 16384)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "%s: expected HEIGHTxWIDTH from 1 to 16384, got '%s'", name, value);
          return FALSE;
        }
      s->input_height = (int) h;
      s->input_width = (int) w;
      s->has_input_size = TRUE;
      return TRUE;
    }
  char *end = NULL;
  double v = g_ascii_strtod (value, &end);
  /* "1/127.5" is how the conventions are usually written. */
  if (end != value && *end == '/')
    {
      char *end2 = NULL;
      double d = g_ascii_strtod (end + 1, &end2);
      v = end2 != end + 1 && d != 0.0 ? v / d : NAN;
      end = end2;
    }
  if (end == value || *end != '\0' || !(v > 0.0) || !isfinite ((float) v))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "%s: expected a positive number (or A/B), got '%s'", name, value);
      return FALSE;
    }
  s->scale = (float) v;
  s->has_scale = TRUE;
  return TRUE;
}
/* issue 14: --window C,W and --frame N (straight into the settings layer). */
static gboolean
window_cb (const char *name, const char *value, gpointer data, GError **error)
{
  GzCliOptions *o = data;
  g_auto (GStrv) parts = g_strsplit (value, ",", -1);
  char *end0 = NULL, *end1 = NULL;
  double c = 0, w = 0;
  if (g_strv_length (parts) == 2)
    {
      c = g_ascii_strtod (parts[0], &end0);
      w = g_ascii_strtod (parts[1], &end1);
    }
  if (end0 == NULL || end1 == NULL || *end0 != '\0' || *end1 != '\0' || end0 == parts[0]
      || end1 == parts[1] || !isfinite (c) || !isfinite (w) || !(w > 0))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "%s: expected CENTER,WIDTH with a width above 0, got \"%s\"", name, value);
      return FALSE;
    }
  o->settings.window_center = c;
  o->settings.window_width = w;
  o->settings.has_window = TRUE;
  return TRUE;
}

static gboolean
frame_cb (const char *name, const char *value, gpointer data, GError **error)
{
  GzCliOptions *o = data;
  char *end = NULL;
  gint64 v = g_ascii_strtoll (value, &end, 10);
  if (end == value || *end != '\0' || v < 0 || v > G_MAXINT)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "%s: expected a frame number from 0, got \"%s\"", name, value);
      return FALSE;
    }
  o->settings.frame = (int) v;
  o->settings.has_frame = TRUE;
  return TRUE;
}

void
gz_cli_options_add (GOptionContext *ctx, GzCliOptions *opts)
{
  const GOptionEntry entries[] = {
    { "labels", 0, 0, G_OPTION_ARG_FILENAME, &opts->labels_file,
      "Class names, one per line (line i = class i)", "FILE" },
    { "mean", 0, 0, G_OPTION_ARG_CALLBACK, mean_cb,
      "Per-channel mean in 0..1 units (default: the sidecar's, else ImageNet's)", "R,G,B" },
    { "std", 0, 0, G_OPTION_ARG_CALLBACK, std_cb, "Per-channel standard deviation", "R,G,B" },
    { "resize", 0, 0, G_OPTION_ARG_CALLBACK, int_cb,
      "Resize the shorter side to N before the centre crop", "N" },
    { "crop", 0, 0, G_OPTION_ARG_CALLBACK, int_cb, "Centre crop NxN (the model's input size)",
      "N" },
    { "stretch", 0, 0, G_OPTION_ARG_NONE, &opts->stretch,
      "Resize the whole image to the input size instead of resize + crop", NULL },
    /* -- Resampler flags (issue 19) -- */
    { "resize-backend", 0, 0, G_OPTION_ARG_CALLBACK, resampler_cb,
      "Resample like Pillow's Image.resize (pil, the default: transforms.Resize on PIL images) "
      "or like torchvision on float tensors (tensor)",
      "pil|tensor" },
    { "interpolation", 0, 0, G_OPTION_ARG_CALLBACK, resampler_cb,
      "Resize filter (default bilinear)", "bilinear|bicubic" },
    /* -- end resampler flags -- */
    { "channel-order", 0, 0, G_OPTION_ARG_CALLBACK, convention_cb,
      "Channel order the model reads (default rgb; Caffe and some Keras models: bgr)", "rgb|bgr" },
    { "scale", 0, 0, G_OPTION_ARG_CALLBACK, convention_cb,
      "Pixel scale: the input is (x - mean) * S / std with x and --mean in 0..255 units "
      "(TensorFlow: --mean 127.5,127.5,127.5 --scale 1/127.5); without it x/255 and 0..1 units",
      "S" },
    { "layout", 0, 0, G_OPTION_ARG_CALLBACK, convention_cb,
      "Input layout, when the detected one is wrong (channels-last Keras exports: nhwc)",
      "nchw|nhwc" },
    { "input-size", 0, 0, G_OPTION_ARG_CALLBACK, convention_cb,
      "Input size for a model whose height and width are symbolic (default: the sidecar's "
      "\"input_size\", else the crop, else 224x224)",
      "HxW" },
    { "input-tensor", 0, 0, G_OPTION_ARG_FILENAME, &opts->input_tensor,
      "Use this [1,C,H,W] float32 .npy as the input instead of an image", "X.npy" },
    { "save-input", 0, 0, G_OPTION_ARG_FILENAME, &opts->save_input,
      "Save the preprocessed input tensor as .npy (one image only)", "X.npy" },
    { "threads", 0, 0, G_OPTION_ARG_CALLBACK, int_cb, "Number of threads (default: all cores)",
      "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &opts->json, "Print JSON", NULL },
    { "limits", 0, 0, G_OPTION_ARG_STRING, &opts->limits_spec,
      "Raise or lower resource limits: file-bytes, tensor-elements, nodes, activation-bytes, "
      "image-pixels (e.g. activation-bytes=8G)",
      "KEY=N,…" },
    /* issue 14: DICOM window and frame */
    { "window", 0, 0, G_OPTION_ARG_CALLBACK, window_cb,
      "Window for DICOM images, in modality units (e.g. HU; default: the sidecar's, else the "
      "file's)",
      "C,W" },
    { "frame", 0, 0, G_OPTION_ARG_CALLBACK, frame_cb,
      "Frame of a multi-frame DICOM file (default: the sidecar's, else the middle one)", "N" },
    { "allow-damaged", 0, 0, G_OPTION_ARG_NONE, &opts->allow_damaged,
      "Analyse damaged images (cut short, bad CRC, corrupt data) instead of refusing them; "
      "the output says they are damaged",
      NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  GOptionGroup *group = g_option_group_new (NULL, NULL, NULL, opts, NULL);
  g_option_group_add_entries (group, entries);
  g_option_context_set_main_group (ctx, group);
}

gboolean
gz_cli_options_finish (GzCliOptions *opts, GError **error)
{
  GazeIoOverrides *s = &opts->settings;
  if (opts->has_mean)
    {
      memcpy (s->mean, opts->mean, sizeof s->mean);
      s->has_mean = TRUE;
    }
  if (opts->has_std)
    {
      memcpy (s->std, opts->std, sizeof s->std);
      s->has_std = TRUE;
    }
  if (opts->resize > 0)
    {
      s->resize = opts->resize;
      s->has_resize = TRUE;
    }
  if (opts->crop > 0)
    {
      s->crop_width = s->crop_height = opts->crop;
      s->has_crop = TRUE;
    }
  if (opts->stretch)
    {
      s->stretch = TRUE;
      s->has_stretch = TRUE;
    }
  if (opts->labels_file != NULL)
    {
      s->labels = gaze_io_labels_read (opts->labels_file, error);
      if (s->labels == NULL)
        return FALSE;
      s->labels_path = g_strdup (opts->labels_file);
    }
  /* As --help says: all cores unless told (bench and the tests say how many). */
  gz_set_threads (opts->threads > 0 ? opts->threads : (int) g_get_num_processors ());
  GzError err = { 0 };
  if (opts->limits_spec != NULL
      && gz_limits_parse (opts->limits_spec, &opts->limits, &err) != GZ_OK)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--limits: %s", err.message);
      return FALSE;
    }
  return TRUE;
}

gboolean
gz_cli_model_open (const char *path, const GzCliOptions *opts, GzCliModel *m, GError **error)
{
  memset (m, 0, sizeof *m);
  gaze_io_overrides_init (&m->sidecar);
  m->path = g_strdup (path);
  GzError err = { 0 };
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no such file", path);
      return FALSE;
    }
  /* A weights file's sidecar may name its architecture (issue 20). */
  g_autofree char *architecture = gaze_io_sidecar_architecture (path);
  if (gz_model_load_arch (path, architecture, &opts->limits, &m->model, &err) != GZ_OK)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "%s: %s", path, err.message);
      return FALSE;
    }
  if (!gaze_io_sidecar_read (path, &m->sidecar, error)
      || !gaze_io_overrides_apply_layout (m->model, &m->sidecar, &opts->settings, error)
      || !gaze_io_overrides_apply_input_size (m->model, &m->sidecar, &opts->settings, error)
      || !gaze_io_overrides_resolve (m->model, &m->sidecar, &opts->settings, &m->pp, error))
    return FALSE;
  m->labels = gaze_io_overrides_labels (&m->sidecar, &opts->settings);
  /* Output head (issue 14): the sidecar's "output" before any session. */
  gaze_io_overrides_apply_output (m->model, &m->sidecar, &opts->settings);
  m->threshold = gaze_io_overrides_threshold (&m->sidecar, &opts->settings);
  return TRUE;
}

void
gz_cli_model_clear (GzCliModel *m)
{
  gz_model_free (m->model);
  gaze_io_overrides_clear (&m->sidecar);
  g_free (m->path);
  memset (m, 0, sizeof *m);
}

/* An --input-tensor must fit the model: float, [1,C,H,W] (or [C,H,W]). */
static GzTensor *
read_input_tensor (const GzCliModel *m, const char *path, GError **error)
{
  GzError err = { 0 };
  GzTensor *t = NULL;
  if (gz_npy_read (path, &t, &err) != GZ_OK)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "%s", err.message);
      return NULL;
    }
  if (t->ndim == 3)
    {
      for (int i = 3; i > 0; i--)
        t->dims[i] = t->dims[i - 1];
      t->dims[0] = 1;
      t->ndim = 4;
    }
  const GzValueInfo *in = gz_model_input (m->model);
  gboolean ok = t->dtype == GZ_DTYPE_FLOAT && t->ndim == 4 && t->dims[0] == 1;
  for (int i = 1; ok && i < 4 && in->ndim == 4; i++)
    ok = in->dims[i] < 0 || in->dims[i] == t->dims[i];
  if (!ok)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID,
                   "%s: the model needs a float32 [1,%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                   ",%" G_GINT64_FORMAT "] tensor",
                   path, in->ndim == 4 ? in->dims[1] : -1, in->ndim == 4 ? in->dims[2] : -1,
                   in->ndim == 4 ? in->dims[3] : -1);
      gz_tensor_free (t);
      return NULL;
    }
  return t;
}

/* Two paths naming the same existing file (hard and symbolic links too). */
static gboolean
same_file (const char *a, const char *b)
{
  GStatBuf sa, sb;
  if (a == NULL || b == NULL || g_stat (a, &sa) != 0 || g_stat (b, &sb) != 0)
    return FALSE;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

gboolean
gz_cli_model_input (const GzCliModel *m, const GzCliOptions *opts, const char *image_path,
                    GzTensor **input, GzGeometry *geometry, GazeIoImage **image_out, GError **error)
{
  *input = NULL;
  if (image_out != NULL)
    *image_out = NULL;
  GzTensor *t = NULL;
  GzGeometry g = { 0 };
  GazeIoImage *img = NULL;
  if (image_path == NULL)
    {
      t = read_input_tensor (m, opts->input_tensor, error);
      if (t == NULL)
        return FALSE;
      g.image_width = g.input_width = (int) t->dims[3];
      g.image_height = g.input_height = (int) t->dims[2];
      g.scale_x = g.scale_y = 1.0;
    }
  else
    {
      /* issue 14: DICOM, with the window and frame of the flags, else the sidecar's. */
      gboolean gray16 = gaze_io_gray16_is_file (image_path); /* issue 14: windowed too */
      if (gray16 || gaze_io_image_is_dicom (image_path))
        {
          const GazeIoOverrides *f = &opts->settings, *sc = &m->sidecar;
          const GazeIoOverrides *w = f->has_window ? f : sc->has_window ? sc : NULL;
          GazeIoWindow window
              = { w ? w->window_center : 0, w ? w->window_width : 0, GAZE_IO_VOI_LINEAR_EXACT };
          int frame = f->has_frame ? f->frame : sc->has_frame ? sc->frame : -1;
          img = gray16 ? gaze_io_gray16_load_image (image_path, w ? &window : NULL,
                                                    opts->limits.max_image_pixels, error)
                       : gaze_io_dicom_load_image (image_path, frame, w ? &window : NULL,
                                                   opts->limits.max_image_pixels, error);
        }
      else
        img = gaze_io_image_load_full (image_path, opts->limits.max_image_pixels,
                                       opts->allow_damaged ? GAZE_IO_IMAGE_LOAD_ALLOW_DAMAGED
                                                           : GAZE_IO_IMAGE_LOAD_DEFAULT,
                                       error);
      if (img == NULL)
        {
          /* The io layer reports the facts; the way around is said here. */
          if (error != NULL && g_error_matches (*error, GAZE_IO_ERROR, GAZE_IO_ERROR_DAMAGED))
            {
              GError *e = g_steal_pointer (error);
              g_set_error (error, e->domain, e->code, "%s; --allow-damaged analyses it anyway",
                           e->message);
              g_error_free (e);
            }
          return FALSE;
        }
      GzError err = { 0 };
      if (gz_preprocess_image (&img->image, &m->pp, &t, &g, &err) != GZ_OK)
        {
          g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "%s: %s", image_path,
                       err.message);
          gaze_io_image_free (img);
          return FALSE;
        }
    }
  if (opts->save_input != NULL
      && (same_file (opts->save_input, image_path)
          || same_file (opts->save_input, opts->input_tensor)))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                   "%s: refusing to overwrite the input with --save-input", opts->save_input);
      gz_tensor_free (t);
      gaze_io_image_free (img);
      return FALSE;
    }
  if (opts->save_input != NULL)
    {
      GzError err = { 0 };
      if (gz_npy_write (opts->save_input, t, &err) != GZ_OK)
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s", err.message);
          gz_tensor_free (t);
          gaze_io_image_free (img);
          return FALSE;
        }
    }
  *input = t;
  if (geometry != NULL)
    *geometry = g;
  if (image_out != NULL)
    *image_out = img;
  else
    gaze_io_image_free (img);
  return TRUE;
}
