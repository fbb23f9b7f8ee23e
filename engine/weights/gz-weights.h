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
#include "gz-state-dict.h"

/* True when the bytes look like a weights file rather than ONNX: a zip
 * (torch.save since 1.6), a pickle (legacy torch.save) or safetensors. */
bool gz_weights_sniff (const void *bytes, size_t len);

/* Reads the state dict of a torch.save file (zip or legacy). */
GzStatus gz_torch_read (const void *bytes, size_t len, const GzLimits *limits, GzStateDict *out,
                        GzError *err);
/* All of it: file bytes → graph. */
GzStatus gz_weights_load_graph (const void *bytes, size_t len, const char *arch,
                                const GzLimits *limits, GzGraph **out, GzError *err);

/* True when a file's first bytes are a zip's (torch.save since 1.6). */
bool gz_weights_file_is_zip (const void *head, size_t len);
/* A torch.save zip read from the open file `fd` without reading it whole:
 * each storage goes straight into its tensors (gz-source.h). A file that
 * is truncated or rewritten meanwhile gives an error. */
GzStatus gz_weights_load_zip_file (int fd, const char *path, const char *arch,
                                   const GzLimits *limits, GzGraph **out, GzError *err);
