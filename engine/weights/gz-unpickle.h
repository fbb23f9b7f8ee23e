/* gz-unpickle.h — a restricted unpickler for torch.save state dicts
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Pickle is a program for a stack machine that may call any Python function.
 * This one calls none: it knows the opcodes of protocols 2-5 that build plain
 * data and a handful of globals (collections.OrderedDict, the torch tensor
 * rebuilders, the storage classes through persistent ids). Any other global
 * is refused with a message naming it.
 */
#pragma once

#include "gz-source.h"
#include "gz-state-dict.h"

typedef enum
{
  GZ_STORAGE_FLOAT,
  GZ_STORAGE_HALF,
  GZ_STORAGE_BFLOAT16,
  GZ_STORAGE_DOUBLE,
  GZ_STORAGE_LONG,
  GZ_STORAGE_INT,
  GZ_STORAGE_SHORT,
  GZ_STORAGE_CHAR,
  GZ_STORAGE_BYTE,
  GZ_STORAGE_BOOL,
} GzStorageType;

/* Bytes per element of a storage type. */
size_t gz_storage_element_size (GzStorageType t);

/* Where a storage's bytes are: `size` bytes at `offset` of `src` (read only
 * when its tensors are converted, straight into their buffers). */
typedef struct
{
  const GzSource *src;
  uint64_t offset;
  size_t size;
} GzStorageBytes;

/* Resolves a persistent id ('storage', type, key, location, numel) to its
 * bytes. */
typedef GzStatus (*GzStorageFn) (void *user, const char *key, GzStorageType type, int64_t numel,
                                 GzStorageBytes *out, GzError *err);

/* Unpickles `pkl` and finds the state dict in it (the top dict, or its
 * "state_dict" / "model_state_dict" / "model" / "net" entry), converting
 * floating-point tensors to float32 (integer tensors such as BatchNorm's
 * num_batches_tracked are left out). */
GzStatus gz_unpickle_state_dict (const void *pkl, size_t len, const GzLimits *limits,
                                 GzStorageFn storage, void *user, GzStateDict *out, GzError *err);

/* What a scan reports; either function may be NULL (a storage is then an
 * error, a list is not looked into). */
typedef struct
{
  GzStatus (*storage_seen) (void *user, const char *key, GzStorageType type, int64_t numel,
                            GzError *err);
  /* Each string of a pickle whose value is a list of strings. */
  GzStatus (*list_string) (void *user, const char *s, size_t len, GzError *err);
  void *user;
} GzPickleScan;

/* Runs one pickle of a sequence (legacy torch.save files are several in a
 * row) up to its STOP without reading any storage; `used` gets its length. */
GzStatus gz_unpickle_scan (const void *pkl, size_t len, const GzLimits *limits,
                           const GzPickleScan *scan, size_t *used, GzError *err);
