/* gz-onnx-load.h — parses ONNX model bytes into a GzGraph
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include "gz-graph.h"

/* Builds a graph from a serialised ModelProto: values (initializers, the image
 * input, node outputs), nodes with converted attributes in topological order,
 * each bound to its operator (op->init already run). base_dir is the folder
 * external data is read from (NULL: external data is refused). limits must not
 * be NULL. The graph must have exactly one input that is not an initializer. */
GzStatus gz_onnx_load_graph (const void *bytes, size_t len, const char *base_dir,
                             const GzLimits *limits, GzGraph **out, GzError *err);

/* The name of an ONNX TensorProto.DataType, for messages ("FLOAT16", "BOOL", …). */
const char *gz_onnx_dtype_name (int data_type);
