/* test-ops-tensor.c — tensor operators: hand-derived forwards, finite-difference backwards
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "gz-op.h"
#include "tensor-test-util.h"

#define D(...) ((int64_t[]){ __VA_ARGS__ })
#define I(...) ((int64_t[]){ __VA_ARGS__ })
#define F(...) ((float[]){ __VA_ARGS__ })

/* 0, 1, 2, ... as floats */
static GzTensor *
iota (int ndim, const int64_t *dims)
{
  GzTensor *t = mkf (ndim, dims, NULL);
  for (int64_t i = 0; i < gz_tensor_numel (t); i++)
    gz_tensor_f (t)[i] = (float) i;
  return t;
}

/* ---- Reshape family ---------------------------------------------------- */

static void
test_reshape (void)
{
  TNode t = { 0 };
  GzTensor *in[2], *out[1];

  tn_init (&t, "Reshape", 2, 1, 13);
  in[0] = iota (3, D (2, 3, 4));
  in[1] = mkv (2, I (0, -1));
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (2, 12));
  for (int i = 0; i < 24; i++)
    g_assert_cmpfloat (gz_tensor_f (out[0])[i], ==, (float) i);
  free_all (out, 1);

  /* -1 in front, and the gradient is the reshaped output gradient */
  gz_tensor_free (in[1]);
  in[1] = mkv (3, I (-1, 2, 2));
  tn_run (&t, in, out);
  assert_shape (out[0], 3, D (6, 2, 2));
  free_all (out, 1);
  tn_check_grad (&t, in, 1);

  /* errors: two -1, element count mismatch, shape computed at run time */
  gz_tensor_free (in[1]);
  in[1] = mkv (2, I (-1, -1));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "-1");
  gz_tensor_free (in[1]);
  in[1] = mkv (2, I (5, 5));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "24");
  tn_expect_error (&t, in, 1u, GZ_ERR_UNSUPPORTED, "run time");
  gz_tensor_free (in[1]);
  in[1] = mkv (2, I (7, -1));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "multiple of 7");
  free_all (in, 2);

  /* allowzero: a 0 is a real zero-size dimension */
  tn_init (&t, "Reshape", 2, 1, 14);
  tn_int (&t, "allowzero", 1);
  in[0] = mkf (2, D (0, 3), NULL);
  in[1] = mkv (2, I (3, 0));
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (3, 0));
  free_all (out, 1);
  free_all (in, 2);

  /* int64 data (a shape tensor) */
  tn_init (&t, "Reshape", 2, 1, 13);
  in[0] = mkv (4, I (1, 2, 3, 4));
  in[1] = mkv (2, I (2, 2));
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (2, 2));
  assert_ints (out[0], I (1, 2, 3, 4));
  free_all (out, 1);
  free_all (in, 2);
  tn_clear (&t);
}

static void
test_flatten (void)
{
  TNode t = { 0 };
  GzTensor *in[1], *out[1];
  in[0] = iota (4, D (2, 3, 4, 5));
  struct
  {
    int64_t axis;
    int64_t d0, d1;
  } cases[] = {
    { 0, 1, 120 }, { 1, 2, 60 }, { 2, 6, 20 }, { 4, 120, 1 }, { -1, 24, 5 }, { -4, 1, 120 },
  };
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      tn_init (&t, "Flatten", 1, 1, 13);
      tn_int (&t, "axis", cases[c].axis);
      tn_run (&t, in, out);
      assert_shape (out[0], 2, D (cases[c].d0, cases[c].d1));
      g_assert_cmpfloat (gz_tensor_f (out[0])[119], ==, 119.0f);
      free_all (out, 1);
    }
  tn_init (&t, "Flatten", 1, 1, 13);
  tn_int (&t, "axis", 5);
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "axis 5");
  tn_init (&t, "Flatten", 1, 1, 13);
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (2, 60));
  free_all (out, 1);
  tn_check_grad (&t, in, 1);
  free_all (in, 1);
  tn_clear (&t);
}

static void
test_squeeze_unsqueeze (void)
{
  TNode t = { 0 };
  GzTensor *in[2], *out[1];

  /* opset 13: axes input */
  tn_init (&t, "Squeeze", 2, 1, 13);
  in[0] = iota (4, D (1, 3, 1, 2));
  in[1] = mkv (1, I (-2));
  tn_run (&t, in, out);
  assert_shape (out[0], 3, D (1, 3, 2));
  free_all (out, 1);
  tn_check_grad (&t, in, 1);
  gz_tensor_free (in[1]);
  in[1] = mkv (1, I (1));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "size 3");

  /* opset 11: axes attribute; no axes: every 1 goes */
  tn_init (&t, "Squeeze", 1, 1, 11);
  tn_ints (&t, "axes", 2, I (0, 2));
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (3, 2));
  free_all (out, 1);
  tn_init (&t, "Squeeze", 1, 1, 11);
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (3, 2));
  free_all (out, 1);
  free_all (in, 2);

  /* Unsqueeze: axes refer to the output rank, in any order */
  tn_init (&t, "Unsqueeze", 2, 1, 13);
  in[0] = mkv (3, I (7, 8, 9));
  in[1] = mkv (2, I (-1, 0));
  tn_run (&t, in, out);
  assert_shape (out[0], 3, D (1, 3, 1));
  assert_ints (out[0], I (7, 8, 9));
  free_all (out, 1);
  gz_tensor_free (in[1]);
  in[1] = mkv (2, I (0, -3));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "twice");
  free_all (in, 2);

  /* scalar → [1] (the Gather → Unsqueeze → Concat chain), attribute form */
  tn_init (&t, "Unsqueeze", 1, 1, 11);
  tn_ints (&t, "axes", 1, I (0));
  in[0] = mki (0, NULL, I (5));
  tn_run (&t, in, out);
  assert_shape (out[0], 1, D (1));
  assert_ints (out[0], I (5));
  free_all (out, 1);
  free_all (in, 1);

  tn_init (&t, "Unsqueeze", 1, 1, 11);
  tn_ints (&t, "axes", 2, I (1, 3));
  in[0] = mkr (2, D (2, 3), 1);
  tn_run (&t, in, out);
  assert_shape (out[0], 4, D (2, 1, 3, 1));
  free_all (out, 1);
  tn_check_grad (&t, in, 1);
  free_all (in, 1);
  tn_clear (&t);
}

static void
test_identity_dropout (void)
{
  TNode t = { 0 };
  GzTensor *in[3], *out[2];
  tn_init (&t, "Identity", 1, 1, 13);
  in[0] = mkr (2, D (2, 2), 3);
  tn_run (&t, in, out);
  assert_floats (out[0], gz_tensor_f (in[0]), 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 1);

  tn_init (&t, "Dropout", 1, 2, 13);
  tn_run (&t, in, out);
  assert_floats (out[0], gz_tensor_f (in[0]), 0.0);
  assert_shape (out[1], 2, D (2, 2));
  assert_ints (out[1], I (1, 1, 1, 1));
  free_all (out, 2);
  tn_check_grad (&t, in, 1);

  /* training mode is refused */
  tn_init (&t, "Dropout", 3, 1, 13);
  in[1] = mkf (0, NULL, F (0.5f));
  in[2] = mki (0, NULL, I (1));
  tn_expect_error (&t, in, ~0u, GZ_ERR_UNSUPPORTED, "training");
  free_all (in, 3);
  tn_clear (&t);
}

/* ---- Transpose, Concat, Split ------------------------------------------ */

static void
test_transpose (void)
{
  TNode t = { 0 };
  GzTensor *in[1], *out[1];
  tn_init (&t, "Transpose", 1, 1, 13);
  tn_ints (&t, "perm", 3, I (2, 0, 1));
  in[0] = iota (3, D (2, 3, 4));
  tn_run (&t, in, out);
  assert_shape (out[0], 3, D (4, 2, 3));
  /* out[k][i][j] = in[i][j][k] = 12i + 4j + k */
  for (int k = 0; k < 4; k++)
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 3; j++)
        g_assert_cmpfloat (gz_tensor_f (out[0])[k * 6 + i * 3 + j], ==, 12 * i + 4 * j + k);
  free_all (out, 1);
  tn_check_grad (&t, in, 1);

  tn_init (&t, "Transpose", 1, 1, 13);
  tn_run (&t, in, out);
  assert_shape (out[0], 3, D (4, 3, 2));
  g_assert_cmpfloat (gz_tensor_f (out[0])[1], ==, 12.0f);
  free_all (out, 1);

  tn_init (&t, "Transpose", 1, 1, 13);
  tn_ints (&t, "perm", 3, I (0, 0, 1));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "permutation");
  free_all (in, 1);
  tn_clear (&t);
}

static void
test_concat (void)
{
  TNode t = { 0 };
  GzTensor *in[3], *out[1];
  tn_init (&t, "Concat", 3, 1, 13);
  tn_int (&t, "axis", -1);
  in[0] = mkf (2, D (2, 1), F (1, 2));
  in[1] = mkf (2, D (2, 2), F (3, 4, 5, 6));
  in[2] = mkf (2, D (2, 0), NULL);
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (2, 3));
  assert_floats (out[0], F (1, 3, 4, 2, 5, 6), 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 3);
  gz_tensor_free (in[2]);
  in[2] = mkf (2, D (3, 1), NULL);
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "[3,1]");
  free_all (in, 3);

  tn_init (&t, "Concat", 2, 1, 13);
  tn_int (&t, "axis", 0);
  in[0] = mkv (1, I (-1));
  in[1] = mkv (2, I (3, 4));
  tn_run (&t, in, out);
  assert_ints (out[0], I (-1, 3, 4));
  free_all (out, 1);
  free_all (in, 2);
  tn_clear (&t);
}

static void
test_split (void)
{
  TNode t = { 0 };
  GzTensor *in[2], *out[3];

  /* equal parts */
  tn_init (&t, "Split", 1, 3, 13);
  tn_int (&t, "axis", 1);
  in[0] = iota (2, D (2, 6));
  tn_run (&t, in, out);
  for (int j = 0; j < 3; j++)
    {
      assert_shape (out[j], 2, D (2, 2));
      assert_floats (out[j], F (2 * j, 2 * j + 1, 6 + 2 * j, 7 + 2 * j), 0.0);
    }
  free_all (out, 3);
  /* one output gets no gradient */
  tn_check_grad_mask (&t, in, 1, 5, 1e-2, 2e-3);

  /* opset 13: split input */
  tn_init (&t, "Split", 2, 2, 13);
  tn_int (&t, "axis", -1);
  in[1] = mkv (2, I (4, 2));
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (2, 4));
  assert_shape (out[1], 2, D (2, 2));
  assert_floats (out[1], F (4, 5, 10, 11), 0.0);
  free_all (out, 2);
  tn_check_grad (&t, in, 1);
  gz_tensor_free (in[1]);
  in[1] = mkv (2, I (4, 3));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "6");

  /* opset 11: split attribute */
  tn_init (&t, "Split", 1, 2, 11);
  tn_int (&t, "axis", 1);
  tn_ints (&t, "split", 2, I (1, 5));
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (2, 1));
  assert_floats (out[0], F (0, 6), 0.0);
  free_all (out, 2);

  tn_init (&t, "Split", 1, 4, 13);
  tn_int (&t, "axis", 1);
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "equal parts");
  free_all (in, 2);
  tn_clear (&t);
}

/* ---- Slice, Gather ----------------------------------------------------- */

static void
test_slice (void)
{
  TNode t = { 0 };
  GzTensor *in[5], *out[1];

  /* x[:, 1:, ::-2] of a [2,3,4] tensor with clamped ends */
  tn_init (&t, "Slice", 5, 1, 13);
  in[0] = iota (3, D (2, 3, 4));
  in[1] = mkv (2, I (1, -1));
  in[2] = mkv (2, I (1000, INT64_MIN));
  in[3] = mkv (2, I (1, -1));
  in[4] = mkv (2, I (1, -2));
  tn_run (&t, in, out);
  assert_shape (out[0], 3, D (2, 2, 2));
  assert_floats (out[0], F (7, 5, 11, 9, 19, 17, 23, 21), 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 1);

  /* the resnet shortcut: x[:, :, ::2, ::2] */
  free_all (in, 5);
  in[0] = iota (4, D (1, 1, 4, 4));
  in[1] = mkv (2, I (0, 0));
  in[2] = mkv (2, I (INT64_MAX, INT64_MAX));
  in[3] = mkv (2, I (2, 3));
  in[4] = mkv (2, I (2, 2));
  tn_run (&t, in, out);
  assert_shape (out[0], 4, D (1, 1, 2, 2));
  assert_floats (out[0], F (0, 2, 8, 10), 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 1);

  /* empty results, start beyond the end */
  gz_tensor_free (in[1]);
  in[1] = mkv (2, I (10, 0));
  tn_run (&t, in, out);
  assert_shape (out[0], 4, D (1, 1, 0, 2));
  free_all (out, 1);

  /* zero step, repeated axis, runtime starts */
  gz_tensor_free (in[4]);
  in[4] = mkv (2, I (0, 1));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "step");
  gz_tensor_free (in[4]);
  in[4] = mkv (2, I (1, 1));
  gz_tensor_free (in[3]);
  in[3] = mkv (2, I (2, -2));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "twice");
  tn_expect_error (&t, in, 1u, GZ_ERR_UNSUPPORTED, "starts");
  free_all (in, 5);

  /* int64 data reversed (torch's pads computation): default axes and steps omitted */
  tn_init (&t, "Slice", 5, 1, 13);
  in[0] = mkv (4, I (1, 2, 3, 4));
  in[1] = mkv (1, I (-1));
  in[2] = mkv (1, I (INT64_MIN));
  in[3] = mkv (1, I (0));
  in[4] = mkv (1, I (-1));
  tn_run (&t, in, out);
  assert_ints (out[0], I (4, 3, 2, 1));
  free_all (out, 1);
  free_all (in, 5);

  tn_init (&t, "Slice", 3, 1, 13);
  in[0] = mkv (4, I (1, 2, 3, 4));
  in[1] = mkv (1, I (1));
  in[2] = mkv (1, I (-1));
  tn_run (&t, in, out);
  assert_ints (out[0], I (2, 3));
  free_all (out, 1);
  free_all (in, 3);

  /* opset 9: attributes */
  tn_init (&t, "Slice", 1, 1, 9);
  tn_ints (&t, "starts", 2, I (0, 1));
  tn_ints (&t, "ends", 2, I (1, 3));
  tn_ints (&t, "axes", 2, I (0, 1));
  in[0] = iota (2, D (2, 4));
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (1, 2));
  assert_floats (out[0], F (1, 2), 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 1);
  free_all (in, 1);
  tn_clear (&t);
}

static void
test_gather (void)
{
  TNode t = { 0 };
  GzTensor *in[2], *out[1];

  /* shape[0] as a scalar */
  tn_init (&t, "Gather", 2, 1, 13);
  tn_int (&t, "axis", 0);
  in[0] = mkv (4, I (1, 64, 7, 7));
  in[1] = mki (0, NULL, I (-3));
  tn_run (&t, in, out);
  assert_shape (out[0], 0, NULL);
  assert_ints (out[0], I (64));
  free_all (out, 1);
  free_all (in, 2);

  /* axis 1, 2-D indices with repeats and negatives */
  tn_init (&t, "Gather", 2, 1, 13);
  tn_int (&t, "axis", 1);
  in[0] = iota (2, D (2, 3));
  in[1] = mki (2, D (2, 2), I (0, 2, -1, 0));
  tn_run (&t, in, out);
  assert_shape (out[0], 3, D (2, 2, 2));
  assert_floats (out[0], F (0, 2, 2, 0, 3, 5, 5, 3), 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 1);
  gz_tensor_free (in[1]);
  in[1] = mkv (1, I (3));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "index 3");
  free_all (in, 2);
  tn_clear (&t);
}

static void
test_gather_elements_argmax (void)
{
  TNode t = { 0 };
  GzTensor *in[2], *out[1];

  /* axis 1 of [[1,2],[3,4]] with [[0,0],[1,-2]] → [[1,1],[4,3]] */
  tn_init (&t, "GatherElements", 2, 1, 13);
  tn_int (&t, "axis", 1);
  in[0] = mkf (2, D (2, 2), F (1, 2, 3, 4));
  in[1] = mki (2, D (2, 2), I (0, 0, 1, -2));
  tn_run (&t, in, out);
  assert_floats (out[0], F (1, 1, 4, 3), 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 1);
  gz_tensor_free (in[1]);
  in[1] = mki (2, D (3, 1), I (0, 0, 0));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "do not fit");
  free_all (in, 2);

  /* ArgMax over axis 1 of [[1,5,5],[7,0,-1]]: first tie, or last */
  in[0] = mkf (2, D (2, 3), F (1, 5, 5, 7, 0, -1));
  tn_init (&t, "ArgMax", 1, 1, 13);
  tn_int (&t, "axis", 1);
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (2, 1));
  assert_ints (out[0], I (1, 0));
  free_all (out, 1);
  tn_init (&t, "ArgMax", 1, 1, 13);
  tn_int (&t, "axis", -1);
  tn_int (&t, "keepdims", 0);
  tn_int (&t, "select_last_index", 1);
  tn_run (&t, in, out);
  assert_shape (out[0], 1, D (2));
  assert_ints (out[0], I (2, 0));
  free_all (out, 1);
  tn_init (&t, "ArgMin", 1, 1, 13);
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (1, 3));
  assert_ints (out[0], I (0, 1, 1));
  free_all (out, 1);
  free_all (in, 1);
  tn_clear (&t);
}

static void
test_cumsum_trilu (void)
{
  TNode t = { 0 };
  GzTensor *in[2], *out[1];
  const float expect[4][3] = { { 1, 3, 6 }, { 0, 1, 3 }, { 6, 5, 3 }, { 5, 3, 0 } };
  for (int c = 0; c < 4; c++)
    {
      tn_init (&t, "CumSum", 2, 1, 14);
      tn_int (&t, "exclusive", c & 1);
      tn_int (&t, "reverse", c >> 1);
      in[0] = mkf (2, D (1, 3), F (1, 2, 3));
      in[1] = mki (0, NULL, I (-1));
      tn_run (&t, in, out);
      assert_floats (out[0], expect[c], 0.0);
      free_all (out, 1);
      gz_tensor_free (in[0]);
      in[0] = mkr (3, D (2, 3, 2), 50 + (guint32) c);
      tn_check_grad (&t, in, 1);
      free_all (in, 2);
    }
  tn_init (&t, "CumSum", 2, 1, 14);
  in[0] = mkv (3, I (5, -1, 2));
  in[1] = mki (0, NULL, I (0));
  tn_run (&t, in, out);
  assert_ints (out[0], I (5, 4, 6));
  free_all (out, 1);
  tn_expect_error (&t, in, 1u, GZ_ERR_UNSUPPORTED, "axis");
  free_all (in, 2);

  /* Trilu on 1..9 as [3,3] */
  struct
  {
    int upper;
    int64_t k;
    float e[9];
  } cases[] = {
    { 1, 0, { 1, 2, 3, 0, 5, 6, 0, 0, 9 } },
    { 1, 1, { 0, 2, 3, 0, 0, 6, 0, 0, 0 } },
    { 0, -1, { 0, 0, 0, 4, 0, 0, 7, 8, 0 } },
  };
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      tn_init (&t, "Trilu", 2, 1, 14);
      tn_int (&t, "upper", cases[c].upper);
      in[0] = mkf (2, D (3, 3), F (1, 2, 3, 4, 5, 6, 7, 8, 9));
      in[1] = mki (0, NULL, &cases[c].k);
      tn_run (&t, in, out);
      assert_floats (out[0], cases[c].e, 0.0);
      free_all (out, 1);
      tn_check_grad (&t, in, 1);
      free_all (in, 2);
    }
  tn_clear (&t);
}

static void
test_depth_to_space (void)
{
  TNode t = { 0 }, back = { 0 };
  GzTensor *in[1], *out[1], *round[1];
  const char *modes[] = { "DCR", "CRD" };
  const float expect[2][8] = { { 0, 2, 4, 6, 1, 3, 5, 7 }, { 0, 1, 2, 3, 4, 5, 6, 7 } };
  for (int m = 0; m < 2; m++)
    {
      tn_init (&t, "DepthToSpace", 1, 1, 13);
      tn_int (&t, "blocksize", 2);
      tn_string (&t, "mode", modes[m]);
      in[0] = iota (4, D (1, 8, 1, 1));
      tn_run (&t, in, out);
      assert_shape (out[0], 4, D (1, 2, 2, 2));
      assert_floats (out[0], expect[m], 0.0);
      free_all (out, 1);
      free_all (in, 1);
    }
  /* DCR is SpaceToDepth's inverse */
  tn_init (&t, "DepthToSpace", 1, 1, 13);
  tn_int (&t, "blocksize", 2);
  in[0] = mkr (4, D (2, 8, 3, 2), 60);
  tn_run (&t, in, out);
  assert_shape (out[0], 4, D (2, 2, 6, 4));
  tn_init (&back, "SpaceToDepth", 1, 1, 13);
  tn_int (&back, "blocksize", 2);
  tn_run (&back, out, round);
  assert_shape (round[0], 4, D (2, 8, 3, 2));
  assert_floats (round[0], gz_tensor_f (in[0]), 0.0);
  tn_check_grad (&t, in, 1);
  tn_check_grad (&back, out, 1);
  tn_expect_error (&back, in, ~0u, GZ_ERR_SHAPE, "multiples");
  free_all (round, 1);
  free_all (out, 1);
  free_all (in, 1);
  tn_clear (&t);
  tn_clear (&back);
}

static void
test_resize (void)
{
  TNode t = { 0 };
  GzTensor *in[4], *out[1];

  /* linear ×2 of [1,2] with half-pixel centres: 1, 1.25, 1.75, 2 */
  tn_init (&t, "Resize", 3, 1, 13);
  tn_string (&t, "mode", "linear");
  tn_omit_input (&t, 1);
  in[0] = mkf (3, D (1, 1, 2), F (1, 2));
  in[1] = NULL;
  in[2] = mkf (1, D (3), F (1, 1, 2));
  tn_run (&t, in, out);
  assert_shape (out[0], 3, D (1, 1, 4));
  assert_floats (out[0], F (1, 1.25f, 1.75f, 2), 1e-6);
  free_all (out, 1);
  tn_expect_error (&t, in, 1u, GZ_ERR_UNSUPPORTED, "run time");
  free_all (in, 3);

  /* nearest (round_prefer_floor) and align_corners linear through sizes */
  tn_init (&t, "Resize", 4, 1, 13);
  tn_omit_input (&t, 1);
  tn_omit_input (&t, 2);
  in[0] = mkf (2, D (1, 3), F (10, 20, 30));
  in[1] = in[2] = NULL;
  in[3] = mkv (2, I (1, 5));
  tn_run (&t, in, out);
  /* x' = (x + 0.5) * 3/5 - 0.5 = -0.2, 0.4, 1, 1.6, 2.2 → 0, 0, 1, 2, 2 */
  assert_floats (out[0], F (10, 10, 20, 30, 30), 0.0);
  free_all (out, 1);
  tn_init (&t, "Resize", 4, 1, 13);
  tn_omit_input (&t, 1);
  tn_omit_input (&t, 2);
  tn_string (&t, "mode", "linear");
  tn_string (&t, "coordinate_transformation_mode", "align_corners");
  tn_run (&t, in, out);
  assert_floats (out[0], F (10, 15, 20, 25, 30), 1e-5);
  free_all (out, 1);
  free_all (in, 4);

  /* gradients: every mode, 2-D, up and down */
  const char *modes[] = { "nearest", "linear", "cubic" };
  for (int m = 0; m < 3; m++)
    for (int up = 0; up < 2; up++)
      {
        tn_init (&t, "Resize", 4, 1, 13);
        tn_omit_input (&t, 1);
        tn_omit_input (&t, 2);
        tn_string (&t, "mode", modes[m]);
        in[0] = mkr (4, D (1, 2, 4, 5), 70 + (guint32) m);
        in[1] = in[2] = NULL;
        in[3] = up ? mkv (4, I (1, 2, 7, 9)) : mkv (4, I (1, 2, 3, 2));
        tn_check_grad (&t, in, 1);
        free_all (in, 4);
      }

  /* Upsample (opset 9): asymmetric coordinates, floor */
  tn_init (&t, "Upsample", 2, 1, 9);
  in[0] = mkf (2, D (1, 2), F (1, 2));
  in[1] = mkf (1, D (2), F (1, 3));
  tn_run (&t, in, out);
  assert_floats (out[0], F (1, 1, 1, 2, 2, 2), 0.0);
  free_all (out, 1);
  free_all (in, 2);

  tn_init (&t, "Resize", 3, 1, 13);
  tn_string (&t, "coordinate_transformation_mode", "tf_crop_and_resize");
  in[0] = mkf (1, D (2), F (1, 2));
  in[1] = mkf (1, D (2), F (0, 1));
  in[2] = mkf (1, D (1), F (2));
  tn_expect_error (&t, in, ~0u, GZ_ERR_UNSUPPORTED, "tf_crop_and_resize");
  free_all (in, 3);
  tn_clear (&t);
}

static void
test_more_indexing (void)
{
  TNode t = { 0 };
  GzTensor *in[3], *out[2];

  /* TopK: the 2 largest of each row, sorted, ties to the lower index */
  tn_init (&t, "TopK", 2, 2, 13);
  in[0] = mkf (2, D (2, 4), F (1, 5, 3, 5, -1, -2, 0, 9));
  in[1] = mkv (1, I (2));
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (2, 2));
  assert_floats (out[0], F (5, 5, 9, 0), 0.0);
  assert_ints (out[1], I (1, 3, 3, 2));
  free_all (out, 2);
  gz_tensor_free (in[0]);
  in[0] = mkr (2, D (3, 5), 80);
  tn_check_grad (&t, in, 1);
  tn_init (&t, "TopK", 2, 2, 13);
  tn_int (&t, "largest", 0);
  tn_int (&t, "axis", 0);
  tn_run (&t, in, out);
  assert_shape (out[1], 2, D (2, 5));
  free_all (out, 2);
  tn_check_grad (&t, in, 1);
  gz_tensor_free (in[1]);
  in[1] = mkv (1, I (4));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "K = 4");
  free_all (in, 2);

  /* GatherND: tuples of length 2, then 1 with batch_dims 1 */
  tn_init (&t, "GatherND", 2, 1, 13);
  in[0] = iota (3, D (2, 2, 3));
  in[1] = mki (2, D (2, 2), I (1, 0, 0, -1));
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (2, 3));
  assert_floats (out[0], F (6, 7, 8, 3, 4, 5), 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 1);
  tn_init (&t, "GatherND", 2, 1, 13);
  tn_int (&t, "batch_dims", 1);
  gz_tensor_free (in[1]);
  in[1] = mki (2, D (2, 1), I (1, 0));
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (2, 3));
  assert_floats (out[0], F (3, 4, 5, 6, 7, 8), 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 1);
  free_all (in, 2);

  /* ScatterElements along axis 1 with a repeated index; add */
  tn_init (&t, "ScatterElements", 3, 1, 13);
  tn_int (&t, "axis", 1);
  in[0] = mkf (2, D (2, 3), F (1, 2, 3, 4, 5, 6));
  in[1] = mki (2, D (2, 2), I (2, 2, 0, -1));
  in[2] = mkf (2, D (2, 2), F (10, 20, 30, 40));
  tn_run (&t, in, out);
  assert_floats (out[0], F (1, 2, 20, 30, 5, 40), 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 5);
  tn_init (&t, "ScatterElements", 3, 1, 16);
  tn_int (&t, "axis", 1);
  tn_string (&t, "reduction", "add");
  tn_run (&t, in, out);
  assert_floats (out[0], F (1, 2, 33, 34, 5, 46), 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 5);
  free_all (in, 3);

  /* Hardmax: one-hot of the first maximum; no gradient */
  tn_init (&t, "Hardmax", 1, 1, 13);
  in[0] = mkf (2, D (2, 3), F (1, 3, 3, -1, -2, -3));
  tn_run (&t, in, out);
  assert_floats (out[0], F (0, 1, 0, 1, 0, 0), 0.0);
  free_all (out, 1);
  free_all (in, 1);

  /* EyeLike from a run-time input's shape, k = 1, as int64 */
  tn_init (&t, "EyeLike", 1, 1, 13);
  tn_int (&t, "k", 1);
  tn_int (&t, "dtype", 7);
  in[0] = mkf (2, D (2, 3), NULL);
  tn_run_mask (&t, in, 0u, out);
  assert_ints (out[0], I (0, 1, 0, 0, 0, 1));
  free_all (out, 1);
  free_all (in, 1);

  /* OneHot on axis 0 with a negative index and one out of range */
  tn_init (&t, "OneHot", 3, 1, 13);
  tn_int (&t, "axis", 0);
  in[0] = mkv (3, I (0, -1, 7));
  in[1] = mki (0, NULL, I (3));
  in[2] = mkf (1, D (2), F (-1, 5));
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (3, 3));
  assert_floats (out[0], F (5, -1, -1, -1, -1, -1, -1, 5, -1), 0.0);
  free_all (out, 1);
  tn_expect_error (&t, in, 5u, GZ_ERR_UNSUPPORTED, "depth");
  free_all (in, 3);

  /* CastLike: the target type is the second input's */
  tn_init (&t, "CastLike", 2, 1, 15);
  in[0] = mkf (1, D (2), F (2.7f, -2.7f));
  in[1] = mkv (1, I (0));
  tn_run (&t, in, out);
  assert_ints (out[0], I (2, -2));
  free_all (out, 1);
  free_all (in, 2);
  tn_clear (&t);
}

/* ---- Shape, Constant, ConstantOfShape, Range --------------------------- */

static void
test_shape (void)
{
  TNode t = { 0 };
  GzTensor *in[1], *out[1], *hdr[1];
  GzError err = { 0 };
  in[0] = mkf (4, D (1, 3, 224, 200), NULL);

  /* the input is a run-time value: infer alone must produce the data */
  tn_init (&t, "Shape", 1, 1, 13);
  g_assert_cmpint (tn_infer (&t, in, 0u, hdr, &err), ==, GZ_OK);
  assert_shape (hdr[0], 1, D (4));
  g_assert_nonnull (hdr[0]->data);
  assert_ints (hdr[0], I (1, 3, 224, 200));
  tn_free_headers (hdr, 1);

  tn_init (&t, "Shape", 1, 1, 15);
  tn_int (&t, "start", -2);
  tn_run_mask (&t, in, 0u, out);
  assert_ints (out[0], I (224, 200));
  free_all (out, 1);

  tn_init (&t, "Shape", 1, 1, 15);
  tn_int (&t, "start", 1);
  tn_int (&t, "end", -1);
  tn_run_mask (&t, in, 0u, out);
  assert_shape (out[0], 1, D (2));
  assert_ints (out[0], I (3, 224));
  free_all (out, 1);

  tn_init (&t, "Size", 1, 1, 13);
  g_assert_cmpint (tn_infer (&t, in, 0u, hdr, &err), ==, GZ_OK);
  assert_shape (hdr[0], 0, NULL);
  assert_ints (hdr[0], I (3 * 224 * 200));
  tn_free_headers (hdr, 1);

  tn_init (&t, "Shape", 1, 1, 15);
  tn_int (&t, "start", 10);
  tn_run_mask (&t, in, 0u, out);
  assert_shape (out[0], 1, D (0));
  free_all (out, 1);
  free_all (in, 1);
  tn_clear (&t);
}

static void
test_constant (void)
{
  TNode t = { 0 };
  GzTensor *out[1];
  GzTensor *v = mkf (2, D (1, 2), F (1.5f, -2.0f));

  tn_init (&t, "Constant", 0, 1, 13);
  tn_attr_tensor (&t, "value", v);
  tn_run (&t, NULL, out);
  assert_shape (out[0], 2, D (1, 2));
  assert_floats (out[0], F (1.5f, -2.0f), 0.0);
  free_all (out, 1);

  tn_init (&t, "Constant", 0, 1, 13);
  tn_float (&t, "value_float", 0.25f);
  tn_run (&t, NULL, out);
  assert_shape (out[0], 0, NULL);
  assert_floats (out[0], F (0.25f), 0.0);
  free_all (out, 1);

  tn_init (&t, "Constant", 0, 1, 13);
  tn_ints (&t, "value_ints", 3, I (3, -1, 0));
  tn_run (&t, NULL, out);
  assert_shape (out[0], 1, D (3));
  assert_ints (out[0], I (3, -1, 0));
  free_all (out, 1);

  tn_init (&t, "Constant", 0, 1, 13);
  tn_int (&t, "value_int", 42);
  tn_run (&t, NULL, out);
  assert_ints (out[0], I (42));
  free_all (out, 1);

  tn_init (&t, "Constant", 0, 1, 13);
  tn_floats (&t, "value_floats", 2, F (1, 2));
  tn_run (&t, NULL, out);
  assert_floats (out[0], F (1, 2), 0.0);
  free_all (out, 1);

  tn_init (&t, "Constant", 0, 1, 13);
  tn_string (&t, "value_string", "x");
  tn_expect_error (&t, NULL, 0u, GZ_ERR_UNSUPPORTED, "value");
  gz_tensor_free (v);
  tn_clear (&t);
}

static void
test_constant_of_shape (void)
{
  TNode t = { 0 };
  GzTensor *in[1], *out[1];
  GzTensor *v = mki (1, D (1), I (7));

  tn_init (&t, "ConstantOfShape", 1, 1, 13);
  tn_attr_tensor (&t, "value", v);
  in[0] = mkv (2, I (2, 3));
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (2, 3));
  assert_ints (out[0], I (7, 7, 7, 7, 7, 7));
  free_all (out, 1);

  tn_init (&t, "ConstantOfShape", 1, 1, 13);
  tn_run (&t, in, out);
  assert_floats (out[0], F (0, 0, 0, 0, 0, 0), 0.0);
  free_all (out, 1);
  tn_expect_error (&t, in, 0u, GZ_ERR_UNSUPPORTED, "run time");
  gz_tensor_free (in[0]);
  in[0] = mkv (2, I (2, -3));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "negative");
  free_all (in, 1);
  gz_tensor_free (v);
  tn_clear (&t);
}

static void
test_range (void)
{
  TNode t = { 0 };
  GzTensor *in[3], *out[1];
  tn_init (&t, "Range", 3, 1, 11);
  in[0] = mki (0, NULL, I (10));
  in[1] = mki (0, NULL, I (4));
  in[2] = mki (0, NULL, I (-3));
  tn_run (&t, in, out);
  assert_shape (out[0], 1, D (2));
  assert_ints (out[0], I (10, 7));
  free_all (out, 1);
  tn_expect_error (&t, in, 3u, GZ_ERR_UNSUPPORTED, "delta");
  free_all (in, 3);

  in[0] = mkf (0, NULL, F (1.0f));
  in[1] = mkf (0, NULL, F (2.0f));
  in[2] = mkf (0, NULL, F (0.25f));
  tn_run (&t, in, out);
  assert_shape (out[0], 1, D (4));
  assert_floats (out[0], F (1.0f, 1.25f, 1.5f, 1.75f), 0.0);
  free_all (out, 1);
  gz_tensor_f (in[2])[0] = 0.0f;
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "delta");
  free_all (in, 3);
  tn_clear (&t);
}

/* ---- Expand, Pad, Cast ------------------------------------------------- */

static void
test_expand (void)
{
  TNode t = { 0 };
  GzTensor *in[2], *out[1];
  tn_init (&t, "Expand", 2, 1, 13);
  in[0] = mkf (2, D (3, 1), F (1, 2, 3));
  in[1] = mkv (3, I (2, 1, 4));
  tn_run (&t, in, out);
  assert_shape (out[0], 3, D (2, 3, 4));
  for (int i = 0; i < 24; i++)
    g_assert_cmpfloat (gz_tensor_f (out[0])[i], ==, 1 + (i / 4) % 3);
  free_all (out, 1);
  tn_check_grad (&t, in, 1);
  gz_tensor_free (in[1]);
  in[1] = mkv (2, I (2, 2));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "[3,1]");
  free_all (in, 2);

  /* int64 data */
  in[0] = mkv (1, I (5));
  in[1] = mkv (1, I (3));
  tn_run (&t, in, out);
  assert_ints (out[0], I (5, 5, 5));
  free_all (out, 1);
  free_all (in, 2);
  tn_clear (&t);
}

static void
test_pad (void)
{
  TNode t = { 0 };
  GzTensor *in[3], *out[1];

  /* constant, opset 13: pads [begin0, begin1, end0, end1] */
  tn_init (&t, "Pad", 3, 1, 13);
  in[0] = mkf (2, D (2, 2), F (1, 2, 3, 4));
  in[1] = mkv (4, I (0, 1, 1, 0));
  in[2] = mkf (0, NULL, F (9));
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (3, 3));
  assert_floats (out[0], F (9, 1, 2, 9, 3, 4, 9, 9, 9), 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 1);

  /* negative pads crop */
  gz_tensor_free (in[1]);
  in[1] = mkv (4, I (-1, 0, 0, 1));
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (1, 3));
  assert_floats (out[0], F (3, 4, 9), 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 1);
  gz_tensor_free (in[1]);
  in[1] = mkv (2, I (1, 1));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "expected 4");
  free_all (in, 3);

  /* reflect, edge and wrap on [1,2,3] with pads 2 / 1 */
  const char *modes[] = { "reflect", "edge", "wrap" };
  const float expect[3][6] = { { 3, 2, 1, 2, 3, 2 }, { 1, 1, 1, 2, 3, 3 }, { 2, 3, 1, 2, 3, 1 } };
  for (int m = 0; m < 3; m++)
    {
      tn_init (&t, "Pad", 2, 1, 13);
      tn_string (&t, "mode", modes[m]);
      in[0] = mkf (1, D (3), F (1, 2, 3));
      in[1] = mkv (2, I (2, 1));
      tn_run (&t, in, out);
      assert_shape (out[0], 1, D (6));
      assert_floats (out[0], expect[m], 0.0);
      free_all (out, 1);
      tn_check_grad (&t, in, 1);
      free_all (in, 2);
    }

  /* 2-D reflect, gradient accumulates over mirrored reads */
  tn_init (&t, "Pad", 2, 1, 13);
  tn_string (&t, "mode", "reflect");
  in[0] = mkr (2, D (3, 3), 9);
  in[1] = mkv (4, I (1, 2, 2, 1));
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (6, 6));
  free_all (out, 1);
  tn_check_grad (&t, in, 1);
  free_all (in, 2);

  /* opset 2: pads and value attributes */
  tn_init (&t, "Pad", 1, 1, 2);
  tn_ints (&t, "pads", 2, I (1, 0));
  tn_float (&t, "value", -1.0f);
  in[0] = mkf (1, D (2), F (5, 6));
  tn_run (&t, in, out);
  assert_floats (out[0], F (-1, 5, 6), 0.0);
  free_all (out, 1);
  free_all (in, 1);

  tn_init (&t, "Pad", 2, 1, 13);
  tn_string (&t, "mode", "symmetric");
  in[0] = mkf (1, D (2), F (5, 6));
  in[1] = mkv (2, I (1, 0));
  tn_expect_error (&t, in, ~0u, GZ_ERR_UNSUPPORTED, "symmetric");
  free_all (in, 2);
  tn_clear (&t);
}

static void
test_cast (void)
{
  TNode t = { 0 };
  GzTensor *in[1], *out[1];
  tn_init (&t, "Cast", 1, 1, 13);
  tn_int (&t, "to", 7);
  in[0] = mkf (1, D (5), F (-1.7f, 2.9f, 0.0f, 1e30f, -3.0f));
  tn_run (&t, in, out);
  assert_ints (out[0], I (-1, 2, 0, INT64_MAX, -3));
  free_all (out, 1);
  free_all (in, 1);

  tn_init (&t, "Cast", 1, 1, 13);
  tn_int (&t, "to", 1);
  in[0] = mkv (3, I (-4, 0, 16));
  tn_run (&t, in, out);
  assert_floats (out[0], F (-4, 0, 16), 0.0);
  free_all (out, 1);
  free_all (in, 1);

  in[0] = mkr (1, D (4), 5);
  tn_check_grad (&t, in, 1);

  /* double is stored as float; int32 and bool as int64 */
  tn_init (&t, "Cast", 1, 1, 13);
  tn_int (&t, "to", 11);
  tn_run (&t, in, out);
  assert_floats (out[0], gz_tensor_f (in[0]), 0.0);
  free_all (out, 1);
  free_all (in, 1);
  in[0] = mkf (1, D (4), F (0.0f, -0.5f, 3e9f, NAN));
  tn_init (&t, "Cast", 1, 1, 13);
  tn_int (&t, "to", 9);
  tn_run (&t, in, out);
  assert_ints (out[0], I (0, 1, 1, 1));
  free_all (out, 1);
  tn_init (&t, "Cast", 1, 1, 13);
  tn_int (&t, "to", 6);
  tn_run (&t, in, out);
  assert_ints (out[0], I (0, 0, INT32_MAX, 0));
  free_all (out, 1);
  gz_tensor_free (in[0]);
  in[0] = mkv (3, I (0, -7, ((int64_t) 1 << 32) + 5));
  tn_run (&t, in, out);
  assert_ints (out[0], I (0, -7, 5));
  free_all (out, 1);

  tn_init (&t, "Cast", 1, 1, 13);
  tn_int (&t, "to", 8);
  GzError err = { 0 };
  g_assert_cmpint (t.op->init (&t.node, 13, &err), ==, GZ_ERR_UNSUPPORTED);
  g_assert_nonnull (strstr (err.message, "8"));
  free_all (in, 1);
  tn_clear (&t);
}

/* ---- Softmax, reductions, LayerNormalization --------------------------- */

static void
test_softmax (void)
{
  TNode t = { 0 };
  GzTensor *in[1], *out[1];
  const float p[3] = { 0.09003057f, 0.24472847f, 0.66524096f };

  /* opset 13, default axis -1; large values stay finite */
  tn_init (&t, "Softmax", 1, 1, 13);
  in[0] = mkf (2, D (2, 3), F (1, 2, 3, 1001, 1002, 1003));
  tn_run (&t, in, out);
  assert_floats (out[0], F (p[0], p[1], p[2], p[0], p[1], p[2]), 1e-6);
  free_all (out, 1);
  free_all (in, 1);

  /* opset 13, axis 0 of [3,2]: columns */
  tn_init (&t, "Softmax", 1, 1, 13);
  tn_int (&t, "axis", 0);
  in[0] = mkf (2, D (3, 2), F (1, 5, 2, 5, 3, 5));
  tn_run (&t, in, out);
  assert_floats (out[0], F (p[0], 1 / 3.f, p[1], 1 / 3.f, p[2], 1 / 3.f), 1e-6);
  free_all (out, 1);
  free_all (in, 1);

  /* opset 11: coerced to 2-D at axis 1, so [1,3,1] normalises all three */
  tn_init (&t, "Softmax", 1, 1, 11);
  in[0] = mkf (3, D (1, 3, 1), F (1, 2, 3));
  tn_run (&t, in, out);
  assert_floats (out[0], p, 1e-6);
  free_all (out, 1);
  /* opset 13 on the same input: single axis -1 of size 1 gives ones */
  tn_init (&t, "Softmax", 1, 1, 13);
  tn_run (&t, in, out);
  assert_floats (out[0], F (1, 1, 1), 1e-7);
  free_all (out, 1);
  free_all (in, 1);

  in[0] = mkr (3, D (2, 3, 4), 11);
  int64_t axes[] = { 0, 1, 2, -1 };
  for (int o = 0; o < 2; o++)
    for (int a = 0; a < 4; a++)
      {
        tn_init (&t, o == 0 ? "Softmax" : "LogSoftmax", 1, 1, a == 3 ? 11 : 13);
        tn_int (&t, "axis", axes[a]);
        tn_check_grad (&t, in, 1);
      }
  free_all (in, 1);

  tn_init (&t, "LogSoftmax", 1, 1, 13);
  in[0] = mkf (1, D (3), F (1, 2, 3));
  tn_run (&t, in, out);
  assert_floats (out[0], F (logf (p[0]), logf (p[1]), logf (p[2])), 1e-6);
  free_all (out, 1);
  free_all (in, 1);
  tn_clear (&t);
}

static void
test_reduce (void)
{
  TNode t = { 0 };
  GzTensor *in[2], *out[1];
  in[0] = iota (3, D (2, 3, 2));
  in[1] = NULL;

  /* ReduceMean axes attribute, keepdims: mean over axis 1 */
  tn_init (&t, "ReduceMean", 1, 1, 13);
  tn_ints (&t, "axes", 1, I (1));
  tn_run (&t, in, out);
  assert_shape (out[0], 3, D (2, 1, 2));
  assert_floats (out[0], F (2, 3, 8, 9), 1e-6);
  free_all (out, 1);
  tn_check_grad (&t, in, 1);

  /* all axes, keepdims 0 */
  tn_init (&t, "ReduceMean", 1, 1, 13);
  tn_int (&t, "keepdims", 0);
  tn_run (&t, in, out);
  assert_shape (out[0], 0, NULL);
  assert_floats (out[0], F (5.5f), 1e-6);
  free_all (out, 1);

  /* ReduceSum opset 13: axes input, negative */
  tn_init (&t, "ReduceSum", 2, 1, 13);
  tn_int (&t, "keepdims", 0);
  in[1] = mkv (2, I (-1, 0));
  tn_run (&t, in, out);
  assert_shape (out[0], 1, D (3));
  assert_floats (out[0], F (14, 22, 30), 1e-6);
  free_all (out, 1);
  tn_check_grad (&t, in, 1);
  gz_tensor_free (in[1]);
  in[1] = mkv (1, I (3));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "axis 3");

  /* noop_with_empty_axes */
  gz_tensor_free (in[1]);
  in[1] = mkv (0, NULL);
  tn_init (&t, "ReduceSum", 2, 1, 13);
  tn_int (&t, "noop_with_empty_axes", 1);
  tn_run (&t, in, out);
  assert_shape (out[0], 3, D (2, 3, 2));
  free_all (out, 1);
  gz_tensor_free (in[1]);
  in[1] = NULL;

  /* ReduceMax */
  tn_init (&t, "ReduceMax", 1, 1, 13);
  tn_ints (&t, "axes", 2, I (0, 2));
  tn_run (&t, in, out);
  assert_shape (out[0], 3, D (1, 3, 1));
  assert_floats (out[0], F (7, 9, 11), 0.0);
  free_all (out, 1);
  gz_tensor_free (in[0]);
  in[0] = mkr (3, D (2, 3, 2), 21);
  tn_check_grad (&t, in, 1);
  free_all (in, 1);

  /* the others over axis 1 of [[1,-2],[3,4]] */
  struct
  {
    const char *op;
    float e0, e1;
  } cases[] = {
    { "ReduceMin", -2, 3 },   { "ReduceSumSquare", 5, 25 },
    { "ReduceL1", 3, 7 },     { "ReduceL2", 2.2360680f, 5 },
    { "ReduceMax", 1, 4 },    { "ReduceSum", -1, 7 },
    { "ReduceProd", -2, 12 }, { "ReduceLogSumExp", 1.0485874f, 4.3132617f },
  };
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      tn_init (&t, cases[c].op, 1, 1, 13);
      tn_ints (&t, "axes", 1, I (1));
      tn_int (&t, "keepdims", 0);
      in[0] = mkf (2, D (2, 2), F (1, -2, 3, 4));
      tn_run (&t, in, out);
      assert_shape (out[0], 1, D (2));
      assert_floats (out[0], F (cases[c].e0, cases[c].e1), 1e-6);
      free_all (out, 1);
      free_all (in, 1);
      /* distinct values 0.1 apart, none at L1's kink: no ties within the step */
      in[0] = mkf (2, D (3, 4), NULL);
      for (int k = 0; k < 12; k++)
        gz_tensor_f (in[0])[k] = (float) ((k * 7 + (int) c) % 12) * 0.1f - 0.55f;
      tn_check_grad (&t, in, 1);
      free_all (in, 1);
    }

  /* ReduceLogSum of positives; ReduceLogSumExp stays finite for large inputs */
  tn_init (&t, "ReduceLogSum", 1, 1, 13);
  tn_int (&t, "keepdims", 0);
  in[0] = mkf (1, D (3), F (1, 2, 5));
  tn_run (&t, in, out);
  assert_floats (out[0], F (logf (8.0f)), 1e-6);
  free_all (out, 1);
  tn_check_grad (&t, in, 1);
  free_all (in, 1);
  tn_init (&t, "ReduceLogSumExp", 1, 1, 13);
  in[0] = mkf (1, D (2), F (1000, 1000));
  tn_run (&t, in, out);
  assert_floats (out[0], F (1000.6931472f), 1e-3);
  free_all (out, 1);
  free_all (in, 1);

  /* ReduceProd with one and with two zeros: exact gradients */
  tn_init (&t, "ReduceProd", 1, 1, 13);
  tn_ints (&t, "axes", 1, I (1));
  in[0] = mkf (2, D (2, 3), F (2, 0, 3, 0, 5, 0));
  tn_run (&t, in, out);
  assert_floats (out[0], F (0, 0), 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 1);
  free_all (in, 1);
  tn_clear (&t);
}

static void
test_layer_norm (void)
{
  TNode t = { 0 };
  GzTensor *in[3], *out[3];

  /* [1,2,3]: mean 2, variance 2/3, xhat = ±sqrt(3/2) */
  tn_init (&t, "LayerNormalization", 3, 3, 17);
  tn_float (&t, "epsilon", 0.0f);
  in[0] = mkf (2, D (1, 3), F (1, 2, 3));
  in[1] = mkf (1, D (3), F (1, 2, 3));
  in[2] = mkf (1, D (3), F (0.5f, 0.5f, 0.5f));
  tn_run (&t, in, out);
  assert_floats (out[0], F (0.5f - 1.2247449f, 0.5f, 0.5f + 3 * 1.2247449f), 1e-5);
  assert_shape (out[1], 2, D (1, 1));
  assert_floats (out[1], F (2), 1e-6);
  assert_floats (out[2], F (1.2247449f), 1e-5);
  free_all (out, 3);
  free_all (in, 3);

  /* axis 1 of [2,3,2]: rows of 6; gradients w.r.t. x, scale and bias */
  tn_init (&t, "LayerNormalization", 3, 1, 17);
  tn_int (&t, "axis", 1);
  in[0] = mkr (3, D (2, 3, 2), 31);
  in[1] = mkr (2, D (3, 2), 32);
  in[2] = mkr (2, D (3, 2), 33);
  tn_check_grad_mask (&t, in, 7, ~0u, 1e-3, 5e-3);
  gz_tensor_free (in[1]);
  in[1] = mkr (1, D (2), 34);
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "Scale");
  free_all (in, 3);

  /* no bias */
  tn_init (&t, "LayerNormalization", 2, 1, 17);
  in[0] = mkr (2, D (2, 4), 35);
  in[1] = mkr (1, D (4), 36);
  tn_check_grad_mask (&t, in, 3, ~0u, 1e-3, 5e-3);
  free_all (in, 2);
  tn_clear (&t);
}

/* ---- Where, Equal ------------------------------------------------------ */

static void
test_where_equal (void)
{
  TNode t = { 0 };
  GzTensor *in[3], *out[1];

  tn_init (&t, "Equal", 2, 1, 13);
  in[0] = mkv (3, I (1, 2, 3));
  in[1] = mki (0, NULL, I (2));
  tn_run (&t, in, out);
  assert_ints (out[0], I (0, 1, 0));
  free_all (out, 1);
  free_all (in, 2);

  tn_init (&t, "Where", 3, 1, 16);
  in[0] = mki (2, D (2, 1), I (1, 0));
  in[1] = mkf (1, D (3), F (1, 2, 3));
  in[2] = mkf (2, D (2, 3), F (-1, -2, -3, -4, -5, -6));
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (2, 3));
  assert_floats (out[0], F (1, 2, 3, -4, -5, -6), 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 6);
  free_all (in, 3);

  /* int64 branch values (shape arithmetic) */
  in[0] = mkv (2, I (0, 1));
  in[1] = mkv (2, I (10, 20));
  in[2] = mkv (2, I (-1, -2));
  tn_run (&t, in, out);
  assert_ints (out[0], I (-1, 20));
  free_all (out, 1);
  free_all (in, 3);
  tn_clear (&t);
}

static void
test_compare_logic (void)
{
  TNode t = { 0 };
  GzTensor *in[2], *out[1];
  struct
  {
    const char *op;
    int64_t e[4];
  } cases[] = {
    { "Less", { 1, 0, 0, 0 } },    { "LessOrEqual", { 1, 1, 0, 0 } },
    { "Greater", { 0, 0, 1, 1 } }, { "GreaterOrEqual", { 0, 1, 1, 1 } },
    { "Equal", { 0, 1, 0, 0 } },
  };
  for (size_t c = 0; c < G_N_ELEMENTS (cases); c++)
    for (int wide = 0; wide < 2; wide++)
      {
        tn_init (&t, cases[c].op, 2, 1, 13);
        if (wide)
          {
            in[0] = mkv (4, I (1, 2, 3, 4));
            in[1] = mki (0, NULL, I (2));
          }
        else
          {
            in[0] = mkf (1, D (4), F (1, 2, 3, 4));
            in[1] = mkf (0, NULL, F (2));
          }
        tn_run (&t, in, out);
        assert_ints (out[0], cases[c].e);
        free_all (out, 1);
        free_all (in, 2);
      }
  /* int64 comparisons are exact beyond 2^53 */
  tn_init (&t, "Less", 2, 1, 13);
  in[0] = mkv (1, I (INT64_MAX - 1));
  in[1] = mkv (1, I (INT64_MAX));
  tn_run (&t, in, out);
  assert_ints (out[0], I (1));
  free_all (out, 1);
  free_all (in, 2);

  const char *logic[] = { "And", "Or", "Xor" };
  const int64_t expect[3][4] = { { 0, 0, 0, 1 }, { 0, 1, 1, 1 }, { 0, 1, 1, 0 } };
  for (int c = 0; c < 3; c++)
    {
      tn_init (&t, logic[c], 2, 1, 13);
      in[0] = mki (2, D (2, 1), I (0, 1));
      in[1] = mki (1, D (2), I (0, 1));
      tn_run (&t, in, out);
      assert_shape (out[0], 2, D (2, 2));
      assert_ints (out[0], expect[c]);
      free_all (out, 1);
      free_all (in, 2);
    }
  tn_init (&t, "Not", 1, 1, 13);
  in[0] = mkv (3, I (0, 1, 0));
  tn_run (&t, in, out);
  assert_ints (out[0], I (1, 0, 1));
  free_all (out, 1);
  free_all (in, 1);
  tn_clear (&t);
}

static void
test_tile (void)
{
  TNode t = { 0 };
  GzTensor *in[2], *out[1];
  tn_init (&t, "Tile", 2, 1, 13);
  in[0] = mkf (2, D (2, 2), F (1, 2, 3, 4));
  in[1] = mkv (2, I (2, 3));
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (4, 6));
  assert_floats (out[0], F (1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4, 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4),
                 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 1);
  gz_tensor_free (in[1]);
  in[1] = mkv (1, I (2));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "repeats");
  free_all (in, 2);
  tn_clear (&t);
}

static void
test_scatter_nd (void)
{
  TNode t = { 0 };
  GzTensor *in[3], *out[1];

  /* rows 2 and 0 of a [3,2] replaced; a repeated tuple: the last write wins */
  tn_init (&t, "ScatterND", 3, 1, 13);
  in[0] = mkf (2, D (3, 2), F (1, 2, 3, 4, 5, 6));
  in[1] = mki (2, D (3, 1), I (2, -3, 2));
  in[2] = mkf (2, D (3, 2), F (10, 20, 30, 40, 50, 60));
  tn_run (&t, in, out);
  assert_floats (out[0], F (30, 40, 3, 4, 50, 60), 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 5);

  /* element tuples, add */
  tn_init (&t, "ScatterND", 3, 1, 16);
  tn_string (&t, "reduction", "add");
  gz_tensor_free (in[1]);
  gz_tensor_free (in[2]);
  in[1] = mki (2, D (2, 2), I (0, 1, 0, 1));
  in[2] = mkf (1, D (2), F (0.5f, 0.25f));
  tn_run (&t, in, out);
  assert_floats (out[0], F (1, 2.75f, 3, 4, 5, 6), 0.0);
  free_all (out, 1);
  tn_check_grad (&t, in, 5);

  gz_tensor_free (in[1]);
  in[1] = mki (2, D (2, 2), I (0, 1, 3, 0));
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "out of range");
  gz_tensor_free (in[2]);
  in[2] = mkf (1, D (3), NULL);
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "updates");
  free_all (in, 3);
  tn_clear (&t);
}

/* ---- The torch shape chain and registry --------------------------------- */

/* Shape → Gather → Unsqueeze → Concat → Reshape, as torch exports x.view(x.size(0), -1). */
static void
test_shape_chain (void)
{
  TNode t = { 0 };
  GzTensor *x = iota (4, D (2, 4, 3, 3)), *shape[1], *g[1], *u[1], *c[1], *r[1];
  GzTensor *in[2];
  tn_init (&t, "Shape", 1, 1, 13);
  tn_run_mask (&t, &x, 0u, shape);
  tn_init (&t, "Gather", 2, 1, 13);
  in[0] = shape[0];
  in[1] = mki (0, NULL, I (0));
  tn_run (&t, in, g);
  gz_tensor_free (in[1]);
  tn_init (&t, "Unsqueeze", 2, 1, 13);
  in[0] = g[0];
  in[1] = mkv (1, I (0));
  tn_run (&t, in, u);
  gz_tensor_free (in[1]);
  tn_init (&t, "Concat", 2, 1, 13);
  tn_int (&t, "axis", 0);
  in[0] = u[0];
  in[1] = mkv (1, I (-1));
  tn_run (&t, in, c);
  gz_tensor_free (in[1]);
  assert_ints (c[0], I (2, -1));
  tn_init (&t, "Reshape", 2, 1, 13);
  in[0] = x;
  in[1] = c[0];
  tn_run_mask (&t, in, 2u, r);
  assert_shape (r[0], 2, D (2, 36));
  GzTensor *all[] = { x, shape[0], g[0], u[0], c[0], r[0] };
  free_all (all, 6);
  tn_clear (&t);
}

static void
test_registry (void)
{
  const char *names[] = { "Flatten",
                          "Reshape",
                          "Squeeze",
                          "Unsqueeze",
                          "Transpose",
                          "Concat",
                          "Split",
                          "Slice",
                          "Gather",
                          "Shape",
                          "Constant",
                          "ConstantOfShape",
                          "Expand",
                          "Pad",
                          "Cast",
                          "Dropout",
                          "Identity",
                          "Softmax",
                          "LogSoftmax",
                          "ReduceMean",
                          "ReduceSum",
                          "ReduceMax",
                          "LayerNormalization",
                          "Range",
                          "Equal",
                          "Where",
                          "Size",
                          "ReduceMin",
                          "ReduceSumSquare",
                          "ReduceL1",
                          "ReduceL2",
                          "Less",
                          "LessOrEqual",
                          "Greater",
                          "GreaterOrEqual",
                          "And",
                          "Or",
                          "Xor",
                          "Not",
                          "Tile",
                          "ScatterND",
                          "GatherElements",
                          "ArgMax",
                          "ArgMin",
                          "ReduceProd",
                          "ReduceLogSum",
                          "ReduceLogSumExp",
                          "CumSum",
                          "Trilu",
                          "DepthToSpace",
                          "SpaceToDepth",
                          "Resize",
                          "Upsample",
                          "Hardmax",
                          "CastLike",
                          "TopK",
                          "GatherND",
                          "ScatterElements",
                          "EyeLike",
                          "OneHot" };
  for (size_t i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const GzOpDef *op = gz_op_lookup (names[i]);
      g_assert_nonnull (op);
      g_assert_cmpstr (op->op_type, ==, names[i]);
      g_assert_nonnull (op->infer);
      g_assert_nonnull (op->forward);
    }
}

/* The operators these tests cover: shape and data movement, indexing,
 * comparisons, reductions, softmax, normalisation (tests/ops-nn has the rest). */
static const GzOpDef *const tensor_tables[] = {
  gz_op_argmax, gz_op_cast,    gz_op_concat,    gz_op_constant,  gz_op_cumsum, gz_op_depth_to_space,
  gz_op_expand, gz_op_gather,  gz_op_layernorm, gz_op_logic,     gz_op_mod,    gz_op_pad,
  gz_op_reduce, gz_op_reshape, gz_op_resize,    gz_op_scatter,   gz_op_slice,  gz_op_softmax,
  gz_op_split,  gz_op_tile,    gz_op_topk,      gz_op_transpose, gz_op_trilu,  gz_op_where,
  NULL,
};

/* Malformed nodes (no inputs, omitted inputs, no outputs) give errors, not crashes. */
static void
test_malformed (void)
{
  for (const GzOpDef *const *table = tensor_tables; *table != NULL; table++)
    for (const GzOpDef *op = *table; op->op_type != NULL; op++)
      {
        TNode t = { 0 };
        GzTensor *in[3] = { mkr (2, D (2, 2), 1), mkr (2, D (2, 2), 2), mkr (2, D (2, 2), 3) };
        GzTensor *out[TN_MAX];
        GzError err = { 0 };

        tn_init (&t, op->op_type, 0, 1, 13);
        g_assert_cmpint (tn_infer (&t, in, ~0u, out, &err), !=, GZ_OK);
        tn_free_headers (out, 1);

        tn_init (&t, op->op_type, 3, 1, 13);
        for (int i = 0; i < 3; i++)
          tn_omit_input (&t, i);
        /* (Constant has no inputs, but no value attribute either) */
        g_assert_cmpint (tn_infer (&t, in, ~0u, out, &err), !=, GZ_OK);
        tn_free_headers (out, 1);

        tn_init (&t, op->op_type, 1, 0, 13);
        g_assert_cmpint (tn_infer (&t, in, ~0u, out, &err), !=, GZ_OK);
        g_assert_nonnull (strstr (err.message, "test_node"));
        tn_clear (&t);
        free_all (in, 3);
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops-tensor/registry", test_registry);
  g_test_add_func ("/ops-tensor/reshape", test_reshape);
  g_test_add_func ("/ops-tensor/flatten", test_flatten);
  g_test_add_func ("/ops-tensor/squeeze-unsqueeze", test_squeeze_unsqueeze);
  g_test_add_func ("/ops-tensor/identity-dropout", test_identity_dropout);
  g_test_add_func ("/ops-tensor/transpose", test_transpose);
  g_test_add_func ("/ops-tensor/concat", test_concat);
  g_test_add_func ("/ops-tensor/split", test_split);
  g_test_add_func ("/ops-tensor/slice", test_slice);
  g_test_add_func ("/ops-tensor/gather", test_gather);
  g_test_add_func ("/ops-tensor/gather-elements-argmax", test_gather_elements_argmax);
  g_test_add_func ("/ops-tensor/cumsum-trilu", test_cumsum_trilu);
  g_test_add_func ("/ops-tensor/depth-to-space", test_depth_to_space);
  g_test_add_func ("/ops-tensor/resize", test_resize);
  g_test_add_func ("/ops-tensor/more-indexing", test_more_indexing);
  g_test_add_func ("/ops-tensor/shape", test_shape);
  g_test_add_func ("/ops-tensor/constant", test_constant);
  g_test_add_func ("/ops-tensor/constant-of-shape", test_constant_of_shape);
  g_test_add_func ("/ops-tensor/range", test_range);
  g_test_add_func ("/ops-tensor/expand", test_expand);
  g_test_add_func ("/ops-tensor/pad", test_pad);
  g_test_add_func ("/ops-tensor/cast", test_cast);
  g_test_add_func ("/ops-tensor/softmax", test_softmax);
  g_test_add_func ("/ops-tensor/reduce", test_reduce);
  g_test_add_func ("/ops-tensor/layer-norm", test_layer_norm);
  g_test_add_func ("/ops-tensor/where-equal", test_where_equal);
  g_test_add_func ("/ops-tensor/compare-logic", test_compare_logic);
  g_test_add_func ("/ops-tensor/tile", test_tile);
  g_test_add_func ("/ops-tensor/scatter-nd", test_scatter_nd);
  g_test_add_func ("/ops-tensor/shape-chain", test_shape_chain);
  g_test_add_func ("/ops-tensor/malformed", test_malformed);
  return g_test_run ();
}
