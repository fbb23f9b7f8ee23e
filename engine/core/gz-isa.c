/* gz-isa.c — the run-time choice of kernel family, shared by GEMM and convolution
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "gz-isa.h"

static GzIsa
detect (void)
{
#if defined(__x86_64__) && defined(__GNUC__)
  const char *cap = getenv ("GAZE_CONV_ISA");
  int limit = cap == NULL || strcmp (cap, "avx512") == 0 ? GZ_ISA_AVX512
      : strcmp (cap, "avx2") == 0                        ? GZ_ISA_AVX2
                                                         : GZ_ISA_GENERIC;
  __builtin_cpu_init ();
  if (limit >= GZ_ISA_AVX512 && __builtin_cpu_supports ("avx512f"))
    return GZ_ISA_AVX512;
  if (limit >= GZ_ISA_AVX2 && __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return GZ_ISA_AVX2;
#endif
  return GZ_ISA_GENERIC;
}

GzIsa
gz_isa (void)
{
  /* -1: not decided yet. Threads racing here all compute the same answer. */
  static _Atomic int chosen = -1;
  int isa = chosen;
  if (isa < 0)
    chosen = isa = (int) detect ();
  return (GzIsa) isa;
}
