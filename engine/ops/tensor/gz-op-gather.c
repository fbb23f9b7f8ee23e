/* gz-op-gather.c — Gather along one axis (float or int64 data, int64 indices), GatherElements
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * data is seen as [outer, n, inner]; output[o, k..., :] = data[o, idx[k...], :].
 * Negative indices count from the end. Backward scatter-adds into data.
 */
#include <string.h>

#include "gz-tensor-ops.h"

static GzStatus
gather_axis (const GzNode *node, const GzTensor *data, int *axis, GzError *err)
{
  int64_t v = gz_node_attr_int (node, "axis", 0);
  *axis = gz_axis (v, data->ndim);
  if (*axis < 0 || data->ndim == 0)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
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
      return gz_tops_error (err, GZ_ERR_SHAPE, node, "index %lld is out of range for size %lld",
                            (long long) p[k], (long long) n);
  return GZ_OK;
}

static GzStatus
gather_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_tops_need (node, in, out, 2, 1, err);
  if (need != GZ_OK)
    return need;
  const GzTensor *data = in[0], *idx = gz_tops_input (node, in, 1);
  int axis;
  GzStatus st;
  if (idx == NULL)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "the indices input is missing");
  if (idx->dtype != GZ_DTYPE_INT64)
    return gz_tops_error (err, GZ_ERR_UNSUPPORTED, node, "indices must be int64");
  if ((st = gather_axis (node, data, &axis, err)) != GZ_OK)
    return st;
  int r = data->ndim - 1 + idx->ndim;
  if (r > GZ_MAX_DIMS)
    return gz_tops_error (err, GZ_ERR_LIMIT, node, "output rank %d exceeds the maximum of %d", r,
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
  if ((st = gz_tops_check_shape (node, r, dims, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], data->dtype, r, dims);
  return GZ_OK;
}

static GzStatus
gather_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out,
                GzError *err)
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
  if (din[0] == NULL)
    return GZ_OK;
  gz_tops_zero (din[0]);
  if (dout[0] == NULL)
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

const GzOpDef gz_tops_gather_op = {
  "Gather", 1, NULL, gather_infer, gather_forward, gather_backward, NULL,
};

/* ---- GatherElements ---------------------------------------------------- */

/* out[i] = data[i with the axis coordinate replaced by indices[i]]: the output
 * has the indices' shape, which may be smaller than data's off the axis. */

static GzStatus
ge_check (const GzNode *node, const GzTensor *data, const GzTensor *idx, int *axis,
          GzError *err)
{
  GzStatus st = gather_axis (node, data, axis, err);
  if (st != GZ_OK)
    return st;
  if (idx->dtype != GZ_DTYPE_INT64)
    return gz_tops_error (err, GZ_ERR_UNSUPPORTED, node, "indices must be int64");
  bool ok = idx->ndim == data->ndim;
  for (int a = 0; ok && a < data->ndim; a++)
    ok = a == *axis || idx->dims[a] <= data->dims[a];
  if (!ok)
    {
      char b1[128], b2[128];
      return gz_tops_error (err, GZ_ERR_SHAPE, node, "indices %s do not fit data %s",
                            gz_tops_shape_str (idx->ndim, idx->dims, b1, sizeof b1),
                            gz_tops_shape_str (data->ndim, data->dims, b2, sizeof b2));
    }
  return GZ_OK;
}

static GzStatus
ge_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st = gz_tops_need (node, in, out, 2, 1, err);
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
  gz_tops_strides (data->ndim, data->dims, strides);
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
             const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
             GzError *err)
{
  if (din[0] == NULL)
    return GZ_OK;
  gz_tops_zero (din[0]);
  if (dout[0] == NULL)
    return GZ_OK;
  int axis;
  GzStatus st = ge_check (node, in[0], in[1], &axis, err);
  if (st != GZ_OK || (st = check_indices (node, in[1], in[0]->dims[axis], err)) != GZ_OK)
    return st;
  GeJob j = { 0, NULL, NULL, dout[0]->data, din[0]->data };
  ge_walk (in[0], in[1], axis, ge_add, &j);
  return GZ_OK;
}

const GzOpDef gz_tops_gather_elements = {
  "GatherElements", 11, NULL, ge_infer, ge_forward, ge_backward, NULL,
};
