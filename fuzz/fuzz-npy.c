/* fuzz-npy.c — libFuzzer target: NumPy .npy bytes through gz_npy_read_mem
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GzError err = { 0 };
  GzTensor *t = NULL;
  if (gz_npy_read_mem (data, size, &t, &err) != GZ_OK)
    {
      if (t != NULL || err.code == GZ_OK || err.message[0] == '\0')
        __builtin_trap ();
      return 0;
    }
  /* The tensor must be self-consistent, and its elements (1 byte or more
   * each in the file) fit in the input. */
  int64_t n = gz_tensor_numel (t);
  if (t->ndim < 0 || t->ndim > GZ_MAX_DIMS || n < 0 || (uint64_t) n > size || t->data == NULL)
    __builtin_trap ();
  volatile uint8_t sink = 0;
  const uint8_t *bytes = t->data;
  for (size_t i = 0; i < (size_t) n * gz_dtype_size (t->dtype); i++)
    sink ^= bytes[i];
  (void) sink;
  gz_tensor_free (t);
  return 0;
}
