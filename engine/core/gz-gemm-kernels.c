/* gz-gemm-kernels.c — SGEMM micro-kernels: AVX-512, AVX2+FMA and portable C
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * C is vectorised along N (its rows are contiguous there): each row of a tile
 * is two zmm (AVX-512) or, per half panel, two ymm (AVX2) accumulators, and
 * every element of A is broadcast straight from memory. AVX-512: 14 × 32
 * (28 accumulators + 2 B vectors of 32 registers); AVX2: 6 × 16 per half
 * panel (12 + 2 + 1 of 16), the Haswell shape. The build targets plain
 * x86-64: the wide kernels carry target attributes and are picked with
 * __builtin_cpu_supports, so one binary runs on any x86-64 and other
 * architectures compile the portable kernel only.
 */
#include <stdlib.h>
#include <string.h>

#include "gz-gemm-kernels.h"
#include "gz-isa.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GZ_HAVE_X86_KERNELS 1
#endif

enum
{
  NR = GZ_GEMM_NR
};

/* ---- portable ------------------------------------------------------------ */

enum
{
  GEN_MR = 4
};

static void
kernel_generic (int mr, int kc, const float *a, long lda, bool trans_a, const float *bp, float *c,
                long ldc, int nv, bool load_c, const float *bias)
{
  float acc[GEN_MR][NR] = { { 0 } };
  for (int k = 0; k < kc; k++)
    {
      const float *b = bp + (long) k * NR;
      for (int i = 0; i < mr; i++)
        {
          float ai = trans_a ? a[k * lda + i] : a[i * lda + k];
          for (int j = 0; j < NR; j++)
            acc[i][j] += ai * b[j];
        }
    }
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nv; j++)
      {
        float v = acc[i][j];
        if (load_c)
          v += c[i * ldc + j];
        if (bias != NULL)
          v += bias[i];
        c[i * ldc + j] = v;
      }
}

/* PACK_ROWS rows at a time, panel after panel: the source is read in runs
 * along 16 rows (streams the prefetcher follows; 8-16 measured best, 64
 * worse), the destination written in 2 KiB runs (row by row would write
 * every panel's row, kc · 128 bytes apart: the same L1 sets). */
enum
{
  PACK_ROWS = 16
};

static void
pack_rows_generic (const float *b, size_t ldb, float alpha, int kc, int nc, float *dst)
{
  const int panels = (nc + NR - 1) / NR;
  for (int k0 = 0; k0 < kc; k0 += PACK_ROWS)
    {
      int kn = kc - k0 < PACK_ROWS ? kc - k0 : PACK_ROWS;
      for (int p = 0; p < panels; p++)
        {
          int w = nc - p * NR < NR ? nc - p * NR : NR;
          for (int kk = k0; kk < k0 + kn; kk++)
            {
              const float *s = b + kk * ldb + p * NR;
              float *d = dst + ((size_t) p * kc + kk) * NR;
              for (int j = 0; j < w; j++)
                d[j] = alpha * s[j];
              for (int j = w; j < NR; j++)
                d[j] = 0.0f;
            }
        }
    }
}

static const GzGemmKernel generic_kernel
    = { "generic", GZ_ISA_GENERIC, GEN_MR, kernel_generic, pack_rows_generic };

#ifdef GZ_HAVE_X86_KERNELS

/* ---- AVX-512 ------------------------------------------------------------- */

enum
{
  K512_MR = 14
};

/* HALF: the panel's last 16 columns are all padding (nv ≤ 16), so skip them. */
__attribute__ ((target ("avx512f"), always_inline)) static inline void
k512_tile (const int MR, const bool TA, const bool HALF, int kc, const float *a, long lda,
           const float *bp, float *c, long ldc, __mmask16 m0, __mmask16 m1, bool load_c,
           const float *bias)
{
  __m512 c0[K512_MR], c1[K512_MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
    c0[i] = c1[i] = _mm512_setzero_ps ();
  for (int k = 0; k < kc; k++)
    {
      __m512 b0 = _mm512_loadu_ps (bp + (long) k * NR);
      __m512 b1 = HALF ? b0 : _mm512_loadu_ps (bp + (long) k * NR + 16);
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++)
        {
          __m512 ai = _mm512_set1_ps (TA ? a[k * lda + i] : a[i * lda + k]);
          c0[i] = _mm512_fmadd_ps (ai, b0, c0[i]);
          if (!HALF)
            c1[i] = _mm512_fmadd_ps (ai, b1, c1[i]);
        }
    }
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
    {
      if (load_c)
        {
          c0[i] = _mm512_add_ps (c0[i], _mm512_maskz_loadu_ps (m0, c + i * ldc));
          if (!HALF)
            c1[i] = _mm512_add_ps (c1[i], _mm512_maskz_loadu_ps (m1, c + i * ldc + 16));
        }
      if (bias != NULL)
        {
          __m512 bv = _mm512_set1_ps (bias[i]);
          c0[i] = _mm512_add_ps (c0[i], bv);
          c1[i] = _mm512_add_ps (c1[i], bv);
        }
      _mm512_mask_storeu_ps (c + i * ldc, m0, c0[i]);
      if (!HALF)
        _mm512_mask_storeu_ps (c + i * ldc + 16, m1, c1[i]);
    }
}

#define K512_CASE(R)                                                             \
  case R:                                                                        \
    if (trans_a && half)                                                         \
      k512_tile (R, true, true, kc, a, lda, bp, c, ldc, m0, m1, load_c, bias);   \
    else if (trans_a)                                                            \
      k512_tile (R, true, false, kc, a, lda, bp, c, ldc, m0, m1, load_c, bias);  \
    else if (half)                                                               \
      k512_tile (R, false, true, kc, a, lda, bp, c, ldc, m0, m1, load_c, bias);  \
    else                                                                         \
      k512_tile (R, false, false, kc, a, lda, bp, c, ldc, m0, m1, load_c, bias); \
    break;

__attribute__ ((target ("avx512f"))) static void
kernel_avx512 (int mr, int kc, const float *a, long lda, bool trans_a, const float *bp, float *c,
               long ldc, int nv, bool load_c, const float *bias)
{
  __mmask16 m0 = nv >= 16 ? (__mmask16) 0xffff : (__mmask16) ((1u << nv) - 1);
  __mmask16 m1 = nv >= 32 ? (__mmask16) 0xffff
      : nv > 16           ? (__mmask16) ((1u << (nv - 16)) - 1)
                          : (__mmask16) 0;
  const bool half = nv <= 16;
  /* clang-format off: one case a line (the macro ends each with break) */
  switch (mr)
    {
      K512_CASE (14)
      K512_CASE (13)
      K512_CASE (12)
      K512_CASE (11)
      K512_CASE (10)
      K512_CASE (9)
      K512_CASE (8)
      K512_CASE (7)
      K512_CASE (6)
      K512_CASE (5)
      K512_CASE (4)
      K512_CASE (3)
      K512_CASE (2)
      K512_CASE (1)
      default:
        break;
    }
  /* clang-format on */
}

__attribute__ ((target ("avx512f"))) static void
pack_rows_avx512 (const float *b, size_t ldb, float alpha, int kc, int nc, float *dst)
{
  const int panels = (nc + NR - 1) / NR;
  const __m512 av = _mm512_set1_ps (alpha);
  for (int k0 = 0; k0 < kc; k0 += PACK_ROWS)
    {
      int kn = kc - k0 < PACK_ROWS ? kc - k0 : PACK_ROWS;
      for (int p = 0; p < panels; p++)
        {
          int w = nc - p * NR;
          __mmask16 m0 = w >= 16 ? (__mmask16) 0xffff : (__mmask16) ((1u << w) - 1);
          __mmask16 m1 = w >= 32 ? (__mmask16) 0xffff
              : w > 16           ? (__mmask16) ((1u << (w - 16)) - 1)
                                 : (__mmask16) 0;
          const float *s = b + k0 * ldb + p * NR;
          float *d = dst + ((size_t) p * kc + k0) * NR;
          for (int kk = 0; kk < kn; kk++, s += ldb, d += NR)
            {
              _mm512_storeu_ps (d, _mm512_mul_ps (av, _mm512_maskz_loadu_ps (m0, s)));
              _mm512_storeu_ps (d + 16, _mm512_mul_ps (av, _mm512_maskz_loadu_ps (m1, s + 16)));
            }
        }
    }
}

static const GzGemmKernel avx512_kernel
    = { "avx512", GZ_ISA_AVX512, K512_MR, kernel_avx512, pack_rows_avx512 };

/* ---- AVX2 + FMA ---------------------------------------------------------- */

enum
{
  K2_MR = 6
};

/* One 16-column half of a panel; c is either C itself or a 16-wide tile. */
__attribute__ ((target ("avx2,fma"), always_inline)) static inline void
k2_half (const int MR, const bool TA, int kc, const float *a, long lda, const float *bp, float *c,
         long ldc, bool load_c, const float *bias)
{
  __m256 c0[K2_MR], c1[K2_MR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++)
    c0[i] = c1[i] = _mm256_setzero_ps ();
  for (int k = 0; k < kc; k++)
    {
      __m256 b0 = _mm256_loadu_ps (bp + (long) k * NR);
      __m256 b1 = _mm256_loadu_ps (bp + (long) k * NR + 8);
#pragma GCC unroll 8
      for (int i = 0; i < MR; i++)
        {
          __m256 ai = _mm256_broadcast_ss (TA ? a + k * lda + i : a + i * lda + k);
          c0[i] = _mm256_fmadd_ps (ai, b0, c0[i]);
          c1[i] = _mm256_fmadd_ps (ai, b1, c1[i]);
        }
    }
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++)
    {
      if (load_c)
        {
          c0[i] = _mm256_add_ps (c0[i], _mm256_loadu_ps (c + i * ldc));
          c1[i] = _mm256_add_ps (c1[i], _mm256_loadu_ps (c + i * ldc + 8));
        }
      if (bias != NULL)
        {
          __m256 bv = _mm256_set1_ps (bias[i]);
          c0[i] = _mm256_add_ps (c0[i], bv);
          c1[i] = _mm256_add_ps (c1[i], bv);
        }
      _mm256_storeu_ps (c + i * ldc, c0[i]);
      _mm256_storeu_ps (c + i * ldc + 8, c1[i]);
    }
}

#define K2_CASE(R)                                              \
  case R:                                                       \
    if (trans_a)                                                \
      k2_half (R, true, kc, a, lda, bp, c, ldc, load_c, bias);  \
    else                                                        \
      k2_half (R, false, kc, a, lda, bp, c, ldc, load_c, bias); \
    break;

__attribute__ ((target ("avx2,fma"))) static void
k2_dispatch (int mr, int kc, const float *a, long lda, bool trans_a, const float *bp, float *c,
             long ldc, bool load_c, const float *bias)
{
  switch (mr)
    {
      K2_CASE (6) K2_CASE (5) K2_CASE (4) K2_CASE (3) K2_CASE (2) K2_CASE (1) default : break;
    }
}

static void
kernel_avx2 (int mr, int kc, const float *a, long lda, bool trans_a, const float *bp, float *c,
             long ldc, int nv, bool load_c, const float *bias)
{
  for (int h = 0; h < 2 && h * 16 < nv; h++)
    {
      int w = nv - h * 16 < 16 ? nv - h * 16 : 16;
      float *ch = c + h * 16;
      if (w == 16)
        {
          k2_dispatch (mr, kc, a, lda, trans_a, bp + h * 16, ch, ldc, load_c, bias);
          continue;
        }
      /* A ragged edge goes through a full-width tile on the stack. */
      float tile[K2_MR * 16];
      memset (tile, 0, sizeof tile);
      if (load_c)
        for (int i = 0; i < mr; i++)
          memcpy (tile + i * 16, ch + i * ldc, (size_t) w * sizeof (float));
      k2_dispatch (mr, kc, a, lda, trans_a, bp + h * 16, tile, 16, load_c, bias);
      for (int i = 0; i < mr; i++)
        memcpy (ch + i * ldc, tile + i * 16, (size_t) w * sizeof (float));
    }
}

__attribute__ ((target ("avx2,fma"))) static void
pack_rows_avx2 (const float *b, size_t ldb, float alpha, int kc, int nc, float *dst)
{
  const int panels = (nc + NR - 1) / NR;
  const __m256 av = _mm256_set1_ps (alpha);
  const __m256i lane = _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7);
  for (int k0 = 0; k0 < kc; k0 += PACK_ROWS)
    {
      int kn = kc - k0 < PACK_ROWS ? kc - k0 : PACK_ROWS;
      for (int p = 0; p < panels; p++)
        {
          int w = nc - p * NR;
          const float *s = b + k0 * ldb + p * NR;
          float *d = dst + ((size_t) p * kc + k0) * NR;
          if (w >= NR)
            {
              for (int kk = 0; kk < kn; kk++, s += ldb, d += NR)
                for (int q = 0; q < NR; q += 8)
                  _mm256_storeu_ps (d + q, _mm256_mul_ps (av, _mm256_loadu_ps (s + q)));
              continue;
            }
          /* The ragged panel: masked loads read nothing past column nc. */
          __m256i m[4];
          for (int q = 0; q < 4; q++)
            m[q] = _mm256_cmpgt_epi32 (_mm256_set1_epi32 (w - 8 * q), lane);
          for (int kk = 0; kk < kn; kk++, s += ldb, d += NR)
            for (int q = 0; q < 4; q++)
              _mm256_storeu_ps (d + 8 * q,
                                _mm256_mul_ps (av, _mm256_maskload_ps (s + 8 * q, m[q])));
        }
    }
}

static const GzGemmKernel avx2_kernel = { "avx2", GZ_ISA_AVX2, K2_MR, kernel_avx2, pack_rows_avx2 };

#endif /* GZ_HAVE_X86_KERNELS */

const GzGemmKernel *
gz_gemm_kernel_pick (void)
{
#ifdef GZ_HAVE_X86_KERNELS
  switch (gz_isa ())
    {
      case GZ_ISA_AVX512:
        return &avx512_kernel;
      case GZ_ISA_AVX2:
        return &avx2_kernel;
      case GZ_ISA_GENERIC:
        break;
    }
#endif
  return &generic_kernel;
}
