/* gz-weights.h — PyTorch weight files (.pth/.pt/.ckpt, .safetensors) as engine graphs
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A weights file holds tensors, not a network. The readers here turn a file
 * into a GzStateDict (name → float32 tensor) without running anything from it:
 * gz-zip.c reads the zip container torch.save writes, gz-unpickle.c is a
 * restricted unpickler that knows only what a state dict is made of, and
 * gz-safetensors.c reads the safetensors format. gz-torchvision.c then
 * recognises the torchvision architecture from the key names and shapes and
 * builds the graph torch.onnx.export would give (eval mode, BatchNorm folded).
 */
#pragma once

#include "gz-graph.h"

typedef struct
{
  char *name;
  GzTensor *t; /* float32, contiguous */
} GzWeight;

typedef struct
{
  int n, cap;
  GzWeight *w;
} GzStateDict;

void gz_state_dict_free (GzStateDict *sd);
/* Takes ownership of t (freed on failure too). */
GzStatus gz_state_dict_add (GzStateDict *sd, const char *name, size_t name_len, GzTensor *t,
                            GzError *err);
/* NULL when absent. */
const GzTensor *gz_state_dict_get (const GzStateDict *sd, const char *name);
/* Removes `prefix` from every key when every key starts with it; true if done. */
bool gz_state_dict_strip_prefix (GzStateDict *sd, const char *prefix);

/* Half and bfloat16 bit patterns to float. */
float gz_half_to_float (uint16_t h);
float gz_bfloat16_to_float (uint16_t h);

/* True when the bytes look like a weights file rather than ONNX: a zip
 * (torch.save since 1.6), a pickle (legacy torch.save) or safetensors. */
bool gz_weights_sniff (const void *bytes, size_t len);

/* Reads the state dict of a torch.save file (zip or legacy). */
GzStatus gz_torch_read (const void *bytes, size_t len, const GzLimits *limits, GzStateDict *out,
                        GzError *err);
/* Reads a .safetensors file. */
GzStatus gz_safetensors_read (const void *bytes, size_t len, const GzLimits *limits,
                              GzStateDict *out, GzError *err);

/* Builds the graph of a torchvision architecture from a state dict (whose
 * tensors it takes: sd is empty afterwards). arch NULL: recognised from the
 * keys. The graph's producer says what was recognised, e.g. "torchvision
 * resnet50, 3 classes, 1-channel input (from weights)". */
GzStatus gz_torchvision_build (GzStateDict *sd, const char *arch, const GzLimits *limits,
                               GzGraph **out, GzError *err);

/* All of it: file bytes → graph. */
GzStatus gz_weights_load_graph (const void *bytes, size_t len, const char *arch,
                                const GzLimits *limits, GzGraph **out, GzError *err);
