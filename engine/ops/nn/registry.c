/* registry.c — the nn operators known to the engine
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gz-ops.h"
#include "gz-nn.h"

const GzOpDef *const gz_ops_nn[] = {
  &gz_nn_op_conv,
  &gz_nn_op_batchnorm,
  &gz_nn_op_gemm,
  &gz_nn_op_matmul,
  &gz_nn_op_maxpool,
  &gz_nn_op_averagepool,
  &gz_nn_op_globalaveragepool,
  &gz_nn_op_globalmaxpool,
  &gz_nn_op_relu,
  &gz_nn_op_leakyrelu,
  &gz_nn_op_clip,
  &gz_nn_op_sigmoid,
  &gz_nn_op_hardsigmoid,
  &gz_nn_op_hardswish,
  &gz_nn_op_tanh,
  &gz_nn_op_erf,
  &gz_nn_op_sqrt,
  &gz_nn_op_exp,
  &gz_nn_op_log,
  &gz_nn_op_neg,
  &gz_nn_op_abs,
  &gz_nn_op_reciprocal,
  &gz_nn_op_add,
  &gz_nn_op_sub,
  &gz_nn_op_mul,
  &gz_nn_op_div,
  &gz_nn_op_pow,
  &gz_nn_op_prelu,
  NULL,
};
