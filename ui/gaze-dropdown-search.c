/* gaze-dropdown-search.c — a drop-down's search that finds any part of a label
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The drop-down filters its popup's list with a GtkStringFilter in prefix
 * mode, made anew each time its model or expression changes. The filter is
 * reached through the popup's list view (its model: a selection over the
 * filter model) and switched to substring mode after each such change.
 */
#include "config.h"

#include "gaze-dropdown-search.h"

static GtkListView *
find_list_view (GtkWidget *widget)
{
  if (GTK_IS_LIST_VIEW (widget))
    return GTK_LIST_VIEW (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkListView *found = find_list_view (child);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
use_substring (GtkDropDown *dropdown)
{
  GtkListView *list = find_list_view (GTK_WIDGET (dropdown));
  GtkSelectionModel *selection = list != NULL ? gtk_list_view_get_model (list) : NULL;
  GListModel *filtered = NULL;
  GtkFilter *filter;

  if (GTK_IS_SINGLE_SELECTION (selection))
    filtered = gtk_single_selection_get_model (GTK_SINGLE_SELECTION (selection));
  if (!GTK_IS_FILTER_LIST_MODEL (filtered))
    return; /* no model yet */
  filter = gtk_filter_list_model_get_filter (GTK_FILTER_LIST_MODEL (filtered));
  if (!GTK_IS_STRING_FILTER (filter))
    return; /* no expression yet: nothing is searched */
  gtk_string_filter_set_ignore_case (GTK_STRING_FILTER (filter), TRUE);
  gtk_string_filter_set_match_mode (GTK_STRING_FILTER (filter),
                                    GTK_STRING_FILTER_MATCH_MODE_SUBSTRING);
}

static void
changed_cb (GtkDropDown *dropdown, GParamSpec *pspec, gpointer user_data)
{
  use_substring (dropdown);
}

void
gaze_dropdown_search_attach (GtkDropDown *dropdown)
{
  g_return_if_fail (GTK_IS_DROP_DOWN (dropdown));

  /* Connected after: the drop-down has made its new filter by then. */
  g_signal_connect_after (dropdown, "notify::model", G_CALLBACK (changed_cb), NULL);
  g_signal_connect_after (dropdown, "notify::expression", G_CALLBACK (changed_cb), NULL);
  use_substring (dropdown);
}
