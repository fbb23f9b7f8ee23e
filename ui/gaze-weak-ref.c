/* gaze-weak-ref.c — a weak reference to hand to an async callback as its user_data
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "gaze-weak-ref.h"

gpointer
gaze_weak_ref_new (gpointer object)
{
  GWeakRef *weak_ref = g_new0 (GWeakRef, 1);

  g_return_val_if_fail (G_IS_OBJECT (object), NULL);

  g_weak_ref_init (weak_ref, object);
  return weak_ref;
}

gpointer
gaze_weak_ref_take (gpointer weak_ref)
{
  GWeakRef *ref = weak_ref;
  gpointer object;

  g_return_val_if_fail (ref != NULL, NULL);

  object = g_weak_ref_get (ref);
  g_weak_ref_clear (ref);
  g_free (ref);
  return object;
}
