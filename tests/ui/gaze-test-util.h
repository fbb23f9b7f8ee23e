/* gaze-test-util.h — helpers for the UI tests: display, application, waiting, rendering
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

#include "gaze-application.h"

G_BEGIN_DECLS

/* Re-runs the test under `xvfb-run -a` when there is no display (returns only
 * when a display is there, or after a TAP "skip all" when none can be had),
 * then gtk_test_init. */
void gaze_test_init (int *argc, char ***argv);

/* A registered application (startup has run), not running a main loop. */
GazeApplication *gaze_test_application_new (void);

/* Iterates the main context until cond (polled) is TRUE or timeout_ms passes. */
gboolean gaze_test_wait (gboolean (*cond) (gpointer), gpointer data, guint timeout_ms);
/* Iterates for ms milliseconds. */
void gaze_test_spin (guint ms);

/* What `widget` shows now, rendered by its window's renderer, as packed RGBA8
 * rows of width*4 bytes (un-premultiplied: the widget is opaque). */
guint8 *gaze_test_render (GtkWidget *widget, int *width, int *height);

/* The first descendant of `root` of type `type` that is drawable (and, when
 * predicate is set, for which it returns TRUE). */
GtkWidget *gaze_test_find (GtkWidget *root, GType type, gboolean (*predicate) (GtkWidget *));

/* TRUE when time bounds are asserted: the optimised build without sanitizers
 * (GAZE_TIME_BOUNDS=1, set by tests/ui/meson.build). Otherwise a test reports
 * its figures and checks behaviour only. */
gboolean gaze_test_time_bounds (void);

/* Drops files on `widget` through its GtkDropTarget, as a drag would; TRUE
 * when the target handled them. */
gboolean gaze_test_drop_files (GtkWidget *widget, GFile *const *files, int n);
/* The same with paths. */
gboolean gaze_test_drop_paths (GtkWidget *widget, const char *const *paths, int n);

/* $GAZE_SHARED_DIR/rel, or NULL (the test should then skip). */
char *gaze_test_shared_file (const char *rel);

G_END_DECLS
