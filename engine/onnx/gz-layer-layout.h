/* gz-layer-layout.h — how a layer's tensor becomes a [C,h,w] map
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The explanation methods read a layer as C channel maps of h×w positions.
 * Convolutional networks hand them out as they are ([1,C,H,W]); transformers
 * do not, and the graph tells which way they store them:
 *
 *  - tokens [1, P + h·w, C] (ViT): the P leading class / distillation tokens
 *    are dropped and the rest is the patch grid, whose h×w is the spatial
 *    size of the patch-embedding Conv found upstream (else a square);
 *  - channels-last [1, H, W, C] (Swin, ConvNeXt): recognised because the
 *    graph made it by a Transpose from NCHW, turns it back by one, or
 *    normalises it over the last axis (LayerNormalization, or the ReduceMean
 *    of a decomposed one) — never from the sizes alone.
 */
#pragma once

#include "gz-graph.h"
#include "gz-plan.h"

typedef enum
{
  GZ_LAYOUT_NONE, /* no map: not a layer */
  GZ_LAYOUT_NCHW, /* [1,C,H,W] as it is */
  GZ_LAYOUT_TOKENS, /* [1,P+h·w,C] */
  GZ_LAYOUT_NHWC, /* [1,H,W,C] */
} GzLayoutKind;

typedef struct GzLayerLayout
{
  GzLayoutKind kind;
  int64_t c, h, w; /* the map */
  int64_t skip; /* leading tokens dropped (GZ_LAYOUT_TOKENS) */
} GzLayerLayout;

/* The layouts of every value of the graph (out: g->n_values entries): one
 * pass over the graph. Values that are no layer get GZ_LAYOUT_NONE. */
void gz_layer_layouts (const GzGraph *g, const GzPlan *plan, GzLayerLayout *out);

/* Whether tensor t (a layer's activation or gradient) has the shape layout
 * describes; false with a reason otherwise. */
bool gz_layer_layout_fits (const GzLayerLayout *layout, const GzTensor *t, char *reason,
                           size_t reason_len);

/* A new [1,C,h,w] float tensor with t's values rearranged by layout. */
GzTensor *gz_layer_to_map (const GzLayerLayout *layout, const GzTensor *t, GzError *err);

/* The layout's name: "nchw", "tokens", "nhwc" (or "none"). */
const char *gz_layer_layout_name (GzLayoutKind kind);

/* The layout of value `value` of a loaded model (gz-model.c); NULL when the
 * index is out of range. */
const GzLayerLayout *gz_model_layer_layout (const GzModel *model, int value);
