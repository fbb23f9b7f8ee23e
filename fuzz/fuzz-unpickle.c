/* fuzz-unpickle.c — libFuzzer target: torch.save files (zip + restricted
 * unpickler) and bare pickles through the weights readers
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Input starting with "PK" or the pickled legacy magic number: a whole
 * torch.save file, zip or legacy (gz_torch_read). Anything else: a pickle
 * whose persistent ids all resolve to one fixed 4 KiB storage.
 */
#include <string.h>

#include "fuzz-common.h"
#include "gz-torch-legacy.h"
#include "gz-unpickle.h"
#include "gz-weights.h"

static unsigned char storage_bytes[4096];

static GzStatus
fixed_storage (void *user, const char *key, GzStorageType type, int64_t numel, GzStorageBytes *out,
               GzError *err)
{
  (void) key;
  (void) type;
  (void) numel;
  (void) err;
  out->src = user;
  out->offset = 0;
  out->size = sizeof storage_bytes;
  return GZ_OK;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GzLimits limits;
  fuzz_limits (&limits);
  GzError err = { 0 };
  GzStateDict sd = { 0 };
  GzSource storage;
  gz_source_from_memory (&storage, storage_bytes, sizeof storage_bytes);
  bool whole_file
      = (size >= 2 && data[0] == 'P' && data[1] == 'K') || gz_torch_legacy_sniff (data, size);
  GzStatus s = whole_file
      ? gz_torch_read (data, size, &limits, &sd, &err)
      : gz_unpickle_state_dict (data, size, &limits, fixed_storage, &storage, &sd, &err);
  if (s != GZ_OK && (err.code == GZ_OK || err.message[0] == '\0'))
    __builtin_trap ();
  /* Every tensor is whole: touch each element. */
  volatile float sink = 0;
  for (int i = 0; i < sd.n; i++)
    {
      const GzTensor *t = sd.w[i].t;
      if (t == NULL || t->dtype != GZ_DTYPE_FLOAT
          || gz_tensor_numel (t) > limits.max_tensor_elements)
        __builtin_trap ();
      for (int64_t k = 0; k < gz_tensor_numel (t); k++)
        sink += gz_tensor_f (t)[k];
    }
  (void) sink;
  gz_state_dict_free (&sd);
  return 0;
}
