/* gz-op-scatter.c — ScatterND and ScatterElements (reduction none, add, mul)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * output = data, then for each index tuple t (the last axis of `indices`, k
 * long) the slice output[t] (shape data.shape[k:]) is replaced by, added to or
 * multiplied with the matching slice of `updates`. torch emits it for in-place
 * slice assignment, usually on constants. Backward (none/add): the updates get
 * the output gradient at their slices; data gets it elsewhere (none) or
 * everywhere (add). With repeated tuples and no reduction the last write wins,
 * so only the last update of a slice gets its gradient. Negative indices
 * count from the end.
 */
#include <string.h>

#include "gz-op.h"

typedef enum
{
  SCATTER_NONE,
  SCATTER_ADD,
  SCATTER_MUL,
} ScatterMode;

typedef struct
{
  ScatterMode mode;
  int64_t n_tuples; /* number of index tuples */
  int k; /* tuple length */
  int64_t slice; /* elements per slice */
} ScatterLayout;

static GzStatus
scatter_layout (const GzNode *node, const GzTensor *const *in, ScatterLayout *l, GzError *err)
{
  const GzTensor *data = in[0], *idx = in[1], *upd = in[2];
  const char *red = gz_node_attr_string (node, "reduction", "none");
  if (strcmp (red, "none") == 0)
    l->mode = SCATTER_NONE;
  else if (strcmp (red, "add") == 0)
    l->mode = SCATTER_ADD;
  else if (strcmp (red, "mul") == 0)
    l->mode = SCATTER_MUL;
  else
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "reduction '%s' is not supported", red);
  if (idx->dtype != GZ_DTYPE_INT64)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "indices must be int64");
  if (upd->dtype != data->dtype)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "updates and data differ in data type");
  if (idx->ndim < 1 || idx->dims[idx->ndim - 1] > data->ndim)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "indices of rank %d do not fit data of rank %d",
                        idx->ndim, data->ndim);
  l->k = (int) idx->dims[idx->ndim - 1];
  l->n_tuples = gz_shape_numel (idx->ndim - 1, idx->dims);
  l->slice = gz_shape_numel (data->ndim - l->k, data->dims + l->k);
  /* updates must be indices.shape[:-1] + data.shape[k:] */
  bool ok = upd->ndim == idx->ndim - 1 + data->ndim - l->k;
  for (int a = 0; ok && a < idx->ndim - 1; a++)
    ok = upd->dims[a] == idx->dims[a];
  for (int a = 0; ok && a < data->ndim - l->k; a++)
    ok = upd->dims[idx->ndim - 1 + a] == data->dims[l->k + a];
  if (!ok)
    {
      char b1[128], b2[128], b3[128];
      return gz_op_error (err, GZ_ERR_SHAPE, node, "updates %s do not match indices %s and data %s",
                          gz_op_shape_str (upd->ndim, upd->dims, b1, sizeof b1),
                          gz_op_shape_str (idx->ndim, idx->dims, b2, sizeof b2),
                          gz_op_shape_str (data->ndim, data->dims, b3, sizeof b3));
    }
  return GZ_OK;
}

/* Offset of tuple t in data (in elements), or -1 when out of range. */
static int64_t
tuple_offset (const GzTensor *data, const int64_t *tuple, int k, int64_t slice)
{
  int64_t off = 0;
  for (int j = 0; j < k; j++)
    {
      int64_t i = tuple[j], d = data->dims[j];
      if (i < 0)
        i += d;
      if (i < 0 || i >= d)
        return -1;
      off = off * d + i;
    }
  return off * slice;
}

static GzStatus
check_tuples (const GzNode *node, const GzTensor *const *in, const ScatterLayout *l, GzError *err)
{
  const int64_t *p = in[1]->data;
  for (int64_t t = 0; t < l->n_tuples; t++)
    if (tuple_offset (in[0], p + t * l->k, l->k, l->slice) < 0)
      return gz_op_error (err, GZ_ERR_SHAPE, node, "index tuple %lld is out of range",
                          (long long) t);
  return GZ_OK;
}

static GzStatus
scatter_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st = gz_op_need (node, in, out, 3, 1, err);
  if (st != GZ_OK)
    return st;
  ScatterLayout l;
  if ((st = scatter_layout (node, in, &l, err)) != GZ_OK)
    return st;
  if (in[1]->data != NULL && (st = check_tuples (node, in, &l, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], in[0]->dtype, in[0]->ndim, in[0]->dims);
  return GZ_OK;
}

static GzStatus
scatter_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  ScatterLayout l;
  GzStatus st = scatter_layout (node, in, &l, err);
  if (st != GZ_OK || (st = check_tuples (node, in, &l, err)) != GZ_OK)
    return st;
  int64_t n = gz_tensor_numel (in[0]);
  if (n > 0 && out[0]->data != in[0]->data)
    memmove (out[0]->data, in[0]->data, gz_op_bytes (in[0], n));
  const int64_t *p = in[1]->data;
  for (int64_t t = 0; t < l.n_tuples; t++)
    {
      int64_t off = tuple_offset (in[0], p + t * l.k, l.k, l.slice);
      int64_t src = t * l.slice;
      if (in[0]->dtype == GZ_DTYPE_INT64)
        {
          int64_t *y = (int64_t *) out[0]->data + off;
          const int64_t *u = (const int64_t *) in[2]->data + src;
          for (int64_t j = 0; j < l.slice; j++)
            y[j] = l.mode == SCATTER_NONE ? u[j]
                : l.mode == SCATTER_ADD   ? y[j] + u[j]
                                          : y[j] * u[j];
        }
      else
        {
          float *y = (float *) out[0]->data + off;
          const float *u = (const float *) in[2]->data + src;
          for (int64_t j = 0; j < l.slice; j++)
            y[j] = l.mode == SCATTER_NONE ? u[j]
                : l.mode == SCATTER_ADD   ? y[j] + u[j]
                                          : y[j] * u[j];
        }
    }
  return GZ_OK;
}

static GzStatus
scatter_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                  const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                  GzError *err)
{
  ScatterLayout l;
  GzStatus st = scatter_layout (node, in, &l, err);
  if (st != GZ_OK || (st = check_tuples (node, in, &l, err)) != GZ_OK)
    return st;
  if (l.mode == SCATTER_MUL)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "no gradient through the 'mul' reduction");
  GzTensor *dd = din[0], *du = node->n_inputs > 2 ? din[2] : NULL;
  if (dout[0] == NULL)
    {
      if (dd != NULL)
        gz_op_zero (dd);
      if (du != NULL)
        gz_op_zero (du);
      return GZ_OK;
    }
  const float *g = dout[0]->data;
  int64_t n = gz_tensor_numel (in[0]);
  if (dd != NULL && n > 0)
    memcpy (dd->data, g, (size_t) n * sizeof (float));
  int64_t n_slices = l.slice > 0 ? n / l.slice : 0;
  bool *claimed = calloc ((size_t) (n_slices > 0 ? n_slices : 1), sizeof *claimed);
  if (claimed == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  const int64_t *p = in[1]->data;
  for (int64_t t = l.n_tuples - 1; t >= 0; t--)
    {
      int64_t off = tuple_offset (in[0], p + t * l.k, l.k, l.slice);
      bool overwritten = l.mode == SCATTER_NONE && l.slice > 0 && claimed[off / l.slice];
      if (du != NULL)
        {
          float *dst = gz_tensor_f (du) + t * l.slice;
          if (overwritten)
            memset (dst, 0, (size_t) l.slice * sizeof (float));
          else if (l.slice > 0)
            memcpy (dst, g + off, (size_t) l.slice * sizeof (float));
        }
      if (l.slice > 0)
        claimed[off / l.slice] = true;
      if (dd != NULL && l.mode == SCATTER_NONE && l.slice > 0)
        memset (gz_tensor_f (dd) + off, 0, (size_t) l.slice * sizeof (float));
    }
  free (claimed);
  return GZ_OK;
}

/* ---- ScatterElements --------------------------------------------------- */

/* output = data; output[i with the axis coordinate replaced by indices[i]]
 * = (or +=, *=, max=, min=) updates[i]. Backward like ScatterND's, per
 * element (none and add only). */

static GzStatus
se_check (const GzNode *node, const GzTensor *const *in, int *axis, ScatterMode *mode, GzError *err)
{
  const GzTensor *data = in[0], *idx = in[1], *upd = in[2];
  int64_t v = gz_node_attr_int (node, "axis", 0);
  *axis = gz_axis (v, data->ndim);
  if (*axis < 0 || data->ndim == 0)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
                        (long long) v, data->ndim);
  const char *red = gz_node_attr_string (node, "reduction", "none");
  if (strcmp (red, "none") == 0)
    *mode = SCATTER_NONE;
  else if (strcmp (red, "add") == 0)
    *mode = SCATTER_ADD;
  else if (strcmp (red, "mul") == 0)
    *mode = SCATTER_MUL;
  else
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "reduction '%s' is not supported", red);
  if (idx->dtype != GZ_DTYPE_INT64)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "indices must be int64");
  if (upd->dtype != data->dtype)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "updates and data differ in data type");
  bool ok = idx->ndim == data->ndim && upd->ndim == idx->ndim;
  for (int a = 0; ok && a < idx->ndim; a++)
    ok = upd->dims[a] == idx->dims[a] && (a == *axis || idx->dims[a] <= data->dims[a]);
  if (!ok)
    {
      char b1[128], b2[128];
      return gz_op_error (err, GZ_ERR_SHAPE, node, "indices and updates %s do not fit data %s",
                          gz_op_shape_str (idx->ndim, idx->dims, b1, sizeof b1),
                          gz_op_shape_str (data->ndim, data->dims, b2, sizeof b2));
    }
  return GZ_OK;
}

/* Data offsets of every index element (malloc'ed), or an error when one is
 * out of range. */
static GzStatus
se_offsets (const GzNode *node, const GzTensor *data, const GzTensor *idx, int axis,
            int64_t **offsets, GzError *err)
{
  int64_t total = gz_tensor_numel (idx), n = data->dims[axis];
  int64_t strides[GZ_MAX_DIMS], pos[GZ_MAX_DIMS] = { 0 };
  int64_t *off = malloc ((size_t) (total > 0 ? total : 1) * sizeof *off);
  if (off == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  gz_op_strides (data->ndim, data->dims, strides);
  const int64_t *p = idx->data;
  for (int64_t k = 0; k < total; k++)
    {
      int64_t i = p[k] < 0 ? p[k] + n : p[k];
      if (i < 0 || i >= n)
        {
          free (off);
          return gz_op_error (err, GZ_ERR_SHAPE, node, "index %lld is out of range for size %lld",
                              (long long) p[k], (long long) n);
        }
      int64_t o = 0;
      for (int a = 0; a < data->ndim; a++)
        o += (a == axis ? i : pos[a]) * strides[a];
      off[k] = o;
      for (int a = data->ndim - 1; a >= 0; a--)
        {
          if (++pos[a] < idx->dims[a])
            break;
          pos[a] = 0;
        }
    }
  *offsets = off;
  return GZ_OK;
}

static GzStatus
se_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st = gz_op_need (node, in, out, 3, 1, err);
  int axis;
  ScatterMode mode;
  if (st != GZ_OK || (st = se_check (node, in, &axis, &mode, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], in[0]->dtype, in[0]->ndim, in[0]->dims);
  return GZ_OK;
}

static GzStatus
se_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int axis;
  ScatterMode mode;
  int64_t *off;
  GzStatus st = se_check (node, in, &axis, &mode, err);
  if (st != GZ_OK || (st = se_offsets (node, in[0], in[1], axis, &off, err)) != GZ_OK)
    return st;
  int64_t n = gz_tensor_numel (in[0]), total = gz_tensor_numel (in[1]);
  if (n > 0 && out[0]->data != in[0]->data)
    memmove (out[0]->data, in[0]->data, gz_op_bytes (in[0], n));
  for (int64_t k = 0; k < total; k++)
    {
      if (in[0]->dtype == GZ_DTYPE_INT64)
        {
          int64_t *y = (int64_t *) out[0]->data + off[k], u = ((const int64_t *) in[2]->data)[k];
          *y = mode == SCATTER_NONE ? u : mode == SCATTER_ADD ? *y + u : *y * u;
        }
      else
        {
          float *y = (float *) out[0]->data + off[k], u = ((const float *) in[2]->data)[k];
          *y = mode == SCATTER_NONE ? u : mode == SCATTER_ADD ? *y + u : *y * u;
        }
    }
  free (off);
  return GZ_OK;
}

static GzStatus
se_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
             const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode, GzError *err)
{
  int axis;
  ScatterMode mode;
  int64_t *off;
  GzStatus st = se_check (node, in, &axis, &mode, err);
  if (st != GZ_OK)
    return st;
  if (mode == SCATTER_MUL)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "no gradient through the 'mul' reduction");
  GzTensor *dd = din[0], *du = node->n_inputs > 2 ? din[2] : NULL;
  if (dd != NULL)
    gz_op_zero (dd);
  if (du != NULL)
    gz_op_zero (du);
  if (dout[0] == NULL)
    return GZ_OK;
  if ((st = se_offsets (node, in[0], in[1], axis, &off, err)) != GZ_OK)
    return st;
  int64_t n = gz_tensor_numel (in[0]), total = gz_tensor_numel (in[1]);
  const float *g = dout[0]->data;
  bool *claimed = calloc ((size_t) (n > 0 ? n : 1), sizeof *claimed);
  if (claimed == NULL)
    {
      free (off);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  if (dd != NULL && n > 0)
    memcpy (dd->data, g, (size_t) n * sizeof (float));
  /* last write wins without reduction: walk backwards, first claim takes it */
  for (int64_t k = total - 1; k >= 0; k--)
    {
      bool taken = mode == SCATTER_NONE && claimed[off[k]];
      if (du != NULL)
        gz_tensor_f (du)[k] = taken ? 0.0f : g[off[k]];
      claimed[off[k]] = true;
    }
  if (dd != NULL && mode == SCATTER_NONE)
    for (int64_t i = 0; i < n; i++)
      if (claimed[i])
        gz_tensor_f (dd)[i] = 0.0f;
  free (claimed);
  free (off);
  return GZ_OK;
}

const GzOpDef gz_op_scatter[] = {
  { "ScatterND", 11, NULL, scatter_infer, scatter_forward, scatter_backward, NULL },
  { "ScatterElements", 11, NULL, se_infer, se_forward, se_backward, NULL },
  GZ_OP_END,
};
