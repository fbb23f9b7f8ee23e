/* gaze-ui.c — resource registration and small helpers of the gaze-ui library
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-ui"

#include "config.h"

#include <gtk/gtk.h>

#include "gaze-engine.h"
#include "gaze-error-bar.h"
#include "gaze-image-view.h"
#include "gaze-resources.h"
#include "gaze-ui.h"

void
gaze_ui_init (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      /* Registered by hand: in a static library the constructor that would
       * register it automatically may be dropped by the linker. */
      gaze_register_resource ();
      g_type_ensure (GAZE_TYPE_IMAGE_VIEW);
      g_type_ensure (GAZE_TYPE_ERROR_BAR);
      g_once_init_leave (&once, 1);
    }
}

/* A demo folder counts only with a model in it. */
static gboolean
has_model (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (gz_model_file_suffix (name) > 0)
      return TRUE;
  return FALSE;
}

/* `folder` under $GAZE_DATA_DIR, else under the installed data folder. */
static char *
find_data_subdir (const char *folder)
{
  const char *data = g_getenv ("GAZE_DATA_DIR");
  g_autofree char *dir = NULL;

  if (data != NULL && *data != '\0')
    dir = g_build_filename (data, folder, NULL);
  else
    dir = g_build_filename (GAZE_PKGDATADIR, folder, NULL);
  return has_model (dir) ? g_steal_pointer (&dir) : NULL;
}

char *
gaze_ui_find_demo_dir (void)
{
  const char *env = g_getenv ("GAZE_DEMO_DIR");

  if (env != NULL && *env != '\0')
    return has_model (env) ? g_strdup (env) : NULL;
  return find_data_subdir ("demo");
}

char *
gaze_ui_find_medical_demo_dir (void)
{
  return find_data_subdir ("demo-medical");
}
