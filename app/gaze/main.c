/* main.c — entry point of `gaze`, the GTK application
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze"

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "gaze-application.h"
#include "gaze-ui.h"

int
main (int argc, char *argv[])
{
  g_autoptr (GazeApplication) app = NULL;
  const char *localedir = LOCALEDIR;
  g_autofree char *build_localedir = NULL;

  /* Run from the build tree: use the schema compiled there, and the
   * translations built there, instead of requiring an installation. */
  if (gaze_ui_running_uninstalled ())
    {
      g_autofree char *build_root = g_path_get_dirname (GAZE_BUILD_DATADIR);
      const char *old = g_getenv ("GSETTINGS_SCHEMA_DIR");
      g_autofree char *dirs = old != NULL && *old != '\0'
          ? g_strjoin (G_SEARCHPATH_SEPARATOR_S, GAZE_BUILD_DATADIR, old, NULL)
          : g_strdup (GAZE_BUILD_DATADIR);

      g_setenv ("GSETTINGS_SCHEMA_DIR", dirs, TRUE);
      build_localedir = g_build_filename (build_root, "po", NULL);
      localedir = build_localedir;
    }

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_set_application_name (_ ("Gaze"));

  app = gaze_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
