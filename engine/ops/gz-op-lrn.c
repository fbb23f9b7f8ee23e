/* op-lrn.c — LRN: local response normalisation across channels (AlexNet, GoogLeNet)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * d_c = bias + alpha / size · sum of x_k^2 over k in [c - lo, c + hi] (lo =
 * floor((size-1)/2), hi = ceil((size-1)/2)), y_c = x_c d_c^-beta. Backward:
 * dx_k = dy_k d_k^-beta - 2 alpha beta / size · x_k · sum over the c whose
 * window holds k (c in [k - hi, k + lo]) of dy_c x_c d_c^(-beta-1).
 * Work is split over images; each walks its channels plane by plane, with
 * scratch for d (and the backward's products) allocated once per call.
 */
#include <math.h>
#include <string.h>

#include "gz-op.h"

typedef struct
{
  float alpha, beta, bias;
  int64_t size;
} Params;

static GzStatus
lrn_init (GzNode *node, int64_t opset, GzError *err)
{
  int64_t size = gz_node_attr_int (node, "size", 0);
  if (size < 1)
    return gz_op_error (err, GZ_ERR_FORMAT, node, "size must be a positive integer");
  Params *p = calloc (1, sizeof *p);
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_NOMEM, node, "out of memory");
  p->alpha = gz_node_attr_float (node, "alpha", 1e-4f);
  p->beta = gz_node_attr_float (node, "beta", 0.75f);
  p->bias = gz_node_attr_float (node, "bias", 1.0f);
  p->size = size;
  node->params = p;
  return GZ_OK;
}

static GzStatus
lrn_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st;
  char sx[160];
  if (node->params == NULL)
    return gz_op_error (err, GZ_ERR_ARGUMENT, node, "operator used before init");
  if ((st = gz_op_need_float (node, in, 0, "X", err)) != GZ_OK)
    return st;
  if (in[0]->ndim < 3)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "input %s must have rank >= 3 (N,C,...)",
                        gz_op_shape_str (in[0]->ndim, in[0]->dims, sx, sizeof sx));
  if ((st = gz_op_check_shape (node, in[0]->ndim, in[0]->dims, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], GZ_DTYPE_FLOAT, in[0]->ndim, in[0]->dims);
  return GZ_OK;
}

typedef struct
{
  const Params *p;
  int64_t c, plane;
  const float *x, *dy;
  float *y, *dx;
  float *scratch; /* per image: d (c × plane) [, dy x d^(-beta-1) (c × plane)] */
} Job;

/* d for every channel of image n into dbuf. */
static void
denominators (const Job *j, const float *x, float *dbuf)
{
  const int64_t lo = (j->p->size - 1) / 2, hi = j->p->size - 1 - lo, S = j->plane;
  const float k = j->p->alpha / (float) j->p->size;
  for (int64_t c = 0; c < j->c; c++)
    {
      float *d = dbuf + c * S;
      for (int64_t i = 0; i < S; i++)
        d[i] = 0.0f;
      int64_t c0 = c - lo < 0 ? 0 : c - lo, c1 = c + hi >= j->c ? j->c - 1 : c + hi;
      for (int64_t cc = c0; cc <= c1; cc++)
        {
          const float *xc = x + cc * S;
          for (int64_t i = 0; i < S; i++)
            d[i] += xc[i] * xc[i];
        }
      for (int64_t i = 0; i < S; i++)
        d[i] = j->p->bias + k * d[i];
    }
}

static void
forward_images (long begin, long end, void *data)
{
  const Job *j = data;
  const int64_t img = j->c * j->plane;
  for (long n = begin; n < end; n++)
    {
      const float *x = j->x + n * img;
      float *y = j->y + n * img, *d = j->scratch + n * img;
      denominators (j, x, d);
      for (int64_t i = 0; i < img; i++)
        y[i] = x[i] * powf (d[i], -j->p->beta);
    }
}

static void
backward_images (long begin, long end, void *data)
{
  const Job *j = data;
  const int64_t img = j->c * j->plane, S = j->plane;
  const int64_t lo = (j->p->size - 1) / 2, hi = j->p->size - 1 - lo;
  const float k = 2.0f * j->p->alpha * j->p->beta / (float) j->p->size;
  for (long n = begin; n < end; n++)
    {
      const float *x = j->x + n * img, *dy = j->dy + n * img;
      float *dx = j->dx + n * img, *d = j->scratch + 2 * n * img, *t = d + img;
      denominators (j, x, d);
      for (int64_t i = 0; i < img; i++)
        {
          float pw = powf (d[i], -j->p->beta);
          t[i] = dy[i] * x[i] * pw / d[i];
          dx[i] = dy[i] * pw;
        }
      for (int64_t kc = 0; kc < j->c; kc++)
        {
          int64_t c0 = kc - hi < 0 ? 0 : kc - hi, c1 = kc + lo >= j->c ? j->c - 1 : kc + lo;
          float *dxk = dx + kc * S;
          const float *xk = x + kc * S;
          for (int64_t c = c0; c <= c1; c++)
            {
              const float *tc = t + c * S;
              for (int64_t i = 0; i < S; i++)
                dxk[i] -= k * xk[i] * tc[i];
            }
        }
    }
}

static GzStatus
lrn_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  const GzTensor *x = in[0];
  Job j = { .p = node->params,
            .c = x->dims[1],
            .plane = gz_shape_numel (x->ndim - 2, x->dims + 2),
            .x = x->data,
            .y = out[0]->data };
  if (j.p == NULL)
    return gz_op_error (err, GZ_ERR_ARGUMENT, node, "operator used before init");
  if ((j.scratch = gz_op_alloc_floats (node, gz_tensor_numel (x), err)) == NULL)
    return err != NULL ? err->code : GZ_ERR_NOMEM;
  gz_parallel_for (x->dims[0], gz_op_chunk ((double) j.c * j.plane * (j.p->size + 2)),
                   forward_images, &j);
  free (j.scratch);
  return GZ_OK;
}

static GzStatus
lrn_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
              const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode, GzError *err)
{
  const GzTensor *x = in[0];
  if (din[0] == NULL)
    return GZ_OK;
  if (dout[0] == NULL)
    {
      memset (din[0]->data, 0, (size_t) gz_tensor_numel (x) * sizeof (float));
      return GZ_OK;
    }
  Job j = { .p = node->params,
            .c = x->dims[1],
            .plane = gz_shape_numel (x->ndim - 2, x->dims + 2),
            .x = x->data,
            .dy = dout[0]->data,
            .dx = din[0]->data };
  if (j.p == NULL)
    return gz_op_error (err, GZ_ERR_ARGUMENT, node, "operator used before init");
  int64_t n = gz_tensor_numel (x);
  if (n > INT64_MAX / 2 || (j.scratch = gz_op_alloc_floats (node, 2 * n, err)) == NULL)
    return gz_op_error (err, GZ_ERR_NOMEM, node, "no memory for the LRN gradient");
  gz_parallel_for (x->dims[0], gz_op_chunk ((double) j.c * j.plane * (2 * j.p->size + 3)),
                   backward_images, &j);
  free (j.scratch);
  return GZ_OK;
}

const GzOpDef gz_op_lrn[] = {
  { "LRN", 1, lrn_init, lrn_infer, lrn_forward, lrn_backward, gz_op_free_params },
  GZ_OP_END,
};
