#!/usr/bin/python3
# test_road.py — ROAD (Rong et al., ICML 2022; issue 16) against an
# independent float64 NumPy/SciPy implementation.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: /usr/bin/python3 test_road.py PATH/TO/gaze-cli
# For each case, `gaze-cli explain --heatmap --save-input` gives the float32
# map at input resolution and the input tensor; `gaze-cli metrics --metric road
# --road-noise 0 --road-save-imputed DIR --json` gives the scores and the
# imputed images. The reference:
#  - removed pixels: MoRF at p % the map values >= numpy.percentile(map,
#    100 - p), LeRF those <= numpy.percentile(map, p) (pytorch-grad-cam's
#    thresholds, labelled by the share removed);
#  - noisy linear imputation without noise: for every removed pixel,
#    (sum of in-image neighbour weights) x_i - sum_removed w x_j =
#    sum_kept w v_j, weights 1/6 direct and 1/12 diagonal, solved exactly by
#    scipy.sparse.linalg.spsolve per image (all channels as columns);
#  - scores: the class softmax probability of each imputed image (float64
#    torch model; float32 for the real MobileNetV2, as test_metrics.py);
#    road_morf / road_lerf the means of (p - y), road_combined
#    (lerf - morf) / 2 (pytorch-grad-cam's ROADCombined).
# Imputed images within 1e-4 (in the normalised input), scores within 1e-4.
# Then the noise: deterministic for a seed, std 0.01 on the imputed pixels,
# other seeds differ; and usage errors.
# Cases: TinyNet (seeded, 64x64), the seeded resnet18 export (skipped with
# GAZE_REFERENCE_QUICK=1), the real MobileNetV2 in ../shared on a photo
# (skipped with a message when absent).

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

TOL = 1e-4
PERCENTILES = [10, 20, 30, 40, 50, 60, 70, 80, 90]
OFFSETS = [((-1, -1), 1 / 12), ((-1, 0), 1 / 6), ((-1, 1), 1 / 12), ((0, -1), 1 / 6),
           ((0, 1), 1 / 6), ((1, -1), 1 / 12), ((1, 0), 1 / 6), ((1, 1), 1 / 12)]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def impute(img, removed):
    """img [C,H,W] float64, removed [H,W] bool -> the noiseless imputation."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve
    c, h, w = img.shape
    out = img.copy()
    ys, xs = np.nonzero(removed)
    n = len(ys)
    if n == 0:
        return out
    var = -np.ones((h, w), dtype=np.int64)
    var[ys, xs] = np.arange(n)
    rows, cols, vals = [], [], []
    diag = np.zeros(n)
    rhs = np.zeros((n, c))
    for (dy, dx), wt in OFFSETS:
        yy, xx = ys + dy, xs + dx
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        diag[inside] += wt
        ids = np.nonzero(inside)[0]
        yy, xx = yy[inside], xx[inside]
        unknown = var[yy, xx] >= 0
        rows.append(ids[unknown])
        cols.append(var[yy[unknown], xx[unknown]])
        vals.append(np.full(unknown.sum(), -wt))
        known = ~unknown
        rhs[ids[known]] += wt * img[:, yy[known], xx[known]].T
    rows.append(np.arange(n))
    cols.append(np.arange(n))
    vals.append(diag)
    a = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                   shape=(n, n)).tocsc()
    sol = spsolve(a, rhs).reshape(n, c)
    out[:, ys, xs] = sol.T
    return out


def removed_sets(m32, q):
    m = m32.astype(np.float64)
    return m >= np.percentile(m, 100 - q), m <= np.percentile(m, q)


def probability(model, imgs, cls, torch, dtype):
    with torch.no_grad():
        out = model(torch.from_numpy(np.ascontiguousarray(imgs, dtype=dtype)))
    return torch.softmax(out.double(), dim=1)[:, cls].numpy()


def check(tap, gaze, label, onnx_path, source_args, model, method, torch, tmp, dtype=np.float64):
    heat = os.path.join(tmp, "heat.npy")
    saved = os.path.join(tmp, "input.npy")
    rc_, out, err = run([gaze, "explain", onnx_path] + source_args +
                        ["--method", method, "--heatmap", heat, "--save-input", saved, "--json",
                         "-q"])
    if rc_ != 0:
        tap.ok(False, "%s %s: explain failed: %s" % (label, method, err.strip()))
        return
    cls = json.loads(out)["class"]
    dump = os.path.join(tmp, "imputed-" + label.replace(" ", "_"))
    t0 = time.time()
    rc_, out, err = run([gaze, "metrics", onnx_path] + source_args +
                        ["--method", method, "--class", str(cls), "--metric", "road",
                         "--road-noise", "0", "--road-save-imputed", dump, "--json", "-q"])
    t_gaze = time.time() - t0
    if rc_ != 0:
        tap.ok(False, "%s %s: metrics failed: %s" % (label, method, err.strip()))
        return
    js = json.loads(out)
    x = np.load(saved).astype(np.float64)[0]
    m32 = np.load(heat)
    imgs = [x]
    worst = 0.0
    missing = []
    for kind in ("morf", "lerf"):
        for q in PERCENTILES:
            rm = removed_sets(m32, q)[0 if kind == "morf" else 1]
            ref = impute(x, rm)
            imgs.append(ref)
            path = os.path.join(dump, "road-%s-%g.npy" % (kind, q))
            if not os.path.exists(path):
                missing.append(path)
                continue
            got = np.load(path)[0].astype(np.float64)
            worst = max(worst, float(np.abs(got - ref).max()))
    tap.ok(not missing and worst <= TOL,
           "%s %s: imputed images (MoRF/LeRF at 10..90 %%) max |diff| %.2e vs spsolve%s"
           % (label, method, worst, " (missing %s)" % missing[0] if missing else ""))
    t0 = time.time()
    probs = np.concatenate([probability(model, np.stack(imgs[i:i + 7]), cls, torch, dtype)
                            for i in range(0, len(imgs), 7)])
    t_ref = time.time() - t0
    n = len(PERCENTILES)
    y, morf, lerf = probs[0], probs[1:1 + n], probs[1 + n:]
    ref_morf, ref_lerf = float(np.mean(morf - y)), float(np.mean(lerf - y))
    ref_comb = (ref_lerf - ref_morf) / 2
    e_curve = max(float(np.abs(np.array(js["road_morf_curve"]) - morf).max()),
                  float(np.abs(np.array(js["road_lerf_curve"]) - lerf).max()),
                  abs(js["road_probability"] - y))
    e_mean = max(abs(js["road_morf"] - ref_morf), abs(js["road_lerf"] - ref_lerf),
                 abs(js["road_combined"] - ref_comb))
    tap.ok(e_curve <= TOL and e_mean <= TOL and js["road_percentiles"] == PERCENTILES,
           "%s %s: ROAD scores max |diff| %.2e, means %.2e (MoRF %.4f, LeRF %.4f, combined "
           "%.4f)" % (label, method, e_curve, e_mean, js["road_morf"], js["road_lerf"],
                      js["road_combined"]))
    tap.diag("%s: gaze-cli %.1f s (metrics_ms %.0f), reference forwards %.1f s"
             % (label, t_gaze, js["metrics_ms"], t_ref))


def check_noise(tap, gaze, onnx_path, source_args, tmp):
    """Seeded noise: std 0.01 on the imputed pixels, equal for a seed, not across seeds."""
    base = [gaze, "metrics", onnx_path] + source_args + ["--metric", "road", "--json", "-q"]
    dirs = {}
    outs = {}
    for name, extra in (("clean", ["--road-noise", "0"]), ("a", []), ("b", []),
                        ("seed7", ["--road-seed", "7"])):
        d = os.path.join(tmp, "noise-" + name)
        rc_, out, err = run(base + extra + ["--road-save-imputed", d])
        if rc_ != 0:
            tap.ok(False, "noise run %s failed: %s" % (name, err.strip()))
            return
        dirs[name] = d
        js = json.loads(out)
        js.pop("metrics_ms")
        outs[name] = js
    tap.ok(outs["a"] == outs["b"], "the same seed gives the same ROAD scores")
    diffs, same, differ = [], True, False
    for f in sorted(glob.glob(os.path.join(dirs["clean"], "*.npy"))):
        name = os.path.basename(f)
        clean = np.load(f).astype(np.float64)
        a = np.load(os.path.join(dirs["a"], name)).astype(np.float64)
        b = np.load(os.path.join(dirs["b"], name)).astype(np.float64)
        s7 = np.load(os.path.join(dirs["seed7"], name)).astype(np.float64)
        same = same and np.array_equal(a, b)
        d = a - clean
        diffs.append(d[d != 0])
        differ = differ or not np.array_equal(a, s7)
    d = np.concatenate(diffs)
    tap.ok(same and differ, "imputed images: equal for a seed, different for another")
    tap.ok(abs(d.std() - 0.01) < 0.0005 and abs(d.mean()) < 0.0005,
           "noise on %d imputed values: mean %.2e, std %.5f (0.01 expected)"
           % (d.size, d.mean(), d.std()))


def main():
    tap = rc.Tap()
    if len(sys.argv) != 2:
        tap.bail("usage: test_road.py GAZE-CLI")
    gaze = sys.argv[1]
    try:
        import torch
        import scipy.sparse  # noqa: F401
    except ImportError as e:
        tap.skip("ROAD", "PyTorch or SciPy not available (%s)" % e)
        return tap.done()
    torch.set_num_threads(2)
    quick = os.environ.get("GAZE_REFERENCE_QUICK") == "1"
    with tempfile.TemporaryDirectory() as tmp:
        export_models.ensure_tiny()
        tiny = rc.load_model("tinynet").double()
        tonnx = rc.model_path("tinynet", 13)
        tx = ["--input-tensor", rc.input_path("tinynet")]
        for method in ("gradcam", "layercam"):
            check(tap, gaze, "tinynet", tonnx, tx, tiny, method, torch, tmp)
        check_noise(tap, gaze, tonnx, tx, tmp)
        for bad in (["--road-percentiles", "0"], ["--road-percentiles", "10,100"],
                    ["--road-percentiles", "ten"], ["--road-noise", "-1"]):
            rc_, out, err = run([gaze, "metrics", tonnx] + tx + ["--metric", "road"] + bad)
            tap.ok(rc_ == 2, "usage error %s: exit status %d" % (" ".join(bad), rc_))
        rc_, out, err = run([gaze, "metrics", tonnx] + tx + ["--metric", "road",
                                                               "--road-percentiles", "25,75",
                                                               "--json", "-q"])
        js = json.loads(out) if rc_ == 0 else {}
        tap.ok(js.get("road_percentiles") == [25, 75] and len(js.get("road_morf_curve", [])) == 2
               and "deletion_curve" not in js,
               "--road-percentiles 25,75: %s" % js.get("road_percentiles"))
        if quick:
            tap.skip("resnet18", "GAZE_REFERENCE_QUICK=1")
        else:
            export_models.ensure(["resnet18"], [13], quiet=True)
            r18 = rc.load_model("resnet18").double()
            check(tap, gaze, "resnet18", rc.model_path("resnet18", 13),
                  ["--input-tensor", rc.input_path("resnet18")], r18, "gradcam", torch, tmp)
        real_dir = os.path.join(rc.shared_dir(), "models", "mobilenet_v2-imagenet")
        pth = os.path.join(real_dir, "mobilenet_v2.pth")
        onnx_path = os.path.join(real_dir, "mobilenet_v2.onnx")
        photo = os.path.join(rc.shared_dir(), "images", "dog.jpg")
        if not (os.path.exists(pth) and os.path.exists(onnx_path) and os.path.exists(photo)):
            tap.skip("real MobileNetV2", "%s (model or photo) is absent" % real_dir)
        else:
            import torchvision
            real = torchvision.models.mobilenet_v2()
            real.load_state_dict(torch.load(pth, map_location="cpu"))
            real = real.eval()
            # float64 depthwise convolutions are slow in torch: float32 forwards
            # of the float64 reference images, as test_metrics.py.
            check(tap, gaze, "mobilenet_v2 dog", onnx_path, [photo], real, "gradcam", torch, tmp,
                  dtype=np.float32)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
