/* gaze-image-view.c — a zoomable, pannable image with a heatmap overlay, drawn with GSK + Cairo
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "gaze-image-view"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "gaze-image-view.h"

#define ZOOM_MIN 0.02
#define ZOOM_MAX 32.0
#define ZOOM_STEP 1.25

struct _GazeImageView
{
  GtkWidget parent_instance;

  GdkTexture *texture;
  GPtrArray *levels; /* texture and its halved copies, or NULL */
  GdkTexture *overlay;
  GdkTexture *faded; /* overlay with opacity applied, made when drawn */
  GskRenderNode *hatch; /* cached for hatch_bounds */
  GArray *contour; /* float[4] segments in image pixels */
  graphene_rect_t hatch_bounds;
  graphene_rect_t analysed; /* in image pixels */
  double opacity;
  gboolean show_overlay;
  double mm_per_pixel; /* > 0: a scale bar */

  gboolean fit;
  double zoom; /* when !fit */
  double center_x, center_y; /* the image point at the view's centre, when !fit */

  double drag_start_x, drag_start_y;
  double zoom_gesture_start;
  double pointer_x, pointer_y;
};

G_DEFINE_FINAL_TYPE (GazeImageView, gaze_image_view, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_TEXTURE,
  PROP_OVERLAY,
  PROP_OPACITY,
  PROP_SHOW_OVERLAY,
  PROP_ZOOM,
  PROP_FIT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum
{
  VIEWPORT_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
viewport_changed (GazeImageView *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[VIEWPORT_CHANGED], 0);
}

static double
fit_scale (GazeImageView *self)
{
  int w = gtk_widget_get_width (GTK_WIDGET (self));
  int h = gtk_widget_get_height (GTK_WIDGET (self));
  int iw, ih;

  g_assert (self->texture != NULL);

  iw = gdk_texture_get_width (self->texture);
  ih = gdk_texture_get_height (self->texture);
  if (w <= 0 || h <= 0)
    return 1.0;
  return MIN ((double) w / iw, (double) h / ih);
}

static double
effective_scale (GazeImageView *self)
{
  if (self->texture == NULL)
    return 1.0;
  return self->fit ? fit_scale (self) : self->zoom;
}

/* Keeps the image in view: centred along an axis where it is smaller than the
 * view, otherwise no empty margin beyond its edge. */
static void
clamp_center (GazeImageView *self)
{
  double s = effective_scale (self);
  double half_w = gtk_widget_get_width (GTK_WIDGET (self)) / (2 * s);
  double half_h = gtk_widget_get_height (GTK_WIDGET (self)) / (2 * s);
  int iw, ih;

  if (self->texture == NULL)
    return;
  iw = gdk_texture_get_width (self->texture);
  ih = gdk_texture_get_height (self->texture);

  self->center_x = 2 * half_w >= iw ? iw / 2.0 : CLAMP (self->center_x, half_w, iw - half_w);
  self->center_y = 2 * half_h >= ih ? ih / 2.0 : CLAMP (self->center_y, half_h, ih - half_h);
}

/* Image rectangle in view coordinates. */
static void
get_image_bounds (GazeImageView *self, graphene_rect_t *bounds, double *scale)
{
  double s = effective_scale (self);
  int iw = gdk_texture_get_width (self->texture);
  int ih = gdk_texture_get_height (self->texture);
  double cx = self->fit ? iw / 2.0 : self->center_x;
  double cy = self->fit ? ih / 2.0 : self->center_y;
  double x = gtk_widget_get_width (GTK_WIDGET (self)) / 2.0 - cx * s;
  double y = gtk_widget_get_height (GTK_WIDGET (self)) / 2.0 - cy * s;

  /* Whole device pixels keep the image sharp at 100 %. */
  graphene_rect_init (bounds, round (x), round (y), iw * s, ih * s);
  *scale = s;
}

/* The opacity is baked into a copy of the overlay: drawing it then needs no
 * offscreen group, which costs a full-size surface on every frame. */
static GdkTexture *
get_faded_overlay (GazeImageView *self)
{
  int w, h;
  guint8 *data;
  g_autoptr (GBytes) bytes = NULL;

  g_assert (self->overlay != NULL);

  if (self->faded != NULL)
    return self->faded;
  if (self->opacity >= 1.0)
    return self->faded = g_object_ref (self->overlay);

  w = gdk_texture_get_width (self->overlay);
  h = gdk_texture_get_height (self->overlay);
  data = g_malloc ((gsize) w * h * 4);
  /* Premultiplied BGRA: scaling all four channels applies the opacity exactly. */
  gdk_texture_download (self->overlay, data, (gsize) w * 4);
  {
    guint a = (guint) lround (self->opacity * 256);
    for (gsize i = 0; i < (gsize) w * h * 4; i++)
      data[i] = (data[i] * a) >> 8;
  }
  bytes = g_bytes_new_take (data, (gsize) w * h * 4);
  self->faded
      = gdk_memory_texture_new (w, h, GDK_MEMORY_B8G8R8A8_PREMULTIPLIED, bytes, (gsize) w * 4);
  return self->faded;
}

static void
append_hatch (GazeImageView *self, GtkSnapshot *snapshot, const graphene_rect_t *image,
              double scale)
{
  graphene_rect_t seen;
  GtkSnapshot *hatch;
  cairo_t *cr;

  if (self->hatch != NULL && graphene_rect_equal (&self->hatch_bounds, image))
    {
      gtk_snapshot_append_node (snapshot, self->hatch);
      return;
    }
  g_clear_pointer (&self->hatch, gsk_render_node_unref);
  self->hatch_bounds = *image;

  graphene_rect_init (&seen, image->origin.x + self->analysed.origin.x * scale,
                      image->origin.y + self->analysed.origin.y * scale,
                      self->analysed.size.width * scale, self->analysed.size.height * scale);
  if (graphene_rect_contains_rect (&seen, image))
    return;

  hatch = gtk_snapshot_new ();
  cr = gtk_snapshot_append_cairo (hatch, image);
  /* Even-odd fill: the image minus what the model saw. */
  cairo_set_fill_rule (cr, CAIRO_FILL_RULE_EVEN_ODD);
  cairo_rectangle (cr, image->origin.x, image->origin.y, image->size.width, image->size.height);
  cairo_rectangle (cr, seen.origin.x, seen.origin.y, seen.size.width, seen.size.height);
  cairo_clip_preserve (cr);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.45);
  cairo_fill (cr);

  cairo_set_source_rgba (cr, 1, 1, 1, 0.35);
  cairo_set_line_width (cr, 1.5);
  {
    double x0 = image->origin.x, y0 = image->origin.y;
    double w = image->size.width, h = image->size.height;

    for (double d = -h; d < w; d += 12)
      {
        cairo_move_to (cr, x0 + d, y0 + h);
        cairo_line_to (cr, x0 + d + h, y0);
      }
  }
  cairo_stroke (cr);
  cairo_destroy (cr);

  self->hatch = gtk_snapshot_free_to_node (hatch);
  if (self->hatch != NULL)
    gtk_snapshot_append_node (snapshot, self->hatch);
}

static void
invalidate_cache (GazeImageView *self)
{
  g_clear_object (&self->faded);
  g_clear_pointer (&self->hatch, gsk_render_node_unref);
}

#define SCALE_BAR_MARGIN 12

/* The bar over the visible part of the image: at most a quarter of its width
 * and 160 px. */
static gboolean
scale_bar_for (GazeImageView *self, const graphene_rect_t *shown, double scale, GazeIoScaleBar *bar)
{
  if (self->mm_per_pixel <= 0 || shown->size.height < 4 * SCALE_BAR_MARGIN)
    return FALSE;
  return gaze_io_scale_bar_choose (self->mm_per_pixel / scale,
                                   MIN (160, shown->size.width / 4 - SCALE_BAR_MARGIN), bar);
}

static void
gaze_image_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  GazeImageView *self = GAZE_IMAGE_VIEW (widget);
  graphene_rect_t bounds, clip;
  double scale;

  if (self->texture == NULL)
    return;

  graphene_rect_init (&clip, 0, 0, gtk_widget_get_width (widget), gtk_widget_get_height (widget));
  gtk_snapshot_push_clip (snapshot, &clip);

  get_image_bounds (self, &bounds, &scale);
  {
    /* The smallest copy still at least as large as what is shown. */
    GdkTexture *level = self->texture;

    for (guint i = 1; self->levels != NULL && i < self->levels->len; i++)
      {
        GdkTexture *t = g_ptr_array_index (self->levels, i);
        if (gdk_texture_get_width (t) < bounds.size.width * gtk_widget_get_scale_factor (widget))
          break;
        level = t;
      }
    gtk_snapshot_append_texture (snapshot, level, &bounds);
  }

  if (self->overlay != NULL && self->show_overlay)
    {
      if (self->opacity > 0)
        gtk_snapshot_append_texture (snapshot, get_faded_overlay (self), &bounds);
      append_hatch (self, snapshot, &bounds, scale);
      if (self->contour != NULL && self->contour->len > 0)
        {
          cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &clip);

          cairo_translate (cr, bounds.origin.x, bounds.origin.y);
          cairo_scale (cr, scale, scale);
          for (guint i = 0; i < self->contour->len; i++)
            {
              const float *seg
                  = (const float *) (gpointer) (self->contour->data + i * sizeof (float) * 4);
              cairo_move_to (cr, seg[0], seg[1]);
              cairo_line_to (cr, seg[2], seg[3]);
            }
          cairo_identity_matrix (cr);
          cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
          cairo_set_source_rgba (cr, 0, 0, 0, 0.6);
          cairo_set_line_width (cr, 3.5);
          cairo_stroke_preserve (cr);
          cairo_set_source_rgb (cr, 1, 1, 1);
          cairo_set_line_width (cr, 1.5);
          cairo_stroke (cr);
          cairo_destroy (cr);
        }
    }

  {
    GazeIoScaleBar bar;
    graphene_rect_t shown;

    if (graphene_rect_intersection (&bounds, &clip, &shown)
        && scale_bar_for (self, &shown, scale, &bar))
      {
        cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &clip);

        gaze_io_scale_bar_draw (cr, &bar, shown.origin.x + SCALE_BAR_MARGIN,
                                shown.origin.y + shown.size.height - SCALE_BAR_MARGIN, 1);
        cairo_destroy (cr);
      }
  }

  gtk_snapshot_pop (snapshot);
}

static void
gaze_image_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                         int *natural, int *minimum_baseline, int *natural_baseline)
{
  GazeImageView *self = GAZE_IMAGE_VIEW (widget);

  *minimum = 64;
  *natural = 64;
  if (self->texture != NULL)
    *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? gdk_texture_get_width (self->texture)
                                                         : gdk_texture_get_height (self->texture);
  *minimum_baseline = *natural_baseline = -1;
}

static void
gaze_image_view_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  clamp_center (GAZE_IMAGE_VIEW (widget));
}

/* Zooms to `zoom`, keeping the image point under (x, y) in view coordinates fixed. */
static void
zoom_around (GazeImageView *self, double zoom, double x, double y)
{
  double s, w, h, ix, iy;

  if (self->texture == NULL)
    return;

  s = effective_scale (self);
  w = gtk_widget_get_width (GTK_WIDGET (self));
  h = gtk_widget_get_height (GTK_WIDGET (self));
  if (self->fit)
    {
      self->center_x = gdk_texture_get_width (self->texture) / 2.0;
      self->center_y = gdk_texture_get_height (self->texture) / 2.0;
    }
  ix = self->center_x + (x - w / 2) / s;
  iy = self->center_y + (y - h / 2) / s;

  zoom = CLAMP (zoom, ZOOM_MIN, ZOOM_MAX);
  self->zoom = zoom;
  self->center_x = ix - (x - w / 2) / zoom;
  self->center_y = iy - (y - h / 2) / zoom;
  clamp_center (self);

  if (self->fit)
    {
      self->fit = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FIT]);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
  viewport_changed (self);
}

static gboolean
scroll_cb (GtkEventControllerScroll *controller, double dx, double dy, GazeImageView *self)
{
  GdkModifierType mods
      = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));

  if (self->texture == NULL)
    return FALSE;

  /* Plain wheel zooms around the pointer (as image viewers do); Shift/Alt pan. */
  if (mods & (GDK_SHIFT_MASK | GDK_ALT_MASK))
    {
      gaze_image_view_pan (self, -dy * 40, -dx * 40);
      return TRUE;
    }
  zoom_around (self, effective_scale (self) * pow (ZOOM_STEP, -dy), self->pointer_x,
               self->pointer_y);
  return TRUE;
}

static void
motion_cb (GtkEventControllerMotion *controller, double x, double y, GazeImageView *self)
{
  self->pointer_x = x;
  self->pointer_y = y;
}

static void
drag_begin_cb (GtkGestureDrag *gesture, double x, double y, GazeImageView *self)
{
  if (self->texture == NULL || self->fit)
    {
      gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
      return;
    }
  self->drag_start_x = self->center_x;
  self->drag_start_y = self->center_y;
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "grabbing");
}

static void
drag_update_cb (GtkGestureDrag *gesture, double dx, double dy, GazeImageView *self)
{
  self->center_x = self->drag_start_x - dx / self->zoom;
  self->center_y = self->drag_start_y - dy / self->zoom;
  clamp_center (self);
  viewport_changed (self);
}

static void
drag_end_cb (GtkGestureDrag *gesture, double dx, double dy, GazeImageView *self)
{
  gtk_widget_set_cursor (GTK_WIDGET (self), NULL);
}

static void
zoom_begin_cb (GtkGesture *gesture, GdkEventSequence *sequence, GazeImageView *self)
{
  self->zoom_gesture_start = effective_scale (self);
}

static void
zoom_scale_changed_cb (GtkGestureZoom *gesture, double scale, GazeImageView *self)
{
  double x, y;

  if (!gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &x, &y))
    {
      x = gtk_widget_get_width (GTK_WIDGET (self)) / 2.0;
      y = gtk_widget_get_height (GTK_WIDGET (self)) / 2.0;
    }
  zoom_around (self, self->zoom_gesture_start * scale, x, y);
}

static void
gaze_image_view_dispose (GObject *object)
{
  GazeImageView *self = GAZE_IMAGE_VIEW (object);

  g_clear_object (&self->texture);
  g_clear_pointer (&self->levels, g_ptr_array_unref);
  g_clear_object (&self->overlay);
  g_clear_pointer (&self->contour, g_array_unref);
  invalidate_cache (self);

  G_OBJECT_CLASS (gaze_image_view_parent_class)->dispose (object);
}

static void
gaze_image_view_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GazeImageView *self = GAZE_IMAGE_VIEW (object);

  switch (prop_id)
    {
      case PROP_TEXTURE:
        g_value_set_object (value, self->texture);
        break;
      case PROP_OVERLAY:
        g_value_set_object (value, self->overlay);
        break;
      case PROP_OPACITY:
        g_value_set_double (value, self->opacity);
        break;
      case PROP_SHOW_OVERLAY:
        g_value_set_boolean (value, self->show_overlay);
        break;
      case PROP_ZOOM:
        g_value_set_double (value, gaze_image_view_get_zoom (self));
        break;
      case PROP_FIT:
        g_value_set_boolean (value, self->fit);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gaze_image_view_set_property (GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec)
{
  GazeImageView *self = GAZE_IMAGE_VIEW (object);

  switch (prop_id)
    {
      case PROP_TEXTURE:
        gaze_image_view_set_texture (self, g_value_get_object (value));
        break;
      case PROP_OVERLAY:
        gaze_image_view_set_overlay (self, g_value_get_object (value), NULL);
        break;
      case PROP_OPACITY:
        gaze_image_view_set_opacity (self, g_value_get_double (value));
        break;
      case PROP_SHOW_OVERLAY:
        gaze_image_view_set_show_overlay (self, g_value_get_boolean (value));
        break;
      case PROP_ZOOM:
        gaze_image_view_set_zoom (self, g_value_get_double (value));
        break;
      case PROP_FIT:
        gaze_image_view_set_fit (self, g_value_get_boolean (value));
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gaze_image_view_class_init (GazeImageViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = gaze_image_view_dispose;
  object_class->get_property = gaze_image_view_get_property;
  object_class->set_property = gaze_image_view_set_property;

  widget_class->snapshot = gaze_image_view_snapshot;
  widget_class->measure = gaze_image_view_measure;
  widget_class->size_allocate = gaze_image_view_size_allocate;

  properties[PROP_TEXTURE]
      = g_param_spec_object ("texture", NULL, NULL, GDK_TYPE_TEXTURE,
                             G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_OVERLAY]
      = g_param_spec_object ("overlay", NULL, NULL, GDK_TYPE_TEXTURE,
                             G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_OPACITY]
      = g_param_spec_double ("opacity", NULL, NULL, 0, 1, 0.5,
                             G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_OVERLAY]
      = g_param_spec_boolean ("show-overlay", NULL, NULL, TRUE,
                              G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ZOOM]
      = g_param_spec_double ("zoom", NULL, NULL, ZOOM_MIN, ZOOM_MAX, 1,
                             G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FIT]
      = g_param_spec_boolean ("fit", NULL, NULL, TRUE,
                              G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Zoom, fit or pan changed (by the user or the API): for synchronised views. */
  signals[VIEWPORT_CHANGED] = g_signal_new ("viewport-changed", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_css_name (widget_class, "gazeimageview");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
gaze_image_view_init (GazeImageView *self)
{
  GtkEventController *controller;
  GtkGesture *gesture;

  self->opacity = 0.5;
  self->show_overlay = TRUE;
  self->fit = TRUE;
  self->zoom = 1.0;

  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _ ("Image with heatmap"), -1);

  controller = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES
                                                | GTK_EVENT_CONTROLLER_SCROLL_DISCRETE);
  g_signal_connect (controller, "scroll", G_CALLBACK (scroll_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  controller = gtk_event_controller_motion_new ();
  g_signal_connect (controller, "motion", G_CALLBACK (motion_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), controller);

  gesture = gtk_gesture_drag_new ();
  g_signal_connect (gesture, "drag-begin", G_CALLBACK (drag_begin_cb), self);
  g_signal_connect (gesture, "drag-update", G_CALLBACK (drag_update_cb), self);
  g_signal_connect (gesture, "drag-end", G_CALLBACK (drag_end_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));

  gesture = gtk_gesture_zoom_new ();
  g_signal_connect (gesture, "begin", G_CALLBACK (zoom_begin_cb), self);
  g_signal_connect (gesture, "scale-changed", G_CALLBACK (zoom_scale_changed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (gesture));
}

void
gaze_image_view_set_texture (GazeImageView *self, GdkTexture *texture)
{
  g_return_if_fail (GAZE_IS_IMAGE_VIEW (self));
  g_return_if_fail (texture == NULL || GDK_IS_TEXTURE (texture));

  if (!g_set_object (&self->texture, texture))
    return;
  g_clear_pointer (&self->levels, g_ptr_array_unref);

  /* A new image starts fitted; an overlay of another image never survives it. */
  g_clear_object (&self->overlay);
  g_clear_pointer (&self->contour, g_array_unref);
  invalidate_cache (self);
  gaze_image_view_set_fit (self, TRUE);
  gtk_widget_queue_resize (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TEXTURE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OVERLAY]);
}

GdkTexture *
gaze_image_view_get_texture (GazeImageView *self)
{
  g_return_val_if_fail (GAZE_IS_IMAGE_VIEW (self), NULL);

  return self->texture;
}

void
gaze_image_view_set_overlay (GazeImageView *self, GdkTexture *overlay,
                             const graphene_rect_t *analysed)
{
  g_return_if_fail (GAZE_IS_IMAGE_VIEW (self));
  g_return_if_fail (overlay == NULL || GDK_IS_TEXTURE (overlay));

  g_set_object (&self->overlay, overlay);
  invalidate_cache (self);
  if (analysed != NULL)
    self->analysed = *analysed;
  else if (overlay != NULL)
    graphene_rect_init (&self->analysed, 0, 0, gdk_texture_get_width (overlay),
                        gdk_texture_get_height (overlay));
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OVERLAY]);
}

GdkTexture *
gaze_image_view_get_overlay (GazeImageView *self)
{
  g_return_val_if_fail (GAZE_IS_IMAGE_VIEW (self), NULL);

  return self->overlay;
}

void
gaze_image_view_set_levels (GazeImageView *self, GPtrArray *levels)
{
  g_return_if_fail (GAZE_IS_IMAGE_VIEW (self));
  g_return_if_fail (levels == NULL || (levels->len > 0 && levels->pdata[0] == self->texture));

  g_clear_pointer (&self->levels, g_ptr_array_unref);
  if (levels != NULL)
    self->levels = g_ptr_array_ref (levels);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
gaze_image_view_set_contour (GazeImageView *self, GArray *segments)
{
  g_return_if_fail (GAZE_IS_IMAGE_VIEW (self));

  g_clear_pointer (&self->contour, g_array_unref);
  if (segments != NULL)
    self->contour = g_array_ref (segments);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
gaze_image_view_set_opacity (GazeImageView *self, double opacity)
{
  g_return_if_fail (GAZE_IS_IMAGE_VIEW (self));

  opacity = CLAMP (opacity, 0.0, 1.0);
  if (self->opacity == opacity)
    return;
  self->opacity = opacity;
  g_clear_object (&self->faded);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OPACITY]);
}

double
gaze_image_view_get_opacity (GazeImageView *self)
{
  g_return_val_if_fail (GAZE_IS_IMAGE_VIEW (self), 0);

  return self->opacity;
}

void
gaze_image_view_set_show_overlay (GazeImageView *self, gboolean show)
{
  g_return_if_fail (GAZE_IS_IMAGE_VIEW (self));

  show = !!show;
  if (self->show_overlay == show)
    return;
  self->show_overlay = show;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_OVERLAY]);
}

gboolean
gaze_image_view_get_show_overlay (GazeImageView *self)
{
  g_return_val_if_fail (GAZE_IS_IMAGE_VIEW (self), FALSE);

  return self->show_overlay;
}

double
gaze_image_view_get_zoom (GazeImageView *self)
{
  g_return_val_if_fail (GAZE_IS_IMAGE_VIEW (self), 1.0);

  return effective_scale (self);
}

void
gaze_image_view_set_zoom (GazeImageView *self, double zoom)
{
  g_return_if_fail (GAZE_IS_IMAGE_VIEW (self));

  zoom_around (self, zoom, gtk_widget_get_width (GTK_WIDGET (self)) / 2.0,
               gtk_widget_get_height (GTK_WIDGET (self)) / 2.0);
}

gboolean
gaze_image_view_get_fit (GazeImageView *self)
{
  g_return_val_if_fail (GAZE_IS_IMAGE_VIEW (self), FALSE);

  return self->fit;
}

void
gaze_image_view_set_fit (GazeImageView *self, gboolean fit)
{
  g_return_if_fail (GAZE_IS_IMAGE_VIEW (self));

  fit = !!fit;
  if (self->fit == fit)
    return;
  if (!fit)
    {
      /* Leaving fit keeps the current picture: same scale, centred. */
      self->zoom = effective_scale (self);
      if (self->texture != NULL)
        {
          self->center_x = gdk_texture_get_width (self->texture) / 2.0;
          self->center_y = gdk_texture_get_height (self->texture) / 2.0;
        }
    }
  self->fit = fit;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FIT]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
  viewport_changed (self);
}

void
gaze_image_view_zoom_in (GazeImageView *self)
{
  g_return_if_fail (GAZE_IS_IMAGE_VIEW (self));

  gaze_image_view_set_zoom (self, effective_scale (self) * ZOOM_STEP);
}

void
gaze_image_view_zoom_out (GazeImageView *self)
{
  g_return_if_fail (GAZE_IS_IMAGE_VIEW (self));

  gaze_image_view_set_zoom (self, effective_scale (self) / ZOOM_STEP);
}

void
gaze_image_view_pan (GazeImageView *self, double dx, double dy)
{
  double s;

  g_return_if_fail (GAZE_IS_IMAGE_VIEW (self));

  if (self->texture == NULL || self->fit)
    return;
  s = effective_scale (self);
  self->center_x -= dx / s;
  self->center_y -= dy / s;
  clamp_center (self);
  viewport_changed (self);
}

void
gaze_image_view_get_viewport (GazeImageView *self, gboolean *fit, double *zoom, double *center_x,
                              double *center_y)
{
  g_return_if_fail (GAZE_IS_IMAGE_VIEW (self));

  *fit = self->fit;
  *zoom = self->zoom;
  *center_x = self->center_x;
  *center_y = self->center_y;
}

void
gaze_image_view_set_viewport (GazeImageView *self, gboolean fit, double zoom, double center_x,
                              double center_y)
{
  g_return_if_fail (GAZE_IS_IMAGE_VIEW (self));

  if (self->fit == !!fit && self->zoom == zoom && self->center_x == center_x
      && self->center_y == center_y)
    return;
  self->fit = !!fit;
  self->zoom = CLAMP (zoom, ZOOM_MIN, ZOOM_MAX);
  self->center_x = center_x;
  self->center_y = center_y;
  clamp_center (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FIT]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
  viewport_changed (self);
}

void
gaze_image_view_set_mm_per_pixel (GazeImageView *self, double mm_per_pixel)
{
  g_return_if_fail (GAZE_IS_IMAGE_VIEW (self));

  mm_per_pixel = isfinite (mm_per_pixel) && mm_per_pixel > 0 ? mm_per_pixel : 0;
  if (self->mm_per_pixel == mm_per_pixel)
    return;
  self->mm_per_pixel = mm_per_pixel;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
gaze_image_view_get_scale_bar (GazeImageView *self, GazeIoScaleBar *bar)
{
  graphene_rect_t bounds, clip, shown;
  double scale;

  g_return_val_if_fail (GAZE_IS_IMAGE_VIEW (self) && bar != NULL, FALSE);

  if (self->texture == NULL)
    return FALSE;
  graphene_rect_init (&clip, 0, 0, gtk_widget_get_width (GTK_WIDGET (self)),
                      gtk_widget_get_height (GTK_WIDGET (self)));
  get_image_bounds (self, &bounds, &scale);
  return graphene_rect_intersection (&bounds, &clip, &shown)
      && scale_bar_for (self, &shown, scale, bar);
}
