/* gaze-scroll-guard.c — the mouse wheel scrolls a panel, not the slider under the pointer
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GtkRange and GtkSpinButton change their value on any scroll over them, so
 * scrolling down a sidebar that passes under the opacity slider sets the
 * opacity. A capture-phase scroll controller on each control sees the event
 * before the control does and, while the control has no focus, scrolls the
 * panel instead and stops the event there.
 */
#include "config.h"

#include <math.h>

#include "gaze-scroll-guard.h"

static gboolean
scroll_cb (GtkEventControllerScroll *controller, double dx, double dy, gpointer user_data)
{
  GtkWidget *control = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (controller));
  GtkWidget *scrolled = gtk_widget_get_ancestor (control, GTK_TYPE_SCROLLED_WINDOW);
  GtkAdjustment *adj;
  double page, step, value;

  if (scrolled == NULL || (gtk_widget_get_state_flags (control) & GTK_STATE_FLAG_FOCUS_WITHIN))
    return FALSE; /* focused: the wheel is for the value */
  adj = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled));
  page = gtk_adjustment_get_page_size (adj);
  /* As GtkScrolledWindow does: a wheel click moves page^(2/3), a touchpad
   * reports surface pixels. */
  step = gtk_event_controller_scroll_get_unit (controller) == GDK_SCROLL_UNIT_WHEEL
      ? pow (MAX (page, 1), 2.0 / 3.0)
      : 1.0;
  value = gtk_adjustment_get_value (adj) + dy * step;
  gtk_adjustment_set_value (
      adj, CLAMP (value, gtk_adjustment_get_lower (adj), gtk_adjustment_get_upper (adj) - page));
  return TRUE;
}

static void
guard (GtkWidget *control)
{
  GtkEventController *scroll = gtk_event_controller_scroll_new (
      GTK_EVENT_CONTROLLER_SCROLL_VERTICAL | GTK_EVENT_CONTROLLER_SCROLL_HORIZONTAL);

  gtk_event_controller_set_propagation_phase (scroll, GTK_PHASE_CAPTURE);
  gtk_event_controller_set_name (scroll, "gaze-scroll-guard");
  g_signal_connect (scroll, "scroll", G_CALLBACK (scroll_cb), NULL);
  gtk_widget_add_controller (control, scroll);
}

void
gaze_scroll_guard_install (GtkWidget *root)
{
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if ((GTK_IS_RANGE (child) || GTK_IS_SPIN_BUTTON (child))
          && gtk_widget_get_ancestor (child, GTK_TYPE_SCROLLED_WINDOW) != NULL)
        guard (child);
      else
        gaze_scroll_guard_install (child);
    }
}
