#!/usr/bin/python3
# test_explain.py — `gaze-cli explain` against the PyTorch reference (cams.py)
# for every method, at the `auto` layer and at an earlier one.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: /usr/bin/python3 test_explain.py PATH/TO/gaze-cli
# Checks (issue 4):
#  - normalised maps at input resolution: Pearson r >= 0.999, max |diff| <= 1e-3,
#    for seeded resnet18 / mobilenet_v2 / densenet121 / efficientnet_b0 (opset 13),
#    swin_t at its Permute layer (its one [N,C,H,W] tensor, named explicitly),
#    and the real ImageNet MobileNetV2 in ../shared on the shared photos; Score-CAM
#    and Ablation-CAM on TinyNet (a small GAP+linear CNN) to keep CI short;
#  - CAM refused at a layer without a GAP+linear head;
#  - the Grad-CAM paper identity: CAM, Grad-CAM and HiResCAM raw maps agree up
#    to a positive scale (1/Z) at a layer followed by GAP + one linear layer;
#  - model randomisation (Adebayo et al. 2018): Grad-CAM after re-initialising
#    the classifier weights has a low Spearman rank correlation with the original;
#  - `gaze-cli info --json` default_layer is the expected tensor;
#  - SmoothGrad is deterministic (same command, same map).
# Set GAZE_REFERENCE_QUICK=1 to test fewer photos of the real model.
# PyTorch's references are cached in GAZE_REFERENCE_DIR (rc.ReferenceCache):
# CI's sanitizer pass reuses those of its first pass.

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refcommon as rc  # noqa: E402
import export_models  # noqa: E402

import numpy as np  # noqa: E402

R_MIN = 0.999
MAXDIFF = 1e-3
RANDOM_MODELS = ["resnet18", "mobilenet_v2", "densenet121", "efficientnet_b0"]
# A transformer: the map at its Permute layer and the full backward (guided
# backprop is the plain gradient: Swin has no ReLU). Left out: Grad-CAM++ and
# XGrad-CAM divide by sums of the signed LayerNorm output there; Eigen-CAM's
# principal direction is ill-determined there (PyTorch's own float32 and
# float64 maps differ by 1.0).
SWIN_METHODS = ["cam", "gradcam", "hirescam", "layercam", "guided-backprop", "guided-gradcam"]
ISSUE16_METHODS = ["eigengradcam", "gradcam-elementwise", "saliency", "inputxgrad"]
ALL_BUT_PERTURBATION = ["cam", "gradcam", "gradcam++", "xgradcam", "hirescam", "layercam",
                        "eigencam", "guided-backprop", "guided-gradcam"] + ISSUE16_METHODS
REAL_DIR = "models/mobilenet_v2-imagenet"
# The plain input gradient through every ReLU of a deep random network: each
# gate within float32 rounding of zero can flip, and a pixel map has no
# averaging to absorb it (resnet18: Gaze vs float64 3x the float32 floor).
# For these the criterion is r >= 0.999 alone (issue 16); max|diff| is printed.
R_ONLY = ["saliency", "inputxgrad"]


# ---- helpers ----------------------------------------------------------------

def spearman(a, b):
    from scipy.stats import rankdata
    return rc.pearson(rankdata(np.ravel(a)), rankdata(np.ravel(b)))


def preprocess(path):
    """torchvision's Resize(256) + CenterCrop(224) + ToTensor + Normalize(ImageNet)."""
    from PIL import Image
    from torchvision import transforms
    t = transforms.Compose([
        transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    with Image.open(path) as im:
        return t(im.convert("RGB"))[None].numpy().astype(np.float32)


def photo_tensor(path):
    """Cached preprocessed photo as .npy in the build dir."""
    d = os.path.join(rc.out_dir(), "photos")
    os.makedirs(d, exist_ok=True)
    out = os.path.join(d, os.path.splitext(os.path.basename(path))[0] + ".npy")
    if not os.path.exists(out):
        x = preprocess(path)
        tmp = out + ".tmp.npy"
        np.save(tmp, x)
        os.replace(tmp, out)
    return out


class Gaze:
    def __init__(self, exe, tmp):
        self.exe = exe
        self.tmp = tmp
        self.n = 0
        self.seconds = 0.0

    def explain(self, model, x_path, method, target, layer, extra=()):
        """Returns (heatmap, raw, json dict, error message or None)."""
        self.n += 1
        hm = os.path.join(self.tmp, "h%d.npy" % self.n)
        raw = os.path.join(self.tmp, "r%d.npy" % self.n)
        # One engine thread: the summation order of a split GEMM moves results
        # by float32 rounding, and on these random-weight models a few ReLU
        # pre-activations lie within that rounding of zero, so an early-layer
        # gradient map can flip a gate between thread counts (measured: 4.8e-4
        # of 0.078 in resnet18's layer3 raw map). One thread makes the
        # comparison with PyTorch reproducible on any machine; the operator
        # tests check that thread counts agree on each kernel.
        cmd = [self.exe, "explain", model, "--input-tensor", x_path, "--method", method,
               "--class", str(target), "--layer", layer, "--heatmap", hm, "--raw", raw,
               "--json", "--quiet", "--threads", "1"] + list(extra)
        t0 = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True)
        self.seconds += time.time() - t0
        if r.returncode != 0:
            lines = (r.stderr.strip() or r.stdout.strip()).splitlines()
            return None, None, None, "exit %d: %s" % (r.returncode, lines[-1] if lines else "")
        try:
            js = json.loads(r.stdout)
        except ValueError:
            js = {}
        try:
            h = np.load(hm)
            rw = np.load(raw)
        except OSError as e:
            return None, None, js, "no map written: %s" % e
        finally:
            for p in (hm, raw):
                if os.path.exists(p):
                    os.remove(p)
        return h, rw, js, None

    def info(self, model):
        r = subprocess.run([self.exe, "info", "--json", model], capture_output=True, text=True)
        if r.returncode != 0:
            return None, r.stderr.strip()
        try:
            return json.loads(r.stdout), None
        except ValueError as e:
            return None, "info --json is not JSON: %s" % e


def compare(tap, label, ref, got, js, target, layer_tensor, floor=0.0, check_diff=True):
    """One TAP line: normalised maps and the JSON's class/layer. `ref` is the
    float64 reference; `floor` = max |float32 reference - float64 reference|,
    the part of the difference float32 rounding alone explains (ReLU masks of
    near-zero pre-activations flip, cancellations in sum_k w_k A^k): the
    tolerance is max(1e-3, 2 * floor), and the floor is printed."""
    if got is None:
        tap.ok(False, "%s: %s" % (label, js))
        return
    if got.shape != ref.shape:
        tap.ok(False, "%s: heatmap shape %s, expected %s" % (label, got.shape, ref.shape))
        return
    r = rc.pearson(ref, got)
    d = float(np.abs(np.asarray(got, np.float64) - ref).max())
    tol = max(MAXDIFF, 2 * floor)
    problems = []
    if js:
        if "class" in js and int(js["class"]) != int(target):
            problems.append("json class %s" % js["class"])
        if layer_tensor and "layer" in js and js["layer"] != layer_tensor:
            problems.append("json layer %s" % js["layer"])
    good = r >= R_MIN and (d <= tol or not check_diff) and np.all(np.isfinite(got)) \
        and not problems
    tap.ok(good, "%s: r=%.6f max|diff|=%.2e (tol %s; float32 floor %.1e)%s" %
           (label, r, d, "%.1e" % tol if check_diff else "none, r only", floor,
            (" " + ", ".join(problems)) if problems else ""))


# ---- the cases ------------------------------------------------------------------

def run_model(tap, gaze, cams, model_name, torch_model, onnx_path, x_path, layers,
              methods, label_prefix, targets=None, precise=True, explicit=False):
    """Every method in `methods` at each layer of `layers` ({"auto": {...},
    "early": {...}}) on one input, against the reference computed in float64
    (and in float32, to measure the rounding floor). precise=False: float32
    reference only, floor 0 (the literal criterion; used for the extra photos
    of the trained model, whose floor measured on the first photos is < 1e-3,
    to keep CI short: float64 depthwise convolutions are slow in torch).
    explicit=True: name the "auto" layer's tensor instead of asking for "auto"
    (Swin, whose automatic layer is another one: test_transformers.py).
    The references come from rc.ReferenceCache when an earlier run (CI's
    first pass) computed them for the same weights, input and parameters;
    PyTorch runs only for what is missing."""
    import copy
    import torch
    here = os.path.dirname(os.path.abspath(__file__))
    cache = rc.ReferenceCache(
        "explain", [x_path, os.path.join(here, "cams.py"), os.path.abspath(__file__)],
        {"model": model_name, "weights": rc.state_digest(torch_model), "layers": layers,
         "methods": methods, "targets": targets, "precise": precise,
         "torch": torch.__version__})
    x = torch.from_numpy(np.load(x_path))
    model64 = []
    gb = {}

    def guided(cap, cap64):
        if not gb:
            gb[32] = cams.raw_guided_backprop(cap.run, cap.x, cap.target)
            gb[64] = cams.raw_guided_backprop(cap64.run, cap64.x, cap64.target) \
                if precise else gb[32]
        return gb[32], gb[64]

    def captures(L, target):
        """The float32 and float64 forward/backward of one layer and class,
        made only when a reference is missing from the cache."""
        cap = cams.Capture(torch_model, L["module"], x, target=target, rule=L["rule"])
        if not precise:
            return cap, cap
        if not model64:
            model64.append(copy.deepcopy(torch_model).double())
        return cap, cams.Capture(model64[0], L["module"], x.double(), target=cap.target,
                                 rule=L["rule"])

    def reference(method, cap, cap64):
        if method == "guided-backprop":
            r32, r64 = guided(cap, cap64)
        elif method == "guided-gradcam":
            g32, g64 = guided(cap, cap64)
            r32 = g32 * cams.finish(cams.raw_gradcam(cap), cap.size)
            r64 = g64 * cams.finish(cams.raw_gradcam(cap64), cap64.size)
        else:
            r32, r64 = cams.raw_map(method, cap), cams.raw_map(method, cap64)
        m32 = cams.finish(r32, cap.size).double().numpy()
        m64 = cams.finish(r64, cap64.size).double().numpy()
        return m64, float(np.abs(m32 - m64).max())

    def cached_reference(which, L, method, target, made):
        key = "%s:%s:%d" % (which, method, target)

        def compute():
            if not made:
                made.extend(captures(L, target))
            m64, floor = reference(method, made[0], made[1])
            cache.values[key + ":floor"] = np.asarray(floor)
            return m64
        ref = cache.get(key, compute)
        return ref, float(cache.values[key + ":floor"])

    for which in ("auto", "early"):
        L = layers.get(which)
        if L is None:
            continue
        made = []   # [cap, cap64] once a reference had to be computed
        t = targets[0] if targets else None

        def first_target():
            made.extend(captures(L, t))
            return made[0].target
        target = int(cache.get("%s:target" % which, first_target))
        gaze_layer = "auto" if which == "auto" and not explicit else L["tensor"]
        for method in methods:
            label = "%s %s %s %s (class %d)" % (label_prefix, which, method,
                                                L["tensor"], target)
            if method == "cam" and which != "auto":
                h, _, js, err = gaze.explain(onnx_path, x_path, method, target, gaze_layer)
                tap.ok(err is not None,
                       "%s: refused at a layer without GAP+linear head (%s)" %
                       (label, err or "it was accepted"))
                continue
            if method in cams.LAYERLESS:
                if which != "auto":
                    continue        # does not depend on the layer
                label = "%s %s (class %d)" % (label_prefix, method, target)
            ref, floor = cached_reference(which, L, method, target, made)
            h, _, js, err = gaze.explain(onnx_path, x_path, method, target, gaze_layer)
            compare(tap, label, ref, h, js if err is None else err, target,
                    None if method in cams.LAYERLESS else L["tensor"], floor,
                    check_diff=method not in R_ONLY)
        if targets and len(targets) > 1 and which == "auto":
            # another class: a class switch must give that class's map
            ref, floor = cached_reference(which, L, "gradcam", targets[1], [])
            h, _, js, err = gaze.explain(onnx_path, x_path, "gradcam", targets[1], "auto")
            compare(tap, "%s auto gradcam (class %d)" % (label_prefix, targets[1]), ref, h,
                    js if err is None else err, targets[1], L["tensor"], floor)
    cache.save()
    tap.diag("%s: %d references from the cache, %d computed by PyTorch" %
             (label_prefix, cache.hits, cache.misses))


def identity_test(tap, gaze, onnx_path, x_path, target, label):
    """Grad-CAM paper: after GAP + linear, dy/dA^k_ij = w_ck / Z, so Grad-CAM
    and HiResCAM equal CAM / Z: agree up to a positive scale."""
    raws = {}
    for m in ("cam", "gradcam", "hirescam"):
        _, raw, _, err = gaze.explain(onnx_path, x_path, m, target, "auto")
        if err:
            tap.ok(False, "identity %s: %s failed: %s" % (label, m, err))
            return
        raws[m] = np.asarray(raw, np.float64).ravel()
    c = raws["cam"]
    Z = c.size
    for m in ("gradcam", "hirescam"):
        g = raws[m]
        s = float(g @ c / (c @ c)) if c @ c > 0 else 0.0
        resid = float(np.linalg.norm(g - s * c) / max(np.linalg.norm(g), 1e-30))
        tap.ok(s > 0 and resid <= 1e-4,
               "identity %s: %s = %.6g x CAM (Z x scale = %.6f), relative residual %.2e" %
               (label, m, s, s * Z, resid))


def randomised_classifier(src, dst, seed=1234):
    """Copy of the ONNX model with the weights of its final Gemm/MatMul
    re-initialised (Normal with the original weights' std)."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(src)
    inits = {t.name: t for t in m.graph.initializer}
    head = [n for n in m.graph.node if n.op_type in ("Gemm", "MatMul")][-1]
    wname = [i for i in head.input if i in inits][0]
    w = numpy_helper.to_array(inits[wname])
    rng = np.random.default_rng(seed)
    neww = (rng.standard_normal(w.shape) * w.std()).astype(w.dtype)
    inits[wname].CopyFrom(numpy_helper.from_array(neww, wname))
    onnx.save(m, dst)
    return wname


def sanity_test(tap, gaze, onnx_path, x_path, target, label, tmpdir):
    dst = os.path.join(rc.out_dir(), "models", "%s-randomised-head.onnx" % label)
    if not os.path.exists(dst):
        randomised_classifier(onnx_path, dst)
    h0, _, _, e0 = gaze.explain(onnx_path, x_path, "gradcam", target, "auto")
    h1, _, _, e1 = gaze.explain(dst, x_path, "gradcam", target, "auto")
    if e0 or e1:
        tap.ok(False, "model randomisation %s: %s" % (label, e0 or e1))
        return
    rho = spearman(h0, h1)
    tap.ok(rho < 0.5, "model randomisation (Adebayo et al.) %s: Grad-CAM Spearman rho "
           "original vs re-initialised classifier = %.3f (< 0.5)" % (label, rho))


def smooth_test(tap, gaze, onnx_path, x_path, target, label):
    args = ["--smooth", "4"]
    h0, _, _, e0 = gaze.explain(onnx_path, x_path, "gradcam", target, "auto", args)
    h1, _, _, e1 = gaze.explain(onnx_path, x_path, "gradcam", target, "auto", args)
    if e0 or e1:
        tap.ok(False, "smoothgrad %s: %s" % (label, e0 or e1))
        return
    hp, _, _, _ = gaze.explain(onnx_path, x_path, "gradcam", target, "auto")
    d = float(np.abs(h0 - h1).max())
    dp = float(np.abs(h0 - hp).max()) if hp is not None else float("nan")
    tap.ok(d == 0.0 and np.all(np.isfinite(h0)),
           "smoothgrad %s: two runs of --smooth 4 differ by %.2e (must be 0); "
           "differs from the plain map by %.2e" % (label, d, dp))


def info_test(tap, gaze, onnx_path, expected, label):
    js, err = gaze.info(onnx_path)
    if js is None:
        tap.ok(False, "info %s: %s" % (label, err))
        return
    got = js.get("default_layer")
    tap.ok(got == expected, "info %s: default_layer %s (expected %s)" % (label, got, expected))


# ---- main ----------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gaze_cli")
    args = ap.parse_args()
    quick = os.environ.get("GAZE_REFERENCE_QUICK") == "1"
    t_start = time.time()
    tap = rc.Tap()

    import torch
    torch.set_num_threads(2)
    import cams

    manifest = export_models.ensure(RANDOM_MODELS + ["swin_t"], [13], quiet=True)
    export_models.ensure_tiny()
    layers = rc.load_json(os.path.join(rc.out_dir(), "layers.json"), {})
    tap.diag("exports ready in %.1f s" % (time.time() - t_start))

    shared = rc.shared_dir()
    photos = sorted(p for p in glob.glob(os.path.join(shared, "images", "*"))
                    if p.lower().endswith((".jpg", ".jpeg", ".png", ".bmp")))
    if not photos:
        tap.diag("no shared photos in %s: the seeded models use random inputs" % shared)

    with tempfile.TemporaryDirectory() as tmp:
        gaze = Gaze(args.gaze_cli, tmp)

        # -- seeded torchvision models, one photo (dog.jpg) or the random input
        dog = [p for p in photos if os.path.basename(p).startswith("dog")] or photos[:1]
        for name in RANDOM_MODELS:
            onnx_path = rc.model_path(name, 13)
            if manifest.get("%s-op13" % name, {}).get("status") != "ok" or name not in layers:
                tap.skip("explain %s" % name, "not exported")
                continue
            x_path = photo_tensor(dog[0]) if dog else rc.input_path(name)
            t0 = time.time()
            model = rc.load_model(name)
            run_model(tap, gaze, cams, name, model, onnx_path, x_path, layers[name],
                      ALL_BUT_PERTURBATION, name)
            info_test(tap, gaze, onnx_path, layers[name]["auto"]["tensor"], name)
            tap.diag("%s: %.1f s" % (name, time.time() - t0))

        # -- swin_t: a vision transformer, at its one [N,C,H,W] layer
        if manifest.get("swin_t-op13", {}).get("status") != "ok" or "swin_t" not in layers:
            tap.skip("explain swin_t", "not exported")
        else:
            t0 = time.time()
            onnx_path = rc.model_path("swin_t", 13)
            x_path = photo_tensor(dog[0]) if dog else rc.input_path("swin_t")
            # Named explicitly: the automatic layer of a Swin is now the last
            # stage's channels-last output before the final norm (issue 19),
            # which test_transformers.py checks with the same reshape.
            run_model(tap, gaze, cams, "swin_t", rc.load_model("swin_t"), onnx_path, x_path,
                      layers["swin_t"], SWIN_METHODS, "swin_t", explicit=True)
            tap.diag("swin_t: %.1f s" % (time.time() - t0))

        # -- TinyNet: every method including Score-CAM and Ablation-CAM
        t0 = time.time()
        tiny = rc.load_model("tinynet")
        tiny_onnx = rc.model_path("tinynet", 13)
        tiny_x = rc.input_path("tinynet")
        run_model(tap, gaze, cams, "tinynet", tiny, tiny_onnx, tiny_x, layers["tinynet"],
                  cams.METHODS, "tinynet")
        with torch.no_grad():
            t_top = int(tiny(torch.from_numpy(np.load(tiny_x))).argmax())
        identity_test(tap, gaze, tiny_onnx, tiny_x, t_top, "tinynet")
        smooth_test(tap, gaze, tiny_onnx, tiny_x, t_top, "tinynet")
        info_test(tap, gaze, tiny_onnx, layers["tinynet"]["auto"]["tensor"], "tinynet")
        tap.diag("tinynet: %.1f s" % (time.time() - t0))

        if "resnet18" in layers:
            x_path = photo_tensor(dog[0]) if dog else rc.input_path("resnet18")
            with torch.no_grad():
                top = int(rc.load_model("resnet18")(torch.from_numpy(np.load(x_path))).argmax())
            identity_test(tap, gaze, rc.model_path("resnet18", 13), x_path, top, "resnet18")

        # -- the real ImageNet MobileNetV2 on every shared photo
        real_dir = os.path.join(shared, REAL_DIR)
        real_pth = os.path.join(real_dir, "mobilenet_v2.pth")
        real_onnx = os.path.join(real_dir, "mobilenet_v2.onnx")
        if not (os.path.exists(real_pth) and os.path.exists(real_onnx) and photos):
            tap.skip("real MobileNetV2", "%s (model or photos) is absent" % real_dir)
        else:
            import onnx
            import torchvision
            t0 = time.time()
            real = torchvision.models.mobilenet_v2()
            real.load_state_dict(torch.load(real_pth, map_location="cpu"))
            real.eval()
            om = onnx.load(real_onnx)
            real_layers = {}
            for which, module in (("auto", "features.18"), ("early", "features.14.conv.0")):
                real_layers[which] = {"module": module, "rule": "scope",
                                      "tensor": export_models.find_layer_tensor(om, module,
                                                                                "scope")}
            del om
            info_test(tap, gaze, real_onnx, real_layers["auto"]["tensor"], "mobilenet_v2-imagenet")
            use = photos[:2] if quick else photos
            for i, p in enumerate(use):
                x_path = photo_tensor(p)
                with torch.no_grad():
                    order = torch.argsort(real(torch.from_numpy(np.load(x_path)))[0],
                                          descending=True)
                targets = [int(order[0]), int(order[1])]
                lay = real_layers if i < 2 else {"auto": real_layers["auto"]}
                # The methods added for issue 16 on the first two photos (the
                # precise ones); the rest keep CI's first pass near its time.
                methods = ALL_BUT_PERTURBATION if i < 2 else \
                    [m for m in ALL_BUT_PERTURBATION if m not in ISSUE16_METHODS]
                run_model(tap, gaze, cams, "mobilenet_v2-imagenet", real, real_onnx, x_path,
                          lay, methods,
                          "mobilenet_v2-imagenet %s" % os.path.basename(p), targets,
                          precise=i < 2)
                if i == 0:
                    # Integrated Gradients and Occlusion (50 and 169 forwards):
                    # the first photo, against the float32 reference (float64
                    # depthwise convolutions would take minutes in torch).
                    run_model(tap, gaze, cams, "mobilenet_v2-imagenet", real, real_onnx,
                              x_path, {"auto": real_layers["auto"]}, cams.PERTURBATION_PIXEL,
                              "mobilenet_v2-imagenet %s" % os.path.basename(p), targets[:1],
                              precise=False)
            x_path = photo_tensor(dog[0])
            with torch.no_grad():
                top = int(real(torch.from_numpy(np.load(x_path))).argmax())
            identity_test(tap, gaze, real_onnx, x_path, top, "mobilenet_v2-imagenet")
            sanity_test(tap, gaze, real_onnx, x_path, top, "mobilenet_v2-imagenet", tmp)
            tap.diag("real MobileNetV2: %.1f s" % (time.time() - t0))

        if not os.path.exists(real_onnx) and "resnet18" in layers:
            x_path = rc.input_path("resnet18")
            with torch.no_grad():
                top = int(rc.load_model("resnet18")(torch.from_numpy(np.load(x_path))).argmax())
            sanity_test(tap, gaze, rc.model_path("resnet18", 13), x_path, top, "resnet18", tmp)

        tap.diag("%d gaze-cli runs, %.1f s in gaze-cli; total %.1f s" %
                 (gaze.n, gaze.seconds, time.time() - t_start))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
