/* gz-op-cast.c — Cast between float32 and int64 (the engine's two data types)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * float → int64 truncates toward zero like ONNX/C; NaN gives 0 and values
 * beyond int64's range saturate (C leaves those undefined). The gradient
 * passes through float → float only; through an integer it is zero.
 */
#include <math.h>
#include <string.h>

#include "gz-tensor-ops.h"

static GzStatus
cast_target (const GzNode *node, GzDType *dtype, GzError *err)
{
  const GzAttr *a = gz_node_attr (node, "to");
  if (a == NULL || a->type != GZ_ATTR_INT)
    return gz_tops_error (err, GZ_ERR_SHAPE, node, "the 'to' attribute is required");
  if (a->i != GZ_DTYPE_FLOAT && a->i != GZ_DTYPE_INT64)
    return gz_tops_error (err, GZ_ERR_UNSUPPORTED, node,
                          "casting to ONNX data type %lld is not supported (only float32 = 1 "
                          "and int64 = 7)", (long long) a->i);
  *dtype = (GzDType) a->i;
  return GZ_OK;
}

static GzStatus
cast_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_tops_need (node, in, out, 1, err);
  if (need != GZ_OK)
    return need;
  GzDType to = GZ_DTYPE_FLOAT;
  GzStatus st = cast_target (node, &to, err);
  if (st != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], to, in[0]->ndim, in[0]->dims);
  return GZ_OK;
}

static GzStatus
cast_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int64_t n = gz_tensor_numel (in[0]);
  GzDType from = in[0]->dtype, to = out[0]->dtype;
  if (from == to)
    {
      if (n > 0)
        memmove (out[0]->data, in[0]->data, gz_tops_bytes (in[0], n));
    }
  else if (from == GZ_DTYPE_INT64)
    {
      const int64_t *s = in[0]->data;
      float *d = out[0]->data;
      for (int64_t i = 0; i < n; i++)
        d[i] = (float) s[i];
    }
  else
    {
      const float *s = in[0]->data;
      int64_t *d = out[0]->data;
      for (int64_t i = 0; i < n; i++)
        {
          float v = s[i];
          /* 2^63 is exactly representable; anything >= it saturates */
          d[i] = isnan (v) ? 0
                 : v >= 9223372036854775808.0f ? INT64_MAX
                 : v < -9223372036854775808.0f ? INT64_MIN
                 : (int64_t) v;
        }
    }
  return GZ_OK;
}

static GzStatus
cast_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
               const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
               GzError *err)
{
  if (din[0] == NULL)
    return GZ_OK;
  int64_t n = gz_tensor_numel (din[0]);
  if (dout[0] != NULL && out[0]->dtype == GZ_DTYPE_FLOAT && in[0]->dtype == GZ_DTYPE_FLOAT)
    {
      if (n > 0)
        memmove (din[0]->data, dout[0]->data, (size_t) n * sizeof (float));
    }
  else
    gz_tops_zero (din[0]);
  return GZ_OK;
}

const GzOpDef gz_tops_cast = {
  "Cast", 6, NULL, cast_infer, cast_forward, cast_backward, NULL,
};
