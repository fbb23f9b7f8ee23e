/* op-pool.c — MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Windowed pools run one (n, c) plane per work item across threads. Padding
 * never wins a max; AveragePool divides by the number of real elements, or
 * with count_include_pad by the window clipped to the padded extent (the
 * PyTorch rule, which matters only with ceil_mode). MaxPool's backward finds
 * the window's argmax again (the first tap equal to the forward's output, the
 * first maximum as in PyTorch) rather than storing indices. A window entirely
 * inside the padding has no input: its value is -inf, its gradient goes nowhere.
 */
#include <math.h>
#include <string.h>

#include "gz-op.h"

typedef enum
{
  P_MAX,
  P_AVG,
} Kind;

typedef struct
{
  Kind kind;
  GzOpWindowAttrs win;
  bool count_include_pad;
} Params;

static GzStatus
pool_init (GzNode *node, int64_t opset, GzError *err)
{
  GzStatus st;
  Params *p = calloc (1, sizeof *p);
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_NOMEM, node, "out of memory");
  p->kind = strcmp (node->op_type, "MaxPool") == 0 ? P_MAX : P_AVG;
  if ((st = gz_op_window_parse (node, &p->win, err)) != GZ_OK)
    {
      free (p);
      return st;
    }
  p->count_include_pad = gz_node_attr_int (node, "count_include_pad", 0) != 0;
  if (p->kind == P_MAX && node->n_outputs > 1 && node->outputs[1] >= 0)
    {
      free (p);
      return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                          "the optional Indices output of MaxPool is not supported");
    }
  node->params = p;
  return GZ_OK;
}

static GzStatus
pool_geometry (const GzNode *node, const GzTensor *const *in, GzOpWindow *w, GzError *err)
{
  const Params *p = node->params;
  GzStatus st;
  char sx[160];
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_ARGUMENT, node, "operator used before init");
  if ((st = gz_op_need_float (node, in, 0, "X", err)) != GZ_OK)
    return st;
  const GzTensor *x = in[0];
  if (x->ndim < 3)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "input %s must have rank >= 3 (N,C,...)",
                        gz_op_shape_str (x->ndim, x->dims, sx, sizeof sx));
  return gz_op_window_resolve (node, &p->win, x->ndim - 2, x->dims + 2, NULL, w, err);
}

static GzStatus
pool_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzOpWindow w;
  GzStatus st;
  int64_t dims[4];
  if ((st = pool_geometry (node, in, &w, err)) != GZ_OK)
    return st;
  int nd = in[0]->ndim;
  dims[0] = in[0]->dims[0];
  dims[1] = in[0]->dims[1];
  if (nd == 4)
    {
      dims[2] = w.out_h;
      dims[3] = w.out_w;
    }
  else
    dims[2] = w.out_w;
  if ((st = gz_op_check_shape (node, nd, dims, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], GZ_DTYPE_FLOAT, nd, dims);
  return GZ_OK;
}

typedef struct
{
  const Params *p;
  const GzOpWindow *w;
  const float *x, *dy, *yc; /* yc: the forward output, for the backward */
  float *y, *dx;
} Job;

/* Window taps along one axis: the valid input range [*lo, *hi) of tap
 * indices, and how many taps lie inside the padded extent. */
static inline void
taps (int64_t start, int64_t k, int64_t d, int64_t in, int64_t pad_e, int64_t *lo, int64_t *hi,
      int64_t *padded)
{
  int64_t l, h, hp;
  if (d == 1) /* the usual case, without divisions */
    {
      l = start >= 0 ? 0 : -start;
      h = in - start > 0 ? in - start : 0;
      hp = in + pad_e - start > 0 ? in + pad_e - start : 0;
    }
  else
    {
      l = start >= 0 ? 0 : (-start + d - 1) / d;
      h = in - start > 0 ? (in - start + d - 1) / d : 0;
      hp = in + pad_e - start > 0 ? (in + pad_e - start + d - 1) / d : 0;
    }
  if (h > k)
    h = k;
  if (hp > k)
    hp = k;
  if (l > h)
    l = h;
  *lo = l;
  *hi = h;
  *padded = hp; /* taps from 0 (start >= -pad_begin) up to the padded end */
}

/* Output positions o in [*lo, *hi) with 0 <= o * s + off < in. */
static inline void
valid_range (int64_t off, int64_t s, int64_t in, int64_t out, int64_t *lo, int64_t *hi)
{
  int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
  int64_t h = in - off > 0 ? (in - off + s - 1) / s : 0;
  if (h > out)
    h = out;
  if (l > h)
    l = h;
  *lo = l;
  *hi = h;
}

/* y[i] = max (y[i], x[i * s]) with vector selects for s = 1 and 2. */
static inline void
vmax_row (float *restrict y, const float *restrict x, int64_t n, int64_t s)
{
  int64_t i = 0;
  if (s == 1)
    for (; i + 4 <= n; i += 4)
      {
        gz_op_v4 a, b;
        memcpy (&a, x + i, sizeof a);
        memcpy (&b, y + i, sizeof b);
        gz_op_v4i gt = a > b;
        b = (gz_op_v4) (((gz_op_v4i) a & gt) | ((gz_op_v4i) b & ~gt));
        memcpy (y + i, &b, sizeof b);
      }
  else if (s == 2)
    for (; i + 4 < n; i += 4) /* the last load, x[2 i + 7], stays below x[2 (n - 1)] */
      {
        gz_op_v4 x0, x1, b;
        memcpy (&x0, x + 2 * i, sizeof x0);
        memcpy (&x1, x + 2 * i + 4, sizeof x1);
        memcpy (&b, y + i, sizeof b);
        gz_op_v4 a = __builtin_shufflevector (x0, x1, 0, 2, 4, 6);
        gz_op_v4i gt = a > b;
        b = (gz_op_v4) (((gz_op_v4i) a & gt) | ((gz_op_v4i) b & ~gt));
        memcpy (y + i, &b, sizeof b);
      }
  for (; i < n; i++)
    y[i] = x[i * s] > y[i] ? x[i * s] : y[i];
}

/* MaxPool forward, taps outer and output rows inner (as the depthwise Conv):
 * each tap's valid output range is computed once per plane and the inner loop
 * is a branch-free vector max. A window entirely in the padding gives -inf. */
static void
max_forward_planes (long begin, long end, void *data)
{
  const Job *j = data;
  const GzOpWindow *w = j->w;
  const int64_t hw = w->in_h * w->in_w, ohw = w->out_h * w->out_w;
  for (long pl = begin; pl < end; pl++)
    {
      const float *x = j->x + pl * hw;
      float *y = j->y + pl * ohw;
      gz_op_fill (y, -INFINITY, ohw);
      for (int64_t ki = 0; ki < w->k_h; ki++)
        {
          int64_t oy_lo, oy_hi;
          valid_range (ki * w->d_h - w->pad_t, w->s_h, w->in_h, w->out_h, &oy_lo, &oy_hi);
          for (int64_t kj = 0; kj < w->k_w; kj++)
            {
              int64_t xoff = kj * w->d_w - w->pad_l, lo, hi;
              valid_range (xoff, w->s_w, w->in_w, w->out_w, &lo, &hi);
              for (int64_t oy = oy_lo; oy < oy_hi; oy++)
                {
                  int64_t iy = oy * w->s_h - w->pad_t + ki * w->d_h;
                  vmax_row (y + oy * w->out_w + lo, x + iy * w->in_w + xoff + lo * w->s_w, hi - lo,
                            w->s_w);
                }
            }
        }
    }
}

/* AveragePool forward, one output position at a time. */
static void
avg_forward_planes (long begin, long end, void *data)
{
  const Job *j = data;
  const GzOpWindow *w = j->w;
  const int64_t hw = w->in_h * w->in_w, ohw = w->out_h * w->out_w;
  for (long pl = begin; pl < end; pl++)
    {
      const float *x = j->x + pl * hw;
      float *y = j->y + pl * ohw;
      for (int64_t oy = 0; oy < w->out_h; oy++)
        {
          int64_t hs = oy * w->s_h - w->pad_t, ylo, yhi, yp;
          taps (hs, w->k_h, w->d_h, w->in_h, w->pad_b, &ylo, &yhi, &yp);
          for (int64_t ox = 0; ox < w->out_w; ox++)
            {
              int64_t ws = ox * w->s_w - w->pad_l, xlo, xhi, xp;
              taps (ws, w->k_w, w->d_w, w->in_w, w->pad_r, &xlo, &xhi, &xp);
              float s = 0.0f;
              for (int64_t ki = ylo; ki < yhi; ki++)
                {
                  const float *row = x + (hs + ki * w->d_h) * w->in_w + ws;
                  for (int64_t kj = xlo; kj < xhi; kj++)
                    s += row[kj * w->d_w];
                }
              int64_t cnt = j->p->count_include_pad ? yp * xp : (yhi - ylo) * (xhi - xlo);
              float v = cnt > 0 ? s / (float) cnt : 0.0f;
              y[oy * w->out_w + ox] = v;
            }
        }
    }
}

static void
backward_planes (long begin, long end, void *data)
{
  const Job *j = data;
  const GzOpWindow *w = j->w;
  const int64_t hw = w->in_h * w->in_w, ohw = w->out_h * w->out_w;
  for (long pl = begin; pl < end; pl++)
    {
      const float *x = j->x + pl * hw, *dy = j->dy + pl * ohw, *y = j->yc + pl * ohw;
      float *dx = j->dx + pl * hw;
      memset (dx, 0, (size_t) hw * sizeof (float));
      for (int64_t oy = 0; oy < w->out_h; oy++)
        {
          int64_t hs = oy * w->s_h - w->pad_t, ylo, yhi, yp;
          taps (hs, w->k_h, w->d_h, w->in_h, w->pad_b, &ylo, &yhi, &yp);
          for (int64_t ox = 0; ox < w->out_w; ox++)
            {
              int64_t ws = ox * w->s_w - w->pad_l, xlo, xhi, xp;
              taps (ws, w->k_w, w->d_w, w->in_w, w->pad_r, &xlo, &xhi, &xp);
              float g = dy[oy * w->out_w + ox];
              if (yhi <= ylo || xhi <= xlo)
                continue;
              if (j->p->kind == P_MAX)
                {
                  /* The forward's output is the window's maximum: the first tap
                   * equal to it is the argmax (a rarely taken branch, unlike a
                   * running comparison). NaN or -inf windows route nothing. */
                  const float v = y[oy * w->out_w + ox];
                  for (int64_t ki = ylo; ki < yhi; ki++)
                    {
                      const float *row = x + (hs + ki * w->d_h) * w->in_w + ws;
                      int64_t kj = xlo;
                      while (kj < xhi && row[kj * w->d_w] != v)
                        kj++;
                      if (kj < xhi)
                        {
                          dx[(hs + ki * w->d_h) * w->in_w + ws + kj * w->d_w] += g;
                          break;
                        }
                    }
                }
              else
                {
                  int64_t cnt = j->p->count_include_pad ? yp * xp : (yhi - ylo) * (xhi - xlo);
                  float share = g / (float) cnt;
                  for (int64_t ki = ylo; ki < yhi; ki++)
                    {
                      float *row = dx + (hs + ki * w->d_h) * w->in_w + ws;
                      for (int64_t kj = xlo; kj < xhi; kj++)
                        row[kj * w->d_w] += share;
                    }
                }
            }
        }
    }
}

static GzStatus
pool_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzOpWindow w;
  GzStatus st;
  if ((st = pool_geometry (node, in, &w, err)) != GZ_OK)
    return st;
  Job j = { .p = node->params, .w = &w, .x = in[0]->data, .y = out[0]->data };
  gz_parallel_for (in[0]->dims[0] * in[0]->dims[1],
                   gz_op_chunk ((double) w.out_h * w.out_w * w.k_h * w.k_w),
                   j.p->kind == P_MAX ? max_forward_planes : avg_forward_planes, &j);
  return GZ_OK;
}

static GzStatus
pool_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
               const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
               GzError *err)
{
  GzOpWindow w;
  GzStatus st;
  if (din[0] == NULL)
    return GZ_OK;
  if ((st = pool_geometry (node, in, &w, err)) != GZ_OK)
    return st;
  if (dout[0] == NULL)
    {
      memset (din[0]->data, 0, (size_t) gz_tensor_numel (in[0]) * sizeof (float));
      return GZ_OK;
    }
  Job j = { .p = node->params,
            .w = &w,
            .x = in[0]->data,
            .dy = dout[0]->data,
            .yc = out[0]->data,
            .dx = din[0]->data };
  gz_parallel_for (in[0]->dims[0] * in[0]->dims[1],
                   gz_op_chunk ((double) w.out_h * w.out_w * w.k_h * w.k_w), backward_planes, &j);
  return GZ_OK;
}

/* ---- Global pools ------------------------------------------------------ */

static GzStatus
global_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st;
  char sx[160];
  int64_t dims[GZ_MAX_DIMS];
  if ((st = gz_op_need_float (node, in, 0, "X", err)) != GZ_OK)
    return st;
  const GzTensor *x = in[0];
  if (x->ndim < 2)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "input %s must have rank >= 2 (N,C,...)",
                        gz_op_shape_str (x->ndim, x->dims, sx, sizeof sx));
  for (int i = 0; i < x->ndim; i++)
    dims[i] = i < 2 ? x->dims[i] : 1;
  if ((st = gz_op_check_shape (node, x->ndim, x->dims, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], GZ_DTYPE_FLOAT, x->ndim, dims);
  return GZ_OK;
}

typedef struct
{
  bool max;
  int64_t plane;
  const float *x, *dy;
  float *y, *dx;
} GlobalJob;

GZ_OP_VECTOR_CLONES static void
global_forward_planes (long begin, long end, void *data)
{
  const GlobalJob *j = data;
  for (long pl = begin; pl < end; pl++)
    {
      const float *x = j->x + pl * j->plane;
      if (j->max)
        {
          float v = j->plane > 0 ? x[0] : 0.0f;
          for (int64_t i = 1; i < j->plane; i++)
            if (x[i] > v)
              v = x[i];
          j->y[pl] = v;
        }
      else
        {
          /* 16 running sums, so the loop vectorises (and each sum is over
           * 1/16 of the plane: closer to the exact mean, not further). */
          float acc[16] = { 0 };
          int64_t i = 0;
          for (; i + 16 <= j->plane; i += 16)
            for (int l = 0; l < 16; l++)
              acc[l] += x[i + l];
          float s = 0.0f;
          for (int l = 0; l < 16; l++)
            s += acc[l];
          for (; i < j->plane; i++)
            s += x[i];
          j->y[pl] = j->plane > 0 ? s / (float) j->plane : 0.0f;
        }
    }
}

static void
global_backward_planes (long begin, long end, void *data)
{
  const GlobalJob *j = data;
  for (long pl = begin; pl < end; pl++)
    {
      const float *x = j->x + pl * j->plane;
      float *dx = j->dx + pl * j->plane;
      float g = j->dy[pl];
      if (j->max)
        {
          memset (dx, 0, (size_t) j->plane * sizeof (float));
          int64_t arg = 0;
          for (int64_t i = 1; i < j->plane; i++)
            if (x[i] > x[arg])
              arg = i;
          if (j->plane > 0)
            dx[arg] = g;
        }
      else
        {
          float share = g / (float) j->plane;
          for (int64_t i = 0; i < j->plane; i++)
            dx[i] = share;
        }
    }
}

static GzStatus
global_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  const GzTensor *x = in[0];
  GlobalJob j = { .max = strcmp (node->op_type, "GlobalMaxPool") == 0,
                  .plane = gz_shape_numel (x->ndim - 2, x->dims + 2),
                  .x = x->data,
                  .y = out[0]->data };
  gz_parallel_for (x->dims[0] * x->dims[1], gz_op_chunk (j.plane), global_forward_planes, &j);
  return GZ_OK;
}

static GzStatus
global_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                 const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                 GzError *err)
{
  const GzTensor *x = in[0];
  if (din[0] == NULL)
    return GZ_OK;
  if (dout[0] == NULL)
    {
      memset (din[0]->data, 0, (size_t) gz_tensor_numel (x) * sizeof (float));
      return GZ_OK;
    }
  GlobalJob j = { .max = strcmp (node->op_type, "GlobalMaxPool") == 0,
                  .plane = gz_shape_numel (x->ndim - 2, x->dims + 2),
                  .x = x->data,
                  .dy = dout[0]->data,
                  .dx = din[0]->data };
  gz_parallel_for (x->dims[0] * x->dims[1], gz_op_chunk (j.plane), global_backward_planes, &j);
  return GZ_OK;
}

const GzOpDef gz_op_pool[] = {
  { "MaxPool", 1, pool_init, pool_infer, pool_forward, pool_backward, gz_op_free_params },
  { "AveragePool", 1, pool_init, pool_infer, pool_forward, pool_backward, gz_op_free_params },
  { "GlobalAveragePool", 1, NULL, global_infer, global_forward, global_backward },
  { "GlobalMaxPool", 1, NULL, global_infer, global_forward, global_backward },
  GZ_OP_END,
};
