/* gz-tv-builder.h — the pieces torchvision graphs are built from (internal)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every function takes a Builder and does nothing once its status is an
 * error, so an architecture is written as a straight sequence of calls and
 * checks b->status at the end. Values are indices into the graph; -1 after an
 * error.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "gz-graph.h"
#include "gz-state-dict.h"

typedef struct
{
  GzGraph *g;
  int cap_values, cap_nodes;
  GzStateDict *sd; /* tensors are taken from it as the graph uses them */
  const GzLimits *limits;
  GzError *err;
  GzStatus status;
  double bn_eps; /* the architecture's BatchNorm epsilon; 0: PyTorch's 1e-5 */
} Builder;

/* One node attribute: n > 0 an ints list, 0 a plain int (v[0]), -1 a float (f). */
typedef struct
{
  const char *name;
  int n;
  int64_t v[4];
  float f;
} AttrSpec;

/* Builds one architecture family into b->g (input value x), setting
 * b->g->output; desc gets the member recognised, e.g. "resnet50". */
typedef GzStatus (*BuildFn) (Builder *b, int x, char *desc, size_t desc_len);

int tvb_value (Builder *b, const char *name, GzTensor *init);
int tvb_node (Builder *b, const char *op_type, const char *name, int n_in, const int *in,
              int n_attrs, const AttrSpec *attrs);
/* The tensor prefix.suffix with ndim dimensions (ndim < 0: any); an error if absent. */
const GzTensor *tvb_weight (Builder *b, const char *prefix, const char *suffix, int ndim);
GzTensor *tvb_take (Builder *b, const GzTensor *t);
/* prefix.suffix taken from the state dict as a graph value of that name. */
int tvb_param (Builder *b, const char *prefix, const char *suffix, int ndim);
/* Conv with the BatchNorm `bn` (NULL: none) folded in; groups -1: depthwise;
 * padding per axis (1×7 and 7×1 kernels). */
int tvb_conv_bn_pads (Builder *b, int x, const char *conv, const char *bn, int stride, int pad_h,
                      int pad_w, int64_t groups);
/* The same with one padding for both axes. */
int tvb_conv_bn_groups (Builder *b, int x, const char *conv, const char *bn, int stride, int pad,
                        int64_t groups);
int tvb_conv_bn (Builder *b, int x, const char *conv, const char *bn, int stride, int pad);
/* The kernel height of conv `prefix` (0 if absent), for "same" padding. */
int64_t tvb_kernel_of (Builder *b, const char *prefix);
/* A standalone BatchNormalization node (pre-activation networks). */
int tvb_batchnorm (Builder *b, int x, const char *bn);
int tvb_scalar (Builder *b, const char *name, float v);
int tvb_relu6 (Builder *b, const char *name, int x);
int tvb_silu (Builder *b, const char *name, int x);
int tvb_binary (Builder *b, const char *op, const char *name, int x, int y);
int tvb_unary (Builder *b, const char *op, const char *name, int x);
/* Whether layer<layer>.<block>.<suffix> exists (ResNet naming). */
int tvb_has_layer (const GzStateDict *sd, int layer, int block, const char *suffix);
/* Gemm(transB) with prefix.weight and prefix.bias. */
int tvb_linear (Builder *b, int x, const char *prefix);
/* GlobalAveragePool → Flatten → Gemm(fc). */
int tvb_head (Builder *b, int x, const char *fc);
typedef enum
{
  TVB_SE_RELU_SIGMOID, /* RegNetY */
  TVB_SE_SILU_SIGMOID, /* EfficientNet */
  TVB_SE_RELU_HARDSIGMOID, /* MobileNetV3 */
} TvbSqueezeKind;
/* torchvision's SqueezeExcitation at prefix p (p.fc1, p.fc2). */
int tvb_squeeze_excite (Builder *b, int x, const char *p, TvbSqueezeKind kind);
/* torchvision's transform_input (GoogLeNet, Inception v3). */
int tvb_transform_input (Builder *b, int x);
/* Whether features.i.j.suffix (fmt2 non-NULL) or features.i.suffix exists. */
bool tvb_key_exists (Builder *b, const char *fmt2, int i, int j, const char *suffix);

/* Families written in their own files. */
GzStatus gz_tv_build_squeezenet (Builder *b, int x, char *desc, size_t desc_len);
GzStatus gz_tv_build_alexnet (Builder *b, int x, char *desc, size_t desc_len);
GzStatus gz_tv_build_mobilenet_v3 (Builder *b, int x, char *desc, size_t desc_len);
GzStatus gz_tv_build_mnasnet (Builder *b, int x, char *desc, size_t desc_len);
GzStatus gz_tv_build_shufflenet_v2 (Builder *b, int x, char *desc, size_t desc_len);
GzStatus gz_tv_build_efficientnet (Builder *b, int x, char *desc, size_t desc_len);
GzStatus gz_tv_build_regnet (Builder *b, int x, char *desc, size_t desc_len);
GzStatus gz_tv_build_convnext (Builder *b, int x, char *desc, size_t desc_len);
GzStatus gz_tv_build_googlenet (Builder *b, int x, char *desc, size_t desc_len);
GzStatus gz_tv_build_inception_v3 (Builder *b, int x, char *desc, size_t desc_len);
