#!/usr/bin/python3
# train.py — trains Gaze's medical demo CNN on radiograph phantoms, exports ONNX and DICOM
# SPDX-License-Identifier: GPL-3.0-or-later
"""Trains the medical demo model and writes data/demo-medical/.

    /usr/bin/python3 tools/demo-medical/train.py

Data: phantoms from tools/demo-medical/phantom.py (256×256, 12-bit), windowed
with the phantom window (DICOM LINEAR function, as Gaze windows them), then
stretched to 128×128 with Pillow's bilinear resize (Gaze's default "pil"
resampler reproduces it), one channel. Seeds fixed, one thread.

Model: 5 conv blocks (3×3 conv, BatchNorm, ReLU; two 2×2 max-pools) ending at
a 96×16×16 feature map, global average pooling, one linear layer to 4 logits,
and a Sigmoid in the exported graph: a multi-label head, one probability per
finding. Gaze detects the Sigmoid and explains the pre-activation logit.

Writes chest-phantom.onnx, chest-phantom.json (the sidecar), labels.txt,
demo DICOM files (tools/demo-medical/dicomwrite.py) and TRAINING.md into
--out (default: data/demo-medical beside tools/).
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dicomwrite  # noqa: E402
import phantom  # noqa: E402

INPUT = 128
MODEL = "chest-phantom.onnx"
SIDECAR = "chest-phantom.json"
THRESHOLD = 0.5
# The demo DICOM files: which findings each shows (nodule, fracture, opacity, calcification).
DEMO = [
    ("normal", (0, 0, 0, 0)),
    ("nodule", (1, 0, 0, 0)),
    ("fracture", (0, 1, 0, 0)),
    ("opacity-calcification", (0, 0, 1, 1)),
    ("nodule-fracture-opacity", (1, 1, 1, 0)),
]


def to_input_u8(pixels):
    """12-bit phantom → windowed 8-bit → INPUT×INPUT (Pillow bilinear)."""
    img = Image.fromarray(phantom.window_u8(pixels))
    return np.asarray(img.resize((INPUT, INPUT), Image.BILINEAR), np.uint8)


def generate(seed_base, count):
    x = np.empty((count, INPUT, INPUT), np.uint8)
    y = np.empty((count, 4), np.float32)
    for i in range(count):
        px, labels, _ = phantom.make_phantom(seed_base + i)
        x[i] = to_input_u8(px)
        y[i] = labels
    return x, y


def cpu_seconds():
    a = resource.getrusage(resource.RUSAGE_SELF)
    return a.ru_utime + a.ru_stime


def conv_block(cin, cout, stride=1):
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True)]


class ChestNet(nn.Module):
    def __init__(self, findings=4):
        super().__init__()
        self.features = nn.Sequential(
            *conv_block(1, 16, 2),          # 64×64
            nn.MaxPool2d(2),                # 32×32
            *conv_block(16, 32),
            *conv_block(32, 48),
            nn.MaxPool2d(2),                # 16×16
            *conv_block(48, 64),
            *conv_block(64, 96),            # the CAM layer: 96×16×16
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(96, findings)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


class WithSigmoid(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return torch.sigmoid(self.net(x))


def batches(x_u8, mean, std, idx, bs):
    for s in range(0, len(idx), bs):
        j = idx[s:s + bs]
        xb = torch.from_numpy(x_u8[j])[:, None].float().div_(255)
        yield j, (xb - mean) / std


@torch.no_grad()
def predict(model, x_u8, mean, std):
    model.eval()
    p = np.empty((len(x_u8), 4), np.float32)
    for j, xb in batches(x_u8, mean, std, np.arange(len(x_u8)), 256):
        p[j] = torch.sigmoid(model(xb)).numpy()
    return p


def auc(scores, labels):
    """Area under the ROC curve (Mann–Whitney U, ties counted half)."""
    pos = scores[labels > 0.5]
    neg = scores[labels <= 0.5]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    allv = np.concatenate([pos, neg])[order]
    ranks = np.empty(len(allv))
    i = 0
    while i < len(allv):
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(allv))
    r[order] = ranks
    return float((r[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def export_onnx(model, path):
    wrapped = WithSigmoid(model).eval()
    dummy = torch.zeros(1, 1, INPUT, INPUT)
    torch.onnx.export(wrapped, dummy, path, opset_version=13, input_names=["input"],
                      output_names=["probabilities"],
                      dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}},
                      do_constant_folding=True)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    allowed = {"Conv", "Relu", "MaxPool", "GlobalAveragePool", "Flatten", "Gemm", "Sigmoid"}
    if not set(ops) <= allowed or m.graph.node[-1].op_type != "Sigmoid":
        raise SystemExit(f"unexpected ONNX graph: {ops}, last {m.graph.node[-1].op_type}")
    return ops


def pick_demo(model, mean, std, out):
    """For each DEMO entry, the first seed from DEMO_SEED_BASE + 1000·k whose
    phantom the model gets right for all four findings with a margin of 0.2."""
    rows = []
    for k, (name, force) in enumerate(DEMO):
        for j in range(300):
            seed = phantom.DEMO_SEED_BASE + 1000 * k + j
            px, labels, boxes = phantom.make_phantom(seed, force=[bool(v) for v in force])
            p = predict(model, to_input_u8(px)[None], mean, std)[0]
            if np.all(np.where(labels > 0, p > THRESHOLD + 0.2, p < THRESHOLD - 0.2)):
                break
        else:
            raise SystemExit(f"no demo phantom found for {name}")
        fname = f"chest-{k + 1:02d}-{name}.dcm"
        dicomwrite.write(os.path.join(out, fname), px, seed,
                         description=f"Synthetic chest phantom ({name.replace('-', ', ')})")
        rows.append((fname, seed, labels, boxes, p))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "data", "demo-medical"))
    ap.add_argument("--train", type=int, default=3000, help="training phantoms")
    ap.add_argument("--valid", type=int, default=600, help="held-out phantoms")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", help="keep the generated inputs in this .npz between runs")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    t0, c0 = time.time(), cpu_seconds()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)

    if args.cache and os.path.exists(args.cache):
        z = np.load(args.cache)
        x_train, y_train, x_valid, y_valid = z["x_train"], z["y_train"], z["x_valid"], z["y_valid"]
        t_gen, cpu_gen = float(z["seconds"]), float(z["cpu_seconds"])
        if len(x_train) != args.train or len(x_valid) != args.valid:
            raise SystemExit("--cache holds other counts")
    else:
        x_train, y_train = generate(phantom.TRAIN_SEED_BASE, args.train)
        x_valid, y_valid = generate(phantom.VALID_SEED_BASE, args.valid)
        t_gen, cpu_gen = time.time() - t0, cpu_seconds() - c0
        if args.cache:
            np.savez(args.cache, x_train=x_train, y_train=y_train, x_valid=x_valid,
                     y_valid=y_valid, seconds=t_gen, cpu_seconds=cpu_gen)
    print(f"generated {args.train} + {args.valid} phantoms in {t_gen:.0f} s ({cpu_gen:.0f} s CPU)",
          flush=True)

    sample = x_train[:1000].astype(np.float64) / 255
    m, s = round(float(sample.mean()), 3), round(float(sample.std()), 3)
    mean, std = torch.tensor(m), torch.tensor(s)

    model = ChestNet()
    params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {params}", flush=True)
    steps = args.epochs * ((args.train + args.batch - 1) // args.batch)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps,
                                                pct_start=0.2)
    t1, c1 = time.time(), cpu_seconds()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(args.train, generator=gen).numpy()
        loss_sum = 0.0
        for j, xb in batches(x_train, mean, std, perm, args.batch):
            flip = torch.rand(len(j), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            yb = torch.from_numpy(y_train[j])
            loss = F.binary_cross_entropy_with_logits(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss) * len(j)
        p = predict(model, x_valid, mean, std)
        aucs = [auc(p[:, k], y_valid[:, k]) for k in range(4)]
        print(f"epoch {epoch + 1}/{args.epochs}: loss {loss_sum / args.train:.4f} held-out AUC "
              + " ".join(f"{a:.4f}" for a in aucs)
              + f" ({time.time() - t1:.0f} s, {cpu_seconds() - c1:.0f} s CPU)", flush=True)
    t_train, cpu_train = time.time() - t1, cpu_seconds() - c1

    model.eval()
    p = predict(model, x_valid, mean, std)
    aucs = [auc(p[:, k], y_valid[:, k]) for k in range(4)]
    onnx_path = os.path.join(out, MODEL)
    ops = export_onnx(model, onnx_path)
    with open(os.path.join(out, "labels.txt"), "w") as f:
        f.write("\n".join(phantom.FINDINGS) + "\n")
    sidecar = {"mean": [m, m, m], "std": [s, s, s], "resize": INPUT, "crop": INPUT,
               "stretch": True, "channels": 1, "labels": "labels.txt",
               "window": list(phantom.WINDOW), "output": "multilabel", "threshold": THRESHOLD}
    with open(os.path.join(out, SIDECAR), "w") as f:
        json.dump(sidecar, f)
        f.write("\n")
    demo = pick_demo(model, mean, std, out)

    rows = []
    for k, name in enumerate(phantom.FINDINGS):
        pos = int(y_valid[:, k].sum())
        pred = p[:, k] >= THRESHOLD
        truth = y_valid[:, k] > 0.5
        sens = float((pred & truth).sum() / max(1, truth.sum()))
        spec = float((~pred & ~truth).sum() / max(1, (~truth).sum()))
        rows.append(f"| {name} | {pos}/{args.valid} | {aucs[k]:.4f} | {sens:.3f} | {spec:.3f} |")
    demo_rows = []
    for fname, seed, labels, boxes, pr in demo:
        present = ", ".join(f"{phantom.FINDINGS[k]} {boxes[k]}" for k in sorted(boxes)) or "none"
        demo_rows.append(f"| `{fname}` | {seed} | {present} | "
                         + " ".join(f"{v:.3f}" for v in pr) + " |")
    size = os.path.getsize(onnx_path)
    report = f"""# The medical demo model: how it was made

`{MODEL}` finds four synthetic findings — {", ".join(phantom.FINDINGS)} — in
procedurally generated chest-radiograph phantoms (`tools/demo-medical/phantom.py`).
Nothing here is real patient data, and the model is a demonstration, not a
medical device. It was trained by `tools/demo-medical/train.py`
(`/usr/bin/python3 tools/demo-medical/train.py`; Debian's PyTorch {torch.__version__},
CPU, {args.threads} thread(s), seeds fixed).

| | |
|---|---|
| images | {phantom.SIZE}×{phantom.SIZE}, 12-bit stored values (MONOCHROME2), collimated field of view, body outline, lungs, spine, clavicles, ribs, noise; each finding present with probability {phantom.P_FINDING}, independently |
| architecture | 5 × (3×3 conv, BatchNorm, ReLU), two 2×2 max-pools, global average pool, one linear layer (4 logits), Sigmoid |
| CAM layer | the last ReLU: 96 channels × 16×16 |
| parameters | {params} (BatchNorm is folded into the convolutions in the ONNX file) |
| input | 1×1×{INPUT}×{INPUT}: window {list(phantom.WINDOW)} (centre, width; DICOM LINEAR), then the whole image stretched (Pillow bilinear); mean {m}, std {s} |
| training data | {args.train} phantoms, seeds {phantom.TRAIN_SEED_BASE}…{phantom.TRAIN_SEED_BASE + args.train - 1}, random horizontal flips |
| held-out data | {args.valid} phantoms, seeds {phantom.VALID_SEED_BASE}…{phantom.VALID_SEED_BASE + args.valid - 1} |
| schedule | {args.epochs} epochs, batch {args.batch}, AdamW (weight decay 1e-4), one-cycle LR peaking at {args.lr}, binary cross-entropy per finding |
| time | generating {t_gen:.0f} s wall ({cpu_gen:.0f} s CPU); training {t_train:.0f} s wall ({cpu_train:.0f} s CPU), {args.threads} thread(s) on a 2-core machine shared with other jobs |
| ONNX | opset 13, input `input` [batch,1,{INPUT},{INPUT}], output `probabilities` [batch,4] (Sigmoid); ops: {", ".join(ops)}; {size} bytes |
| sidecar | `{SIDECAR}`: `{json.dumps(sidecar)}` |

## Held-out results per finding (threshold {THRESHOLD})

| finding | positives | AUC | sensitivity | specificity |
|---|---|---|---|---|
{chr(10).join(rows)}

## Demo DICOM files

Digital X-Ray Image Storage (For Presentation), explicit VR little endian, 16 bits
allocated / 12 stored, Rescale Slope 1 / Intercept 0, Window {phantom.WINDOW[0]}/{phantom.WINDOW[1]},
Pixel Spacing {phantom.PIXEL_SPACING_MM} mm, Body Part CHEST, Study Date {dicomwrite.STUDY_DATE}.
The patient is made up: name `{dicomwrite.PATIENT_NAME}`, ID `{dicomwrite.PATIENT_ID}`,
birth date {dicomwrite.PATIENT_BIRTH_DATE}; tests assert they never appear in Gaze's outputs.
For each file, the first seed from {phantom.DEMO_SEED_BASE} + 1000·k with the findings
forced whose four probabilities are on the right side of {THRESHOLD} by 0.2.
Boxes are (x0, y0, x1, y1) in pixel edges.

| file | seed | findings (box) | p(nodule fracture opacity calcification) |
|---|---|---|---|
{chr(10).join(demo_rows)}
"""
    with open(os.path.join(out, "TRAINING.md"), "w") as f:
        f.write(report)
    print(report)
    print(f"total {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
