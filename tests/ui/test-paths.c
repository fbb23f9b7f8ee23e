/* test-paths.c — where `gaze` finds its data: the environment first (set for
 * uninstalled runs by meson devenv, run.sh and the tests), else the install
 * prefix; no source or build path is compiled in. No display needed.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "gaze-ui.h"

/* The test environment (tests/ui/meson.build) names the source tree's data. */
static void
test_demo_from_data_dir (void)
{
  const char *data = g_getenv ("GAZE_DATA_DIR");
  g_autofree char *expected = NULL;
  g_autofree char *dir = NULL;

  g_assert_nonnull (data);
  expected = g_build_filename (data, "demo", NULL);
  if (!g_file_test (expected, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("data/demo is absent from this tree");
      return;
    }
  g_unsetenv ("GAZE_DEMO_DIR");
  dir = gaze_ui_find_demo_dir ();
  g_assert_cmpstr (dir, ==, expected);
}

/* GAZE_DEMO_DIR wins; a folder without a model is no demo. */
static void
test_demo_overrides (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("gaze-paths-XXXXXX", NULL);
  g_autofree char *model = g_build_filename (tmp, "m.onnx", NULL);
  g_autofree char *empty = g_build_filename (tmp, "empty", NULL);
  g_autofree char *data = g_strdup (g_getenv ("GAZE_DATA_DIR"));
  g_autofree char *dir = NULL;
  g_autofree char *installed = g_build_filename (GAZE_PKGDATADIR, "demo", NULL);

  g_assert_nonnull (tmp);
  g_assert_true (g_file_set_contents (model, "x", 1, NULL));
  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);

  g_setenv ("GAZE_DEMO_DIR", tmp, TRUE);
  dir = gaze_ui_find_demo_dir ();
  g_assert_cmpstr (dir, ==, tmp);
  g_clear_pointer (&dir, g_free);

  g_setenv ("GAZE_DEMO_DIR", empty, TRUE);
  g_assert_null (gaze_ui_find_demo_dir ());

  /* Neither variable: only the installed demo, under the install prefix. */
  g_unsetenv ("GAZE_DEMO_DIR");
  g_unsetenv ("GAZE_DATA_DIR");
  dir = gaze_ui_find_demo_dir ();
  if (dir != NULL)
    g_assert_cmpstr (dir, ==, installed);
  g_assert_true (g_str_has_prefix (GAZE_PKGDATADIR, "/"));
  g_assert_false (g_str_has_prefix (GAZE_PKGDATADIR, g_getenv ("GAZE_SOURCE_ROOT")));
  g_assert_false (g_str_has_prefix (GAZE_PKGDATADIR, g_getenv ("GAZE_BUILD_ROOT")));

  if (data != NULL)
    g_setenv ("GAZE_DATA_DIR", data, TRUE);
  g_remove (model);
  g_rmdir (empty);
  g_rmdir (tmp);
}

/* `gaze --version` prints the version from meson, with no display. */
static void
test_version (void)
{
  const char *build = g_getenv ("GAZE_BUILD_ROOT");
  g_autofree char *exe = NULL;
  g_autofree char *out = NULL;
  g_autofree char *expected = g_strdup_printf ("gaze %s\n", PACKAGE_VERSION);
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;

  if (build == NULL)
    {
      g_test_skip ("GAZE_BUILD_ROOT not set");
      return;
    }
  exe = g_build_filename (build, "app", "gaze", "gaze", NULL);
  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, exe, "--version", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (proc));
  g_assert_cmpstr (out, ==, expected);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ui/paths/demo-from-data-dir", test_demo_from_data_dir);
  g_test_add_func ("/ui/paths/demo-overrides", test_demo_overrides);
  g_test_add_func ("/ui/paths/version", test_version);

  return g_test_run ();
}
