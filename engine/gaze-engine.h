/* gaze-engine.h — the public API of Gaze's CNN engine
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Usage, from image to heatmap:
 *
 *   GzError err = {0};
 *   GzModel *model;
 *   if (gz_model_load ("net.onnx", NULL, &model, &err) != GZ_OK)
 *     fprintf (stderr, "%s\n", err.message);
 *
 *   GzPreprocess pp;                       // from defaults, sidecar or flags
 *   gz_preprocess_defaults (model, &pp);
 *   GzTensor *input; GzGeometry geom;
 *   gz_preprocess_image (&image, &pp, &input, &geom, &err);
 *
 *   GzSession *s;
 *   gz_session_new (model, &s, &err);
 *   gz_session_forward (s, input, NULL, &err);   // logits: gz_session_output (s)
 *
 *   GzExplainOptions opt = GZ_EXPLAIN_OPTIONS_INIT;   // Grad-CAM, top-1, auto layer
 *   GzExplanation *ex;
 *   gz_explain (s, &opt, &ex, &err);
 *   // ex->map: [H,W] normalised at model input resolution; ex->raw: at layer resolution
 *   GzTensor *on_image = gz_map_project (ex->map, &geom, NULL);  // original image size
 *
 * Conventions: every fallible call returns a GzStatus and fills the caller's
 * GzError; nothing aborts on bad input. The model is immutable after load and
 * may be shared between threads; a session belongs to one thread at a time.
 * Tensors are float32 (or int64 for shape data), C order, NCHW.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

  /* ---- Errors ------------------------------------------------------------ */

  typedef enum
  {
    GZ_OK = 0,
    GZ_ERR_IO, /* file missing, unreadable, unwritable */
    GZ_ERR_FORMAT, /* not an ONNX/npy/JSON file, truncated, malformed */
    GZ_ERR_UNSUPPORTED, /* operator, data type or attribute not supported */
    GZ_ERR_SHAPE, /* inconsistent shapes */
    GZ_ERR_LIMIT, /* a resource limit would be exceeded */
    GZ_ERR_NOMEM,
    GZ_ERR_ARGUMENT, /* the caller asked for something impossible */
    GZ_ERR_NOT_APPLICABLE, /* e.g. CAM on a model without a GAP+linear head */
    GZ_ERR_CANCELLED,
  } GzStatus;

  typedef struct
  {
    GzStatus code;
    char message[512];
  } GzError;

  /* Sets err (if not NULL) and returns code. printf-style. */
  GzStatus gz_error_set (GzError *err, GzStatus code, const char *fmt, ...)
      __attribute__ ((format (printf, 3, 4)));
  const char *gz_status_name (GzStatus code);

  /* Progress and cancellation for long calls: return false to stop the work,
   * which then returns GZ_ERR_CANCELLED. fraction is in [0,1]. */
  typedef bool (*GzProgressFn) (double fraction, void *user_data);

  /* ---- Tensors ----------------------------------------------------------- */

#define GZ_MAX_DIMS 8

  typedef enum
  {
    GZ_DTYPE_FLOAT = 1, /* ONNX TensorProto.FLOAT */
    GZ_DTYPE_INT64 = 7, /* ONNX TensorProto.INT64 */
  } GzDType;

  typedef struct
  {
    GzDType dtype;
    int ndim;
    int64_t dims[GZ_MAX_DIMS];
    void *data; /* float * or int64_t *, C order */
    bool owns_data; /* gz_tensor_free frees data */
  } GzTensor;

  /* Allocates a zero-filled tensor. Fails with GZ_ERR_LIMIT on overflow. */
  GzTensor *gz_tensor_new (GzDType dtype, int ndim, const int64_t *dims, GzError *err);
  GzTensor *gz_tensor_copy (const GzTensor *t, GzError *err);
  void gz_tensor_free (GzTensor *t);
  int64_t gz_tensor_numel (const GzTensor *t);
  size_t gz_dtype_size (GzDType dtype);
  static inline float *gz_tensor_f (const GzTensor *t)
  {
    return (float *) t->data;
  }

  /* NumPy .npy v1.0 (and reads v2.0), little-endian float32 (int64 read too), C order.
   * Writing is atomic: a temporary file in the same folder, then rename. */
  GzStatus gz_npy_read (const char *path, GzTensor **out, GzError *err);
  GzStatus gz_npy_read_mem (const void *bytes, size_t len, GzTensor **out, GzError *err);
  GzStatus gz_npy_write (const char *path, const GzTensor *t, GzError *err);

  /* ---- Ranking classes --------------------------------------------------- */

  /* What the model's output head turns its logits into (see gz_model_output_kind).
   * The engine always hands out the PRE-activation logits (gz_session_output);
   * the kind says how probabilities are computed from them. */
  typedef enum
  {
    GZ_OUTPUT_LOGITS, /* raw scores: softmax (a single output: sigmoid) */
    GZ_OUTPUT_SOFTMAX, /* the graph ended in Softmax: softmax of the logits */
    GZ_OUTPUT_LOG_SOFTMAX, /* ended in LogSoftmax: exp(log-softmax) = softmax */
    GZ_OUTPUT_SIGMOID, /* ended in Sigmoid: each class its own sigmoid (multi-label) */
    GZ_OUTPUT_KIND_COUNT
  } GzOutputKind;

  /* "logits", "softmax", "log-softmax", "sigmoid". */
  const char *gz_output_kind_name (GzOutputKind kind);
  /* Also accepts "multilabel" and "binary" for GZ_OUTPUT_SIGMOID. */
  bool gz_output_kind_from_name (const char *name, GzOutputKind *kind);
  /* The JSON/UI description of a head over n outputs: "logits", "softmax",
   * "log-softmax", "multilabel" (sigmoid, n > 1) or "binary" (sigmoid, n == 1). */
  const char *gz_output_kind_describe (GzOutputKind kind, int64_t n);

  typedef struct
  {
    int64_t index; /* the class */
    float logit; /* pre-activation */
    double probability; /* by the output kind: softmax over all the logits, or the
                         * class's own sigmoid (multi-label, or a single output) */
  } GzClassScore;

  /* The probability of class `index` among n logits of one image. Softmax
   * kinds: the softmax, computed in double after shifting by the largest
   * logit; for a single output (n == 1), the sigmoid of it (index 0).
   * GZ_OUTPUT_SIGMOID: the sigmoid of logits[index]. NaN when index is out of
   * range. */
  double gz_logits_probability (const float *logits, int64_t n, int64_t index, GzOutputKind kind);
  /* Writes the min(k, n) best classes to out, highest logit first, equal
   * logits by lower index, NaN logits last; returns how many (0 when n or k
   * is below 1). A single output is ranked alone with its sigmoid. The
   * ranking is the same for every kind (all are monotonic in the logit). */
  int gz_logits_top_k (const float *logits, int64_t n, int k, GzOutputKind kind, GzClassScore *out);

  /* ---- Limits ------------------------------------------------------------ */

  typedef struct
  {
    int64_t max_file_bytes; /* model file size */
    int64_t max_tensor_elements; /* any single tensor */
    int64_t max_nodes; /* graph size */
    int64_t max_activation_bytes; /* estimated activation memory of one forward */
    int64_t max_image_pixels; /* decoded image width * height */
  } GzLimits;

  /* Defaults: 2 GiB file, 2^31 elements, 100000 nodes, 4 GiB activations,
   * 100 Mpixel images; then the environment variable GAZE_LIMITS (same syntax
   * as gz_limits_parse; a malformed value is ignored with a warning on stderr). */
  void gz_limits_default (GzLimits *limits);
  /* Applies "KEY=VALUE,…" over limits. Keys: file-bytes, tensor-elements, nodes,
   * activation-bytes, image-pixels; values are positive integers with an optional
   * K, M, G or T suffix (powers of 1024), or "unlimited". */
  GzStatus gz_limits_parse (const char *spec, GzLimits *limits, GzError *err);
  /* The key of the limit that a GZ_ERR_LIMIT message names ("… above the
   * nodes limit of …"), or NULL: a front end says how to raise it. Works on
   * any message that embeds the engine's (a GError's, prefixed with a path). */
  const char *gz_limits_key_in (const char *message);

  /* ---- Threads ----------------------------------------------------------- */

  /* The one place that sets the engine's thread count (BLAS and split loops). */
  void gz_set_threads (int n);
  int gz_get_threads (void);

  /* ---- Model ------------------------------------------------------------- */

  typedef struct GzModel GzModel;

  GzStatus gz_model_load (const char *path, const GzLimits *limits, GzModel **out, GzError *err);
  GzStatus gz_model_load_mem (const void *bytes, size_t len, const char *base_dir,
                              const GzLimits *limits, GzModel **out, GzError *err);
  void gz_model_free (GzModel *model);

  /* PyTorch weights (issue 20): gz_model_load and gz_model_load_mem also open
   * torch.save files (.pth, .pt, .ckpt) and .safetensors of torchvision
   * architectures, recognised from the tensor names and shapes; nothing in
   * the file is run. The length of the model file extension `name` ends with
   * (".onnx", ".pth", ".pt", ".ckpt", ".safetensors"), 0 when none. */
  size_t gz_model_file_suffix (const char *name);
  /* gz_model_load with a weights file's architecture named ("resnet50", as a
   * sidecar's "architecture" says); NULL: recognised. Ignored for ONNX. */
  GzStatus gz_model_load_arch (const char *path, const char *architecture, const GzLimits *limits,
                               GzModel **out, GzError *err);

  typedef struct
  {
    const char *name;
    int ndim;
    int64_t dims[GZ_MAX_DIMS]; /* -1 where symbolic (e.g. batch) */
  } GzValueInfo;

  const GzValueInfo *gz_model_input (const GzModel *model); /* the image input */
  const GzValueInfo *gz_model_output (const GzModel *model); /* the logits */
  /* ---- Output head ----
   * At load, a graph whose output is made by Sigmoid, Softmax or LogSoftmax
   * (over all the classes), possibly behind Flatten / Reshape / Squeeze /
   * Identity / Dropout, has that activation replaced by Identity: the output is
   * then the pre-activation logits, which every explanation scores, and the
   * detected kind says how to turn them into probabilities. */
  GzOutputKind gz_model_output_kind (const GzModel *model);
  /* The activation found at load ("Sigmoid", "Softmax", "LogSoftmax") or NULL. */
  const char *gz_model_output_head (const GzModel *model);
  /* Overrides the kind (a sidecar's "output"). GZ_OUTPUT_LOGITS puts a
   * detected activation back (the graph's output is then taken as-is); any
   * other kind keeps it removed. Call before creating sessions on the model. */
  void gz_model_set_output_kind (GzModel *model, GzOutputKind kind);
  /* ---- Input layout (issue 19) ----
   * Keras/TensorFlow exports take channels-last images [N,H,W,C]. At load, a
   * 4-D input whose last dimension is 1 or 3 while its second is neither, and
   * that only Transposes to NCHW (perm 0,3,1,2) read, as in every such export,
   * is taken as NHWC: the engine then puts a Transpose in front of the graph, so
   * that gz_model_input, preprocessing, sessions and explanations all see an
   * NCHW input [N,C,H,W] as for any other model (gradients with respect to
   * the input, Score-CAM masks and maps included). */
  typedef enum
  {
    GZ_INPUT_NCHW,
    GZ_INPUT_NHWC,
  } GzInputLayout;

  /* "nchw", "nhwc". */
  const char *gz_input_layout_name (GzInputLayout layout);
  bool gz_input_layout_from_name (const char *name, GzInputLayout *layout);
  /* The layout of the file's input (detected at load or set below). */
  GzInputLayout gz_model_input_layout (const GzModel *model);
  /* Overrides the detection (a sidecar's "layout"); call before creating
   * sessions. Fails (model unchanged) when the input is not 4-D or the new
   * shape cannot be planned. */
  GzStatus gz_model_set_input_layout (GzModel *model, GzInputLayout layout, GzError *err);
  /* ---- Symbolic input size (issue 19) ----
   * A model whose input height or width is symbolic (dynamic axes; fully
   * convolutional classifiers) is planned at one concrete size: 224×224 at
   * load, or the size given here. gz_model_input then shows that size. */
  bool gz_model_input_size_symbolic (const GzModel *model);
  /* Plans the model at height × width (NCHW dims 2 and 3); call before creating
   * sessions. A model with a fixed size accepts only that size. Fails (model
   * unchanged) when the size cannot be planned. */
  GzStatus gz_model_set_input_size (GzModel *model, int height, int width, GzError *err);
  int64_t gz_model_opset (const GzModel *model);
  int64_t gz_model_parameter_count (const GzModel *model);
  const char *gz_model_producer (const GzModel *model);

  /* Nodes in topological order, with output shapes inferred for batch 1. */
  typedef struct
  {
    const char *name; /* node name (may be empty in the file; then generated) */
    const char *op_type;
    const char *output; /* first output's name */
    int ndim;
    int64_t dims[GZ_MAX_DIMS];
    /* The [C,h,w] map an explanation reads from the output (a layer's
     * tokens or channels-last tensor rearranged); zeros when it has none. */
    int64_t map[3];
  } GzNodeInfo;

  int gz_model_node_count (const GzModel *model);
  const GzNodeInfo *gz_model_node (const GzModel *model, int index);

  /* Layers an explanation can use: every tensor produced by a node that reads
   * as a [C,h,w] map (GzNodeInfo.map): [1,C,H,W], transformer tokens
   * [1,P+h·w,C], channels-last [1,H,W,C]. */
  int gz_model_layer_count (const GzModel *model);
  const GzNodeInfo *gz_model_layer (const GzModel *model, int index);
  /* The last map with h*w > 1 before the classifier head (for a ViT the
   * output of the first norm of the last block that still mixes the patch
   * tokens; for Swin the output before the final norm); NULL if none. */
  const char *gz_model_default_layer (const GzModel *model);

  /* ---- Preprocessing ----------------------------------------------------- */

  typedef enum
  {
    GZ_RESIZE_CROP, /* resize shorter side to `resize`, centre-crop to the input size */
    GZ_RESIZE_STRETCH, /* resize the whole image to the input size */
  } GzResizeMode;

  /* Whose resampler to reproduce (both antialias when shrinking). */
  typedef enum
  {
    GZ_RESIZE_BACKEND_PIL, /* Pillow's Image.resize on 8-bit pixels (transforms.Resize on a PIL
                              image) */
    GZ_RESIZE_BACKEND_TENSOR, /* torchvision Resize(antialias=True) on a float tensor */
  } GzResizeBackend;

  typedef enum
  {
    GZ_RESIZE_BILINEAR, /* triangle kernel */
    GZ_RESIZE_BICUBIC, /* Keys' cubic, a = -0.5 */
  } GzResizeFilter;

  typedef struct
  {
    GzResizeMode mode;
    int resize; /* shorter side after resizing (GZ_RESIZE_CROP) */
    int crop_width; /* model input width and height */
    int crop_height;
    int channels; /* 3 (RGB) or 1 (gray) */
    float mean[3]; /* 0..1 pixel units, torchvision convention */
    float std[3];
    GzResizeBackend backend; /* default GZ_RESIZE_BACKEND_PIL */
    GzResizeFilter filter; /* default GZ_RESIZE_BILINEAR */
    /* Keras/TensorFlow conventions (issue 19). bgr: the model reads its
     * channels in B, G, R order (mean and std are then in that order too).
     * scale 0: the torchvision convention above, value = (x/255 - mean) / std
     * for 8-bit x. scale > 0: mean is in 8-bit pixel units and
     * value = (x - mean) * scale / std ("tf": mean 127.5, scale 1/127.5, std 1;
     * "caffe": bgr, mean 103.939, 116.779, 123.68, scale 1, std 1). */
    bool bgr;
    float scale;
  } GzPreprocess;

  /* An 8-bit image, already EXIF-oriented, alpha composited: RGB (channels 3)
   * or gray (channels 1); rows `stride` bytes apart. */
  typedef struct
  {
    int width;
    int height;
    int channels;
    int stride;
    const uint8_t *pixels;
  } GzImage;

  /* How model input pixels map back onto the original image:
   * image_x = input_x * scale_x + offset_x (continuous coordinates, pixel edges at
   * integers), likewise for y. The input covers the image rectangle
   * [offset_x, offset_x + input_width*scale_x) × …; the rest was never seen. */
  typedef struct
  {
    int image_width, image_height;
    int input_width, input_height;
    double scale_x, scale_y;
    double offset_x, offset_y;
  } GzGeometry;

  /* ImageNet mean/std; resize 256 + crop 224 for 224 inputs, scaled for others. */
  void gz_preprocess_defaults (const GzModel *model, GzPreprocess *pp);
  /* [1,C,H,W] float tensor (NCHW whatever the model's input layout: the engine
   * transposes for channels-last models, see gz_model_input_layout). */
  GzStatus gz_preprocess_image (const GzImage *image, const GzPreprocess *pp, GzTensor **out,
                                GzGeometry *geometry, GzError *err);
  /* The RGB8 image after resize+crop, before scaling and normalisation ([1,C,H,W]
   * floats in 0..255): for tests against torchvision. */
  GzStatus gz_preprocess_pixels (const GzImage *image, const GzPreprocess *pp, GzTensor **out,
                                 GzGeometry *geometry, GzError *err);

  /* ---- Session: forward -------------------------------------------------- */

  typedef struct GzSession GzSession;

  GzStatus gz_session_new (const GzModel *model, GzSession **out, GzError *err);
  void gz_session_free (GzSession *session);
  const GzModel *gz_session_model (const GzSession *session);

  /* Runs the forward pass on input [N,C,H,W]. keep_layer (NULL: none) names a
   * tensor whose value, and everything needed for a backward pass from the output
   * to it, stays available after the run. Use "*" to keep every activation
   * (needed for gradients with respect to the input). */
  GzStatus gz_session_forward (GzSession *session, const GzTensor *input, const char *keep_layer,
                               GzError *err);
  /* The model output (logits [N,K]) of the last forward. */
  const GzTensor *gz_session_output (const GzSession *session);
  /* A kept tensor from the last forward, or NULL. */
  const GzTensor *gz_session_value (const GzSession *session, const char *name);

  /* Backward from the output: d(sum_k grad_output[n,k] * logits[n,k]) / d(wrt).
   * wrt is a kept layer name, or NULL for the model input (needs keep "*").
   * relu_mode selects the guided-backprop rule through ReLUs. */
  typedef enum
  {
    GZ_RELU_GRADIENT, /* the true gradient */
    GZ_RELU_GUIDED, /* Springenberg et al.: also zero negative gradients */
  } GzReluMode;

  GzStatus gz_session_backward (GzSession *session, const GzTensor *grad_output, const char *wrt,
                                GzReluMode relu_mode, GzTensor **grad, GzError *err);

  /* ---- Explanations ------------------------------------------------------ */

  typedef enum
  {
    GZ_METHOD_CAM,
    GZ_METHOD_GRADCAM,
    GZ_METHOD_GRADCAM_PP,
    GZ_METHOD_XGRADCAM,
    GZ_METHOD_HIRESCAM,
    GZ_METHOD_LAYERCAM,
    GZ_METHOD_EIGENCAM,
    GZ_METHOD_SCORECAM,
    GZ_METHOD_ABLATIONCAM,
    GZ_METHOD_GUIDED_BACKPROP,
    GZ_METHOD_GUIDED_GRADCAM,
    GZ_METHOD_EIGENGRADCAM,
    GZ_METHOD_GRADCAM_ELEMENTWISE,
    GZ_METHOD_SALIENCY,
    GZ_METHOD_INPUTXGRAD,
    GZ_METHOD_INTEGRATED_GRADIENTS,
    GZ_METHOD_OCCLUSION,
    GZ_METHOD_COUNT
  } GzMethod;

  /* CLI names: cam, gradcam, gradcam++, xgradcam, hirescam, layercam, eigencam,
   * scorecam, ablationcam, guided-backprop, guided-gradcam, eigengradcam,
   * gradcam-elementwise, saliency, inputxgrad, integrated-gradients, occlusion. */
  const char *gz_method_name (GzMethod method);
  bool gz_method_from_name (const char *name, GzMethod *method);
  /* Whether the method applies to this model and layer; if not, why. */
  bool gz_method_applicable (const GzModel *model, GzMethod method, const char *layer, char *reason,
                             size_t reason_len);
  /* Whether the method takes the gradient down to the input pixels, so the
   * forward it explains should keep every activation ("*"). */
  bool gz_method_needs_input_gradient (GzMethod method);
  /* Whether the method ignores the layer (pixel maps at input resolution). */
  bool gz_method_is_pixel (GzMethod method);

  typedef struct
  {
    GzMethod method;
    int class_index; /* -1: the top-1 class */
    bool negative; /* single-output (sigmoid) models: explain the negative class */
    const char *layer; /* NULL or "auto": gz_model_default_layer */
    int smooth_samples; /* SmoothGrad: average over N noisy copies (0: off) */
    float smooth_sigma; /* noise std as a fraction of the input's range (default 0.15) */
    int batch_size; /* Score-CAM / Ablation-CAM forwards per batch (0: automatic) */
    GzProgressFn progress;
    void *progress_data;
    /* Occlusion: the occluded square's side and its step, in input pixels
     * (0: the defaults, 32 and 16). */
    int occlusion_window;
    int occlusion_stride;
  } GzExplainOptions;

#define GZ_EXPLAIN_OPTIONS_INIT                                 \
  {                                                             \
    GZ_METHOD_GRADCAM, -1, false, NULL, 0, 0.15f, 0, NULL, NULL \
  }

  typedef struct
  {
    GzMethod method;
    int class_index;
    float logit; /* the explained score: the pre-activation logit */
    float probability; /* by the model's output kind (gz_logits_probability) */
    char layer[256];
    GzTensor *raw; /* [h,w] at layer resolution, before ReLU and normalisation */
    GzTensor *map; /* [H,W] at model input resolution, ReLU'd, normalised to [0,1] */
    float raw_min, raw_max; /* of the upsampled map before normalisation */
    double forward_ms, backward_ms, method_ms, total_ms;
    /* Forward passes of other images the method ran: Score-CAM's masked inputs
     * (0 when a class switch reused them). */
    int64_t forwards;
    /* SmoothGrad as applied: copies averaged (0: none) and the noise level. */
    int smooth_samples;
    float smooth_sigma;
    /* Integrated Gradients: Σ attributions − (f(x) − f(baseline)), the
     * completeness axiom's error of the Riemann sum (NaN for other methods). */
    double completeness_error;
  } GzExplanation;

  /* Needs a prior gz_session_forward on the image (keep the layer, or "*" for
   * guided methods; gz_explain re-runs the forward itself if what it needs is
   * not kept). Changing class reuses the forward: one backward pass. */
  GzStatus gz_explain (GzSession *session, const GzExplainOptions *options, GzExplanation **out,
                       GzError *err);
  void gz_explanation_free (GzExplanation *ex);

  /* ---- Maps: resampling, projection, colour ------------------------------ */

  /* Bilinear, half-pixel centres: torch interpolate(mode="bilinear", align_corners=False). */
  GzTensor *gz_map_resize (const GzTensor *map, int width, int height, GzError *err);
  /* Projects a map at input resolution onto the original image; pixels the model
   * never saw get NaN ("no data"). */
  GzTensor *gz_map_project (const GzTensor *map, const GzGeometry *geometry, GzError *err);

  typedef enum
  {
    GZ_COLORMAP_JET,
    GZ_COLORMAP_TURBO,
    GZ_COLORMAP_VIRIDIS,
    GZ_COLORMAP_INFERNO,
    GZ_COLORMAP_GRAY,
    GZ_COLORMAP_COUNT
  } GzColormap;

  const char *gz_colormap_name (GzColormap cmap);
  bool gz_colormap_from_name (const char *name, GzColormap *cmap);
  /* value in [0,1] -> RGB8 */
  void gz_colormap_lookup (GzColormap cmap, float value, uint8_t rgb[3]);

  /* Blends the coloured map over an RGB8 image in place (the map has the image's
   * size): out = (1-alpha)·image + alpha·colour(map) where map >= threshold;
   * below the threshold the image is left alone. NaN ("no data") pixels are
   * darkened and hatched so the unanalysed part is visible. */
  void gz_overlay_compose (uint8_t *rgb, int width, int height, int stride, const GzTensor *map,
                           GzColormap cmap, float alpha, float threshold);

#ifdef __cplusplus
}
#endif
