/* op-harness.h — one operator node built by hand, for the operator tests
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A TNode is a GzNode with its own attribute, input and output storage; the
 * operator is found with gz_op_lookup (node.op set, as the loader does before
 * init). The ops-nn and ops-tensor helpers build on it to run the operator the
 * way the plan and the executor do. A TNode must be zero-initialised before
 * its first tn_init; initialising it again frees the previous node's params.
 */
#pragma once

#include <glib.h>
#include <string.h>

#include "gz-op.h"

#define TN_MAX_ATTRS 16
#define TN_MAX_IO 8
#define TN_MAX TN_MAX_IO

typedef struct
{
  GzNode node;
  GzAttr attrs[TN_MAX_ATTRS];
  int64_t ints[TN_MAX_ATTRS][8]; /* copies of tn_ints values */
  int inputs[TN_MAX_IO];
  int outputs[TN_MAX_IO];
  int64_t opset;
  const GzOpDef *op; /* = node.op */
  bool ready; /* init ran (tests/ops-nn helpers) */
} TNode;

/* Frees the params the operator's init made. */
static inline void
tn_clear (TNode *t)
{
  if (t->op != NULL && t->op->free_params != NULL && t->node.params != NULL)
    t->op->free_params (t->node.params);
  t->node.params = NULL;
}

static inline void
tn_init (TNode *t, const char *op_type, int n_in, int n_out, int64_t opset)
{
  tn_clear (t);
  memset (t, 0, sizeof *t);
  t->node.name = (char *) "test_node";
  t->node.op_type = (char *) op_type;
  t->node.domain = (char *) "";
  t->node.n_inputs = n_in;
  t->node.inputs = t->inputs;
  t->node.n_outputs = n_out;
  t->node.outputs = t->outputs;
  t->node.attrs = t->attrs;
  for (int i = 0; i < TN_MAX_IO; i++)
    t->inputs[i] = t->outputs[i] = i;
  t->opset = opset;
  t->op = gz_op_lookup (op_type);
  g_assert_nonnull (t->op);
  t->node.op = t->op;
}

/* Marks input i as omitted in the file. */
static inline void
tn_omit_input (TNode *t, int i)
{
  t->inputs[i] = -1;
}

static inline GzAttr *
tn_attr (TNode *t, const char *name, GzAttrType type)
{
  g_assert_cmpint (t->node.n_attrs, <, TN_MAX_ATTRS);
  GzAttr *a = &t->attrs[t->node.n_attrs++];
  a->name = (char *) name;
  a->type = type;
  return a;
}

static inline void
tn_int (TNode *t, const char *name, int64_t v)
{
  tn_attr (t, name, GZ_ATTR_INT)->i = v;
}

static inline void
tn_float (TNode *t, const char *name, float v)
{
  tn_attr (t, name, GZ_ATTR_FLOAT)->f = v;
}

static inline void
tn_string (TNode *t, const char *name, const char *s)
{
  tn_attr (t, name, GZ_ATTR_STRING)->s = (char *) s;
}

/* Up to 8 values, copied into the node. */
static inline void
tn_ints (TNode *t, const char *name, int n, const int64_t *v)
{
  int slot = t->node.n_attrs;
  GzAttr *a = tn_attr (t, name, GZ_ATTR_INTS);
  g_assert_cmpint (n, <=, 8);
  memcpy (t->ints[slot], v, (size_t) n * sizeof (int64_t));
  a->ints = t->ints[slot];
  a->n = n;
}

/* The array must outlive the node (static or a compound literal in scope). */
static inline void
tn_floats (TNode *t, const char *name, int n, float *v)
{
  GzAttr *a = tn_attr (t, name, GZ_ATTR_FLOATS);
  a->n = n;
  a->floats = v;
}

/* A tensor attribute (Constant's value); v must outlive the node. */
static inline void
tn_attr_tensor (TNode *t, const char *name, GzTensor *v)
{
  tn_attr (t, name, GZ_ATTR_TENSOR)->t = v;
}
