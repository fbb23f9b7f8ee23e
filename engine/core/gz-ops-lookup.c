/* gz-ops-lookup.c — finds an operator by ONNX op type across the families
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "gz-ops.h"

const GzOpDef *
gz_op_lookup (const char *op_type)
{
  const GzOpDef *const *families[] = { gz_ops_nn, gz_ops_tensor };
  for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
    for (const GzOpDef *const *op = families[f]; *op != NULL; op++)
      if (strcmp ((*op)->op_type, op_type) == 0)
        return *op;
  return NULL;
}
