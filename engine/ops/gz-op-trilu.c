/* gz-op-trilu.c — Trilu: the upper or lower triangle of the last two axes
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Keeps the upper (j - i >= k) or lower (j - i <= k) triangle; the backward
 * applies the same mask.
 */
#include <string.h>

#include "gz-op.h"

static GzStatus
trilu_k (const GzNode *node, const GzTensor *const *in, int64_t *k, GzError *err)
{
  const GzTensor *kt = gz_op_input (node, in, 1);
  *k = 0;
  if (kt == NULL)
    return GZ_OK;
  if (gz_tensor_numel (kt) != 1 || kt->dtype != GZ_DTYPE_INT64)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "k must be an int64 scalar");
  if (kt->data == NULL)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "k is computed at run time");
  *k = *(const int64_t *) kt->data;
  return GZ_OK;
}

static GzStatus
trilu_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st = gz_op_need (node, in, out, 1, 1, err);
  int64_t k;
  if (st != GZ_OK || (st = trilu_k (node, in, &k, err)) != GZ_OK)
    return st;
  if (in[0]->ndim < 2)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "input rank %d is below 2", in[0]->ndim);
  gz_tensor_set_shape (out[0], in[0]->dtype, in[0]->ndim, in[0]->dims);
  return GZ_OK;
}

/* dst = src where kept, else 0; elsize 4 or 8. */
static GzStatus
trilu_apply (const GzNode *node, const GzTensor *const *in, const GzTensor *src, GzTensor *dst,
             GzError *err)
{
  int64_t k;
  GzStatus st = trilu_k (node, in, &k, err);
  if (st != GZ_OK)
    return st;
  bool upper = gz_node_attr_int (node, "upper", 1) != 0;
  int r = src->ndim;
  int64_t rows = src->dims[r - 2], cols = src->dims[r - 1];
  int64_t mats = gz_shape_numel (r - 2, src->dims);
  size_t es = gz_dtype_size (src->dtype);
  for (int64_t m = 0; m < mats; m++)
    for (int64_t i = 0; i < rows; i++)
      for (int64_t j = 0; j < cols; j++)
        {
          /* j - i cannot overflow: both are below 2^62 */
          bool keep = upper ? j - i >= k : j - i <= k;
          size_t at = (size_t) ((m * rows + i) * cols + j) * es;
          if (keep)
            memcpy ((char *) dst->data + at, (const char *) src->data + at, es);
          else
            memset ((char *) dst->data + at, 0, es);
        }
  return GZ_OK;
}

static GzStatus
trilu_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  return trilu_apply (node, in, in[0], out[0], err);
}

static GzStatus
trilu_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                GzError *err)
{
  if (!gz_op_backward_begin (din, dout, false))
    return GZ_OK;
  return trilu_apply (node, in, dout[0], din[0], err);
}

const GzOpDef gz_op_trilu[] = {
  { "Trilu", 14, NULL, trilu_infer, trilu_forward, trilu_backward, NULL },
  GZ_OP_END,
};
