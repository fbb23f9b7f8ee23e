/* gz-nn.h — the nn operators and the helpers they share
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Private to engine/ops/nn/. Operators are float32 NCHW. Spatial operators
 * (Conv, pooling) work on a 2-D geometry; 1-D inputs map onto it with H = 1.
 * Element-wise operators walk a broadcast iterator: the output shape with,
 * per operand, a stride of 0 along broadcast axes, adjacent axes coalesced so
 * that the innermost loop is as long as possible.
 */
#pragma once

#include <stdlib.h>
#include <string.h>

#include "gz-graph.h"
#include "gz-blas.h"

/* ---- The operator definitions (registry.c lists them) ----------------- */

extern const GzOpDef gz_nn_op_conv;
extern const GzOpDef gz_nn_op_convtranspose;
extern const GzOpDef gz_nn_op_batchnorm;
extern const GzOpDef gz_nn_op_instancenorm;
extern const GzOpDef gz_nn_op_lrn;
extern const GzOpDef gz_nn_op_gemm;
extern const GzOpDef gz_nn_op_matmul;
extern const GzOpDef gz_nn_op_maxpool;
extern const GzOpDef gz_nn_op_averagepool;
extern const GzOpDef gz_nn_op_globalaveragepool;
extern const GzOpDef gz_nn_op_globalmaxpool;
extern const GzOpDef gz_nn_op_relu, gz_nn_op_leakyrelu, gz_nn_op_clip, gz_nn_op_sigmoid,
    gz_nn_op_hardsigmoid, gz_nn_op_hardswish, gz_nn_op_tanh, gz_nn_op_erf, gz_nn_op_sqrt,
    gz_nn_op_exp, gz_nn_op_log, gz_nn_op_neg, gz_nn_op_abs, gz_nn_op_reciprocal, gz_nn_op_elu,
    gz_nn_op_celu, gz_nn_op_selu, gz_nn_op_softplus, gz_nn_op_softsign, gz_nn_op_thresholdedrelu,
    gz_nn_op_sin, gz_nn_op_cos, gz_nn_op_floor, gz_nn_op_ceil, gz_nn_op_round;
extern const GzOpDef gz_nn_op_sum, gz_nn_op_mean, gz_nn_op_max, gz_nn_op_min;
extern const GzOpDef gz_nn_op_add, gz_nn_op_sub, gz_nn_op_mul, gz_nn_op_div, gz_nn_op_pow,
    gz_nn_op_prelu;

/* ---- Errors and checks ------------------------------------------------- */

/* Fills err with "<OpType> '<node name>': <message>" and returns code. */
GzStatus gz_nn_error (GzError *err, GzStatus code, const GzNode *node, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* Writes "[2,3,4]" into buf (always NUL-terminated) and returns buf. */
const char *gz_nn_shape_str (int ndim, const int64_t *dims, char *buf, size_t len);

/* Input i, or NULL when omitted or beyond the node's inputs. */
static inline const GzTensor *
gz_nn_input (const GzNode *node, const GzTensor *const *in, int i)
{
  return i < node->n_inputs && node->inputs[i] >= 0 ? in[i] : NULL;
}

/* Input i must be present and float32; `what` names it in the message. */
GzStatus gz_nn_need_float (const GzNode *node, const GzTensor *const *in, int i, const char *what,
                           GzError *err);

/* An output shape: rank within limits, element count without overflow and
 * small enough for size_t byte counts. */
GzStatus gz_nn_check_shape (const GzNode *node, int ndim, const int64_t *dims, GzError *err);

/* Fails unless every value fits in an int (BLAS dimensions). */
GzStatus gz_nn_check_int (const GzNode *node, const char *what, int64_t v, GzError *err);

/* malloc of n floats with an overflow check; NULL (err set) on failure. */
float *gz_nn_alloc_floats (const GzNode *node, int64_t n, GzError *err);

/* Params for ops whose init only copies attributes: free (). */
void gz_nn_free_params (void *params);

/* ---- Vectors ----------------------------------------------------------- */

/* Memory-bound element loops: compiled for AVX-512, AVX2 and baseline x86-64,
 * the best picked when the program loads (GCC function multi-versioning).
 * ISO C mode keeps -ffp-contract=off, so every clone gives the same bits. */
/* Not under ThreadSanitizer: GCC instruments the clones' resolver, which the
 * dynamic loader runs before the TSan runtime exists (a crash at load). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(__SANITIZE_THREAD__)
#define GZ_NN_VECTOR_CLONES __attribute__ ((target_clones ("avx512f", "avx2", "default")))
#else
#define GZ_NN_VECTOR_CLONES
#endif

/* ---- Threads ----------------------------------------------------------- */

/* A thread costs tens of microseconds to start: split a loop only when each
 * thread gets at least this many element operations. */
#define GZ_NN_MIN_WORK 262144

/* min_chunk for gz_parallel_for over items that each cost `work` operations
 * (a double: products of sizes used only as an estimate never overflow). */
static inline long
gz_nn_chunk (double work)
{
  return work >= GZ_NN_MIN_WORK ? 1 : (long) (1 + GZ_NN_MIN_WORK / (work >= 1 ? work : 1));
}

/* ---- Small vector kernels --------------------------------------------- */

/* GCC/Clang vector extension: the default build (-O2) only auto-vectorises
 * loops whose trip count is a known multiple of the vector width, so the hot
 * inner loops of the direct kernels are written with explicit 4-wide vectors
 * (SSE2 on x86-64, NEON on arm64). Unaligned loads go through memcpy. */
typedef float gz_nn_v4 __attribute__ ((vector_size (16)));
typedef int32_t gz_nn_v4i __attribute__ ((vector_size (16)));

/* y[i] = v for i < n. */
static inline void
gz_nn_fill (float *y, float v, int64_t n)
{
  const gz_nn_v4 vv = { v, v, v, v };
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    memcpy (y + i, &vv, sizeof vv);
  for (; i < n; i++)
    y[i] = v;
}

/* y[i] += a * x[i] for i < n. */
static inline void
gz_nn_axpy (float *restrict y, const float *restrict x, float a, int64_t n)
{
  const gz_nn_v4 av = { a, a, a, a };
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    {
      gz_nn_v4 x0, x1, y0, y1;
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
gz_nn_axpy_s2 (float *restrict y, const float *restrict x, float a, int64_t n)
{
  const gz_nn_v4 av = { a, a, a, a };
  int64_t i = 0;
  /* i + 4 < n keeps the last load (x[2 i + 7]) below x[2 (n - 1)]. */
  for (; i + 4 < n; i += 4)
    {
      gz_nn_v4 x0, x1, y0;
      memcpy (&x0, x + 2 * i, sizeof x0);
      memcpy (&x1, x + 2 * i + 4, sizeof x1);
      memcpy (&y0, y + i, sizeof y0);
      y0 += av * __builtin_shufflevector (x0, x1, 0, 2, 4, 6);
      memcpy (y + i, &y0, sizeof y0);
    }
  for (; i < n; i++)
    y[i] += a * x[2 * i];
}

/* ---- Broadcast iteration ----------------------------------------------- */

#define GZ_NN_MAX_OPERANDS 4

typedef struct
{
  int ndim; /* >= 1 after coalescing */
  int n_ops;
  int64_t dims[GZ_MAX_DIMS];
  int64_t strides[GZ_NN_MAX_OPERANDS][GZ_MAX_DIMS];
  int64_t rows; /* product of all dims but the last */
  int64_t inner; /* the last dim */
} GzNnBcast;

typedef struct
{
  int64_t idx[GZ_MAX_DIMS];
  int64_t off[GZ_NN_MAX_OPERANDS];
} GzNnBcastPos;

/* Operands are shapes (ndim[k], dims[k]) broadcast-compatible with the output
 * shape (already checked). Operand 0 is usually the output itself. */
void gz_nn_bcast_init (GzNnBcast *it, int out_ndim, const int64_t *out_dims, int n_ops,
                       const int *ndims, const int64_t *const *dims);
/* Positions pos at the start of row `row`. */
void gz_nn_bcast_seek (const GzNnBcast *it, int64_t row, GzNnBcastPos *pos);
/* Moves pos to the next row. */
void gz_nn_bcast_next (const GzNnBcast *it, GzNnBcastPos *pos);
/* The stride of operand k along the innermost axis. */
static inline int64_t
gz_nn_bcast_inner_stride (const GzNnBcast *it, int k)
{
  return it->strides[k][it->ndim - 1];
}

/* ---- Sliding windows (Conv, pooling) ----------------------------------- */

typedef enum
{
  GZ_NN_PAD_NOTSET,
  GZ_NN_PAD_SAME_UPPER,
  GZ_NN_PAD_SAME_LOWER,
  GZ_NN_PAD_VALID,
} GzNnAutoPad;

/* Attributes as given (counts 0 when absent). */
typedef struct
{
  GzNnAutoPad auto_pad;
  int n_kernel, n_strides, n_pads, n_dilations;
  int64_t kernel[3], strides[3], pads[6], dilations[3];
  bool ceil_mode;
} GzNnWindowAttrs;

/* A resolved 2-D window geometry (a 1-D op has in_h = out_h = k_h = 1). */
typedef struct
{
  int64_t in_h, in_w, out_h, out_w;
  int64_t k_h, k_w, s_h, s_w, d_h, d_w;
  int64_t pad_t, pad_l, pad_b, pad_r;
} GzNnWindow;

GzStatus gz_nn_window_parse (const GzNode *node, GzNnWindowAttrs *a, GzError *err);
/* nsp: spatial rank (1 or 2; else GZ_ERR_UNSUPPORTED); in_sp: input spatial
 * dims; kernel: spatial kernel dims (from the weight for Conv, else NULL to
 * take kernel_shape). Checks attribute lengths and values, and that the
 * output is non-empty. */
GzStatus gz_nn_window_resolve (const GzNode *node, const GzNnWindowAttrs *a, int nsp,
                               const int64_t *in_sp, const int64_t *kernel, GzNnWindow *w,
                               GzError *err);
