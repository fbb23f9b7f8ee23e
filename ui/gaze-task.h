/* gaze-task.h — GTask hand-offs that ThreadSanitizer can see
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every worker of the app is a GTask thread. GLib hands the task to its
 * thread, and the result back to the main loop, under futex-based locks that
 * ThreadSanitizer cannot see (Debian's GLib is not instrumented): it would take
 * the model one worker loaded, then read by the next worker, for a race. These
 * calls tell TSan about the hand-offs (release, then acquire, on the task);
 * in other builds they are g_task_run_in_thread and nothing.
 *
 *   gaze_task_run_in_thread (task, thread_func);   // instead of g_task_run_in_thread
 *   static void thread_func (GTask *task, …)
 *   {
 *     gaze_task_begin (task);                      // first
 *     …
 *     gaze_task_end (task);                        // just before g_task_return_*
 *     g_task_return_pointer (task, …);
 *   }
 *   Thing *thing_finish (GAsyncResult *result, …)
 *   {
 *     gaze_task_finish (result);                   // before reading the result
 *     …
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#if defined(__SANITIZE_THREAD__)
/* From the TSan runtime (sanitizer/tsan_interface.h). */
void __tsan_acquire (void *addr);
void __tsan_release (void *addr);
#define GAZE_TSAN_ACQUIRE(p) __tsan_acquire (p)
#define GAZE_TSAN_RELEASE(p) __tsan_release (p)
#else
#define GAZE_TSAN_ACQUIRE(p) ((void) (p))
#define GAZE_TSAN_RELEASE(p) ((void) (p))
#endif

static inline void
gaze_task_run_in_thread (GTask *task, GTaskThreadFunc func)
{
  GAZE_TSAN_RELEASE (task);
  g_task_run_in_thread (task, func);
}

static inline void
gaze_task_begin (GTask *task)
{
  GAZE_TSAN_ACQUIRE (task);
}

static inline void
gaze_task_end (GTask *task)
{
  GAZE_TSAN_RELEASE (task);
}

static inline void
gaze_task_finish (GAsyncResult *result)
{
  GAZE_TSAN_ACQUIRE (result);
}

G_END_DECLS
