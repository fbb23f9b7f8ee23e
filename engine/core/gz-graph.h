/* gz-graph.h — the engine's internal graph: values, nodes, attributes, operators
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A GzGraph is what the ONNX loader produces and what stays immutable in a
 * GzModel: values (named tensors: initializers, the input, node outputs) and
 * nodes in topological order. Shapes depend on the batch size, so they live in
 * a GzPlan (gz-plan.h), built once per batch size by running every operator's
 * `infer` in order and folding nodes whose inputs are all constant.
 *
 * An operator is one GzOpDef (a row of the table of one gz-op-<name>.c under
 * engine/ops/, found with gz_op_lookup in gz-op.h): parse attributes once, infer output shapes, run
 * forward, and the vector-Jacobian product for the backward pass, side by side.
 */
#pragma once

#include "gaze-engine.h"

/* ---- Attributes (ONNX AttributeProto, the kinds we use) ---------------- */

typedef enum
{
  GZ_ATTR_FLOAT = 1,
  GZ_ATTR_INT = 2,
  GZ_ATTR_STRING = 3,
  GZ_ATTR_TENSOR = 4,
  GZ_ATTR_FLOATS = 6,
  GZ_ATTR_INTS = 7,
  GZ_ATTR_STRINGS = 8,
} GzAttrType;

typedef struct
{
  char *name;
  GzAttrType type;
  float f;
  int64_t i;
  char *s; /* NUL-terminated copy */
  int n; /* element count of floats / ints */
  float *floats;
  int64_t *ints;
  GzTensor *t; /* GZ_ATTR_TENSOR, converted to float32 or int64 */
} GzAttr;

/* ---- Values and nodes -------------------------------------------------- */

typedef struct
{
  char *name;
  GzDType dtype;
  int ndim; /* declared shape from the file, if any (-1 dims symbolic) */
  int64_t dims[GZ_MAX_DIMS];
  bool has_shape;
  GzTensor *initializer; /* constant from the file, else NULL */
  int producer; /* node index, or -1 for initializers and graph inputs */
} GzValue;

typedef struct GzOpDef GzOpDef;

typedef struct
{
  char *name; /* never NULL: generated "op_type_<index>" when empty */
  char *op_type;
  char *domain;
  int n_inputs;
  int *inputs; /* value indices; -1 for an omitted optional input */
  int n_outputs;
  int *outputs;
  int n_attrs;
  GzAttr *attrs;
  const GzOpDef *op;
  void *params; /* op-specific, made by op->init, freed by op->free_params */
} GzNode;

typedef struct
{
  int n_values;
  GzValue *values;
  int n_nodes;
  GzNode *nodes; /* topological order */
  int input; /* value index of the (single, non-constant) graph input */
  int output; /* value index of the first graph output */
  int64_t opset; /* default-domain opset */
  char *producer;
} GzGraph;

/* Lookups; -1 / NULL when absent. */
int gz_graph_find_value (const GzGraph *g, const char *name);
const GzAttr *gz_node_attr (const GzNode *node, const char *name);
int64_t gz_node_attr_int (const GzNode *node, const char *name, int64_t fallback);
float gz_node_attr_float (const GzNode *node, const char *name, float fallback);
const char *gz_node_attr_string (const GzNode *node, const char *name, const char *fallback);
/* Returns the count (0 when absent) and points *values at the attribute's storage. */
int gz_node_attr_ints (const GzNode *node, const char *name, const int64_t **values);
int gz_node_attr_floats (const GzNode *node, const char *name, const float **values);

void gz_graph_free (GzGraph *g);

/* ---- Operators --------------------------------------------------------- */

/* Shape inference sees each input as a GzTensor header: dtype, ndim, dims, and
 * data when the input is constant (initializer or folded), else data == NULL.
 * It fills each output's dtype, ndim and dims. An operator whose output value
 * is known from shapes alone (Shape, or Reshape's target) may allocate and fill
 * out->data (owns_data = true): the output then becomes a constant.
 * Inputs omitted in the file are NULL. */
typedef GzStatus (*GzOpInitFn) (GzNode *node, int64_t opset, GzError *err);
typedef GzStatus (*GzOpInferFn) (const GzNode *node, const GzTensor *const *in,
                                 GzTensor *const *out, GzError *err);
/* Forward: inputs and outputs are allocated with inferred shapes; outputs are
 * not zeroed. */
typedef GzStatus (*GzOpForwardFn) (const GzNode *node, const GzTensor *const *in,
                                   GzTensor *const *out, GzError *err);
/* Vector-Jacobian product. dout[j] is the gradient of the scalar objective with
 * respect to output j (NULL if no gradient flows there). For every input i with
 * din[i] != NULL, *write* (not add) d(objective)/d(input i) into din[i], which
 * has the input's shape. in/out are the forward's values. */
typedef GzStatus (*GzOpBackwardFn) (const GzNode *node, const GzTensor *const *in,
                                    const GzTensor *const *out, const GzTensor *const *dout,
                                    GzTensor *const *din, GzReluMode relu_mode, GzError *err);

/* Optional: what a node can compute once per plan from its constant inputs
 * and the plan's shapes (Conv: Winograd-transformed weights of batched 3×3
 * layers). Called when a plan is built, after infer, for nodes not folded;
 * *prepared = NULL when there is nothing to keep. The plan owns the result
 * (free_prepared) and runs the node by forward_prepared with it. */
typedef GzStatus (*GzOpPrepareFn) (const GzNode *node, const GzTensor *const *in,
                                   const GzTensor *const *out, void **prepared, GzError *err);
typedef GzStatus (*GzOpForwardPreparedFn) (const GzNode *node, const void *prepared,
                                           const GzTensor *const *in, GzTensor *const *out,
                                           GzError *err);

struct GzOpDef
{
  const char *op_type; /* ONNX op type, default domain */
  int min_opset; /* the oldest opset whose semantics this implements */
  GzOpInitFn init; /* may be NULL */
  GzOpInferFn infer;
  GzOpForwardFn forward;
  GzOpBackwardFn backward; /* NULL: no gradient through this operator */
  void (*free_params) (void *params);
  /* Per-row data of an operator family whose members share the functions
   * above (the unary activations, the reductions, ...): node->op->data, read
   * by those functions. node->op is set before init. NULL for the rest. */
  const void *data;
  GzOpPrepareFn prepare; /* may be NULL */
  GzOpForwardPreparedFn forward_prepared;
  void (*free_prepared) (void *prepared);
};

/* Helpers every operator uses. */
int64_t gz_shape_numel (int ndim, const int64_t *dims);
/* Numpy broadcasting of two shapes; GZ_ERR_SHAPE when incompatible. */
GzStatus gz_broadcast_shape (int na, const int64_t *a, int nb, const int64_t *b, int *nout,
                             int64_t *out, GzError *err);
/* Sets out's header (no data) to the given shape and dtype. */
void gz_tensor_set_shape (GzTensor *out, GzDType dtype, int ndim, const int64_t *dims);
/* Normalises a possibly negative axis for rank ndim; -1 when out of range. */
int gz_axis (int64_t axis, int ndim);
