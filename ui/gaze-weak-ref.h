/* gaze-weak-ref.h — a weak reference to hand to an async callback as its user_data
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A window's workers must not keep the window alive: closing it should
 * finalise it at once (its dispose cancels the work), and a task finishing
 * after that touches nothing. So a callback gets a weak reference, not a ref:
 *
 *   gaze_model_load_async (file, cancellable, done_cb, gaze_weak_ref_new (self));
 *   static void done_cb (GObject *source, GAsyncResult *res, gpointer user_data)
 *   {
 *     g_autoptr (GazeWindow) self = gaze_weak_ref_take (user_data);
 *     … _finish (res, …) …              // always, so the result is freed
 *     if (self == NULL) return;          // the window is gone
 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* A new weak reference to `object`, for gaze_weak_ref_take (exactly once). */
gpointer gaze_weak_ref_new (gpointer object);
/* Frees `weak_ref` and returns a strong reference to its object, or NULL when
 * the object has been finalised. */
gpointer gaze_weak_ref_take (gpointer weak_ref);

G_END_DECLS
