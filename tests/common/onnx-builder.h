/* onnx-builder.h — small ONNX models assembled in memory, for tests and fuzzers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The model is made of the engine's own protobuf-c structs (onnx.pb-c.h) and
 * packed by protobuf-c, so a test states exactly which graph the loader reads
 * and nobody writes wire format by hand. Everything a builder allocates lives
 * until onnx_builder_clear; the struct fields (model, graph, opset) may be
 * changed before packing to write unusual files. Plain C (no GLib): the
 * libFuzzer targets use it too.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"

typedef struct
{
  void **arena; /* every block allocated for the model, freed at once */
  size_t n_arena, cap_arena;
  Onnx__ModelProto model;
  Onnx__GraphProto graph;
  Onnx__OperatorSetIdProto opset;
  Onnx__OperatorSetIdProto *opsets[1];
} OnnxBuilder;

/* NULL-terminated lists of names, for inputs and outputs. */
#define ONNX_NAMES(...) ((const char *const[]){ __VA_ARGS__, NULL })

void onnx_builder_init (OnnxBuilder *b, int64_t opset);
void onnx_builder_clear (OnnxBuilder *b);
/* Zeroed memory that lives as long as the builder (aborts when out of memory). */
void *onnx_builder_alloc (OnnxBuilder *b, size_t size);
char *onnx_builder_strdup (OnnxBuilder *b, const char *s);

/* A tensor-typed value; ndim < 0: no shape; dims[i] < 0: symbolic ("N"). */
Onnx__ValueInfoProto *onnx_value_info (OnnxBuilder *b, const char *name, int elem_type, int ndim,
                                       const int64_t *dims);
/* Float graph inputs and outputs (elem_type 1). */
void onnx_add_input (OnnxBuilder *b, const char *name, int ndim, const int64_t *dims);
void onnx_add_output (OnnxBuilder *b, const char *name, int ndim, const int64_t *dims);
void onnx_add_value_input (OnnxBuilder *b, Onnx__ValueInfoProto *vi);

/* Appends a node; in and out are NULL-terminated ("" is an omitted input). */
Onnx__NodeProto *onnx_add_node (OnnxBuilder *b, const char *op, const char *name,
                                const char *const *in, const char *const *out);

/* Attributes, appended to node (onnx_add_attr sets has_i/has_f/has_s for
 * the scalar types; the caller fills the value). */
Onnx__AttributeProto *onnx_add_attr (OnnxBuilder *b, Onnx__NodeProto *node, const char *name,
                                     Onnx__AttributeProto__AttributeType type);
void onnx_attr_int (OnnxBuilder *b, Onnx__NodeProto *node, const char *name, int64_t v);
void onnx_attr_float (OnnxBuilder *b, Onnx__NodeProto *node, const char *name, float v);
void onnx_attr_string (OnnxBuilder *b, Onnx__NodeProto *node, const char *name, const char *s);
void onnx_attr_ints (OnnxBuilder *b, Onnx__NodeProto *node, const char *name, int n,
                     const int64_t *v);
void onnx_attr_floats (OnnxBuilder *b, Onnx__NodeProto *node, const char *name, int n,
                       const float *v);

/* A tensor (not yet in the graph) and its raw little-endian bytes. */
Onnx__TensorProto *onnx_tensor (OnnxBuilder *b, const char *name, int data_type, int ndim,
                                const int64_t *dims);
void onnx_tensor_set_raw (OnnxBuilder *b, Onnx__TensorProto *t, const void *bytes, size_t len);
/* Initializers: a tensor made above; any type from raw bytes; float32; int64. */
void onnx_add_initializer (OnnxBuilder *b, Onnx__TensorProto *t);
Onnx__TensorProto *onnx_add_initializer_raw (OnnxBuilder *b, const char *name, int data_type,
                                             int ndim, const int64_t *dims, const void *bytes,
                                             size_t len);
Onnx__TensorProto *onnx_add_initializer_f (OnnxBuilder *b, const char *name, int ndim,
                                           const int64_t *dims, const float *data);
Onnx__TensorProto *onnx_add_initializer_i64 (OnnxBuilder *b, const char *name, int ndim,
                                             const int64_t *dims, const int64_t *data);

/* The packed ModelProto (malloc'd, *len bytes). */
uint8_t *onnx_builder_pack (OnnxBuilder *b, size_t *len);
