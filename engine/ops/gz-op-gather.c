/* gz-op-gather.c — Gather (float or int64 data, int64 indices), GatherElements, GatherND
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * data is seen as [outer, n, inner]; output[o, k..., :] = data[o, idx[k...], :].
 * Negative indices count from the end. Backward scatter-adds into data.
 */
#include <string.h>

#include "gz-op.h"

static GzStatus
gather_axis (const GzNode *node, const GzTensor *data, int *axis, GzError *err)
{
  int64_t v = gz_node_attr_int (node, "axis", 0);
  *axis = gz_axis (v, data->ndim);
  if (*axis < 0 || data->ndim == 0)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
                        (long long) v, data->ndim);
  return GZ_OK;
}

/* Checks every index; returns the normalised index or -1. */
static inline int64_t
norm_index (int64_t i, int64_t n)
{
  if (i < 0)
    i += n;
  return i >= 0 && i < n ? i : -1;
}

static GzStatus
check_indices (const GzNode *node, const GzTensor *idx, int64_t n, GzError *err)
{
  const int64_t *p = idx->data;
  int64_t count = gz_tensor_numel (idx);
  for (int64_t k = 0; k < count; k++)
    if (norm_index (p[k], n) < 0)
      return gz_op_error (err, GZ_ERR_SHAPE, node, "index %lld is out of range for size %lld",
                          (long long) p[k], (long long) n);
  return GZ_OK;
}

static GzStatus
gather_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 2, 1, err);
  if (need != GZ_OK)
    return need;
  const GzTensor *data = in[0], *idx = gz_op_input (node, in, 1);
  int axis;
  GzStatus st;
  if (idx == NULL)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "the indices input is missing");
  if (idx->dtype != GZ_DTYPE_INT64)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "indices must be int64");
  if ((st = gather_axis (node, data, &axis, err)) != GZ_OK)
    return st;
  int r = data->ndim - 1 + idx->ndim;
  if (r > GZ_MAX_DIMS)
    return gz_op_error (err, GZ_ERR_LIMIT, node, "output rank %d exceeds the maximum of %d", r,
                        GZ_MAX_DIMS);
  if (idx->data != NULL && (st = check_indices (node, idx, data->dims[axis], err)) != GZ_OK)
    return st;
  int64_t dims[GZ_MAX_DIMS];
  int k = 0;
  for (int a = 0; a < axis; a++)
    dims[k++] = data->dims[a];
  for (int a = 0; a < idx->ndim; a++)
    dims[k++] = idx->dims[a];
  for (int a = axis + 1; a < data->ndim; a++)
    dims[k++] = data->dims[a];
  if ((st = gz_op_check_shape (node, r, dims, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], data->dtype, r, dims);
  return GZ_OK;
}

static GzStatus
gather_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  const GzTensor *data = in[0], *idx = in[1];
  int axis;
  GzStatus st;
  if ((st = gather_axis (node, data, &axis, err)) != GZ_OK)
    return st;
  int64_t n = data->dims[axis];
  if ((st = check_indices (node, idx, n, err)) != GZ_OK)
    return st;
  size_t es = gz_dtype_size (data->dtype);
  int64_t outer = gz_shape_numel (axis, data->dims);
  int64_t inner = gz_shape_numel (data->ndim - axis - 1, data->dims + axis + 1);
  int64_t count = gz_tensor_numel (idx);
  const int64_t *p = idx->data;
  const char *src = data->data;
  char *dst = out[0]->data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t k = 0; k < count; k++)
      memcpy (dst + (size_t) ((o * count + k) * inner) * es,
              src + (size_t) ((o * n + norm_index (p[k], n)) * inner) * es, (size_t) inner * es);
  return GZ_OK;
}

static GzStatus
gather_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                 const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                 GzError *err)
{
  if (!gz_op_backward_begin (din, dout, true))
    return GZ_OK;
  const GzTensor *data = in[0], *idx = in[1];
  int axis;
  GzStatus st;
  if ((st = gather_axis (node, data, &axis, err)) != GZ_OK)
    return st;
  int64_t n = data->dims[axis];
  if ((st = check_indices (node, idx, n, err)) != GZ_OK)
    return st;
  int64_t outer = gz_shape_numel (axis, data->dims);
  int64_t inner = gz_shape_numel (data->ndim - axis - 1, data->dims + axis + 1);
  int64_t count = gz_tensor_numel (idx);
  const int64_t *p = idx->data;
  const float *g = dout[0]->data;
  float *d = din[0]->data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t k = 0; k < count; k++)
      {
        float *dd = d + (o * n + norm_index (p[k], n)) * inner;
        const float *gg = g + (o * count + k) * inner;
        for (int64_t j = 0; j < inner; j++)
          dd[j] += gg[j];
      }
  return GZ_OK;
}

/* ---- GatherElements ---------------------------------------------------- */

/* out[i] = data[i with the axis coordinate replaced by indices[i]]: the output
 * has the indices' shape, which may be smaller than data's off the axis. */

static GzStatus
ge_check (const GzNode *node, const GzTensor *data, const GzTensor *idx, int *axis, GzError *err)
{
  GzStatus st = gather_axis (node, data, axis, err);
  if (st != GZ_OK)
    return st;
  if (idx->dtype != GZ_DTYPE_INT64)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "indices must be int64");
  bool ok = idx->ndim == data->ndim;
  for (int a = 0; ok && a < data->ndim; a++)
    ok = a == *axis || idx->dims[a] <= data->dims[a];
  if (!ok)
    {
      char b1[128], b2[128];
      return gz_op_error (err, GZ_ERR_SHAPE, node, "indices %s do not fit data %s",
                          gz_op_shape_str (idx->ndim, idx->dims, b1, sizeof b1),
                          gz_op_shape_str (data->ndim, data->dims, b2, sizeof b2));
    }
  return GZ_OK;
}

static GzStatus
ge_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st = gz_op_need (node, in, out, 2, 1, err);
  int axis;
  if (st != GZ_OK || (st = ge_check (node, in[0], in[1], &axis, err)) != GZ_OK)
    return st;
  if (in[1]->data != NULL && (st = check_indices (node, in[1], in[0]->dims[axis], err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], in[0]->dtype, in[1]->ndim, in[1]->dims);
  return GZ_OK;
}

/* Calls visit (k, data offset) for every output element k. */
typedef void (*GeVisit) (int64_t k, int64_t off, void *user);

static void
ge_walk (const GzTensor *data, const GzTensor *idx, int axis, GeVisit visit, void *user)
{
  int64_t strides[GZ_MAX_DIMS], pos[GZ_MAX_DIMS] = { 0 };
  gz_op_strides (data->ndim, data->dims, strides);
  int64_t total = gz_tensor_numel (idx), n = data->dims[axis];
  const int64_t *p = idx->data;
  for (int64_t k = 0; k < total; k++)
    {
      int64_t off = 0;
      for (int a = 0; a < data->ndim; a++)
        off += (a == axis ? norm_index (p[k], n) : pos[a]) * strides[a];
      visit (k, off, user);
      for (int a = data->ndim - 1; a >= 0; a--)
        {
          if (++pos[a] < idx->dims[a])
            break;
          pos[a] = 0;
        }
    }
}

typedef struct
{
  size_t es;
  const char *src;
  char *dst;
  const float *grad;
  float *grad_data;
} GeJob;

static void
ge_copy (int64_t k, int64_t off, void *user)
{
  GeJob *j = user;
  memcpy (j->dst + (size_t) k * j->es, j->src + (size_t) off * j->es, j->es);
}

static void
ge_add (int64_t k, int64_t off, void *user)
{
  GeJob *j = user;
  j->grad_data[off] += j->grad[k];
}

static GzStatus
ge_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int axis;
  GzStatus st = ge_check (node, in[0], in[1], &axis, err);
  if (st != GZ_OK || (st = check_indices (node, in[1], in[0]->dims[axis], err)) != GZ_OK)
    return st;
  GeJob j = { gz_dtype_size (in[0]->dtype), in[0]->data, out[0]->data, NULL, NULL };
  ge_walk (in[0], in[1], axis, ge_copy, &j);
  return GZ_OK;
}

static GzStatus
ge_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
             const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode, GzError *err)
{
  if (!gz_op_backward_begin (din, dout, true))
    return GZ_OK;
  int axis;
  GzStatus st = ge_check (node, in[0], in[1], &axis, err);
  if (st != GZ_OK || (st = check_indices (node, in[1], in[0]->dims[axis], err)) != GZ_OK)
    return st;
  GeJob j = { 0, NULL, NULL, dout[0]->data, din[0]->data };
  ge_walk (in[0], in[1], axis, ge_add, &j);
  return GZ_OK;
}

/* ---- GatherND ---------------------------------------------------------- */

/* indices [..., k] pick slices data[b..., i0..ik-1, :] after batch_dims
 * leading axes shared by data and indices. Output: indices.shape[:-1] +
 * data.shape[batch_dims + k:]. Backward scatter-adds the slices. */

typedef struct
{
  int64_t batches, tuples, k, slice, batch_stride;
} GndLayout;

static GzStatus
gnd_layout (const GzNode *node, const GzTensor *data, const GzTensor *idx, GndLayout *l,
            int64_t *out_dims, int *out_ndim, GzError *err)
{
  int64_t b = gz_node_attr_int (node, "batch_dims", 0);
  if (idx->dtype != GZ_DTYPE_INT64)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "indices must be int64");
  if (idx->ndim < 1 || b < 0 || b >= idx->ndim || b > data->ndim)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "batch_dims %lld does not fit ranks %d, %d",
                        (long long) b, data->ndim, idx->ndim);
  int64_t k = idx->dims[idx->ndim - 1];
  if (k < 1 || b + k > data->ndim)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "index tuples of %lld do not fit data rank %d",
                        (long long) k, data->ndim);
  for (int a = 0; a < b; a++)
    if (idx->dims[a] != data->dims[a])
      return gz_op_error (err, GZ_ERR_SHAPE, node, "batch dimension %d differs: %lld, %lld", a,
                          (long long) idx->dims[a], (long long) data->dims[a]);
  int r = 0;
  for (int a = 0; a < idx->ndim - 1; a++)
    out_dims[r++] = idx->dims[a];
  for (int a = (int) (b + k); a < data->ndim; a++)
    {
      if (r >= GZ_MAX_DIMS)
        return gz_op_error (err, GZ_ERR_LIMIT, node, "output rank exceeds %d", GZ_MAX_DIMS);
      out_dims[r++] = data->dims[a];
    }
  *out_ndim = r;
  l->k = k;
  l->batches = gz_shape_numel ((int) b, data->dims);
  l->tuples = gz_shape_numel (idx->ndim - 1 - (int) b, idx->dims + b);
  l->slice = gz_shape_numel (data->ndim - (int) (b + k), data->dims + b + k);
  l->batch_stride = gz_shape_numel (data->ndim - (int) b, data->dims + b);
  return GZ_OK;
}

/* Offset of tuple t of batch bt in data, or -1 when out of range. */
static int64_t
gnd_offset (const GzTensor *data, const GzTensor *idx, const GndLayout *l, int b, int64_t bt,
            int64_t t)
{
  const int64_t *p = (const int64_t *) idx->data + (bt * l->tuples + t) * l->k;
  int64_t off = 0;
  for (int64_t j = 0; j < l->k; j++)
    {
      int64_t i = norm_index (p[j], data->dims[b + j]);
      if (i < 0)
        return -1;
      off = off * data->dims[b + j] + i;
    }
  return bt * l->batch_stride + off * l->slice;
}

static GzStatus
gnd_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st = gz_op_need (node, in, out, 2, 1, err);
  GndLayout l;
  int64_t dims[GZ_MAX_DIMS];
  int r;
  if (st != GZ_OK || (st = gnd_layout (node, in[0], in[1], &l, dims, &r, err)) != GZ_OK)
    return st;
  if ((st = gz_op_check_shape (node, r, dims, err)) != GZ_OK)
    return st;
  if (in[1]->data != NULL)
    {
      int b = (int) gz_node_attr_int (node, "batch_dims", 0);
      for (int64_t bt = 0; bt < l.batches; bt++)
        for (int64_t t = 0; t < l.tuples; t++)
          if (gnd_offset (in[0], in[1], &l, b, bt, t) < 0)
            return gz_op_error (err, GZ_ERR_SHAPE, node, "index tuple %lld is out of range",
                                (long long) t);
    }
  gz_tensor_set_shape (out[0], in[0]->dtype, r, dims);
  return GZ_OK;
}

static GzStatus
gnd_run (const GzNode *node, const GzTensor *const *in, void *dst, const float *grad,
         float *grad_data, GzError *err)
{
  GndLayout l;
  int64_t dims[GZ_MAX_DIMS];
  int r;
  GzStatus st = gnd_layout (node, in[0], in[1], &l, dims, &r, err);
  if (st != GZ_OK)
    return st;
  int b = (int) gz_node_attr_int (node, "batch_dims", 0);
  size_t es = gz_dtype_size (in[0]->dtype);
  for (int64_t bt = 0; bt < l.batches; bt++)
    for (int64_t t = 0; t < l.tuples; t++)
      {
        int64_t off = gnd_offset (in[0], in[1], &l, b, bt, t);
        if (off < 0)
          return gz_op_error (err, GZ_ERR_SHAPE, node, "index tuple %lld is out of range",
                              (long long) t);
        int64_t at = (bt * l.tuples + t) * l.slice;
        if (dst != NULL)
          memcpy ((char *) dst + (size_t) at * es, (const char *) in[0]->data + (size_t) off * es,
                  (size_t) l.slice * es);
        else
          for (int64_t j = 0; j < l.slice; j++)
            grad_data[off + j] += grad[at + j];
      }
  return GZ_OK;
}

static GzStatus
gnd_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  return gnd_run (node, in, out[0]->data, NULL, NULL, err);
}

static GzStatus
gnd_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
              const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode, GzError *err)
{
  if (!gz_op_backward_begin (din, dout, true))
    return GZ_OK;
  return gnd_run (node, in, NULL, dout[0]->data, din[0]->data, err);
}

const GzOpDef gz_op_gather[] = {
  { "Gather", 1, NULL, gather_infer, gather_forward, gather_backward, NULL },
  { "GatherElements", 11, NULL, ge_infer, ge_forward, ge_backward, NULL },
  { "GatherND", 11, NULL, gnd_infer, gnd_forward, gnd_backward, NULL },
  GZ_OP_END,
};
