/* model-tool.c — runs a model forward (and backward to its input) for the Python reference tests
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 *   model-tool MODEL.onnx IN.npy OUT.npy [GRAD_OUT.npy GRAD_IN.npy]
 *
 * Writes the model output for IN; with the last two arguments, also the
 * gradient of sum(GRAD_OUT * output) with respect to the input.
 */
#include <stdio.h>

#include "gaze-engine.h"

static int
fail (const GzError *err)
{
  fprintf (stderr, "model-tool: %s (%s)\n", err->message, gz_status_name (err->code));
  return 1;
}

int
main (int argc, char **argv)
{
  if (argc != 4 && argc != 6)
    {
      fprintf (stderr, "usage: model-tool MODEL.onnx IN.npy OUT.npy [GRAD_OUT.npy GRAD_IN.npy]\n");
      return 2;
    }
  GzError err = { 0 };
  GzModel *model = NULL;
  GzSession *session = NULL;
  GzTensor *input = NULL, *grad_out = NULL, *grad_in = NULL;
  int rc = 1;
  bool backward = argc == 6;

  if (gz_model_load (argv[1], NULL, &model, &err) != GZ_OK
      || gz_npy_read (argv[2], &input, &err) != GZ_OK
      || gz_session_new (model, &session, &err) != GZ_OK
      || gz_session_forward (session, input, backward ? "*" : NULL, &err) != GZ_OK
      || gz_npy_write (argv[3], gz_session_output (session), &err) != GZ_OK)
    {
      rc = fail (&err);
      goto out;
    }
  if (backward
      && (gz_npy_read (argv[4], &grad_out, &err) != GZ_OK
          || gz_session_backward (session, grad_out, NULL, GZ_RELU_GRADIENT, &grad_in, &err)
              != GZ_OK
          || gz_npy_write (argv[5], grad_in, &err) != GZ_OK))
    {
      rc = fail (&err);
      goto out;
    }
  rc = 0;
out:
  gz_tensor_free (grad_in);
  gz_tensor_free (grad_out);
  gz_tensor_free (input);
  gz_session_free (session);
  gz_model_free (model);
  return rc;
}
