/* gz-eigengradcam.c — Eigen-Grad-CAM
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Eigen-CAM (Muhammad & Yeasin, IJCNN 2020) made class-specific as in
 * pytorch-grad-cam's EigenGradCAM: the first principal component of the
 * element-wise product of the activations and their gradient,
 *
 *   X = (A ⊙ G) read as hw samples of C features, centred per channel
 *   L = ReLU (X v₁),   v₁ the first right singular vector of X
 *
 * The projection, and the sign convention the SVD leaves free, are Eigen-CAM's
 * (gz_eigencam_map in gz-eigencam.c) applied to A ⊙ G.
 */
#include <stdlib.h>

#include "gz-explain-private.h"

GzStatus
gz_explain_eigengradcam (GzExplainCtx *ctx, GzSession *session, GzTensor **raw, GzError *err)
{
  const GzTensor *a;
  GzTensor *g, *map;
  GzStatus st = gz_explain_act_grad (ctx, session, &a, &g, &map, err);
  if (st != GZ_OK)
    return st;
  int64_t n = gz_tensor_numel (g);
  const float *av = gz_tensor_f (a);
  float *gv = gz_tensor_f (g);
  for (int64_t i = 0; i < n; i++)
    gv[i] *= av[i]; /* G becomes A ⊙ G in place */
  st = gz_eigencam_map (a->dims[1], a->dims[2] * a->dims[3], gv, gz_tensor_f (map), err);
  gz_tensor_free (g);
  if (st != GZ_OK)
    {
      gz_tensor_free (map);
      return st;
    }
  *raw = map;
  return GZ_OK;
}
