/* test-onnx-ops.c — Mod and Cast to float16: hand-derived values, errors, finite-difference
 * backward SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The ONNX node tests cover Mod's forward on a few cases (mixed signs, int64
 * fmod, broadcasting); these add the corner cases (INT64_MIN % -1, division by
 * zero, fmod = 0 on floats, which torch's remainder needs) and the gradient.
 * Cast to FLOAT16 keeps float32 storage but must round like a real half.
 */
#include "gz-op.h"
#include "tensor-test-util.h"

#define D(...) ((int64_t[]){ __VA_ARGS__ })
#define I(...) ((int64_t[]){ __VA_ARGS__ })
#define F(...) ((float[]){ __VA_ARGS__ })

static void
test_mod_int (void)
{
  TNode t = { 0 };
  GzTensor *in[2], *out[1];
  in[0] = mki (1, D (7), I (-7, 7, -7, 7, 5, INT64_MIN, 0));
  in[1] = mki (1, D (7), I (3, -3, -3, 3, 5, -1, -4));

  /* fmod = 0: the divisor's sign (floored division) */
  tn_init (&t, "Mod", 2, 1, 13);
  tn_run (&t, in, out);
  assert_ints (out[0], I (2, -2, -1, 1, 0, 0, 0));
  free_all (out, 1);

  /* fmod = 1: the dividend's sign (C's %) */
  tn_init (&t, "Mod", 2, 1, 13);
  tn_int (&t, "fmod", 1);
  tn_run (&t, in, out);
  assert_ints (out[0], I (-1, 1, -1, 1, 0, 0, 0));
  free_all (out, 1);

  /* integer division by zero: an error naming the node, not a trap */
  ((int64_t *) in[1]->data)[3] = 0;
  tn_init (&t, "Mod", 2, 1, 13);
  GzTensor *hdr[1];
  GzError err = { 0 };
  g_assert_cmpint (tn_infer (&t, in, ~0u, hdr, &err), ==, GZ_OK);
  GzTensor *y = gz_tensor_new (hdr[0]->dtype, hdr[0]->ndim, hdr[0]->dims, NULL);
  g_assert_cmpint (t.op->forward (&t.node, (const GzTensor *const *) in, &y, &err), ==,
                   GZ_ERR_ARGUMENT);
  g_assert_nonnull (strstr (err.message, "division by zero"));
  g_assert_nonnull (strstr (err.message, "test_node"));
  gz_tensor_free (y);
  tn_free_headers (hdr, 1);
  free_all (in, 2);
  tn_clear (&t);
}

static void
test_mod_float (void)
{
  TNode t = { 0 };
  GzTensor *in[2], *out[1];
  in[0] = mkf (1, D (5), F (-7.5f, 7.5f, 5.25f, -0.5f, 6.0f));
  in[1] = mkf (1, D (5), F (2.0f, -2.0f, 1.5f, 4.0f, -3.0f));

  /* fmod = 0: a - b·floor(a/b) */
  tn_init (&t, "Mod", 2, 1, 13);
  tn_run (&t, in, out);
  assert_floats (out[0], F (0.5f, -0.5f, 0.75f, 3.5f, 0.0f), 0.0);
  free_all (out, 1);

  /* fmod = 1: C's fmod */
  tn_init (&t, "Mod", 2, 1, 13);
  tn_int (&t, "fmod", 1);
  tn_run (&t, in, out);
  assert_floats (out[0], F (-1.5f, 1.5f, 0.75f, -0.5f, 0.0f), 0.0);
  free_all (out, 1);
  free_all (in, 2);

  /* float division by zero is NaN, as in IEEE fmod */
  in[0] = mkf (1, D (1), F (1.0f));
  in[1] = mkf (1, D (1), F (0.0f));
  tn_init (&t, "Mod", 2, 1, 13);
  tn_run (&t, in, out);
  g_assert_true (isnan (gz_tensor_f (out[0])[0]));
  free_all (out, 1);
  free_all (in, 2);
  tn_clear (&t);
}

static void
test_mod_broadcast_and_errors (void)
{
  TNode t = { 0 };
  GzTensor *in[2], *out[1];
  in[0] = mki (2, D (2, 3), I (10, 11, 12, -10, -11, -12));
  in[1] = mki (1, D (3), I (3, 4, -5));
  tn_init (&t, "Mod", 2, 1, 13);
  tn_run (&t, in, out);
  assert_shape (out[0], 2, D (2, 3));
  assert_ints (out[0], I (1, 3, -3, 2, 1, -2));
  free_all (out, 1);
  gz_tensor_free (in[1]);

  in[1] = mki (1, D (2), I (3, 4)); /* [2,3] with [2] */
  tn_init (&t, "Mod", 2, 1, 13);
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "broadcast");
  gz_tensor_free (in[1]);

  in[1] = mkf (1, D (3), F (1, 2, 3)); /* int64 with float */
  tn_init (&t, "Mod", 2, 1, 13);
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "data type");
  gz_tensor_free (in[1]);

  in[1] = mki (1, D (3), I (3, 4, 5));
  tn_init (&t, "Mod", 2, 1, 13);
  tn_int (&t, "fmod", 2);
  tn_expect_error (&t, in, ~0u, GZ_ERR_SHAPE, "fmod");
  free_all (in, 2);
}

static void
test_mod_backward (void)
{
  /* Values away from the jumps (a/b at least 0.03 from an integer, also under
   * the ±0.01 perturbations), B broadcast over the rows. */
  TNode t = { 0 };
  GzTensor *in[2];
  for (int c_fmod = 0; c_fmod <= 1; c_fmod++)
    {
      in[0] = mkf (2, D (2, 3), F (-3.3f, 2.7f, 0.45f, 5.1f, -1.2f, 3.9f));
      in[1] = mkf (1, D (3), F (1.25f, -0.8f, 2.0f));
      tn_init (&t, "Mod", 2, 1, 13);
      tn_int (&t, "fmod", c_fmod);
      tn_check_grad (&t, in, 0x3);
      free_all (in, 2);
    }
  tn_clear (&t);
}

static void
test_cast_float16 (void)
{
  TNode t = { 0 };
  GzTensor *in[1], *out[1];
  /* 1 + 2^-11 is a tie between 1 and 1 + 2^-10: even → 1; 1 + 3·2^-11 → 1 + 2^-9;
   * 65504 is the largest half, 65519 rounds to it, 65520 overflows; 2^-25 ties
   * to 0, 3·2^-25 → 2^-23 (subnormals step 2^-24); 0.1 → 0x2e66 = 0.0999755859375 */
  in[0] = mkf (1, D (11),
               F (1.0f + 0x1p-11f, 1.0f + 0x3p-11f, 65504.0f, 65519.0f, 65520.0f, -0x1p-25f,
                  0x3p-25f, 0.1f, -2.5f, INFINITY, NAN));
  tn_init (&t, "Cast", 1, 1, 13);
  tn_int (&t, "to", 10);
  tn_run (&t, in, out);
  const float want[10] = { 1.0f,  1.0f + 0x1p-9f, 65504.0f,         65504.0f, INFINITY,
                           -0.0f, 0x1p-23f,       0.0999755859375f, -2.5f,    INFINITY };
  for (int i = 0; i < 10; i++)
    g_assert_cmpfloat (gz_tensor_f (out[0])[i], ==, want[i]);
  g_assert_true (signbit (gz_tensor_f (out[0])[5]));
  g_assert_true (isnan (gz_tensor_f (out[0])[10]));
  free_all (out, 1);

  /* to FLOAT leaves the values alone; int64 → FLOAT16 rounds too (2049 → 2048) */
  tn_init (&t, "Cast", 1, 1, 13);
  tn_int (&t, "to", 1);
  tn_run (&t, in, out);
  g_assert_cmpfloat (gz_tensor_f (out[0])[0], ==, 1.0f + 0x1p-11f);
  free_all (out, 1);
  free_all (in, 1);
  in[0] = mki (1, D (2), I (2049, -2051));
  tn_init (&t, "Cast", 1, 1, 13);
  tn_int (&t, "to", 10);
  tn_run (&t, in, out);
  assert_floats (out[0], F (2048.0f, -2052.0f), 0.0);
  free_all (out, 1);
  free_all (in, 1);
  tn_clear (&t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mod/int", test_mod_int);
  g_test_add_func ("/mod/float", test_mod_float);
  g_test_add_func ("/mod/broadcast-and-errors", test_mod_broadcast_and_errors);
  g_test_add_func ("/mod/backward", test_mod_backward);
  g_test_add_func ("/cast/float16", test_cast_float16);
  return g_test_run ();
}
