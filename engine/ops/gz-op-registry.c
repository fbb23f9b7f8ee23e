/* gz-op-registry.c — the operators known to the engine: one table per operator file
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "gz-op.h"

const GzOpDef *const gz_op_tables[] = {
  gz_op_conv,     gz_op_batchnorm, gz_op_instancenorm,   gz_op_layernorm, gz_op_lrn,
  gz_op_gemm,     gz_op_matmul,    gz_op_pool,           gz_op_unary,     gz_op_binary,
  gz_op_variadic, gz_op_mod,       gz_op_logic,          gz_op_where,     gz_op_reduce,
  gz_op_softmax,  gz_op_argmax,    gz_op_topk,           gz_op_cumsum,    gz_op_trilu,
  gz_op_reshape,  gz_op_transpose, gz_op_concat,         gz_op_split,     gz_op_slice,
  gz_op_gather,   gz_op_scatter,   gz_op_constant,       gz_op_expand,    gz_op_tile,
  gz_op_pad,      gz_op_cast,      gz_op_depth_to_space, gz_op_resize,    gz_op_image_scaler,
  NULL,
};

const GzOpDef *
gz_op_lookup (const char *op_type)
{
  for (const GzOpDef *const *table = gz_op_tables; *table != NULL; table++)
    for (const GzOpDef *op = *table; op->op_type != NULL; op++)
      if (strcmp (op->op_type, op_type) == 0)
        return op;
  return NULL;
}
