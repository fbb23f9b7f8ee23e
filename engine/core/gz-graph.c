/* gz-graph.c — lookups in the graph and node attributes; freeing
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "gz-graph.h"

int
gz_graph_find_value (const GzGraph *g, const char *name)
{
  for (int i = 0; i < g->n_values; i++)
    if (strcmp (g->values[i].name, name) == 0)
      return i;
  return -1;
}

const GzAttr *
gz_node_attr (const GzNode *node, const char *name)
{
  for (int i = 0; i < node->n_attrs; i++)
    if (strcmp (node->attrs[i].name, name) == 0)
      return &node->attrs[i];
  return NULL;
}

int64_t
gz_node_attr_int (const GzNode *node, const char *name, int64_t fallback)
{
  const GzAttr *a = gz_node_attr (node, name);
  return a != NULL && a->type == GZ_ATTR_INT ? a->i : fallback;
}

float
gz_node_attr_float (const GzNode *node, const char *name, float fallback)
{
  const GzAttr *a = gz_node_attr (node, name);
  if (a == NULL)
    return fallback;
  if (a->type == GZ_ATTR_FLOAT)
    return a->f;
  if (a->type == GZ_ATTR_INT)
    return (float) a->i;
  return fallback;
}

const char *
gz_node_attr_string (const GzNode *node, const char *name, const char *fallback)
{
  const GzAttr *a = gz_node_attr (node, name);
  return a != NULL && a->type == GZ_ATTR_STRING && a->s != NULL ? a->s : fallback;
}

int
gz_node_attr_ints (const GzNode *node, const char *name, const int64_t **values)
{
  const GzAttr *a = gz_node_attr (node, name);
  if (a == NULL || a->type != GZ_ATTR_INTS)
    {
      *values = NULL;
      return 0;
    }
  *values = a->ints;
  return a->n;
}

int
gz_node_attr_floats (const GzNode *node, const char *name, const float **values)
{
  const GzAttr *a = gz_node_attr (node, name);
  if (a == NULL || a->type != GZ_ATTR_FLOATS)
    {
      *values = NULL;
      return 0;
    }
  *values = a->floats;
  return a->n;
}

static void
attr_clear (GzAttr *a)
{
  free (a->name);
  free (a->s);
  free (a->floats);
  free (a->ints);
  gz_tensor_free (a->t);
}

void
gz_graph_free (GzGraph *g)
{
  if (g == NULL)
    return;
  for (int i = 0; i < g->n_nodes; i++)
    {
      GzNode *node = &g->nodes[i];
      if (node->op != NULL && node->op->free_params != NULL && node->params != NULL)
        node->op->free_params (node->params);
      for (int j = 0; j < node->n_attrs; j++)
        attr_clear (&node->attrs[j]);
      free (node->attrs);
      free (node->inputs);
      free (node->outputs);
      free (node->name);
      free (node->op_type);
      free (node->domain);
    }
  free (g->nodes);
  for (int i = 0; i < g->n_values; i++)
    {
      free (g->values[i].name);
      gz_tensor_free (g->values[i].initializer);
    }
  free (g->values);
  free (g->producer);
  free (g);
}
