/* gz-conv-kernels.c — ISA-specific kernels (convolution, logistic) chosen at run time
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Depthwise 3×3 and 5×5 (dilation 1, stride 1 or 2) on a zero-padded copy of each
 * plane: 16 outputs per AVX-512 register (8 with AVX2+FMA), the taps
 * kept in registers, no bounds checks; the row tail uses masked loads/stores
 * (AVX-512) or scalar code. The build targets plain x86-64; the wide paths are
 * compiled with target attributes and picked with __builtin_cpu_supports, so
 * the same binary runs on any x86-64 (and the caller's generic kernel runs
 * everywhere else).
 */
#include <math.h>
#include <string.h>

#include "gz-op.h"
#include "gz-conv-kernels.h"
#include "gz-isa.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GZ_HAVE_X86_KERNELS 1
#endif

/* Copies plane xc into buf (ph × pw, zero borders). Only the border is
 * cleared: the interior is overwritten anyway. */
static void
pad_plane (const GzOpWindow *w, int64_t ph, int64_t pw, const float *xc, float *buf)
{
  const int64_t top = w->pad_t < ph ? w->pad_t : ph, left = w->pad_l < pw ? w->pad_l : pw;
  int64_t copy_w = w->in_w < pw - left ? w->in_w : pw - left;
  int64_t rows = w->in_h < ph - top ? w->in_h : ph - top;
  memset (buf, 0, (size_t) (top * pw) * sizeof (float));
  for (int64_t iy = 0; iy < rows; iy++)
    {
      float *r = buf + (iy + top) * pw;
      memset (r, 0, (size_t) left * sizeof (float));
      memcpy (r + left, xc + iy * w->in_w, (size_t) copy_w * sizeof (float));
      memset (r + left + copy_w, 0, (size_t) (pw - left - copy_w) * sizeof (float));
    }
  int64_t done = top + rows;
  if (done < ph)
    memset (buf + done * pw, 0, (size_t) ((ph - done) * pw) * sizeof (float));
}

static inline float
dw_scalar (const float *base, int64_t pw, const float *wc, int64_t x, int K)
{
  float acc = 0.0f;
  for (int ki = 0; ki < K; ki++)
    for (int kj = 0; kj < K; kj++)
      acc += wc[ki * K + kj] * base[ki * pw + x + kj];
  return acc;
}

#ifdef GZ_HAVE_X86_KERNELS
__attribute__ ((target ("avx512f"), always_inline)) static inline void
dw_rows_avx512 (const GzOpWindow *w, int64_t pw, const float *buf, const float *wc, float b0,
                float *yc, const int K)
{
  const int64_t ow = w->out_w, sh = w->s_h, sw = w->s_w;
  __m512 k[25];
  for (int t = 0; t < K * K; t++)
    k[t] = _mm512_set1_ps (wc[t]);
  const __m512i even
      = _mm512_setr_epi32 (0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512 bv = _mm512_set1_ps (b0);
  for (int64_t oy = 0; oy < w->out_h; oy++)
    {
      const float *base = buf + oy * sh * pw;
      float *yr = yc + oy * ow;
      for (int64_t ox = 0; ox < ow; ox += 16)
        {
          int64_t rem = ow - ox;
          __mmask16 m = rem >= 16 ? (__mmask16) 0xffff : (__mmask16) ((1u << rem) - 1);
          __m512 acc = bv;
          if (sw == 1)
            {
              for (int ki = 0; ki < K; ki++)
                for (int kj = 0; kj < K; kj++)
                  acc = _mm512_fmadd_ps (k[ki * K + kj],
                                         _mm512_maskz_loadu_ps (m, base + ki * pw + ox + kj), acc);
            }
          else
            {
              int64_t need = 2 * (rem >= 16 ? 16 : rem);
              __mmask16 m0 = need >= 16 ? (__mmask16) 0xffff : (__mmask16) ((1u << need) - 1);
              __mmask16 m1 = need > 16 ? (__mmask16) ((1u << (need - 16)) - 1) : 0;
              if (need >= 32)
                m1 = 0xffff;
              for (int ki = 0; ki < K; ki++)
                for (int kj = 0; kj < K; kj++)
                  {
                    const float *src = base + ki * pw + 2 * ox + kj;
                    __m512 x0 = _mm512_maskz_loadu_ps (m0, src);
                    __m512 x1 = _mm512_maskz_loadu_ps (m1, src + 16);
                    acc = _mm512_fmadd_ps (k[ki * K + kj], _mm512_permutex2var_ps (x0, even, x1),
                                           acc);
                  }
            }
          _mm512_mask_storeu_ps (yr + ox, m, acc);
        }
    }
}

__attribute__ ((target ("avx2,fma"), always_inline)) static inline void
dw_rows_avx2 (const GzOpWindow *w, int64_t pw, const float *buf, const float *wc, float b0,
              float *yc, const int K)
{
  const int64_t ow = w->out_w, sh = w->s_h, sw = w->s_w;
  __m256 k[25];
  for (int t = 0; t < K * K; t++)
    k[t] = _mm256_set1_ps (wc[t]);
  const __m256 bv = _mm256_set1_ps (b0);
  for (int64_t oy = 0; oy < w->out_h; oy++)
    {
      const float *base = buf + oy * sh * pw;
      float *yr = yc + oy * ow;
      int64_t ox = 0;
      for (; ox + 8 <= ow; ox += 8)
        {
          __m256 acc = bv;
          for (int ki = 0; ki < K; ki++)
            for (int kj = 0; kj < K; kj++)
              {
                __m256 xv;
                if (sw == 1)
                  xv = _mm256_loadu_ps (base + ki * pw + ox + kj);
                else
                  {
                    const float *src = base + ki * pw + 2 * ox + kj;
                    __m256 x0 = _mm256_loadu_ps (src), x1 = _mm256_loadu_ps (src + 8);
                    /* a0 a2 b0 b2 | a4 a6 b4 b6, then put the 64-bit pairs in order */
                    __m256 s = _mm256_shuffle_ps (x0, x1, _MM_SHUFFLE (2, 0, 2, 0));
                    xv = _mm256_castpd_ps (
                        _mm256_permute4x64_pd (_mm256_castps_pd (s), _MM_SHUFFLE (3, 1, 2, 0)));
                  }
                acc = _mm256_fmadd_ps (k[ki * K + kj], xv, acc);
              }
          _mm256_storeu_ps (yr + ox, acc);
        }
      for (; ox < ow; ox++)
        yr[ox] = b0 + dw_scalar (base, pw, wc, ox * sw, K);
    }
}

/* The tap loops unrolled for the two kernel sizes MobileNet/EfficientNet use. */
#define DW_INSTANCE(NAME, IMPL, TARGET, K)                                                     \
  __attribute__ ((target (TARGET))) static void NAME (                                         \
      const GzOpWindow *w, int64_t pw, const float *buf, const float *wc, float b0, float *yc) \
  {                                                                                            \
    IMPL (w, pw, buf, wc, b0, yc, K);                                                          \
  }
DW_INSTANCE (dw3_avx512, dw_rows_avx512, "avx512f", 3)
DW_INSTANCE (dw5_avx512, dw_rows_avx512, "avx512f", 5)
DW_INSTANCE (dw3_avx2, dw_rows_avx2, "avx2,fma", 3)
DW_INSTANCE (dw5_avx2, dw_rows_avx2, "avx2,fma", 5)
#endif

typedef void (*RowsFn) (const GzOpWindow *, int64_t, const float *, const float *, float, float *);

static RowsFn
pick_rows (int K)
{
#ifdef GZ_HAVE_X86_KERNELS
  if (gz_isa () == GZ_ISA_AVX512)
    return K == 3 ? dw3_avx512 : dw5_avx512;
  if (gz_isa () == GZ_ISA_AVX2)
    return K == 3 ? dw3_avx2 : dw5_avx2;
  return NULL;
#else
  return NULL;
#endif
}

bool
gz_conv_dw_planes (const GzOpWindow *w, int64_t channels, const float *x, const float *weights,
                   const float *bias, float *y, long begin, long end)
{
  const int K = (int) w->k_h;
  if ((K != 3 && K != 5) || w->k_w != K || w->d_h != 1 || w->d_w != 1 || w->s_w < 1 || w->s_w > 2
      || w->s_h < 1 || w->out_h < 1 || w->out_w < 1)
    return false;
  RowsFn rows = pick_rows (K);
  if (rows == NULL)
    return false;
  /* Rows and columns the last window reaches; the column slack covers the
   * (masked or full) vector loads past the last output. */
  const int64_t ph = (w->out_h - 1) * w->s_h + K;
  const int64_t pw = (w->out_w - 1) * w->s_w + K + 32;
  if (ph > (1 << 14) || pw > (1 << 14))
    return false;
  float *buf = malloc ((size_t) (ph * pw) * sizeof (float));
  if (buf == NULL)
    return false;
  const int64_t hw = w->in_h * w->in_w, p = w->out_h * w->out_w;
  for (long pl = begin; pl < end; pl++)
    {
      int64_t c = pl % channels;
      pad_plane (w, ph, pw, x + pl * hw, buf);
      rows (w, pw, buf, weights + c * K * K, bias != NULL ? bias[c] : 0.0f, y + pl * p);
    }
  free (buf);
  return true;
}

/* ---- Logistic sigmoid ----------------------------------------------------
 * exp by range reduction: x = n ln2 + r, |r| <= ln2/2 (ln2 split in a high
 * part exact in float and a low part), e^r by its Taylor series to degree 7
 * (truncation < 6e-9 relative), 2^n built in the exponent bits. x is clamped
 * to [-87, 87] so that 2^n stays a normal float; sigmoid's value beyond that
 * is below 1.7e-38 or rounds to 1 anyway. Error: a few ulp, far inside the
 * engine's 1e-4 tolerances. The clamp is written so that NaN passes through
 * (max/min return their second operand when one is NaN). */
#define EXP_LOG2E 1.44269504088896341f
#define EXP_LN2_HI 0.693359375f
#define EXP_LN2_LO -2.12194440e-4f

static float
sigmoid_scalar (float x)
{
  return x >= 0.0f ? 1.0f / (1.0f + expf (-x)) : expf (x) / (1.0f + expf (x));
}

#ifdef GZ_HAVE_X86_KERNELS
__attribute__ ((target ("avx512f"))) static void
sigmoid_avx512 (const float *x, float *y, int64_t n)
{
  const __m512 lo = _mm512_set1_ps (-87.0f), hi = _mm512_set1_ps (87.0f);
  const __m512 one = _mm512_set1_ps (1.0f);
  for (int64_t i = 0; i < n; i += 16)
    {
      int64_t rem = n - i;
      __mmask16 m = rem >= 16 ? (__mmask16) 0xffff : (__mmask16) ((1u << rem) - 1);
      __m512 v = _mm512_maskz_loadu_ps (m, x + i);
      /* t = -x, clamped */
      __m512 t = _mm512_min_ps (hi, _mm512_max_ps (lo, _mm512_sub_ps (_mm512_setzero_ps (), v)));
      __m512 nf = _mm512_roundscale_ps (_mm512_mul_ps (t, _mm512_set1_ps (EXP_LOG2E)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      __m512 r = _mm512_fnmadd_ps (nf, _mm512_set1_ps (EXP_LN2_HI), t);
      r = _mm512_fnmadd_ps (nf, _mm512_set1_ps (EXP_LN2_LO), r);
      __m512 p = _mm512_set1_ps (1.0f / 5040.0f);
      p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f / 720.0f));
      p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f / 120.0f));
      p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f / 24.0f));
      p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (1.0f / 6.0f));
      p = _mm512_fmadd_ps (p, r, _mm512_set1_ps (0.5f));
      p = _mm512_fmadd_ps (p, r, one);
      p = _mm512_fmadd_ps (p, r, one);
      __m512i e = _mm512_slli_epi32 (
          _mm512_add_epi32 (_mm512_cvtps_epi32 (nf), _mm512_set1_epi32 (127)), 23);
      __m512 ex = _mm512_mul_ps (p, _mm512_castsi512_ps (e));
      _mm512_mask_storeu_ps (y + i, m, _mm512_div_ps (one, _mm512_add_ps (one, ex)));
    }
}

__attribute__ ((target ("avx2,fma"))) static void
sigmoid_avx2 (const float *x, float *y, int64_t n)
{
  const __m256 lo = _mm256_set1_ps (-87.0f), hi = _mm256_set1_ps (87.0f);
  const __m256 one = _mm256_set1_ps (1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    {
      __m256 v = _mm256_loadu_ps (x + i);
      __m256 t = _mm256_min_ps (hi, _mm256_max_ps (lo, _mm256_sub_ps (_mm256_setzero_ps (), v)));
      __m256 nf = _mm256_round_ps (_mm256_mul_ps (t, _mm256_set1_ps (EXP_LOG2E)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      __m256 r = _mm256_fnmadd_ps (nf, _mm256_set1_ps (EXP_LN2_HI), t);
      r = _mm256_fnmadd_ps (nf, _mm256_set1_ps (EXP_LN2_LO), r);
      __m256 p = _mm256_set1_ps (1.0f / 5040.0f);
      p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 720.0f));
      p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 120.0f));
      p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 24.0f));
      p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (1.0f / 6.0f));
      p = _mm256_fmadd_ps (p, r, _mm256_set1_ps (0.5f));
      p = _mm256_fmadd_ps (p, r, one);
      p = _mm256_fmadd_ps (p, r, one);
      __m256i e = _mm256_slli_epi32 (
          _mm256_add_epi32 (_mm256_cvtps_epi32 (nf), _mm256_set1_epi32 (127)), 23);
      __m256 ex = _mm256_mul_ps (p, _mm256_castsi256_ps (e));
      _mm256_storeu_ps (y + i, _mm256_div_ps (one, _mm256_add_ps (one, ex)));
    }
  for (; i < n; i++)
    y[i] = sigmoid_scalar (x[i]);
}
#endif

typedef void (*VecFn) (const float *, float *, int64_t);

static VecFn
pick_sigmoid (void)
{
#ifdef GZ_HAVE_X86_KERNELS
  if (gz_isa () == GZ_ISA_AVX512)
    return sigmoid_avx512;
  if (gz_isa () == GZ_ISA_AVX2)
    return sigmoid_avx2;
  return NULL;
#else
  return NULL;
#endif
}

void
gz_vec_sigmoid (const float *x, float *y, int64_t n)
{
  VecFn fn = pick_sigmoid ();
  if (fn != NULL)
    {
      fn (x, y, n);
      return;
    }
  for (int64_t i = 0; i < n; i++)
    y[i] = sigmoid_scalar (x[i]);
}
