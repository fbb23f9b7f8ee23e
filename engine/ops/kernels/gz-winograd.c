/* gz-winograd.c — Winograd F(2×2,3×3) and F(4×4,3×3) convolution (see gz-winograd.h)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Tiles of all images of the batch are numbered together (image, tile row,
 * tile column) and handled in blocks of TB tiles, 16 to a vector group. Per
 * block: the input transform writes V[p] (C × TB) straight in gz_gemm's
 * panel layout (gz-gemm.h), a product per position gives Mo[p] (M × TB) =
 * U[p] · V[p] with gz_gemm's micro-kernels (gz-gemm-kernels.h) on those
 * panels, so B is never packed again, and the output transform reads Mo and
 * writes y with the bias added. A block's V and Mo are sized to stay in L2.
 * Without a cached U, output channels go in chunks whose U (made per call)
 * stays a few MiB, and V is kept across chunks when it is moderate.
 *
 * The transforms work on 16 tiles at once with GCC vector extensions, so the
 * same code compiles to AVX-512, AVX2 or SSE; only the gather of the 16
 * tiles' input pixels (zeros where a tile meets the padding) is written per
 * ISA: AVX-512 loads each run of consecutive tiles' input row at once and
 * distributes it with permutes, AVX2 uses masked gathers, the portable
 * code scalar loads. The choice is made at run time, capped by GAZE_CONV_ISA.
 *
 * At batch 32 a channel plane is not in cache when the transforms reach it
 * and the hardware prefetchers do not follow the jump from one plane to the
 * next: the block's part of x (and of y) is prefetched two channels ahead
 * (that halved the input transform's time on 64@56²).
 *
 * Threads: with at least as many blocks as threads each thread runs whole
 * blocks; otherwise blocks run one after the other and each step is split:
 * the transforms by channels, the products by (position, rows of M).
 *
 * Tuning knobs for measurements (KiB): GAZE_WINOGRAD_BLOCK_KB (V + Mo per
 * block, 1024), GAZE_WINOGRAD_U_KB (U per output-channel chunk, 4096),
 * GAZE_WINOGRAD_KEEP_KB (largest V kept across chunks, 24576); and
 * GAZE_WINOGRAD_TILE=2|4 forces the tile.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gz-threads.h"
#include "gz-gemm.h"
#include "gz-gemm-kernels.h"
#include "gz-winograd.h"
#include "gz-isa.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GZ_HAVE_X86_KERNELS 1
#endif

enum
{
  LANES = 16, /* tiles per vector group */
  NR = GZ_GEMM_NR, /* tiles per B panel: blocks hold whole panels */
  KC = 256, /* k block of the products: a 32 KiB panel slice stays in L1 */
  MAX_TB = 1024, /* tiles per block, upper bound (lane metadata lives on the stack) */
  MAX_ALPHA = 6,
};

typedef float v16 __attribute__ ((vector_size (64)));
#define AI static inline __attribute__ ((always_inline))

/* ---- geometry --------------------------------------------------------------- */

typedef struct
{
  int tile, alpha, positions;
  int oh, ow, th, tw;
  long tiles; /* n · th · tw */
  long hw, ohw;
} Geo;

static bool
geo_init (const GzWinogradShape *s, int tile, Geo *g)
{
  if (s->n < 1 || s->c < 1 || s->m < 1 || s->h < 1 || s->w < 1 || s->pad_t < 0 || s->pad_l < 0
      || s->pad_b < 0 || s->pad_r < 0)
    return false;
  long oh = (long) s->h + s->pad_t + s->pad_b - 2;
  long ow = (long) s->w + s->pad_l + s->pad_r - 2;
  if (oh < 1 || ow < 1 || oh > INT_MAX / 2 || ow > INT_MAX / 2)
    return false;
  g->tile = tile;
  g->alpha = tile + 2;
  g->positions = g->alpha * g->alpha;
  g->oh = (int) oh;
  g->ow = (int) ow;
  g->th = (int) ((oh + tile - 1) / tile);
  g->tw = (int) ((ow + tile - 1) / tile);
  g->hw = (long) s->h * s->w;
  g->ohw = oh * ow;
  /* Lane offsets into x and y are int32 (the AVX gathers want them so). */
  if ((double) s->n * s->c * g->hw >= (double) INT32_MAX
      || (double) s->n * s->m * g->ohw >= (double) INT32_MAX
      || (double) s->n * g->th * g->tw >= (double) LONG_MAX / 2)
    return false;
  g->tiles = (long) s->n * g->th * g->tw;
  return true;
}

/* Predicted speed-up of tile t over im2col + GEMM, in units of one multiply-add:
 * im2col costs 9·C·M per output column, padded to whole GEMM panels per
 * image (op-conv.c multiplies planes of up to 256 positions for several
 * images at once: padded over the batch then); Winograd α²·C·M per tile, padded to panels over the
 * batch, plus its transforms (about 35 multiply-adds per element of V and of Mo) and, without a
 * cached U, its transform (about 40 panel columns' worth). The constants are fitted to
 * bench-winograd on ResNet-18's layers. */
static double
predicted_speedup (const GzWinogradShape *s, int tile, bool u_cached)
{
  Geo g;
  if (!geo_init (s, tile, &g))
    return 0;
  double cm = (double) s->c * s->m;
  double cols = g.ohw <= 256 && s->n > 1 ? (double) ((s->n * g.ohw + NR - 1) / NR * NR)
                                         : s->n * (double) ((g.ohw + NR - 1) / NR * NR);
  double im2col = 9.0 * cols * cm;
  double panels = (double) ((g.tiles + NR - 1) / NR * NR);
  double wino = g.positions * (panels + (u_cached ? 0 : 40)) * cm
      + 35.0 * g.positions * (double) g.tiles * ((double) s->c + s->m);
  return im2col / wino;
}

int
gz_winograd_tile (const GzWinogradShape *s)
{
  if (s->tile == 2 || s->tile == 4)
    return s->tile;
  const char *env = getenv ("GAZE_WINOGRAD_TILE");
  if (env != NULL && (env[0] == '2' || env[0] == '4') && env[1] == 0)
    return env[0] - '0';
  /* F(4×4) needs fewer multiplications, but on small images its fewer tiles
   * fill the GEMM panels worse (256@14² at batch 1 with U cached: F(2×2)
   * measured 1.5×, F(4×4) 1.4×). */
  return predicted_speedup (s, 2, false) > predicted_speedup (s, 4, false) ? 2 : 4;
}

size_t
gz_winograd_u_floats (const GzWinogradShape *s)
{
  int a = gz_winograd_tile (s) + 2;
  if (s->m < 1 || s->c < 1)
    return 0;
  size_t mc = (size_t) s->m * (size_t) s->c;
  if (mc / (size_t) s->m != (size_t) s->c || mc > SIZE_MAX / (size_t) (a * a) / sizeof (float))
    return 0;
  return mc * (size_t) (a * a);
}

/* ---- lane metadata of a block ---------------------------------------------- */

typedef struct
{
  int32_t in_off[MAX_TB]; /* x offset (minus the channel's) of the tile's top-left input */
  uint32_t rmask[MAX_TB / LANES][MAX_ALPHA]; /* per group: lanes whose input row a is inside */
  uint32_t cmask[MAX_TB / LANES][MAX_ALPHA]; /* … whose input column b is inside */
  int32_t out_off[MAX_TB]; /* y offset (minus the channel's) of the tile's top-left output */
  uint8_t rows[MAX_TB], cols[MAX_TB]; /* output rows/columns inside y (0: no tile) */
  /* Runs of a group: lanes [l0, l0 + len) are consecutive tiles of one tile
   * row, so their input rows are one contiguous stretch of x. Element e of
   * the stretch read from x offset off (that of a virtual tile in lane 0,
   * tile · l0 columns to the left) belongs to lane e / tile; emask has the
   * elements inside the run and inside the image's columns. */
  struct
  {
    int32_t off;
    uint8_t l0, len;
    uint16_t emask_hi; /* elements 64…79 */
    uint64_t emask; /* elements 0…63 */
    int32_t out_off; /* the same for the output rows: y offset of the virtual lane-0 tile */
    uint64_t out_mask; /* output elements (t · tile + column) of the run inside y */
  } runs[MAX_TB / LANES][LANES];
  uint8_t n_runs[MAX_TB / LANES];
  /* x offsets (minus the channel's) the block reads, one range per image it
   * touches (at most MAX_RANGES; more are not prefetched). */
  int32_t range_lo[4], range_hi[4];
  int32_t out_lo[4], out_hi[4]; /* the same for y */
  int n_ranges;
} LaneMeta;

static void
lane_meta (const GzWinogradShape *s, const Geo *g, long t0, int tb, LaneMeta *lm)
{
  long per_image = (long) g->th * g->tw;
  for (int l = 0; l < tb; l++)
    {
      long t = t0 + l;
      int gi = l / LANES, bit = l % LANES;
      if (l % LANES == 0)
        for (int a = 0; a < g->alpha; a++)
          lm->rmask[gi][a] = lm->cmask[gi][a] = 0;
      if (t >= g->tiles)
        {
          lm->in_off[l] = lm->out_off[l] = 0;
          lm->rows[l] = lm->cols[l] = 0;
          continue;
        }
      long img = t / per_image, r = t % per_image;
      int oy = (int) (r / g->tw) * g->tile, ox = (int) (r % g->tw) * g->tile;
      int iy = oy - s->pad_t, ix = ox - s->pad_l;
      for (int a = 0; a < g->alpha; a++)
        {
          if (iy + a >= 0 && iy + a < s->h)
            lm->rmask[gi][a] |= 1u << bit;
          if (ix + a >= 0 && ix + a < s->w)
            lm->cmask[gi][a] |= 1u << bit;
        }
      lm->in_off[l] = (int32_t) (img * s->c * g->hw + (long) iy * s->w + ix);
      lm->out_off[l] = (int32_t) (img * s->m * g->ohw + (long) oy * g->ow + ox);
      lm->rows[l] = (uint8_t) (g->oh - oy < g->tile ? g->oh - oy : g->tile);
      lm->cols[l] = (uint8_t) (g->ow - ox < g->tile ? g->ow - ox : g->tile);
    }
  /* Ranges read, per image, for the prefetches. */
  lm->n_ranges = 0;
  long last_img = -1;
  for (int l = 0; l < tb && t0 + l < g->tiles; l++)
    {
      long img = (t0 + l) / per_image;
      int32_t lo = lm->in_off[l], hi = lo + (g->alpha - 1) * s->w + g->alpha;
      int32_t olo = lm->out_off[l], ohi = olo + (g->tile - 1) * g->ow + g->tile;
      if (img != last_img)
        {
          if (lm->n_ranges == 4)
            break;
          lm->range_lo[lm->n_ranges] = lo;
          lm->range_hi[lm->n_ranges] = hi;
          lm->out_lo[lm->n_ranges] = olo;
          lm->out_hi[lm->n_ranges] = ohi;
          lm->n_ranges++;
          last_img = img;
        }
      else
        {
          int r = lm->n_ranges - 1;
          lm->range_lo[r] = lo < lm->range_lo[r] ? lo : lm->range_lo[r];
          lm->range_hi[r] = hi > lm->range_hi[r] ? hi : lm->range_hi[r];
          lm->out_lo[r] = olo < lm->out_lo[r] ? olo : lm->out_lo[r];
          lm->out_hi[r] = ohi > lm->out_hi[r] ? ohi : lm->out_hi[r];
        }
    }
  /* The runs: a lane extends its predecessor's run when it is the next tile
   * of the same tile row (offsets then differ by exactly the tile edge and
   * both are real tiles of that row). */
  for (int gi = 0; gi < tb / LANES; gi++)
    {
      int nr = 0;
      for (int l = 0; l < LANES; l++)
        {
          int lane = gi * LANES + l;
          long t = t0 + lane;
          if (t >= g->tiles)
            break;
          long tx = (t % per_image) % g->tw;
          if (nr > 0 && tx > 0 && lm->runs[gi][nr - 1].l0 + lm->runs[gi][nr - 1].len == l)
            lm->runs[gi][nr - 1].len++;
          else
            {
              lm->runs[gi][nr].l0 = (uint8_t) l;
              lm->runs[gi][nr].len = 1;
              lm->runs[gi][nr].off = lm->in_off[lane] - l * g->tile;
              nr++;
            }
        }
      lm->n_runs[gi] = (uint8_t) nr;
      for (int r = 0; r < nr; r++)
        {
          int l0 = lm->runs[gi][r].l0, len = lm->runs[gi][r].len;
          long t = t0 + gi * LANES + l0;
          int col0 = (int) ((t % per_image) % g->tw) * g->tile - s->pad_l - l0 * g->tile;
          uint64_t lo = 0;
          uint16_t hi = 0;
          for (int e = l0 * g->tile; e < (l0 + len - 1) * g->tile + g->alpha; e++)
            if (col0 + e >= 0 && col0 + e < s->w)
              {
                if (e < 64)
                  lo |= (uint64_t) 1 << e;
                else
                  hi |= (uint16_t) (1u << (e - 64));
              }
          lm->runs[gi][r].emask = lo;
          lm->runs[gi][r].emask_hi = hi;
          int lane0 = gi * LANES + l0, ocol0 = col0 + s->pad_l; /* output column of element 0 */
          uint64_t om = 0;
          for (int e = l0 * g->tile; e < (l0 + len) * g->tile; e++)
            if (ocol0 + e < g->ow)
              om |= (uint64_t) 1 << e;
          lm->runs[gi][r].out_off = lm->out_off[lane0] - l0 * g->tile;
          lm->runs[gi][r].out_mask = om;
        }
    }
}

/* ---- gathers: d[b] = x[plane + in_off + a·w + b] for lanes inside, else 0 --- */

/* Writes input row a of group gi's 16 tiles: alpha vectors of 16 (d[b·16 + l]). */
typedef void (*RowFn) (int tile, const float *plane, const LaneMeta *lm, int gi, int a, long w,
                       float *d);

static void
gather_row_generic (const float *plane, const int32_t *off, uint32_t rmask, const uint32_t *cmask,
                    int alpha, long row_off, float *d)
{
  for (int b = 0; b < alpha; b++)
    {
      uint32_t m = rmask & cmask[b];
      for (int l = 0; l < LANES; l++)
        d[b * LANES + l] = (m >> l & 1) ? plane[off[l] + row_off + b] : 0.0f;
    }
}

#ifdef GZ_HAVE_X86_KERNELS
__attribute__ ((target ("avx2,fma"))) static void
gather_row_avx2 (const float *plane, const int32_t *off, uint32_t rmask, const uint32_t *cmask,
                 int alpha, long row_off, float *d)
{
  const __m256i bits = _mm256_setr_epi32 (1, 2, 4, 8, 16, 32, 64, 128);
  const __m256i one = _mm256_set1_epi32 (1);
  __m256i ro = _mm256_set1_epi32 ((int) row_off);
  __m256i idx0 = _mm256_add_epi32 (_mm256_loadu_si256 ((const __m256i *) off), ro);
  __m256i idx1 = _mm256_add_epi32 (_mm256_loadu_si256 ((const __m256i *) (off + 8)), ro);
  for (int b = 0; b < alpha; b++)
    {
      uint32_t m = rmask & cmask[b];
      __m256i m0 = _mm256_set1_epi32 ((int) (m & 0xff)), m1 = _mm256_set1_epi32 ((int) (m >> 8));
      __m256 k0 = _mm256_castsi256_ps (_mm256_cmpeq_epi32 (_mm256_and_si256 (m0, bits), bits));
      __m256 k1 = _mm256_castsi256_ps (_mm256_cmpeq_epi32 (_mm256_and_si256 (m1, bits), bits));
      _mm256_storeu_ps (d + b * LANES,
                        _mm256_mask_i32gather_ps (_mm256_setzero_ps (), plane, idx0, k0, 4));
      _mm256_storeu_ps (d + b * LANES + 8,
                        _mm256_mask_i32gather_ps (_mm256_setzero_ps (), plane, idx1, k1, 4));
      idx0 = _mm256_add_epi32 (idx0, one);
      idx1 = _mm256_add_epi32 (idx1, one);
    }
}
#endif

static void
row_generic (int tile, const float *plane, const LaneMeta *lm, int gi, int a, long w, float *d)
{
  gather_row_generic (plane, lm->in_off + gi * LANES, lm->rmask[gi][a], lm->cmask[gi], tile + 2,
                      a * w, d);
}

#ifdef GZ_HAVE_X86_KERNELS
__attribute__ ((target ("avx2,fma"))) static void
row_avx2 (int tile, const float *plane, const LaneMeta *lm, int gi, int a, long w, float *d)
{
  gather_row_avx2 (plane, lm->in_off + gi * LANES, lm->rmask[gi][a], lm->cmask[gi], tile + 2, a * w,
                   d);
}

/* Per run: masked loads of the contiguous stretch (padding and the other
 * runs' elements read as 0, nothing outside x touched), then lane l takes
 * element l·tile + b by two-source permutes — several times cheaper than a
 * 16-lane gather on current x86 cores. */
__attribute__ ((target ("avx512f"), always_inline)) static inline void
row_runs_avx512 (const int tile, const float *plane, const LaneMeta *lm, int gi, int a, long w,
                 float *d)
{
  const int alpha = tile + 2;
  const __m512i lane_m = _mm512_mullo_epi32 (
      _mm512_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm512_set1_epi32 (tile));
  __m512 out[MAX_ALPHA];
  for (int b = 0; b < alpha; b++)
    out[b] = _mm512_setzero_ps ();
  uint32_t rmask = lm->rmask[gi][a];
  for (int r = 0; r < lm->n_runs[gi]; r++)
    {
      int l0 = lm->runs[gi][r].l0, len = lm->runs[gi][r].len;
      if (!(rmask >> l0 & 1)) /* the run's input row is padding */
        continue;
      const float *p = plane + lm->runs[gi][r].off + a * w;
      uint64_t em = lm->runs[gi][r].emask;
      __m512 v0 = _mm512_maskz_loadu_ps ((__mmask16) em, p);
      __m512 v1 = _mm512_maskz_loadu_ps ((__mmask16) (em >> 16), p + 16);
      __m512 v2 = _mm512_maskz_loadu_ps ((__mmask16) (em >> 32), p + 32);
      __m512 v3 = _mm512_setzero_ps (), v4 = _mm512_setzero_ps ();
      if (tile == 4)
        {
          v3 = _mm512_maskz_loadu_ps ((__mmask16) (em >> 48), p + 48);
          v4 = _mm512_maskz_loadu_ps (lm->runs[gi][r].emask_hi, p + 64);
        }
      __mmask16 lanes = (__mmask16) (((1u << len) - 1) << l0);
      for (int b = 0; b < alpha; b++)
        {
          __m512i sidx = _mm512_add_epi32 (lane_m, _mm512_set1_epi32 (b));
          __mmask16 k01 = _mm512_cmplt_epi32_mask (sidx, _mm512_set1_epi32 (32));
          __m512 v = _mm512_permutex2var_ps (v0, sidx, v1);
          if (tile == 4)
            {
              __mmask16 k4 = _mm512_cmpge_epi32_mask (sidx, _mm512_set1_epi32 (64));
              __m512 hi = _mm512_mask_mov_ps (_mm512_permutex2var_ps (v2, sidx, v3), k4,
                                              _mm512_permutexvar_ps (sidx, v4));
              v = _mm512_mask_mov_ps (hi, k01, v);
            }
          else
            v = _mm512_mask_mov_ps (_mm512_permutexvar_ps (sidx, v2), k01, v);
          out[b] = _mm512_mask_mov_ps (out[b], lanes, v);
        }
    }
  for (int b = 0; b < alpha; b++)
    _mm512_storeu_ps (d + b * LANES, out[b]);
}

__attribute__ ((target ("avx512f"))) static void
row_avx512 (int tile, const float *plane, const LaneMeta *lm, int gi, int a, long w, float *d)
{
  if (tile == 2)
    row_runs_avx512 (2, plane, lm, gi, a, w, d);
  else
    row_runs_avx512 (4, plane, lm, gi, a, w, d);
}
#endif

/* Writes group gi's output tiles out[ii][jj][lane] (tile × tile × 16) into
 * the output channel plane yc, clipped to y. */
typedef void (*StoreFn) (int tile, const float *out, float *yc, const LaneMeta *lm, int gi,
                         long ow);

static void
store_generic (int tile, const float *out, float *yc, const LaneMeta *lm, int gi, long ow)
{
  for (int l = 0; l < LANES; l++)
    {
      int lane = gi * LANES + l, rows = lm->rows[lane], cols = lm->cols[lane];
      float *dst = yc + lm->out_off[lane];
      for (int ii = 0; ii < rows; ii++)
        for (int jj = 0; jj < cols; jj++)
          dst[ii * ow + jj] = out[(ii * 4 + jj) * LANES + l];
    }
}

#ifdef GZ_HAVE_X86_KERNELS
/* Per run and output row: interleave the tile columns with permutes into
 * the row's contiguous stretch, masked stores. */
__attribute__ ((target ("avx512f"))) static void
store_avx512 (int tile, const float *out, float *yc, const LaneMeta *lm, int gi, long ow)
{
  for (int r = 0; r < lm->n_runs[gi]; r++)
    {
      int rows = lm->rows[gi * LANES + lm->runs[gi][r].l0];
      float *base = yc + lm->runs[gi][r].out_off;
      uint64_t om = lm->runs[gi][r].out_mask;
      for (int ii = 0; ii < rows; ii++)
        {
          const float *o = out + ii * 4 * LANES;
          float *dst = base + ii * ow;
          if (tile == 2)
            {
              __m512 o0 = _mm512_load_ps (o), o1 = _mm512_load_ps (o + LANES);
              const __m512i lo
                  = _mm512_setr_epi32 (0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
              const __m512i hi = _mm512_setr_epi32 (8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29,
                                                    14, 30, 15, 31);
              _mm512_mask_storeu_ps (dst, (__mmask16) om, _mm512_permutex2var_ps (o0, lo, o1));
              _mm512_mask_storeu_ps (dst + 16, (__mmask16) (om >> 16),
                                     _mm512_permutex2var_ps (o0, hi, o1));
            }
          else
            {
              __m512 o0 = _mm512_load_ps (o), o1 = _mm512_load_ps (o + LANES);
              __m512 o2 = _mm512_load_ps (o + 2 * LANES), o3 = _mm512_load_ps (o + 3 * LANES);
              const __m512i lo
                  = _mm512_setr_epi32 (0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
              const __m512i hi = _mm512_setr_epi32 (8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29,
                                                    14, 30, 15, 31);
              /* pairs (jj 0,1) and (jj 2,3) per tile, then the pairs of pairs */
              __m512 a = _mm512_permutex2var_ps (o0, lo, o1),
                     a2 = _mm512_permutex2var_ps (o0, hi, o1);
              __m512 b = _mm512_permutex2var_ps (o2, lo, o3),
                     b2 = _mm512_permutex2var_ps (o2, hi, o3);
              const __m512i q0
                  = _mm512_setr_epi32 (0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
              const __m512i q1 = _mm512_setr_epi32 (8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29,
                                                    14, 15, 30, 31);
              _mm512_mask_storeu_ps (dst, (__mmask16) om, _mm512_permutex2var_ps (a, q0, b));
              _mm512_mask_storeu_ps (dst + 16, (__mmask16) (om >> 16),
                                     _mm512_permutex2var_ps (a, q1, b));
              _mm512_mask_storeu_ps (dst + 32, (__mmask16) (om >> 32),
                                     _mm512_permutex2var_ps (a2, q0, b2));
              _mm512_mask_storeu_ps (dst + 48, (__mmask16) (om >> 48),
                                     _mm512_permutex2var_ps (a2, q1, b2));
            }
        }
    }
}
#endif

/* gf[k·16 + l] = src[l·9 + k]: the taps of 16 consecutive 3×3 filters. */
typedef void (*TapsFn) (const float *src, float *gf);

static void
taps_generic (const float *src, float *gf)
{
  for (int k = 0; k < 9; k++)
    for (int l = 0; l < LANES; l++)
      gf[k * LANES + l] = src[l * 9 + k];
}

#ifdef GZ_HAVE_X86_KERNELS
/* The 144 floats as 9 vectors; tap k of filter l is element 9l + k, taken
 * by a two-source permute from each pair of vectors (cheaper than gathers). */
__attribute__ ((target ("avx512f"))) static void
taps_avx512 (const float *src, float *gf)
{
  __m512 w[10];
  for (int i = 0; i < 9; i++)
    w[i] = _mm512_loadu_ps (src + 16 * i);
  w[9] = _mm512_setzero_ps ();
  const __m512i nine_l = _mm512_mullo_epi32 (
      _mm512_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm512_set1_epi32 (9));
  for (int k = 0; k < 9; k++)
    {
      __m512i e = _mm512_add_epi32 (nine_l, _mm512_set1_epi32 (k));
      __m512i pair = _mm512_srli_epi32 (e, 5);
      __m512 r = _mm512_permutex2var_ps (w[0], e, w[1]);
      for (int p = 1; p < 5; p++)
        r = _mm512_mask_mov_ps (r, _mm512_cmpeq_epi32_mask (pair, _mm512_set1_epi32 (p)),
                                _mm512_permutex2var_ps (w[2 * p], e, w[2 * p + 1]));
      _mm512_storeu_ps (gf + k * LANES, r);
    }
}
#endif

/* ---- the transforms (16 tiles per vector) ------------------------------------ */

/* Unaligned vector load and store (macros: passing v16 by value would
 * change the ABI of the non-AVX-512 builds). */
#define LD(v, p) __builtin_memcpy (&(v), (p), sizeof (v16))
#define ST(p, v) __builtin_memcpy ((p), &(v), sizeof (v16))

/* r[i·rs] = (Bᵀ d)[i] for d[j·ds]. */
AI void
bt_1d (int tile, const v16 *d, int ds, v16 *r, int rs)
{
  if (tile == 2)
    {
      v16 d0 = d[0], d1 = d[ds], d2 = d[2 * ds], d3 = d[3 * ds];
      r[0] = d0 - d2;
      r[rs] = d1 + d2;
      r[2 * rs] = d2 - d1;
      r[3 * rs] = d1 - d3;
    }
  else
    {
      v16 d0 = d[0], d1 = d[ds], d2 = d[2 * ds], d3 = d[3 * ds], d4 = d[4 * ds], d5 = d[5 * ds];
      v16 t1 = d4 - 4.0f * d2, t2 = d3 - 4.0f * d1;
      v16 t3 = d4 - d2, t4 = 2.0f * (d3 - d1);
      r[0] = 4.0f * d0 - 5.0f * d2 + d4;
      r[rs] = t1 + t2;
      r[2 * rs] = t1 - t2;
      r[3 * rs] = t3 + t4;
      r[4 * rs] = t3 - t4;
      r[5 * rs] = 4.0f * d1 - 5.0f * d3 + d5;
    }
}

/* r[i·rs] = (Aᵀ m)[i] for m[j·ms]. */
AI void
at_1d (int tile, const v16 *m, int ms, v16 *r, int rs)
{
  if (tile == 2)
    {
      v16 m1 = m[ms], m2 = m[2 * ms];
      r[0] = m[0] + m1 + m2;
      r[rs] = m1 - m2 - m[3 * ms];
    }
  else
    {
      v16 s1 = m[ms] + m[2 * ms], d1 = m[ms] - m[2 * ms];
      v16 s2 = m[3 * ms] + m[4 * ms], d2 = m[3 * ms] - m[4 * ms];
      r[0] = m[0] + s1 + s2;
      r[rs] = d1 + 2.0f * d2;
      r[2 * rs] = s1 + 4.0f * s2;
      r[3 * rs] = d1 + 8.0f * d2 + m[5 * ms];
    }
}

/* r[i·rs] = (G g)[i] for g[j·gs] (three taps). */
AI void
g_1d (int tile, const v16 *g, int gs, v16 *r, int rs)
{
  v16 g0 = g[0], g1 = g[gs], g2 = g[2 * gs];
  if (tile == 2)
    {
      v16 e = 0.5f * (g0 + g2), o = 0.5f * g1;
      r[0] = g0;
      r[rs] = e + o;
      r[2 * rs] = e - o;
      r[3 * rs] = g2;
    }
  else
    {
      v16 e1 = (-1.0f / 6) * (g0 + g2), o1 = (-1.0f / 6) * g1;
      v16 e2 = (1.0f / 24) * g0 + (1.0f / 6) * g2, o2 = (1.0f / 12) * g1;
      r[0] = 0.25f * g0;
      r[rs] = e1 + o1;
      r[2 * rs] = e1 - o1;
      r[3 * rs] = e2 + o2;
      r[4 * rs] = e2 - o2;
      r[5 * rs] = g2;
    }
}

typedef struct
{
  int tile, m, c;
  const float *w;
  float *u;
} WeightJob;

/* U for output channels [m0, m1), 16 input channels per vector (taps
 * loads 16 filters' nine taps, tap-major). */
AI void
weights_body (const WeightJob *j, long m0, long m1, int tile, TapsFn taps)
{
  const int alpha = tile + 2;
  const long C = j->c;
  const size_t pstride = (size_t) j->m * C;
  for (long mo = m0; mo < m1; mo++)
    for (long c0 = 0; c0 < C; c0 += LANES)
      {
        int nl = C - c0 < LANES ? (int) (C - c0) : LANES;
        float gf[9][LANES];
        const float *src = j->w + ((size_t) mo * C + c0) * 9;
        if (nl == LANES)
          taps (src, gf[0]);
        else
          for (int k = 0; k < 9; k++)
            for (int l = 0; l < LANES; l++)
              gf[k][l] = l < nl ? src[l * 9 + k] : 0.0f;
        v16 g[9], t[MAX_ALPHA][3];
        for (int k = 0; k < 9; k++)
          LD (g[k], gf[k]);
        for (int b = 0; b < 3; b++) /* t = G g, column by column */
          {
            v16 col[MAX_ALPHA];
            g_1d (tile, g + b, 3, col, 1);
            for (int i = 0; i < alpha; i++)
              t[i][b] = col[i];
          }
        float *dst = j->u + (size_t) mo * C + c0;
        for (int i = 0; i < alpha; i++) /* U = t Gᵀ, row by row */
          {
            v16 r[MAX_ALPHA];
            g_1d (tile, t[i], 1, r, 1);
            for (int jj = 0; jj < alpha; jj++)
              {
                float *d = dst + (size_t) (i * alpha + jj) * pstride;
                if (nl == LANES)
                  ST (d, r[jj]);
                else
                  {
                    float tmp[LANES];
                    ST (tmp, r[jj]);
                    memcpy (d, tmp, (size_t) nl * sizeof (float));
                  }
              }
          }
      }
}

typedef struct
{
  const GzWinogradShape *s;
  const Geo *g;
  const LaneMeta *lm;
  int tb; /* tiles per block, a multiple of NR */
  int groups; /* vector groups holding this block's real tiles */
  const float *x; /* input */
  float *v; /* per position, tb / NR panels of C × NR (gz-gemm.h layout) */
  const float *mo; /* [α²][mc][tb] for output channels [m_base, m_base + mc) */
  int m_base, mc;
  const float *bias;
  float *y;
} BlockJob;

/* Floats between positions of V (rows × tb) and Mo: padded by a panel so
 * that the α² streams a transform touches at once do not all fall into the
 * same L1 sets (unpadded they are a multiple of 4 KiB apart). */
static inline size_t
pos_stride (size_t rows, int tb)
{
  return rows * (size_t) tb + NR;
}

/* V for channels [c0, c1) of the block. */
AI void
input_body (const BlockJob *j, long c0, long c1, int tile, RowFn row_fn)
{
  const int alpha = tile + 2;
  const long C = j->s->c, W = j->s->w, tb = j->tb;
  const size_t pstride = pos_stride ((size_t) C, (int) tb);
  for (long c = c0; c < c1; c++)
    {
      const float *plane = j->x + c * j->g->hw;
      /* A channel plane of a large batch is not in cache, and the hardware
       * prefetchers do not guess the jump to the next channel: fetch the
       * block's part of the plane two channels ahead. */
      if (c + 2 < c1)
        for (int r = 0; r < j->lm->n_ranges; r++)
          for (long o = j->lm->range_lo[r]; o < j->lm->range_hi[r]; o += 16)
            __builtin_prefetch (plane + 2 * j->g->hw + o);
      for (int gi = 0; gi < j->groups; gi++)
        {
          float d[MAX_ALPHA * LANES] __attribute__ ((aligned (64)));
          v16 h[MAX_ALPHA][MAX_ALPHA]; /* h[a][jj] = (d Bᵀ-row) horizontally */
          for (int a = 0; a < alpha; a++)
            {
              row_fn (tile, plane, j->lm, gi, a, W, d);
              v16 row[MAX_ALPHA];
              for (int b = 0; b < alpha; b++)
                LD (row[b], d + b * LANES);
              bt_1d (tile, row, 1, h[a], 1);
            }
          for (int jj = 0; jj < alpha; jj++)
            {
              v16 col[MAX_ALPHA], r[MAX_ALPHA];
              for (int a = 0; a < alpha; a++)
                col[a] = h[a][jj];
              bt_1d (tile, col, 1, r, 1);
              /* panel gi / 2 of position p: C rows of NR tiles */
              float *dst = j->v + ((size_t) (gi / 2) * C + c) * NR + (gi % 2) * LANES;
              for (int i = 0; i < alpha; i++)
                ST (dst + (size_t) (i * alpha + jj) * pstride, r[i]);
            }
        }
    }
}

/* y for output channels m_base + [m0, m1) of the block. */
AI void
output_body (const BlockJob *j, long m0, long m1, int tile, StoreFn store)
{
  const int alpha = tile + 2;
  const long tb = j->tb, ow = j->g->ow;
  const size_t pstride = pos_stride ((size_t) j->mc, (int) tb);
  for (long mo = m0; mo < m1; mo++)
    {
      float b = j->bias != NULL ? j->bias[j->m_base + mo] : 0.0f;
      float *yc = j->y + (j->m_base + mo) * j->g->ohw;
      if (mo + 2 < m1) /* as for the input: the block's part of y, two channels ahead */
        for (int r = 0; r < j->lm->n_ranges; r++)
          for (long o = j->lm->out_lo[r]; o < j->lm->out_hi[r]; o += 16)
            __builtin_prefetch (yc + 2 * j->g->ohw + o, 1);
      for (int gi = 0; gi < j->groups; gi++)
        {
          const float *src = j->mo + (size_t) mo * tb + gi * LANES;
          v16 q[MAX_ALPHA][4]; /* q[i][jj] = horizontal Aᵀ of row i */
          for (int i = 0; i < alpha; i++)
            {
              v16 row[MAX_ALPHA];
              for (int jj = 0; jj < alpha; jj++)
                LD (row[jj], src + (size_t) (i * alpha + jj) * pstride);
              at_1d (tile, row, 1, q[i], 1);
            }
          float out[4][4][LANES] __attribute__ ((aligned (64)));
          for (int jj = 0; jj < tile; jj++)
            {
              v16 col[MAX_ALPHA], r[4];
              for (int i = 0; i < alpha; i++)
                col[i] = q[i][jj];
              at_1d (tile, col, 1, r, 1);
              for (int ii = 0; ii < tile; ii++)
                {
                  v16 o = r[ii] + b;
                  ST (out[ii][jj], o);
                }
            }
          store (tile, out[0][0], yc, j->lm, gi, ow);
        }
    }
}

typedef void (*RangeFn) (const BlockJob *, long, long);
typedef void (*WeightFn) (const WeightJob *, long, long);

typedef struct
{
  RangeFn input[2], output[2]; /* [tile == 4] */
  WeightFn weights[2];
  const char *name;
} Kernels;

#define DEFINE_KERNELS(SFX, ATTR, GATHER, TAPS, STORE)                       \
  ATTR static void input2_##SFX (const BlockJob *j, long a, long b)          \
  {                                                                          \
    input_body (j, a, b, 2, GATHER);                                         \
  }                                                                          \
  ATTR static void input4_##SFX (const BlockJob *j, long a, long b)          \
  {                                                                          \
    input_body (j, a, b, 4, GATHER);                                         \
  }                                                                          \
  ATTR static void output2_##SFX (const BlockJob *j, long a, long b)         \
  {                                                                          \
    output_body (j, a, b, 2, STORE);                                         \
  }                                                                          \
  ATTR static void output4_##SFX (const BlockJob *j, long a, long b)         \
  {                                                                          \
    output_body (j, a, b, 4, STORE);                                         \
  }                                                                          \
  ATTR static void weights2_##SFX (const WeightJob *j, long a, long b)       \
  {                                                                          \
    weights_body (j, a, b, 2, TAPS);                                         \
  }                                                                          \
  ATTR static void weights4_##SFX (const WeightJob *j, long a, long b)       \
  {                                                                          \
    weights_body (j, a, b, 4, TAPS);                                         \
  }                                                                          \
  static const Kernels kernels_##SFX = { { input2_##SFX, input4_##SFX },     \
                                         { output2_##SFX, output4_##SFX },   \
                                         { weights2_##SFX, weights4_##SFX }, \
                                         #SFX };

DEFINE_KERNELS (generic, , row_generic, taps_generic, store_generic)
#ifdef GZ_HAVE_X86_KERNELS
DEFINE_KERNELS (avx512, __attribute__ ((target ("avx512f"))), row_avx512, taps_avx512, store_avx512)
DEFINE_KERNELS (avx2, __attribute__ ((target ("avx2,fma"))), row_avx2, taps_generic, store_generic)
#endif

static const Kernels *
kernels (void)
{
  static const Kernels *_Atomic chosen;
  const Kernels *k = chosen;
  if (k != NULL)
    return k;
  k = &kernels_generic;
#ifdef GZ_HAVE_X86_KERNELS
  if (gz_isa () == GZ_ISA_AVX512)
    k = &kernels_avx512;
  else if (gz_isa () == GZ_ISA_AVX2)
    k = &kernels_avx2;
#endif
  chosen = k;
  return k;
}

static void
weights_range (long begin, long end, void *data)
{
  const WeightJob *j = data;
  kernels ()->weights[j->tile == 4](j, begin, end);
}

void
gz_winograd_transform_weights (const GzWinogradShape *s, const float *w, float *u)
{
  WeightJob j = { gz_winograd_tile (s), s->m, s->c, w, u };
  gz_parallel_for (s->m, 1 + 4096 / s->c, weights_range, &j);
}

/* ---- driver ------------------------------------------------------------------ */

typedef struct Conv_
{
  const GzWinogradShape *s;
  const Geo *g;
  const Kernels *k;
  const GzGemmKernel *kern;
  const float *x, *bias;
  float *y;
  int tb;
  long blocks;
  int slots; /* parallel mode: one Mo (and V) area per slot */
  bool keep_v; /* V of every block is kept across output-channel chunks */
  float *v, *mo; /* V: (keep_v ? blocks : slots) × vf floats; Mo: slots × mof */
  size_t vf, mof;
  /* the current chunk of output channels and its U ([α²][mc][C], lda C) */
  int m_base, mc, first_chunk;
  const float *u;
  size_t u_pstride; /* floats between positions of u */
} Conv;

typedef struct
{
  const BlockJob *j;
  RangeFn fn;
} RangeJob;

typedef struct
{
  const struct Conv_ *cv;
  const float *v;
  float *mo;
  int panels;
} ProductJob;

static void products_range (long begin, long end, void *data);

static void
range_run (long begin, long end, void *data)
{
  const RangeJob *r = data;
  r->fn (r->j, begin, end);
}

/* One block for the current chunk of output channels: input transform
 * (unless kept from an earlier chunk), a GEMM per position, output
 * transform. With split, each step is spread over the threads; otherwise
 * all runs here. */
static void
run_block (const Conv *cv, long blk, int slot, bool split)
{
  const GzWinogradShape *s = cv->s;
  const Geo *g = cv->g;
  int tb = cv->tb, tile4 = g->tile == 4;
  LaneMeta lm;
  lane_meta (s, g, blk * tb, tb, &lm);
  float *v = cv->v + (cv->keep_v ? (size_t) blk : (size_t) slot) * cv->vf;
  float *mo = cv->mo + (size_t) slot * cv->mof;
  long left = g->tiles - blk * tb;
  int panels = (int) ((left < tb ? left : tb) + NR - 1) / NR;
  BlockJob j
      = { s, g, &lm, tb, panels * (NR / LANES), cv->x, v, mo, cv->m_base, cv->mc, cv->bias, cv->y };
  if (!cv->keep_v || cv->first_chunk)
    {
      if (split)
        {
          RangeJob r = { &j, cv->k->input[tile4] };
          gz_parallel_for (s->c, 1, range_run, &r);
        }
      else
        cv->k->input[tile4](&j, 0, s->c);
    }
  /* Only the block's panels holding real tiles go through the products. */
  ProductJob pj = { cv, v, mo, panels };
  long units = (long) g->positions * ((cv->mc + cv->kern->mr - 1) / cv->kern->mr);
  if (split)
    gz_parallel_for (units, 1, products_range, &pj);
  else
    products_range (0, units, &pj);
  if (split)
    {
      RangeJob r = { &j, cv->k->output[tile4] };
      gz_parallel_for (cv->mc, 1, range_run, &r);
    }
  else
    cv->k->output[tile4](&j, 0, cv->mc);
}

/* Units [begin, end) of (position, MR rows of the chunk): Mo[p] rows =
 * U[p] rows · V[p], k in blocks of KC, each panel of V read in place. */
static void
products_range (long begin, long end, void *data)
{
  const ProductJob *pj = data;
  const Conv *cv = pj->cv;
  const int mr = cv->kern->mr, C = cv->s->c, tb = cv->tb;
  const long row_units = (cv->mc + mr - 1) / mr;
  for (long unit = begin; unit < end; unit++)
    {
      long p = unit / row_units;
      int i0 = (int) (unit % row_units) * mr, rows = cv->mc - i0 < mr ? cv->mc - i0 : mr;
      const float *a = cv->u + (size_t) p * cv->u_pstride + (size_t) i0 * C;
      const float *vp = pj->v + (size_t) p * pos_stride ((size_t) C, tb);
      float *c = pj->mo + (size_t) p * pos_stride ((size_t) cv->mc, tb) + (size_t) i0 * tb;
      for (int k0 = 0; k0 < C; k0 += KC)
        {
          int kc = C - k0 < KC ? C - k0 : KC;
          for (int q = 0; q < pj->panels; q++)
            cv->kern->fn (rows, kc, a + k0, C, false, vp + ((size_t) q * C + k0) * NR, c + q * NR,
                          tb, NR, k0 > 0, NULL);
        }
    }
}

static void
slots_run (long begin, long end, void *data)
{
  const Conv *cv = data;
  for (long slot = begin; slot < end; slot++)
    for (long blk = slot; blk < cv->blocks; blk += cv->slots)
      run_block (cv, blk, (int) slot, false);
}

static long
env_kb (const char *name, long fallback)
{
  const char *env = getenv (name);
  long kb = env != NULL ? atol (env) : 0;
  return (kb > 0 ? kb : fallback) * 1024;
}

GzStatus
gz_winograd_conv (const GzWinogradShape *s, const float *x, const float *w, const float *u,
                  const float *bias, float *y, GzError *err)
{
  Geo g;
  int tile = gz_winograd_tile (s);
  if (!geo_init (s, tile, &g))
    return gz_error_set (err, GZ_ERR_ARGUMENT, "winograd: unsupported shape");
  if (gz_winograd_u_floats (s) == 0)
    return gz_error_set (err, GZ_ERR_LIMIT, "winograd: weights too large");
  const size_t P = (size_t) g.positions, C = (size_t) s->c;

  /* Output channels per chunk: all of them with a cached U, else as many as
   * keep the chunk's U within a few MiB (it is transformed per call; a whole
   * F(4) U of a 512-channel layer, 38 MB, would be fresh pages every call). */
  int mc = s->m;
  if (u == NULL)
    {
      long rows = env_kb ("GAZE_WINOGRAD_U_KB", 4096) / (long) (P * C * sizeof (float));
      rows = rows < 14 ? 14 : rows / 14 * 14; /* whole rows of the 14-row AVX-512 kernel */
      if (rows < mc)
        mc = (int) rows;
    }
  int chunks = (s->m + mc - 1) / mc;
  mc = (s->m + chunks - 1) / chunks;

  /* Tiles per block: V + Mo within the L2 budget, at least 64 so that the
   * GEMMs stay efficient; then as many blocks as threads or a multiple. */
  int threads = gz_get_threads ();
  if (threads < 1)
    threads = 1;
  double per_tile = (double) P * ((double) C + mc) * sizeof (float);
  long tb = (long) (env_kb ("GAZE_WINOGRAD_BLOCK_KB", 1024) / per_tile) / NR * NR;
  if (tb < 64)
    tb = 64;
  if (tb > MAX_TB)
    tb = MAX_TB;
  long blocks = (g.tiles + tb - 1) / tb;
  int slots = 1;
  if (blocks >= threads && threads > 1)
    {
      blocks = (blocks + threads - 1) / threads * threads;
      slots = threads;
    }
  tb = ((g.tiles + blocks - 1) / blocks + NR - 1) / NR * NR;
  blocks = (g.tiles + tb - 1) / tb;

  size_t vf = P * pos_stride (C, (int) tb), mof = P * pos_stride ((size_t) mc, (int) tb);
  size_t uf = u == NULL ? (P * (size_t) mc * C + 15) / 16 * 16 : 0; /* keeps V aligned */
  /* With several chunks, keep every block's V (if that stays moderate) rather
   * than transform the input again per chunk. */
  bool keep_v = chunks > 1
      && (double) vf * blocks * sizeof (float) <= env_kb ("GAZE_WINOGRAD_KEEP_KB", 24576);
  double total_d = (double) uf + (double) vf * (keep_v ? blocks : slots) + (double) mof * slots;
  if (total_d > (double) SIZE_MAX / sizeof (float) / 2)
    return gz_error_set (err, GZ_ERR_LIMIT, "winograd: scratch too large");
  size_t total = (size_t) total_d + 16;
  float *block = gz_scratch_get (total);
  if (block == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "winograd: out of memory (%zu floats)", total);
  /* The kernels want 64-byte aligned panels; every area is a multiple of NR floats. */
  float *scratch = (float *) (((uintptr_t) block + 63) & ~(uintptr_t) 63);

  static const GzGemmKernel *_Atomic kern_chosen;
  const GzGemmKernel *kern = kern_chosen;
  if (kern == NULL)
    kern_chosen = kern = gz_gemm_kernel_pick ();
  Conv cv = { s,
              &g,
              kernels (),
              kern,
              x,
              bias,
              y,
              (int) tb,
              blocks,
              slots,
              keep_v,
              scratch + uf,
              scratch + uf + vf * (keep_v ? blocks : slots),
              vf,
              mof,
              0,
              mc,
              1,
              u,
              (size_t) s->m * C };
  for (int ch = 0; ch < chunks; ch++)
    {
      cv.m_base = ch * mc;
      cv.mc = s->m - cv.m_base < mc ? s->m - cv.m_base : mc;
      cv.first_chunk = ch == 0;
      if (u == NULL)
        {
          WeightJob wj = { tile, cv.mc, s->c, w + (size_t) cv.m_base * C * 9, scratch };
          gz_parallel_for (cv.mc, 1 + 4096 / s->c, weights_range, &wj);
          cv.u = scratch;
          cv.u_pstride = (size_t) cv.mc * C;
        }
      else
        cv.u = u + (size_t) cv.m_base * C;
      if (slots > 1)
        gz_parallel_for (slots, 1, slots_run, &cv);
      else
        for (long blk = 0; blk < blocks; blk++)
          run_block (&cv, blk, 0, threads > 1);
    }
  gz_scratch_put (block);
  return GZ_OK;
}

/* ---- when it pays ------------------------------------------------------------ */

bool
gz_winograd_applies (const GzWinogradShape *s, int kh, int kw, int stride_h, int stride_w,
                     int dil_h, int dil_w, int group, bool u_cached)
{
  if (kh != 3 || kw != 3 || stride_h != 1 || stride_w != 1 || dil_h != 1 || dil_w != 1
      || group != 1)
    return false;
  Geo g;
  if (!geo_init (s, gz_winograd_tile (s), &g) || gz_winograd_u_floats (s) == 0)
    return false;
  /* Measured only from 64 channels up: below, the transforms weigh more. */
  if (s->c < 64 || s->m < 64)
    return false;
  return predicted_speedup (s, gz_winograd_tile (s), u_cached) >= 1.15;
}
