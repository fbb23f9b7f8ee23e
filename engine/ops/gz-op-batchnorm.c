/* op-batchnorm.c — BatchNormalization in inference mode (running statistics)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * y = (x - mean) / sqrt(var + epsilon) * scale + B per channel, i.e. an affine
 * map y = a_c x + b_c, so the input gradient is a_c dy. Training mode (batch
 * statistics, the extra running-statistic outputs) is refused: an explanation
 * always runs the network as it was exported for inference. Before opset 9,
 * spatial = 0 keeps statistics per activation (scale, B, mean, var shaped
 * like one image, C×D1×…): the same affine map with every activation its own
 * "channel" over planes of one element.
 */
#include <math.h>
#include <string.h>

#include "gz-op.h"

typedef struct
{
  float epsilon;
  bool per_activation; /* spatial = 0 (opsets < 9) */
} Params;

/* The affine map's channels and the elements each one covers per image. */
static void
bn_layout (const Params *p, const GzTensor *x, int64_t *c, int64_t *plane)
{
  if (p->per_activation)
    {
      *c = gz_shape_numel (x->ndim - 1, x->dims + 1);
      *plane = 1;
    }
  else
    {
      *c = x->dims[1];
      *plane = gz_shape_numel (x->ndim - 2, x->dims + 2);
    }
}

static GzStatus
bn_init (GzNode *node, int64_t opset, GzError *err)
{
  if (gz_node_attr_int (node, "training_mode", 0) != 0)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                        "training_mode = 1 is not supported (inference only)");
  for (int i = 1; i < node->n_outputs; i++)
    if (node->outputs[i] >= 0)
      return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                          "the training outputs (running mean/var, saved statistics) are "
                          "not supported (inference only)");
  Params *p = calloc (1, sizeof *p);
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_NOMEM, node, "out of memory");
  p->epsilon = gz_node_attr_float (node, "epsilon", 1e-5f);
  p->per_activation = opset < 9 && gz_node_attr_int (node, "spatial", 1) == 0;
  node->params = p;
  return GZ_OK;
}

static GzStatus
bn_check (const GzNode *node, const GzTensor *const *in, GzError *err)
{
  static const char *const names[] = { "X", "scale", "B", "mean", "var" };
  GzStatus st;
  char sx[160], sp[160];
  if (node->params == NULL)
    return gz_op_error (err, GZ_ERR_ARGUMENT, node, "operator used before init");
  for (int i = 0; i < 5; i++)
    if ((st = gz_op_need_float (node, in, i, names[i], err)) != GZ_OK)
      return st;
  const GzTensor *x = in[0];
  if (x->ndim < 2)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "input %s must have rank >= 2 (N,C,...)",
                        gz_op_shape_str (x->ndim, x->dims, sx, sizeof sx));
  const Params *p = node->params;
  int64_t c, plane;
  bn_layout (p, x, &c, &plane);
  for (int i = 1; i < 5; i++)
    {
      const GzTensor *t = in[i];
      /* spatial = 0: one image's shape, or flat */
      bool image_shaped = p->per_activation && t->ndim == x->ndim - 1
          && memcmp (t->dims, x->dims + 1, (size_t) t->ndim * sizeof *t->dims) == 0;
      if (!image_shaped && (t->ndim != 1 || t->dims[0] != c))
        return gz_op_error (err, GZ_ERR_SHAPE, node, "%s %s must be %s%lld] for the input %s",
                            names[i], gz_op_shape_str (t->ndim, t->dims, sp, sizeof sp),
                            p->per_activation ? "the input's C×D1×… (spatial = 0) or [" : "[",
                            (long long) c, gz_op_shape_str (x->ndim, x->dims, sx, sizeof sx));
    }
  return GZ_OK;
}

static GzStatus
bn_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st;
  if ((st = bn_check (node, in, err)) != GZ_OK
      || (st = gz_op_check_shape (node, in[0]->ndim, in[0]->dims, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], GZ_DTYPE_FLOAT, in[0]->ndim, in[0]->dims);
  return GZ_OK;
}

typedef struct
{
  int64_t c, plane;
  const float *a, *b, *x;
  float *y;
} Job;

static void
affine_planes (long begin, long end, void *data)
{
  const Job *j = data;
  for (long pl = begin; pl < end; pl++)
    {
      const float a = j->a[pl % j->c], b = j->b != NULL ? j->b[pl % j->c] : 0.0f;
      const float *x = j->x + pl * j->plane;
      float *y = j->y + pl * j->plane;
      for (int64_t i = 0; i < j->plane; i++)
        y[i] = a * x[i] + b;
    }
}

/* a_c = scale / sqrt(var + eps), b_c = B - mean a_c; 2C floats from one malloc. */
static float *
coefficients (const GzNode *node, const GzTensor *const *in, GzError *err)
{
  const Params *p = node->params;
  int64_t c, plane;
  bn_layout (p, in[0], &c, &plane);
  float *ab = gz_op_alloc_floats (node, 2 * c, err);
  if (ab == NULL)
    return NULL;
  const float *scale = in[1]->data, *bias = in[2]->data, *mean = in[3]->data, *var = in[4]->data;
  for (int64_t i = 0; i < c; i++)
    {
      ab[i] = scale[i] / sqrtf (var[i] + p->epsilon);
      ab[c + i] = bias[i] - mean[i] * ab[i];
    }
  return ab;
}

static GzStatus
bn_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st;
  if ((st = bn_check (node, in, err)) != GZ_OK)
    return st;
  float *ab = coefficients (node, in, err);
  if (ab == NULL)
    return err != NULL ? err->code : GZ_ERR_NOMEM;
  const GzTensor *x = in[0];
  Job j = { .a = ab, .x = x->data, .y = out[0]->data };
  bn_layout (node->params, x, &j.c, &j.plane);
  j.b = ab + j.c;
  gz_parallel_for (x->dims[0] * j.c, gz_op_chunk (j.plane), affine_planes, &j);
  free (ab);
  return GZ_OK;
}

static GzStatus
bn_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
             const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode, GzError *err)
{
  const Params *p = node->params;
  GzStatus st;
  if ((st = bn_check (node, in, err)) != GZ_OK)
    return st;
  const GzTensor *x = in[0];
  int64_t c, plane, n = x->dims[0];
  bn_layout (p, x, &c, &plane);
  if (dout[0] == NULL)
    {
      for (int i = 0; i < 5 && i < node->n_inputs; i++)
        if (din[i] != NULL)
          memset (din[i]->data, 0, (size_t) gz_tensor_numel (din[i]) * sizeof (float));
      return GZ_OK;
    }
  float *ab = coefficients (node, in, err);
  if (ab == NULL)
    return err != NULL ? err->code : GZ_ERR_NOMEM;
  const float *dy = dout[0]->data;
  if (din[0] != NULL)
    {
      Job j = { .c = c, .plane = plane, .a = ab, .b = NULL, .x = dy, .y = din[0]->data };
      gz_parallel_for (n * c, gz_op_chunk (plane), affine_planes, &j);
    }
  /* Parameter gradients, when asked: from sums of dy and dy (x - mean) per channel. */
  bool params = false;
  for (int i = 1; i < 5 && i < node->n_inputs; i++)
    params = params || din[i] != NULL;
  if (params)
    {
      const float *xs = x->data, *scale = in[1]->data, *mean = in[3]->data, *var = in[4]->data;
      for (int64_t ci = 0; ci < c; ci++)
        {
          double s_dy = 0.0, s_dyxc = 0.0;
          for (int64_t ni = 0; ni < n; ni++)
            {
              const float *g = dy + (ni * c + ci) * plane, *xv = xs + (ni * c + ci) * plane;
              for (int64_t i = 0; i < plane; i++)
                {
                  s_dy += g[i];
                  s_dyxc += (double) g[i] * (xv[i] - mean[ci]);
                }
            }
          double inv = 1.0 / sqrt ((double) var[ci] + p->epsilon);
          if (din[1] != NULL)
            gz_tensor_f (din[1])[ci] = (float) (s_dyxc * inv);
          if (din[2] != NULL)
            gz_tensor_f (din[2])[ci] = (float) s_dy;
          if (din[3] != NULL)
            gz_tensor_f (din[3])[ci] = (float) (-s_dy * ab[ci]);
          if (din[4] != NULL)
            gz_tensor_f (din[4])[ci] = (float) (-0.5 * s_dyxc * scale[ci] * inv * inv * inv);
        }
    }
  free (ab);
  return GZ_OK;
}

const GzOpDef gz_op_batchnorm[] = {
  {
      .op_type = "BatchNormalization",
      .min_opset = 1,
      .init = bn_init,
      .infer = bn_infer,
      .forward = bn_forward,
      .backward = bn_backward,
      .free_params = gz_op_free_params,
  },
  GZ_OP_END,
};
