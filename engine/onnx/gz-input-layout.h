/* gz-input-layout.h — channels-last model inputs: a Transpose in front of the graph
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gz-graph.h"

/* Whether the graph's input reads as NHWC: 4-D, the last dimension 1 or 3 and
 * the second neither (-1 where symbolic), and read only by Transposes to NCHW
 * (perm 0,3,1,2), as every channels-last export must before its first Conv.
 * The shape alone would catch generic graphs (ONNX node tests). */
bool gz_input_looks_nhwc (const GzGraph *g);

/* Gives the graph a new NCHW input, under the input's name, that a Transpose
 * (perm 0,2,3,1) turns into the file's NHWC input (renamed "<name>/nhwc"):
 * node 0 of the graph. The input must be 4-D. */
GzStatus gz_graph_prepend_nhwc_transpose (GzGraph *g, GzError *err);
/* Undoes gz_graph_prepend_nhwc_transpose. */
void gz_graph_remove_nhwc_transpose (GzGraph *g);
