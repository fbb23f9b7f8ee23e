# cams.py — PyTorch reference implementations of the CAM family, Guided
# Backprop and Guided Grad-CAM, written with forward/backward hooks, following
# tests/reference/CONVENTIONS.md (the contract Gaze's engine implements).
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Every method returns its RAW map R (at layer resolution, or at input
# resolution for the guided methods); finish() applies Gaze's pipeline:
# upsample the raw map (bilinear, align_corners=False) -> ReLU -> per-image
# min-max normalisation with eps = 1e-8.

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-8

METHODS = ["cam", "gradcam", "gradcam++", "xgradcam", "hirescam", "layercam",
           "eigencam", "scorecam", "ablationcam", "guided-backprop", "guided-gradcam",
           "eigengradcam", "gradcam-elementwise", "saliency", "inputxgrad",
           "integrated-gradients", "occlusion"]
GRADIENT_METHODS = ["gradcam", "gradcam++", "xgradcam", "hirescam", "layercam"]
# Pixel maps at input resolution that do not read the layer.
LAYERLESS = ["guided-backprop", "saliency", "inputxgrad", "integrated-gradients", "occlusion"]
# The many-forward pixel methods (CI time: TinyNet and one photo of the real model).
PERTURBATION_PIXEL = ["integrated-gradients", "occlusion"]
IG_STEPS = 50
OCCLUSION_WINDOW = 32
OCCLUSION_STRIDE = 16


# ---- the pipeline shared by all methods ----------------------------------

def upsample(raw, size):
    """[h,w] -> [H,W], bilinear with half-pixel centres (torch's align_corners=False)."""
    return F.interpolate(raw[None, None], size=size, mode="bilinear",
                         align_corners=False)[0, 0]


def normalise(m):
    """(m - min) / (max - min + eps): a flat map gives zeros, never NaN."""
    return (m - m.min()) / (m.max() - m.min() + EPS)


def finish(raw, size):
    """Gaze's order: upsample the RAW map, then ReLU, then normalise."""
    if tuple(raw.shape) != tuple(size):
        up = upsample(raw, size)
    else:
        up = raw
    return normalise(torch.clamp(up, min=0))


# ---- capturing a layer with hooks ----------------------------------------

class LayerProbe:
    """Forward hook on `module` keeps its output A; a tensor (backward) hook on
    A keeps dy/dA. Optionally replaces the output (ablation)."""

    def __init__(self, module):
        self.A = None
        self.G = None
        self.replace = None
        self._h = module.register_forward_hook(self._forward)

    def _forward(self, module, inputs, output):
        if self.replace is not None:
            output = self.replace(output)
        self.A = output
        if output.requires_grad:
            output.register_hook(self._backward)
        return output if self.replace is not None else None

    def _backward(self, grad):
        self.G = grad.detach().clone()

    def remove(self):
        self._h.remove()


class DenseNetFinalReLU(nn.Module):
    """torchvision DenseNet's forward (features -> F.relu -> GAP -> flatten ->
    classifier) with the final ReLU as a module so a hook can reach it."""

    def __init__(self, densenet):
        super().__init__()
        self.features = densenet.features
        self.final_relu = nn.ReLU()
        self.classifier = densenet.classifier

    def forward(self, x):
        out = self.final_relu(self.features(x))
        out = torch.flatten(F.adaptive_avg_pool2d(out, (1, 1)), 1)
        return self.classifier(out)


def resolve_layer(model, module_path, rule="scope"):
    """Returns (model to run, module to hook). rule "relu_after" = the ReLU
    torchvision's DenseNet applies after features.norm5."""
    if rule == "relu_after":
        wrapped = DenseNetFinalReLU(model)
        return wrapped, wrapped.final_relu
    return model, model.get_submodule(module_path)


def linear_after_gap(model):
    """The (weight, bias) of the single linear layer after global average
    pooling, for the torchvision classifiers used here (Swin's is `head`) and
    TinyNet."""
    for attr in ("fc", "classifier", "head"):
        head = getattr(model, attr, None)
        if isinstance(head, nn.Linear):
            return head.weight
        if isinstance(head, nn.Sequential):
            lins = [m for m in head if isinstance(m, nn.Linear)]
            if len(lins) == 1:
                return lins[0].weight
    raise ValueError("no single linear layer after global pooling")


# ---- one forward + backward gives every gradient method --------------------

class Capture:
    """Activations, gradient, logits and target of one forward/backward."""

    def __init__(self, model, module_path, x, target=None, rule="scope"):
        run, module = resolve_layer(model, module_path, rule)
        probe = LayerProbe(module)
        try:
            x = x.detach().clone().requires_grad_(False)
            with torch.enable_grad():
                logits = run(x)
                c = int(torch.argmax(logits[0])) if target is None else int(target)
                score = logits[0, c]
                run.zero_grad(set_to_none=True)
                score.backward()
        finally:
            probe.remove()
        self.model, self.run, self.module = model, run, module
        self.module_path, self.rule = module_path, rule
        self.x = x
        self.logits = logits.detach()[0]
        self.target = c
        self.score = float(self.logits[c])
        self.A = probe.A.detach()[0].clone()
        self.G = probe.G[0]
        self.size = tuple(x.shape[-2:])


def raw_cam(cap):
    """Zhou et al. 2016: R = sum_k w_ck A^k (no bias)."""
    W = linear_after_gap(cap.model).detach().to(cap.A.dtype)
    return torch.einsum("k,khw->hw", W[cap.target], cap.A)


def raw_gradcam(cap):
    """Selvaraju et al. 2017: alpha_k = mean_ij G^k_ij; R = sum_k alpha_k A^k."""
    alpha = cap.G.mean(dim=(1, 2))
    return torch.einsum("k,khw->hw", alpha, cap.A)


def raw_gradcampp(cap):
    """Chattopadhay et al. 2018, closed form with the exponential of the
    score: a_ij = G^2 / (2 G^2 + S_k G^3), S_k = sum_ab A^k_ab, a = 0 where the
    denominator is 0; w_k = sum_ij a_ij relu(G_ij); R = sum_k w_k A^k."""
    G, A = cap.G, cap.A
    S = A.sum(dim=(1, 2), keepdim=True)
    g2 = G * G
    den = 2 * g2 + S * g2 * G
    a = torch.where(den != 0, g2 / torch.where(den != 0, den, torch.ones_like(den)),
                    torch.zeros_like(den))
    w = (a * torch.clamp(G, min=0)).sum(dim=(1, 2))
    return torch.einsum("k,khw->hw", w, A)


def raw_xgradcam(cap):
    """Fu et al. 2020: alpha_k = sum_ij (A^k_ij / S_k) G^k_ij, 0 where S_k = 0."""
    G, A = cap.G, cap.A
    S = A.sum(dim=(1, 2))
    num = (A * G).sum(dim=(1, 2))
    alpha = torch.where(S != 0, num / torch.where(S != 0, S, torch.ones_like(S)),
                        torch.zeros_like(S))
    return torch.einsum("k,khw->hw", alpha, A)


def raw_hirescam(cap):
    """Draelos & Carin 2020: R = sum_k G^k * A^k (element-wise)."""
    return (cap.G * cap.A).sum(dim=0)


def raw_layercam(cap):
    """Jiang et al. 2021: R = sum_k relu(G^k) * A^k."""
    return (torch.clamp(cap.G, min=0) * cap.A).sum(dim=0)


def raw_eigencam(cap):
    """Muhammad & Yeasin 2020: projection of the activations, centred per
    channel over positions, on the first principal component v (first right
    singular vector). Sign fixed so that sum_k v_k >= 0."""
    return _projection(cap.A)


def _projection(M):
    """Eigen-CAM's projection of a [C,h,w] map on the first principal
    component of its positions (centred per channel), sign sum_k v_k >= 0."""
    C, h, w = M.shape
    X = M.reshape(C, h * w).T.to(torch.float64)
    X = X - X.mean(dim=0, keepdim=True)
    _, _, Vh = torch.linalg.svd(X, full_matrices=False)
    v = Vh[0]
    if v.sum() < 0:
        v = -v
    return (X @ v).reshape(h, w).to(M.dtype)


def raw_eigengradcam(cap):
    """pytorch-grad-cam's EigenGradCAM: Eigen-CAM's projection of A * G."""
    return _projection(cap.A * cap.G)


def raw_gradcam_elementwise(cap):
    """pytorch-grad-cam's GradCAMElementWise: R = sum_k relu(G^k * A^k)."""
    return torch.clamp(cap.G * cap.A, min=0).sum(dim=0)


def input_gradient(model, x, target):
    """d logit_c / d x with the true gradient everywhere, [3,H,W]."""
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        model(x)[0, target].backward()
    return x.grad[0].detach()


def raw_saliency(model, x, target):
    """Simonyan et al. 2014: R = max over colour channels of |dy/dx|."""
    return input_gradient(model, x, target).abs().amax(dim=0)


def raw_inputxgrad(model, x, target):
    """Shrikumar et al. 2016 / Captum InputXGradient: R = sum_ch x * dy/dx."""
    return (x[0] * input_gradient(model, x, target)).sum(dim=0)


def integrated_gradients(model, x, target, steps=IG_STEPS, batch=10):
    """Sundararajan et al. 2017 with baseline 0 and the trapezoid rule on
    alpha_k = k/(steps-1) (Captum's riemann_trapezoid): returns (R = sum over
    channels of the attributions, completeness error sum IG - (f(x) - f(0)))."""
    alphas = torch.linspace(0, 1, steps, dtype=x.dtype)
    weights = torch.full((steps,), 1.0 / (steps - 1), dtype=x.dtype)
    weights[0] = weights[-1] = 0.5 / (steps - 1)
    total = torch.zeros_like(x[0])
    scores = []
    for s in range(0, steps, batch):
        a = alphas[s:s + batch]
        xs = (a[:, None, None, None] * x).detach().requires_grad_(True)
        with torch.enable_grad():
            out = model(xs)[:, target]
            out.sum().backward()
        total += (weights[s:s + batch, None, None, None] * xs.grad).sum(dim=0)
        scores.append(out.detach())
    scores = torch.cat(scores)
    attr = x[0] * total
    err = float(attr.sum() - (scores[-1] - scores[0]))
    return attr.sum(dim=0), err


def raw_integrated_gradients(model, x, target):
    return integrated_gradients(model, x, target)[0]


def raw_occlusion(model, x, target, window=OCCLUSION_WINDOW, stride=OCCLUSION_STRIDE,
                  batch=32):
    """Zeiler & Fergus 2014 as Captum's Occlusion: a window x window square of
    every channel set to 0 at offsets 0, stride, ... while it fits; each pixel
    gets the mean drop of the logit over the windows covering it (0 if none)."""
    H, W = x.shape[-2:]
    wy, wx = min(window, H), min(window, W)
    sy, sx = min(stride, H), min(stride, W)
    ny, nx = (H - wy) // sy + 1, (W - wx) // sx + 1
    offsets = [(i * sy, j * sx) for i in range(ny) for j in range(nx)]
    with torch.no_grad():
        y = model(x)[0, target]
        total = torch.zeros((H, W), dtype=x.dtype)
        count = torch.zeros((H, W), dtype=x.dtype)
        for s in range(0, len(offsets), batch):
            chunk = offsets[s:s + batch]
            xs = x.repeat(len(chunk), 1, 1, 1)
            for i, (y0, x0) in enumerate(chunk):
                xs[i, :, y0:y0 + wy, x0:x0 + wx] = 0
            drop = y - model(xs)[:, target]
            for i, (y0, x0) in enumerate(chunk):
                total[y0:y0 + wy, x0:x0 + wx] += drop[i]
                count[y0:y0 + wy, x0:x0 + wx] += 1
    return torch.where(count > 0, total / torch.clamp(count, min=1), torch.zeros_like(total))


def raw_scorecam(cap, batch=32):
    """Wang et al. 2020: H_k = normalise(up(A^k)) (eps 1e-8), w_k =
    softmax(f(x * H_k))_c over the classes, R = sum_k w_k A^k."""
    A, x = cap.A, cap.x
    U = F.interpolate(A[:, None], size=cap.size, mode="bilinear", align_corners=False)
    lo = U.amin(dim=(2, 3), keepdim=True)
    hi = U.amax(dim=(2, 3), keepdim=True)
    H = (U - lo) / (hi - lo + EPS)                        # [C,1,H,W]
    w = torch.empty(A.shape[0], dtype=A.dtype)
    with torch.no_grad():
        for s in range(0, A.shape[0], batch):
            out = cap.run(x * H[s:s + batch])             # broadcast over the 3 channels
            w[s:s + batch] = torch.softmax(out, dim=1)[:, cap.target].to(A.dtype)
    return torch.einsum("k,khw->hw", w, A)


def raw_ablationcam(cap, batch=32):
    """Desai & Ramaswamy 2020: w_k = (y - y_k) / y with y_k the logit when
    channel k of the layer is zeroed; all w = 0 if y == 0."""
    A, x = cap.A, cap.x
    C = A.shape[0]
    y = cap.score
    yk = torch.empty(C, dtype=A.dtype)
    probe = LayerProbe(cap.module)
    try:
        with torch.no_grad():
            for s in range(0, C, batch):
                idx = torch.arange(s, min(C, s + batch))
                n = len(idx)

                def zero(out, idx=idx, n=n):
                    out = out.clone()
                    out[torch.arange(n), idx] = 0
                    return out
                probe.replace = zero
                out = cap.run(x.expand(n, -1, -1, -1))
                yk[s:s + n] = out[:, cap.target].to(A.dtype)
    finally:
        probe.remove()
    w = (y - yk) / y if y != 0 else torch.zeros_like(yk)
    return torch.einsum("k,khw->hw", w, A)


# ---- guided backprop -----------------------------------------------------

class _GuidedClip(torch.autograd.Function):
    """Rectifier with Springenberg et al.'s guided backward: pass the gradient
    only where the forward input was in the open interval (lo, hi) AND the
    incoming gradient is positive. hi = inf gives ReLU."""

    @staticmethod
    def forward(ctx, z, lo, hi):
        ctx.save_for_backward(z)
        ctx.lo, ctx.hi = lo, hi
        return torch.clamp(z, min=lo, max=None if hi == float("inf") else hi)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        mask = (z > ctx.lo) & (z < ctx.hi) & (g > 0)
        return g * mask.to(g.dtype), None, None


def _guided_relu(z, inplace=False):
    return _GuidedClip.apply(z, 0.0, float("inf"))


@contextlib.contextmanager
def guided_rectifiers(model):
    """Swaps every nn.ReLU / nn.ReLU6 (module) and F.relu / F.relu6 (functional,
    e.g. DenseNet's final ReLU) for the guided rule; SiLU, Hardswish, Sigmoid…
    keep their true gradients (CONVENTIONS.md)."""
    saved = []
    for m in model.modules():
        if type(m) is nn.ReLU:
            saved.append((m, m.forward))
            m.forward = lambda z: _GuidedClip.apply(z, 0.0, float("inf"))
        elif type(m) is nn.ReLU6:
            saved.append((m, m.forward))
            m.forward = lambda z: _GuidedClip.apply(z, 0.0, 6.0)
    old_relu, old_relu6 = F.relu, F.relu6
    F.relu = _guided_relu
    F.relu6 = lambda z, inplace=False: _GuidedClip.apply(z, 0.0, 6.0)
    try:
        yield
    finally:
        F.relu, F.relu6 = old_relu, old_relu6
        for m, fwd in saved:
            m.forward = fwd


def guided_gradient(model, x, target):
    """d logit_c / d x through guided rectifiers, [3,H,W]."""
    x = x.detach().clone().requires_grad_(True)
    with guided_rectifiers(model), torch.enable_grad():
        logits = model(x)
        logits[0, target].backward()
    return x.grad[0].detach()


def raw_guided_backprop(model, x, target):
    """GB[i,j] = max over colour channels of |guided gradient|."""
    return guided_gradient(model, x, target).abs().amax(dim=0)


# ---- dispatch -------------------------------------------------------------

def raw_map(method, cap):
    """The raw map of `method` from a Capture (guided ones at input resolution)."""
    if method == "cam":
        return raw_cam(cap)
    if method == "gradcam":
        return raw_gradcam(cap)
    if method == "gradcam++":
        return raw_gradcampp(cap)
    if method == "xgradcam":
        return raw_xgradcam(cap)
    if method == "hirescam":
        return raw_hirescam(cap)
    if method == "layercam":
        return raw_layercam(cap)
    if method == "eigencam":
        return raw_eigencam(cap)
    if method == "scorecam":
        return raw_scorecam(cap)
    if method == "ablationcam":
        return raw_ablationcam(cap)
    if method == "guided-backprop":
        return raw_guided_backprop(cap.run, cap.x, cap.target)
    if method == "guided-gradcam":
        gb = raw_guided_backprop(cap.run, cap.x, cap.target)
        return gb * finish(raw_gradcam(cap), cap.size)
    if method == "eigengradcam":
        return raw_eigengradcam(cap)
    if method == "gradcam-elementwise":
        return raw_gradcam_elementwise(cap)
    if method == "saliency":
        return raw_saliency(cap.run, cap.x, cap.target)
    if method == "inputxgrad":
        return raw_inputxgrad(cap.run, cap.x, cap.target)
    if method == "integrated-gradients":
        return raw_integrated_gradients(cap.run, cap.x, cap.target)
    if method == "occlusion":
        return raw_occlusion(cap.run, cap.x, cap.target)
    raise ValueError("unknown method " + method)


def explain(method, cap):
    """(raw map, normalised map at input resolution)."""
    raw = raw_map(method, cap)
    return raw, finish(raw, cap.size)
