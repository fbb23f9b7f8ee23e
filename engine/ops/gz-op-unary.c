/* op-unary.c — element-wise activations and math: Relu, LeakyRelu, Clip, Sigmoid,
 * HardSigmoid, HardSwish, Tanh, Erf, Sqrt, Exp, Log, Neg, Abs, Reciprocal, Elu, Celu,
 * Selu, Softplus, Softsign, ThresholdedRelu, Sin, Cos, Floor, Ceil, Round
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One family: the op type picks a kind at init; forward and backward are a
 * switch outside a flat loop split across the engine's threads. Derivatives
 * at kinks follow PyTorch (Relu' (0) = 0, Clip passes the gradient only
 * strictly inside its bounds). Guided backprop (GZ_RELU_GUIDED) applies to
 * Relu and to Clip with a lower bound of 0 (ReLU6).
 */
#include <math.h>
#include <string.h>

#include "gz-op.h"
#include "kernels/gz-conv-kernels.h"

typedef enum
{
  K_RELU,
  K_LEAKYRELU,
  K_CLIP,
  K_SIGMOID,
  K_HARDSIGMOID,
  K_HARDSWISH,
  K_TANH,
  K_ERF,
  K_SQRT,
  K_EXP,
  K_LOG,
  K_NEG,
  K_ABS,
  K_RECIPROCAL,
  K_ELU,
  K_CELU,
  K_SELU,
  K_SOFTPLUS,
  K_SOFTSIGN,
  K_THRESHOLDEDRELU,
  K_SIN,
  K_COS,
  K_FLOOR,
  K_CEIL,
  K_ROUND,
} Kind;

typedef struct
{
  Kind kind;
  float alpha, beta;
  float lo, hi; /* Clip bounds from attributes (opset < 11) */
  bool clip_inputs; /* opset >= 11: bounds are inputs 1 and 2 */
} Params;

static GzStatus
unary_init (GzNode *node, int64_t opset, GzError *err)
{
  Params *p = calloc (1, sizeof *p);
  if (p == NULL)
    return gz_op_error (err, GZ_ERR_NOMEM, node, "out of memory");
  p->kind = *(const Kind *) node->op->data;
  switch (p->kind)
    {
      case K_LEAKYRELU:
        p->alpha = gz_node_attr_float (node, "alpha", 0.01f);
        break;
      case K_HARDSIGMOID:
        p->alpha = gz_node_attr_float (node, "alpha", 0.2f);
        p->beta = gz_node_attr_float (node, "beta", 0.5f);
        break;
      case K_ELU:
      case K_CELU:
      case K_THRESHOLDEDRELU:
        p->alpha = gz_node_attr_float (node, "alpha", 1.0f);
        if (p->kind == K_CELU && p->alpha == 0.0f)
          {
            free (p);
            return gz_op_error (err, GZ_ERR_ARGUMENT, node, "Celu needs alpha != 0");
          }
        break;
      case K_SELU:
        p->alpha = gz_node_attr_float (node, "alpha", 1.67326319217681884765625f);
        p->beta = gz_node_attr_float (node, "gamma", 1.05070102214813232421875f);
        break;
      case K_CLIP:
        p->clip_inputs = opset >= 11;
        p->lo = gz_node_attr_float (node, "min", -INFINITY);
        p->hi = gz_node_attr_float (node, "max", INFINITY);
        break;
      default:
        break;
    }
  node->params = p;
  return GZ_OK;
}

static GzStatus
get_params (const GzNode *node, const Params **p, GzError *err)
{
  *p = node->params;
  if (*p == NULL)
    return gz_op_error (err, GZ_ERR_ARGUMENT, node, "operator used before init");
  return GZ_OK;
}

/* Clip bounds for this call: attributes, or the optional scalar inputs. */
static GzStatus
clip_bounds (const GzNode *node, const Params *p, const GzTensor *const *in, float *lo, float *hi,
             GzError *err)
{
  *lo = p->lo;
  *hi = p->hi;
  if (!p->clip_inputs)
    return GZ_OK;
  *lo = -INFINITY;
  *hi = INFINITY;
  for (int i = 1; i <= 2; i++)
    {
      const GzTensor *t = gz_op_input (node, in, i);
      if (t == NULL)
        continue;
      if (gz_tensor_numel (t) != 1)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "%s must be a scalar", i == 1 ? "min" : "max");
      if (t->data == NULL)
        return GZ_OK; /* shape inference: values not known yet */
      float v = t->dtype == GZ_DTYPE_INT64 ? (float) ((const int64_t *) t->data)[0]
                                           : ((const float *) t->data)[0];
      if (i == 1)
        *lo = v;
      else
        *hi = v;
    }
  return GZ_OK;
}

static GzStatus
unary_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  const Params *p;
  GzStatus st;
  float lo, hi;
  if ((st = get_params (node, &p, err)) != GZ_OK)
    return st;
  const GzTensor *x = gz_op_input (node, in, 0);
  if (x == NULL)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "input is missing");
  bool int_ok = p->kind == K_NEG || p->kind == K_ABS || p->kind == K_RELU;
  if (x->dtype != GZ_DTYPE_FLOAT && !(int_ok && x->dtype == GZ_DTYPE_INT64))
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node,
                        "input has data type %d; only float32 is supported", (int) x->dtype);
  if (p->kind == K_CLIP && (st = clip_bounds (node, p, in, &lo, &hi, err)) != GZ_OK)
    return st;
  if ((st = gz_op_check_shape (node, x->ndim, x->dims, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], x->dtype, x->ndim, x->dims);
  return GZ_OK;
}

typedef struct
{
  const Params *p;
  float lo, hi;
  const float *x, *y, *dy;
  float *out;
  bool guided;
} Job;

/* y = min (max (x, lo), hi) with vector selects: a data-dependent branch per
 * element costs far more than the arithmetic (activations are half negative).
 * NaN inputs give lo (like max (NaN, 0) = 0 for Relu). */
static void
clamp_range (const float *x, float *y, long b, long e, float lo, float hi)
{
  const gz_op_v4 lov = { lo, lo, lo, lo }, hiv = { hi, hi, hi, hi };
  long i = b;
  for (; i + 4 <= e; i += 4)
    {
      gz_op_v4 v;
      memcpy (&v, x + i, sizeof v);
      gz_op_v4i keep = v > lov; /* false for NaN: take lo */
      v = (gz_op_v4) (((gz_op_v4i) v & keep) | ((gz_op_v4i) lov & ~keep));
      gz_op_v4i over = v > hiv;
      v = (gz_op_v4) (((gz_op_v4i) hiv & over) | ((gz_op_v4i) v & ~over));
      memcpy (y + i, &v, sizeof v);
    }
  for (; i < e; i++)
    {
      float v = x[i] > lo ? x[i] : lo;
      y[i] = v > hi ? hi : v;
    }
}

/* dx = dy where lo < x < hi (and dy > 0 when guided), else 0. */
static void
clamp_grad_range (const float *x, const float *dy, float *dx, long b, long e, float lo, float hi,
                  bool guided)
{
  const gz_op_v4 lov = { lo, lo, lo, lo }, hiv = { hi, hi, hi, hi }, zero = { 0, 0, 0, 0 };
  long i = b;
  for (; i + 4 <= e; i += 4)
    {
      gz_op_v4 v, g;
      memcpy (&v, x + i, sizeof v);
      memcpy (&g, dy + i, sizeof g);
      gz_op_v4i pass = (v > lov) & (v < hiv);
      if (guided)
        pass &= g > zero;
      g = (gz_op_v4) ((gz_op_v4i) g & pass);
      memcpy (dx + i, &g, sizeof g);
    }
  for (; i < e; i++)
    dx[i] = x[i] > lo && x[i] < hi && (!guided || dy[i] > 0.0f) ? dy[i] : 0.0f;
}

static void
forward_range (long b, long e, void *data)
{
  const Job *j = data;
  const float *x = j->x;
  float *y = j->out;
  const float a = j->p->alpha, be = j->p->beta;
  switch (j->p->kind)
    {
      case K_RELU:
        clamp_range (x, y, b, e, 0.0f, INFINITY);
        break;
      case K_LEAKYRELU:
        for (long i = b; i < e; i++)
          y[i] = x[i] >= 0.0f ? x[i] : a * x[i];
        break;
      case K_CLIP:
        clamp_range (x, y, b, e, j->lo, j->hi);
        break;
      case K_SIGMOID: /* AVX-512/AVX2 when available (gz-conv-kernels.c) */
        gz_vec_sigmoid (x + b, y + b, e - b);
        break;
      case K_HARDSIGMOID:
        for (long i = b; i < e; i++)
          y[i] = fmaxf (0.0f, fminf (1.0f, a * x[i] + be));
        break;
      case K_HARDSWISH:
        for (long i = b; i < e; i++)
          y[i] = x[i] * fmaxf (0.0f, fminf (1.0f, x[i] / 6.0f + 0.5f));
        break;
      case K_TANH:
        for (long i = b; i < e; i++)
          y[i] = tanhf (x[i]);
        break;
      case K_ERF:
        for (long i = b; i < e; i++)
          y[i] = erff (x[i]);
        break;
      case K_SQRT:
        for (long i = b; i < e; i++)
          y[i] = sqrtf (x[i]);
        break;
      case K_EXP:
        for (long i = b; i < e; i++)
          y[i] = expf (x[i]);
        break;
      case K_LOG:
        for (long i = b; i < e; i++)
          y[i] = logf (x[i]);
        break;
      case K_NEG:
        for (long i = b; i < e; i++)
          y[i] = -x[i];
        break;
      case K_ABS:
        for (long i = b; i < e; i++)
          y[i] = fabsf (x[i]);
        break;
      case K_RECIPROCAL:
        for (long i = b; i < e; i++)
          y[i] = 1.0f / x[i];
        break;
      case K_ELU:
        for (long i = b; i < e; i++)
          y[i] = x[i] > 0.0f ? x[i] : a * expm1f (x[i]);
        break;
      case K_CELU:
        for (long i = b; i < e; i++)
          y[i] = x[i] > 0.0f ? x[i] : a * expm1f (x[i] / a);
        break;
      case K_SELU: /* alpha, gamma (kept in beta) */
        for (long i = b; i < e; i++)
          y[i] = x[i] > 0.0f ? be * x[i] : be * a * expm1f (x[i]);
        break;
      case K_SOFTPLUS:
        for (long i = b; i < e; i++)
          y[i] = x[i] > 0.0f ? x[i] + log1pf (expf (-x[i])) : log1pf (expf (x[i]));
        break;
      case K_SOFTSIGN:
        for (long i = b; i < e; i++)
          y[i] = x[i] / (1.0f + fabsf (x[i]));
        break;
      case K_THRESHOLDEDRELU:
        for (long i = b; i < e; i++)
          y[i] = x[i] > a ? x[i] : 0.0f;
        break;
      case K_SIN:
        for (long i = b; i < e; i++)
          y[i] = sinf (x[i]);
        break;
      case K_COS:
        for (long i = b; i < e; i++)
          y[i] = cosf (x[i]);
        break;
      case K_FLOOR:
        for (long i = b; i < e; i++)
          y[i] = floorf (x[i]);
        break;
      case K_CEIL:
        for (long i = b; i < e; i++)
          y[i] = ceilf (x[i]);
        break;
      case K_ROUND: /* halves to even, as ONNX asks */
        for (long i = b; i < e; i++)
          y[i] = nearbyintf (x[i]);
        break;
    }
}

static GzStatus
unary_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  const Params *p;
  GzStatus st;
  Job j = { 0 };
  if ((st = get_params (node, &p, err)) != GZ_OK)
    return st;
  int64_t n = gz_tensor_numel (in[0]);
  if (in[0]->dtype == GZ_DTYPE_INT64)
    {
      const int64_t *x = in[0]->data;
      int64_t *y = out[0]->data;
      for (int64_t i = 0; i < n; i++)
        y[i] = p->kind == K_NEG ? -x[i]
            : p->kind == K_ABS  ? (x[i] < 0 ? -x[i] : x[i])
                                : (x[i] > 0 ? x[i] : 0);
      return GZ_OK;
    }
  j.p = p;
  if (p->kind == K_CLIP && (st = clip_bounds (node, p, in, &j.lo, &j.hi, err)) != GZ_OK)
    return st;
  j.x = in[0]->data;
  j.out = out[0]->data;
  gz_parallel_for (n, GZ_OP_MIN_WORK, forward_range, &j);
  return GZ_OK;
}

static void
backward_range (long b, long e, void *data)
{
  const Job *j = data;
  const float *x = j->x, *y = j->y, *dy = j->dy;
  float *dx = j->out;
  const float a = j->p->alpha, be = j->p->beta;
  switch (j->p->kind)
    {
      case K_RELU:
        clamp_grad_range (x, dy, dx, b, e, 0.0f, INFINITY, j->guided);
        break;
      case K_LEAKYRELU:
        for (long i = b; i < e; i++)
          dx[i] = x[i] > 0.0f ? dy[i] : a * dy[i];
        break;
      case K_CLIP:
        clamp_grad_range (x, dy, dx, b, e, j->lo, j->hi, j->guided);
        break;
      case K_SIGMOID:
        for (long i = b; i < e; i++)
          dx[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
      case K_HARDSIGMOID:
        for (long i = b; i < e; i++)
          {
            float v = a * x[i] + be;
            dx[i] = v > 0.0f && v < 1.0f ? a * dy[i] : 0.0f;
          }
        break;
      case K_HARDSWISH:
        for (long i = b; i < e; i++)
          dx[i] = x[i] < -3.0f ? 0.0f : x[i] > 3.0f ? dy[i] : dy[i] * (2.0f * x[i] + 3.0f) / 6.0f;
        break;
      case K_TANH:
        for (long i = b; i < e; i++)
          dx[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
      case K_ERF:
        for (long i = b; i < e; i++)
          dx[i] = dy[i] * 1.12837916709551257f * expf (-x[i] * x[i]);
        break;
      case K_SQRT:
        for (long i = b; i < e; i++)
          dx[i] = dy[i] * 0.5f / y[i];
        break;
      case K_EXP:
        for (long i = b; i < e; i++)
          dx[i] = dy[i] * y[i];
        break;
      case K_LOG:
        for (long i = b; i < e; i++)
          dx[i] = dy[i] / x[i];
        break;
      case K_NEG:
        for (long i = b; i < e; i++)
          dx[i] = -dy[i];
        break;
      case K_ABS:
        for (long i = b; i < e; i++)
          dx[i] = x[i] > 0.0f ? dy[i] : x[i] < 0.0f ? -dy[i] : 0.0f;
        break;
      case K_RECIPROCAL:
        for (long i = b; i < e; i++)
          dx[i] = -dy[i] * y[i] * y[i];
        break;
      case K_ELU:
        for (long i = b; i < e; i++)
          dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * (y[i] + a);
        break;
      case K_CELU:
        for (long i = b; i < e; i++)
          dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * expf (x[i] / a);
        break;
      case K_SELU:
        for (long i = b; i < e; i++)
          dx[i] = x[i] > 0.0f ? be * dy[i] : dy[i] * (y[i] + be * a);
        break;
      case K_SOFTPLUS: /* the derivative is the logistic sigmoid */
        for (long i = b; i < e; i++)
          dx[i] = dy[i]
              * (x[i] >= 0.0f ? 1.0f / (1.0f + expf (-x[i])) : expf (x[i]) / (1.0f + expf (x[i])));
        break;
      case K_SOFTSIGN:
        for (long i = b; i < e; i++)
          {
            float d = 1.0f + fabsf (x[i]);
            dx[i] = dy[i] / (d * d);
          }
        break;
      case K_THRESHOLDEDRELU:
        for (long i = b; i < e; i++)
          dx[i] = x[i] > a ? dy[i] : 0.0f;
        break;
      case K_SIN:
        for (long i = b; i < e; i++)
          dx[i] = dy[i] * cosf (x[i]);
        break;
      case K_COS:
        for (long i = b; i < e; i++)
          dx[i] = -dy[i] * sinf (x[i]);
        break;
      case K_FLOOR: /* piecewise constant */
      case K_CEIL:
      case K_ROUND:
        for (long i = b; i < e; i++)
          dx[i] = 0.0f;
        break;
    }
}

static GzStatus
unary_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                GzError *err)
{
  const Params *p;
  GzStatus st;
  Job j = { 0 };
  if ((st = get_params (node, &p, err)) != GZ_OK)
    return st;
  /* Gradients to Clip's bounds are not defined here; only the data input. */
  for (int i = 1; i < node->n_inputs; i++)
    if (din[i] != NULL)
      memset (din[i]->data, 0, (size_t) gz_tensor_numel (din[i]) * gz_dtype_size (din[i]->dtype));
  if (din[0] == NULL)
    return GZ_OK;
  if (in[0]->dtype != GZ_DTYPE_FLOAT)
    return gz_op_error (err, GZ_ERR_UNSUPPORTED, node, "no gradient through integer data");
  int64_t n = gz_tensor_numel (in[0]);
  if (dout[0] == NULL)
    {
      memset (din[0]->data, 0, (size_t) n * sizeof (float));
      return GZ_OK;
    }
  j.p = p;
  if (p->kind == K_CLIP && (st = clip_bounds (node, p, in, &j.lo, &j.hi, err)) != GZ_OK)
    return st;
  j.guided
      = relu_mode == GZ_RELU_GUIDED && (p->kind == K_RELU || (p->kind == K_CLIP && j.lo == 0.0f));
  j.x = in[0]->data;
  j.y = out[0]->data;
  j.dy = dout[0]->data;
  j.out = din[0]->data;
  gz_parallel_for (n, GZ_OP_MIN_WORK, backward_range, &j);
  return GZ_OK;
}

/* One row per member: the kind rides in `data`. */
#define UNARY(type, kind)                                                                   \
  {                                                                                         \
    .op_type = type, .min_opset = 1, .init = unary_init, .infer = unary_infer,              \
    .forward = unary_forward, .backward = unary_backward, .free_params = gz_op_free_params, \
    .data = &(const Kind){ kind },                                                          \
  }

const GzOpDef gz_op_unary[] = {
  UNARY ("Relu", K_RELU),
  UNARY ("LeakyRelu", K_LEAKYRELU),
  UNARY ("Clip", K_CLIP),
  UNARY ("Sigmoid", K_SIGMOID),
  UNARY ("HardSigmoid", K_HARDSIGMOID),
  UNARY ("HardSwish", K_HARDSWISH),
  UNARY ("Tanh", K_TANH),
  UNARY ("Erf", K_ERF),
  UNARY ("Sqrt", K_SQRT),
  UNARY ("Exp", K_EXP),
  UNARY ("Log", K_LOG),
  UNARY ("Neg", K_NEG),
  UNARY ("Abs", K_ABS),
  UNARY ("Reciprocal", K_RECIPROCAL),
  UNARY ("Elu", K_ELU),
  UNARY ("Celu", K_CELU),
  UNARY ("Selu", K_SELU),
  UNARY ("Softplus", K_SOFTPLUS),
  UNARY ("Softsign", K_SOFTSIGN),
  UNARY ("ThresholdedRelu", K_THRESHOLDEDRELU),
  UNARY ("Sin", K_SIN),
  UNARY ("Cos", K_COS),
  UNARY ("Floor", K_FLOOR),
  UNARY ("Ceil", K_CEIL),
  UNARY ("Round", K_ROUND),
  GZ_OP_END,
};
