/* gz-op-slice.c — Slice (opset 1 attributes, opset 10+ inputs, any step)
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A slice is a strided view: per output axis a start offset and a stride
 * (input stride × step, negative for reversed axes). Forward gathers through
 * the view, backward scatters the gradient back into a zeroed input.
 */
#include "gz-op.h"

typedef struct
{
  int ndim;
  int64_t dims[GZ_MAX_DIMS]; /* output shape */
  int64_t strides[GZ_MAX_DIMS]; /* input element strides per output axis */
  int64_t base; /* input offset of the first output element */
} SliceView;

static GzStatus
slice_view (const GzNode *node, const GzTensor *const *in, SliceView *v, GzError *err)
{
  const GzTensor *x = in[0];
  const int64_t *starts, *ends, *axes = NULL, *steps = NULL;
  int ns, ne, na = 0, nst = 0;
  GzStatus st;

  if (gz_op_input (node, in, 1) != NULL)
    {
      if ((st = gz_op_const_ints (node, in[1], "starts", &starts, &ns, err)) != GZ_OK)
        return st;
      const GzTensor *e = gz_op_input (node, in, 2);
      if ((st = gz_op_const_ints (node, e, "ends", &ends, &ne, err)) != GZ_OK)
        return st;
      const GzTensor *a = gz_op_input (node, in, 3);
      if (a != NULL && (st = gz_op_const_ints (node, a, "axes", &axes, &na, err)) != GZ_OK)
        return st;
      const GzTensor *s = gz_op_input (node, in, 4);
      if (s != NULL && (st = gz_op_const_ints (node, s, "steps", &steps, &nst, err)) != GZ_OK)
        return st;
    }
  else
    {
      ns = gz_node_attr_ints (node, "starts", &starts);
      ne = gz_node_attr_ints (node, "ends", &ends);
      na = gz_node_attr_ints (node, "axes", &axes);
      if (starts == NULL || ends == NULL)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "starts and ends are required");
    }
  if (ns != ne || (axes != NULL && na != ns) || (steps != NULL && nst != ns))
    return gz_op_error (err, GZ_ERR_SHAPE, node,
                        "starts (%d), ends (%d), axes (%d) and steps (%d) differ in length", ns, ne,
                        axes != NULL ? na : ns, steps != NULL ? nst : ns);
  if (axes == NULL && ns > x->ndim)
    return gz_op_error (err, GZ_ERR_SHAPE, node, "%d starts for an input of rank %d", ns, x->ndim);

  v->ndim = x->ndim;
  gz_op_strides (x->ndim, x->dims, v->strides);
  for (int a = 0; a < x->ndim; a++)
    v->dims[a] = x->dims[a];
  v->base = 0;

  bool done[GZ_MAX_DIMS] = { false };
  for (int i = 0; i < ns; i++)
    {
      int a = axes != NULL ? gz_axis (axes[i], x->ndim) : i;
      if (a < 0)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %lld is out of range for rank %d",
                            (long long) axes[i], x->ndim);
      if (done[a])
        return gz_op_error (err, GZ_ERR_SHAPE, node, "axis %d is sliced twice", a);
      done[a] = true;
      int64_t step = steps != NULL ? steps[i] : 1;
      if (step == 0)
        return gz_op_error (err, GZ_ERR_SHAPE, node, "step along axis %d is 0", a);
      int64_t d = x->dims[a], s = starts[i], e = ends[i], count;
      if (s < 0)
        s += d;
      if (e < 0)
        e += d;
      if (step > 0)
        {
          s = s < 0 ? 0 : s > d ? d : s;
          e = e < 0 ? 0 : e > d ? d : e;
          count = e > s ? 1 + (e - s - 1) / step : 0;
        }
      else
        {
          s = s < 0 ? -1 : s > d - 1 ? d - 1 : s;
          e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
          /* -step fits: step > INT64_MIN is not guaranteed, so divide first */
          count = s > e ? 1 + (s - e - 1) / (step == INT64_MIN ? INT64_MAX : -step) : 0;
        }
      v->dims[a] = count;
      if (count > 0)
        v->base += s * v->strides[a];
      /* count > 1 implies |step| < d, so the product cannot overflow */
      v->strides[a] = count > 1 ? v->strides[a] * step : 0;
    }
  return gz_op_check_shape (node, v->ndim, v->dims, err);
}

static GzStatus
slice_infer (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  GzStatus need = gz_op_need (node, in, out, 1, 1, err);
  if (need != GZ_OK)
    return need;
  SliceView v;
  GzStatus st = slice_view (node, in, &v, err);
  if (st != GZ_OK)
    return st;
  gz_tensor_set_shape (out[0], in[0]->dtype, v.ndim, v.dims);
  return GZ_OK;
}

static GzStatus
slice_forward (const GzNode *node, const GzTensor *const *in, GzTensor *const *out, GzError *err)
{
  SliceView v;
  GzStatus st = slice_view (node, in, &v, err);
  if (st != GZ_OK)
    return st;
  gz_op_view_gather (gz_dtype_size (in[0]->dtype), v.ndim, v.dims, in[0]->data, v.base, v.strides,
                     out[0]->data);
  return GZ_OK;
}

static GzStatus
slice_backward (const GzNode *node, const GzTensor *const *in, const GzTensor *const *out,
                const GzTensor *const *dout, GzTensor *const *din, GzReluMode relu_mode,
                GzError *err)
{
  if (!gz_op_backward_begin (din, dout, true))
    return GZ_OK;
  SliceView v;
  GzStatus st = slice_view (node, in, &v, err);
  if (st != GZ_OK)
    return st;
  gz_op_view_scatter_add (v.ndim, v.dims, dout[0]->data, din[0]->data, v.base, v.strides);
  return GZ_OK;
}

const GzOpDef gz_op_slice[] = {
  { "Slice", 1, NULL, slice_infer, slice_forward, slice_backward, NULL },
  GZ_OP_END,
};
