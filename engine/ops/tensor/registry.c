/* registry.c — the tensor operators known to the engine
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gz-ops.h"
#include "gz-tensor-ops.h"

const GzOpDef *const gz_ops_tensor[] = {
  &gz_tops_reshape,
  &gz_tops_flatten,
  &gz_tops_squeeze,
  &gz_tops_unsqueeze,
  &gz_tops_identity,
  &gz_tops_dropout,
  &gz_tops_transpose,
  &gz_tops_concat,
  &gz_tops_split,
  &gz_tops_slice,
  &gz_tops_gather_op,
  &gz_tops_shape,
  &gz_tops_constant,
  &gz_tops_constant_of_shape,
  &gz_tops_range,
  &gz_tops_expand,
  &gz_tops_pad,
  &gz_tops_cast,
  &gz_tops_softmax,
  &gz_tops_log_softmax,
  &gz_tops_reduce_mean,
  &gz_tops_reduce_sum,
  &gz_tops_reduce_max,
  &gz_tops_layer_norm,
  &gz_tops_where,
  &gz_tops_equal,
  &gz_tops_size,
  &gz_tops_reduce_min,
  &gz_tops_reduce_sum_square,
  &gz_tops_reduce_l1,
  &gz_tops_reduce_l2,
  NULL,
};
