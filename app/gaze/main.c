/* main.c — entry point of `gaze`, the GTK application
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze"

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>

#include "gaze-application.h"
#include "gaze-ui.h"

/* --version is answered before the application registers or opens a window. */
static int
on_handle_local_options (GApplication *app, GVariantDict *options, gpointer user_data)
{
  if (g_variant_dict_contains (options, "version"))
    {
      printf ("gaze %s\n", PACKAGE_VERSION);
      return 0;
    }
  return -1;
}

int
main (int argc, char *argv[])
{
  g_autoptr (GazeApplication) app = NULL;
  g_autoptr (GSettingsSchema) schema = NULL;
  const char *localedir = g_getenv ("GAZE_LOCALE_DIR");

  /* Installed, the translations are under the prefix; run uninstalled
   * (./run.sh, the tests, `meson devenv`), GAZE_LOCALE_DIR names the ones
   * built in the build tree. No build path is compiled in. */
  if (localedir == NULL || *localedir == '\0')
    localedir = LOCALEDIR;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* Without its schema GSettings would abort with a message that does not
   * say how to run Gaze from the build tree. */
  schema = g_settings_schema_source_lookup (g_settings_schema_source_get_default (), APP_ID, TRUE);
  if (schema == NULL)
    {
      fprintf (stderr,
               "gaze: the settings schema %s is not installed. From the build tree, run Gaze\n"
               "through ./run.sh or `meson devenv -C build`, which set GSETTINGS_SCHEMA_DIR.\n",
               APP_ID);
      return 1;
    }

  g_set_application_name (_ ("Gaze"));

  app = gaze_application_new ();
  g_application_add_main_option (G_APPLICATION (app), "version", 0, G_OPTION_FLAG_NONE,
                                 G_OPTION_ARG_NONE, _ ("Print the version and exit"), NULL);
  g_signal_connect (app, "handle-local-options", G_CALLBACK (on_handle_local_options), NULL);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
