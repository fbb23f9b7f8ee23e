/* gz-input-layout.c — channels-last model inputs: a Transpose in front of the graph
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Keras and tf2onnx export images as [N,H,W,C]. Rather than teach every
 * consumer of the input (preprocessing, Score-CAM's masks, gradients with
 * respect to the input, maps) a second layout, the graph gets an NCHW input
 * and one Transpose node that feeds the file's input: the rest of the engine
 * sees an ordinary NCHW model, and the model still receives NHWC data.
 */
#include <stdlib.h>
#include <string.h>

#include "gz-input-layout.h"
#include "gz-op.h"

static const char nhwc_suffix[] = "/nhwc";

bool
gz_input_looks_nhwc (const GzGraph *g)
{
  const GzValue *in = &g->values[g->input];
  if (!in->has_shape || in->ndim != 4)
    return false;
  bool last_is_channels = in->dims[3] == 1 || in->dims[3] == 3;
  bool second_is_channels = in->dims[1] == 1 || in->dims[1] == 3;
  if (!last_is_channels || second_is_channels)
    return false;
  static const int64_t to_nchw[4] = { 0, 3, 1, 2 };
  int readers = 0;
  for (int i = 0; i < g->n_nodes; i++)
    {
      const GzNode *node = &g->nodes[i];
      bool reads = false;
      for (int j = 0; j < node->n_inputs; j++)
        reads = reads || node->inputs[j] == g->input;
      if (!reads)
        continue;
      const int64_t *perm = NULL;
      if (strcmp (node->op_type, "Transpose") != 0 || gz_node_attr_ints (node, "perm", &perm) != 4
          || memcmp (perm, to_nchw, sizeof to_nchw) != 0)
        return false;
      readers++;
    }
  return readers > 0;
}

static GzStatus
nomem (GzError *err)
{
  return gz_error_set (err, GZ_ERR_NOMEM, "out of memory adding the input transpose");
}

GzStatus
gz_graph_prepend_nhwc_transpose (GzGraph *g, GzError *err)
{
  GzValue *old = &g->values[g->input];
  if (!old->has_shape || old->ndim != 4)
    return gz_error_set (err, GZ_ERR_SHAPE, "the model input '%s' is not 4-D: no NHWC layout",
                         old->name);
  /* Everything is allocated first, so that a failure leaves the graph as it was. */
  size_t len = strlen (old->name);
  char *renamed = malloc (len + sizeof nhwc_suffix);
  char *node_name = strdup ("gaze_input_to_nhwc");
  char *op_type = strdup ("Transpose");
  char *domain = strdup ("");
  char *attr_name = strdup ("perm");
  int *inputs = malloc (sizeof *inputs);
  int *outputs = malloc (sizeof *outputs);
  int64_t *perm = malloc (4 * sizeof *perm);
  GzAttr *attrs = calloc (1, sizeof *attrs);
  GzValue *values = realloc (g->values, ((size_t) g->n_values + 1) * sizeof *values);
  if (values != NULL)
    g->values = values;
  GzNode *nodes
      = values != NULL ? realloc (g->nodes, ((size_t) g->n_nodes + 1) * sizeof *nodes) : NULL;
  if (nodes != NULL)
    g->nodes = nodes;
  if (renamed == NULL || node_name == NULL || op_type == NULL || domain == NULL || attr_name == NULL
      || inputs == NULL || outputs == NULL || perm == NULL || attrs == NULL || values == NULL
      || nodes == NULL)
    {
      free (renamed);
      free (node_name);
      free (op_type);
      free (domain);
      free (attr_name);
      free (inputs);
      free (outputs);
      free (perm);
      free (attrs);
      return nomem (err);
    }
  old = &g->values[g->input];
  memcpy (renamed, old->name, len);
  memcpy (renamed + len, nhwc_suffix, sizeof nhwc_suffix);

  /* The new input takes the name; dims [N,H,W,C] → [N,C,H,W]. */
  int nchw = g->n_values++;
  GzValue *in = &g->values[nchw];
  *in = *old;
  in->dims[1] = old->dims[3];
  in->dims[2] = old->dims[1];
  in->dims[3] = old->dims[2];
  in->producer = -1;
  in->initializer = NULL;
  old->name = renamed;

  /* Node 0: every producer index moves up by one. */
  memmove (g->nodes + 1, g->nodes, (size_t) g->n_nodes * sizeof *g->nodes);
  g->n_nodes++;
  for (int i = 0; i < g->n_values; i++)
    if (g->values[i].producer >= 0)
      g->values[i].producer++;
  old->producer = 0;

  perm[0] = 0;
  perm[1] = 2;
  perm[2] = 3;
  perm[3] = 1;
  attrs->name = attr_name;
  attrs->type = GZ_ATTR_INTS;
  attrs->n = 4;
  attrs->ints = perm;
  inputs[0] = nchw;
  outputs[0] = g->input;
  GzNode *node = &g->nodes[0];
  memset (node, 0, sizeof *node);
  node->name = node_name;
  node->op_type = op_type;
  node->domain = domain;
  node->n_inputs = 1;
  node->inputs = inputs;
  node->n_outputs = 1;
  node->outputs = outputs;
  node->n_attrs = 1;
  node->attrs = attrs;
  node->op = gz_op_lookup ("Transpose");
  g->input = nchw;
  return GZ_OK;
}

void
gz_graph_remove_nhwc_transpose (GzGraph *g)
{
  GzNode *node = &g->nodes[0];
  int nchw = g->input, nhwc = node->outputs[0];
  GzValue *in = &g->values[nchw], *old = &g->values[nhwc];
  free (old->name);
  old->name = in->name;
  old->producer = -1;
  g->input = nhwc;

  free (node->attrs[0].name);
  free (node->attrs[0].ints);
  free (node->attrs);
  free (node->inputs);
  free (node->outputs);
  free (node->name);
  free (node->op_type);
  free (node->domain);
  g->n_nodes--;
  memmove (g->nodes, g->nodes + 1, (size_t) g->n_nodes * sizeof *g->nodes);
  /* The NCHW input was appended last. */
  g->n_values--;
  for (int i = 0; i < g->n_values; i++)
    if (g->values[i].producer > 0)
      g->values[i].producer--;
}
