/* image-tool.c — a thin command-line door into engine/image for the Python reference tests
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   image-tool npy-copy IN.npy OUT.npy
 *   image-tool preprocess IN.npy OUT.npy crop|stretch RESIZE CROP_W CROP_H CHANNELS
 *              [pil|tensor [bilinear|bicubic]]
 *       IN is [H,W,C] (C = 1 or 3) holding 0..255; OUT is gz_preprocess_pixels'
 *       [1,C,H,W]; the geometry is printed as one line of JSON. Backend and
 *       filter default to the engine's (pil, bilinear).
 *   image-tool resize IN.npy OUT.npy WIDTH HEIGHT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gaze-engine.h"

static int
fail (const GzError *err)
{
  fprintf (stderr, "image-tool: %s\n", err->message);
  return 1;
}

static int
cmd_preprocess (int argc, char **argv)
{
  GzError err = { 0 };
  GzTensor *in;
  if (gz_npy_read (argv[0], &in, &err) != GZ_OK)
    return fail (&err);
  if (in->ndim != 3 || (in->dims[2] != 1 && in->dims[2] != 3) || in->dtype != GZ_DTYPE_FLOAT)
    {
      fprintf (stderr, "image-tool: input must be float [H,W,1|3]\n");
      return 1;
    }
  int h = (int) in->dims[0], w = (int) in->dims[1], c = (int) in->dims[2];
  /* A stride wider than the row, to exercise it. */
  int stride = w * c + 5;
  uint8_t *px = calloc ((size_t) stride * h, 1);
  for (int y = 0; y < h; y++)
    for (int i = 0; i < w * c; i++)
      {
        float v = gz_tensor_f (in)[(size_t) y * w * c + i];
        px[(size_t) y * stride + i] = (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
      }
  GzImage image = { w, h, c, stride, px };
  GzPreprocess pp;
  gz_preprocess_defaults (NULL, &pp);
  pp.mode = strcmp (argv[2], "stretch") == 0 ? GZ_RESIZE_STRETCH : GZ_RESIZE_CROP;
  pp.resize = atoi (argv[3]);
  pp.crop_width = atoi (argv[4]);
  pp.crop_height = atoi (argv[5]);
  pp.channels = atoi (argv[6]);
  if (argc > 7)
    pp.backend = strcmp (argv[7], "tensor") == 0 ? GZ_RESIZE_BACKEND_TENSOR : GZ_RESIZE_BACKEND_PIL;
  if (argc > 8)
    pp.filter = strcmp (argv[8], "bicubic") == 0 ? GZ_RESIZE_BICUBIC : GZ_RESIZE_BILINEAR;
  GzTensor *out;
  GzGeometry g;
  if (gz_preprocess_pixels (&image, &pp, &out, &g, &err) != GZ_OK
      || gz_npy_write (argv[1], out, &err) != GZ_OK)
    return fail (&err);
  printf ("{\"scale_x\": %.17g, \"scale_y\": %.17g, \"offset_x\": %.17g, \"offset_y\": %.17g, "
          "\"input_width\": %d, \"input_height\": %d, \"image_width\": %d, \"image_height\": %d}\n",
          g.scale_x, g.scale_y, g.offset_x, g.offset_y, g.input_width, g.input_height,
          g.image_width, g.image_height);
  gz_tensor_free (out);
  gz_tensor_free (in);
  free (px);
  return 0;
}

int
main (int argc, char **argv)
{
  GzError err = { 0 };
  if (argc == 4 && strcmp (argv[1], "npy-copy") == 0)
    {
      GzTensor *t;
      if (gz_npy_read (argv[2], &t, &err) != GZ_OK || gz_npy_write (argv[3], t, &err) != GZ_OK)
        return fail (&err);
      gz_tensor_free (t);
      return 0;
    }
  if (argc >= 9 && argc <= 11 && strcmp (argv[1], "preprocess") == 0)
    return cmd_preprocess (argc - 2, argv + 2);
  if (argc == 6 && strcmp (argv[1], "resize") == 0)
    {
      GzTensor *t, *r;
      if (gz_npy_read (argv[2], &t, &err) != GZ_OK)
        return fail (&err);
      r = gz_map_resize (t, atoi (argv[4]), atoi (argv[5]), &err);
      if (r == NULL || gz_npy_write (argv[3], r, &err) != GZ_OK)
        return fail (&err);
      gz_tensor_free (t);
      gz_tensor_free (r);
      return 0;
    }
  fprintf (stderr, "usage: image-tool npy-copy|preprocess|resize …\n");
  return 2;
}
