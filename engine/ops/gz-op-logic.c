/* gz-op-logic.c — comparisons (Equal, Less, LessOrEqual, Greater, GreaterOrEqual)
 * and boolean logic (And, Or, Xor, Not)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The engine has no boolean type: ONNX booleans are int64 0/1 here (a float
 * used as a boolean is true when non-zero). These mostly serve torch's shape
 * arithmetic and are folded at load time. The binary members are one kernel;
 * the table row's `data` says which.
 */
#include "gz-op.h"

/* ---- Comparisons and binary logic ------------------------------------- */

typedef enum
{
  CMP_EQUAL,
  CMP_LESS,
  CMP_LESS_EQUAL,
  CMP_GREATER,
  CMP_GREATER_EQUAL,
  LOGIC_AND,
  LOGIC_OR,
  LOGIC_XOR,
} CompareKind;

static GzStatus
compare_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 2, 1, err);
  if (need != GZ_OK)
    return need;
  if (in[0]->dtype != in[1]->dtype)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "inputs differ in data type");
  int r;
  int64_t dims[GZ_MAX_DIMS];
  GzStatus st = gz_op_broadcast_infer (node, in, 2, &r, dims, err);
  if (st != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], GZ_DTYPE_INT64, r, dims);
  return GZ_OK;
}

static inline double
value_at (const GzTensor *t, int64_t off)
{
  return t->dtype == GZ_DTYPE_INT64 ? (double) ((const int64_t *) t->data)[off]
                                    : (double) ((const float *) t->data)[off];
}

static GzStatus
compare_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  CompareKind kind = *(const CompareKind *) node->op->data;
  GzOpBcast it;
  GzOpBcastPos pos;
  const int nds[3] = { out[0]->ndim, in[0]->ndim, in[1]->ndim };
  const int64_t *ds[3] = { out[0]->dims, in[0]->dims, in[1]->dims };
  gz_op_bcast_init (&it, out[0]->ndim, out[0]->dims, 3, nds, ds);
  gz_op_bcast_seek (&it, 0, &pos);
  const int64_t sa = gz_op_bcast_inner_stride (&it, 1), sb = gz_op_bcast_inner_stride (&it, 2);
  bool wide = in[0]->dtype == GZ_DTYPE_INT64;
  int64_t *y = out[0]->data;
  for (int64_t r = 0; r < it.rows; r++, gz_op_bcast_next (&it, &pos))
    for (int64_t k = 0; k < it.inner; k++)
      {
        int64_t oa = pos.off[1] + k * sa, ob = pos.off[2] + k * sb;
        bool v;
        if (kind >= LOGIC_AND)
          {
            bool a = gz_op_truth (in[0], oa), b = gz_op_truth (in[1], ob);
            v = kind == LOGIC_AND ? a && b : kind == LOGIC_OR ? a || b : a != b;
          }
        else if (wide)
          {
            /* exact int64 comparisons, no detour through double */
            int64_t a = ((const int64_t *) in[0]->data)[oa];
            int64_t b = ((const int64_t *) in[1]->data)[ob];
            v = kind == CMP_EQUAL        ? a == b
                : kind == CMP_LESS       ? a < b
                : kind == CMP_LESS_EQUAL ? a <= b
                : kind == CMP_GREATER    ? a > b
                                         : a >= b;
          }
        else
          {
            double a = value_at (in[0], oa), b = value_at (in[1], ob);
            v = kind == CMP_EQUAL        ? a == b
                : kind == CMP_LESS       ? a < b
                : kind == CMP_LESS_EQUAL ? a <= b
                : kind == CMP_GREATER    ? a > b
                                         : a >= b;
          }
        y[pos.off[0] + k] = v;
      }
  return GZ_OK;
}
/* ---- Not --------------------------------------------------------------- */

static GzStatus
not_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  gz_tensor_set_shape (out[0], GZ_DTYPE_INT64, in[0]->ndim, in[0]->dims);
  return GZ_OK;
}

static GzStatus
not_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int64_t n = gz_tensor_numel (in[0]);
  int64_t *y = out[0]->data;
  for (int64_t i = 0; i < n; i++)
    y[i] = !gz_op_truth (in[0], i);
  return GZ_OK;
}

#define COMPARE(type, since, kind)                                                           \
  {                                                                                          \
    .op_type = type, .min_opset = since, .infer = compare_infer, .forward = compare_forward, \
    .data = &(const CompareKind){ kind },                                                    \
  }

const GzOpDef gz_op_logic[] = {
  COMPARE ("Equal", 7, CMP_EQUAL),
  COMPARE ("Less", 7, CMP_LESS),
  COMPARE ("LessOrEqual", 12, CMP_LESS_EQUAL),
  COMPARE ("Greater", 7, CMP_GREATER),
  COMPARE ("GreaterOrEqual", 12, CMP_GREATER_EQUAL),
  COMPARE ("And", 7, LOGIC_AND),
  COMPARE ("Or", 7, LOGIC_OR),
  COMPARE ("Xor", 7, LOGIC_XOR),
  { "Not", 1, NULL, not_infer, not_forward, NULL, NULL },
  GZ_OP_END,
};
