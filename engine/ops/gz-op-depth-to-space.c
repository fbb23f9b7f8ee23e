/* gz-op-depth-to-space.c — DepthToSpace (DCR and CRD) and SpaceToDepth
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Both are a reshape to 6-D, a transpose and a reshape back, so each is one
 * strided gather through a 6-D view of the input (backward: the scatter-add).
 */
#include <string.h>

#include "gz-op.h"

/* Fills the 6-D view (dims in output order, input strides) and the output shape. */
static GzStatus
d2s_view (const GzNode *node, const GzTensor *x, int64_t *vdims, int64_t *vstrides,
          int64_t *out_dims, GzError *err)
{
  bool to_space = strcmp (node->op_type, "DepthToSpace") == 0;
  int64_t b = gz_node_attr_int (node, "blocksize", 0);
  if (x->ndim != 4)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "input must be 4-D, not rank %d", x->ndim);
  if (b < 1 || b > 4096)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "blocksize %lld is invalid", (long long) b);
  int64_t n = x->dims[0], c = x->dims[1], h = x->dims[2], w = x->dims[3];
  int64_t in6[6], st6[6];
  int perm[6];
  if (to_space)
    {
      if (c % (b * b) != 0)
        return gz_op_error (err, GZ_ERR_SHAPE, node,
                            "channels %lld are not a multiple of blocksize² %lld", (long long) c,
                            (long long) (b * b));
      int64_t cc = c / (b * b);
      bool crd = strcmp (gz_node_attr_string (node, "mode", "DCR"), "CRD") == 0;
      if (crd)
        {
          int64_t d[6] = { n, cc, b, b, h, w };
          int p[6] = { 0, 1, 4, 2, 5, 3 };
          memcpy (in6, d, sizeof d);
          memcpy (perm, p, sizeof p);
        }
      else
        {
          int64_t d[6] = { n, b, b, cc, h, w };
          int p[6] = { 0, 3, 4, 1, 5, 2 };
          memcpy (in6, d, sizeof d);
          memcpy (perm, p, sizeof p);
        }
      out_dims[0] = n, out_dims[1] = cc, out_dims[2] = h * b, out_dims[3] = w * b;
    }
  else
    {
      if (h % b != 0 || w % b != 0)
        return gz_op_error (err, GZ_ERR_SHAPE, node,
                            "height %lld and width %lld are not multiples of blocksize %lld",
                            (long long) h, (long long) w, (long long) b);
      int64_t d[6] = { n, c, h / b, b, w / b, b };
      int p[6] = { 0, 3, 5, 1, 2, 4 };
      memcpy (in6, d, sizeof d);
      memcpy (perm, p, sizeof p);
      out_dims[0] = n, out_dims[1] = c * b * b, out_dims[2] = h / b, out_dims[3] = w / b;
    }
  gz_op_strides (6, in6, st6);
  for (int a = 0; a < 6; a++)
    {
      vdims[a] = in6[perm[a]];
      vstrides[a] = st6[perm[a]];
    }
  return gz_op_check_shape (node, 4, out_dims, err);
}

static GzStatus
d2s_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus st = gz_op_need (node, in, out, 1, 1, err);
  int64_t vd[6], vs[6], od[4];
  if (st != GZ_OK || (st = d2s_view (node, in[0], vd, vs, od, err)) != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], in[0]->dtype, 4, od);
  return GZ_OK;
}

static GzStatus
d2s_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  int64_t vd[6], vs[6], od[4];
  GzStatus st = d2s_view (node, in[0], vd, vs, od, err);
  if (st != GZ_OK)
    return st;
  gz_op_view_gather (gz_dtype_size (in[0]->dtype), 6, vd, in[0]->data, 0, vs, out[0]->data);
  return GZ_OK;
}

static GzStatus
d2s_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
              const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode, GzError *err)
{
  if (!gz_op_backward_begin (din, dout, true))
    return GZ_OK;
  int64_t vd[6], vs[6], od[4];
  GzStatus st = d2s_view (node, in[0], vd, vs, od, err);
  if (st != GZ_OK)
    return st;
  gz_op_view_scatter_add (6, vd, dout[0]->data, din[0]->data, 0, vs);
  return GZ_OK;
}

const GzOpDef gz_op_depth_to_space[] = {
  { "DepthToSpace", 1, NULL, d2s_infer, d2s_forward, d2s_backward, NULL },
  { "SpaceToDepth", 1, NULL, d2s_infer, d2s_forward, d2s_backward, NULL },
  GZ_OP_END,
};
