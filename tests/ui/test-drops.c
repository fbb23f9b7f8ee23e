/* test-drops.c — bad files dropped on the window: a toast (a banner with
 * "Analyse Anyway" for damaged images) and the previous state kept; 100 rapid
 * drops (good and bad mixed) neither crash, nor leave a wrong
 * state, nor leak Gaze's objects
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gaze-image-view.h"
#include "gaze-model.h"
#include "gaze-test-util.h"
#include "gaze-window.h"

#define WAIT_MS 120000
#define N_DROPS 100

typedef struct
{
  char *model; /* data/demo/shapes.onnx */
  char *images[6]; /* data/demo/demo-0*.png */
  char *tmpdir;
  char *corrupt_onnx; /* random bytes */
  char *truncated_png; /* a PNG cut inside its header chunks */
  char *partial_png; /* a PNG cut in the middle of its pixel data: damaged */
  char *half_jpg; /* a demo scene as JPEG, cut in half: damaged */
  char *text_png; /* text, named .png */
  char *missing_png; /* does not exist */
  char *notes_txt; /* neither an image nor a model */
} Files;

static Files files;
static gsize peak_rss_kib;

static gsize
rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  line = strstr (status, "VmRSS:");
  return line != NULL ? (gsize) g_ascii_strtoull (line + 6, NULL, 10) : 0;
}

static void
sample_rss (void)
{
  peak_rss_kib = MAX (peak_rss_kib, rss_kib ());
}

static gboolean
is_mapped (gpointer data)
{
  return gtk_widget_get_mapped (data);
}

static void watch_window (GazeWindow *window);
static void see_toasts (GazeWindow *window);

static gboolean
is_idle (gpointer data)
{
  sample_rss ();
  watch_window (data);
  see_toasts (data);
  return !gaze_window_is_busy (data);
}

static gboolean
is_idle_with_result (gpointer data)
{
  return is_idle (data) && gaze_window_get_explanation (data) != NULL;
}

static gboolean
drop1 (GazeWindow *window, const char *path)
{
  return gaze_test_drop_paths (GTK_WIDGET (window), &path, 1);
}

/* Leaks. GLib as Debian builds it does not count instances
 * (g_type_get_instance_count needs a debug GLib), so every model and texture
 * the window shows is watched with a weak reference, and must be finalized
 * once the window is; and the heap in use (mallinfo2) must come back to its
 * level before the window. */
static GHashTable *watched; /* GObject* alive → its kind */
static guint n_watched;
/* A model may be finalized in a worker (the last reference dropped with its
 * task): the table is shared. A pthread mutex, not a GMutex, so that
 * ThreadSanitizer (CI's TSan pass) sees the ordering. */
static pthread_mutex_t watched_lock = PTHREAD_MUTEX_INITIALIZER;

static void
watched_finalized_cb (gpointer data, GObject *where_the_object_was)
{
  pthread_mutex_lock (&watched_lock);
  if (watched != NULL)
    g_hash_table_remove (watched, where_the_object_was);
  pthread_mutex_unlock (&watched_lock);
}

static void
watch (gpointer object, const char *kind)
{
  gboolean added = FALSE;

  pthread_mutex_lock (&watched_lock);
  if (watched != NULL && object != NULL && !g_hash_table_contains (watched, object))
    {
      g_hash_table_insert (watched, object, (gpointer) kind);
      n_watched++;
      added = TRUE;
    }
  pthread_mutex_unlock (&watched_lock);
  /* Outside the lock: the object is the window's, alive here. */
  if (added)
    g_object_weak_ref (object, watched_finalized_cb, NULL);
}

/* Starts (TRUE) or ends (FALSE) a table of watched objects. */
static void
watched_reset (gboolean start)
{
  pthread_mutex_lock (&watched_lock);
  g_clear_pointer (&watched, g_hash_table_unref);
  if (start)
    watched = g_hash_table_new (NULL, NULL);
  pthread_mutex_unlock (&watched_lock);
}

static guint
watched_alive (void)
{
  guint n;

  pthread_mutex_lock (&watched_lock);
  n = watched != NULL ? g_hash_table_size (watched) : 0;
  pthread_mutex_unlock (&watched_lock);
  return n;
}

static void
watch_window (GazeWindow *window)
{
  GazeImageView *view = gaze_window_get_image_view (window);

  watch (gaze_window_get_model (window), "model");
  watch (gaze_image_view_get_texture (view), "image texture");
  watch (gaze_image_view_get_overlay (view), "overlay texture");
}

static gsize
heap_in_use (void)
{
#if defined(__SANITIZE_ADDRESS__)
  return 0;
#else
  struct mallinfo2 mi = mallinfo2 ();
  return mi.uordblks + mi.hblkhd;
#endif
}

static GazeWindow *
window_new (GazeApplication *app)
{
  GazeWindow *window = gaze_window_new (app);

  gtk_window_set_default_size (GTK_WINDOW (window), 900, 600);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (gaze_test_wait (is_mapped, window, 5000));
  return window;
}

static void
window_close (GazeWindow *window)
{
  g_object_ref (window);
  gtk_window_destroy (GTK_WINDOW (window));
  /* Cancelled workers still hold a reference until their callback ran. */
  gaze_test_spin (200);
  g_assert_finalize_object (window);
  gaze_test_spin (50);
}

static void
load_demo (GazeWindow *window, int image)
{
  const char *pair[2] = { files.images[image], files.model };

  g_assert_true (gaze_test_drop_paths (GTK_WIDGET (window), pair, 2));
  g_assert_true (gaze_test_wait (is_idle_with_result, window, WAIT_MS));
}

static gboolean
file_is (GFile *file, const char *path)
{
  g_autofree char *have = file != NULL ? g_file_get_path (file) : NULL;

  return g_strcmp0 (have, path) == 0;
}

/* The heatmap is on screen: the view differs from the bare image. */
static double
overlay_difference (GazeWindow *window)
{
  GazeImageView *view = gaze_window_get_image_view (window);
  guint8 *on, *off;
  int w, h, w2, h2;
  double sum = 0;

  gaze_test_spin (50);
  on = gaze_test_render (GTK_WIDGET (view), &w, &h);
  gaze_image_view_set_show_overlay (view, FALSE);
  gaze_test_spin (50);
  off = gaze_test_render (GTK_WIDGET (view), &w2, &h2);
  gaze_image_view_set_show_overlay (view, TRUE);
  g_assert_cmpint (w, ==, w2);
  g_assert_cmpint (h, ==, h2);
  for (gsize i = 0; i < (gsize) w * h * 4; i++)
    sum += abs ((int) on[i] - (int) off[i]);
  g_free (on);
  g_free (off);
  return sum / ((double) w * h * 3);
}

static void
assert_state (GazeWindow *window, int image)
{
  double diff;

  g_assert_false (gaze_window_is_empty (window));
  g_assert_nonnull (gaze_window_get_model (window));
  g_assert_true (file_is (gaze_model_get_file (gaze_window_get_model (window)), files.model));
  g_assert_true (file_is (gaze_window_get_image_file (window), files.images[image]));
  g_assert_nonnull (gaze_window_get_explanation (window));
  diff = overlay_difference (window);
  g_test_message ("mean |overlay - image| = %.1f", diff);
  g_assert_cmpfloat (diff, >, 5);
}

/* The banner slides in and out (GtkInfoBar's revealer), resizing the view:
 * let it finish before the view is rendered. */
static void
banner_settle (void)
{
  gaze_test_spin (700);
}

static gboolean
need_demo (void)
{
  if (files.model == NULL)
    {
      g_test_skip ("data/demo not found (GAZE_SOURCE_ROOT)");
      return FALSE;
    }
  return TRUE;
}

/* Each kind of bad file, dropped alone on a window showing a heatmap: a
 * toast naming it, and the image, model and heatmap stay. */
static void
test_bad_file_keeps_state (void)
{
  const char *bad[] = { files.corrupt_onnx, files.truncated_png, files.partial_png,
                        files.text_png,     files.missing_png,   files.notes_txt };
  g_autoptr (GazeApplication) app = NULL;
  GazeWindow *window;

  if (!need_demo ())
    return;
  app = gaze_test_application_new ();
  window = window_new (app);
  load_demo (window, 1);
  assert_state (window, 1);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      const char *before = gaze_window_get_last_message (window);
      g_autofree char *old = g_strdup (before);
      g_autofree char *name = g_path_get_basename (bad[i]);
      const char *message;

      g_assert_true (drop1 (window, bad[i]));
      g_assert_true (gaze_test_wait (is_idle, window, WAIT_MS));
      /* A damaged image is refused with the banner, the others with a toast. */
      message = bad[i] == files.partial_png ? gaze_window_get_damaged_message (window, NULL)
                                            : gaze_window_get_last_message (window);
      banner_settle ();
      g_test_message ("%s: “%s”", name, message);
      g_assert_nonnull (message);
      g_assert_cmpstr (message, !=, old);
      g_assert_nonnull (strstr (message, name));
      assert_state (window, 1);
    }
  window_close (window);
}

/* With GAZE_TEST_SHOTS=DIR, the X screen as `import -window root` sees it. */
static void
screenshot (const char *name)
{
  const char *dir = g_getenv ("GAZE_TEST_SHOTS");
  g_autofree char *path = NULL;
  g_autofree char *quoted = NULL;
  g_autofree char *command = NULL;
  g_autoptr (GError) error = NULL;

  if (dir == NULL)
    return;
  gaze_test_spin (300);
  path = g_build_filename (dir, name, NULL);
  quoted = g_shell_quote (path);
  command = g_strdup_printf ("import -window root %s", quoted);
  if (!g_spawn_command_line_sync (command, NULL, NULL, NULL, &error))
    g_test_message ("screenshot %s: %s", path, error->message);
  else
    g_test_message ("screenshot: %s", path);
}

/* A damaged image (a JPEG cut in half: GdkPixbuf alone paints the rest grey)
 * is refused with a banner naming it and libjpeg's words, the previous image
 * and heatmap stay; "Analyse Anyway" shows it with its heatmap and the banner
 * keeps saying it is damaged; a sound image then hides the banner. */
static void
test_damaged_banner (void)
{
  g_autoptr (GazeApplication) app = NULL;
  GazeWindow *window;
  const char *message;
  gboolean can_analyse = FALSE;

  if (!need_demo ())
    return;
  app = gaze_test_application_new ();
  window = window_new (app);
  load_demo (window, 1);
  g_assert_null (gaze_window_get_damaged_message (window, NULL));

  g_assert_true (drop1 (window, files.half_jpg));
  g_assert_true (gaze_test_wait (is_idle, window, WAIT_MS));
  message = gaze_window_get_damaged_message (window, &can_analyse);
  g_test_message ("refused: “%s”", message);
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message, "half.jpg"));
  g_assert_nonnull (strstr (message, "Premature end of JPEG file"));
  g_assert_nonnull (strstr (message, "not analysed"));
  g_assert_true (can_analyse);
  banner_settle ();
  assert_state (window, 1);
  screenshot ("damaged-refused.png");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.analyse-damaged", NULL));
  g_assert_true (gaze_test_wait (is_idle_with_result, window, WAIT_MS));
  g_assert_true (gaze_test_wait (is_idle, window, WAIT_MS));
  g_assert_true (file_is (gaze_window_get_image_file (window), files.half_jpg));
  g_assert_nonnull (gaze_window_get_explanation (window));
  message = gaze_window_get_damaged_message (window, &can_analyse);
  g_test_message ("analysed anyway: “%s”", message);
  g_assert_nonnull (message);
  g_assert_nonnull (strstr (message, "half.jpg"));
  g_assert_nonnull (strstr (message, "Premature end of JPEG file"));
  g_assert_nonnull (strstr (message, "may be wrong"));
  g_assert_false (can_analyse);
  banner_settle ();
  g_assert_cmpfloat (overlay_difference (window), >, 5);
  screenshot ("damaged-analysed.png");

  load_demo (window, 2);
  g_assert_null (gaze_window_get_damaged_message (window, NULL));
  banner_settle ();
  assert_state (window, 2);
  window_close (window);
}

static guint n_toasts_seen;
static char *last_seen;

/* Counts changes of the last toast (a repeat of the same text is missed). */
static void
see_toasts (GazeWindow *window)
{
  const char *message = gaze_window_get_last_message (window);

  if (message != NULL && g_strcmp0 (message, last_seen) != 0)
    {
      n_toasts_seen++;
      g_free (last_seen);
      last_seen = g_strdup (message);
    }
}

static void
rapid_drops (GazeWindow *window, GRand *rand)
{
  n_toasts_seen = 0;
  for (int i = 0; i < N_DROPS; i++)
    {
      const char *image = files.images[g_rand_int_range (rand, 0, 6)];
      const char *pair[2];
      int kind = g_rand_int_range (rand, 0, 9);

      /* The end is fixed so that the expected state is known: a good pair,
       * then bad files that fail at once. */
      if (i == N_DROPS - 3)
        kind = 6;
      else if (i == N_DROPS - 2)
        kind = 5;
      else if (i == N_DROPS - 1)
        kind = 7;

      switch (kind)
        {
          case 0:
            g_assert_true (drop1 (window, image));
            break;
          case 1:
            g_assert_true (drop1 (window, files.model));
            break;
          case 2:
            g_assert_true (drop1 (window, files.corrupt_onnx));
            break;
          case 3:
            g_assert_true (drop1 (window, files.truncated_png));
            break;
          case 4:
            g_assert_true (drop1 (window, files.text_png));
            break;
          case 5:
            /* Known bad at once: the toast is there when the drop returns. */
            g_assert_true (drop1 (window, files.missing_png));
            g_assert_nonnull (strstr (gaze_window_get_last_message (window), "missing.png"));
            break;
          case 6:
            pair[0] = i == N_DROPS - 3 ? files.images[2] : image;
            pair[1] = files.model;
            g_assert_true (gaze_test_drop_paths (GTK_WIDGET (window), pair, 2));
            break;
          case 7:
            g_assert_true (drop1 (window, files.notes_txt));
            g_assert_nonnull (strstr (gaze_window_get_last_message (window), "notes.txt"));
            break;
          default:
            /* Damaged: refused with the banner. */
            g_assert_true (drop1 (window, files.partial_png));
            break;
        }
      /* Rapid, yet as from a user: events get dispatched between drops. */
      g_main_context_iteration (NULL, FALSE);
      sample_rss ();
      watch_window (window);
      see_toasts (window);
    }
}

/* Loads return at once when cancelled, while their thread finishes decoding
 * in the background (a busy machine queues many); and each worker thread
 * keeps the engine's scratch block while it lives. Let the idle workers end
 * (GTask's pool hands them back after half a second), then wait for the heap
 * to stop moving before reading it. */
static gsize
settled_heap (void)
{
  gsize heap;

  gaze_test_spin (700);
  g_thread_pool_stop_unused_threads ();
  heap = heap_in_use ();
  for (int i = 0; i < 100; i++)
    {
      gsize before = heap;

      gaze_test_spin (100);
      g_thread_pool_stop_unused_threads ();
      heap = heap_in_use ();
      if ((heap > before ? heap - before : before - heap) < 16 * 1024)
        break;
    }
  return heap;
}

static guint
n_threads (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  guint n = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static void
print_survivors (void)
{
  GHashTableIter iter;
  gpointer object, kind;

  pthread_mutex_lock (&watched_lock);
  g_hash_table_iter_init (&iter, watched);
  while (g_hash_table_iter_next (&iter, &object, &kind))
    g_test_message ("still alive: %s %p (%u refs)", (const char *) kind, object,
                    G_OBJECT (object)->ref_count);
  pthread_mutex_unlock (&watched_lock);
}

static void
test_rapid_drops (void)
{
  g_autoptr (GazeApplication) app = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  GazeWindow *window;
  gsize rss_before, rss_after, heap_before, heap_round1, heap_round2, heap_closed;
  gsize heap_later[8] = { 0 };
  guint threads_later[8] = { 0 };

  if (!need_demo ())
    return;
  app = gaze_test_application_new ();

  /* Warm up the caches of GTK, GdkPixbuf, fontconfig and the engine with a
   * first window taking the same drops, so that the heap baseline holds only
   * what outlives any window: the second window must come back to it. */
  window = window_new (app);
  load_demo (window, 0);
  rss_before = rss_kib ();
  peak_rss_kib = rss_before;
  rapid_drops (window, rand);
  g_assert_true (gaze_test_wait (is_idle_with_result, window, WAIT_MS));
  g_test_message ("first 100 drops (cold caches): VmRSS %zu KiB before, peak growth %.1f MiB",
                  rss_before, (double) (peak_rss_kib - rss_before) / 1024.0);
  g_assert_cmpuint (peak_rss_kib - rss_before, <, 150 * 1024);
  window_close (window);
  heap_before = settled_heap ();

  watched_reset (TRUE);
  window = window_new (app);
  load_demo (window, 0);
  assert_state (window, 0);
  watch_window (window);

  rss_before = rss_kib ();
  peak_rss_kib = rss_before;
  rapid_drops (window, rand);
  g_assert_true (gaze_test_wait (is_idle_with_result, window, WAIT_MS));
  gaze_test_spin (100);
  rss_after = rss_kib ();
  sample_rss ();
  g_test_message ("VmRSS before %zu KiB, after %zu KiB, peak %zu KiB: growth %+.1f MiB, "
                  "peak growth %.1f MiB",
                  rss_before, rss_after, peak_rss_kib,
                  ((double) rss_after - (double) rss_before) / 1024.0,
                  (double) (peak_rss_kib - rss_before) / 1024.0);
  g_assert_cmpuint (peak_rss_kib - rss_before, <, 150 * 1024);

  g_test_message ("%u toasts seen during the 100 drops", n_toasts_seen);
  g_assert_cmpuint (n_toasts_seen, >=, 2);
  /* The last good request is shown, with its heatmap (and no damaged-image
   * banner); toasts were shown. */
  g_assert_null (gaze_window_get_damaged_message (window, NULL));
  banner_settle ();
  assert_state (window, 2);
  g_assert_nonnull (gaze_window_get_last_message (window));
  g_assert_nonnull (strstr (gaze_window_get_last_message (window), "notes.txt"));
  heap_round1 = settled_heap ();

  /* A second round: a leak per drop would show as the same growth again. */
  rapid_drops (window, rand);
  g_assert_true (gaze_test_wait (is_idle_with_result, window, WAIT_MS));
  g_assert_null (gaze_window_get_damaged_message (window, NULL));
  banner_settle ();
  assert_state (window, 2);
  heap_round2 = settled_heap ();
  g_test_message ("%u objects watched, %u alive with the window open", n_watched, watched_alive ());

  window_close (window);
  heap_closed = settled_heap ();
  print_survivors ();
  g_assert_cmpuint (watched_alive (), ==, 0);
  watched_reset (FALSE);

  /* Caches (GTK's, fontconfig's, malloc's) fill unevenly over the first
   * windows: a leak shows as growth between later windows, each taking the
   * same 100 drops. */
  for (int c = 3; c <= 7; c++)
    {
      watched_reset (TRUE);
      window = window_new (app);
      load_demo (window, 0);
      rapid_drops (window, rand);
      g_assert_true (gaze_test_wait (is_idle_with_result, window, WAIT_MS));
      window_close (window);
      print_survivors ();
      g_assert_cmpuint (watched_alive (), ==, 0);
      watched_reset (FALSE);
      heap_later[c] = settled_heap ();
      threads_later[c] = n_threads ();
      g_test_message ("window %d closed: heap in use %.2f MiB, %u threads", c,
                      heap_later[c] / 1048576.0, threads_later[c]);
    }

  g_test_message ("heap in use: %.2f MiB before the window, %.2f after 100 drops, "
                  "%.2f after 200, %.2f once closed; window 4 → 7: %+.3f MiB",
                  heap_before / 1048576.0, heap_round1 / 1048576.0, heap_round2 / 1048576.0,
                  heap_closed / 1048576.0,
                  ((double) heap_later[7] - (double) heap_later[4]) / 1048576.0);
  g_test_message ("%u objects watched in all, all finalized", n_watched);
  if (heap_before != 0)
    {
      g_assert_cmpfloat ((double) heap_closed - (double) heap_before, <, 3 * 1048576.0);
      g_assert_cmpfloat ((double) heap_later[7] - (double) heap_later[4], <, 3 * 1048576.0);
    }
  else
    g_test_message ("heap not measured (sanitizer build)");
}

static void
write_file (const char *path, const void *data, gsize size)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (path, data, size, &error));
  g_assert_no_error (error);
}

static void
files_setup (void)
{
  const char *root = g_getenv ("GAZE_SOURCE_ROOT");
  g_autoptr (GError) error = NULL;
  g_autoptr (GRand) rand = g_rand_new_with_seed (42);
  g_autofree char *png = NULL;
  gsize png_size;
  guint8 noise[8192];
  const char *names[6] = { "demo-01-star.png",   "demo-02-circle.png", "demo-03-triangle.png",
                           "demo-04-square.png", "demo-05-cross.png",  "demo-06-ring.png" };

  files.tmpdir = g_dir_make_tmp ("gaze-drops-XXXXXX", &error);
  g_assert_no_error (error);
  files.corrupt_onnx = g_build_filename (files.tmpdir, "corrupt.onnx", NULL);
  files.truncated_png = g_build_filename (files.tmpdir, "truncated.png", NULL);
  files.partial_png = g_build_filename (files.tmpdir, "partial.png", NULL);
  files.half_jpg = g_build_filename (files.tmpdir, "half.jpg", NULL);
  files.text_png = g_build_filename (files.tmpdir, "text.png", NULL);
  files.missing_png = g_build_filename (files.tmpdir, "missing.png", NULL);
  files.notes_txt = g_build_filename (files.tmpdir, "notes.txt", NULL);

  for (gsize i = 0; i < sizeof noise; i++)
    noise[i] = g_rand_int (rand) & 0xff;
  write_file (files.corrupt_onnx, noise, sizeof noise);
  write_file (files.text_png, "This is not a picture.\n", 23);
  write_file (files.notes_txt, "Some notes.\n", 12);

  if (root == NULL)
    return;
  files.model = g_build_filename (root, "data", "demo", "shapes.onnx", NULL);
  for (int i = 0; i < 6; i++)
    files.images[i] = g_build_filename (root, "data", "demo", names[i], NULL);
  if (!g_file_test (files.model, G_FILE_TEST_IS_REGULAR)
      || !g_file_get_contents (files.images[0], &png, &png_size, NULL))
    {
      g_clear_pointer (&files.model, g_free);
      return;
    }
  /* 40 bytes: the signature, IHDR and a few bytes of the next chunk. */
  g_assert_cmpuint (png_size, >, 1000);
  write_file (files.truncated_png, png, 40);
  write_file (files.partial_png, png, png_size / 2);
  {
    g_autoptr (GdkPixbuf) scene = gdk_pixbuf_new_from_file (files.images[0], &error);
    g_autofree char *jpeg = NULL;
    gsize jpeg_size;

    g_assert_no_error (error);
    g_assert_true (gdk_pixbuf_save_to_buffer (scene, &jpeg, &jpeg_size, "jpeg", &error, "quality",
                                              "92", NULL));
    g_assert_no_error (error);
    write_file (files.half_jpg, jpeg, jpeg_size / 2);
  }
}

static void
files_teardown (void)
{
  const char *made[] = { files.corrupt_onnx, files.truncated_png, files.partial_png,
                         files.half_jpg,     files.text_png,      files.notes_txt };

  for (guint i = 0; i < G_N_ELEMENTS (made); i++)
    g_unlink (made[i]);
  g_rmdir (files.tmpdir);
  g_free (files.tmpdir);
  g_free (files.model);
  for (int i = 0; i < 6; i++)
    g_free (files.images[i]);
  g_free (files.corrupt_onnx);
  g_free (files.truncated_png);
  g_free (files.partial_png);
  g_free (files.half_jpg);
  g_free (files.text_png);
  g_free (files.missing_png);
  g_free (files.notes_txt);
}

int
main (int argc, char **argv)
{
  int status;

  gaze_test_init (&argc, &argv);
  /* Idle workers end when asked (settled_heap), not 15 s later. */
  g_thread_pool_set_max_unused_threads (0);
  g_autoptr (GSettings) settings = g_settings_new (APP_ID);
  g_settings_set_boolean (settings, "reopen-last-model", FALSE);
  g_clear_object (&settings);

  files_setup ();
  g_test_add_func ("/ui/drops/bad-file-keeps-state", test_bad_file_keeps_state);
  g_test_add_func ("/ui/drops/damaged-banner", test_damaged_banner);
  g_test_add_func ("/ui/drops/rapid", test_rapid_drops);
  status = g_test_run ();
  files_teardown ();
  g_free (last_seen);
  return status;
}
