/* gaze-error-bar.c — an error shown in full at the top of the window's content
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "gaze-error-bar.h"

struct _GazeErrorBar
{
  GtkWidget parent_instance;

  GtkRevealer *revealer;
  GtkLabel *label;
  GtkButton *action_button;
  GtkButton *close_button;
  char *message; /* NULL: hidden */
};

G_DEFINE_FINAL_TYPE (GazeErrorBar, gaze_error_bar, GTK_TYPE_WIDGET)

/* ---- Shortening paths --------------------------------------------------- */

/* The quote that closes `open`, or 0 when `open` is no opening quote. */
static gunichar
closing_quote (gunichar open)
{
  switch (open)
    {
      case 0x201C: /* “ … ” */
        return 0x201D;
      case 0x201E: /* „ … “ (German) */
        return 0x201C;
      case 0x00AB: /* « … » */
        return 0x00BB;
      case 0x00BB: /* » … « */
        return 0x00AB;
      case 0x2018:
        return 0x2019;
      case '"':
      case '\'':
        return open;
      case '(':
        return ')';
      default:
        return 0;
    }
}

/* Where an unquoted path ends: at a blank, or at punctuation that ends a clause. */
static gboolean
ends_bare_path (const char *p)
{
  gunichar c = g_utf8_get_char (p);

  return g_unichar_isspace (c) || c == ',' || c == ';'
      || (c == ':' && (p[1] == '\0' || p[1] == ' '));
}

/* The end of the path starting at `start`, quoted by `open` (0: bare). */
static const char *
path_end (const char *start, gunichar open)
{
  gunichar close = closing_quote (open);
  const char *p;

  if (close != 0)
    {
      for (p = start; *p != '\0'; p = g_utf8_next_char (p))
        if (g_utf8_get_char (p) == close)
          return p;
      /* Never closed: an apostrophe in prose, not a quote. */
    }
  for (p = start; *p != '\0' && !ends_bare_path (p); p = g_utf8_next_char (p))
    ;
  return p;
}

char *
gaze_error_bar_shorten_paths (const char *message)
{
  GString *out = g_string_new (NULL);
  gunichar prev = 0;
  const char *p = message;

  g_return_val_if_fail (message != NULL, NULL);

  while (*p != '\0')
    {
      /* A path starts a word or follows an opening quote. */
      if (*p == '/' && (prev == 0 || g_unichar_isspace (prev) || closing_quote (prev) != 0))
        {
          const char *end = path_end (p, prev);
          const char *base = p;

          for (const char *q = p; q + 1 < end; q++)
            if (*q == '/')
              base = q + 1;
          g_string_append_len (out, base, end - base);
          prev = '/';
          p = end;
          continue;
        }
      prev = g_utf8_get_char (p);
      g_string_append_len (out, p, g_utf8_next_char (p) - p);
      p = g_utf8_next_char (p);
    }
  return g_string_free (out, FALSE);
}

/* ---- The widget --------------------------------------------------------- */

static void
close_clicked_cb (GtkButton *button, GazeErrorBar *self)
{
  gaze_error_bar_dismiss (self);
}

/* The action done (e.g. Preferences opened): the bar has said what it had to. */
static void
action_clicked_cb (GtkButton *button, GazeErrorBar *self)
{
  gaze_error_bar_dismiss (self);
}

static void
gaze_error_bar_init (GazeErrorBar *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *icon = gtk_image_new_from_icon_name ("dialog-error-symbolic");
  GtkWidget *label = gtk_label_new (NULL);
  GtkWidget *action = gtk_button_new ();
  GtkWidget *button = gtk_button_new_from_icon_name ("window-close-symbolic");

  gtk_widget_add_css_class (box, "gaze-error-bar");
  gtk_widget_set_valign (icon, GTK_ALIGN_START);
  gtk_accessible_update_property (GTK_ACCESSIBLE (icon), GTK_ACCESSIBLE_PROPERTY_LABEL, _ ("Error"),
                                  -1);

  /* All of it, on as many lines as it takes; selectable, to copy or report. */
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_NONE);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_width_chars (GTK_LABEL (label), 10);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 100);
  gtk_widget_set_hexpand (label, TRUE);

  gtk_widget_set_valign (action, GTK_ALIGN_START);
  gtk_widget_set_visible (action, FALSE);
  g_signal_connect (action, "clicked", G_CALLBACK (action_clicked_cb), self);

  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_valign (button, GTK_ALIGN_START);
  gtk_widget_set_tooltip_text (button, _ ("Close"));
  g_signal_connect (button, "clicked", G_CALLBACK (close_clicked_cb), self);

  gtk_box_append (GTK_BOX (box), icon);
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), action);
  gtk_box_append (GTK_BOX (box), button);

  self->revealer = GTK_REVEALER (gtk_revealer_new ());
  gtk_revealer_set_transition_type (self->revealer, GTK_REVEALER_TRANSITION_TYPE_SLIDE_DOWN);
  gtk_revealer_set_child (self->revealer, box);
  gtk_widget_set_parent (GTK_WIDGET (self->revealer), GTK_WIDGET (self));
  self->label = GTK_LABEL (label);
  self->action_button = GTK_BUTTON (action);
  self->close_button = GTK_BUTTON (button);
  gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
}

static void
gaze_error_bar_dispose (GObject *object)
{
  GazeErrorBar *self = GAZE_ERROR_BAR (object);

  g_clear_pointer ((GtkWidget **) &self->revealer, gtk_widget_unparent);
  g_clear_pointer (&self->message, g_free);

  G_OBJECT_CLASS (gaze_error_bar_parent_class)->dispose (object);
}

static void
gaze_error_bar_class_init (GazeErrorBarClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = gaze_error_bar_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "gaze-error-bar");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_ALERT);
}

GtkWidget *
gaze_error_bar_new (void)
{
  return g_object_new (GAZE_TYPE_ERROR_BAR, NULL);
}

void
gaze_error_bar_show (GazeErrorBar *self, const char *message, const char *action_label,
                     const char *action_name)
{
  g_return_if_fail (GAZE_IS_ERROR_BAR (self));
  g_return_if_fail (message != NULL);

  g_free (self->message);
  self->message = gaze_error_bar_shorten_paths (message);
  gtk_label_set_text (self->label, self->message);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->action_button), action_name);
  gtk_button_set_label (self->action_button, action_label != NULL ? action_label : "");
  gtk_button_set_use_underline (self->action_button, TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->action_button), action_name != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self), TRUE);
  gtk_revealer_set_reveal_child (self->revealer, TRUE);
}

void
gaze_error_bar_dismiss (GazeErrorBar *self)
{
  g_return_if_fail (GAZE_IS_ERROR_BAR (self));

  g_clear_pointer (&self->message, g_free);
  gtk_revealer_set_reveal_child (self->revealer, FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
}

const char *
gaze_error_bar_get_message (GazeErrorBar *self)
{
  g_return_val_if_fail (GAZE_IS_ERROR_BAR (self), NULL);

  return self->message;
}

GtkLabel *
gaze_error_bar_get_label (GazeErrorBar *self)
{
  g_return_val_if_fail (GAZE_IS_ERROR_BAR (self), NULL);

  return self->label;
}

GtkButton *
gaze_error_bar_get_close_button (GazeErrorBar *self)
{
  g_return_val_if_fail (GAZE_IS_ERROR_BAR (self), NULL);

  return self->close_button;
}

GtkButton *
gaze_error_bar_get_action_button (GazeErrorBar *self)
{
  g_return_val_if_fail (GAZE_IS_ERROR_BAR (self), NULL);

  return self->action_button;
}
