/* op-gemm.c — Gemm: Y = alpha op(A) op(B) + beta C, C broadcast to [M, N]
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Backward (row-major, op = optional transpose):
 *   dA = alpha dY op(B)^T      (transposed back when transA)
 *   dB = alpha op(A)^T dY      (transposed back when transB)
 *   dC = beta dY summed over C's broadcast axes.
 */
#include <string.h>

#include "gz-op.h"

typedef struct
{
  float alpha, beta;
  bool trans_a, trans_b;
} Params;

static GzStatus
gemm_init (GzNode *node, int64_t opset, GzError *err)
{
  Params *p = calloc (1, sizeof *p);
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_NOMEM, node, "out of memory");
  p->alpha = gz_node_attr_float (node, "alpha", 1.0f);
  p->beta = gz_node_attr_float (node, "beta", 1.0f);
  p->trans_a = gz_node_attr_int (node, "transA", 0) != 0;
  p->trans_b = gz_node_attr_int (node, "transB", 0) != 0;
  node->params = p;
  return GZ_OK;
}

typedef struct
{
  int64_t m, n, k;
} Dims;

static GzStatus
gemm_check (const GzNode *node, const GzTensor *const *in, Dims *d, GzError *err)
{
  const Params *p = node->params;
  GzStatus st;
  char sa[160], sb[160];
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_ARGUMENT, node, "operator used before init");
  if ((st = gz_op_need_float (node, in, 0, "A", err)) != GZ_OK
      || (st = gz_op_need_float (node, in, 1, "B", err)) != GZ_OK)
    return st;
  const GzTensor *a = in[0], *b = in[1], *c = gz_op_input (node, in, 2);
  if (a->ndim != 2 || b->ndim != 2)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "A %s and B %s must both be 2-D",
                        gz_op_shape_str (a->ndim, a->dims, sa, sizeof sa),
                        gz_op_shape_str (b->ndim, b->dims, sb, sizeof sb));
  d->m = p->trans_a ? a->dims[1] : a->dims[0];
  d->k = p->trans_a ? a->dims[0] : a->dims[1];
  int64_t kb = p->trans_b ? b->dims[1] : b->dims[0];
  d->n = p->trans_b ? b->dims[0] : b->dims[1];
  if (kb != d->k)
    return gz_op_error (err, GZ_ERR_SHAPE, node,
                        "inner dimensions differ: op(A) is %lld×%lld, op(B) is %lld×%lld "
                        "(A %s, B %s, transA %d, transB %d)",
                        (long long) d->m, (long long) d->k, (long long) kb, (long long) d->n,
                        gz_op_shape_str (a->ndim, a->dims, sa, sizeof sa),
                        gz_op_shape_str (b->ndim, b->dims, sb, sizeof sb), p->trans_a, p->trans_b);
  if ((st = gz_op_check_int (node, "M", d->m, err)) != GZ_OK
      || (st = gz_op_check_int (node, "N", d->n, err)) != GZ_OK
      || (st = gz_op_check_int (node, "K", d->k, err)) != GZ_OK)
    return st;
  if (c != NULL)
    {
      if (c->dtype != GZ_DTYPE_FLOAT)
        return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "C must be float32");
      const int64_t want[2] = { d->m, d->n };
      bool ok = c->ndim <= 2;
      for (int i = 0; ok && i < c->ndim; i++)
        {
          int64_t cd = c->dims[i], wd = want[2 - c->ndim + i];
          ok = cd == 1 || cd == wd;
        }
      if (!ok)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "C %s does not broadcast to [%lld,%lld]",
                            gz_op_shape_str (c->ndim, c->dims, sa, sizeof sa), (long long) d->m,
                            (long long) d->n);
    }
  return GZ_OK;
}

static GzStatus
gemm_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  Dims d;
  GzStatus st;
  if ((st = gemm_check (node, in, &d, err)) != GZ_OK)
    return st;
  const int64_t dims[2] = { d.m, d.n };
  if ((st = gz_op_check_shape (node, 2, dims, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], GZ_DTYPE_FLOAT, 2, dims);
  return GZ_OK;
}

/* Strides of C broadcast over [M, N]: (row stride, column stride). */
static void
c_strides (const GzTensor *c, int64_t *rs, int64_t *cs)
{
  int64_t dm = c->ndim == 2 ? c->dims[0] : 1, dn = c->ndim >= 1 ? c->dims[c->ndim - 1] : 1;
  *cs = dn == 1 ? 0 : 1;
  *rs = dm == 1 ? 0 : dn;
}

static GzStatus
gemm_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  const Params *p = node->params;
  Dims d;
  GzStatus st;
  if ((st = gemm_check (node, in, &d, err)) != GZ_OK)
    return st;
  const GzTensor *a = in[0], *b = in[1], *c = gz_op_input (node, in, 2);
  float *y = out[0]->data;
  float beta = 0.0f;
  if (c != NULL && p->beta != 0.0f)
    {
      int64_t rs, cs;
      const float *cv = c->data;
      c_strides (c, &rs, &cs);
      for (int64_t i = 0; i < d.m; i++)
        for (int64_t j = 0; j < d.n; j++)
          y[i * d.n + j] = cv[i * rs + j * cs];
      beta = p->beta;
    }
  if (d.m == 0 || d.n == 0)
    return GZ_OK;
  if (d.k == 0)
    {
      if (beta == 0.0f)
        memset (y, 0, (size_t) (d.m * d.n) * sizeof (float));
      else
        for (int64_t i = 0; i < d.m * d.n; i++)
          y[i] *= beta;
      return GZ_OK;
    }
  gz_sgemm (p->trans_a, p->trans_b, (int) d.m, (int) d.n, (int) d.k, p->alpha, a->data,
            (int) a->dims[1], b->data, (int) b->dims[1], beta, y, (int) d.n);
  return GZ_OK;
}

static GzStatus
gemm_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
               const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
               GzError *err)
{
  const Params *p = node->params;
  Dims d;
  GzStatus st;
  if ((st = gemm_check (node, in, &d, err)) != GZ_OK)
    return st;
  const GzTensor *a = in[0], *b = in[1], *c = gz_op_input (node, in, 2);
  for (int i = 0; i < node->n_inputs && i < 3; i++)
    if (din[i] != NULL)
      memset (din[i]->data, 0, (size_t) gz_tensor_numel (din[i]) * sizeof (float));
  if (dout[0] == NULL || d.m == 0 || d.n == 0 || d.k == 0)
    return GZ_OK;
  const float *dy = dout[0]->data;
  int lda = (int) a->dims[1], ldb = (int) b->dims[1];
  if (din[0] != NULL)
    {
      if (!p->trans_a) /* dA [M,K] = alpha dY op(B)^T */
        gz_sgemm (false, !p->trans_b, (int) d.m, (int) d.k, (int) d.n, p->alpha, dy, (int) d.n,
                  b->data, ldb, 0.0f, din[0]->data, (int) d.k);
      else /* dA [K,M] = alpha op(B) dY^T */
        gz_sgemm (p->trans_b, true, (int) d.k, (int) d.m, (int) d.n, p->alpha, b->data, ldb, dy,
                  (int) d.n, 0.0f, din[0]->data, (int) d.m);
    }
  if (din[1] != NULL)
    {
      if (!p->trans_b) /* dB [K,N] = alpha op(A)^T dY */
        gz_sgemm (!p->trans_a, false, (int) d.k, (int) d.n, (int) d.m, p->alpha, a->data, lda, dy,
                  (int) d.n, 0.0f, din[1]->data, (int) d.n);
      else /* dB [N,K] = alpha dY^T op(A) */
        gz_sgemm (true, p->trans_a, (int) d.n, (int) d.k, (int) d.m, p->alpha, dy, (int) d.n,
                  a->data, lda, 0.0f, din[1]->data, (int) d.k);
    }
  if (c != NULL && node->n_inputs > 2 && din[2] != NULL)
    {
      int64_t rs, cs;
      float *dc = din[2]->data;
      c_strides (c, &rs, &cs);
      for (int64_t i = 0; i < d.m; i++)
        for (int64_t j = 0; j < d.n; j++)
          dc[i * rs + j * cs] += p->beta * dy[i * d.n + j];
    }
  return GZ_OK;
}

const GzOpDef gz_op_gemm[] = {
  {
      .op_type = "Gemm",
      .min_opset = 1, /* before 11 C is required; broadcast = 0 shapes are a subset */
      .init = gemm_init,
      .infer = gemm_infer,
      .forward = gemm_forward,
      .backward = gemm_backward,
      .free_params = gz_op_free_params,
  },
  GZ_OP_END,
};
