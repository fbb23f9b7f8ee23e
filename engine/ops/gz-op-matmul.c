/* op-matmul.c — MatMul with numpy semantics (batched, broadcast, 1-D operands)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A 1-D A is a row [1,K] and a 1-D B a column [K,1], their unit axis dropped
 * from the result. Batch axes broadcast; each output matrix is one gz_sgemm,
 * except when B has no batch and A has the full batch: then A's batch folds
 * into M and the whole product is a single gz_sgemm (a Linear on [B,T,K]).
 * Backward: dA_b += dY_b B_b^T and dB_b += A_b^T dY_b, summed over the batch
 * axes an operand was broadcast along.
 */
#include <string.h>

#include "gz-op.h"

typedef struct
{
  int64_t m, n, k;
  int nb; /* output batch rank */
  int64_t bdims[GZ_MAX_DIMS]; /* output batch shape */
  int na_b, nb_b; /* A's and B's batch ranks */
  const int64_t *a_bdims, *b_bdims;
  int64_t batch; /* output batch count */
  int out_ndim;
  int64_t out_dims[GZ_MAX_DIMS];
  bool fold; /* single GEMM with A's batch folded into M */
} Geo;

static GzStatus
matmul_geometry (const GzNode *node, const GzTensor *const *in, Geo *g, GzError *err)
{
  GzStatus st;
  char sa[160], sb[160];
  if ((st = gz_op_need_float (node, in, 0, "A", err)) != GZ_OK
      || (st = gz_op_need_float (node, in, 1, "B", err)) != GZ_OK)
    return st;
  const GzTensor *a = in[0], *b = in[1];
  if (a->ndim < 1 || b->ndim < 1)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "operands must have rank >= 1 (A %s, B %s)",
                        gz_op_shape_str (a->ndim, a->dims, sa, sizeof sa),
                        gz_op_shape_str (b->ndim, b->dims, sb, sizeof sb));
  g->m = a->ndim == 1 ? 1 : a->dims[a->ndim - 2];
  g->k = a->dims[a->ndim - 1];
  int64_t kb = b->ndim == 1 ? b->dims[0] : b->dims[b->ndim - 2];
  g->n = b->ndim == 1 ? 1 : b->dims[b->ndim - 1];
  if (kb != g->k)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "inner dimensions differ: A %s, B %s",
                        gz_op_shape_str (a->ndim, a->dims, sa, sizeof sa),
                        gz_op_shape_str (b->ndim, b->dims, sb, sizeof sb));
  g->na_b = a->ndim > 2 ? a->ndim - 2 : 0;
  g->nb_b = b->ndim > 2 ? b->ndim - 2 : 0;
  g->a_bdims = a->dims;
  g->b_bdims = b->dims;
  if (gz_broadcast_shape (g->na_b, a->dims, g->nb_b, b->dims, &g->nb, g->bdims, NULL) != GZ_OK)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "batch axes of A %s and B %s cannot broadcast",
                        gz_op_shape_str (a->ndim, a->dims, sa, sizeof sa),
                        gz_op_shape_str (b->ndim, b->dims, sb, sizeof sb));
  g->out_ndim = 0;
  for (int i = 0; i < g->nb; i++)
    g->out_dims[g->out_ndim++] = g->bdims[i];
  if (a->ndim > 1)
    g->out_dims[g->out_ndim++] = g->m;
  if (b->ndim > 1)
    g->out_dims[g->out_ndim++] = g->n;
  if ((st = gz_op_check_shape (node, g->out_ndim, g->out_dims, err)) != GZ_OK)
    return st;
  g->batch = gz_shape_numel (g->nb, g->bdims);
  int64_t a_batch = gz_shape_numel (g->na_b, a->dims);
  int64_t b_batch = gz_shape_numel (g->nb_b, b->dims);
  g->fold = b_batch == 1 && a_batch == g->batch;
  if ((st = gz_op_check_int (node, "M", g->m, err)) != GZ_OK
      || (st = gz_op_check_int (node, "N", g->n, err)) != GZ_OK
      || (st = gz_op_check_int (node, "K", g->k, err)) != GZ_OK)
    return st;
  if (g->fold && g->batch > 0 && g->m > INT32_MAX / g->batch)
    g->fold = false;
  return GZ_OK;
}

static GzStatus
matmul_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  Geo g;
  GzStatus st;
  if ((st = matmul_geometry (node, in, &g, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], GZ_DTYPE_FLOAT, g.out_ndim, g.out_dims);
  return GZ_OK;
}

/* Calls fn for every output batch matrix with the matching A and B matrices. */
typedef void (*BatchFn) (const Geo *g, int64_t ia, int64_t ib, int64_t io, void *data);

static void
for_each_batch (const Geo *g, BatchFn fn, void *data)
{
  GzOpBcast it;
  GzOpBcastPos pos;
  const int nds[3] = { g->nb, g->na_b, g->nb_b };
  const int64_t *const ds[3] = { g->bdims, g->a_bdims, g->b_bdims };
  if (g->batch == 0)
    return;
  gz_op_bcast_init (&it, g->nb, g->bdims, 3, nds, ds);
  const int64_t sa = gz_op_bcast_inner_stride (&it, 1), sb = gz_op_bcast_inner_stride (&it, 2);
  gz_op_bcast_seek (&it, 0, &pos);
  for (int64_t r = 0; r < it.rows; r++, gz_op_bcast_next (&it, &pos))
    for (int64_t i = 0; i < it.inner; i++)
      fn (g, pos.off[1] + i * sa, pos.off[2] + i * sb, pos.off[0] + i, data);
}

typedef struct
{
  const float *a, *b, *dy;
  float *y, *da, *db;
} Job;

static void
forward_one (const Geo *g, int64_t ia, int64_t ib, int64_t io, void *data)
{
  const Job *j = data;
  gz_sgemm (false, false, (int) g->m, (int) g->n, (int) g->k, 1.0f, j->a + ia * g->m * g->k,
            (int) g->k, j->b + ib * g->k * g->n, (int) g->n, 0.0f, j->y + io * g->m * g->n,
            (int) g->n);
}

static void
backward_da (const Geo *g, int64_t ia, int64_t ib, int64_t io, void *data)
{
  const Job *j = data;
  gz_sgemm (false, true, (int) g->m, (int) g->k, (int) g->n, 1.0f, j->dy + io * g->m * g->n,
            (int) g->n, j->b + ib * g->k * g->n, (int) g->n, 1.0f, j->da + ia * g->m * g->k,
            (int) g->k);
}

static void
backward_db (const Geo *g, int64_t ia, int64_t ib, int64_t io, void *data)
{
  const Job *j = data;
  gz_sgemm (true, false, (int) g->k, (int) g->n, (int) g->m, 1.0f, j->a + ia * g->m * g->k,
            (int) g->k, j->dy + io * g->m * g->n, (int) g->n, 1.0f, j->db + ib * g->k * g->n,
            (int) g->n);
}

static GzStatus
matmul_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  Geo g;
  GzStatus st;
  if ((st = matmul_geometry (node, in, &g, err)) != GZ_OK)
    return st;
  Job j = { .a = in[0]->data, .b = in[1]->data, .y = out[0]->data };
  int64_t n_out = gz_shape_numel (g.out_ndim, g.out_dims);
  if (g.k == 0 || n_out == 0)
    {
      memset (j.y, 0, (size_t) n_out * sizeof (float));
      return GZ_OK;
    }
  if (g.fold)
    gz_sgemm (false, false, (int) (g.batch * g.m), (int) g.n, (int) g.k, 1.0f, j.a, (int) g.k, j.b,
              (int) g.n, 0.0f, j.y, (int) g.n);
  else
    for_each_batch (&g, forward_one, &j);
  return GZ_OK;
}

static GzStatus
matmul_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                 const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                 GzError *err)
{
  Geo g;
  GzStatus st;
  if ((st = matmul_geometry (node, in, &g, err)) != GZ_OK)
    return st;
  for (int i = 0; i < 2; i++)
    if (din[i] != NULL)
      memset (din[i]->data, 0, (size_t) gz_tensor_numel (in[i]) * sizeof (float));
  int64_t n_out = gz_shape_numel (g.out_ndim, g.out_dims);
  if (dout[0] == NULL || g.k == 0 || n_out == 0)
    return GZ_OK;
  Job j = { .a = in[0]->data,
            .b = in[1]->data,
            .dy = dout[0]->data,
            .da = din[0] != NULL ? din[0]->data : NULL,
            .db = din[1] != NULL ? din[1]->data : NULL };
  if (g.fold)
    {
      int bm = (int) (g.batch * g.m);
      if (j.da != NULL)
        gz_sgemm (false, true, bm, (int) g.k, (int) g.n, 1.0f, j.dy, (int) g.n, j.b, (int) g.n,
                  0.0f, j.da, (int) g.k);
      if (j.db != NULL)
        gz_sgemm (true, false, (int) g.k, (int) g.n, bm, 1.0f, j.a, (int) g.k, j.dy, (int) g.n,
                  0.0f, j.db, (int) g.n);
      return GZ_OK;
    }
  if (j.da != NULL)
    for_each_batch (&g, backward_da, &j);
  if (j.db != NULL)
    for_each_batch (&g, backward_db, &j);
  return GZ_OK;
}

const GzOpDef gz_op_matmul[] = {
  { "MatMul", 1, NULL, matmul_infer, matmul_forward, matmul_backward },
  GZ_OP_END,
};
