/* gz-explain.c — the explanation driver: layer, target, forward reuse, post-processing
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One gz_explain call: resolve the layer ("auto" → gz_model_default_layer),
 * make sure the session's last forward kept what the method needs (the layer,
 * or every activation for the guided methods) — re-running it only when it did
 * not — pick the target (top-1 by default; the score is the pre-softmax logit,
 * its negation for the negative class of a single-output sigmoid model), let
 * the method compute its raw map, then upsample it bilinearly with half-pixel
 * centres to the model input, apply the method's ReLU and normalise to [0,1].
 *
 * A class switch therefore costs one backward pass from the logit to the layer:
 * the forward is reused because the session still keeps the layer.
 *
 * Timings: forward_ms counts forwards of the image that gz_explain had to
 * (re)run, backward_ms every backward pass, method_ms the rest of the method
 * (including the masked forwards of Score-CAM / Ablation-CAM and the noisy
 * copies of SmoothGrad, whose backward passes still count as backward_ms).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gz-explain-private.h"

/* ---- Names ------------------------------------------------------------- */

static const char *const method_names[GZ_METHOD_COUNT] = {
  [GZ_METHOD_CAM] = "cam",
  [GZ_METHOD_GRADCAM] = "gradcam",
  [GZ_METHOD_GRADCAM_PP] = "gradcam++",
  [GZ_METHOD_XGRADCAM] = "xgradcam",
  [GZ_METHOD_HIRESCAM] = "hirescam",
  [GZ_METHOD_LAYERCAM] = "layercam",
  [GZ_METHOD_EIGENCAM] = "eigencam",
  [GZ_METHOD_SCORECAM] = "scorecam",
  [GZ_METHOD_ABLATIONCAM] = "ablationcam",
  [GZ_METHOD_GUIDED_BACKPROP] = "guided-backprop",
  [GZ_METHOD_GUIDED_GRADCAM] = "guided-gradcam",
  [GZ_METHOD_EIGENGRADCAM] = "eigengradcam",
  [GZ_METHOD_GRADCAM_ELEMENTWISE] = "gradcam-elementwise",
  [GZ_METHOD_SALIENCY] = "saliency",
  [GZ_METHOD_INPUTXGRAD] = "inputxgrad",
  [GZ_METHOD_INTEGRATED_GRADIENTS] = "integrated-gradients",
  [GZ_METHOD_OCCLUSION] = "occlusion",
};

const char *
gz_method_name (GzMethod method)
{
  if ((int) method < 0 || method >= GZ_METHOD_COUNT)
    return "unknown";
  return method_names[method];
}

bool
gz_method_from_name (const char *name, GzMethod *method)
{
  if (name == NULL)
    return false;
  for (int m = 0; m < GZ_METHOD_COUNT; m++)
    if (strcmp (name, method_names[m]) == 0)
      {
        if (method != NULL)
          *method = (GzMethod) m;
        return true;
      }
  /* A few spellings people type. */
  static const struct
  {
    const char *alias;
    GzMethod method;
  } aliases[] = {
    { "grad-cam", GZ_METHOD_GRADCAM },
    { "gradcampp", GZ_METHOD_GRADCAM_PP },
    { "grad-cam++", GZ_METHOD_GRADCAM_PP },
    { "xgrad-cam", GZ_METHOD_XGRADCAM },
    { "hires-cam", GZ_METHOD_HIRESCAM },
    { "layer-cam", GZ_METHOD_LAYERCAM },
    { "eigen-cam", GZ_METHOD_EIGENCAM },
    { "score-cam", GZ_METHOD_SCORECAM },
    { "ablation-cam", GZ_METHOD_ABLATIONCAM },
    { "guided", GZ_METHOD_GUIDED_BACKPROP },
    { "guidedbackprop", GZ_METHOD_GUIDED_BACKPROP },
    { "guided-grad-cam", GZ_METHOD_GUIDED_GRADCAM },
    { "eigen-grad-cam", GZ_METHOD_EIGENGRADCAM },
    { "gradcamelementwise", GZ_METHOD_GRADCAM_ELEMENTWISE },
    { "input-x-gradient", GZ_METHOD_INPUTXGRAD },
    { "inputxgradient", GZ_METHOD_INPUTXGRAD },
    { "ig", GZ_METHOD_INTEGRATED_GRADIENTS },
    { "integratedgradients", GZ_METHOD_INTEGRATED_GRADIENTS },
  };
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strcmp (name, aliases[i].alias) == 0)
      {
        if (method != NULL)
          *method = aliases[i].method;
        return true;
      }
  return false;
}

/* ---- Layers ------------------------------------------------------------ */

static bool
method_uses_gradient (GzMethod m)
{
  switch (m)
    {
      case GZ_METHOD_GRADCAM:
      case GZ_METHOD_GRADCAM_PP:
      case GZ_METHOD_XGRADCAM:
      case GZ_METHOD_HIRESCAM:
      case GZ_METHOD_LAYERCAM:
      case GZ_METHOD_GUIDED_BACKPROP:
      case GZ_METHOD_GUIDED_GRADCAM:
      case GZ_METHOD_EIGENGRADCAM:
      case GZ_METHOD_GRADCAM_ELEMENTWISE:
      case GZ_METHOD_SALIENCY:
      case GZ_METHOD_INPUTXGRAD:
      case GZ_METHOD_INTEGRATED_GRADIENTS:
        return true;
      default:
        return false;
    }
}

bool
gz_method_needs_input_gradient (GzMethod m)
{
  return m == GZ_METHOD_GUIDED_BACKPROP || m == GZ_METHOD_GUIDED_GRADCAM || m == GZ_METHOD_SALIENCY
      || m == GZ_METHOD_INPUTXGRAD;
}

bool
gz_method_is_pixel (GzMethod m)
{
  return m == GZ_METHOD_GUIDED_BACKPROP || m == GZ_METHOD_SALIENCY || m == GZ_METHOD_INPUTXGRAD
      || m == GZ_METHOD_INTEGRATED_GRADIENTS || m == GZ_METHOD_OCCLUSION;
}

/* Methods that run their own forwards of other images (the image's own
 * forward only gives the target). */
static bool
method_runs_forwards (GzMethod m)
{
  return m == GZ_METHOD_SCORECAM || m == GZ_METHOD_ABLATIONCAM
      || m == GZ_METHOD_INTEGRATED_GRADIENTS || m == GZ_METHOD_OCCLUSION;
}

/* The layer's GzNodeInfo, by output tensor name or by node name. */
static const GzNodeInfo *
find_layer (const GzModel *model, const char *name)
{
  int n = gz_model_layer_count (model);
  for (int i = 0; i < n; i++)
    {
      const GzNodeInfo *info = gz_model_layer (model, i);
      if (info != NULL && info->output != NULL && strcmp (info->output, name) == 0)
        return info;
    }
  for (int i = 0; i < n; i++)
    {
      const GzNodeInfo *info = gz_model_layer (model, i);
      if (info != NULL && info->name != NULL && strcmp (info->name, name) == 0)
        return info;
    }
  return NULL;
}

/* The layer's tensor name; NULL with a reason when there is none. */
static const char *
resolve_layer (const GzModel *model, const char *layer, char *reason, size_t reason_len)
{
  if (layer == NULL || layer[0] == '\0' || strcmp (layer, "auto") == 0)
    {
      const char *def = gz_model_default_layer (model);
      if (def == NULL)
        snprintf (reason, reason_len,
                  "the model has no layer that reads as a map [C,H,W] with H×W > 1 to explain");
      return def;
    }
  const GzNodeInfo *info = find_layer (model, layer);
  if (info == NULL)
    {
      snprintf (reason, reason_len,
                "'%s' is not a layer that reads as a map [C,H,W] in this model (see gaze-cli "
                "info)",
                layer);
      return NULL;
    }
  return info->output;
}

/* Every operator between the layer and the output must have a backward. */
static bool
gradient_path_ok (const GzModel *model, int layer_value, char *reason, size_t reason_len)
{
  const GzGraph *g = gz_model_graph (model);
  const GzPlan *plan = gz_model_plan (model);
  bool *down = calloc ((size_t) g->n_values, sizeof *down);
  if (down == NULL)
    return true; /* the backward itself will report the failure */
  bool ok = true;
  if (layer_value >= 0)
    down[layer_value] = true;
  for (int i = 0; i < g->n_nodes && ok; i++)
    {
      const GzNode *node = &g->nodes[i];
      if (plan != NULL && plan->node_folded != NULL && plan->node_folded[i])
        continue;
      bool reached = layer_value < 0; /* input gradient: every node */
      for (int j = 0; j < node->n_inputs && !reached; j++)
        reached = node->inputs[j] >= 0 && down[node->inputs[j]];
      if (!reached)
        continue;
      for (int j = 0; j < node->n_outputs; j++)
        if (node->outputs[j] >= 0)
          down[node->outputs[j]] = true;
      if (node->op == NULL || node->op->backward == NULL)
        {
          snprintf (reason, reason_len,
                    "operator %s (node '%s') between the layer and the output has no gradient",
                    node->op_type, node->name);
          ok = false;
        }
    }
  free (down);
  return ok;
}

bool
gz_method_applicable (const GzModel *model, GzMethod method, const char *layer, char *reason,
                      size_t reason_len)
{
  char dummy[8];
  if (reason == NULL || reason_len == 0)
    {
      reason = dummy;
      reason_len = sizeof dummy;
    }
  reason[0] = '\0';
  if (model == NULL)
    {
      snprintf (reason, reason_len, "no model");
      return false;
    }
  if ((int) method < 0 || method >= GZ_METHOD_COUNT)
    {
      snprintf (reason, reason_len, "unknown method %d", (int) method);
      return false;
    }
  const GzValueInfo *in = gz_model_input (model);
  if (in == NULL || in->ndim != 4)
    {
      snprintf (reason, reason_len, "the model input is not an image tensor [N,C,H,W]");
      return false;
    }
  /* The pixel methods do not read a layer: the input gradient, or only
   * forwards (Occlusion). */
  if (method == GZ_METHOD_OCCLUSION)
    return true;
  if (gz_method_is_pixel (method))
    return gradient_path_ok (model, -1, reason, reason_len);

  const char *name = resolve_layer (model, layer, reason, reason_len);
  if (name == NULL)
    return false;
  int value = gz_graph_find_value (gz_model_graph (model), name);
  if (value < 0)
    {
      snprintf (reason, reason_len, "layer '%s' is not a tensor of the graph", name);
      return false;
    }
  if (method == GZ_METHOD_CAM)
    {
      GzCamHead head;
      return gz_cam_find_head (model, name, &head, reason, reason_len);
    }
  const GzLayerLayout *layout = gz_model_layer_layout (model, value);
  if ((method == GZ_METHOD_ABLATIONCAM) && layout != NULL && layout->kind != GZ_LAYOUT_NCHW)
    {
      snprintf (reason, reason_len,
                "Ablation-CAM removes channels of a [1,C,H,W] layer; '%s' is a %s tensor "
                "(pick a convolutional layer or another method)",
                name, layout->kind == GZ_LAYOUT_TOKENS ? "transformer token" : "channels-last");
      return false;
    }
  if (method == GZ_METHOD_GUIDED_GRADCAM)
    return gradient_path_ok (model, -1, reason, reason_len);
  if (method_uses_gradient (method))
    return gradient_path_ok (model, value, reason, reason_len);
  return true;
}

/* ---- Helpers shared by the methods ------------------------------------- */

double
gz_explain_now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec * 1e-6;
}

GzStatus
gz_explain_progress (GzExplainCtx *ctx, double fraction, GzError *err)
{
  if (ctx->options->progress == NULL)
    return GZ_OK;
  if (fraction < 0)
    fraction = 0;
  if (fraction > 1)
    fraction = 1;
  double f = ctx->progress_base + ctx->progress_span * fraction;
  if (!ctx->options->progress (f, ctx->options->progress_data))
    return gz_error_set (err, GZ_ERR_CANCELLED, "%s cancelled", gz_method_name (ctx->method));
  return GZ_OK;
}

GzTensor *
gz_explain_new_map (int64_t h, int64_t w, GzError *err)
{
  int64_t dims[2] = { h, w };
  return gz_tensor_new (GZ_DTYPE_FLOAT, 2, dims, err);
}

GzTensor *
gz_explain_grad_output (const GzExplainCtx *ctx, int64_t n, GzError *err)
{
  /* The output's own shape (backward checks it), batch n. */
  int64_t dims[GZ_MAX_DIMS];
  int ndim = ctx->out_ndim;
  for (int i = 0; i < ndim; i++)
    dims[i] = ctx->out_dims[i];
  if (ndim < 1)
    {
      ndim = 2;
      dims[1] = ctx->n_classes;
    }
  if (ndim >= 2)
    dims[0] = n; /* a [K] output has no batch: n is 1 */
  GzTensor *t = gz_tensor_new (GZ_DTYPE_FLOAT, ndim, dims, err);
  if (t == NULL)
    return NULL;
  float *d = gz_tensor_f (t);
  for (int64_t i = 0; i < n; i++)
    d[i * ctx->n_classes + ctx->class_index] = ctx->negative ? -1.0f : 1.0f;
  return t;
}

float
gz_explain_score_of (const GzExplainCtx *ctx, const GzTensor *logits, int64_t i)
{
  float v = gz_tensor_f (logits)[i * ctx->n_classes + ctx->class_index];
  return ctx->negative ? -v : v;
}

GzStatus
gz_explain_activation (GzExplainCtx *ctx, GzSession *session, const GzTensor **act, GzError *err)
{
  const GzTensor *a = gz_session_value (session, ctx->layer);
  if (a == NULL)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "layer '%s' was not kept by the forward pass",
                         ctx->layer);
  if (ctx->layout.kind == GZ_LAYOUT_NCHW || ctx->layout.kind == GZ_LAYOUT_NONE)
    {
      if (a->dtype != GZ_DTYPE_FLOAT || a->ndim != 4 || a->dims[0] != 1)
        return gz_error_set (err, GZ_ERR_SHAPE, "layer '%s' is not a [1,C,H,W] float tensor",
                             ctx->layer);
      *act = a;
      return GZ_OK;
    }
  gz_tensor_free (ctx->act_map);
  ctx->act_map = gz_layer_to_map (&ctx->layout, a, err);
  if (ctx->act_map == NULL)
    return err != NULL && err->code != GZ_OK ? err->code : GZ_ERR_NOMEM;
  *act = ctx->act_map;
  return GZ_OK;
}

GzStatus
gz_explain_layer_gradient (GzExplainCtx *ctx, GzSession *session, GzTensor **grad, GzError *err)
{
  GzTensor *go = gz_explain_grad_output (ctx, 1, err);
  if (go == NULL)
    return err != NULL ? err->code : GZ_ERR_NOMEM;
  double t0 = gz_explain_now_ms ();
  GzStatus st = gz_session_backward (session, go, ctx->layer, GZ_RELU_GRADIENT, grad, err);
  ctx->backward_ms += gz_explain_now_ms () - t0;
  gz_tensor_free (go);
  if (st != GZ_OK)
    return st;
  if (ctx->layout.kind != GZ_LAYOUT_NCHW && ctx->layout.kind != GZ_LAYOUT_NONE)
    {
      GzTensor *map = gz_layer_to_map (&ctx->layout, *grad, err);
      gz_tensor_free (*grad);
      *grad = map;
      if (map == NULL)
        return err != NULL && err->code != GZ_OK ? err->code : GZ_ERR_NOMEM;
    }
  const GzTensor *g = *grad;
  if (g->ndim != 4 || g->dims[0] != 1 || g->dtype != GZ_DTYPE_FLOAT)
    {
      gz_tensor_free (*grad);
      *grad = NULL;
      return gz_error_set (err, GZ_ERR_SHAPE, "the gradient at '%s' is not [1,C,H,W]", ctx->layer);
    }
  return GZ_OK;
}

/* Whether the session's last forward kept what `need` asks for: by its keep
 * argument, or (after a forward that kept another layer) by checking the
 * tensors themselves. */
static bool
keep_covers (GzExplainCtx *ctx, GzSession *session, GzExplainNeed need)
{
  const char *have = gz_session_keep (session);
  if (gz_session_input (session) == NULL)
    return false;
  if (have != NULL && strcmp (have, "*") == 0)
    return true;
  if (need == GZ_NEED_OUTPUT)
    return gz_session_output (session) != NULL;
  if (need == GZ_NEED_ALL)
    return false;
  if (have != NULL && strcmp (have, ctx->layer) == 0)
    return true;
  if (gz_session_value (session, ctx->layer) == NULL)
    return false;
  if (need == GZ_NEED_ACTIVATION)
    return true;
  GzTailInfo tail;
  return gz_session_tail_info (session, ctx->layer, &tail, NULL) == GZ_OK && tail.backward_ready;
}

GzStatus
gz_explain_ensure_forward (GzExplainCtx *ctx, GzSession *session, GzExplainNeed need, GzError *err)
{
  if (keep_covers (ctx, session, need))
    return GZ_OK;
  const int64_t keep_all_below = 256ll << 20;
  const char *keep = need == GZ_NEED_ALL ? "*" : ctx->layer;
  const GzPlan *plan = gz_model_plan (ctx->model);
  if (plan != NULL && plan->activation_bytes <= keep_all_below)
    keep = "*";
  const GzTensor *input = gz_session_input (session);
  if (input == NULL)
    return gz_error_set (err, GZ_ERR_ARGUMENT,
                         "the session has no forward pass to explain: call gz_session_forward "
                         "on the image first");
  /* The session may release its input when it runs again: forward a copy. */
  GzTensor *copy = gz_tensor_copy (input, err);
  if (copy == NULL)
    return err != NULL ? err->code : GZ_ERR_NOMEM;
  double t0 = gz_explain_now_ms ();
  GzStatus st = gz_session_forward (session, copy, keep, err);
  ctx->forward_ms += gz_explain_now_ms () - t0;
  gz_tensor_free (copy);
  return st;
}

int
gz_explain_batch_size (const GzExplainCtx *ctx, int64_t per_image_bytes, int max)
{
  if (ctx->options->batch_size > 0)
    return ctx->options->batch_size;
  /* Enough images per batch to amortise each weight's pass over memory,
   * within ~256 MiB of activations. */
  const int64_t budget = 256ll << 20;
  int64_t n = per_image_bytes > 0 ? budget / per_image_bytes : max;
  /* A plan for batch n must also pass the model's activation limit, which
   * counts the whole network. */
  const GzPlan *plan = gz_model_plan (ctx->model);
  const int64_t limit = gz_model_limits (ctx->model)->max_activation_bytes;
  int64_t whole = plan != NULL ? plan->activation_bytes : 0;
  if (whole > 0 && limit / whole < n)
    n = limit / whole;
  if (n < 1)
    n = 1;
  if (n > max)
    n = max;
  return (int) n;
}

void
gz_explain_normalise (float *x, int64_t n)
{
  /* M = (U − min U) / (max U − min U + 1e-8) (tests/reference/CONVENTIONS.md):
   * a flat map becomes zeros, never NaN. */
  if (n <= 0)
    return;
  float lo = x[0], hi = x[0];
  for (int64_t i = 1; i < n; i++)
    {
      lo = x[i] < lo ? x[i] : lo;
      hi = x[i] > hi ? x[i] : hi;
    }
  float denom = (hi - lo) + 1e-8f;
  for (int64_t i = 0; i < n; i++)
    x[i] = (x[i] - lo) / denom;
}

/* ---- The driver -------------------------------------------------------- */

static GzExplainMethodFn
method_function (GzMethod m)
{
  switch (m)
    {
      case GZ_METHOD_CAM:
        return gz_explain_cam;
      case GZ_METHOD_GRADCAM:
        return gz_explain_gradcam;
      case GZ_METHOD_GRADCAM_PP:
        return gz_explain_gradcampp;
      case GZ_METHOD_XGRADCAM:
        return gz_explain_xgradcam;
      case GZ_METHOD_HIRESCAM:
        return gz_explain_hirescam;
      case GZ_METHOD_LAYERCAM:
        return gz_explain_layercam;
      case GZ_METHOD_EIGENCAM:
        return gz_explain_eigencam;
      case GZ_METHOD_SCORECAM:
        return gz_explain_scorecam;
      case GZ_METHOD_ABLATIONCAM:
        return gz_explain_ablationcam;
      case GZ_METHOD_GUIDED_BACKPROP:
        return gz_explain_guided_backprop;
      case GZ_METHOD_GUIDED_GRADCAM:
        return gz_explain_guided_gradcam;
      case GZ_METHOD_EIGENGRADCAM:
        return gz_explain_eigengradcam;
      case GZ_METHOD_GRADCAM_ELEMENTWISE:
        return gz_explain_gradcam_elementwise;
      case GZ_METHOD_SALIENCY:
        return gz_explain_saliency;
      case GZ_METHOD_INPUTXGRAD:
        return gz_explain_inputxgrad;
      case GZ_METHOD_INTEGRATED_GRADIENTS:
        return gz_explain_integrated_gradients;
      case GZ_METHOD_OCCLUSION:
        return gz_explain_occlusion;
      case GZ_METHOD_COUNT:
        break;
    }
  return NULL;
}

void
gz_explanation_free (GzExplanation *ex)
{
  if (ex == NULL)
    return;
  gz_tensor_free (ex->raw);
  gz_tensor_free (ex->map);
  free (ex);
}

/* Target class, logit and probability from the session's logits. */
static GzStatus
choose_target (GzExplainCtx *ctx, const GzExplainOptions *opt, GzExplanation *ex, GzError *err)
{
  const GzTensor *logits = gz_session_output (ctx->session);
  if (logits == NULL || logits->dtype != GZ_DTYPE_FLOAT)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "the session has no output to explain");
  int64_t n = gz_tensor_numel (logits);
  int64_t batch = logits->ndim >= 2 ? logits->dims[0] : 1;
  if (batch != 1 || n < 1)
    return gz_error_set (err, GZ_ERR_SHAPE,
                         "expected the logits of one image, got %lld values "
                         "for a batch of %lld",
                         (long long) n, (long long) batch);
  if (n > INT32_MAX)
    return gz_error_set (err, GZ_ERR_LIMIT, "too many classes");
  ctx->n_classes = n;
  ctx->out_ndim = logits->ndim;
  for (int i = 0; i < logits->ndim; i++)
    ctx->out_dims[i] = logits->dims[i];
  const float *l = gz_tensor_f (logits);
  /* The logits are pre-activation: gz-model.c removed a trailing head. */
  GzOutputKind kind = gz_model_output_kind (gz_session_model (ctx->session));
  if (n == 1)
    {
      if (opt->class_index > 0)
        return gz_error_set (err, GZ_ERR_ARGUMENT,
                             "class %d does not exist: the model has a single (sigmoid) output; "
                             "explain its positive class (0) or its negative class",
                             opt->class_index);
      ctx->class_index = 0;
      ctx->negative = opt->negative;
      double p = gz_logits_probability (l, 1, 0, kind);
      ex->probability = (float) (ctx->negative ? 1.0 - p : p);
    }
  else
    {
      if (opt->negative)
        return gz_error_set (err, GZ_ERR_ARGUMENT,
                             "a negative class exists only for single-output (sigmoid) models");
      int k = opt->class_index;
      if (k < 0)
        {
          GzClassScore best;
          gz_logits_top_k (l, n, 1, kind, &best);
          k = (int) best.index;
        }
      else if (k >= n)
        return gz_error_set (err, GZ_ERR_ARGUMENT,
                             "class %d does not exist: the model has %lld "
                             "classes (0…%lld)",
                             k, (long long) n, (long long) n - 1);
      ctx->class_index = k;
      ctx->negative = false;
      ex->probability = (float) gz_logits_probability (l, n, k, kind);
    }
  ex->class_index = ctx->class_index;
  ex->logit = l[ctx->class_index];
  ctx->score = ctx->negative ? -ex->logit : ex->logit;
  return GZ_OK;
}

/* Upsamples the raw map to the model input, records raw min/max, applies the
 * method's ReLU and normalises. */
static GzStatus
finish_map (GzExplainCtx *ctx, GzExplanation *ex, GzError *err)
{
  const GzTensor *raw = ex->raw;
  if (raw->ndim != 2 || raw->dtype != GZ_DTYPE_FLOAT)
    return gz_error_set (err, GZ_ERR_SHAPE, "the method returned a map of rank %d", raw->ndim);
  if (raw->dims[0] == ctx->input_height && raw->dims[1] == ctx->input_width)
    ex->map = gz_tensor_copy (raw, err);
  else
    ex->map = gz_map_resize (raw, ctx->input_width, ctx->input_height, err);
  if (ex->map == NULL)
    return err != NULL && err->code != GZ_OK ? err->code : GZ_ERR_NOMEM;
  float *m = gz_tensor_f (ex->map);
  int64_t n = gz_tensor_numel (ex->map);
  float lo = FLT_MAX, hi = -FLT_MAX;
  for (int64_t i = 0; i < n; i++)
    {
      if (!isfinite (m[i]))
        m[i] = 0; /* a NaN from a degenerate model must not poison the map */
      if (m[i] < lo)
        lo = m[i];
      if (m[i] > hi)
        hi = m[i];
    }
  ex->raw_min = n > 0 ? lo : 0;
  ex->raw_max = n > 0 ? hi : 0;
  /* Every method ends with a ReLU except the signed pixel maps, which are
   * reduced to magnitudes by their method. */
  for (int64_t i = 0; i < n; i++)
    if (m[i] < 0)
      m[i] = 0;
  gz_explain_normalise (m, n);
  return GZ_OK;
}

GzStatus
gz_explain (GzSession *session, const GzExplainOptions *options, GzExplanation **out, GzError *err)
{
  double t_start = gz_explain_now_ms ();
  if (out != NULL)
    *out = NULL;
  if (session == NULL || out == NULL)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "gz_explain needs a session and an output");
  GzExplainOptions opt = GZ_EXPLAIN_OPTIONS_INIT;
  if (options != NULL)
    opt = *options;
  if ((int) opt.method < 0 || opt.method >= GZ_METHOD_COUNT)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "unknown method %d", (int) opt.method);
  if (opt.smooth_samples < 0 || opt.smooth_samples > 10000)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "SmoothGrad samples must be in 0…10000, not %d",
                         opt.smooth_samples);
  if (!(opt.smooth_sigma >= 0.0f && opt.smooth_sigma <= 10.0f))
    return gz_error_set (err, GZ_ERR_ARGUMENT, "SmoothGrad sigma must be in 0…10");
  if (opt.batch_size < 0 || opt.batch_size > 4096)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "batch size must be in 0…4096, not %d",
                         opt.batch_size);
  if (opt.smooth_samples > 0 && method_runs_forwards (opt.method))
    return gz_error_set (err, GZ_ERR_NOT_APPLICABLE,
                         "SmoothGrad averages gradient methods; %s runs its own forwards",
                         gz_method_name (opt.method));

  GzExplainCtx ctx = { 0 };
  ctx.session = session;
  ctx.model = gz_session_model (session);
  ctx.options = &opt;
  ctx.method = opt.method;
  ctx.progress_base = 0;
  ctx.progress_span = 1;
  ctx.completeness_error = NAN;
  if (ctx.model == NULL)
    return gz_error_set (err, GZ_ERR_ARGUMENT, "the session has no model");

  char reason[400];
  if (!gz_method_applicable (ctx.model, opt.method, opt.layer, reason, sizeof reason))
    return gz_error_set (err, GZ_ERR_NOT_APPLICABLE, "%s is not applicable: %s",
                         gz_method_name (opt.method), reason);
  const char *layer = resolve_layer (ctx.model, opt.layer, reason, sizeof reason);
  if (layer == NULL && !gz_method_is_pixel (opt.method))
    return gz_error_set (err, GZ_ERR_NOT_APPLICABLE, "%s", reason);
  ctx.layer = layer != NULL ? layer : "";
  ctx.layer_value = layer != NULL ? gz_graph_find_value (gz_model_graph (ctx.model), layer) : -1;
  const GzLayerLayout *layout = gz_model_layer_layout (ctx.model, ctx.layer_value);
  if (layout != NULL)
    ctx.layout = *layout;

  const GzTensor *input = gz_session_input (session);
  if (input == NULL)
    return gz_error_set (err, GZ_ERR_ARGUMENT,
                         "the session has no forward pass to explain: call gz_session_forward "
                         "on the image first");
  if (input->ndim != 4 || input->dims[0] != 1)
    return gz_error_set (err, GZ_ERR_SHAPE,
                         "gz_explain explains one image: the input must be "
                         "[1,C,H,W]");
  if (input->dims[2] > INT32_MAX || input->dims[3] > INT32_MAX)
    return gz_error_set (err, GZ_ERR_LIMIT, "input too large");
  ctx.input_height = (int) input->dims[2];
  ctx.input_width = (int) input->dims[3];

  /* Guided methods need every activation (a gradient down to the pixels);
   * the rest the layer, and the gradient methods what a backward pass to it
   * reads. SmoothGrad works on its own scratch session but the target comes
   * from the image's own forward. */
  GzExplainNeed need = gz_method_needs_input_gradient (opt.method)           ? GZ_NEED_ALL
      : method_runs_forwards (opt.method) && gz_method_is_pixel (opt.method) ? GZ_NEED_OUTPUT
      : method_uses_gradient (opt.method)                                    ? GZ_NEED_BACKWARD
                                                                             : GZ_NEED_ACTIVATION;
  GzStatus st = gz_explain_ensure_forward (&ctx, session, need, err);
  if (st != GZ_OK)
    return st;

  GzExplanation *ex = calloc (1, sizeof *ex);
  if (ex == NULL)
    return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
  ex->method = opt.method;
  ex->completeness_error = NAN;
  /* Guided backprop does not use the layer; it still reports the resolved one. */
  snprintf (ex->layer, sizeof ex->layer, "%s", ctx.layer);
  st = choose_target (&ctx, &opt, ex, err);
  if (st != GZ_OK)
    {
      gz_explanation_free (ex);
      return st;
    }

  GzExplainMethodFn fn = method_function (opt.method);
  double t_method = gz_explain_now_ms ();
  double fb_before = ctx.forward_ms + ctx.backward_ms;
  ex->smooth_samples = opt.smooth_samples;
  ex->smooth_sigma = opt.smooth_samples > 0 ? opt.smooth_sigma : 0.0f;
  if (opt.smooth_samples > 0)
    st = gz_explain_smooth (&ctx, fn, &ex->raw, err);
  else
    st = fn (&ctx, session, &ex->raw, err);
  if (st == GZ_OK && ex->raw == NULL)
    st = gz_error_set (err, GZ_ERR_ARGUMENT, "the method produced no map");
  if (st == GZ_OK)
    {
      double fb = ctx.forward_ms + ctx.backward_ms - fb_before;
      ex->method_ms = gz_explain_now_ms () - t_method - fb;
      if (ex->method_ms < 0)
        ex->method_ms = 0;
      st = finish_map (&ctx, ex, err);
    }
  gz_tensor_free (ctx.act_map);
  ctx.act_map = NULL;
  if (st != GZ_OK)
    {
      gz_explanation_free (ex);
      return st;
    }
  if (opt.progress != NULL)
    opt.progress (1.0, opt.progress_data);
  ex->forward_ms = ctx.forward_ms;
  ex->backward_ms = ctx.backward_ms;
  ex->forwards = ctx.forwards;
  ex->completeness_error = ctx.completeness_error;
  ex->total_ms = gz_explain_now_ms () - t_start;
  *out = ex;
  return GZ_OK;
}

GzStatus
gz_explain_act_grad (GzExplainCtx *ctx, GzSession *session, const GzTensor **act, GzTensor **grad,
                     GzTensor **raw, GzError *err)
{
  *grad = NULL;
  *raw = NULL;
  GzStatus st = gz_explain_activation (ctx, session, act, err);
  if (st != GZ_OK)
    return st;
  st = gz_explain_layer_gradient (ctx, session, grad, err);
  if (st != GZ_OK)
    return st;
  const GzTensor *a = *act, *g = *grad;
  for (int i = 0; i < 4; i++)
    if (a->dims[i] != g->dims[i])
      {
        gz_tensor_free (*grad);
        *grad = NULL;
        return gz_error_set (err, GZ_ERR_SHAPE,
                             "the gradient at '%s' does not have the "
                             "activation's shape",
                             ctx->layer);
      }
  *raw = gz_explain_new_map (a->dims[2], a->dims[3], err);
  if (*raw == NULL)
    {
      gz_tensor_free (*grad);
      *grad = NULL;
      return err != NULL ? err->code : GZ_ERR_NOMEM;
    }
  return GZ_OK;
}

void
gz_cam_weighted_sum (int64_t c, int64_t hw, const float *a, const float *w, float *out)
{
  for (int64_t p = 0; p < hw; p++)
    out[p] = 0;
  for (int64_t k = 0; k < c; k++)
    {
      float wk = w[k];
      if (wk == 0)
        continue;
      const float *ak = a + k * hw;
      for (int64_t p = 0; p < hw; p++)
        out[p] += wk * ak[p];
    }
}

GzStatus
gz_explain_weighted_cam (GzExplainCtx *ctx, GzSession *session, GzCamWeightsFn fn, GzTensor **raw,
                         GzError *err)
{
  const GzTensor *a;
  GzTensor *g, *map;
  GzStatus st = gz_explain_act_grad (ctx, session, &a, &g, &map, err);
  if (st != GZ_OK)
    return st;
  int64_t c = a->dims[1], hw = a->dims[2] * a->dims[3];
  float *w = malloc ((size_t) c * sizeof *w);
  if (w == NULL)
    {
      gz_tensor_free (g);
      gz_tensor_free (map);
      return gz_error_set (err, GZ_ERR_NOMEM, "out of memory");
    }
  fn (c, hw, gz_tensor_f (a), gz_tensor_f (g), w);
  gz_cam_weighted_sum (c, hw, gz_tensor_f (a), w, gz_tensor_f (map));
  free (w);
  gz_tensor_free (g);
  *raw = map;
  return GZ_OK;
}

GzStatus
gz_explain_input_gradient (GzExplainCtx *ctx, GzSession *session, GzTensor **grad, GzError *err)
{
  GzTensor *go = gz_explain_grad_output (ctx, 1, err);
  if (go == NULL)
    return err != NULL ? err->code : GZ_ERR_NOMEM;
  double t0 = gz_explain_now_ms ();
  GzStatus st = gz_session_backward (session, go, NULL, GZ_RELU_GRADIENT, grad, err);
  ctx->backward_ms += gz_explain_now_ms () - t0;
  gz_tensor_free (go);
  if (st != GZ_OK)
    return st;
  const GzTensor *g = *grad;
  if (g->ndim != 4 || g->dims[0] != 1 || g->dims[2] != ctx->input_height
      || g->dims[3] != ctx->input_width || g->dtype != GZ_DTYPE_FLOAT)
    {
      gz_tensor_free (*grad);
      *grad = NULL;
      return gz_error_set (err, GZ_ERR_SHAPE, "the input gradient is not [1,C,H,W]");
    }
  return GZ_OK;
}
