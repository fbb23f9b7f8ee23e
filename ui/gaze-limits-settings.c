/* gaze-limits-settings.c — the resource limits the viewer's loads apply
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-limits"

#include "config.h"

#include <glib/gi18n.h>
#include <pthread.h>
#include <string.h>

#include "gaze-limits-settings.h"
#include "core/gz-limits.h"

#define MIB (INT64_C (1) << 20)

/* Written on the main thread, read by the load workers. A pthread mutex,
 * not G_LOCK: GLib's mutex is a futex inside uninstrumented GLib, which
 * ThreadSanitizer cannot see (CI's TSan pass reported this pair). */
static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static GzLimits current;
static gboolean current_set;

static void
read_settings (GSettings *settings)
{
  GzLimits limits;

  gz_limits_default (&limits);
  limits.max_file_bytes = (int64_t) g_settings_get_int (settings, "limit-file-mib") * MIB;
  limits.max_nodes = g_settings_get_int (settings, "limit-nodes");
  limits.max_tensor_elements = g_settings_get_int64 (settings, "limit-tensor-elements");
  limits.max_activation_bytes
      = (int64_t) g_settings_get_int (settings, "limit-activation-mib") * MIB;
  limits.max_image_pixels
      = (int64_t) g_settings_get_int (settings, "limit-image-megapixels") * 1000 * 1000;
  pthread_mutex_lock (&current_lock);
  current = limits;
  current_set = TRUE;
  pthread_mutex_unlock (&current_lock);
}

static void
settings_changed_cb (GSettings *settings, const char *key, gpointer user_data)
{
  if (g_str_has_prefix (key, "limit-"))
    read_settings (settings);
}

void
gaze_limits_settings_track (GSettings *settings)
{
  g_return_if_fail (G_IS_SETTINGS (settings));

  read_settings (settings);
  g_signal_connect (settings, "changed", G_CALLBACK (settings_changed_cb), NULL);
}

void
gaze_limits_settings_get (GzLimits *limits)
{
  const char *env = g_getenv ("GAZE_LIMITS");
  gboolean set;

  pthread_mutex_lock (&current_lock);
  *limits = current;
  set = current_set;
  pthread_mutex_unlock (&current_lock);
  if (!set)
    {
      gz_limits_default (limits);
      return;
    }
  /* The environment wins, as it does for gaze-cli (a bad spec was already
   * reported by gz_limits_default and leaves the Preferences' values). */
  if (env != NULL && env[0] != '\0')
    {
      GzLimits parsed = *limits;
      GzError err = { 0 };

      if (gz_limits_parse (env, &parsed, &err) == GZ_OK)
        *limits = parsed;
    }
}

gboolean
gaze_limits_settings_from_environment (const char *key)
{
  const char *env = g_getenv ("GAZE_LIMITS");
  g_auto (GStrv) items = NULL;

  if (key == NULL || env == NULL)
    return FALSE;
  items = g_strsplit (env, ",", -1);
  for (guint i = 0; items[i] != NULL; i++)
    {
      const char *eq = strchr (items[i], '=');
      if (eq != NULL && (size_t) (eq - items[i]) == strlen (key)
          && strncmp (items[i], key, strlen (key)) == 0)
        return TRUE;
    }
  return FALSE;
}

const char *
gaze_limits_settings_title (const char *key)
{
  /* The same words as the rows in gaze-preferences-window.ui. */
  if (g_strcmp0 (key, GZ_LIMIT_FILE_BYTES) == 0)
    return _ ("Model File Size (MiB)");
  if (g_strcmp0 (key, GZ_LIMIT_NODES) == 0)
    return _ ("Model Nodes");
  if (g_strcmp0 (key, GZ_LIMIT_TENSOR_ELEMENTS) == 0)
    return _ ("Tensor Elements");
  if (g_strcmp0 (key, GZ_LIMIT_ACTIVATION_BYTES) == 0)
    return _ ("Working Memory (MiB)");
  if (g_strcmp0 (key, GZ_LIMIT_IMAGE_PIXELS) == 0)
    return _ ("Image Size (Megapixels)");
  return NULL;
}
