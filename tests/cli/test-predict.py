#!/usr/bin/python3
# test-predict.py — `gaze-cli predict` against PyTorch/torchvision, its JSON, sidecars and errors
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: test-predict.py GAZE_CLI   (TAP on stdout)
# References: torchvision.models.mobilenet_v2 with the shared mobilenet_v2.pth,
# and torchvision transforms on PIL-decoded photos, both ways training code
# uses them: on float tensors (ToTensor, Resize(256, antialias=True),
# CenterCrop(224), Normalize; gaze-cli --resize-backend tensor) and on the PIL
# image (Resize(256), CenterCrop(224), ToTensor, Normalize; the default).
import atexit
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

try:
    import numpy as np
    import torch
    import torchvision
    from PIL import Image, ImageOps
    from torchvision import transforms as T
except ImportError as e:
    print("TAP version 13")
    print(f"1..0 # SKIP /usr/bin/python3 lacks {e.name}")
    sys.exit(0)

cli = sys.argv[1]
shared = os.environ.get("GAZE_SHARED_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared"))
mdir = os.path.join(shared, "models", "mobilenet_v2-imagenet")
model = os.path.join(mdir, "mobilenet_v2.onnx")
images = os.path.join(shared, "images")
tmp = tempfile.mkdtemp(prefix="gaze-cli-")
atexit.register(shutil.rmtree, tmp, True)
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
results = []


def report(ok, msg, skip=None):
    results.append((ok, msg, skip))


def run(*args):
    return subprocess.run([cli, *args], capture_output=True, text=True, timeout=300)


def reference_input(pil, stretch=None, mean=MEAN, std=STD):
    x = T.ToTensor()(pil)
    if stretch:
        x = T.Resize(stretch, antialias=True)(x)
    else:
        x = T.CenterCrop(224)(T.Resize(256, antialias=True)(x))
    return T.Normalize(mean, std)(x).unsqueeze(0)


def input_error(saved, ref, std=STD):
    """max |difference| in 0..1 pixel units (before normalisation)."""
    s = torch.tensor(std).view(1, 3, 1, 1)
    return float(((torch.from_numpy(saved) - ref).abs() * s).max())


# ---- Usage errors need no model --------------------------------------------
def expect_failure(name, args, code=None, needle=None):
    r = run(*args)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    ok = r.returncode != 0 and (code is None or r.returncode == code) and len(lines) == 1
    ok = ok and (needle is None or needle in r.stderr)
    report(ok, f"error: {name}: exit {r.returncode}, stderr {r.stderr.strip()!r}")


expect_failure("no arguments", ["predict"], 2)
expect_failure("--mean with two numbers", ["predict", "--mean", "0.1,0.2", model, "x.jpg"], 2, "--mean")
expect_failure("--std zero", ["predict", "--std", "0.2,0,0.2", model, "x.jpg"], 2, "--std")
expect_failure("--resize not a number", ["predict", "--resize", "abc", model, "x.jpg"], 2, "--resize")
expect_failure("--top 0", ["predict", "--top", "0", model, "x.jpg"], 2, "--top")
expect_failure("unknown flag", ["predict", "--frobnicate", model, "x.jpg"], 2)
expect_failure("missing model", ["predict", os.path.join(tmp, "nope.onnx"), "x.jpg"], 1, "no such file")

have_model = os.path.isfile(model) and os.path.isdir(images)
if not have_model:
    report(True, "model tests", skip=f"no shared model at {model}")
else:
    net = torchvision.models.mobilenet_v2()
    net.load_state_dict(torch.load(os.path.join(mdir, "mobilenet_v2.pth")))
    net.eval()
    labels = open(os.path.join(mdir, "labels.txt")).read().splitlines()
    dog = os.path.join(images, "dog.jpg")

    # ---- Errors on bad inputs ---------------------------------------------
    expect_failure("missing image", ["predict", model, os.path.join(tmp, "nope.jpg")], 1, "no such file")
    notimg = os.path.join(tmp, "notes.jpg")
    open(notimg, "w").write("this is not a JPEG\n" * 10)
    expect_failure("not an image", ["predict", model, notimg], 1, "not an image")
    # A PNG header announcing 20000×6000 (120 Mpixel > 100 Mpixel): refused from the header.
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    huge = os.path.join(tmp, "huge.png")
    open(huge, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 6000, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))
    expect_failure("too large", ["predict", model, huge], 1, "too large: 20000×6000 exceeds")
    expect_failure("crop that does not fit the model", ["predict", "--crop", "200", model, dog], 1, "224")
    expect_failure("--save-input with two images", ["predict", "--save-input", os.path.join(tmp, "x.npy"), model, dog, dog], 2)

    # ---- Top-1 on dog.jpg vs PyTorch ---------------------------------------
    ref_in = reference_input(Image.open(dog).convert("RGB"))
    with torch.no_grad():
        ref_logits = net(ref_in)[0]
    ref_p = torch.softmax(ref_logits, 0)
    r = run("predict", "--json", "--top", "5", "--resize-backend", "tensor", model, dog)
    try:
        out = json.loads(r.stdout)
        top = out["top"][0]
        ok = (r.returncode == 0 and top["index"] == 249 and top["label"].split(",")[0] == "malamute"
              and abs(top["probability"] - float(ref_p[249])) <= 0.01)
        report(ok, f"dog.jpg top-1 {top['label'].split(',')[0]!r} p={top['probability']:.4f}, "
                   f"PyTorch p={float(ref_p[249]):.4f} (|diff| {abs(top['probability'] - float(ref_p[249])):.4f})")
    except (ValueError, KeyError, IndexError) as e:
        out = None
        report(False, f"dog.jpg: unparsable output {r.stdout!r} {r.stderr!r} ({e})")

    # ---- SqueezeNet 1.0 (227 input, Caffe mean, no std) through the flags ----
    sq_dir = os.path.join(shared, "models", "squeezenet1_0-imagenet")
    if os.path.isfile(os.path.join(sq_dir, "squeezenet1_0.pth")):
        sq = torchvision.models.squeezenet1_0()
        sq.load_state_dict(torch.load(os.path.join(sq_dir, "squeezenet1_0.pth")))
        sq.eval()
        caffe_mean, caffe_std = [0.48235, 0.45882, 0.40784], [0.0039216] * 3
        hot = os.path.join(images, "hot_dog.jpg")
        x = T.ToTensor()(Image.open(hot).convert("RGB"))
        x = T.Normalize(caffe_mean, caffe_std)(T.CenterCrop(227)(T.Resize(256, antialias=True)(x)))
        with torch.no_grad():
            sq_p = torch.softmax(sq(x.unsqueeze(0))[0], 0)
        r = run("predict", "--json", "--top", "1", "--resize-backend", "tensor", "--resize", "256",
                "--mean", ",".join(map(str, caffe_mean)),
                "--std", ",".join(map(str, caffe_std)), os.path.join(sq_dir, "squeezenet1_0.onnx"), hot)
        try:
            e = json.loads(r.stdout)["top"][0]
            d = abs(e["probability"] - float(sq_p[e["index"]]))
            report(e["index"] == 934 and d <= 0.01,
                   f"squeezenet hot_dog.jpg: {e['label'].split(',')[0]!r} p={e['probability']:.4f}, PyTorch {float(sq_p[934]):.4f}")
        except (ValueError, KeyError, IndexError) as err:
            report(False, f"squeezenet: {r.stdout!r} {r.stderr!r} ({err})")
    else:
        report(True, "squeezenet", skip=f"no {sq_dir}")

    # ---- JSON schema ---------------------------------------------------------
    def schema_ok(o, k):
        if set(o) != {"model", "image", "output_kind", "input_layout", "top", "warnings"} or not isinstance(o["top"], list) or len(o["top"]) != k:
            return False
        if o["output_kind"] != "logits" or o["input_layout"] != "nchw":  # the ImageNet MobileNetV2 ends in Gemm
            return False
        if o["warnings"] != []:  # sound photos: nothing to warn about
            return False
        prev = 2.0
        for e in o["top"]:
            if set(e) != {"index", "label", "logit", "probability"}:
                return False
            if not (isinstance(e["index"], int) and isinstance(e["label"], str)
                    and isinstance(e["logit"], float) and isinstance(e["probability"], float)):
                return False
            if not (0.0 <= e["probability"] <= prev) or e["label"] != labels[e["index"]]:
                return False
            prev = e["probability"]
        return True
    cat, parrot = os.path.join(images, "cat.bmp"), os.path.join(images, "parrot.jpg")
    logits_npy = os.path.join(tmp, "logits.npy")
    r = run("predict", "--json", "--top", "1000", "--resize-backend", "tensor", "--logits", logits_npy, model,
            dog, cat, parrot)
    lines = r.stdout.splitlines()
    objs = [json.loads(l) for l in lines] if r.returncode == 0 else []
    ok = len(objs) == 3 and all(schema_ok(o, 1000) for o in objs)
    ok = ok and [o["image"] for o in objs] == [dog, cat, parrot] and all(o["model"] == model for o in objs)
    sums = [sum(e["probability"] for e in o["top"]) for o in objs]
    ok = ok and all(abs(s - 1.0) < 1e-6 for s in sums)
    report(ok, f"--json: one object per line, exact keys, labels, sorted, probabilities sum to {sums}")
    top1 = [o["top"][0]["label"].split(",")[0] for o in objs]
    report(top1 == ["malamute", "Egyptian cat", "macaw"], f"top-1 of dog, cat, parrot: {top1}")

    # ---- --logits agrees with the JSON and PyTorch ---------------------------
    try:
        L = np.load(logits_npy)
        ok = L.shape == (3, 1000) and L.dtype == np.float32
        by_index = {e["index"]: e["logit"] for e in objs[0]["top"]}
        ok = ok and max(abs(L[0, i] - v) for i, v in by_index.items()) < 1e-5
        lerr = float(np.abs(L[0] - ref_logits.numpy()).max())
        ok = ok and lerr < 0.05
        report(ok, f"--logits [3,1000]; dog logits vs PyTorch max |diff| {lerr:.2g}")
    except Exception as e:  # noqa: BLE001 — any failure is a test failure
        report(False, f"--logits: {e}")

    # ---- --save-input vs torchvision on every shared photo -------------------
    photos = sorted(f for f in os.listdir(images) if f.lower().endswith((".jpg", ".bmp", ".png")))
    saved = os.path.join(tmp, "input.npy")
    for f in photos:
        p = os.path.join(images, f)
        r = run("predict", "--resize-backend", "tensor", "--save-input", saved, model, p)
        if r.returncode != 0:
            report(False, f"--save-input {f}: {r.stderr.strip()}")
            continue
        x = np.load(saved)
        ref = reference_input(Image.open(p).convert("RGB"))
        err = input_error(x, ref) if x.shape == tuple(ref.shape) else float("inf")
        report(err <= 2 / 255, f"--save-input --resize-backend tensor {f}: max |diff| {err * 255:.3f}/255 before normalisation")

    # ---- --input-tensor reproduces the image's logits ------------------------
    run("predict", "--resize-backend", "tensor", "--save-input", saved, model, dog)
    r = run("predict", "--json", "--top", "3", "--input-tensor", saved, model)
    try:
        o = json.loads(r.stdout)
        ok = o["image"] == saved and o["top"][0]["index"] == 249 and abs(o["top"][0]["probability"] - out["top"][0]["probability"]) < 1e-6
        report(ok, f"--input-tensor: top-1 {o['top'][0]['index']} p={o['top'][0]['probability']:.4f}")
    except (ValueError, KeyError, TypeError) as e:
        report(False, f"--input-tensor: {r.stdout!r} {r.stderr!r} ({e})")
    bad = os.path.join(tmp, "bad.npy")
    np.save(bad, np.zeros((1, 3, 32, 32), np.float32))
    expect_failure("--input-tensor of the wrong shape", ["predict", "--input-tensor", bad, model], 1, "[1,3,224,224]")

    # ---- Default resampler: exactly transforms.Resize on the PIL image -------
    def pil_input(pil, interp=T.InterpolationMode.BILINEAR):
        t = T.Compose([T.Resize(256, interp), T.CenterCrop(224), T.ToTensor(), T.Normalize(MEAN, STD)])
        return t(pil).unsqueeze(0)
    paths = [os.path.join(images, f) for f in photos]
    pil_logits = os.path.join(tmp, "pil-logits.npy")
    r = run("predict", "--json", "--top", "1", "--logits", pil_logits, model, *paths)
    worst_in = worst_logit = 0.0
    try:
        L = np.load(pil_logits)
        ok = r.returncode == 0 and L.shape == (len(paths), 1000)
        for i, p in enumerate(paths):
            pil = Image.open(p).convert("RGB")
            ref = pil_input(pil)
            with torch.no_grad():
                worst_logit = max(worst_logit, float(np.abs(L[i] - net(ref)[0].numpy()).max()))
            rr = run("predict", "--save-input", saved, model, p)
            x = np.load(saved) if rr.returncode == 0 else None
            e = input_error(x, ref) if x is not None and x.shape == tuple(ref.shape) else float("inf")
            worst_in = max(worst_in, e)
        ok = ok and worst_in <= 1e-6 and worst_logit <= 1e-4
        report(ok, f"Pillow resampler (default) on {len(paths)} photos vs transforms on PIL images: "
                   f"input max |diff| {worst_in:.2g}, logits max |diff| {worst_logit:.2g}")
    except (ValueError, OSError) as e:
        report(False, f"Pillow resampler: {r.stderr.strip()} ({e})")
    r = run("predict", "--interpolation", "bicubic", "--save-input", saved, model, dog)
    try:
        ref = pil_input(Image.open(dog).convert("RGB"), T.InterpolationMode.BICUBIC)
        err = input_error(np.load(saved), ref)
        report(r.returncode == 0 and err <= 1e-6, f"--interpolation bicubic vs Resize(256, BICUBIC) on PIL: input max |diff| {err:.2g}")
    except (ValueError, OSError) as e:
        report(False, f"--interpolation bicubic: {r.stderr.strip()} ({e})")
    expect_failure("--resize-backend unknown", ["predict", "--resize-backend", "opencv", model, dog], 2, "--resize-backend")
    expect_failure("--interpolation unknown", ["predict", "--interpolation", "lanczos", model, dog], 2, "--interpolation")

    # ---- Preprocessing hint (issue 19) ----------------------------------------
    # A 1000-class model whose logits are all 0 (top probability 0.1 %): without
    # a sidecar or preprocessing flags, "warnings" suggests checking them.
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
        hdir = os.path.join(tmp, "hint")
        os.mkdir(hdir)
        flat = os.path.join(hdir, "flat.onnx")
        g = helper.make_graph(
            [helper.make_node("GlobalAveragePool", ["input"], ["p"]),
             helper.make_node("Flatten", ["p"], ["f"], axis=1),
             helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["logits"], transB=1)],
            "flat", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])],
            [numpy_helper.from_array(np.zeros((1000, 3), np.float32), "fc.w"),
             numpy_helper.from_array(np.zeros((1000,), np.float32), "fc.b")])
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), flat)

        def hint_warnings(*extra):
            r = run("predict", "--json", "--top", "1", *extra, flat, dog)
            return json.loads(r.stdout)["warnings"] if r.returncode == 0 else None
        w = hint_warnings()
        report(w is not None and len(w) == 1 and "under 1 %" in w[0] and "flat.json" in w[0],
               f"hint: no sidecar, top-1 0.1 % → warnings {w}")
        w = hint_warnings("--mean", "0.5,0.5,0.5")
        report(w == [], f"hint: none with a preprocessing flag ({w})")
        json.dump({"resize": 256}, open(os.path.join(hdir, "flat.json"), "w"))
        w = hint_warnings()
        report(w == [], f"hint: none with a sidecar ({w})")
        r = run("predict", "--top", "1", model, dog)  # no sidecar beside it, no flags
        report(r.returncode == 0 and "HINT" not in r.stdout, "hint: none for a confident model")
    except ImportError as e:
        report(True, "hint", skip=f"/usr/bin/python3 lacks {e.name}")

    # ---- Sidecar: MODEL.json beside the model; flags override it -------------
    sdir = os.path.join(tmp, "sidecar")
    os.mkdir(sdir)
    smodel = os.path.join(sdir, "net.onnx")
    os.symlink(os.path.abspath(model), smodel)
    names = [f"thing {i}" for i in range(1000)]
    json.dump({"stretch": True, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "labels": names,
               "resize_backend": "tensor"},
              open(os.path.join(sdir, "net.json"), "w"))
    r = run("predict", "--json", "--top", "1", "--save-input", saved, smodel, dog)
    pil = Image.open(dog).convert("RGB")
    try:
        o = json.loads(r.stdout)
        x = np.load(saved)
        ref = reference_input(pil, stretch=(224, 224), mean=[0.5] * 3, std=[0.25] * 3)
        err = input_error(x, ref, std=[0.25] * 3)
        ok = o["top"][0]["label"] == f"thing {o['top'][0]['index']}" and err <= 2 / 255
        report(ok, f"sidecar: inline labels, stretch, mean/std, resize_backend tensor applied (input |diff| {err * 255:.3f}/255)")
    except (ValueError, KeyError, OSError) as e:
        report(False, f"sidecar: {r.stdout!r} {r.stderr!r} ({e})")
    r = run("predict", "--json", "--top", "1", "--resize", "256", "--labels", os.path.join(mdir, "labels.txt"),
            "--mean", ",".join(map(str, MEAN)), "--std", ",".join(map(str, STD)), "--save-input", saved, smodel, dog)
    try:
        o = json.loads(r.stdout)
        x = np.load(saved)
        # --stretch cannot be switched off by a flag, so the sidecar's stretch stays.
        ref = reference_input(pil, stretch=(224, 224))
        err = input_error(x, ref)
        ok = o["top"][0]["label"] == labels[o["top"][0]["index"]] and err <= 2 / 255
        report(ok, f"flags override the sidecar: --labels, --mean, --std (input |diff| {err * 255:.3f}/255)")
    except (ValueError, KeyError, OSError) as e:
        report(False, f"flags over sidecar: {r.stdout!r} {r.stderr!r} ({e})")
    json.dump({"mean": [0.5, 0.5]}, open(os.path.join(sdir, "net.json"), "w"))
    expect_failure("malformed sidecar", ["predict", smodel, dog], 1, "\"mean\" must be")
    json.dump({"resize_backend": "cv2"}, open(os.path.join(sdir, "net.json"), "w"))
    expect_failure("sidecar resize_backend unknown", ["predict", smodel, dog], 1, "\"resize_backend\" must be")
    json.dump({"channels": 1}, open(os.path.join(sdir, "net.json"), "w"))
    expect_failure("sidecar channels the model cannot take", ["predict", smodel, dog], 1, "3-channel")

    # ---- Decoding: EXIF orientation, alpha, gray ------------------------------
    base = Image.open(dog).convert("RGB").resize((300, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    rot = os.path.join(tmp, "rotated.jpg")
    base.save(rot, quality=95, exif=exif)
    gray = os.path.join(tmp, "gray.png")
    base.convert("L").save(gray)
    rgba = os.path.join(tmp, "alpha.png")
    a = base.convert("RGBA")
    a.putalpha(Image.linear_gradient("L").resize(base.size))
    a.save(rgba)
    def composite_black(img):
        arr = np.asarray(img, dtype=np.uint32)
        rgb = (arr[:, :, :3] * arr[:, :, 3:4] + 127) // 255
        return Image.fromarray(rgb.astype(np.uint8), "RGB")
    cases = [
        ("EXIF orientation 6", rot, ImageOps.exif_transpose(Image.open(rot)).convert("RGB")),
        ("gray PNG", gray, Image.open(gray).convert("RGB")),
        ("RGBA PNG composited onto black", rgba, composite_black(Image.open(rgba).convert("RGBA"))),
    ]
    for name, path, pil in cases:
        r = run("predict", "--resize-backend", "tensor", "--save-input", saved, model, path)
        if r.returncode != 0:
            report(False, f"{name}: {r.stderr.strip()}")
            continue
        x = np.load(saved)
        err = input_error(x, reference_input(pil))
        report(err <= 2 / 255, f"{name}: input |diff| {err * 255:.3f}/255")

print("TAP version 13")
print(f"1..{len(results)}")
for i, (ok, msg, skip) in enumerate(results, 1):
    if skip:
        print(f"ok {i} # SKIP {skip}")
    else:
        print(f"{'ok' if ok else 'not ok'} {i} - {msg}")
