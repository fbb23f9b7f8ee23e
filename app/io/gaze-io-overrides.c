/* gaze-io-overrides.c — preprocessing overrides and labels: flags > sidecar > defaults
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-io"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gaze-io-image.h"
#include "gaze-io-overrides.h"

void
gaze_io_overrides_init (GazeIoOverrides *settings)
{
  memset (settings, 0, sizeof *settings);
}

void
gaze_io_overrides_clear (GazeIoOverrides *settings)
{
  g_clear_pointer (&settings->labels, g_strfreev);
  g_clear_pointer (&settings->labels_path, g_free);
  gaze_io_overrides_init (settings);
}

static void
apply (GzPreprocess *pp, const GazeIoOverrides *s, gboolean *resize_set, gboolean *crop_set)
{
  if (s == NULL)
    return;
  if (s->has_mean)
    memcpy (pp->mean, s->mean, sizeof pp->mean);
  if (s->has_std)
    memcpy (pp->std, s->std, sizeof pp->std);
  if (s->has_channels)
    pp->channels = s->channels;
  if (s->has_stretch)
    pp->mode = s->stretch ? GZ_RESIZE_STRETCH : GZ_RESIZE_CROP;
  if (s->has_resize)
    {
      pp->resize = s->resize;
      *resize_set = TRUE;
    }
  if (s->has_crop)
    {
      pp->crop_width = s->crop_width;
      pp->crop_height = s->crop_height;
      *crop_set = TRUE;
    }
  /* -- Resampler (issue 19) -- */
  if (s->has_resize_backend)
    pp->backend = s->resize_backend;
  if (s->has_interpolation)
    pp->filter = s->interpolation;
  /* -- end resampler -- */
  if (s->has_channel_order)
    pp->bgr = s->bgr;
  if (s->has_scale)
    pp->scale = s->scale;
}

gboolean
gaze_io_overrides_apply_layout (GzModel *model, const GazeIoOverrides *sidecar,
                                const GazeIoOverrides *flags, GError **error)
{
  const GazeIoOverrides *s = flags != NULL && flags->has_layout ? flags : sidecar;
  if (model == NULL || s == NULL || !s->has_layout)
    return TRUE;
  GzError err = { 0 };
  if (gz_model_set_input_layout (model, s->layout, &err) != GZ_OK)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "layout %s: %s",
                   gz_input_layout_name (s->layout), err.message);
      return FALSE;
    }
  return TRUE;
}

gboolean
gaze_io_overrides_apply_input_size (GzModel *model, const GazeIoOverrides *sidecar,
                                    const GazeIoOverrides *flags, GError **error)
{
  if (model == NULL)
    return TRUE;
  const GazeIoOverrides *given = NULL;
  if (flags != NULL && flags->has_input_size)
    given = flags;
  else if (sidecar != NULL && sidecar->has_input_size)
    given = sidecar;
  int height = 0, width = 0;
  if (given != NULL)
    {
      height = given->input_height;
      width = given->input_width;
    }
  else if (!gz_model_input_size_symbolic (model))
    return TRUE; /* fixed size: the crop is checked by resolve */
  else if (flags != NULL && flags->has_crop)
    {
      height = flags->crop_height;
      width = flags->crop_width;
    }
  else if (sidecar != NULL && sidecar->has_crop)
    {
      height = sidecar->crop_height;
      width = sidecar->crop_width;
    }
  else
    return TRUE;
  GzError err = { 0 };
  if (gz_model_set_input_size (model, height, width, &err) != GZ_OK)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "input size %dx%d: %s", height,
                   width, err.message);
      return FALSE;
    }
  return TRUE;
}

gboolean
gaze_io_channel_order_parse (const char *name, gboolean *bgr)
{
  if (name == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (name, "rgb") == 0)
    *bgr = FALSE;
  else if (g_ascii_strcasecmp (name, "bgr") == 0)
    *bgr = TRUE;
  else
    return FALSE;
  return TRUE;
}

/* ---- Output head (issue 14) ---- */
void
gaze_io_overrides_apply_output (GzModel *model, const GazeIoOverrides *sidecar,
                                const GazeIoOverrides *flags)
{
  if (flags != NULL && flags->has_output)
    gz_model_set_output_kind (model, flags->output);
  else if (sidecar != NULL && sidecar->has_output)
    gz_model_set_output_kind (model, sidecar->output);
}

double
gaze_io_overrides_threshold (const GazeIoOverrides *sidecar, const GazeIoOverrides *flags)
{
  if (flags != NULL && flags->has_threshold)
    return flags->threshold;
  if (sidecar != NULL && sidecar->has_threshold)
    return sidecar->threshold;
  return 0.5;
}
/* ---- end output head ---- */

gboolean
gaze_io_overrides_resolve (const GzModel *model, const GazeIoOverrides *sidecar,
                           const GazeIoOverrides *flags, GzPreprocess *pp, GError **error)
{
  gz_preprocess_defaults (model, pp);
  gboolean resize_set = FALSE, crop_set = FALSE;
  apply (pp, sidecar, &resize_set, &crop_set);
  apply (pp, flags, &resize_set, &crop_set);
  /* With a scale, mean is in 0..255 units: ImageNet's 0..1 defaults would be
   * meaningless, so unset ones become 0 (mean) and 1 (std). */
  if (pp->scale > 0.0f)
    {
      gboolean mean_given
          = (sidecar != NULL && sidecar->has_mean) || (flags != NULL && flags->has_mean);
      gboolean std_given
          = (sidecar != NULL && sidecar->has_std) || (flags != NULL && flags->has_std);
      for (int c = 0; c < 3; c++)
        {
          if (!mean_given)
            pp->mean[c] = 0.0f;
          if (!std_given)
            pp->std[c] = 1.0f;
        }
    }
  /* A crop without a resize keeps the ImageNet ratio 256:224. */
  if (crop_set && !resize_set)
    {
      int shorter = MIN (pp->crop_width, pp->crop_height);
      pp->resize = (int) (((gint64) shorter * 256 + 112) / 224);
    }

  if (pp->channels != 1 && pp->channels != 3)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "channels must be 1 or 3, not %d",
                   pp->channels);
      return FALSE;
    }
  if (pp->crop_width <= 0 || pp->crop_height <= 0 || pp->crop_width > 16384
      || pp->crop_height > 16384
      || (pp->mode == GZ_RESIZE_CROP && (pp->resize <= 0 || pp->resize > 65536)))
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID,
                   "resize %d / crop %d×%d is out of range", pp->resize, pp->crop_width,
                   pp->crop_height);
      return FALSE;
    }
  for (int c = 0; c < 3; c++)
    if (!isfinite (pp->mean[c]) || !isfinite (pp->std[c]) || pp->std[c] == 0.0f)
      {
        g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID,
                     "mean and std must be finite and std non-zero");
        return FALSE;
      }
  if (!isfinite (pp->scale) || pp->scale < 0.0f)
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "scale must be a positive number");
      return FALSE;
    }

  const GzValueInfo *in = model != NULL ? gz_model_input (model) : NULL;
  if (in != NULL && in->ndim == 4)
    {
      if ((in->dims[2] > 0 && in->dims[2] != pp->crop_height)
          || (in->dims[3] > 0 && in->dims[3] != pp->crop_width))
        {
          g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID,
                       "the model takes %" G_GINT64_FORMAT "×%" G_GINT64_FORMAT
                       " inputs; a %d×%d crop does not fit",
                       in->dims[3], in->dims[2], pp->crop_width, pp->crop_height);
          return FALSE;
        }
      if (in->dims[1] > 0 && in->dims[1] != pp->channels)
        {
          g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID,
                       "the model takes %" G_GINT64_FORMAT "-channel inputs, not %d", in->dims[1],
                       pp->channels);
          return FALSE;
        }
    }
  return TRUE;
}

/* -- Resampler names (issue 19) -- */
gboolean
gaze_io_resize_backend_parse (const char *name, GzResizeBackend *out)
{
  if (g_strcmp0 (name, "pil") == 0)
    *out = GZ_RESIZE_BACKEND_PIL;
  else if (g_strcmp0 (name, "tensor") == 0)
    *out = GZ_RESIZE_BACKEND_TENSOR;
  else
    return FALSE;
  return TRUE;
}

const char *
gaze_io_resize_backend_name (GzResizeBackend backend)
{
  return backend == GZ_RESIZE_BACKEND_TENSOR ? "tensor" : "pil";
}

gboolean
gaze_io_interpolation_parse (const char *name, GzResizeFilter *out)
{
  if (g_strcmp0 (name, "bilinear") == 0)
    *out = GZ_RESIZE_BILINEAR;
  else if (g_strcmp0 (name, "bicubic") == 0)
    *out = GZ_RESIZE_BICUBIC;
  else
    return FALSE;
  return TRUE;
}

const char *
gaze_io_interpolation_name (GzResizeFilter filter)
{
  return filter == GZ_RESIZE_BICUBIC ? "bicubic" : "bilinear";
}
/* -- end resampler names -- */

const char *const *
gaze_io_overrides_labels (const GazeIoOverrides *sidecar, const GazeIoOverrides *flags)
{
  if (flags != NULL && flags->labels != NULL)
    return (const char *const *) flags->labels;
  if (sidecar != NULL && sidecar->labels != NULL)
    return (const char *const *) sidecar->labels;
  return NULL;
}

gboolean
gaze_io_read_regular_file (const char *path, gsize max_bytes, char **contents, gsize *length,
                           GError **error)
{
  /* O_NONBLOCK: a FIFO or device must not block the open; /dev/zero or a
   * FIFO would never end (g_file_get_contents reads them to EOF). */
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (e), "%s: %s", path,
                   e == ENOENT ? "no such file" : g_strerror (e));
      return FALSE;
    }
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "%s: not a regular file", path);
      return FALSE;
    }
  if ((guint64) st.st_size > max_bytes)
    {
      close (fd);
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID,
                   "%s: too large (%lld bytes; at most %" G_GSIZE_FORMAT ")", path,
                   (long long) st.st_size, max_bytes);
      return FALSE;
    }
  gsize size = (gsize) st.st_size;
  char *buf = g_malloc (size + 1);
  gsize done = 0;
  while (done < size)
    {
      ssize_t r = read (fd, buf + done, size - done);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      done += (gsize) r;
    }
  close (fd);
  buf[done] = '\0'; /* a file that shrank meanwhile is read as it is now */
  *contents = buf;
  *length = done;
  return TRUE;
}

GStrv
gaze_io_labels_read (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize len;
  g_autoptr (GError) local = NULL;
  if (!gaze_io_read_regular_file (path, 64 * 1024 * 1024, &text, &len, &local))
    {
      g_set_error (error, local->domain, local->code, "labels %s", local->message);
      return NULL;
    }
  if (memchr (text, '\0', len) != NULL || !g_utf8_validate (text, len, NULL))
    {
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "labels %s: not a UTF-8 text file",
                   path);
      return NULL;
    }
  GStrv lines = g_strsplit (text, "\n", -1);
  guint n = g_strv_length (lines);
  if (n > 0 && lines[n - 1][0] == '\0')
    {
      g_free (lines[n - 1]);
      lines[--n] = NULL;
    }
  for (guint i = 0; i < n; i++)
    {
      gsize l = strlen (lines[i]);
      if (l > 0 && lines[i][l - 1] == '\r')
        lines[i][l - 1] = '\0';
    }
  if (n == 0)
    {
      g_strfreev (lines);
      g_set_error (error, GAZE_IO_ERROR, GAZE_IO_ERROR_INVALID, "labels %s: the file is empty",
                   path);
      return NULL;
    }
  return lines;
}

const char *
gaze_io_label_for (const char *const *labels, int index, char *buf, gsize buf_len)
{
  if (labels != NULL && index >= 0)
    {
      int i = 0;
      while (labels[i] != NULL && i < index)
        i++;
      if (i == index && labels[i] != NULL)
        return labels[i];
    }
  g_snprintf (buf, buf_len, "class %d", index);
  return buf;
}
