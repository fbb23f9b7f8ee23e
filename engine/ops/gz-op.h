/* gz-op.h — the operator toolkit: registry, checks, vectors, threads, broadcast, windows
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Private to engine/ops/. Every operator file (gz-op-<name>.c) exports one
 * table of GzOpDef rows, listed in gz-op-registry.c; a family whose members
 * share one kernel (the unary activations, the reductions, the binary
 * arithmetic, the comparisons) is one table whose rows differ only in op_type
 * and `data`. Float operators are NCHW; spatial operators (Conv, pooling)
 * work on a 2-D geometry and 1-D inputs map onto it with H = 1. Element-wise
 * operators, broadcasts and strided views (transpose, slice, tile) all walk
 * one iterator, GzOpBcast: the output shape with, per operand, a stride
 * (0 along broadcast axes), adjacent axes coalesced so that the innermost
 * loop is as long as possible.
 */
#pragma once

#include <stdlib.h>
#include <string.h>

#include "gz-graph.h"
#include "gz-blas.h"
#include "gz-threads.h"

/* ---- The registry ------------------------------------------------------ */

/* Ends every operator table. */
#define GZ_OP_END   \
  {                 \
    .op_type = NULL \
  }

/* The operator tables, one per file, listed in gz-op-registry.c. */
extern const GzOpDef gz_op_argmax[], gz_op_batchnorm[], gz_op_binary[], gz_op_cast[],
    gz_op_compare[], gz_op_concat[], gz_op_constant[], gz_op_conv[], gz_op_cumsum[],
    gz_op_depth_to_space[], gz_op_expand[], gz_op_gather[], gz_op_gemm[], gz_op_image_scaler[],
    gz_op_instancenorm[], gz_op_layernorm[], gz_op_logic[], gz_op_lrn[], gz_op_matmul[],
    gz_op_mod[], gz_op_pad[], gz_op_pool[], gz_op_reduce[], gz_op_reshape[], gz_op_resize[],
    gz_op_scatter[], gz_op_slice[], gz_op_softmax[], gz_op_split[], gz_op_tile[], gz_op_topk[],
    gz_op_transpose[], gz_op_trilu[], gz_op_unary[], gz_op_variadic[], gz_op_where[];

/* All tables, NULL-terminated (for tests that walk every operator). */
extern const GzOpDef *const gz_op_tables[];

/* The operator for an ONNX op type (default domain), or NULL. */
const GzOpDef *gz_op_lookup (const char *op_type);

/* ---- Errors and checks ------------------------------------------------- */

/* Fills err with "<OpType> '<node name>': <message>" and returns code. */
GzStatus gz_op_error (GzError *err, GzStatus code, const GzNode *node, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* Writes "[2,3,4]" into buf (always NUL-terminated) and returns buf. */
const char *gz_op_shape_str (int ndim, const int64_t *dims, char *buf, size_t len);

/* Input i, or NULL when omitted or beyond the node's inputs. */
static inline const GzTensor *
gz_op_input (const GzNode *node, const GzTensor *const *in, int i)
{
  return i < node->n_inputs && node->inputs[i] >= 0 ? in[i] : NULL;
}

/* Output j, or NULL when the node does not produce it. */
static inline GzTensor *
gz_op_output (const GzNode *node, GzTensor *const *out, int j)
{
  return j < node->n_outputs && node->outputs[j] >= 0 ? out[j] : NULL;
}

/* Checks that the first n_required inputs are present, every present input
 * has a sane rank and type, output 0 exists and there are at most max_outputs
 * outputs (-1: any): a malformed file must give an error, never a crash. */
GzStatus gz_op_need (const GzNode *node, const GzTensor *const *in, GzTensor *const *out,
                     int n_required, int max_outputs, GzError *err);

/* Input i must be present and float32; `what` names it in the message. */
GzStatus gz_op_need_float (const GzNode *node, const GzTensor *const *in, int i, const char *what,
                           GzError *err);

/* An output shape: rank within GZ_MAX_DIMS, dims >= 0, element count without
 * overflow and small enough for size_t byte counts. */
GzStatus gz_op_check_shape (const GzNode *node, int ndim, const int64_t *dims, GzError *err);

/* Fails unless every value fits in an int (BLAS dimensions). */
GzStatus gz_op_check_int (const GzNode *node, const char *what, int64_t v, GzError *err);

/* Reads a constant int64 tensor (scalar or 1-D) given as input `what`:
 * GZ_ERR_UNSUPPORTED when its data is not known at load time (shape computed
 * at run time), GZ_ERR_SHAPE when it is not int64 or has rank > 1. */
GzStatus gz_op_const_ints (const GzNode *node, const GzTensor *t, const char *what,
                           const int64_t **values, int *n, GzError *err);

/* Reads one scalar (any single-element float or int64 tensor) as a double. */
double gz_op_scalar (const GzTensor *t);

/* Element off of t as a boolean: int64 0/1 (the engine's booleans) or a
 * float, true when non-zero. */
static inline bool
gz_op_truth (const GzTensor *t, int64_t off)
{
  return t->dtype == GZ_DTYPE_INT64 ? ((const int64_t *) t->data)[off] != 0
                                    : ((const float *) t->data)[off] != 0.0f;
}

/* ---- Memory ------------------------------------------------------------ */

/* malloc of n floats with an overflow check; NULL (err set) on failure. */
float *gz_op_alloc_floats (const GzNode *node, int64_t n, GzError *err);

/* Allocates zeroed params of `size` bytes into node->params. */
GzStatus gz_op_alloc_params (GzNode *node, size_t size, GzError *err);

/* free_params for params that are one plain allocation. */
void gz_op_free_params (void *params);

/* Sets every element of t to zero. */
void gz_op_zero (GzTensor *t);

/* The start of a backward whose gradient goes to input 0 only: false when
 * there is nothing more to do (no gradient asked for, or none flowing in:
 * din[0] is then zero). accumulates: the caller adds into din[0], which is
 * zeroed first in any case. */
static inline bool
gz_op_backward_begin (GzTensor *const *din, const GzTensor *const *dout, bool accumulates)
{
  if (din[0] == NULL)
    return false;
  if (accumulates || dout[0] == NULL)
    gz_op_zero (din[0]);
  return dout[0] != NULL;
}

/* Size in bytes of n elements of t's dtype (n already overflow-checked). */
static inline size_t
gz_op_bytes (const GzTensor *t, int64_t n)
{
  return (size_t) n * gz_dtype_size (t->dtype);
}

/* ---- Vectors ----------------------------------------------------------- */

/* Memory-bound element loops: compiled for AVX-512, AVX2 and baseline x86-64,
 * the best picked when the program loads (GCC function multi-versioning).
 * ISO C mode keeps -ffp-contract=off, so every clone gives the same bits. */
/* Not under ThreadSanitizer: GCC instruments the clones' resolver, which the
 * dynamic loader runs before the TSan runtime exists (a crash at load). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(__SANITIZE_THREAD__)
#define GZ_OP_VECTOR_CLONES __attribute__ ((target_clones ("avx512f", "avx2", "default")))
#else
#define GZ_OP_VECTOR_CLONES
#endif

/* ---- Threads ----------------------------------------------------------- */

/* A thread costs tens of microseconds to start: split a loop only when each
 * thread gets at least this many element operations. */
#define GZ_OP_MIN_WORK 262144

/* min_chunk for gz_parallel_for over items that each cost `work` operations
 * (a double: products of sizes used only as an estimate never overflow). */
static inline long
gz_op_chunk (double work)
{
  return work >= GZ_OP_MIN_WORK ? 1 : (long) (1 + GZ_OP_MIN_WORK / (work >= 1 ? work : 1));
}

/* ---- Small vector kernels --------------------------------------------- */

/* GCC/Clang vector extension: the default build (-O2) only auto-vectorises
 * loops whose trip count is a known multiple of the vector width, so the hot
 * inner loops of the direct kernels are written with explicit 4-wide vectors
 * (SSE2 on x86-64, NEON on arm64). Unaligned loads go through memcpy. */
typedef float gz_op_v4 __attribute__ ((vector_size (16)));
typedef int32_t gz_op_v4i __attribute__ ((vector_size (16)));

/* y[i] = v for i < n. */
static inline void
gz_op_fill (float *y, float v, int64_t n)
{
  const gz_op_v4 vv = { v, v, v, v };
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    memcpy (y + i, &vv, sizeof vv);
  for (; i < n; i++)
    y[i] = v;
}

/* y[i] += a * x[i] for i < n. */
static inline void
gz_op_axpy (float *restrict y, const float *restrict x, float a, int64_t n)
{
  const gz_op_v4 av = { a, a, a, a };
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    {
      gz_op_v4 x0, x1, y0, y1;
      memcpy (&x0, x + i, sizeof x0);
      memcpy (&x1, x + i + 4, sizeof x1);
      memcpy (&y0, y + i, sizeof y0);
      memcpy (&y1, y + i + 4, sizeof y1);
      y0 += av * x0;
      y1 += av * x1;
      memcpy (y + i, &y0, sizeof y0);
      memcpy (y + i + 4, &y1, sizeof y1);
    }
  for (; i < n; i++)
    y[i] += a * x[i];
}

/* y[i] += a * x[2 i] for i < n (stride-2 windows): even lanes of two loads. */
static inline void
gz_op_axpy_s2 (float *restrict y, const float *restrict x, float a, int64_t n)
{
  const gz_op_v4 av = { a, a, a, a };
  int64_t i = 0;
  /* i + 4 < n keeps the last load (x[2 i + 7]) below x[2 (n - 1)]. */
  for (; i + 4 < n; i += 4)
    {
      gz_op_v4 x0, x1, y0;
      memcpy (&x0, x + 2 * i, sizeof x0);
      memcpy (&x1, x + 2 * i + 4, sizeof x1);
      memcpy (&y0, y + i, sizeof y0);
      y0 += av * __builtin_shufflevector (x0, x1, 0, 2, 4, 6);
      memcpy (y + i, &y0, sizeof y0);
    }
  for (; i < n; i++)
    y[i] += a * x[2 * i];
}

/* ---- Broadcast iteration and strided views ----------------------------- */

/* Operands of one walk (the output and up to three inputs). */
#define GZ_OP_MAX_OPERANDS 4
/* Views may split each axis in two (Tile: repeat × size). */
#define GZ_OP_MAX_VIEW_DIMS (2 * GZ_MAX_DIMS)

typedef struct
{
  int ndim; /* >= 1 after coalescing */
  int n_ops;
  int64_t dims[GZ_OP_MAX_VIEW_DIMS];
  int64_t strides[GZ_OP_MAX_OPERANDS][GZ_OP_MAX_VIEW_DIMS];
  int64_t rows; /* product of all dims but the last */
  int64_t inner; /* the last dim */
} GzOpBcast;

typedef struct
{
  int64_t idx[GZ_OP_MAX_VIEW_DIMS];
  int64_t off[GZ_OP_MAX_OPERANDS];
} GzOpBcastPos;

/* Operands are shapes (ndim[k], dims[k]) broadcast-compatible with the output
 * shape (already checked). Operand 0 is usually the output itself. */
void gz_op_bcast_init (GzOpBcast *it, int out_ndim, const int64_t *out_dims, int n_ops,
                       const int *ndims, const int64_t *const *dims);
/* The same from explicit per-operand strides along the walk's axes (ndim up
 * to GZ_OP_MAX_VIEW_DIMS): a transpose, a slice, a tile are such views. */
void gz_op_bcast_init_strided (GzOpBcast *it, int ndim, const int64_t *dims, int n_ops,
                               const int64_t *const *strides);
/* Positions pos at the start of row `row`. */
void gz_op_bcast_seek (const GzOpBcast *it, int64_t row, GzOpBcastPos *pos);
/* Moves pos to the next row. */
void gz_op_bcast_next (const GzOpBcast *it, GzOpBcastPos *pos);
/* The stride of operand k along the innermost axis. */
static inline int64_t
gz_op_bcast_inner_stride (const GzOpBcast *it, int k)
{
  return it->strides[k][it->ndim - 1];
}

/* The broadcast (numpy rules) output shape of inputs ts[0 .. k-1], checked
 * with gz_op_check_shape; GZ_ERR_SHAPE naming the input that does not fit. */
GzStatus gz_op_broadcast_infer (const GzNode *node, const GzTensor *const *ts, int k, int *ndim,
                                int64_t *dims, GzError *err);

/* C-order strides in elements. */
void gz_op_strides (int ndim, const int64_t *dims, int64_t *strides);

/* Strides of a tensor broadcast (numpy rules, right-aligned) to out's rank:
 * 0 where the input has size 1 or no axis. */
void gz_op_broadcast_strides (int ndim, const int64_t *dims, int out_ndim, int64_t *strides);

/* dst (contiguous, shape dims) [k] = src[base + sum_a idx_a * strides[a]].
 * elsize is 4 or 8; ndim up to GZ_OP_MAX_VIEW_DIMS. */
void gz_op_view_gather (size_t elsize, int ndim, const int64_t *dims, const void *src, int64_t base,
                        const int64_t *strides, void *dst);

/* dst[base + sum_a idx_a * strides[a]] += src[k] for every k of the contiguous
 * float src of shape dims (dst is not cleared). */
void gz_op_view_scatter_add (int ndim, const int64_t *dims, const float *src, float *dst,
                             int64_t base, const int64_t *strides);

/* ---- Conv's tuning switches ------------------------------------------ */

/* Read once from the environment (GAZE_CONV_WINOGRAD=0, GAZE_CONV_BATCH=0
 * turn a switch off); benchmarks set them to compare the paths. */
typedef struct
{
  bool winograd; /* Winograd F(2×2, 3×3) for batched 3×3 layers */
  bool batch; /* several images per GEMM on small planes */
} GzConvTuning;

GzConvTuning gz_conv_tuning (void);
/* Not for use while a forward runs. */
void gz_conv_set_tuning (GzConvTuning t);

/* ---- Sliding windows (Conv, pooling) ----------------------------------- */

typedef enum
{
  GZ_OP_PAD_NOTSET,
  GZ_OP_PAD_SAME_UPPER,
  GZ_OP_PAD_SAME_LOWER,
  GZ_OP_PAD_VALID,
} GzOpAutoPad;

/* Attributes as given (counts 0 when absent). */
typedef struct
{
  GzOpAutoPad auto_pad;
  int n_kernel, n_strides, n_pads, n_dilations;
  int64_t kernel[3], strides[3], pads[6], dilations[3];
  bool ceil_mode;
} GzOpWindowAttrs;

/* A resolved 2-D window geometry (a 1-D op has in_h = out_h = k_h = 1). */
typedef struct
{
  int64_t in_h, in_w, out_h, out_w;
  int64_t k_h, k_w, s_h, s_w, d_h, d_w;
  int64_t pad_t, pad_l, pad_b, pad_r;
} GzOpWindow;

GzStatus gz_op_window_parse (const GzNode *node, GzOpWindowAttrs *a, GzError *err);
/* nsp: spatial rank (1 or 2; else GZ_ERR_UNSUPPORTED); in_sp: input spatial
 * dims; kernel: spatial kernel dims (from the weight for Conv, else NULL to
 * take kernel_shape). Checks attribute lengths and values, and that the
 * output is non-empty. */
GzStatus gz_op_window_resolve (const GzNode *node, const GzOpWindowAttrs *a, int nsp,
                               const int64_t *in_sp, const int64_t *kernel, GzOpWindow *w,
                               GzError *err);
