/* gaze-scroll-guard.h — the mouse wheel scrolls a panel, not the slider under the pointer
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* For every slider and spin button under root that sits in a scrolled
 * window: a wheel or touchpad scroll over it scrolls that window unless the
 * control has the keyboard focus (click or Tab into it to change its value
 * with the wheel). Call once the widgets exist (after the template). */
void gaze_scroll_guard_install (GtkWidget *root);

G_END_DECLS
