/* gz-isa.h — which vector instruction set the engine's hand-written kernels use
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

typedef enum
{
  GZ_ISA_GENERIC = 0, /* portable C */
  GZ_ISA_AVX2 = 1, /* AVX2 with FMA */
  GZ_ISA_AVX512 = 2, /* AVX-512F */
} GzIsa;

/* The widest family this CPU runs, capped by GAZE_CONV_ISA=avx512|avx2|generic
 * (the tests run every path that way). Decided once per process; always
 * GZ_ISA_GENERIC off x86-64. */
GzIsa gz_isa (void);
