/* test-ops-nn.c — the nn operators against naive reference loops and finite differences
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every forward is compared with a straightforward loop written here (double
 * accumulation, explicit padding, hand-derived output sizes and auto_pad
 * paddings); every backward with central differences of <r, y(x)> for a
 * random projection r.
 */
#include "ops-nn-test-util.h"

#define FWD_TOL 1e-5
#define GRAD_TOL 1e-2

/* ---- Conv -------------------------------------------------------------- */

typedef struct
{
  const char *label;
  int n, c, h, w, m, kh, kw, group, sh, sw, dh, dw;
  int pt, pl, pb, pr; /* the padding the reference uses */
  bool bias;
  const char *auto_pad; /* NULL: pass pads explicitly */
  int oh, ow; /* hand-derived output size */
} ConvCase;

static const ConvCase conv_cases[]
    = {
        { "3x3 pad 1 bias", 2, 3, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, NULL, 7, 7 },
        { "stride/dilation/asym pads",
          1,
          2,
          9,
          8,
          3,
          3,
          2,
          1,
          2,
          1,
          2,
          1,
          1,
          0,
          2,
          1,
          false,
          NULL,
          4,
          8 },
        { "groups 2", 2, 4, 6, 6, 6, 3, 3, 2, 1, 1, 1, 1, 0, 0, 0, 0, true, NULL, 4, 4 },
        { "depthwise stride 2", 2, 3, 7, 7, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true, NULL, 4, 4 },
        { "depthwise dilation 2", 1, 4, 8, 8, 4, 3, 3, 4, 1, 1, 2, 2, 2, 1, 2, 0, false, NULL, 8, 5 },
        { "depthwise multiplier 2", 1, 2, 5, 6, 4, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, true, NULL, 5, 6 },
        { "pointwise", 2, 5, 4, 5, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, true, NULL, 4, 5 },
        { "pointwise groups 2", 1, 4, 3, 3, 6, 1, 1, 2, 1, 1, 1, 1, 0, 0, 0, 0, false, NULL, 3, 3 },
        { "1x1 stride 2", 1, 3, 5, 5, 2, 1, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, true, NULL, 3, 3 },
        { "SAME_UPPER stride 2", 1, 2, 6, 6, 3, 3, 3, 1, 2, 2, 1, 1, 0, 0, 1, 1, true,
          "SAME_UPPER",          3, 3 },
        { "SAME_LOWER stride 2", 1, 2, 6, 6, 3, 3, 3, 1, 2, 2, 1, 1, 1, 1, 0, 0, true,
          "SAME_LOWER",          3, 3 },
        { "SAME_UPPER kernel 4", 1, 2, 5, 5, 2, 4, 4, 1, 1, 1, 1, 1, 1, 1, 2, 2, false,
          "SAME_UPPER",          5, 5 },
        { "VALID stride 2", 1, 2, 7, 6, 2, 3, 3, 1, 2, 2, 1, 1, 0, 0, 0, 0, true, "VALID", 3, 2 },
        { "depthwise SAME_UPPER", 1, 3, 6, 6, 3, 3, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, false,
          "SAME_UPPER",           3, 3 },
        /* Rows wide enough for the vector kernels (and their tails). */
        { "depthwise stride 2 wide",
          1,
          2,
          5,
          23,
          2,
          3,
          3,
          2,
          2,
          2,
          1,
          1,
          1,
          1,
          1,
          1,
          true,
          NULL,
          3,
          12 },
        { "depthwise stride 2 wide even",
          1,
          2,
          5,
          24,
          2,
          3,
          3,
          2,
          2,
          2,
          1,
          1,
          1,
          0,
          1,
          0,
          true,
          NULL,
          3,
          11 },
        { "depthwise wide", 1, 2, 4, 21, 2, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, false, NULL, 4, 21 },
        { "depthwise stride 3 (unpadded kernel)",
          1,
          2,
          8,
          10,
          2,
          3,
          3,
          2,
          3,
          3,
          1,
          1,
          1,
          1,
          1,
          1,
          true,
          NULL,
          3,
          4 },
        { "depthwise 5x5 stride 2 dilation 2",
          1,
          2,
          13,
          20,
          2,
          5,
          5,
          2,
          2,
          2,
          2,
          2,
          4,
          4,
          4,
          4,
          true,
          NULL,
          7,
          10 },
        { "3x3 wide", 1, 2, 3, 19, 2, 3, 3, 1, 1, 1, 1, 1, 0, 1, 0, 1, true, NULL, 1, 19 },
      };

static double *
conv_ref (const ConvCase *cc, const float *x, const float *w, const float *b)
{
  int cg = cc->c / cc->group, mg = cc->m / cc->group;
  double *y = g_new0 (double, (gsize) cc->n * cc->m * cc->oh * cc->ow);
  for (int n = 0; n < cc->n; n++)
    for (int m = 0; m < cc->m; m++)
      for (int oy = 0; oy < cc->oh; oy++)
        for (int ox = 0; ox < cc->ow; ox++)
          {
            double s = b != NULL ? b[m] : 0.0;
            int gi = m / mg;
            for (int ci = 0; ci < cg; ci++)
              for (int ky = 0; ky < cc->kh; ky++)
                for (int kx = 0; kx < cc->kw; kx++)
                  {
                    int iy = oy * cc->sh - cc->pt + ky * cc->dh;
                    int ix = ox * cc->sw - cc->pl + kx * cc->dw;
                    if (iy < 0 || iy >= cc->h || ix < 0 || ix >= cc->w)
                      continue;
                    int c = gi * cg + ci;
                    s += (double) x[((n * cc->c + c) * cc->h + iy) * cc->w + ix]
                        * w[((m * cg + ci) * cc->kh + ky) * cc->kw + kx];
                  }
            y[((n * cc->m + m) * cc->oh + oy) * cc->ow + ox] = s;
          }
  return y;
}

static void
conv_node (TNode *t, const ConvCase *cc, bool one_d)
{
  tn_init (t, "Conv", cc->bias ? 3 : 2, 1, 13);
  if (cc->group != 1)
    tn_int (t, "group", cc->group);
  if (one_d)
    {
      tn_ints (t, "strides", 1, (int64_t[]){ cc->sw });
      tn_ints (t, "dilations", 1, (int64_t[]){ cc->dw });
      tn_ints (t, "pads", 2, (int64_t[]){ cc->pl, cc->pr });
      tn_ints (t, "kernel_shape", 1, (int64_t[]){ cc->kw });
      return;
    }
  tn_ints (t, "kernel_shape", 2, (int64_t[]){ cc->kh, cc->kw });
  if (cc->sh != 1 || cc->sw != 1)
    tn_ints (t, "strides", 2, (int64_t[]){ cc->sh, cc->sw });
  if (cc->dh != 1 || cc->dw != 1)
    tn_ints (t, "dilations", 2, (int64_t[]){ cc->dh, cc->dw });
  if (cc->auto_pad != NULL)
    tn_string (t, "auto_pad", cc->auto_pad);
  else if (cc->pt || cc->pl || cc->pb || cc->pr)
    tn_ints (t, "pads", 4, (int64_t[]){ cc->pt, cc->pl, cc->pb, cc->pr });
}

static void
test_conv_forward_backward (void)
{
  for (size_t i = 0; i < G_N_ELEMENTS (conv_cases); i++)
    {
      const ConvCase *cc = &conv_cases[i];
      TNode t = { 0 };
      g_test_message ("Conv case: %s", cc->label);
      conv_node (&t, cc, false);
      GzTensor *in[3] = {
        tn_uniform (4, (int64_t[]){ cc->n, cc->c, cc->h, cc->w }, -1, 1),
        tn_uniform (4, (int64_t[]){ cc->m, cc->c / cc->group, cc->kh, cc->kw }, -1, 1),
        cc->bias ? tn_uniform (1, (int64_t[]){ cc->m }, -1, 1) : NULL,
      };
      GzTensor *y = tn_forward (&t, in);
      g_assert_cmpint (y->ndim, ==, 4);
      g_assert_cmpint (y->dims[0], ==, cc->n);
      g_assert_cmpint (y->dims[1], ==, cc->m);
      g_assert_cmpint (y->dims[2], ==, cc->oh);
      g_assert_cmpint (y->dims[3], ==, cc->ow);
      double *want = conv_ref (cc, gz_tensor_f (in[0]), gz_tensor_f (in[1]),
                               cc->bias ? gz_tensor_f (in[2]) : NULL);
      tn_assert_close (y, want, gz_tensor_numel (y), FWD_TOL);
      /* dX always; dW and dB as well (linear, so the differences are exact). */
      tn_check_grad (&t, in, cc->bias ? 7u : 3u, 1e-2, GRAD_TOL, GZ_RELU_GRADIENT);
      g_free (want);
      gz_tensor_free (y);
      for (int k = 0; k < 3; k++)
        gz_tensor_free (in[k]);
      tn_clear (&t);
    }
}

static void
test_conv_1d (void)
{
  /* A 1-D conv is a 2-D conv of height 1: same memory, same reference. */
  const ConvCase cc = { "1-D", 2, 3, 1, 10, 4, 1, 3, 1, 1, 2, 1, 2, 0, 1, 0, 2, true, NULL, 1, 5 };
  TNode t = { 0 };
  conv_node (&t, &cc, true);
  GzTensor *in[3] = {
    tn_uniform (3, (int64_t[]){ 2, 3, 10 }, -1, 1),
    tn_uniform (3, (int64_t[]){ 4, 3, 3 }, -1, 1),
    tn_uniform (1, (int64_t[]){ 4 }, -1, 1),
  };
  GzTensor *y = tn_forward (&t, in);
  g_assert_cmpint (y->ndim, ==, 3);
  g_assert_cmpint (y->dims[2], ==, 5); /* (10 + 3 - 5) / 2 + 1 */
  double *want = conv_ref (&cc, gz_tensor_f (in[0]), gz_tensor_f (in[1]), gz_tensor_f (in[2]));
  tn_assert_close (y, want, gz_tensor_numel (y), FWD_TOL);
  tn_check_grad (&t, in, 1u, 1e-2, GRAD_TOL, GZ_RELU_GRADIENT);
  g_free (want);
  gz_tensor_free (y);
  for (int k = 0; k < 3; k++)
    gz_tensor_free (in[k]);
  tn_clear (&t);
}

static void
test_conv_errors (void)
{
  TNode t = { 0 };
  GzError err = { 0 };
  GzTensor out;

  /* Channel mismatch: the message names the node and the numbers. */
  tn_init (&t, "Conv", 2, 1, 13);
  GzTensor *x = tn_tensor (4, (int64_t[]){ 1, 3, 5, 5 });
  GzTensor *w = tn_tensor (4, (int64_t[]){ 4, 2, 3, 3 });
  GzTensor *in[2] = { x, w };
  g_assert_cmpint (tn_infer (&t, in, &out, &err), ==, GZ_ERR_SHAPE);
  g_assert_nonnull (strstr (err.message, "test_node"));
  g_assert_nonnull (strstr (err.message, "3 channels"));
  tn_clear (&t);
  gz_tensor_free (w);

  /* Kernel larger than the input. */
  tn_init (&t, "Conv", 2, 1, 13);
  w = tn_tensor (4, (int64_t[]){ 4, 3, 7, 7 });
  in[1] = w;
  g_assert_cmpint (tn_infer (&t, in, &out, &err), ==, GZ_ERR_SHAPE);
  tn_clear (&t);
  gz_tensor_free (w);

  /* Rank mismatch between input and weight. */
  tn_init (&t, "Conv", 2, 1, 13);
  w = tn_tensor (3, (int64_t[]){ 4, 3, 3 });
  in[1] = w;
  g_assert_cmpint (tn_infer (&t, in, &out, &err), ==, GZ_ERR_SHAPE);
  tn_clear (&t);
  gz_tensor_free (w);
  gz_tensor_free (x);

  /* 3-D convolution: unsupported, with a clear message. */
  tn_init (&t, "Conv", 2, 1, 13);
  x = tn_tensor (5, (int64_t[]){ 1, 2, 4, 4, 4 });
  w = tn_tensor (5, (int64_t[]){ 2, 2, 3, 3, 3 });
  in[0] = x;
  in[1] = w;
  g_assert_cmpint (tn_infer (&t, in, &out, &err), ==, GZ_ERR_UNSUPPORTED);
  g_assert_nonnull (strstr (err.message, "spatial"));
  tn_clear (&t);
  gz_tensor_free (w);
  gz_tensor_free (x);

  /* Group that does not divide the channels. */
  tn_init (&t, "Conv", 2, 1, 13);
  tn_int (&t, "group", 2);
  x = tn_tensor (4, (int64_t[]){ 1, 3, 5, 5 });
  w = tn_tensor (4, (int64_t[]){ 4, 1, 3, 3 });
  in[0] = x;
  in[1] = w;
  g_assert_cmpint (tn_infer (&t, in, &out, &err), ==, GZ_ERR_SHAPE);
  tn_clear (&t);
  gz_tensor_free (w);
  gz_tensor_free (x);

  /* Absurd sizes are refused, not overflowed. */
  tn_init (&t, "Conv", 2, 1, 13);
  x = &(GzTensor){ GZ_DTYPE_FLOAT, 4, { 1, 1, INT64_C (1) << 40, INT64_C (1) << 40 }, NULL, false };
  w = tn_tensor (4, (int64_t[]){ 1, 1, 1, 1 });
  in[0] = x;
  in[1] = w;
  GzStatus st = tn_infer (&t, in, &out, &err);
  g_assert_true (st == GZ_ERR_LIMIT || st == GZ_ERR_SHAPE);
  tn_clear (&t);
  gz_tensor_free (w);
}

/* ---- ConvTranspose ----------------------------------------------------- */

typedef struct
{
  const char *label;
  int n, c, h, w, m, kh, kw, group, s, d, pt, pl;
  int oh, ow; /* hand-derived */
  const char *attrs; /* which attributes: "pads", "same", "shape" */
} ConvTCase;

static const ConvTCase convt_cases[] = {
  /* 2 (4 - 1) + 1 + 3 - 2 = 8 and 2 (5 - 1) + 1 + 3 - 2 = 10 */
  { "stride 2, pads, output_padding", 1, 2, 4, 5, 3, 3, 3, 1, 2, 1, 1, 1, 8, 10, "pads" },
  /* (3 - 1) + (2 - 1) 2 + 1 = 5 */
  { "groups 2, dilation 2", 2, 4, 3, 3, 4, 2, 2, 2, 1, 2, 0, 0, 5, 5, "none" },
  /* SAME_UPPER: in × stride; total padding 1 goes to the end */
  { "SAME_UPPER", 1, 1, 3, 4, 2, 3, 3, 1, 2, 1, 0, 0, 6, 8, "same" },
  /* output_shape one row larger than the full result: a zero row (+ bias) at the end */
  { "output_shape", 1, 1, 3, 4, 1, 3, 3, 1, 2, 1, 0, 0, 8, 9, "shape" },
};

static void
test_convtranspose (void)
{
  for (size_t ci = 0; ci < G_N_ELEMENTS (convt_cases); ci++)
    {
      const ConvTCase *cc = &convt_cases[ci];
      TNode t = { 0 };
      g_test_message ("ConvTranspose case: %s", cc->label);
      tn_init (&t, "ConvTranspose", 3, 1, 13);
      tn_ints (&t, "strides", 2, (int64_t[]){ cc->s, cc->s });
      tn_ints (&t, "dilations", 2, (int64_t[]){ cc->d, cc->d });
      if (cc->group != 1)
        tn_int (&t, "group", cc->group);
      if (!strcmp (cc->attrs, "pads"))
        {
          tn_ints (&t, "pads", 4, (int64_t[]){ 1, 1, 1, 1 });
          tn_ints (&t, "output_padding", 2, (int64_t[]){ 1, 1 });
        }
      else if (!strcmp (cc->attrs, "same"))
        tn_string (&t, "auto_pad", "SAME_UPPER");
      else if (!strcmp (cc->attrs, "shape"))
        tn_ints (&t, "output_shape", 2, (int64_t[]){ cc->oh, cc->ow });
      int mg = cc->m / cc->group, cg = cc->c / cc->group;
      GzTensor *in[3] = {
        tn_uniform (4, (int64_t[]){ cc->n, cc->c, cc->h, cc->w }, -1, 1),
        tn_uniform (4, (int64_t[]){ cc->c, mg, cc->kh, cc->kw }, -1, 1),
        tn_uniform (1, (int64_t[]){ cc->m }, -1, 1),
      };
      GzTensor *y = tn_forward (&t, in);
      g_assert_cmpint (y->dims[1], ==, cc->m);
      g_assert_cmpint (y->dims[2], ==, cc->oh);
      g_assert_cmpint (y->dims[3], ==, cc->ow);
      int64_t ny = gz_tensor_numel (y);
      double *want = g_new0 (double, ny);
      const float *x = gz_tensor_f (in[0]), *w = gz_tensor_f (in[1]), *b = gz_tensor_f (in[2]);
      for (int n = 0; n < cc->n; n++)
        for (int m = 0; m < cc->m; m++)
          for (int i = 0; i < cc->oh * cc->ow; i++)
            want[(n * cc->m + m) * cc->oh * cc->ow + i] = b[m];
      /* Every input pixel scatters its kernel-weighted value. */
      for (int n = 0; n < cc->n; n++)
        for (int c = 0; c < cc->c; c++)
          for (int iy = 0; iy < cc->h; iy++)
            for (int ix = 0; ix < cc->w; ix++)
              for (int mo = 0; mo < mg; mo++)
                for (int ky = 0; ky < cc->kh; ky++)
                  for (int kx = 0; kx < cc->kw; kx++)
                    {
                      int oy = iy * cc->s - cc->pt + ky * cc->d,
                          ox = ix * cc->s - cc->pl + kx * cc->d;
                      if (oy < 0 || oy >= cc->oh || ox < 0 || ox >= cc->ow)
                        continue;
                      int m = (c / cg) * mg + mo;
                      want[((n * cc->m + m) * cc->oh + oy) * cc->ow + ox]
                          += (double) x[((n * cc->c + c) * cc->h + iy) * cc->w + ix]
                          * w[((c * mg + mo) * cc->kh + ky) * cc->kw + kx];
                    }
      tn_assert_close (y, want, ny, FWD_TOL);
      tn_check_grad (&t, in, 7u, 1e-2, GRAD_TOL, GZ_RELU_GRADIENT);
      g_free (want);
      gz_tensor_free (y);
      for (int k = 0; k < 3; k++)
        gz_tensor_free (in[k]);
      tn_clear (&t);
    }
}

/* ---- Pooling ----------------------------------------------------------- */

typedef struct
{
  const char *label;
  bool max;
  int n, c, h, w, kh, kw, sh, sw, dh, dw;
  int pt, pl, pb, pr;
  bool ceil, cip;
  const char *auto_pad;
  int oh, ow; /* hand-derived */
} PoolCase;

static const PoolCase pool_cases[] = {
  { "max 2x2 s2", true, 2, 3, 6, 6, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, false, false, NULL, 3, 3 },
  { "max 3x3 s2 ceil", true, 1, 2, 8, 8, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, true, false, NULL, 4, 4 },
  { "max pads dilation", true, 1, 2, 9, 9, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, false, false, NULL, 4, 4 },
  { "max ceil last window rule",
    true,
    1,
    1,
    5,
    5,
    2,
    2,
    2,
    2,
    1,
    1,
    1,
    1,
    1,
    1,
    true,
    false,
    NULL,
    3,
    3 },
  { "max SAME_UPPER", true, 1, 2, 5, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, false, false,
    "SAME_UPPER",     3,    3 },
  { "max 3x3 s2 wide ceil",
    true,
    1,
    2,
    7,
    27,
    3,
    3,
    2,
    2,
    1,
    1,
    0,
    0,
    0,
    0,
    true,
    false,
    NULL,
    3,
    13 },
  { "max 3x3 s1 wide pad",
    true,
    1,
    2,
    4,
    21,
    3,
    3,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    false,
    false,
    NULL,
    4,
    21 },
  { "max 2x2 s2 wide", true, 1, 1, 4, 32, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, false, false, NULL, 2, 16 },
  { "avg pads exclude", false, 2, 2, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false, false, NULL, 5, 5 },
  { "avg pads include", false, 2, 2, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false, true, NULL, 5, 5 },
  { "avg ceil include", false, 1, 2, 6, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true, true, NULL, 4, 4 },
  { "avg ceil exclude", false, 1, 2, 6, 7, 3, 2, 2, 2, 1, 1, 0, 0, 0, 0, true, false, NULL, 3, 4 },
  { "avg SAME_LOWER", false, 1, 2, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, false, false,
    "SAME_LOWER",     4,     4 },
  { "avg strides asym", false, 1, 3, 7, 6, 3, 2, 2, 3, 1, 1, 0, 1, 2, 0, false, false, NULL, 4, 2 },
};

static double *
pool_ref (const PoolCase *pc, const float *x)
{
  double *y = g_new0 (double, (gsize) pc->n * pc->c * pc->oh * pc->ow);
  for (int p = 0; p < pc->n * pc->c; p++)
    for (int oy = 0; oy < pc->oh; oy++)
      for (int ox = 0; ox < pc->ow; ox++)
        {
          double best = -INFINITY, sum = 0.0;
          int valid = 0, padded = 0;
          for (int ky = 0; ky < pc->kh; ky++)
            for (int kx = 0; kx < pc->kw; kx++)
              {
                int iy = oy * pc->sh - pc->pt + ky * pc->dh;
                int ix = ox * pc->sw - pc->pl + kx * pc->dw;
                if (iy < pc->h + pc->pb && ix < pc->w + pc->pr)
                  padded++; /* inside the padded extent (never before it) */
                if (iy < 0 || iy >= pc->h || ix < 0 || ix >= pc->w)
                  continue;
                double v = x[(p * pc->h + iy) * pc->w + ix];
                best = fmax (best, v);
                sum += v;
                valid++;
              }
          y[(p * pc->oh + oy) * pc->ow + ox] = pc->max ? best : sum / (pc->cip ? padded : valid);
        }
  return y;
}

static void
pool_node (TNode *t, const PoolCase *pc)
{
  tn_init (t, pc->max ? "MaxPool" : "AveragePool", 1, 1, 13);
  tn_ints (t, "kernel_shape", 2, (int64_t[]){ pc->kh, pc->kw });
  tn_ints (t, "strides", 2, (int64_t[]){ pc->sh, pc->sw });
  if (pc->dh != 1 || pc->dw != 1)
    tn_ints (t, "dilations", 2, (int64_t[]){ pc->dh, pc->dw });
  if (pc->auto_pad != NULL)
    tn_string (t, "auto_pad", pc->auto_pad);
  else
    tn_ints (t, "pads", 4, (int64_t[]){ pc->pt, pc->pl, pc->pb, pc->pr });
  if (pc->ceil)
    tn_int (t, "ceil_mode", 1);
  if (pc->cip)
    tn_int (t, "count_include_pad", 1);
}

static void
test_pool_forward_backward (void)
{
  for (size_t i = 0; i < G_N_ELEMENTS (pool_cases); i++)
    {
      const PoolCase *pc = &pool_cases[i];
      TNode t = { 0 };
      g_test_message ("Pool case: %s", pc->label);
      pool_node (&t, pc);
      int64_t dims[4] = { pc->n, pc->c, pc->h, pc->w };
      GzTensor *in[1] = { tn_distinct (4, dims) };
      GzTensor *y = tn_forward (&t, in);
      g_assert_cmpint (y->dims[2], ==, pc->oh);
      g_assert_cmpint (y->dims[3], ==, pc->ow);
      double *want = pool_ref (pc, gz_tensor_f (in[0]));
      tn_assert_close (y, want, gz_tensor_numel (y), FWD_TOL);
      tn_check_grad (&t, in, 1u, 1e-3, GRAD_TOL, GZ_RELU_GRADIENT);
      g_free (want);
      gz_tensor_free (y);
      gz_tensor_free (in[0]);
      tn_clear (&t);
    }
}

static void
test_pool_1d_and_errors (void)
{
  TNode t = { 0 };
  GzError err = { 0 };
  GzTensor out;

  /* 1-D max pool, kernel 3, pad 1: same as 2-D with height 1. */
  const PoolCase pc
      = { "1-D", true, 2, 2, 1, 7, 1, 3, 1, 1, 1, 1, 0, 1, 0, 1, false, false, NULL, 1, 7 };
  tn_init (&t, "MaxPool", 1, 1, 13);
  tn_ints (&t, "kernel_shape", 1, (int64_t[]){ 3 });
  tn_ints (&t, "pads", 2, (int64_t[]){ 1, 1 });
  GzTensor *in[1] = { tn_distinct (3, (int64_t[]){ 2, 2, 7 }) };
  GzTensor *y = tn_forward (&t, in);
  g_assert_cmpint (y->ndim, ==, 3);
  double *want = pool_ref (&pc, gz_tensor_f (in[0]));
  tn_assert_close (y, want, gz_tensor_numel (y), FWD_TOL);
  tn_check_grad (&t, in, 1u, 1e-3, GRAD_TOL, GZ_RELU_GRADIENT);
  g_free (want);
  gz_tensor_free (y);
  tn_clear (&t);

  /* The Indices output is refused at init. */
  tn_init (&t, "MaxPool", 1, 2, 13);
  tn_ints (&t, "kernel_shape", 2, (int64_t[]){ 2, 2 });
  g_assert_cmpint (tn_prepare (&t, &err), ==, GZ_ERR_UNSUPPORTED);
  g_assert_nonnull (strstr (err.message, "Indices"));

  /* kernel_shape with the wrong length. */
  tn_init (&t, "AveragePool", 1, 1, 13);
  tn_ints (&t, "kernel_shape", 2, (int64_t[]){ 2, 2 });
  g_assert_cmpint (tn_infer (&t, in, &out, &err), ==, GZ_ERR_SHAPE);
  tn_clear (&t);
  gz_tensor_free (in[0]);
}

static void
test_global_pool (void)
{
  for (int max = 0; max < 2; max++)
    {
      TNode t = { 0 };
      tn_init (&t, max ? "GlobalMaxPool" : "GlobalAveragePool", 1, 1, 13);
      GzTensor *in[1] = { tn_distinct (4, (int64_t[]){ 2, 3, 4, 5 }) };
      GzTensor *y = tn_forward (&t, in);
      g_assert_cmpint (y->ndim, ==, 4);
      g_assert_cmpint (y->dims[1], ==, 3);
      g_assert_cmpint (y->dims[2], ==, 1);
      g_assert_cmpint (y->dims[3], ==, 1);
      double want[6];
      for (int p = 0; p < 6; p++)
        {
          double s = 0.0, b = -INFINITY;
          for (int i = 0; i < 20; i++)
            {
              s += gz_tensor_f (in[0])[p * 20 + i];
              b = fmax (b, gz_tensor_f (in[0])[p * 20 + i]);
            }
          want[p] = max ? b : s / 20.0;
        }
      tn_assert_close (y, want, 6, FWD_TOL);
      tn_check_grad (&t, in, 1u, 1e-3, GRAD_TOL, GZ_RELU_GRADIENT);
      gz_tensor_free (y);
      gz_tensor_free (in[0]);
      tn_clear (&t);
    }
}

/* ---- BatchNormalization ------------------------------------------------ */

static void
test_batchnorm (void)
{
  const int64_t shapes[2][4] = { { 2, 3, 4, 5 }, { 4, 3 } };
  for (int s = 0; s < 2; s++)
    {
      TNode t = { 0 };
      int nd = s == 0 ? 4 : 2;
      tn_init (&t, "BatchNormalization", 5, 1, 15);
      tn_float (&t, "epsilon", 1e-3f);
      int64_t c[1] = { 3 };
      GzTensor *in[5] = {
        tn_uniform (nd, shapes[s], -2, 2), tn_uniform (1, c, 0.5, 1.5), tn_uniform (1, c, -1, 1),
        tn_uniform (1, c, -1, 1),          tn_uniform (1, c, 0.2, 2),
      };
      GzTensor *y = tn_forward (&t, in);
      int64_t n = gz_tensor_numel (y), plane = s == 0 ? 20 : 1;
      double *want = g_new (double, n);
      for (int64_t i = 0; i < n; i++)
        {
          int ch = (int) ((i / plane) % 3);
          float *p[5];
          for (int k = 0; k < 5; k++)
            p[k] = gz_tensor_f (in[k]);
          want[i] = (p[0][i] - p[3][ch]) / sqrt (p[4][ch] + 1e-3) * p[1][ch] + p[2][ch];
        }
      tn_assert_close (y, want, n, FWD_TOL);
      tn_check_grad (&t, in, 0x1fu, 1e-2, GRAD_TOL, GZ_RELU_GRADIENT);
      g_free (want);
      gz_tensor_free (y);
      for (int k = 0; k < 5; k++)
        gz_tensor_free (in[k]);
      tn_clear (&t);
    }

  /* Training mode and the extra outputs are refused. */
  TNode t = { 0 };
  GzError err = { 0 };
  tn_init (&t, "BatchNormalization", 5, 1, 15);
  tn_int (&t, "training_mode", 1);
  g_assert_cmpint (tn_prepare (&t, &err), ==, GZ_ERR_UNSUPPORTED);
  tn_init (&t, "BatchNormalization", 5, 3, 15);
  g_assert_cmpint (tn_prepare (&t, &err), ==, GZ_ERR_UNSUPPORTED);
  g_assert_nonnull (strstr (err.message, "inference"));

  /* Wrong parameter length. */
  GzTensor out;
  tn_init (&t, "BatchNormalization", 5, 1, 15);
  int64_t c[1] = { 4 }, xd[4] = { 1, 3, 2, 2 };
  GzTensor *in[5] = { tn_tensor (4, xd), tn_tensor (1, c), tn_tensor (1, c), tn_tensor (1, c),
                      tn_tensor (1, c) };
  g_assert_cmpint (tn_infer (&t, in, &out, &err), ==, GZ_ERR_SHAPE);
  g_assert_nonnull (strstr (err.message, "[4]"));
  for (int k = 0; k < 5; k++)
    gz_tensor_free (in[k]);
  tn_clear (&t);
}

static void
test_instancenorm (void)
{
  TNode t = { 0 };
  const int64_t xd[4] = { 2, 3, 4, 5 }, c[1] = { 3 };
  tn_init (&t, "InstanceNormalization", 3, 1, 13);
  tn_float (&t, "epsilon", 1e-2f);
  GzTensor *in[3]
      = { tn_uniform (4, xd, -2, 2), tn_uniform (1, c, 0.5, 1.5), tn_uniform (1, c, -1, 1) };
  GzTensor *y = tn_forward (&t, in);
  double want[120];
  for (int p = 0; p < 6; p++)
    {
      const float *x = gz_tensor_f (in[0]) + p * 20;
      double mu = 0, var = 0;
      for (int i = 0; i < 20; i++)
        mu += x[i] / 20.0;
      for (int i = 0; i < 20; i++)
        var += (x[i] - mu) * (x[i] - mu) / 20.0;
      for (int i = 0; i < 20; i++)
        want[p * 20 + i] = gz_tensor_f (in[1])[p % 3] * (x[i] - mu) / sqrt (var + 1e-2)
            + gz_tensor_f (in[2])[p % 3];
    }
  tn_assert_close (y, want, 120, FWD_TOL);
  tn_check_grad (&t, in, 7u, 1e-2, GRAD_TOL, GZ_RELU_GRADIENT);
  gz_tensor_free (y);
  for (int k = 0; k < 3; k++)
    gz_tensor_free (in[k]);
  tn_clear (&t);
}

static void
test_lrn (void)
{
  for (int size = 2; size <= 5; size += 3)
    {
      TNode t = { 0 };
      const int64_t xd[4] = { 2, 6, 3, 4 };
      tn_init (&t, "LRN", 1, 1, 13);
      tn_int (&t, "size", size);
      tn_float (&t, "alpha", 0.2f);
      tn_float (&t, "beta", 0.6f);
      tn_float (&t, "bias", 1.5f);
      GzTensor *in[1] = { tn_uniform (4, xd, -2, 2) };
      GzTensor *y = tn_forward (&t, in);
      double want[144];
      const float *x = gz_tensor_f (in[0]);
      int lo = (size - 1) / 2, hi = size - 1 - lo;
      for (int n = 0; n < 2; n++)
        for (int c = 0; c < 6; c++)
          for (int i = 0; i < 12; i++)
            {
              double ss = 0;
              for (int k = MAX (0, c - lo); k <= MIN (5, c + hi); k++)
                ss += (double) x[(n * 6 + k) * 12 + i] * x[(n * 6 + k) * 12 + i];
              want[(n * 6 + c) * 12 + i]
                  = x[(n * 6 + c) * 12 + i] / pow (1.5 + 0.2 / size * ss, 0.6);
            }
      tn_assert_close (y, want, 144, FWD_TOL);
      tn_check_grad (&t, in, 1u, 1e-2, GRAD_TOL, GZ_RELU_GRADIENT);
      gz_tensor_free (y);
      gz_tensor_free (in[0]);
      tn_clear (&t);
    }
}

/* ---- Gemm and MatMul --------------------------------------------------- */

static void
test_gemm (void)
{
  const int M = 3, N = 4, K = 5;
  /* C shapes: none, [N], [M,1], [1], [M,N] */
  const int c_nd[] = { -1, 1, 2, 1, 2 };
  const int64_t c_dims[][2] = { { 0, 0 }, { 4, 0 }, { 3, 1 }, { 1, 0 }, { 3, 4 } };
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++)
      for (int ci = 0; ci < 5; ci++)
        {
          TNode t = { 0 };
          float alpha = ci == 2 ? 0.5f : 1.0f, beta = ci == 4 ? 2.0f : 1.0f;
          tn_init (&t, "Gemm", c_nd[ci] < 0 ? 2 : 3, 1, 13);
          tn_int (&t, "transA", ta);
          tn_int (&t, "transB", tb);
          tn_float (&t, "alpha", alpha);
          tn_float (&t, "beta", beta);
          int64_t ad[2] = { ta ? K : M, ta ? M : K }, bd[2] = { tb ? N : K, tb ? K : N };
          GzTensor *in[3] = { tn_uniform (2, ad, -1, 1), tn_uniform (2, bd, -1, 1),
                              c_nd[ci] < 0 ? NULL : tn_uniform (c_nd[ci], c_dims[ci], -1, 1) };
          GzTensor *y = tn_forward (&t, in);
          g_assert_cmpint (y->dims[0], ==, M);
          g_assert_cmpint (y->dims[1], ==, N);
          double want[12];
          const float *a = gz_tensor_f (in[0]), *b = gz_tensor_f (in[1]);
          for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
              {
                double s = 0.0;
                for (int k = 0; k < K; k++)
                  s += (double) (ta ? a[k * M + i] : a[i * K + k])
                      * (tb ? b[j * K + k] : b[k * N + j]);
                double cv = 0.0;
                if (in[2] != NULL)
                  {
                    const float *cp = gz_tensor_f (in[2]);
                    cv = ci == 1 ? cp[j] : ci == 2 ? cp[i] : ci == 3 ? cp[0] : cp[i * N + j];
                  }
                want[i * N + j] = alpha * s + beta * cv;
              }
          tn_assert_close (y, want, M * N, FWD_TOL);
          tn_check_grad (&t, in, in[2] != NULL ? 7u : 3u, 1e-2, GRAD_TOL, GZ_RELU_GRADIENT);
          gz_tensor_free (y);
          for (int k = 0; k < 3; k++)
            gz_tensor_free (in[k]);
          tn_clear (&t);
        }

  TNode t = { 0 };
  GzError err = { 0 };
  GzTensor out;
  tn_init (&t, "Gemm", 2, 1, 13);
  GzTensor *in[2] = { tn_tensor (2, (int64_t[]){ 2, 3 }), tn_tensor (2, (int64_t[]){ 4, 5 }) };
  g_assert_cmpint (tn_infer (&t, in, &out, &err), ==, GZ_ERR_SHAPE);
  g_assert_nonnull (strstr (err.message, "inner"));
  gz_tensor_free (in[0]);
  gz_tensor_free (in[1]);
  tn_clear (&t);
}

/* Index of the broadcast source element for output multi-index idx. */
static int64_t
bcast_index (int out_nd, const int64_t *idx, int nd, const int64_t *dims)
{
  int64_t off = 0;
  for (int i = 0; i < nd; i++)
    {
      int64_t k = idx[out_nd - nd + i];
      off = off * dims[i] + (dims[i] == 1 ? 0 : k);
    }
  return off;
}

static void
unravel (int64_t lin, int nd, const int64_t *dims, int64_t *idx)
{
  for (int i = nd - 1; i >= 0; i--)
    {
      idx[i] = lin % dims[i];
      lin /= dims[i];
    }
}

typedef struct
{
  int na, nb;
  int64_t a[4], b[4];
  int ny;
  int64_t y[4];
} MatMulCase;

static const MatMulCase matmul_cases[] = {
  { 2, 2, { 3, 4 }, { 4, 5 }, 2, { 3, 5 } },
  { 3, 2, { 2, 3, 4 }, { 4, 5 }, 3, { 2, 3, 5 } }, /* folded into one GEMM */
  { 4, 3, { 2, 1, 3, 4 }, { 3, 4, 2 }, 4, { 2, 3, 3, 2 } }, /* broadcast batch */
  { 2, 3, { 3, 4 }, { 2, 4, 5 }, 3, { 2, 3, 5 } }, /* B batched, A not */
  { 1, 3, { 4 }, { 2, 4, 3 }, 2, { 2, 3 } }, /* 1-D A */
  { 3, 1, { 2, 3, 4 }, { 4 }, 2, { 2, 3 } }, /* 1-D B */
  { 1, 1, { 4 }, { 4 }, 0, { 0 } }, /* dot product */
};

static void
test_matmul (void)
{
  for (size_t ci = 0; ci < G_N_ELEMENTS (matmul_cases); ci++)
    {
      const MatMulCase *mc = &matmul_cases[ci];
      TNode t = { 0 };
      tn_init (&t, "MatMul", 2, 1, 13);
      GzTensor *in[2] = { tn_uniform (mc->na, mc->a, -1, 1), tn_uniform (mc->nb, mc->b, -1, 1) };
      GzTensor *y = tn_forward (&t, in);
      g_assert_cmpint (y->ndim, ==, mc->ny);
      for (int i = 0; i < mc->ny; i++)
        g_assert_cmpint (y->dims[i], ==, mc->y[i]);
      /* Reference: promote 1-D operands, broadcast batches, plain triple loop. */
      int64_t ad[4], bd[4];
      int na = mc->na, nb = mc->nb;
      memcpy (ad, mc->a, sizeof ad);
      memcpy (bd, mc->b, sizeof bd);
      if (na == 1)
        {
          ad[1] = ad[0];
          ad[0] = 1;
          na = 2;
        }
      if (nb == 1)
        {
          bd[1] = 1;
          nb = 2;
        }
      int64_t M = ad[na - 2], K = ad[na - 1], N = bd[nb - 1];
      int nbat = MAX (na, nb) - 2;
      int64_t bat[4], nbatch = 1;
      for (int i = 0; i < nbat; i++)
        {
          int ia = i - (nbat - (na - 2)), ib = i - (nbat - (nb - 2));
          int64_t da = ia >= 0 ? ad[ia] : 1, db = ib >= 0 ? bd[ib] : 1;
          bat[i] = MAX (da, db);
          nbatch *= bat[i];
        }
      int64_t total = nbatch * M * N;
      double *want = g_new0 (double, total);
      for (int64_t bi = 0; bi < nbatch; bi++)
        {
          int64_t idx[4];
          unravel (bi, nbat, bat, idx);
          int64_t oa = bcast_index (nbat, idx, na - 2, ad),
                  ob = bcast_index (nbat, idx, nb - 2, bd);
          const float *a = gz_tensor_f (in[0]) + oa * M * K, *b = gz_tensor_f (in[1]) + ob * K * N;
          for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
              {
                double s = 0.0;
                for (int64_t k = 0; k < K; k++)
                  s += (double) a[i * K + k] * b[k * N + j];
                want[(bi * M + i) * N + j] = s;
              }
        }
      tn_assert_close (y, want, total, FWD_TOL);
      tn_check_grad (&t, in, 3u, 1e-2, GRAD_TOL, GZ_RELU_GRADIENT);
      g_free (want);
      gz_tensor_free (y);
      gz_tensor_free (in[0]);
      gz_tensor_free (in[1]);
      tn_clear (&t);
    }
}

/* ---- Element-wise binary ----------------------------------------------- */

typedef struct
{
  int na, nb;
  int64_t a[4], b[4];
} BinShape;

static const BinShape bin_shapes[] = {
  { 4, 4, { 2, 3, 4, 5 }, { 2, 3, 4, 5 } }, { 4, 3, { 2, 3, 4, 5 }, { 3, 1, 5 } },
  { 4, 1, { 2, 3, 4, 5 }, { 1 } },          { 4, 4, { 2, 1, 4, 1 }, { 1, 3, 1, 5 } },
  { 1, 4, { 5 }, { 2, 3, 1, 1 } },          { 4, 4, { 1, 3, 1, 1 }, { 2, 3, 4, 5 } },
};

static double
bin_ref (const char *op, double a, double b)
{
  if (strcmp (op, "Add") == 0)
    return a + b;
  if (strcmp (op, "Sub") == 0)
    return a - b;
  if (strcmp (op, "Mul") == 0)
    return a * b;
  if (strcmp (op, "Div") == 0)
    return a / b;
  if (strcmp (op, "Pow") == 0)
    return pow (a, b);
  return a >= 0 ? a : a * b; /* PRelu */
}

static void
test_binary (void)
{
  const char *ops[] = { "Add", "Sub", "Mul", "Div", "Pow" };
  for (size_t o = 0; o < G_N_ELEMENTS (ops); o++)
    for (size_t s = 0; s < G_N_ELEMENTS (bin_shapes); s++)
      {
        const BinShape *bs = &bin_shapes[s];
        TNode t = { 0 };
        g_test_message ("%s shape case %zu", ops[o], s);
        tn_init (&t, ops[o], 2, 1, 13);
        bool pw = strcmp (ops[o], "Pow") == 0, dv = strcmp (ops[o], "Div") == 0;
        GzTensor *in[2] = {
          pw ? tn_uniform (bs->na, bs->a, 0.5, 2) : tn_uniform (bs->na, bs->a, -1, 1),
          pw       ? tn_uniform (bs->nb, bs->b, -2, 2)
              : dv ? tn_uniform (bs->nb, bs->b, 0.5, 2)
                   : tn_uniform (bs->nb, bs->b, -1, 1),
        };
        GzTensor *y = tn_forward (&t, in);
        int64_t n = gz_tensor_numel (y), idx[GZ_MAX_DIMS];
        double *want = g_new (double, n);
        for (int64_t i = 0; i < n; i++)
          {
            unravel (i, y->ndim, y->dims, idx);
            double a = gz_tensor_f (in[0])[bcast_index (y->ndim, idx, bs->na, bs->a)];
            double b = gz_tensor_f (in[1])[bcast_index (y->ndim, idx, bs->nb, bs->b)];
            want[i] = bin_ref (ops[o], a, b);
          }
        tn_assert_close (y, want, n, FWD_TOL);
        tn_check_grad (&t, in, 3u, 1e-2, GRAD_TOL, GZ_RELU_GRADIENT);
        g_free (want);
        gz_tensor_free (y);
        gz_tensor_free (in[0]);
        gz_tensor_free (in[1]);
        tn_clear (&t);
      }
}

static void
test_prelu (void)
{
  const int64_t xd[4] = { 2, 3, 4, 4 }, sd[3][3] = { { 3, 1, 1 }, { 1, 1, 1 }, { 4, 4 } };
  const int snd[3] = { 3, 1, 2 };
  for (int s = 0; s < 3; s++)
    {
      TNode t = { 0 };
      tn_init (&t, "PRelu", 2, 1, 9);
      GzTensor *in[2] = { tn_away_from_zero (4, xd), tn_uniform (snd[s], sd[s], 0.05, 0.5) };
      GzTensor *y = tn_forward (&t, in);
      int64_t n = gz_tensor_numel (y), idx[4];
      double *want = g_new (double, n);
      for (int64_t i = 0; i < n; i++)
        {
          unravel (i, 4, xd, idx);
          want[i] = bin_ref ("PRelu", gz_tensor_f (in[0])[i],
                             gz_tensor_f (in[1])[bcast_index (4, idx, snd[s], sd[s])]);
        }
      tn_assert_close (y, want, n, FWD_TOL);
      tn_check_grad (&t, in, 3u, 1e-2, GRAD_TOL, GZ_RELU_GRADIENT);
      g_free (want);
      gz_tensor_free (y);
      gz_tensor_free (in[0]);
      gz_tensor_free (in[1]);
      tn_clear (&t);
    }
  /* A slope that would grow the input is refused. */
  TNode t = { 0 };
  GzError err = { 0 };
  GzTensor out;
  tn_init (&t, "PRelu", 2, 1, 9);
  GzTensor *in[2] = { tn_tensor (2, (int64_t[]){ 1, 3 }), tn_tensor (2, (int64_t[]){ 2, 3 }) };
  g_assert_cmpint (tn_infer (&t, in, &out, &err), ==, GZ_ERR_SHAPE);
  gz_tensor_free (in[0]);
  gz_tensor_free (in[1]);
  tn_clear (&t);
}

static void
test_binary_int64_and_errors (void)
{
  TNode t = { 0 };
  GzError err = { 0 };
  GzTensor out;
  tn_init (&t, "Div", 2, 1, 13);
  int64_t d3[1] = { 3 }, d1[1] = { 1 };
  GzTensor *a = gz_tensor_new (GZ_DTYPE_INT64, 1, d3, &err);
  GzTensor *b = gz_tensor_new (GZ_DTYPE_INT64, 1, d1, &err);
  int64_t *av = a->data;
  av[0] = 7;
  av[1] = -7;
  av[2] = 224;
  ((int64_t *) b->data)[0] = 2;
  GzTensor *in[2] = { a, b };
  GzTensor *y = tn_forward (&t, in);
  g_assert_cmpint (y->dtype, ==, GZ_DTYPE_INT64);
  g_assert_cmpint (((int64_t *) y->data)[0], ==, 3);
  g_assert_cmpint (((int64_t *) y->data)[1], ==, -3);
  g_assert_cmpint (((int64_t *) y->data)[2], ==, 112);
  gz_tensor_free (y);
  ((int64_t *) b->data)[0] = 0; /* integer division by zero must not crash */
  y = tn_forward (&t, in);
  gz_tensor_free (y);
  tn_clear (&t);
  gz_tensor_free (a);
  gz_tensor_free (b);

  /* Integer Pow keeps the base's type. */
  tn_init (&t, "Pow", 2, 1, 15);
  a = gz_tensor_new (GZ_DTYPE_INT64, 1, d3, &err);
  b = gz_tensor_new (GZ_DTYPE_INT64, 1, d1, &err);
  ((int64_t *) a->data)[0] = 3;
  ((int64_t *) a->data)[1] = -2;
  ((int64_t *) a->data)[2] = 10;
  ((int64_t *) b->data)[0] = 3;
  in[0] = a;
  in[1] = b;
  y = tn_forward (&t, in);
  g_assert_cmpint (y->dtype, ==, GZ_DTYPE_INT64);
  g_assert_cmpint (((int64_t *) y->data)[0], ==, 27);
  g_assert_cmpint (((int64_t *) y->data)[1], ==, -8);
  g_assert_cmpint (((int64_t *) y->data)[2], ==, 1000);
  gz_tensor_free (y);
  tn_clear (&t);
  gz_tensor_free (a);
  gz_tensor_free (b);

  /* Float base, integer exponent. */
  tn_init (&t, "Pow", 2, 1, 15);
  a = tn_uniform (1, d3, 0.5, 2);
  b = gz_tensor_new (GZ_DTYPE_INT64, 1, d1, &err);
  ((int64_t *) b->data)[0] = 2;
  in[0] = a;
  in[1] = b;
  y = tn_forward (&t, in);
  double sq[3];
  for (int i = 0; i < 3; i++)
    sq[i] = (double) gz_tensor_f (a)[i] * gz_tensor_f (a)[i];
  tn_assert_close (y, sq, 3, FWD_TOL);
  tn_check_grad (&t, in, 1u, 1e-3, GRAD_TOL, GZ_RELU_GRADIENT);
  gz_tensor_free (y);
  tn_clear (&t);
  gz_tensor_free (a);
  gz_tensor_free (b);

  tn_init (&t, "Add", 2, 1, 13);
  in[0] = tn_tensor (2, (int64_t[]){ 2, 3 });
  in[1] = tn_tensor (2, (int64_t[]){ 2, 4 });
  g_assert_cmpint (tn_infer (&t, in, &out, &err), ==, GZ_ERR_SHAPE);
  g_assert_nonnull (strstr (err.message, "[2,3]"));
  g_assert_nonnull (strstr (err.message, "[2,4]"));
  gz_tensor_free (in[0]);
  gz_tensor_free (in[1]);
  tn_clear (&t);
}

static void
test_variadic (void)
{
  const char *ops[] = { "Sum", "Mean", "Max", "Min" };
  const int nds[3] = { 3, 2, 1 };
  const int64_t dims[3][3] = { { 2, 3, 4 }, { 3, 1 }, { 4 } };
  for (size_t o = 0; o < G_N_ELEMENTS (ops); o++)
    for (int n_in = 1; n_in <= 3; n_in++)
      {
        TNode t = { 0 };
        tn_init (&t, ops[o], n_in, 1, 13);
        GzTensor *in[3] = { NULL };
        for (int k = 0; k < n_in; k++)
          {
            /* Distinct values, and no two inputs within 0.016 of each other. */
            in[k] = tn_distinct (nds[k], dims[k]);
            for (int64_t i = 0; i < gz_tensor_numel (in[k]); i++)
              gz_tensor_f (in[k])[i] += 0.0167f * (float) k;
          }
        GzTensor *y = tn_forward (&t, in);
        g_assert_cmpint (y->ndim, ==, 3);
        double want[24];
        int64_t idx[3];
        for (int64_t i = 0; i < 24; i++)
          {
            unravel (i, 3, dims[0], idx);
            double acc = 0.0;
            for (int k = 0; k < n_in; k++)
              {
                double v = gz_tensor_f (in[k])[bcast_index (3, idx, nds[k], dims[k])];
                if (k == 0)
                  acc = v;
                else if (o < 2)
                  acc += v;
                else
                  acc = o == 2 ? fmax (acc, v) : fmin (acc, v);
              }
            want[i] = o == 1 ? acc / n_in : acc;
          }
        tn_assert_close (y, want, 24, FWD_TOL);
        tn_check_grad (&t, in, (1u << n_in) - 1, 1e-3, GRAD_TOL, GZ_RELU_GRADIENT);
        gz_tensor_free (y);
        for (int k = 0; k < n_in; k++)
          gz_tensor_free (in[k]);
        tn_clear (&t);
      }
}

/* ---- Element-wise unary ------------------------------------------------ */

typedef struct
{
  const char *op;
  double lo, hi; /* input range */
  bool kink; /* use values away from 0 */
} UnaryCase;

static double
unary_ref (const char *op, double x)
{
  if (!strcmp (op, "Relu"))
    return x > 0 ? x : 0;
  if (!strcmp (op, "LeakyRelu"))
    return x >= 0 ? x : 0.1 * x; /* alpha set to 0.1 below */
  if (!strcmp (op, "Sigmoid"))
    return 1.0 / (1.0 + exp (-x));
  if (!strcmp (op, "HardSigmoid"))
    return fmax (0, fmin (1, 0.3 * x + 0.4)); /* alpha 0.3, beta 0.4 below */
  if (!strcmp (op, "HardSwish"))
    return x * fmax (0, fmin (1, x / 6 + 0.5));
  if (!strcmp (op, "Tanh"))
    return tanh (x);
  if (!strcmp (op, "Erf"))
    return erf (x);
  if (!strcmp (op, "Sqrt"))
    return sqrt (x);
  if (!strcmp (op, "Exp"))
    return exp (x);
  if (!strcmp (op, "Log"))
    return log (x);
  if (!strcmp (op, "Neg"))
    return -x;
  if (!strcmp (op, "Abs"))
    return fabs (x);
  if (!strcmp (op, "Reciprocal"))
    return 1.0 / x;
  if (!strcmp (op, "Elu"))
    return x > 0 ? x : 0.7 * (exp (x) - 1); /* alpha 0.7 below */
  if (!strcmp (op, "Celu"))
    return fmax (0, x) + fmin (0, 0.7 * (exp (x / 0.7) - 1));
  if (!strcmp (op, "Selu"))
    return x > 0 ? 1.0507009873554805 * x : 1.0507009873554805 * 1.6732632423543772 * (exp (x) - 1);
  if (!strcmp (op, "Softplus"))
    return log (1 + exp (x));
  if (!strcmp (op, "Softsign"))
    return x / (1 + fabs (x));
  if (!strcmp (op, "ThresholdedRelu"))
    return x > 0.7 ? x : 0;
  if (!strcmp (op, "Sin"))
    return sin (x);
  if (!strcmp (op, "Cos"))
    return cos (x);
  if (!strcmp (op, "Floor"))
    return floor (x);
  if (!strcmp (op, "Ceil"))
    return ceil (x);
  if (!strcmp (op, "Round"))
    return nearbyint (x);
  g_assert_not_reached ();
}

static void
test_unary (void)
{
  const UnaryCase cases[] = {
    { "Relu", 0, 0, true },
    { "LeakyRelu", 0, 0, true },
    { "Sigmoid", -6, 6, false },
    { "HardSigmoid", -5, 5, false },
    { "HardSwish", -5, 5, false },
    { "Tanh", -3, 3, false },
    { "Erf", -2, 2, false },
    { "Sqrt", 0.2, 4, false },
    { "Exp", -2, 2, false },
    { "Log", 0.2, 4, false },
    { "Neg", -2, 2, false },
    { "Abs", 0, 0, true },
    { "Reciprocal", 0.3, 3, false },
    { "Elu", 0, 0, true },
    { "Celu", 0, 0, true },
    { "Selu", 0, 0, true },
    { "Softplus", -8, 8, false },
    { "Softsign", -4, 4, false },
    { "ThresholdedRelu", -3, 3, false },
    { "Sin", -4, 4, false },
    { "Cos", -4, 4, false },
    { "Floor", -3, 3, false },
    { "Ceil", -3, 3, false },
    { "Round", -3, 3, false },
  };
  const int64_t dims[4] = { 2, 3, 4, 5 };
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const UnaryCase *uc = &cases[c];
      TNode t = { 0 };
      g_test_message ("unary %s", uc->op);
      tn_init (&t, uc->op, 1, 1, 13);
      if (!strcmp (uc->op, "LeakyRelu"))
        tn_float (&t, "alpha", 0.1f);
      if (!strcmp (uc->op, "HardSigmoid"))
        {
          tn_float (&t, "alpha", 0.3f);
          tn_float (&t, "beta", 0.4f);
        }
      if (!strcmp (uc->op, "Elu") || !strcmp (uc->op, "Celu")
          || !strcmp (uc->op, "ThresholdedRelu"))
        tn_float (&t, "alpha", 0.7f);
      GzTensor *in[1]
          = { uc->kink ? tn_away_from_zero (4, dims) : tn_uniform (4, dims, uc->lo, uc->hi) };
      /* Keep HardSigmoid/HardSwish samples off their kinks. */
      for (int64_t i = 0; i < 120; i++)
        {
          float *x = gz_tensor_f (in[0]);
          if (!strcmp (uc->op, "HardSigmoid")
              && (fabsf (0.3f * x[i] + 0.4f) < 0.02f || fabsf (0.3f * x[i] - 0.6f) < 0.02f))
            x[i] += 0.2f;
          if (!strcmp (uc->op, "HardSwish") && fabsf (fabsf (x[i]) - 3.0f) < 0.05f)
            x[i] += 0.2f;
          if (!strcmp (uc->op, "ThresholdedRelu") && fabsf (x[i] - 0.7f) < 0.02f)
            x[i] += 0.1f;
          /* Steps of Floor/Ceil/Round (integers and halves) kept at a distance. */
          float frac = 2.0f * x[i] - floorf (2.0f * x[i]);
          if (!strcmp (uc->op, "Floor") || !strcmp (uc->op, "Ceil") || !strcmp (uc->op, "Round"))
            if (frac < 0.02f || frac > 0.98f)
              x[i] += 0.1f;
        }
      GzTensor *y = tn_forward (&t, in);
      double want[120];
      for (int i = 0; i < 120; i++)
        want[i] = unary_ref (uc->op, gz_tensor_f (in[0])[i]);
      tn_assert_close (y, want, 120, FWD_TOL);
      tn_check_grad (&t, in, 1u, 1e-3, GRAD_TOL, GZ_RELU_GRADIENT);
      gz_tensor_free (y);
      gz_tensor_free (in[0]);
      tn_clear (&t);
    }
}

static void
check_clip (TNode *t, GzTensor **in, double lo, double hi)
{
  GzTensor *y = tn_forward (t, in);
  double want[60];
  for (int i = 0; i < 60; i++)
    want[i] = fmin (hi, fmax (lo, gz_tensor_f (in[0])[i]));
  tn_assert_close (y, want, 60, FWD_TOL);
  tn_check_grad (t, in, 1u, 1e-3, GRAD_TOL, GZ_RELU_GRADIENT);
  gz_tensor_free (y);
}

static void
test_clip (void)
{
  const int64_t dims[3] = { 3, 4, 5 };
  TNode t = { 0 };
  /* Values on a grid that avoids the bounds by more than the step. */
  GzTensor *x = tn_tensor (3, dims);
  for (int i = 0; i < 60; i++)
    gz_tensor_f (x)[i] = -1.47f + 0.05f * (float) ((i * 37) % 60);

  /* opset 6: attributes. */
  tn_init (&t, "Clip", 1, 1, 6);
  tn_float (&t, "min", -0.5f);
  tn_float (&t, "max", 0.6f);
  GzTensor *in[3] = { x, NULL, NULL };
  check_clip (&t, in, -0.5, 0.6);
  tn_clear (&t);

  /* opset 13: optional inputs; min only, max only, both. */
  GzTensor *mn = tn_tensor (0, NULL), *mx = tn_tensor (0, NULL);
  gz_tensor_f (mn)[0] = -0.3f;
  gz_tensor_f (mx)[0] = 0.9f;
  for (int v = 0; v < 3; v++)
    {
      tn_init (&t, "Clip", 3, 1, 13);
      in[1] = v != 1 ? mn : NULL;
      in[2] = v != 0 ? mx : NULL;
      t.inputs[1] = in[1] ? 1 : -1;
      t.inputs[2] = in[2] ? 2 : -1;
      check_clip (&t, in, in[1] ? -0.3 : -INFINITY, in[2] ? 0.9 : INFINITY);
      tn_clear (&t);
    }
  gz_tensor_free (mn);
  gz_tensor_free (mx);
  gz_tensor_free (x);
}

/* Guided backprop: the gradient passes a ReLU (or ReLU6) only where both the
 * input and the incoming gradient are positive. */
static void
test_guided_relu (void)
{
  const int64_t dims[2] = { 4, 25 };
  for (int variant = 0; variant < 2; variant++)
    {
      TNode t = { 0 };
      GzError err = { 0 };
      GzTensor *six = tn_tensor (0, NULL), *zero = tn_tensor (0, NULL);
      gz_tensor_f (six)[0] = 6.0f;
      tn_init (&t, variant == 0 ? "Relu" : "Clip", variant == 0 ? 1 : 3, 1, 13);
      GzTensor *x = tn_uniform (2, dims, -8, 8);
      GzTensor *in[3] = { x, zero, six };
      GzTensor *y = tn_forward (&t, in);
      GzTensor *dy = tn_uniform (2, dims, -1, 1);
      GzTensor *dx_plain = tn_tensor (2, dims), *dx_guided = tn_tensor (2, dims);
      const GzTensor *ins[3] = { x, zero, six }, *outs[1] = { y }, *douts[1] = { dy };
      GzTensor *din[3] = { dx_plain, NULL, NULL };
      g_assert_cmpint (t.node.op->backward (&t.node, ins, outs, douts, din, GZ_RELU_GRADIENT, &err),
                       ==, GZ_OK);
      din[0] = dx_guided;
      g_assert_cmpint (t.node.op->backward (&t.node, ins, outs, douts, din, GZ_RELU_GUIDED, &err),
                       ==, GZ_OK);
      int passed = 0, blocked = 0;
      for (int i = 0; i < 100; i++)
        {
          float xv = gz_tensor_f (x)[i], g = gz_tensor_f (dy)[i];
          bool inside = xv > 0 && (variant == 0 || xv < 6);
          g_assert_cmpfloat (gz_tensor_f (dx_plain)[i], ==, inside ? g : 0.0f);
          g_assert_cmpfloat (gz_tensor_f (dx_guided)[i], ==, inside && g > 0 ? g : 0.0f);
          passed += inside && g > 0;
          blocked += inside && g <= 0;
        }
      g_assert_cmpint (passed, >, 0);
      g_assert_cmpint (blocked, >, 0);
      /* Other operators ignore the mode: Sigmoid's gradient is the same in both. */
      gz_tensor_free (y);
      gz_tensor_free (x);
      gz_tensor_free (dy);
      gz_tensor_free (dx_plain);
      gz_tensor_free (dx_guided);
      gz_tensor_free (six);
      gz_tensor_free (zero);
      tn_clear (&t);
    }
}

/* Empty tensors (a zero batch, an empty axis) run or fail cleanly, never crash. */
static void
test_empty (void)
{
  GzError err = { 0 };
  GzTensor hdr;
  struct
  {
    const char *op;
    int n_in;
    int nd[3];
    int64_t dims[3][4];
  } cases[] = {
    { "Conv", 2, { 4, 4 }, { { 0, 2, 5, 5 }, { 3, 2, 3, 3 } } },
    { "Conv", 2, { 4, 4 }, { { 1, 2, 0, 5 }, { 3, 2, 1, 1 } } },
    { "MaxPool", 1, { 4 }, { { 0, 2, 4, 4 } } },
    { "GlobalAveragePool", 1, { 4 }, { { 1, 2, 0, 3 } } },
    { "GlobalMaxPool", 1, { 4 }, { { 1, 2, 0, 3 } } },
    { "MatMul", 2, { 2, 2 }, { { 3, 0 }, { 0, 4 } } },
    { "MatMul", 2, { 3, 2 }, { { 0, 3, 2 }, { 2, 4 } } },
    { "Gemm", 2, { 2, 2 }, { { 3, 0 }, { 0, 4 } } },
    { "Add", 2, { 2, 1 }, { { 0, 3 }, { 3 } } },
    { "Relu", 1, { 2 }, { { 0, 3 } } },
    { "Sum", 2, { 2, 2 }, { { 0, 3 }, { 1, 3 } } },
  };
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      TNode t = { 0 };
      tn_init (&t, cases[c].op, cases[c].n_in, 1, 13);
      if (!strcmp (cases[c].op, "MaxPool"))
        tn_ints (&t, "kernel_shape", 2, (int64_t[]){ 2, 2 });
      GzTensor *in[3] = { NULL };
      for (int k = 0; k < cases[c].n_in; k++)
        in[k] = tn_tensor (cases[c].nd[k], cases[c].dims[k]);
      GzStatus st = tn_infer (&t, in, &hdr, &err);
      if (st == GZ_OK)
        {
          GzTensor *y = tn_forward (&t, in);
          GzTensor *dy = tn_tensor (y->ndim, y->dims);
          GzTensor *din[3] = { NULL };
          const GzTensor *ins[3] = { in[0], in[1], in[2] }, *outs[1] = { y }, *douts[1] = { dy };
          for (int k = 0; k < cases[c].n_in; k++)
            din[k] = tn_tensor (in[k]->ndim, in[k]->dims);
          g_assert_cmpint (
              t.node.op->backward (&t.node, ins, outs, douts, din, GZ_RELU_GRADIENT, &err), ==,
              GZ_OK);
          for (int k = 0; k < cases[c].n_in; k++)
            gz_tensor_free (din[k]);
          gz_tensor_free (dy);
          gz_tensor_free (y);
        }
      else
        g_assert_cmpstr (err.message, !=, "");
      for (int k = 0; k < cases[c].n_in; k++)
        gz_tensor_free (in[k]);
      tn_clear (&t);
    }
}

static void
test_registry (void)
{
  const char *types[] = { "ConvTranspose",
                          "InstanceNormalization",
                          "LRN",
                          "Elu",
                          "Celu",
                          "Selu",
                          "Softplus",
                          "Softsign",
                          "ThresholdedRelu",
                          "Sin",
                          "Cos",
                          "Floor",
                          "Ceil",
                          "Round",
                          "Sum",
                          "Mean",
                          "Max",
                          "Min",
                          "Conv",
                          "BatchNormalization",
                          "Gemm",
                          "MatMul",
                          "MaxPool",
                          "AveragePool",
                          "GlobalAveragePool",
                          "GlobalMaxPool",
                          "Relu",
                          "LeakyRelu",
                          "PRelu",
                          "Clip",
                          "Sigmoid",
                          "HardSigmoid",
                          "HardSwish",
                          "Tanh",
                          "Erf",
                          "Sqrt",
                          "Exp",
                          "Log",
                          "Neg",
                          "Abs",
                          "Reciprocal",
                          "Add",
                          "Sub",
                          "Mul",
                          "Div",
                          "Pow" };
  for (size_t i = 0; i < G_N_ELEMENTS (types); i++)
    {
      const GzOpDef *op = gz_op_lookup (types[i]);
      g_assert_nonnull (op);
      g_assert_cmpstr (op->op_type, ==, types[i]);
      g_assert_nonnull (op->infer);
      g_assert_nonnull (op->forward);
      g_assert_nonnull (op->backward);
    }
}

/* Runs forward and the input gradient with `threads` engine threads. */
static void
conv_run_threads (TNode *t, GzTensor **in, const GzTensor *dy, int threads, GzTensor **y,
                  GzTensor **dx)
{
  GzError err = { 0 };
  gz_set_threads (threads);
  *y = tn_forward (t, in);
  *dx = tn_tensor (in[0]->ndim, in[0]->dims);
  const GzTensor *ins[3] = { in[0], in[1], in[2] }, *outs[1] = { *y }, *douts[1] = { dy };
  GzTensor *din[3] = { *dx, NULL, NULL };
  g_assert_cmpint (t->node.op->backward (&t->node, ins, outs, douts, din, GZ_RELU_GRADIENT, &err),
                   ==, GZ_OK);
  gz_set_threads (1);
}

/* The threaded paths (im2col, col2im, depthwise planes) give the same answer as
 * the single-threaded ones; the layers are large enough to be split. */
static void
test_threads (void)
{
  const ConvCase cases[] = {
    { "dense", 1, 16, 64, 64, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, NULL, 64, 64 },
    { "depthwise", 2, 32, 64, 64, 32, 3, 3, 32, 1, 1, 1, 1, 1, 1, 1, 1, true, NULL, 64, 64 },
    { "depthwise s2", 1, 32, 64, 64, 32, 3, 3, 32, 2, 2, 1, 1, 1, 1, 1, 1, true, NULL, 32, 32 },
  };
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const ConvCase *cc = &cases[c];
      TNode t = { 0 };
      conv_node (&t, cc, false);
      GzTensor *in[3] = {
        tn_uniform (4, (int64_t[]){ cc->n, cc->c, cc->h, cc->w }, -1, 1),
        tn_uniform (4, (int64_t[]){ cc->m, cc->c / cc->group, cc->kh, cc->kw }, -1, 1),
        tn_uniform (1, (int64_t[]){ cc->m }, -1, 1),
      };
      GzTensor *dy = tn_uniform (4, (int64_t[]){ cc->n, cc->m, cc->oh, cc->ow }, -1, 1);
      GzTensor *y1, *dx1, *y3, *dx3;
      conv_run_threads (&t, in, dy, 1, &y1, &dx1);
      conv_run_threads (&t, in, dy, 3, &y3, &dx3);
      GzTensor *pairs[2][2] = { { y1, y3 }, { dx1, dx3 } };
      for (int p = 0; p < 2; p++)
        {
          int64_t n = gz_tensor_numel (pairs[p][0]);
          double *want = g_new (double, n);
          for (int64_t i = 0; i < n; i++)
            want[i] = gz_tensor_f (pairs[p][0])[i];
          tn_assert_close (pairs[p][1], want, n, 1e-6);
          g_free (want);
        }
      gz_tensor_free (y1);
      gz_tensor_free (y3);
      gz_tensor_free (dx1);
      gz_tensor_free (dx3);
      gz_tensor_free (dy);
      for (int k = 0; k < 3; k++)
        gz_tensor_free (in[k]);
      tn_clear (&t);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops-nn/registry", test_registry);
  g_test_add_func ("/ops-nn/conv", test_conv_forward_backward);
  g_test_add_func ("/ops-nn/conv-1d", test_conv_1d);
  g_test_add_func ("/ops-nn/conv-errors", test_conv_errors);
  g_test_add_func ("/ops-nn/convtranspose", test_convtranspose);
  g_test_add_func ("/ops-nn/pool", test_pool_forward_backward);
  g_test_add_func ("/ops-nn/pool-1d-errors", test_pool_1d_and_errors);
  g_test_add_func ("/ops-nn/global-pool", test_global_pool);
  g_test_add_func ("/ops-nn/batchnorm", test_batchnorm);
  g_test_add_func ("/ops-nn/instancenorm", test_instancenorm);
  g_test_add_func ("/ops-nn/lrn", test_lrn);
  g_test_add_func ("/ops-nn/gemm", test_gemm);
  g_test_add_func ("/ops-nn/matmul", test_matmul);
  g_test_add_func ("/ops-nn/binary", test_binary);
  g_test_add_func ("/ops-nn/prelu", test_prelu);
  g_test_add_func ("/ops-nn/binary-int64-errors", test_binary_int64_and_errors);
  g_test_add_func ("/ops-nn/variadic", test_variadic);
  g_test_add_func ("/ops-nn/unary", test_unary);
  g_test_add_func ("/ops-nn/clip", test_clip);
  g_test_add_func ("/ops-nn/guided-relu", test_guided_relu);
  g_test_add_func ("/ops-nn/threads", test_threads);
  g_test_add_func ("/ops-nn/empty", test_empty);
  return g_test_run ();
}
