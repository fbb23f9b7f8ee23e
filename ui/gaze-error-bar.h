/* gaze-error-bar.h — an error shown in full at the top of the window's content
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A toast is one line and ellipsises what does not fit: a refused model or
 * image often needs more (the file, the engine's reason, what to do). The bar
 * wraps the whole text, lets it be selected and copied, and stays until it is
 * closed or the next error replaces it. Paths in the text are shortened to
 * their file name: the full path is noise and pushes the reason off the line.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define GAZE_TYPE_ERROR_BAR (gaze_error_bar_get_type ())
G_DECLARE_FINAL_TYPE (GazeErrorBar, gaze_error_bar, GAZE, ERROR_BAR, GtkWidget)

GtkWidget *gaze_error_bar_new (void);
/* Shows `message` in full (replacing the one shown). With action_name set, a
 * button labelled action_label activates that action (e.g. the preferences
 * page that changes what refused the file). */
void gaze_error_bar_show (GazeErrorBar *self, const char *message, const char *action_label,
                          const char *action_name);
/* Hides the bar, as its close button does. */
void gaze_error_bar_dismiss (GazeErrorBar *self);
/* The message shown (paths shortened), or NULL when the bar is hidden. */
const char *gaze_error_bar_get_message (GazeErrorBar *self);
GtkLabel *gaze_error_bar_get_label (GazeErrorBar *self);
GtkButton *gaze_error_bar_get_close_button (GazeErrorBar *self);
/* The action button (hidden when the message has no action). */
GtkButton *gaze_error_bar_get_action_button (GazeErrorBar *self);

/* `message` with every absolute path replaced by its last component. */
char *gaze_error_bar_shorten_paths (const char *message);

G_END_DECLS
