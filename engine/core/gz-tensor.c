/* gz-tensor.c — tensors and the shape arithmetic every operator shares
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "gz-graph.h"

size_t
gz_dtype_size (GzDType dtype)
{
  return dtype == GZ_DTYPE_INT64 ? sizeof (int64_t) : sizeof (float);
}

/* -1 on overflow or a negative dimension. */
int64_t
gz_shape_numel (int ndim, const int64_t *dims)
{
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    {
      if (dims[i] < 0)
        return -1;
      if (dims[i] != 0 && n > INT64_MAX / dims[i])
        return -1;
      n *= dims[i];
    }
  return n;
}

int64_t
gz_tensor_numel (const GzTensor *t)
{
  return gz_shape_numel (t->ndim, t->dims);
}

void
gz_tensor_set_shape (GzTensor *out, GzDType dtype, int ndim, const int64_t *dims)
{
  out->dtype = dtype;
  out->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    out->dims[i] = dims[i];
}

GzTensor *
gz_tensor_new (GzDType dtype, int ndim, const int64_t *dims, GzError *err)
{
  if (ndim < 0 || ndim > GZ_MAX_DIMS)
    {
      gz_error_set (err, GZ_ERR_LIMIT, "tensor rank %d exceeds the maximum of %d", ndim,
                    GZ_MAX_DIMS);
      return NULL;
    }
  int64_t n = gz_shape_numel (ndim, dims);
  if (n < 0 || (uint64_t) n > SIZE_MAX / 16)
    {
      gz_error_set (err, GZ_ERR_LIMIT, "tensor shape has a negative dimension or overflows");
      return NULL;
    }
  GzTensor *t = calloc (1, sizeof *t);
  if (t == NULL)
    {
      gz_error_set (err, GZ_ERR_NOMEM, "out of memory allocating a tensor header");
      return NULL;
    }
  gz_tensor_set_shape (t, dtype, ndim, dims);
  t->data = calloc (n > 0 ? (size_t) n : 1, gz_dtype_size (dtype));
  if (t->data == NULL)
    {
      free (t);
      gz_error_set (err, GZ_ERR_NOMEM, "out of memory allocating %lld elements", (long long) n);
      return NULL;
    }
  t->owns_data = true;
  return t;
}

GzTensor *
gz_tensor_copy (const GzTensor *src, GzError *err)
{
  GzTensor *t = gz_tensor_new (src->dtype, src->ndim, src->dims, err);
  if (t != NULL && src->data != NULL)
    memcpy (t->data, src->data, (size_t) gz_tensor_numel (src) * gz_dtype_size (src->dtype));
  return t;
}

void
gz_tensor_free (GzTensor *t)
{
  if (t == NULL)
    return;
  if (t->owns_data)
    free (t->data);
  free (t);
}

GzStatus
gz_broadcast_shape (int na, const int64_t *a, int nb, const int64_t *b, int *nout, int64_t *out,
                    GzError *err)
{
  int n = na > nb ? na : nb;
  for (int i = 0; i < n; i++)
    {
      int64_t da = i < n - na ? 1 : a[i - (n - na)];
      int64_t db = i < n - nb ? 1 : b[i - (n - nb)];
      if (da == db || db == 1)
        out[i] = da;
      else if (da == 1)
        out[i] = db;
      else
        return gz_error_set (err, GZ_ERR_SHAPE,
                             "shapes cannot be broadcast: dimension %d is %lld and %lld", i,
                             (long long) da, (long long) db);
    }
  *nout = n;
  return GZ_OK;
}

int
gz_axis (int64_t axis, int ndim)
{
  if (axis < -ndim || axis >= (ndim > 0 ? ndim : 1))
    return -1;
  return (int) (axis < 0 ? axis + ndim : axis);
}
