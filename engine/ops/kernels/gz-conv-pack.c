/* gz-conv-pack.c — implicit im2col: packs convolution input straight into gz_gemm panels
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A panel holds GZ_GEMM_NR consecutive output positions; they cover one or
 * more runs along output rows ("segments"), computed once per panel. For each
 * im2col row (c, ki, kj) a segment is a run of input along one input row: for
 * stride 1 it is contiguous, so the AVX-512 packer fills the panel row with two
 * masked loads per segment; lanes outside the plane (padding) or past the
 * block's last column stay zero because they are simply not loaded. Stride 2
 * keeps the even elements of two masked loads; larger strides gather. The
 * portable packer does the same with memcpy and scalar loops.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gz-conv-pack.h"
#include "gz-isa.h"
#include "gz-gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GZ_HAVE_X86_KERNELS 1
#endif

enum
{
  NR = GZ_GEMM_NR
};

typedef struct
{
  int64_t j, len; /* lanes [j, j + len) of the panel */
  int64_t iy0; /* input row for ki = 0 */
  int64_t ix0; /* input column of lane j for kj = 0 */
  int64_t xo; /* offset of the segment's image in x */
} Seg;

/* Splits columns [col, col + jn) (jn <= NR) into runs along output rows
 * (and images). */
static int
panel_segments (const GzConvPack *p, int64_t col, int64_t jn, Seg *seg)
{
  int ns = 0;
  int64_t img = col / p->p_img, pos = col % p->p_img;
  int64_t oy = pos / p->out_w, ox = pos % p->out_w;
  for (int64_t j = 0; j < jn;)
    {
      int64_t len = p->out_w - ox < jn - j ? p->out_w - ox : jn - j;
      seg[ns++] = (Seg){ j, len, oy * p->s_h - p->pad_t, ox * p->s_w - p->pad_l, img * p->x_img };
      j += len;
      ox = 0;
      if (++oy == p->out_h)
        {
          oy = 0;
          img++;
        }
    }
  return ns;
}

/* Lanes t in [*lo, *hi) of a run of len with 0 <= ix + t·s < in_w. */
static inline void
valid_lanes (int64_t ix, int64_t s, int64_t in_w, int64_t len, int64_t *lo, int64_t *hi)
{
  int64_t l, h;
  if (s == 1)
    {
      l = ix >= 0 ? 0 : -ix;
      h = in_w - ix;
    }
  else
    {
      l = ix >= 0 ? 0 : (-ix + s - 1) / s;
      h = ix < in_w ? (in_w - ix + s - 1) / s : 0;
    }
  if (h > len)
    h = len;
  if (l > h)
    l = h;
  *lo = l;
  *hi = h;
}

static void
pack_generic (const GzConvPack *p, int k0, int kc, int n0, int nc, float *dst)
{
  Seg seg[NR];
  const int64_t khw = p->k_h * p->k_w;
  for (int64_t pn = 0; pn * NR < nc; pn++)
    {
      int64_t jn = nc - pn * NR < NR ? nc - pn * NR : NR;
      int ns = panel_segments (p, n0 + pn * NR, jn, seg);
      int64_t c = k0 / khw, ki = (k0 % khw) / p->k_w, kj = k0 % p->k_w;
      float *d = dst + pn * kc * NR;
      for (int kk = 0; kk < kc; kk++, d += NR)
        {
          const float *xc = p->x + c * p->hw;
          memset (d, 0, NR * sizeof (float));
          for (int s = 0; s < ns; s++)
            {
              int64_t iy = seg[s].iy0 + ki * p->d_h, ix = seg[s].ix0 + kj * p->d_w, lo, hi;
              if (iy < 0 || iy >= p->in_h)
                continue;
              valid_lanes (ix, p->s_w, p->in_w, seg[s].len, &lo, &hi);
              const float *src = xc + seg[s].xo + iy * p->in_w;
              float *o = d + seg[s].j;
              if (p->s_w == 1)
                memcpy (o + lo, src + ix + lo, (size_t) (hi - lo) * sizeof (float));
              else
                for (int64_t t = lo; t < hi; t++)
                  o[t] = src[ix + t * p->s_w];
            }
          if (++kj == p->k_w)
            {
              kj = 0;
              if (++ki == p->k_h)
                {
                  ki = 0;
                  c++;
                }
            }
        }
    }
}

#ifdef GZ_HAVE_X86_KERNELS
/* Bits [lo, hi) of a 32-bit mask, clamped to [0, 32). */
static inline uint32_t
range_mask (int64_t lo, int64_t hi)
{
  if (lo < 0)
    lo = 0;
  if (hi > 32)
    hi = 32;
  if (lo >= hi)
    return 0;
  uint64_t m = (((uint64_t) 1 << hi) - 1) & ~(((uint64_t) 1 << lo) - 1);
  return (uint32_t) m;
}

/* src + off as a pointer even when off points outside the plane: only the
 * masked-in lanes are ever read. */
static inline const float *
offset_ptr (const float *src, int64_t off)
{
  return (const float *) ((uintptr_t) src + (uintptr_t) (off * (int64_t) sizeof (float)));
}

/* Segments are merged by OR-ing zero-masked loads: merge-masked loads would
 * chain every load of a panel row on the previous one. */
__attribute__ ((target ("avx512f"), always_inline)) static inline __m512
or_ps (__m512 a, __m512 b)
{
  return _mm512_castsi512_ps (_mm512_or_si512 (_mm512_castps_si512 (a), _mm512_castps_si512 (b)));
}

/* One segment of a panel row for one tap (ki, kj), the same for every input
 * channel: lane j of the panel reads plane[off + j·s_w] for the lanes in
 * mask. Stride 2 keeps, per half h, element masks for its two loads. */
typedef struct
{
  int64_t off;
  uint32_t mask;
  uint16_t em[4]; /* stride 2: half 0 loads A, B; half 1 loads A, B */
} Tap;

/* The segments of tap (ki, kj) that touch the plane; returns their count. */
static inline int
tap_segments (const GzConvPack *p, const Seg *seg, int ns, int64_t ki, int64_t kj, Tap *tp)
{
  const int64_t sw = p->s_w;
  int nt = 0;
  for (int s = 0; s < ns; s++)
    {
      int64_t iy = seg[s].iy0 + ki * p->d_h, ix = seg[s].ix0 + kj * p->d_w, lo, hi;
      if (iy < 0 || iy >= p->in_h)
        continue;
      valid_lanes (ix, sw, p->in_w, seg[s].len, &lo, &hi);
      const int64_t a = seg[s].j + lo, b = seg[s].j + hi;
      if (a >= b)
        continue;
      Tap *t = &tp[nt++];
      t->off = seg[s].xo + iy * p->in_w + ix - seg[s].j * sw;
      t->mask = range_mask (a, b);
      for (int h = 0; h < 2; h++)
        {
          /* Half h reads elements 2t of off + 32h (t the lane within the half). */
          int64_t la = 2 * (a - 16 * h), lb = 2 * (b - 16 * h);
          t->em[2 * h] = (uint16_t) (range_mask (la, lb) & 0x5555);
          t->em[2 * h + 1] = (uint16_t) (range_mask (la - 16, lb - 16) & 0x5555);
        }
    }
  return nt;
}

/* True when every tap of every segment lies inside the plane. */
static inline bool
panel_interior (const GzConvPack *p, const Seg *seg, int ns)
{
  for (int s = 0; s < ns; s++)
    if (seg[s].iy0 < 0 || seg[s].iy0 + (p->k_h - 1) * p->d_h >= p->in_h || seg[s].ix0 < 0
        || seg[s].ix0 + (seg[s].len - 1) * p->s_w + (p->k_w - 1) * p->d_w >= p->in_w)
      return false;
  return true;
}

/* Panel by panel, tap by tap: a tap's segments (bounds, masks, offsets) are
 * worked out once and serve the rows of every channel, which are then filled
 * by branch-free masked loads (rows of one tap are kh·kw apart in the panel,
 * which is L1-resident). */
__attribute__ ((target ("avx512f"))) static void
pack_avx512 (const GzConvPack *p, int k0, int kc, int n0, int nc, float *dst)
{
  Seg seg[NR];
  Tap taps[NR];
  const int64_t khw = p->k_h * p->k_w, sw = p->s_w;
  const __m512i even = _mm512_set_epi32 (30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i lanes = _mm512_set_epi32 (15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i gidx0 = _mm512_mullo_epi32 (lanes, _mm512_set1_epi32 ((int) sw));
  const __m512i gidx1 = _mm512_add_epi32 (gidx0, _mm512_set1_epi32 ((int) (16 * sw)));
  const int64_t t0 = k0 % khw, c0 = k0 / khw;
  for (int64_t pn = 0; pn * NR < nc; pn++)
    {
      int64_t jn = nc - pn * NR < NR ? nc - pn * NR : NR;
      int ns = panel_segments (p, n0 + pn * NR, jn, seg);
      float *dp = dst + pn * kc * NR;
      /* Away from the borders every tap's segments are tap (0, 0)'s, shifted. */
      const bool interior = panel_interior (p, seg, ns);
      const int nt0 = interior ? tap_segments (p, seg, ns, 0, 0, taps) : 0;
      for (int64_t t = 0; t < khw && t < kc; t++)
        {
          /* Rows kk = t, t + khw, … of the block hold tap (t0 + t) mod khw. */
          const int64_t tap = (t0 + t) % khw, ki = tap / p->k_w, kj = tap % p->k_w;
          int nt = interior ? nt0 : tap_segments (p, seg, ns, ki, kj, taps);
          const int64_t shift = interior ? ki * p->d_h * p->in_w + kj * p->d_w : 0;
          const float *xc = p->x + (c0 + (t0 + t) / khw) * p->hw + shift;
          float *d = dp + t * NR;
          const int64_t dstep = khw * NR, xstep = p->hw;
          if (nt == 0)
            for (int64_t kk = t; kk < kc; kk += khw, d += dstep)
              {
                _mm512_storeu_ps (d, _mm512_setzero_ps ());
                _mm512_storeu_ps (d + 16, _mm512_setzero_ps ());
              }
          else if (sw == 1 && nt == 1)
            {
              /* The common case (a panel within one output row): masks in
               * registers, two loads and two stores per row. */
              const __mmask16 m0 = (__mmask16) taps[0].mask, m1 = (__mmask16) (taps[0].mask >> 16);
              const int64_t off = taps[0].off;
              for (int64_t kk = t; kk < kc; kk += khw, d += dstep, xc += xstep)
                {
                  const float *base = offset_ptr (xc, off);
                  _mm512_storeu_ps (d, _mm512_maskz_loadu_ps (m0, base));
                  _mm512_storeu_ps (d + 16, _mm512_maskz_loadu_ps (m1, offset_ptr (base, 16)));
                }
            }
          else if (sw == 1 && nt == 2)
            {
              const __mmask16 m0 = (__mmask16) taps[0].mask, m1 = (__mmask16) (taps[0].mask >> 16);
              const __mmask16 m2 = (__mmask16) taps[1].mask, m3 = (__mmask16) (taps[1].mask >> 16);
              const int64_t off0 = taps[0].off, off1 = taps[1].off;
              for (int64_t kk = t; kk < kc; kk += khw, d += dstep, xc += xstep)
                {
                  const float *b0 = offset_ptr (xc, off0), *b1 = offset_ptr (xc, off1);
                  _mm512_storeu_ps (
                      d, or_ps (_mm512_maskz_loadu_ps (m0, b0), _mm512_maskz_loadu_ps (m2, b1)));
                  _mm512_storeu_ps (d + 16,
                                    or_ps (_mm512_maskz_loadu_ps (m1, offset_ptr (b0, 16)),
                                           _mm512_maskz_loadu_ps (m3, offset_ptr (b1, 16))));
                }
            }
          else if (sw == 1)
            for (int64_t kk = t; kk < kc; kk += khw, d += dstep, xc += xstep)
              {
                __m512 v0 = _mm512_setzero_ps (), v1 = _mm512_setzero_ps ();
                for (int e = 0; e < nt; e++)
                  {
                    const float *base = offset_ptr (xc, taps[e].off);
                    v0 = or_ps (v0, _mm512_maskz_loadu_ps ((__mmask16) taps[e].mask, base));
                    v1 = or_ps (v1,
                                _mm512_maskz_loadu_ps ((__mmask16) (taps[e].mask >> 16),
                                                       offset_ptr (base, 16)));
                  }
                _mm512_storeu_ps (d, v0);
                _mm512_storeu_ps (d + 16, v1);
              }
          else if (sw == 2 && nt == 1)
            {
              const __mmask16 e0 = taps[0].em[0], e1 = taps[0].em[1], e2 = taps[0].em[2],
                              e3 = taps[0].em[3];
              const int64_t off = taps[0].off;
              for (int64_t kk = t; kk < kc; kk += khw, d += dstep, xc += xstep)
                {
                  const float *base = offset_ptr (xc, off);
                  __m512 a0 = _mm512_maskz_loadu_ps (e0, base);
                  __m512 b0 = _mm512_maskz_loadu_ps (e1, offset_ptr (base, 16));
                  __m512 a1 = _mm512_maskz_loadu_ps (e2, offset_ptr (base, 32));
                  __m512 b1 = _mm512_maskz_loadu_ps (e3, offset_ptr (base, 48));
                  _mm512_storeu_ps (d, _mm512_permutex2var_ps (a0, even, b0));
                  _mm512_storeu_ps (d + 16, _mm512_permutex2var_ps (a1, even, b1));
                }
            }
          else if (sw == 2)
            for (int64_t kk = t; kk < kc; kk += khw, d += dstep, xc += xstep)
              {
                __m512 v0 = _mm512_setzero_ps (), v1 = _mm512_setzero_ps ();
                for (int e = 0; e < nt; e++)
                  {
                    /* Masked-out elements load as 0, so each permuted
                     * vector is 0 outside its segment's lanes. */
                    const float *base = offset_ptr (xc, taps[e].off);
                    __m512 a0 = _mm512_maskz_loadu_ps (taps[e].em[0], base);
                    __m512 b0 = _mm512_maskz_loadu_ps (taps[e].em[1], offset_ptr (base, 16));
                    __m512 a1 = _mm512_maskz_loadu_ps (taps[e].em[2], offset_ptr (base, 32));
                    __m512 b1 = _mm512_maskz_loadu_ps (taps[e].em[3], offset_ptr (base, 48));
                    v0 = or_ps (v0, _mm512_permutex2var_ps (a0, even, b0));
                    v1 = or_ps (v1, _mm512_permutex2var_ps (a1, even, b1));
                  }
                _mm512_storeu_ps (d, v0);
                _mm512_storeu_ps (d + 16, v1);
              }
          else
            for (int64_t kk = t; kk < kc; kk += khw, d += dstep, xc += xstep)
              {
                __m512 v0 = _mm512_setzero_ps (), v1 = _mm512_setzero_ps ();
                for (int e = 0; e < nt; e++)
                  {
                    const float *base = offset_ptr (xc, taps[e].off);
                    v0 = _mm512_mask_i32gather_ps (v0, (__mmask16) taps[e].mask, gidx0, base, 4);
                    v1 = _mm512_mask_i32gather_ps (v1, (__mmask16) (taps[e].mask >> 16), gidx1,
                                                   base, 4);
                  }
                _mm512_storeu_ps (d, v0);
                _mm512_storeu_ps (d + 16, v1);
              }
        }
    }
}
#endif

static int
pick_isa (void)
{
#ifdef GZ_HAVE_X86_KERNELS
  /* The AVX-512 packer, else the portable one (no AVX2 packer yet). */
  return gz_isa () == GZ_ISA_AVX512 ? 2 : 0;
#else
  return 0;
#endif
}

void
gz_conv_pack_init (GzConvPack *p, const GzOpWindow *w, const float *x)
{
  *p = (GzConvPack){
    .x = x,
    .in_h = w->in_h,
    .in_w = w->in_w,
    .out_h = w->out_h,
    .out_w = w->out_w,
    .k_h = w->k_h,
    .k_w = w->k_w,
    .s_h = w->s_h,
    .s_w = w->s_w,
    .d_h = w->d_h,
    .d_w = w->d_w,
    .pad_t = w->pad_t,
    .pad_l = w->pad_l,
    .hw = w->in_h * w->in_w,
    .p_img = w->out_h * w->out_w,
    .x_img = 0,
    .isa = pick_isa (),
  };
  /* The gather indices are 32-bit lane·stride offsets. */
  if (p->s_w > (int64_t) 1 << 20)
    p->isa = 0;
}

void
gz_conv_pack_b (const void *ctx, int k0, int kc, int n0, int nc, float *dst)
{
  const GzConvPack *p = ctx;
#ifdef GZ_HAVE_X86_KERNELS
  if (p->isa == 2)
    {
      pack_avx512 (p, k0, kc, n0, nc, dst);
      return;
    }
#endif
  pack_generic (p, k0, kc, n0, nc, dst);
}
