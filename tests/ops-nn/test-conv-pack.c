/* test-conv-pack.c — the implicit-im2col packer against a naive im2col in panel layout
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * For many geometries (odd sizes, strides, dilations, asymmetric pads, 1-D,
 * groups) and blocks [k0, k0 + kc) × [n0, n0 + nc) not starting at 0, the
 * packer's output must equal the im2col matrix computed element by element
 * here and laid out as gz-gemm.h describes (zero columns past nc), for one
 * image and for three side by side, and
 * nothing past the block's panels may be written. Both the packer this CPU
 * picks and the portable one are checked. Then whole Conv forwards through
 * gz_gemm, sized to use several k blocks, panels and (small planes) images
 * per product, against a float64 direct convolution at 1 and 2 threads.
 */
#include "ops-nn-test-util.h"

#include "gaze-engine.h"
#include "gz-gemm.h"
#include "kernels/gz-conv-pack.h"

typedef struct
{
  const char *label;
  int c, group, ih, iw, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
} PackCase;

static const PackCase cases[] = {
  { "3x3 pad 1 @7", 3, 1, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
  { "3x3 pad 1 @56-ish odd", 4, 1, 37, 45, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
  { "3x3 stride 2 pad 1", 3, 1, 28, 29, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1 },
  { "7x7 stride 2 pad 3", 3, 1, 40, 41, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3 },
  { "3x3 dilation 2 pad 2", 2, 1, 19, 23, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2 },
  { "asym pads, stride 2x1, dil 1x2", 2, 1, 9, 8, 3, 2, 2, 1, 1, 2, 1, 0, 2, 1 },
  { "1x1 stride 2", 5, 1, 15, 13, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0 },
  { "1x1 pointwise", 5, 1, 9, 11, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 },
  { "stride 3", 2, 1, 20, 31, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1 },
  { "stride 5 kernel 5", 2, 1, 21, 70, 5, 5, 5, 5, 1, 1, 2, 2, 2, 2 },
  { "groups 3", 9, 3, 11, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
  { "wide row 130", 2, 1, 5, 130, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
  { "narrow rows (width 3)", 3, 1, 12, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },
  { "huge pads", 2, 1, 4, 5, 3, 3, 1, 1, 1, 1, 6, 7, 5, 40 },
  { "kernel wider than input", 1, 1, 6, 4, 3, 9, 1, 1, 1, 1, 1, 4, 1, 4 },
  { "1-D k5 pad 2", 3, 1, 1, 77, 1, 5, 1, 1, 1, 1, 0, 2, 0, 2 },
  { "1-D stride 2 dil 3", 2, 1, 1, 90, 1, 3, 1, 2, 1, 3, 0, 1, 0, 0 },
  { "1-D groups 2", 4, 2, 1, 50, 1, 3, 1, 1, 1, 1, 0, 1, 0, 1 },
};

/* Element (r, n) of the im2col matrix of images side by side (x_img apart). */
static float
im2col_at (const GzOpWindow *w, const float *x, int64_t x_img, int64_t r, int64_t n)
{
  const int64_t P = w->out_h * w->out_w;
  x += n / P * x_img;
  n %= P;
  int64_t kj = r % w->k_w, ki = (r / w->k_w) % w->k_h, c = r / (w->k_w * w->k_h);
  int64_t oy = n / w->out_w, ox = n % w->out_w;
  int64_t iy = oy * w->s_h - w->pad_t + ki * w->d_h, ix = ox * w->s_w - w->pad_l + kj * w->d_w;
  if (iy < 0 || iy >= w->in_h || ix < 0 || ix >= w->in_w)
    return 0.0f;
  return x[(c * w->in_h + iy) * w->in_w + ix];
}

static int
check_block (const PackCase *pc, const GzOpWindow *w, const GzConvPack *p, int k0, int kc, int n0,
             int nc)
{
  const int panels = (nc + GZ_GEMM_NR - 1) / GZ_GEMM_NR, guard = 64;
  const size_t len = (size_t) panels * kc * GZ_GEMM_NR;
  float *dst = g_new (float, len + guard);
  for (size_t i = 0; i < len + guard; i++)
    dst[i] = 12345.0f; /* poison: every panel element must be written */
  gz_conv_pack_b (p, k0, kc, n0, nc, dst);
  int bad = 0;
  for (int pn = 0; pn < panels; pn++)
    for (int kk = 0; kk < kc; kk++)
      for (int j = 0; j < GZ_GEMM_NR; j++)
        {
          int col = pn * GZ_GEMM_NR + j;
          float want = col < nc ? im2col_at (w, p->x, p->x_img, k0 + kk, n0 + col) : 0.0f;
          float got = dst[((size_t) pn * kc + kk) * GZ_GEMM_NR + j];
          if (got != want && bad++ < 5)
            g_printerr ("%s isa %d block k0 %d kc %d n0 %d nc %d: (%d, %d) = %g, want %g\n",
                        pc->label, p->isa, k0, kc, n0, nc, k0 + kk, n0 + col, got, want);
        }
  for (int i = 0; i < guard; i++)
    if (dst[len + i] != 12345.0f && bad++ < 5)
      g_printerr ("%s: wrote past the block (%d)\n", pc->label, i);
  g_free (dst);
  return bad;
}

static void
test_pack (void)
{
  GRand *rng = g_rand_new_with_seed (7);
  int blocks = 0;
  for (size_t ci = 0; ci < G_N_ELEMENTS (cases); ci++)
    {
      const PackCase *pc = &cases[ci];
      GzOpWindow w = {
        .in_h = pc->ih,
        .in_w = pc->iw,
        .k_h = pc->kh,
        .k_w = pc->kw,
        .s_h = pc->sh,
        .s_w = pc->sw,
        .d_h = pc->dh,
        .d_w = pc->dw,
        .pad_t = pc->pt,
        .pad_l = pc->pl,
        .pad_b = pc->pb,
        .pad_r = pc->pr,
      };
      w.out_h = (pc->ih + pc->pt + pc->pb - ((pc->kh - 1) * pc->dh + 1)) / pc->sh + 1;
      w.out_w = (pc->iw + pc->pl + pc->pr - ((pc->kw - 1) * pc->dw + 1)) / pc->sw + 1;
      g_assert_cmpint (w.out_h, >=, 1);
      g_assert_cmpint (w.out_w, >=, 1);
      const int64_t hw = (int64_t) pc->ih * pc->iw, cg = pc->c / pc->group;
      const int K = (int) (cg * pc->kh * pc->kw), nimg = 3;
      float *x = g_new (float, nimg * pc->c * hw);
      for (int64_t i = 0; i < nimg * pc->c * hw; i++)
        x[i] = (float) g_rand_double_range (rng, -1, 1);
      for (int gi = 0; gi < pc->group; gi++)
        for (int variant = 0; variant < 4; variant++)
          {
            /* variant & 1: the portable packer; variant & 2: three images */
            int isa = variant & 1;
            GzConvPack p;
            gz_conv_pack_init (&p, &w, x + gi * cg * hw);
            int P = (int) (w.out_h * w.out_w);
            if (variant & 2)
              {
                p.x_img = pc->c * hw;
                P *= nimg;
              }
            if (isa == 1)
              p.isa = 0; /* the portable packer too */
            else if (p.isa == 0)
              continue; /* the CPU's pick is the portable one: checked next */
            /* The whole matrix in one block, then blocks at odd offsets. */
            int kcs[] = { K, 7, 64, 1 }, ncs[] = { P, 37, 96, 5, 32, 1 };
            g_assert_cmpint (check_block (pc, &w, &p, 0, K, 0, P), ==, 0);
            blocks++;
            for (size_t a = 1; a < G_N_ELEMENTS (kcs); a++)
              for (size_t b = 1; b < G_N_ELEMENTS (ncs); b++)
                {
                  int kc = kcs[a] < K ? kcs[a] : K, nc = ncs[b] < P ? ncs[b] : P;
                  int k0 = g_rand_int_range (rng, 0, K - kc + 1);
                  int n0 = g_rand_int_range (rng, 0, P - nc + 1);
                  g_assert_cmpint (check_block (pc, &w, &p, k0, kc, n0, nc), ==, 0);
                  /* and the block that ends exactly at the last row/column */
                  g_assert_cmpint (check_block (pc, &w, &p, K - kc, kc, P - nc, nc), ==, 0);
                  blocks += 2;
                }
          }
      g_free (x);
    }
  g_test_message ("%d blocks checked", blocks);
  g_rand_free (rng);
}

typedef struct
{
  const char *label;
  int n, c, h, w, m, k, s, pad, group;
} FwdCase;

static const FwdCase fwd_cases[] = {
  { "batch 3, 9x9 (images side by side), K 360", 3, 40, 9, 9, 20, 3, 1, 1, 1 },
  { "batch 2, 30x30 stride 2", 2, 12, 30, 30, 17, 3, 2, 1, 1 },
  { "batch 5, pointwise 5x5, K 300", 5, 300, 5, 5, 33, 1, 1, 0, 1 },
  { "batch 4, groups 2, 7x7", 4, 32, 7, 7, 48, 3, 1, 1, 2 },
  { "batch 40 of 7x7 (two batched products)", 40, 8, 7, 7, 9, 3, 1, 1, 1 },
  { "batch 1, 5x5 pad 2 on 23x31", 1, 6, 23, 31, 70, 5, 1, 2, 1 },
  /* 3×3 stride 1 from 64 channels: Winograd where its cost model says so */
  { "batch 1, 3x3 64->64 @40", 1, 64, 40, 40, 64, 3, 1, 1, 1 },
  { "batch 8, 3x3 128->96 @14", 8, 128, 14, 14, 96, 3, 1, 1, 1 },
  { "batch 2, 3x3 64->64 @33x27 pad 2", 2, 64, 33, 27, 64, 3, 1, 2, 1 },
};

static void
test_conv_forward (void)
{
  for (size_t ci = 0; ci < G_N_ELEMENTS (fwd_cases); ci++)
    {
      const FwdCase *fc = &fwd_cases[ci];
      const int cg = fc->c / fc->group, mg = fc->m / fc->group;
      const int oh = (fc->h + 2 * fc->pad - fc->k) / fc->s + 1;
      const int ow = (fc->w + 2 * fc->pad - fc->k) / fc->s + 1;
      TNode t = { 0 };
      tn_init (&t, "Conv", 3, 1, 13);
      tn_ints (&t, "kernel_shape", 2, (int64_t[]){ fc->k, fc->k });
      tn_ints (&t, "strides", 2, (int64_t[]){ fc->s, fc->s });
      tn_ints (&t, "pads", 4, (int64_t[]){ fc->pad, fc->pad, fc->pad, fc->pad });
      tn_int (&t, "group", fc->group);
      GzTensor *in[3] = {
        tn_uniform (4, (int64_t[]){ fc->n, fc->c, fc->h, fc->w }, -1, 1),
        tn_uniform (4, (int64_t[]){ fc->m, cg, fc->k, fc->k }, -1, 1),
        tn_uniform (1, (int64_t[]){ fc->m }, -1, 1),
      };
      const float *x = in[0]->data, *wt = in[1]->data, *b = in[2]->data;
      const int64_t ny = (int64_t) fc->n * fc->m * oh * ow;
      double *want = g_new (double, ny);
      for (int n = 0; n < fc->n; n++)
        for (int o = 0; o < fc->m; o++)
          for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
              {
                const int gi = o / mg;
                double acc = b[o];
                for (int c = 0; c < cg; c++)
                  for (int ki = 0; ki < fc->k; ki++)
                    for (int kj = 0; kj < fc->k; kj++)
                      {
                        int iy = oy * fc->s - fc->pad + ki, ix = ox * fc->s - fc->pad + kj;
                        if (iy < 0 || iy >= fc->h || ix < 0 || ix >= fc->w)
                          continue;
                        acc += (double) wt[((o * cg + c) * fc->k + ki) * fc->k + kj]
                            * x[(((int64_t) n * fc->c + gi * cg + c) * fc->h + iy) * fc->w + ix];
                      }
                want[(((int64_t) n * fc->m + o) * oh + oy) * ow + ox] = acc;
              }
      GzTensor *y[2];
      for (int thr = 1; thr <= 2; thr++)
        {
          gz_set_threads (thr);
          y[thr - 1] = tn_forward (&t, in);
          g_test_message ("%s, %d thread(s)", fc->label, thr);
          tn_assert_close (y[thr - 1], want, ny, 1e-5);
        }
      /* The split between threads never changes the sums. */
      g_assert_cmpmem (y[0]->data, ny * sizeof (float), y[1]->data, ny * sizeof (float));
      gz_set_threads (1);
      for (int i = 0; i < 2; i++)
        gz_tensor_free (y[i]);
      for (int i = 0; i < 3; i++)
        gz_tensor_free (in[i]);
      g_free (want);
      tn_clear (&t);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/conv-pack/im2col-panels", test_pack);
  g_test_add_func ("/conv-pack/conv-forward", test_conv_forward);
  return g_test_run ();
}
