/* fuzz-forward.c — libFuzzer target: small graphs decoded from the fuzz bytes, run forward and back
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The bytes are a compact program: an input shape, then up to MAX_OPS
 * operators, each an op code, operand choices and attribute bytes. Weights come
 * from a PRNG seeded by the bytes (with NaN/Inf/huge values on request). The
 * graph is written as ONNX protobuf and loaded through gz_model_load_mem, so the
 * loader, shape inference, folding, the session, preprocessing and every
 * operator's forward and backward run on it. After each operator the partial
 * model is loaded to learn the new value's shape (an operator the engine
 * refuses is dropped), so later operators get weights that fit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"
#include "onnx-builder.h"

/* ---- Reading the program ------------------------------------------------ */

typedef struct
{
  const uint8_t *p;
  size_t n;
} Bytes;

static unsigned
take (Bytes *b)
{
  if (b->n == 0)
    return 0;
  b->n--;
  return *b->p++;
}

static uint32_t rng_state;

static uint32_t
rng (void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

static int special_values; /* 0 none, else a mix of NaN, Inf, huge, denormal */

static float
rand_weight (void)
{
  if (special_values && rng () % 16 == 0)
    {
      static const float specials[] = { NAN, INFINITY, -INFINITY, 3e38f, -3e38f, 1e-40f, 0.0f };
      return specials[rng () % (sizeof specials / sizeof specials[0])];
    }
  return ((float) (rng () % 2001) - 1000.0f) / 1000.0f;
}

/* ---- The graph being built --------------------------------------------- */

enum
{
  MAX_OPS = 8,
  MAX_VALUES = 48,
  MAX_INITS = 48
};

typedef struct
{
  int ndim;
  int64_t dims[GZ_MAX_DIMS];
} Shape;

typedef struct
{
  OnnxBuilder b; /* the nodes and initializers so far (tests/common/onnx-builder.h) */
  int n_values;
  Shape shapes[MAX_VALUES]; /* value i is named "v<i>"; v0 is the input */
  int n_inits;
  int input_c, input_h, input_w;
  bool symbolic_batch;
} Net;

static void
value_name (char *buf, size_t n, int v)
{
  snprintf (buf, n, "v%d", v);
}

static void
add_tensor (Net *net, const char *name, int ndim, const int64_t *dims, bool int64, const void *data)
{
  if (int64)
    onnx_add_initializer_i64 (&net->b, name, ndim, dims, data);
  else
    onnx_add_initializer_f (&net->b, name, ndim, dims, data);
}

/* A float initializer of the given shape with PRNG values; returns its name. */
static const char *
add_weight (Net *net, char *name, size_t name_len, int ndim, const int64_t *dims)
{
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= dims[i];
  float *data = malloc ((size_t) (n > 0 ? n : 1) * sizeof *data);
  if (data == NULL)
    abort ();
  for (int64_t i = 0; i < n; i++)
    data[i] = rand_weight ();
  snprintf (name, name_len, "w%d", net->n_inits++);
  add_tensor (net, name, ndim, dims, false, data);
  free (data);
  return name;
}

static const char *
add_ints (Net *net, char *name, size_t name_len, int n, const int64_t *values)
{
  int64_t dims[1] = { n };
  snprintf (name, name_len, "w%d", net->n_inits++);
  add_tensor (net, name, 1, dims, true, values);
  return name;
}

/* Attributes gathered before their node exists, attached by add_node. */
enum
{
  MAX_ATTRS = 6,
  MAX_ATTR_INTS = 8
};

typedef struct
{
  int n;
  struct
  {
    Onnx__AttributeProto__AttributeType type;
    const char *name, *s; /* string literals */
    int64_t i, ints[MAX_ATTR_INTS];
    float f;
    int n_ints;
  } list[MAX_ATTRS];
} Attrs;

#define ATTR_NEXT(a, t, nm)                                            \
  if ((a)->n == MAX_ATTRS)                                             \
    abort ();                                                          \
  (a)->list[(a)->n].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__##t; \
  (a)->list[(a)->n].name = (nm)

static void
attr_int (Attrs *a, const char *name, int64_t v)
{
  ATTR_NEXT (a, INT, name);
  a->list[a->n++].i = v;
}

static void
attr_float (Attrs *a, const char *name, float v)
{
  ATTR_NEXT (a, FLOAT, name);
  a->list[a->n++].f = v;
}

static void
attr_ints (Attrs *a, const char *name, int n, const int64_t *v)
{
  if (n > MAX_ATTR_INTS)
    abort ();
  ATTR_NEXT (a, INTS, name);
  memcpy (a->list[a->n].ints, v, sizeof (int64_t) * (size_t) n);
  a->list[a->n++].n_ints = n;
}

static void
attr_string (Attrs *a, const char *name, const char *s)
{
  ATTR_NEXT (a, STRING, name);
  a->list[a->n++].s = s;
}

/* Appends a node: inputs by name (NULL: omitted optional input ""), n_out
 * fresh outputs v<n_values>…; returns the first output's value index. */
static int
add_node (Net *net, const char *op, int n_in, const char *const *inputs, int n_out, Attrs *attrs)
{
  const char *in[8], *out[8];
  char names[8][16];
  int first = net->n_values;
  for (int i = 0; i < n_in; i++)
    in[i] = inputs[i] != NULL ? inputs[i] : "";
  in[n_in] = NULL;
  for (int j = 0; j < n_out; j++)
    {
      value_name (names[j], sizeof names[j], net->n_values++);
      out[j] = names[j];
    }
  out[n_out] = NULL;
  Onnx__NodeProto *node = onnx_add_node (&net->b, op, NULL, in, out);
  for (int k = 0; attrs != NULL && k < attrs->n; k++)
    {
      const char *name = attrs->list[k].name;
      switch (attrs->list[k].type)
        {
          case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
            onnx_attr_int (&net->b, node, name, attrs->list[k].i);
            break;
          case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
            onnx_attr_float (&net->b, node, name, attrs->list[k].f);
            break;
          case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
            onnx_attr_ints (&net->b, node, name, attrs->list[k].n_ints, attrs->list[k].ints);
            break;
          default:
            onnx_attr_string (&net->b, node, name, attrs->list[k].s);
            break;
        }
    }
  return first;
}

/* The model with input v0 (float [N|1, C, H, W]) and value `output` as the
 * graph output, without a declared type: the engine infers it. */
static uint8_t *
serialise (Net *net, int output, size_t *len)
{
  int64_t dims[4] = { net->symbolic_batch ? -1 : 1, net->input_c, net->input_h, net->input_w };
  char name[16];
  value_name (name, sizeof name, output);
  net->b.graph.n_input = net->b.graph.n_output = 0;
  onnx_add_input (&net->b, "v0", 4, dims);
  Onnx__ValueInfoProto *out = onnx_value_info (&net->b, name, 1, -1, NULL);
  out->type = NULL;
  net->b.graph.output = onnx_builder_alloc (&net->b, sizeof (void *));
  net->b.graph.output[0] = out;
  net->b.graph.n_output = 1;
  return onnx_builder_pack (&net->b, len);
}

/* ---- Operators ---------------------------------------------------------- */

static const char *const unary_ops[] = {
  "Relu", "Sigmoid", "Tanh",       "Abs",       "Neg",      "Exp",     "Sqrt",
  "Log",  "Erf",     "Reciprocal", "HardSwish", "Identity", "Dropout",
};
static const char *const binary_ops[] = { "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min" };
static const char *const reduce_ops[] = {
  "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL1", "ReduceL2", "ReduceSumSquare",
};

#define N_OF(a) ((int) (sizeof (a) / sizeof (a)[0]))

/* Emits one operator reading value `x` (and maybe `y`); returns its output's
 * value index or -1 when the bytes describe nothing. */
static int
emit_op (Net *net, Bytes *b, int x, int y)
{
  const Shape *s = &net->shapes[x];
  char xn[16], yn[16], w1[16], w2[16], w3[16], w4[16], w5[16];
  value_name (xn, sizeof xn, x);
  value_name (yn, sizeof yn, y);
  Attrs a = { 0 };
  int out = -1;
  unsigned code = take (b) % 24;
  unsigned p0 = take (b), p1 = take (b), p2 = take (b);
  int64_t c = s->ndim >= 2 ? s->dims[1] : 1;
  switch (code)
    {
      case 0: /* Conv */
      case 1:
        {
          int64_t group = (p0 & 1) && c > 0 ? c : 1;
          int64_t m = group > 1 ? group * (1 + (p1 >> 6) % 2) : 1 + p1 % 4;
          int64_t k = 1 + p2 % 3;
          int64_t wd[4] = { m, group > 0 ? c / group : c, k, 1 + (p2 >> 2) % 3 };
          add_weight (net, w1, sizeof w1, 4, wd);
          const char *in[3] = { xn, w1, NULL };
          int n_in = 2;
          if (p0 & 2)
            {
              int64_t bd[1] = { m };
              in[2] = add_weight (net, w2, sizeof w2, 1, bd);
              n_in = 3;
            }
          attr_int (&a, "group", group);
          if (p0 & 4)
            {
              int64_t st[2] = { 1 + (p0 >> 3) % 2, 1 + (p0 >> 4) % 3 };
              attr_ints (&a, "strides", 2, st);
            }
          if (p0 & 32)
            {
              int64_t pads[4] = { p1 % 2, (p1 >> 1) % 3, (p1 >> 2) % 2, (p1 >> 3) % 3 };
              attr_ints (&a, "pads", 4, pads);
            }
          else if (p0 & 64)
            attr_string (&a, "auto_pad", (p2 & 0x80) ? "SAME_UPPER" : "SAME_LOWER");
          if (p0 & 128)
            {
              int64_t dil[2] = { 1 + (p2 >> 5) % 2, 1 + (p2 >> 6) % 2 };
              attr_ints (&a, "dilations", 2, dil);
            }
          out = add_node (net, "Conv", n_in, in, 1, &a);
        }
        break;
      case 2: /* unary */
      case 3:
        out = add_node (net, unary_ops[p0 % N_OF (unary_ops)], 1, (const char *[]){ xn }, 1, NULL);
        break;
      case 4: /* parameterised unary */
        switch (p0 % 4)
          {
            case 0:
              attr_float (&a, "alpha", (float) p1 / 64.0f - 2.0f);
              out = add_node (net, "LeakyRelu", 1, (const char *[]){ xn }, 1, &a);
              break;
            case 1:
              attr_float (&a, "alpha", (float) p1 / 128.0f);
              attr_float (&a, "beta", (float) p2 / 255.0f);
              out = add_node (net, "HardSigmoid", 1, (const char *[]){ xn }, 1, &a);
              break;
            default:
              {
                int64_t sd[1] = { 0 }; /* rank 0: unused */
                float lo = (float) p1 / 32.0f - 4.0f, hi = (float) p2 / 32.0f - 4.0f;
                snprintf (w1, sizeof w1, "w%d", net->n_inits++);
                add_tensor (net, w1, 0, sd, false, &lo);
                snprintf (w2, sizeof w2, "w%d", net->n_inits++);
                add_tensor (net, w2, 0, sd, false, &hi);
                const char *in[3] = { xn, (p0 & 4) ? NULL : w1, w2 };
                out = add_node (net, "Clip", 3, in, 1, NULL);
              }
          }
        break;
      case 5: /* binary with another value */
        out = add_node (net, binary_ops[p0 % N_OF (binary_ops)], 2, (const char *[]){ xn, yn }, 1,
                        NULL);
        break;
      case 6: /* binary with a constant that broadcasts: [C,1,1], scalar, or the full shape */
        {
          Shape ws = { 0 };
          if (p1 % 3 == 0 && s->ndim >= 3)
            {
              ws.ndim = 3;
              ws.dims[0] = c;
              ws.dims[1] = ws.dims[2] = 1;
            }
          else if (p1 % 3 == 1)
            ws = *s;
          add_weight (net, w1, sizeof w1, ws.ndim, ws.dims);
          const char *in[2] = { (p2 & 1) ? w1 : xn, (p2 & 1) ? xn : w1 };
          out = add_node (net, binary_ops[p0 % N_OF (binary_ops)], 2, in, 1, NULL);
        }
        break;
      case 7: /* pooling */
        {
          int64_t k[2] = { 1 + p1 % 3, 1 + (p1 >> 2) % 3 };
          attr_ints (&a, "kernel_shape", 2, k);
          if (p0 & 2)
            {
              int64_t st[2] = { 1 + (p2 & 1), 1 + ((p2 >> 1) % 3) };
              attr_ints (&a, "strides", 2, st);
            }
          if (p0 & 4)
            {
              int64_t pads[4] = { (p2 >> 3) % 2, (p2 >> 4) % 2, (p2 >> 5) % 2, (p2 >> 6) % 3 };
              attr_ints (&a, "pads", 4, pads);
            }
          if (p0 & 8)
            attr_int (&a, "ceil_mode", 1);
          if (p0 & 16)
            attr_int (&a, "count_include_pad", 1);
          out = add_node (net, (p0 & 1) ? "MaxPool" : "AveragePool", 1, (const char *[]){ xn }, 1,
                          &a);
        }
        break;
      case 8:
        out = add_node (net, (p0 & 1) ? "GlobalMaxPool" : "GlobalAveragePool", 1,
                        (const char *[]){ xn }, 1, NULL);
        break;
      case 9: /* BatchNormalization */
        {
          int64_t d[1] = { c };
          add_weight (net, w1, sizeof w1, 1, d);
          add_weight (net, w2, sizeof w2, 1, d);
          add_weight (net, w3, sizeof w3, 1, d);
          add_weight (net, w4, sizeof w4, 1, d);
          if (p0 & 1)
            attr_float (&a, "epsilon", (float) p1 * 1e-3f);
          out = add_node (net, "BatchNormalization", 5, (const char *[]){ xn, w1, w2, w3, w4 }, 1,
                          &a);
        }
        break;
      case 10: /* Flatten */
        attr_int (&a, "axis", (int) (p0 % 5) - 1);
        out = add_node (net, "Flatten", 1, (const char *[]){ xn }, 1, &a);
        break;
      case 11: /* Gemm on [M,K] */
        {
          int64_t k = s->ndim == 2 ? s->dims[1] : 1, n = 1 + p1 % 6;
          bool tb = p0 & 1;
          int64_t wd[2] = { tb ? n : k, tb ? k : n };
          add_weight (net, w1, sizeof w1, 2, wd);
          int64_t bd[1] = { n };
          add_weight (net, w2, sizeof w2, (p0 & 2) ? 1 : 0, bd);
          attr_int (&a, "transB", tb);
          if (p0 & 4)
            attr_float (&a, "alpha", (float) p2 / 64.0f);
          out = add_node (net, "Gemm", (p0 & 8) ? 2 : 3, (const char *[]){ xn, w1, w2 }, 1, &a);
        }
        break;
      case 12: /* MatMul with a weight [last, n] */
        {
          int64_t wd[2] = { s->ndim > 0 ? s->dims[s->ndim - 1] : 1, 1 + p1 % 5 };
          add_weight (net, w1, sizeof w1, 2, wd);
          out = add_node (net, "MatMul", 2, (const char *[]){ xn, w1 }, 1, NULL);
        }
        break;
      case 13: /* Concat with another value */
        attr_int (&a, "axis", (int) (p0 % 8) - 4);
        out = add_node (net, "Concat", (p1 & 1) ? 2 : 3, (const char *[]){ xn, yn, xn }, 1, &a);
        break;
      case 14: /* Reshape: [1,-1], [-1], [0,-1,k] or dims from the bytes */
        {
          int64_t shp[4];
          int n = 1 + p0 % 4;
          for (int i = 0; i < n; i++)
            shp[i] = i == 0 && (p1 & 1) ? 0 : (int64_t) ((p2 >> (2 * i)) % 4) - 1;
          add_ints (net, w1, sizeof w1, n, shp);
          out = add_node (net, "Reshape", 2, (const char *[]){ xn, w1 }, 1, NULL);
        }
        break;
      case 15: /* Transpose: a permutation from the bytes */
        {
          int64_t perm[GZ_MAX_DIMS];
          int n = s->ndim;
          for (int i = 0; i < n; i++)
            perm[i] = i;
          for (int i = n - 1; i > 0; i--)
            {
              int j = (int) (take (b) % (unsigned) (i + 1));
              int64_t t = perm[i];
              perm[i] = perm[j];
              perm[j] = t;
            }
          if (p0 & 1)
            attr_ints (&a, "perm", n, perm);
          out = add_node (net, "Transpose", 1, (const char *[]){ xn }, 1, &a);
        }
        break;
      case 16: /* Softmax / LogSoftmax */
        attr_int (&a, "axis", (int) (p1 % 8) - 4);
        out = add_node (net, (p0 & 1) ? "LogSoftmax" : "Softmax", 1, (const char *[]){ xn }, 1, &a);
        break;
      case 17: /* reductions: axes as attribute (opset 17 ReduceSum takes an input) */
        {
          int64_t axes[2] = { (int64_t) (p1 % 8) - 4, (int64_t) (p2 % 8) - 4 };
          int n_axes = 1 + (p0 >> 4) % 2;
          attr_int (&a, "keepdims", (p0 >> 3) & 1);
          const char *op = reduce_ops[p0 % N_OF (reduce_ops)];
          if (strcmp (op, "ReduceSum") == 0)
            {
              add_ints (net, w1, sizeof w1, n_axes, axes);
              out = add_node (net, op, (p0 & 64) ? 1 : 2, (const char *[]){ xn, w1 }, 1, &a);
            }
          else
            {
              if (!(p0 & 64))
                attr_ints (&a, "axes", n_axes, axes);
              out = add_node (net, op, 1, (const char *[]){ xn }, 1, &a);
            }
        }
        break;
      case 18: /* Pad */
        {
          int64_t pads[2 * GZ_MAX_DIMS];
          for (int i = 0; i < 2 * s->ndim; i++)
            pads[i] = i % s->ndim < 2 ? 0 : (int64_t) (take (b) % 5) - 1;
          add_ints (net, w1, sizeof w1, 2 * s->ndim, pads);
          static const char *const modes[] = { "constant", "reflect", "edge" };
          attr_string (&a, "mode", modes[p0 % 3]);
          out = add_node (net, "Pad", 2, (const char *[]){ xn, w1 }, 1, &a);
        }
        break;
      case 19: /* Slice */
        {
          int64_t st[1] = { (int64_t) (p1 % 7) - 3 }, en[1] = { (int64_t) (p2 % 9) - 4 };
          int64_t ax[1] = { (int64_t) (p0 % 8) - 4 }, sp[1] = { (p0 & 8) ? -1 : 1 + (p0 >> 4) % 2 };
          if (p0 & 128)
            en[0] = INT64_MAX;
          add_ints (net, w1, sizeof w1, 1, st);
          add_ints (net, w2, sizeof w2, 1, en);
          add_ints (net, w3, sizeof w3, 1, ax);
          add_ints (net, w4, sizeof w4, 1, sp);
          out = add_node (net, "Slice", 5, (const char *[]){ xn, w1, w2, w3, w4 }, 1, NULL);
        }
        break;
      case 20: /* Split into two, then use the first */
        attr_int (&a, "axis", (int) (p0 % 8) - 4);
        out = add_node (net, "Split", 1, (const char *[]){ xn }, 2, &a);
        break;
      case 21: /* Unsqueeze + Squeeze (opset 13: axes are inputs) */
        {
          int64_t ax[1] = { (int64_t) (p1 % 10) - 5 };
          add_ints (net, w1, sizeof w1, 1, ax);
          out = add_node (net, (p0 & 1) ? "Squeeze" : "Unsqueeze", 2, (const char *[]){ xn, w1 }, 1,
                          NULL);
        }
        break;
      case 22: /* LayerNormalization over the last axes */
        {
          int axis = s->ndim > 0 ? (int) (p1 % (unsigned) s->ndim) : 0;
          Shape ws = { 0 };
          for (int i = axis; i < s->ndim; i++)
            ws.dims[ws.ndim++] = s->dims[i];
          add_weight (net, w1, sizeof w1, ws.ndim, ws.dims);
          add_weight (net, w2, sizeof w2, ws.ndim, ws.dims);
          attr_int (&a, "axis", axis);
          out = add_node (net, "LayerNormalization", (p0 & 1) ? 2 : 3,
                          (const char *[]){ xn, w1, w2 }, 1, &a);
        }
        break;
      case 23: /* Expand / Tile / Where / Gather */
        {
          int64_t v[GZ_MAX_DIMS];
          int n = s->ndim;
          for (int i = 0; i < n; i++)
            v[i] = 1 + (int64_t) (take (b) % 2);
          switch (p0 % 4)
            {
              case 0:
                add_ints (net, w1, sizeof w1, n, v);
                out = add_node (net, "Expand", 2, (const char *[]){ xn, w1 }, 1, NULL);
                break;
              case 1:
                add_ints (net, w1, sizeof w1, n, v);
                out = add_node (net, "Tile", 2, (const char *[]){ xn, w1 }, 1, NULL);
                break;
              case 2:
                {
                  int64_t zd[1] = { 0 };
                  float zero = 0;
                  snprintf (w1, sizeof w1, "w%d", net->n_inits++);
                  add_tensor (net, w1, 0, zd, false, &zero);
                  int cond = add_node (net, "Greater", 2, (const char *[]){ xn, w1 }, 1, NULL);
                  char cn[16];
                  value_name (cn, sizeof cn, cond);
                  net->shapes[cond] = *s;
                  out = add_node (net, "Where", 3, (const char *[]){ cn, xn, yn }, 1, NULL);
                }
                break;
              default:
                {
                  int64_t idx[3] = { (int64_t) (p1 % 5) - 2, (int64_t) (p2 % 5) - 2, 0 };
                  add_ints (net, w5, sizeof w5, 1 + (p1 >> 6) % 3, idx);
                  attr_int (&a, "axis", (int) (p2 >> 4) % 8 - 4);
                  out = add_node (net, "Gather", 2, (const char *[]){ xn, w5 }, 1, &a);
                }
            }
        }
        break;
    }
  return out;
}

/* ---- Running ------------------------------------------------------------ */

static bool
load (Net *net, int output, const GzLimits *limits, GzModel **model)
{
  size_t len;
  uint8_t *m = serialise (net, output, &len);
  GzError err = { 0 };
  GzStatus s = gz_model_load_mem (m, len, NULL, limits, model, &err);
  free (m);
  if (s != GZ_OK && (err.code == GZ_OK || err.message[0] == '\0'))
    __builtin_trap (); /* a failure must say why */
  return s == GZ_OK;
}

static GzTensor *
make_input (const GzModel *model, Bytes *b)
{
  const GzValueInfo *in = gz_model_input (model);
  int64_t dims[GZ_MAX_DIMS];
  for (int i = 0; i < in->ndim; i++)
    dims[i] = in->dims[i] < 0 ? 1 : in->dims[i];
  GzError err = { 0 };
  unsigned how = take (b);
  /* Image-shaped inputs go through preprocessing from a tiny random image. */
  if (in->ndim == 4 && (dims[1] == 1 || dims[1] == 3) && (how & 1))
    {
      GzPreprocess pp;
      gz_preprocess_defaults (model, &pp);
      if (how & 2)
        pp.mode = GZ_RESIZE_STRETCH;
      pp.resize = (how & 4) ? 1 + (int) take (b) % 24 : pp.resize;
      GzImage img;
      img.width = 1 + (int) take (b) % 24;
      img.height = 1 + (int) take (b) % 24;
      img.channels = (how & 8) ? 1 : 3;
      img.stride = img.width * img.channels + (int) (how >> 4);
      uint8_t *px = malloc ((size_t) img.stride * (size_t) img.height);
      if (px == NULL)
        abort ();
      for (size_t i = 0; i < (size_t) img.stride * (size_t) img.height; i++)
        px[i] = (uint8_t) rng ();
      img.pixels = px;
      GzTensor *t = NULL;
      GzGeometry geom;
      GzStatus s = gz_preprocess_image (&img, &pp, &t, &geom, &err);
      free (px);
      if (s == GZ_OK)
        {
          if (t->ndim != 4 || t->dims[1] != pp.channels || t->dims[2] != pp.crop_height
              || t->dims[3] != pp.crop_width)
            __builtin_trap ();
          return t;
        }
    }
  GzTensor *t = gz_tensor_new (GZ_DTYPE_FLOAT, in->ndim, dims, &err);
  if (t != NULL)
    for (int64_t i = 0; i < gz_tensor_numel (t); i++)
      gz_tensor_f (t)[i] = rand_weight () * 3.0f;
  return t;
}

static void
run (const GzModel *model, Bytes *b)
{
  GzError err = { 0 };
  GzSession *s = NULL;
  if (gz_session_new (model, &s, &err) != GZ_OK)
    return;
  GzTensor *input = make_input (model, b);
  unsigned how = take (b);
  const char *layer = gz_model_default_layer (model);
  const char *keep = (how & 1) ? "*" : layer;
  if (input != NULL && gz_session_forward (s, input, keep, &err) == GZ_OK)
    {
      const GzTensor *out = gz_session_output (s);
      if (out == NULL)
        __builtin_trap ();
      GzTensor *g = gz_tensor_new (GZ_DTYPE_FLOAT, out->ndim, out->dims, &err);
      if (g != NULL && gz_tensor_numel (g) > 0)
        gz_tensor_f (g)[take (b) % (unsigned) gz_tensor_numel (g)] = 1.0f;
      GzTensor *grad = NULL;
      if (g != NULL
          && gz_session_backward (s, g, (how & 1) ? NULL : layer,
                                  (how & 2) ? GZ_RELU_GUIDED : GZ_RELU_GRADIENT, &grad, &err)
              == GZ_OK)
        {
          if (grad == NULL)
            __builtin_trap ();
          volatile float sink = 0;
          for (int64_t i = 0; i < gz_tensor_numel (grad); i++)
            sink += gz_tensor_f (grad)[i];
          (void) sink;
          gz_tensor_free (grad);
        }
      gz_tensor_free (g);
      /* A second forward on the same session reuses its memory pool. */
      if (how & 4)
        (void) gz_session_forward (s, input, NULL, &err);
      /* Grad-CAM on the default layer when there is one. */
      if ((how & 8) && layer != NULL)
        {
          GzExplainOptions opt = GZ_EXPLAIN_OPTIONS_INIT;
          GzExplanation *ex = NULL;
          if (gz_explain (s, &opt, &ex, &err) == GZ_OK)
            gz_explanation_free (ex);
        }
    }
  gz_tensor_free (input);
  gz_session_free (s);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  Bytes b = { data, size };
  GzLimits limits;
  fuzz_limits (&limits);
  Net net = { 0 };
  onnx_builder_init (&net.b, 17);
  unsigned h = take (&b);
  net.input_c = 1 + (int) (h % 3);
  net.symbolic_batch = h & 4;
  special_values = (h >> 3) & 1;
  net.input_h = 1 + (int) take (&b) % 12;
  net.input_w = 1 + (int) take (&b) % 12;
  rng_state = 0x9e3779b9u ^ (take (&b) << 8) ^ (uint32_t) size;
  int n_ops = 1 + (int) take (&b) % MAX_OPS;
  net.n_values = 1;
  net.shapes[0] = (Shape){ 4, { 1, net.input_c, net.input_h, net.input_w } };
  int last = 0;
  for (int k = 0; k < n_ops && b.n > 0 && net.n_values + 4 < MAX_VALUES; k++)
    {
      /* A refused operator is undone by dropping what it appended (its
       * blocks stay in the builder's arena until the end). */
      Net saved = net;
      unsigned pick = take (&b);
      int x = (pick & 0x80) ? last : (int) (pick % (unsigned) net.n_values);
      int y = (int) (take (&b) % (unsigned) net.n_values);
      int v = emit_op (&net, &b, x, y);
      GzModel *model = NULL;
      if (v >= 0 && load (&net, v, &limits, &model))
        {
          const GzValueInfo *o = gz_model_output (model);
          Shape *sh = &net.shapes[v];
          sh->ndim = o->ndim;
          for (int i = 0; i < o->ndim; i++)
            sh->dims[i] = o->dims[i] < 0 ? 1 : o->dims[i];
          for (int j = v + 1; j < net.n_values; j++)
            net.shapes[j] = *sh; /* a second output (Split): an approximation */
          last = v;
          gz_model_free (model);
        }
      else
        {
          OnnxBuilder kept = net.b;
          kept.graph.n_node = saved.b.graph.n_node;
          kept.graph.n_initializer = saved.b.graph.n_initializer;
          net = saved;
          net.b = kept;
        }
    }
  GzModel *model = NULL;
  if (last > 0 && load (&net, last, &limits, &model))
    {
      run (model, &b);
      gz_model_free (model);
    }
  onnx_builder_clear (&net.b);
  return 0;
}
