/* replay-main.c — replays fuzz inputs through a fuzz target without libFuzzer
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Linked with one fuzz/<target>.c against the normal libraries: every file
 * in the folders given on the command line (fuzz/regressions/<target>/, the
 * crashes found and fixed; fuzz/corpus/<target>/, the seeds) is one TAP test
 * case. A case passes when the target returns without a crash; under the
 * ASan/UBSan CI pass, also without a leak or undefined behaviour.
 */
#include <glib.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
replay (gconstpointer data)
{
  const char *path = data;
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (path, &bytes, &len, &error));
  g_assert_no_error (error);
  /* A copy of exactly len bytes, so ASan sees reads past the end. */
  uint8_t *copy = g_memdup2 (bytes, len);
  g_assert_cmpint (LLVMFuzzerTestOneInput (copy, len), ==, 0);
  g_free (copy);
}

static void
no_inputs (void)
{
  g_test_skip ("no inputs found");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  const char *root = g_getenv ("GAZE_SOURCE_ROOT");
  int n = 0;
  for (int i = 1; i < argc; i++)
    {
      g_autofree char *dir_path = root != NULL && !g_path_is_absolute (argv[i])
          ? g_build_filename (root, argv[i], NULL)
          : g_strdup (argv[i]);
      g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
      if (dir == NULL)
        continue; /* no regressions for this target yet */
      g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      const char *name;
      while ((name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (names, g_strdup (name));
      g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
      for (guint k = 0; k < names->len; k++)
        {
          const char *base = g_ptr_array_index (names, k);
          g_autofree char *parent = g_path_get_dirname (dir_path);
          g_autofree char *kind = g_path_get_basename (parent);
          g_autofree char *test = g_strdup_printf ("/replay/%s/%s", kind, base);
          /* The path outlives the test run: owned by the test framework's data. */
          char *path = g_build_filename (dir_path, base, NULL);
          g_test_add_data_func_full (test, path, replay, g_free);
          n++;
        }
    }
  if (n == 0)
    g_test_add_func ("/replay/none", no_inputs);
  return g_test_run ();
}
