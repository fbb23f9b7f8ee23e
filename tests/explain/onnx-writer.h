/* onnx-writer.h — builds tiny ONNX models in memory for the explanation tests
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A few lines of protobuf wire format (varints and length-delimited fields)
 * are enough to describe small graphs: nodes with int/ints/float attributes,
 * float initializers, one float input and one output. The engine's own
 * loader then reads them like any exported file.
 */
#pragma once

#include <glib.h>
#include <string.h>

typedef GByteArray OnnxMsg;

static inline void
pb_varint (OnnxMsg *m, guint64 v)
{
  do
    {
      guint8 b = v & 0x7f;
      v >>= 7;
      if (v)
        b |= 0x80;
      g_byte_array_append (m, &b, 1);
    }
  while (v);
}

static inline void
pb_key (OnnxMsg *m, int field, int wire)
{
  pb_varint (m, ((guint64) field << 3) | (guint64) wire);
}

static inline void
pb_int (OnnxMsg *m, int field, gint64 v)
{
  pb_key (m, field, 0);
  pb_varint (m, (guint64) v);
}

static inline void
pb_bytes (OnnxMsg *m, int field, const void *data, gsize len)
{
  pb_key (m, field, 2);
  pb_varint (m, len);
  g_byte_array_append (m, data, (guint) len);
}

static inline void
pb_string (OnnxMsg *m, int field, const char *s)
{
  pb_bytes (m, field, s, strlen (s));
}

/* Appends sub as a length-delimited field and frees it. */
static inline void
pb_msg (OnnxMsg *m, int field, OnnxMsg *sub)
{
  pb_bytes (m, field, sub->data, sub->len);
  g_byte_array_unref (sub);
}

/* AttributeProto: name 1, f 2, i 3, ints 8, type 20. */
static inline OnnxMsg *
onnx_attr_int (const char *name, gint64 v)
{
  OnnxMsg *a = g_byte_array_new ();
  pb_string (a, 1, name);
  pb_int (a, 3, v);
  pb_int (a, 20, 2);
  return a;
}

static inline OnnxMsg *
onnx_attr_float (const char *name, float v)
{
  OnnxMsg *a = g_byte_array_new ();
  pb_string (a, 1, name);
  pb_key (a, 2, 5);
  guint32 bits;
  memcpy (&bits, &v, 4);
  guint8 le[4] = { bits & 0xff, (bits >> 8) & 0xff, (bits >> 16) & 0xff, bits >> 24 };
  g_byte_array_append (a, le, 4);
  pb_int (a, 20, 1);
  return a;
}

static inline OnnxMsg *
onnx_attr_ints (const char *name, int n, const gint64 *v)
{
  OnnxMsg *a = g_byte_array_new ();
  pb_string (a, 1, name);
  for (int i = 0; i < n; i++)
    pb_int (a, 8, v[i]);
  pb_int (a, 20, 7);
  return a;
}

/* NodeProto: input 1, output 2, name 3, op_type 4, attribute 5. inputs and
 * outputs are NULL-terminated; attrs is NULL-terminated and consumed. */
static inline OnnxMsg *
onnx_node (const char *op, const char *name, const char *const *inputs, const char *const *outputs,
           OnnxMsg **attrs)
{
  OnnxMsg *n = g_byte_array_new ();
  for (int i = 0; inputs[i] != NULL; i++)
    pb_string (n, 1, inputs[i]);
  for (int i = 0; outputs[i] != NULL; i++)
    pb_string (n, 2, outputs[i]);
  pb_string (n, 3, name);
  pb_string (n, 4, op);
  for (int i = 0; attrs != NULL && attrs[i] != NULL; i++)
    pb_msg (n, 5, attrs[i]);
  return n;
}

/* TensorProto: dims 1, data_type 2, name 8, raw_data 9 (float32 LE). */
static inline OnnxMsg *
onnx_tensor_f (const char *name, int ndim, const gint64 *dims, const float *data)
{
  OnnxMsg *t = g_byte_array_new ();
  gint64 n = 1;
  for (int i = 0; i < ndim; i++)
    {
      pb_int (t, 1, dims[i]);
      n *= dims[i];
    }
  pb_int (t, 2, 1);
  pb_string (t, 8, name);
  pb_bytes (t, 9, data, (gsize) n * sizeof (float));
  return t;
}

static inline OnnxMsg *
onnx_tensor_i64 (const char *name, int ndim, const gint64 *dims, const gint64 *data)
{
  OnnxMsg *t = g_byte_array_new ();
  gint64 n = 1;
  for (int i = 0; i < ndim; i++)
    {
      pb_int (t, 1, dims[i]);
      n *= dims[i];
    }
  pb_int (t, 2, 7);
  pb_string (t, 8, name);
  pb_bytes (t, 9, data, (gsize) n * sizeof (gint64));
  return t;
}

/* ValueInfoProto of a float tensor; dims < 0 are symbolic ("N"). */
static inline OnnxMsg *
onnx_value_info (const char *name, int ndim, const gint64 *dims)
{
  OnnxMsg *shape = g_byte_array_new ();
  for (int i = 0; i < ndim; i++)
    {
      OnnxMsg *d = g_byte_array_new ();
      if (dims[i] >= 0)
        pb_int (d, 1, dims[i]);
      else
        pb_string (d, 2, "N");
      pb_msg (shape, 1, d);
    }
  OnnxMsg *tt = g_byte_array_new ();
  pb_int (tt, 1, 1);
  pb_msg (tt, 2, shape);
  OnnxMsg *type = g_byte_array_new ();
  pb_msg (type, 1, tt);
  OnnxMsg *vi = g_byte_array_new ();
  pb_string (vi, 1, name);
  pb_msg (vi, 2, type);
  return vi;
}

/* A graph under construction. */
typedef struct
{
  OnnxMsg *graph;
} OnnxBuilder;

static inline void
onnx_builder_init (OnnxBuilder *b)
{
  b->graph = g_byte_array_new ();
  pb_string (b->graph, 2, "test");
}

static inline void
onnx_add_node (OnnxBuilder *b, OnnxMsg *node)
{
  pb_msg (b->graph, 1, node);
}

static inline void
onnx_add_initializer (OnnxBuilder *b, OnnxMsg *t)
{
  pb_msg (b->graph, 5, t);
}

static inline void
onnx_add_input (OnnxBuilder *b, OnnxMsg *vi)
{
  pb_msg (b->graph, 11, vi);
}

static inline void
onnx_add_output (OnnxBuilder *b, OnnxMsg *vi)
{
  pb_msg (b->graph, 12, vi);
}

/* ModelProto: ir_version 1, producer 2, graph 7, opset_import 8. */
static inline GBytes *
onnx_builder_finish (OnnxBuilder *b, gint64 opset)
{
  OnnxMsg *m = g_byte_array_new ();
  pb_int (m, 1, 7);
  pb_string (m, 2, "gaze-tests");
  pb_msg (m, 7, b->graph);
  b->graph = NULL;
  OnnxMsg *os = g_byte_array_new ();
  pb_string (os, 1, "");
  pb_int (os, 2, opset);
  pb_msg (m, 8, os);
  return g_byte_array_free_to_bytes (m);
}
