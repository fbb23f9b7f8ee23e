/* gz-tensor-ops.h — helpers shared by the tensor operators (shape checks, strided copies)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Private to engine/ops/tensor/. Most tensor operators only move elements, so
 * they are written once over "element size" (4 bytes for float, 8 for int64)
 * with per-axis strides: a transpose, a slice and a broadcast are all a strided
 * gather, and their backward passes are the matching strided scatter-add.
 */
#pragma once

#include <stdlib.h>

#include "gz-graph.h"

/* Fills err with "<OpType> '<node name>': <message>" and returns code. */
GzStatus gz_tops_error (GzError *err, GzStatus code, const GzNode *node, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* Writes "[2,3,4]" into buf (always NUL-terminated). Returns buf. */
const char *gz_tops_shape_str (int ndim, const int64_t *dims, char *buf, size_t len);

/* Validates an output shape: rank within GZ_MAX_DIMS, dims >= 0, element count
 * without overflow. GZ_ERR_SHAPE / GZ_ERR_LIMIT naming the node. */
GzStatus gz_tops_check_shape (const GzNode *node, int ndim, const int64_t *dims, GzError *err);

/* Checks that the first n_required inputs are present, every present input
 * has a sane rank and type, output 0 exists and there are at most max_outputs
 * outputs (-1: any): a malformed file must give an error, never a crash.
 * Every infer calls it first. */
GzStatus gz_tops_need (const GzNode *node, const GzTensor *const *in, GzTensor *const *out,
                       int n_required, int max_outputs, GzError *err);

/* Input i of the node, or NULL when omitted or out of range. */
static inline const GzTensor *
gz_tops_input (const GzNode *node, const GzTensor *const *in, int i)
{
  return i < node->n_inputs && node->inputs[i] >= 0 ? in[i] : NULL;
}

/* Reads a constant int64 tensor (scalar or 1-D) given as input `what`:
 * GZ_ERR_UNSUPPORTED when its data is not known at load time (shape computed
 * at run time), GZ_ERR_SHAPE when it is not int64 or has rank > 1. */
GzStatus gz_tops_const_ints (const GzNode *node, const GzTensor *t, const char *what,
                             const int64_t **values, int *n, GzError *err);

/* Reads one scalar (any single-element float or int64 tensor) as a double. */
double gz_tops_scalar (const GzTensor *t);

/* C-order strides in elements. */
void gz_tops_strides (int ndim, const int64_t *dims, int64_t *strides);

/* Strides of a tensor broadcast (numpy rules, right-aligned) to out's rank:
 * 0 where the input has size 1 or no axis. */
void gz_tops_broadcast_strides (int ndim, const int64_t *dims, int out_ndim,
                                const int64_t *out_dims, int64_t *strides);

/* Views may split each axis in two (Tile: repeat × size). */
#define GZ_TOPS_MAX_VIEW_DIMS (2 * GZ_MAX_DIMS)

/* dst (contiguous, shape dims) [k] = src[base + sum_a idx_a * strides[a]].
 * elsize is 4 or 8; ndim up to GZ_TOPS_MAX_VIEW_DIMS. */
void gz_tops_gather (size_t elsize, int ndim, const int64_t *dims, const void *src, int64_t base,
                     const int64_t *strides, void *dst);

/* dst[base + sum_a idx_a * strides[a]] += src[k] for every k of the contiguous
 * float src of shape dims (dst is not cleared). */
void gz_tops_scatter_add (int ndim, const int64_t *dims, const float *src, float *dst, int64_t base,
                          const int64_t *strides);

/* Common free_params for plain calloc'ed params. */
void gz_tops_free (void *params);
/* Allocates zeroed params of `size` bytes into node->params. */
GzStatus gz_tops_alloc_params (GzNode *node, size_t size, GzError *err);

/* Copies/zero helpers */
void gz_tops_zero (GzTensor *t);

/* Size in bytes of n elements of t's dtype (n already overflow-checked). */
static inline size_t
gz_tops_bytes (const GzTensor *t, int64_t n)
{
  return (size_t) n * gz_dtype_size (t->dtype);
}

/* Output j, or NULL when the node does not produce it. */
static inline GzTensor *
gz_tops_output (const GzNode *node, GzTensor *const *out, int j)
{
  return j < node->n_outputs && node->outputs[j] >= 0 ? out[j] : NULL;
}

/* The operator definitions, listed in registry.c. */
extern const GzOpDef gz_tops_reshape, gz_tops_flatten, gz_tops_squeeze, gz_tops_unsqueeze,
    gz_tops_identity, gz_tops_dropout, gz_tops_transpose, gz_tops_concat, gz_tops_split,
    gz_tops_slice, gz_tops_gather_op, gz_tops_shape, gz_tops_constant, gz_tops_constant_of_shape,
    gz_tops_range, gz_tops_expand, gz_tops_pad, gz_tops_cast, gz_tops_softmax, gz_tops_log_softmax,
    gz_tops_reduce_mean, gz_tops_reduce_sum, gz_tops_reduce_max, gz_tops_layer_norm, gz_tops_where,
    gz_tops_equal, gz_tops_less, gz_tops_less_equal, gz_tops_greater, gz_tops_greater_equal,
    gz_tops_and, gz_tops_or, gz_tops_xor, gz_tops_not, gz_tops_tile, gz_tops_scatter_nd,
    gz_tops_size, gz_tops_reduce_min, gz_tops_reduce_sum_square, gz_tops_reduce_l1,
    gz_tops_reduce_l2, gz_tops_argmax, gz_tops_argmin, gz_tops_gather_elements, gz_tops_reduce_prod,
    gz_tops_reduce_log_sum, gz_tops_reduce_log_sum_exp, gz_tops_cumsum, gz_tops_trilu,
    gz_tops_depth_to_space, gz_tops_space_to_depth, gz_tops_resize, gz_tops_upsample,
    gz_tops_hardmax, gz_tops_cast_like, gz_tops_topk, gz_tops_gather_nd, gz_tops_scatter_elements,
    gz_tops_eye_like, gz_tops_one_hot, gz_tops_mod;
