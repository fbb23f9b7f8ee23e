#!/usr/bin/python3
# train.py — trains Gaze's demo CNN on procedural scenes and exports it to ONNX
# SPDX-License-Identifier: GPL-3.0-or-later
"""Trains the demo shape classifier and writes data/demo/.

    /usr/bin/python3 tools/demo/train.py --cache /tmp/demo-scenes.npz \
        --threads 1 --epochs 6 --checkpoint /tmp/stage1.pt --out /tmp/stage1
    /usr/bin/python3 tools/demo/train.py --cache /tmp/demo-scenes.npz \
        --threads 1 --epochs 6 --resume /tmp/stage1.pt

is how the committed model was made (two one-cycle stages of 6 epochs; the
machine was shared, so one thread ran faster than two). CPU cost: about 200 s
generating 9000 scenes and 2 × 220 s training.

Writes shapes.onnx, shapes.json (the sidecar), labels.txt, the demo PNGs and
TRAINING.md into --out (default: data/demo beside this repository's tools/).
Everything is seeded: scenes come from tools/demo/scenes.py by seed, PyTorch
is seeded (--threads, default 2); a rerun gives the same figures up to float
summation order in PyTorch's CPU kernels.

Model: 6 conv blocks (3×3 conv, BatchNorm, ReLU; two 2×2 max-pools) ending at
a 16×16×128 feature map, global average pooling and one linear layer, so that
CAM applies to the last block. Input: the whole image stretched to 128×128
(Pillow's bilinear resize, antialiased when shrinking; Gaze's default
resampler reproduces it bit for bit), normalised with the training set's mean
and std.
"""

import argparse
import json
import multiprocessing as mp
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scenes  # noqa: E402

INPUT = 128
DEMO_ORDER = ["star", "circle", "triangle", "square", "cross", "ring"]


def to_input_u8(img):
    """The scene stretched to INPUT×INPUT, as uint8 HWC (PIL's bilinear filter
    widens with the downscale factor; Gaze's default "pil" resampler matches it)."""
    return np.asarray(img.resize((INPUT, INPUT), Image.BILINEAR), np.uint8)


def _gen(seed):
    img, label, _ = scenes.make_scene(seed)
    return to_input_u8(img), label


def generate(seed_base, count, procs):
    seeds = range(seed_base, seed_base + count)
    x = np.empty((count, INPUT, INPUT, 3), np.uint8)
    y = np.empty(count, np.int64)
    with mp.get_context("fork").Pool(procs) as pool:
        for i, (a, l) in enumerate(pool.imap(_gen, seeds, chunksize=64)):
            x[i] = a
            y[i] = l
    return x, y


def cpu_seconds():
    """CPU time of this process and its finished children (the machine may be shared)."""
    import resource
    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def conv_block(cin, cout, stride=1):
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True)]


class ShapesNet(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.features = nn.Sequential(
            *conv_block(3, 16, 2),          # 64×64
            nn.MaxPool2d(2),                # 32×32
            *conv_block(16, 32),
            *conv_block(32, 64),
            nn.MaxPool2d(2),                # 16×16
            *conv_block(64, 96),
            *conv_block(96, 128),
            *conv_block(128, 128),          # the CAM layer: 128×16×16
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(128, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def dihedral(x, gen):
    """Random flips and transposes per sample: every class is closed under them."""
    n = x.shape[0]
    r = torch.randint(0, 2, (3, n), generator=gen).bool()
    x = torch.where(r[0, :, None, None, None], x.flip(3), x)
    x = torch.where(r[1, :, None, None, None], x.flip(2), x)
    x = torch.where(r[2, :, None, None, None], x.transpose(2, 3), x)
    return x


def batches(x_u8, mean, std, idx, bs):
    for s in range(0, len(idx), bs):
        j = idx[s:s + bs]
        xb = torch.from_numpy(x_u8[j]).permute(0, 3, 1, 2).float().div_(255)
        yield j, (xb - mean) / std


@torch.no_grad()
def evaluate(model, x_u8, y, mean, std):
    model.eval()
    pred = np.empty(len(y), np.int64)
    for j, xb in batches(x_u8, mean, std, np.arange(len(y)), 256):
        pred[j] = model(xb).argmax(1).numpy()
    return pred


def export_onnx(model, path):
    model.eval()
    dummy = torch.zeros(1, 3, INPUT, INPUT)
    torch.onnx.export(model, dummy, path, opset_version=13, input_names=["input"],
                      output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    allowed = {"Conv", "BatchNormalization", "Relu", "MaxPool", "GlobalAveragePool",
               "Flatten", "Gemm"}
    if not set(ops) <= allowed:
        raise SystemExit(f"unexpected ONNX ops: {ops}")
    return ops


def pick_demo(model, mean, std, rng_base, per_class=200):
    """For each class, the first seed (in a fixed order) whose object is large
    enough to see at a glance and which the model gets right with p > 0.95."""
    chosen = {}
    model.eval()
    for cls in DEMO_ORDER:
        k = scenes.CLASSES.index(cls)
        for j in range(per_class):
            seed = rng_base + 1000 * k + j
            img, label, box = scenes.make_scene(seed, label=k)
            side = min(box[2] - box[0], box[3] - box[1])
            if side < 0.25 * min(img.size):
                continue
            xb = torch.from_numpy(to_input_u8(img).copy()).permute(2, 0, 1)[None].float() / 255
            with torch.no_grad():
                p = F.softmax(model((xb - mean) / std), 1)[0]
            if int(p.argmax()) == k and float(p[k]) > 0.95:
                chosen[cls] = (seed, img, box, float(p[k]))
                break
        else:
            raise SystemExit(f"no demo image found for {cls}")
    return chosen


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "data", "demo"))
    ap.add_argument("--train", type=int, default=8000, help="training scenes")
    ap.add_argument("--test", type=int, default=1000, help="held-out scenes")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--resume", help="start from this checkpoint (see --checkpoint)")
    ap.add_argument("--checkpoint", help="save the weights here after every epoch")
    ap.add_argument("--cache", help="keep the generated scenes in this .npz between runs")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    t0 = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)

    # The scenes are a pure function of their seeds; --cache only saves
    # regenerating them between runs (TRAINING.md reports the generation time
    # measured when the cache was made).
    cached = None
    if args.cache and os.path.exists(args.cache):
        cached = np.load(args.cache)
        if len(cached["y_train"]) < args.train or len(cached["y_test"]) < args.test:
            cached = None
    if cached is not None:
        x_train, y_train = cached["x_train"][:args.train], cached["y_train"][:args.train]
        x_test, y_test = cached["x_test"][:args.test], cached["y_test"][:args.test]
        n_cached = len(cached["y_train"]) + len(cached["y_test"])
        t_gen = float(cached["seconds"]) * (args.train + args.test) / n_cached
        cpu_gen = float(cached["cpu_seconds"]) * (args.train + args.test) / n_cached
        print(f"loaded {args.train} + {args.test} scenes from {args.cache}", flush=True)
    else:
        c0 = cpu_seconds()
        x_train, y_train = generate(scenes.TRAIN_SEED_BASE, args.train, args.threads)
        x_test, y_test = generate(scenes.TEST_SEED_BASE, args.test, args.threads)
        t_gen = time.time() - t0
        cpu_gen = cpu_seconds() - c0
        if args.cache:
            np.savez(args.cache, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                     seconds=t_gen, cpu_seconds=cpu_gen)
    print(f"generated {args.train} + {args.test} scenes in {t_gen:.0f} s "
          f"({cpu_gen:.0f} s CPU)", flush=True)

    # Mean and std over the training pixels, rounded: these go into the sidecar.
    sample = x_train[:2000].reshape(-1, 3).astype(np.float64) / 255
    mean_l = [round(float(v), 3) for v in sample.mean(0)]
    std_l = [round(float(v), 3) for v in sample.std(0)]
    mean = torch.tensor(mean_l).view(1, 3, 1, 1)
    std = torch.tensor(std_l).view(1, 3, 1, 1)

    model = ShapesNet(len(scenes.CLASSES))
    history = []
    if args.resume:
        # Continue from an earlier run's checkpoint with a fresh one-cycle
        # schedule; the stages are recorded in TRAINING.md.
        ck = torch.load(args.resume)
        model.load_state_dict(ck["model"])
        history = ck.get("history", [])
        if ck["mean"] != mean_l or ck["std"] != std_l:
            raise SystemExit("--resume: the checkpoint was trained on other data")
    stage = {"epochs": 0, "batch": args.batch, "lr": args.lr, "train": args.train}
    model = model.to(memory_format=torch.channels_last)
    params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {params}", flush=True)

    steps = args.epochs * ((args.train + args.batch - 1) // args.batch)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps,
                                                pct_start=0.15)
    t1 = time.time()
    c1 = cpu_seconds()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(args.train, generator=gen).numpy()
        total, correct, loss_sum = 0, 0, 0.0
        for j, xb in batches(x_train, mean, std, perm, args.batch):
            xb = dihedral(xb, gen).contiguous(memory_format=torch.channels_last)
            yb = torch.from_numpy(y_train[j])
            logits = model(xb)
            loss = F.cross_entropy(logits, yb, label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss) * len(j)
            correct += int((logits.argmax(1) == yb).sum())
            total += len(j)
        acc = (evaluate(model, x_test, y_test, mean, std) == y_test).mean()
        print(f"epoch {epoch + 1}/{args.epochs}: loss {loss_sum / total:.4f} "
              f"train acc {correct / total:.4f} held-out acc {acc:.4f} "
              f"({time.time() - t1:.0f} s)", flush=True)
        if args.checkpoint:
            stage.update(epochs=epoch + 1, seconds=round(time.time() - t1),
                         cpu_seconds=round(cpu_seconds() - c1))
            torch.save({"model": model.state_dict(), "mean": mean_l, "std": std_l,
                        "history": history + [dict(stage)],
                        "epoch": epoch + 1, "acc": float(acc)}, args.checkpoint)
    t_train = time.time() - t1
    cpu_train = cpu_seconds() - c1

    model = model.to(memory_format=torch.contiguous_format).eval()
    pred = evaluate(model, x_test, y_test, mean, std)
    acc = float((pred == y_test).mean())
    K = len(scenes.CLASSES)
    confusion = np.zeros((K, K), np.int64)
    for t, p in zip(y_test, pred):
        confusion[t, p] += 1

    onnx_path = os.path.join(out, "shapes.onnx")
    ops = export_onnx(model, onnx_path)
    with open(os.path.join(out, "labels.txt"), "w") as f:
        f.write("\n".join(scenes.CLASSES) + "\n")
    sidecar = {"mean": mean_l, "std": std_l, "resize": INPUT, "crop": INPUT, "stretch": True,
               "labels": "labels.txt"}
    with open(os.path.join(out, "shapes.json"), "w") as f:
        json.dump(sidecar, f)
        f.write("\n")

    demo = pick_demo(model, mean, std, scenes.DEMO_SEED_BASE)
    demo_rows = []
    for n, cls in enumerate(DEMO_ORDER, 1):
        seed, img, box, p = demo[cls]
        name = f"demo-{n:02d}-{cls}.png"
        img.save(os.path.join(out, name), optimize=True)
        demo_rows.append(f"| `{name}` | {seed} | {img.size[0]}×{img.size[1]} | "
                         f"({box[0]}, {box[1]}, {box[2]}, {box[3]}) | {p:.3f} |")
    t_total = time.time() - t0

    stage.update(epochs=args.epochs, seconds=round(t_train), cpu_seconds=round(cpu_train))
    stages = history + [stage]
    schedule = ", then ".join(
        f"{s['epochs']} epochs (batch {s['batch']}, one-cycle LR peaking at {s['lr']})"
        for s in stages)
    if len(stages) > 1:
        schedule += (" — resumed with `--resume CHECKPOINT`: the earlier stage's "
                     "checkpoint, same data")
    per_class = "\n".join(
        f"| {c} | {int(confusion[i].sum())} | {confusion[i, i] / max(1, confusion[i].sum()):.3f} | "
        + " ".join(str(int(v)) for v in confusion[i]) + " |"
        for i, c in enumerate(scenes.CLASSES))
    size = os.path.getsize(onnx_path)
    report = f"""# The demo model: how it was made

`shapes.onnx` classifies procedural scenes (`tools/demo/scenes.py`) into six shapes:
{", ".join(scenes.CLASSES)}. It was trained by `tools/demo/train.py`
(`/usr/bin/python3 tools/demo/train.py`; Debian's PyTorch {torch.__version__}, CPU,
{args.threads} threads, seeds fixed).

| | |
|---|---|
| architecture | 6 × (3×3 conv, BatchNorm, ReLU), two 2×2 max-pools, global average pool, one linear layer |
| CAM layer | the last ReLU: 128 channels × 16×16 |
| parameters | {params} (trainable, BatchNorm included; BatchNorm is folded into the convolutions in the ONNX file) |
| input | 1×3×{INPUT}×{INPUT}, the whole image stretched (sidecar `"stretch": true`), mean {mean_l}, std {std_l} |
| training data | {args.train} scenes, seeds {scenes.TRAIN_SEED_BASE}…{scenes.TRAIN_SEED_BASE + args.train - 1}, random flips and transposes |
| held-out data | {args.test} scenes, seeds {scenes.TEST_SEED_BASE}…{scenes.TEST_SEED_BASE + args.test - 1} |
| schedule | {schedule}; AdamW (weight decay 1e-4), label smoothing 0.05 |
| **held-out accuracy** | **{acc * 100:.2f} %** ({int((pred == y_test).sum())}/{len(y_test)}) |
| time | generating the scenes {t_gen:.0f} s wall ({cpu_gen:.0f} s CPU); training {sum(s['seconds'] for s in stages):.0f} s wall ({sum(s['cpu_seconds'] for s in stages):.0f} s CPU); {args.threads} threads on a 2-core machine shared with other jobs |
| ONNX | opset 13, input `input` [batch,3,{INPUT},{INPUT}], output `logits` [batch,{K}]; ops: {", ".join(ops)}; {size} bytes |

## Held-out results per class

| class | scenes | accuracy | predicted as ({" ".join(scenes.CLASSES)}) |
|---|---|---|---|
{per_class}

## Demo images

Generated by `scenes.make_scene(seed, label)`; for each class the first seed from
{scenes.DEMO_SEED_BASE} + 1000·class whose object is at least a quarter of the image's
shorter side and which the model classifies correctly with p > 0.95.
Boxes are (x0, y0, x1, y1) in pixel edges.

| file | seed | size | object box | p(class) |
|---|---|---|---|---|
{chr(10).join(demo_rows)}
"""
    with open(os.path.join(out, "TRAINING.md"), "w") as f:
        f.write(report)
    print(f"held-out accuracy {acc * 100:.2f} %, parameters {params}, "
          f"generation {t_gen:.0f} s ({cpu_gen:.0f} s CPU), training {t_train:.0f} s "
          f"({cpu_train:.0f} s CPU); wrote {out}")


if __name__ == "__main__":
    main()
