/* gaze-dropdown-search.h — a drop-down's search that finds any part of a label
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GTK 4.8's GtkDropDown search matches the start of the label only (and
 * has no API to change that before GTK 4.12): "tabby" finds nothing in
 * "281 · tabby, tabby cat", "sheep" nothing in "349 · bighorn, bighorn sheep, …".
 * Attached, the search matches a case-insensitive substring of the label:
 * any word, any part of a word, and the class number.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* From now on (and across later models and expressions) the drop-down's
 * search matches a case-insensitive substring. The drop-down needs
 * enable-search and an expression, as for its own search. */
void gaze_dropdown_search_attach (GtkDropDown *dropdown);

G_END_DECLS
