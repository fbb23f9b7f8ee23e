/* fuzz-onnx-load.c — libFuzzer target: ONNX bytes through gz_model_load_mem
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * On success every query of the public model API is exercised, and the
 * strings it hands out are read to the end (ASan catches dangling ones).
 */
#include <string.h>

#include "fuzz-common.h"

static size_t
touch (const char *s)
{
  return s != NULL ? strlen (s) : 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GzLimits limits;
  fuzz_limits (&limits);
  GzError err = { 0 };
  GzModel *model = NULL;
  /* No base folder: external data must be refused, never read. */
  if (gz_model_load_mem (data, size, NULL, &limits, &model, &err) != GZ_OK)
    {
      if (err.code == GZ_OK || memchr (err.message, '\0', sizeof err.message) == NULL
          || err.message[0] == '\0')
        __builtin_trap (); /* a failure must say why */
      return 0;
    }
  volatile size_t sink = 0;
  const GzValueInfo *in = gz_model_input (model);
  const GzValueInfo *out = gz_model_output (model);
  sink += touch (in->name) + touch (out->name) + (size_t) in->ndim + (size_t) out->ndim;
  sink += (size_t) gz_model_opset (model) + (size_t) gz_model_parameter_count (model);
  sink += touch (gz_model_producer (model));
  for (int i = 0; i < gz_model_node_count (model); i++)
    {
      const GzNodeInfo *n = gz_model_node (model, i);
      sink += touch (n->name) + touch (n->op_type) + touch (n->output) + (size_t) n->ndim;
    }
  for (int i = 0; i < gz_model_layer_count (model); i++)
    {
      const GzNodeInfo *n = gz_model_layer (model, i);
      sink += touch (n->name) + touch (n->output);
    }
  if (gz_model_node (model, -1) != NULL || gz_model_layer (model, gz_model_layer_count (model)))
    __builtin_trap ();
  sink += touch (gz_model_default_layer (model));
  GzPreprocess pp;
  gz_preprocess_defaults (model, &pp);
  sink += (size_t) pp.crop_width;
  char reason[128];
  for (int m = 0; m < GZ_METHOD_COUNT; m++)
    sink += gz_method_applicable (model, (GzMethod) m, NULL, reason, sizeof reason);
  (void) sink;
  gz_model_free (model);
  return 0;
}
