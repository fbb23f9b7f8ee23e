/* gz-op-cast.c — Cast (and CastLike) into the engine's two storage types
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Like the loader, the engine keeps every tensor as float32 or int64: Cast to
 * FLOAT or DOUBLE gives float32; Cast to FLOAT16 gives float32 values rounded
 * to half precision (nearest even, subnormals, ±inf beyond 65504), what a
 * float16 tensor would hold (CastLike cannot: its float16 target is stored as
 * float32, so it does not narrow);
 * Cast to INT64, INT32 (values wrapped/saturated to 32 bits) or BOOL (0/1)
 * gives int64. float → integer truncates toward zero like ONNX/C; NaN gives 0
 * and values beyond the range saturate (C leaves those undefined). Other
 * targets are refused. The gradient passes float → float only.
 */
#include <math.h>
#include <string.h>

#include "gz-op.h"

enum
{
  ONNX_FLOAT = 1,
  ONNX_INT32 = 6,
  ONNX_INT64 = 7,
  ONNX_BOOL = 9,
  ONNX_FLOAT16 = 10,
  ONNX_DOUBLE = 11,
};

typedef struct
{
  int to; /* the ONNX data type asked for */
  GzDType dtype; /* how it is stored */
} CastParams;

static GzStatus
cast_init (GzNode *node, int64_t opset, GzError *err)
{
  const GzAttr *a = gz_node_attr (node, "to");
  if (a == NULL || a->type != GZ_ATTR_INT)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "the 'to' attribute is required");
  GzDType dtype;
  switch (a->i)
    {
      case ONNX_FLOAT:
      case ONNX_FLOAT16:
      case ONNX_DOUBLE:
        dtype = GZ_DTYPE_FLOAT;
        break;
      case ONNX_INT64:
      case ONNX_INT32:
      case ONNX_BOOL:
        dtype = GZ_DTYPE_INT64;
        break;
      default:
        return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                            "casting to ONNX data type %lld is not supported (only float, "
                            "double, float16, int64, int32 and bool)",
                            (long long) a->i);
    }
  GzStatus st = gz_op_alloc_params (node, sizeof (CastParams), err);
  if (st != GZ_OK)
    return st;
  CastParams *p = node->params;
  p->to = (int) a->i;
  p->dtype = dtype;
  return GZ_OK;
}

/* CastLike: the target is the second input's type (as stored: float or int64). */
static GzStatus
cast_like_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 2, 1, err);
  if (need != GZ_OK)
    return need;
  gz_tensor_set_shape (out[0], in[1]->dtype, in[0]->ndim, in[0]->dims);
  return GZ_OK;
}

static GzStatus
cast_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  const CastParams *p = node->params;
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_ARGUMENT, node, "was not initialised");
  gz_tensor_set_shape (out[0], p->dtype, in[0]->ndim, in[0]->dims);
  return GZ_OK;
}

/* v rounded to the nearest IEEE half (ties to even), as a float. */
static inline float
round_to_half (float v)
{
  float a = fabsf (v);
  if (!(a < 65520.0f)) /* NaN, inf, and what rounds beyond 65504 */
    return isnan (v) ? v : copysignf (INFINITY, v);
  int k;
  frexpf (a, &k); /* a = m·2^k, m in [0.5, 1): 11 significant bits → step 2^(k-11) */
  int step = k - 11 < -24 ? -24 : k - 11; /* subnormal halves: step 2^-24 */
  /* scaling by powers of two is exact; nearbyintf rounds ties to even */
  return copysignf (ldexpf (nearbyintf (ldexpf (a, -step)), step), v);
}

static inline int64_t
float_to_int64 (float v)
{
  /* 2^63 is exactly representable; anything >= it saturates */
  return isnan (v)                  ? 0
      : v >= 9223372036854775808.0f ? INT64_MAX
      : v < -9223372036854775808.0f ? INT64_MIN
                                    : (int64_t) v;
}

/* The stored int64 value of an integer of ONNX type `to`. */
static inline int64_t
narrow (int64_t v, int to)
{
  if (to == ONNX_BOOL)
    return v != 0;
  if (to == ONNX_INT32)
    return (int64_t) (int32_t) (uint32_t) (uint64_t) v; /* two's complement wrap */
  return v;
}

static GzStatus
cast_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  CastParams like;
  const CastParams *p = node->params;
  if (p == NULL)
    {
      /* CastLike: the target type comes from its second input */
      like.dtype = out[0]->dtype;
      like.to = like.dtype == GZ_DTYPE_FLOAT ? ONNX_FLOAT : ONNX_INT64;
      p = &like;
    }
  int64_t n = gz_tensor_numel (in[0]);
  GzDType from = in[0]->dtype;
  if (p->dtype == GZ_DTYPE_FLOAT)
    {
      float *d = out[0]->data;
      if (from == GZ_DTYPE_FLOAT)
        {
          if (n > 0 && out[0]->data != in[0]->data)
            memmove (d, in[0]->data, (size_t) n * sizeof (float));
        }
      else
        for (int64_t i = 0; i < n; i++)
          d[i] = (float) ((const int64_t *) in[0]->data)[i];
      if (p->to == ONNX_FLOAT16)
        for (int64_t i = 0; i < n; i++)
          d[i] = round_to_half (d[i]);
      return GZ_OK;
    }
  int64_t *d = out[0]->data;
  for (int64_t i = 0; i < n; i++)
    {
      if (from == GZ_DTYPE_INT64)
        d[i] = narrow (((const int64_t *) in[0]->data)[i], p->to);
      else
        {
          float v = ((const float *) in[0]->data)[i];
          if (p->to == ONNX_BOOL)
            d[i] = v != 0.0f;
          else if (p->to == ONNX_INT32)
            d[i] = isnan (v)          ? 0
                : v >= 2147483647.0f  ? INT32_MAX
                : v <= -2147483648.0f ? INT32_MIN
                                      : (int64_t) v;
          else
            d[i] = float_to_int64 (v);
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
    gz_op_zero (din[0]);
  return GZ_OK;
}

const GzOpDef gz_op_cast[] = {
  { "Cast", 6, cast_init, cast_infer, cast_forward, cast_backward, gz_op_free_params },
  { "CastLike", 15, NULL, cast_like_infer, cast_forward, cast_backward, NULL },
  GZ_OP_END,
};
