/* fuzz-safetensors.c — libFuzzer target: .safetensors bytes through
 * gz_safetensors_read
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <string.h>

#include "fuzz-common.h"
#include "gz-safetensors.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GzLimits limits;
  fuzz_limits (&limits);
  GzError err = { 0 };
  GzStateDict sd = { 0 };
  if (gz_safetensors_read (data, size, &limits, &sd, &err) != GZ_OK
      && (err.code == GZ_OK || err.message[0] == '\0'))
    __builtin_trap ();
  /* Each tensor's elements came from the input (2 bytes or more each). */
  volatile float sink = 0;
  for (int i = 0; i < sd.n; i++)
    {
      const GzTensor *t = sd.w[i].t;
      int64_t n = gz_tensor_numel (t);
      if (t->dtype != GZ_DTYPE_FLOAT || n < 0 || (uint64_t) n * 2 > size)
        __builtin_trap ();
      for (int64_t k = 0; k < n; k++)
        sink += gz_tensor_f (t)[k];
    }
  (void) sink;
  gz_state_dict_free (&sd);
  return 0;
}
