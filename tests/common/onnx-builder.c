/* onnx-builder.c — small ONNX models assembled in memory, for tests and fuzzers
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "onnx-builder.h"

#include <stdlib.h>
#include <string.h>

void *
onnx_builder_alloc (OnnxBuilder *b, size_t size)
{
  if (b->n_arena == b->cap_arena)
    {
      b->cap_arena = b->cap_arena * 2 + 64;
      b->arena = realloc (b->arena, b->cap_arena * sizeof *b->arena);
      if (b->arena == NULL)
        abort ();
    }
  void *p = calloc (1, size > 0 ? size : 1);
  if (p == NULL)
    abort ();
  b->arena[b->n_arena++] = p;
  return p;
}

char *
onnx_builder_strdup (OnnxBuilder *b, const char *s)
{
  size_t n = strlen (s) + 1;
  return memcpy (onnx_builder_alloc (b, n), s, n);
}

/* Appends item to a protobuf-c repeated field (*list, *n): tiny graphs, so a
 * copy per append is fine and keeps every block in the arena. */
static void
append (OnnxBuilder *b, void ***list, size_t *n, void *item)
{
  void **grown = onnx_builder_alloc (b, sizeof (void *) * (*n + 1));
  if (*n > 0)
    memcpy (grown, *list, sizeof (void *) * *n);
  grown[(*n)++] = item;
  *list = grown;
}

void
onnx_builder_init (OnnxBuilder *b, int64_t opset)
{
  memset (b, 0, sizeof *b);
  onnx__model_proto__init (&b->model);
  onnx__graph_proto__init (&b->graph);
  onnx__operator_set_id_proto__init (&b->opset);
  b->model.has_ir_version = 1;
  b->model.ir_version = 8;
  b->model.producer_name = "gaze-tests";
  b->model.producer_version = "1.0";
  b->graph.name = "test";
  b->opset.domain = "";
  b->opset.has_version = 1;
  b->opset.version = opset;
  b->opsets[0] = &b->opset;
  b->model.n_opset_import = 1;
  b->model.opset_import = b->opsets;
  b->model.graph = &b->graph;
}

void
onnx_builder_clear (OnnxBuilder *b)
{
  for (size_t i = 0; i < b->n_arena; i++)
    free (b->arena[i]);
  free (b->arena);
  memset (b, 0, sizeof *b);
}

Onnx__ValueInfoProto *
onnx_value_info (OnnxBuilder *b, const char *name, int elem_type, int ndim, const int64_t *dims)
{
  Onnx__ValueInfoProto *vi = onnx_builder_alloc (b, sizeof *vi);
  Onnx__TypeProto *tp = onnx_builder_alloc (b, sizeof *tp);
  Onnx__TypeProto__Tensor *tt = onnx_builder_alloc (b, sizeof *tt);
  onnx__value_info_proto__init (vi);
  onnx__type_proto__init (tp);
  onnx__type_proto__tensor__init (tt);
  vi->name = onnx_builder_strdup (b, name);
  tt->has_elem_type = 1;
  tt->elem_type = elem_type;
  if (ndim >= 0)
    {
      Onnx__TensorShapeProto *sh = onnx_builder_alloc (b, sizeof *sh);
      onnx__tensor_shape_proto__init (sh);
      for (int i = 0; i < ndim; i++)
        {
          Onnx__TensorShapeProto__Dimension *d = onnx_builder_alloc (b, sizeof *d);
          onnx__tensor_shape_proto__dimension__init (d);
          if (dims[i] >= 0)
            {
              d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
              d->dim_value = dims[i];
            }
          else
            {
              d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
              d->dim_param = "N";
            }
          append (b, (void ***) &sh->dim, &sh->n_dim, d);
        }
      tt->shape = sh;
    }
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  vi->type = tp;
  return vi;
}

void
onnx_add_value_input (OnnxBuilder *b, Onnx__ValueInfoProto *vi)
{
  append (b, (void ***) &b->graph.input, &b->graph.n_input, vi);
}

void
onnx_add_input (OnnxBuilder *b, const char *name, int ndim, const int64_t *dims)
{
  onnx_add_value_input (b, onnx_value_info (b, name, 1, ndim, dims));
}

void
onnx_add_output (OnnxBuilder *b, const char *name, int ndim, const int64_t *dims)
{
  append (b, (void ***) &b->graph.output, &b->graph.n_output,
          onnx_value_info (b, name, 1, ndim, dims));
}

Onnx__NodeProto *
onnx_add_node (OnnxBuilder *b, const char *op, const char *name, const char *const *in,
               const char *const *out)
{
  Onnx__NodeProto *n = onnx_builder_alloc (b, sizeof *n);
  onnx__node_proto__init (n);
  n->op_type = onnx_builder_strdup (b, op);
  n->name = name != NULL ? onnx_builder_strdup (b, name) : NULL;
  for (int i = 0; in[i] != NULL; i++)
    append (b, (void ***) &n->input, &n->n_input, onnx_builder_strdup (b, in[i]));
  for (int i = 0; out[i] != NULL; i++)
    append (b, (void ***) &n->output, &n->n_output, onnx_builder_strdup (b, out[i]));
  append (b, (void ***) &b->graph.node, &b->graph.n_node, n);
  return n;
}

Onnx__AttributeProto *
onnx_add_attr (OnnxBuilder *b, Onnx__NodeProto *node, const char *name,
               Onnx__AttributeProto__AttributeType type)
{
  Onnx__AttributeProto *a = onnx_builder_alloc (b, sizeof *a);
  onnx__attribute_proto__init (a);
  a->name = onnx_builder_strdup (b, name);
  a->has_type = 1;
  a->type = type;
  a->has_f = type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
  a->has_i = type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  a->has_s = type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
  append (b, (void ***) &node->attribute, &node->n_attribute, a);
  return a;
}

void
onnx_attr_int (OnnxBuilder *b, Onnx__NodeProto *node, const char *name, int64_t v)
{
  Onnx__AttributeProto *a
      = onnx_add_attr (b, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  a->has_i = 1;
  a->i = v;
}

void
onnx_attr_float (OnnxBuilder *b, Onnx__NodeProto *node, const char *name, float v)
{
  Onnx__AttributeProto *a
      = onnx_add_attr (b, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  a->has_f = 1;
  a->f = v;
}

void
onnx_attr_string (OnnxBuilder *b, Onnx__NodeProto *node, const char *name, const char *s)
{
  Onnx__AttributeProto *a
      = onnx_add_attr (b, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  a->has_s = 1;
  a->s.len = strlen (s);
  a->s.data = (uint8_t *) onnx_builder_strdup (b, s);
}

void
onnx_attr_ints (OnnxBuilder *b, Onnx__NodeProto *node, const char *name, int n, const int64_t *v)
{
  Onnx__AttributeProto *a
      = onnx_add_attr (b, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  a->n_ints = (size_t) n;
  a->ints = onnx_builder_alloc (b, sizeof (int64_t) * (size_t) n);
  if (n > 0)
    memcpy (a->ints, v, sizeof (int64_t) * (size_t) n);
}

void
onnx_attr_floats (OnnxBuilder *b, Onnx__NodeProto *node, const char *name, int n, const float *v)
{
  Onnx__AttributeProto *a
      = onnx_add_attr (b, node, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
  a->n_floats = (size_t) n;
  a->floats = onnx_builder_alloc (b, sizeof (float) * (size_t) n);
  if (n > 0)
    memcpy (a->floats, v, sizeof (float) * (size_t) n);
}

Onnx__TensorProto *
onnx_tensor (OnnxBuilder *b, const char *name, int data_type, int ndim, const int64_t *dims)
{
  Onnx__TensorProto *t = onnx_builder_alloc (b, sizeof *t);
  onnx__tensor_proto__init (t);
  t->name = name != NULL ? onnx_builder_strdup (b, name) : NULL;
  t->has_data_type = 1;
  t->data_type = data_type;
  t->n_dims = (size_t) ndim;
  t->dims = onnx_builder_alloc (b, sizeof (int64_t) * (size_t) (ndim + 1));
  if (ndim > 0)
    memcpy (t->dims, dims, sizeof (int64_t) * (size_t) ndim);
  return t;
}

void
onnx_tensor_set_raw (OnnxBuilder *b, Onnx__TensorProto *t, const void *bytes, size_t len)
{
  t->has_raw_data = 1;
  t->raw_data.len = len;
  t->raw_data.data = onnx_builder_alloc (b, len + 1);
  if (len > 0)
    memcpy (t->raw_data.data, bytes, len);
}

void
onnx_add_initializer (OnnxBuilder *b, Onnx__TensorProto *t)
{
  append (b, (void ***) &b->graph.initializer, &b->graph.n_initializer, t);
}

Onnx__TensorProto *
onnx_add_initializer_raw (OnnxBuilder *b, const char *name, int data_type, int ndim,
                          const int64_t *dims, const void *bytes, size_t len)
{
  Onnx__TensorProto *t = onnx_tensor (b, name, data_type, ndim, dims);
  onnx_tensor_set_raw (b, t, bytes, len);
  onnx_add_initializer (b, t);
  return t;
}

static size_t
count (int ndim, const int64_t *dims)
{
  size_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= (size_t) dims[i];
  return n;
}

Onnx__TensorProto *
onnx_add_initializer_f (OnnxBuilder *b, const char *name, int ndim, const int64_t *dims,
                        const float *data)
{
  return onnx_add_initializer_raw (b, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, ndim, dims, data,
                                   count (ndim, dims) * sizeof (float));
}

Onnx__TensorProto *
onnx_add_initializer_i64 (OnnxBuilder *b, const char *name, int ndim, const int64_t *dims,
                          const int64_t *data)
{
  return onnx_add_initializer_raw (b, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, ndim, dims, data,
                                   count (ndim, dims) * sizeof (int64_t));
}

uint8_t *
onnx_builder_pack (OnnxBuilder *b, size_t *len)
{
  *len = onnx__model_proto__get_packed_size (&b->model);
  uint8_t *buf = malloc (*len + 1);
  if (buf == NULL)
    abort ();
  onnx__model_proto__pack (&b->model, buf);
  return buf;
}
