#!/usr/bin/python3
# torch_bench.py — the PyTorch side of bench/run: times one torchvision model
# (the same seeded weights that tests/reference exports to ONNX for Gaze) and
# prints JSON with the same keys as `gaze-cli bench --json`.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# forward: torch.no_grad() forward. explain: forward with autograd from the auto
# layer on + Grad-CAM there (backward of the top logit to the layer, weights =
# spatial mean of the gradient, ReLU of the weighted sum). switch: Grad-CAM of another class on the
# retained graph (one backward). With --method scorecam, explain is Score-CAM
# at the auto layer as pytorch-grad-cam runs it (float32, masked forwards in
# batches of --batch under no_grad, cams.raw_scorecam) and switch is Score-CAM
# of another class (its masked forwards again). load: torch.load of the state dict into a
# freshly built model. peak_rss_mib: the process's VmHWM.
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))


def vm_hwm_mib():
    """Peak RSS of this process image (VmHWM). Not ru_maxrss: that one keeps
    the high-water mark of the parent that forked us."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def stats(samples, name):
    return {name + "_ms": statistics.median(samples), name + "_min_ms": min(samples),
            name + "_max_ms": max(samples)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--method", default="gradcam", choices=["gradcam", "scorecam"])
    ap.add_argument("--batch", type=int, default=32, help="Score-CAM masked forwards per batch")
    args = ap.parse_args()

    import numpy as np
    import torch
    import refcommon as rc
    import export_models as em
    import cams

    # PyTorch 1.13 uses one thread here unless told.
    torch.set_num_threads(args.threads)
    name = args.model
    x = torch.from_numpy(np.load(rc.input_path(name)))
    # The reference tests list auto layers only for the models they explain;
    # for the others, the layer Gaze's auto choice picks (`gaze-cli explain
    # --json` names it): resnet50's last stage, vgg16_bn's avgpool, and
    # convnext_tiny's classifier LayerNorm (its [768] output).
    fallback = {"resnet50": ("layer4", "scope"), "vgg16_bn": ("avgpool", "scope"),
                "convnext_tiny": ("classifier.0", "scope")}
    layer_path, rule = em.EXPLAIN_LAYERS.get(name, {}).get("auto", fallback.get(name, (None, None)))

    state = os.path.join(rc.out_dir(), "bench-state", name + ".pt")
    if not os.path.exists(state):
        os.makedirs(os.path.dirname(state), exist_ok=True)
        torch.save(rc.build_model(name).state_dict(), state)
    load = []
    for _ in range(args.warmup + args.repeat):
        t0 = time.perf_counter()
        model = getattr(__import__("torchvision").models, name)()
        model.load_state_dict(torch.load(state))
        model.eval()
        load.append((time.perf_counter() - t0) * 1e3)

    fwd = []
    with torch.no_grad():
        for _ in range(args.warmup + args.repeat):
            t0 = time.perf_counter()
            model(x)
            fwd.append((time.perf_counter() - t0) * 1e3)

    expl, switch = [], []
    if layer_path is not None and args.method == "scorecam":
        with torch.no_grad():
            logits = model(x)
        target, n_classes = int(logits[0].argmax()), logits.shape[1]
        for i in range(args.warmup + args.repeat):
            for c, times in ((target, expl), ((target + 1 + i) % n_classes, switch)):
                t0 = time.perf_counter()
                cap = cams.Capture(model, layer_path, x, target=c, rule=rule)
                torch.relu(cams.raw_scorecam(cap, batch=args.batch))
                times.append((time.perf_counter() - t0) * 1e3)
    elif layer_path is not None:
        # densenet's auto layer is the functional ReLU after norm5: resolve_layer
        # wraps the model so that it is a module too.
        run, module = cams.resolve_layer(model, layer_path, rule)
        captured = {}

        # The strongest baseline: no weight gradients, and the autograd graph
        # starts at the layer (its output re-enters as a leaf), so backward runs
        # only from the logit to the layer, as Gaze's does.
        for p in model.parameters():
            p.requires_grad_(False)

        def keep(_m, _inp, out):
            leaf = out.detach().requires_grad_(True)
            captured["a"] = leaf
            return leaf

        handle = module.register_forward_hook(keep)
        for i in range(args.warmup + args.repeat):
            t0 = time.perf_counter()
            logits = run(x)
            target = int(logits[0].argmax())
            a = captured["a"]
            logits[0, target].backward(retain_graph=True)
            w = a.grad.mean(dim=(2, 3), keepdim=True)
            torch.relu((w * a).sum(1))
            expl.append((time.perf_counter() - t0) * 1e3)
            t0 = time.perf_counter()
            a.grad = None
            logits[0, (target + 1 + i) % logits.shape[1]].backward(retain_graph=True)
            w = a.grad.mean(dim=(2, 3), keepdim=True)
            torch.relu((w * a).sum(1))
            switch.append((time.perf_counter() - t0) * 1e3)
        handle.remove()
    w = args.warmup
    out = {"model": name, "threads": args.threads, "repeat": args.repeat, "method": args.method}
    out.update(stats(load[w:], "load"))
    out.update(stats(fwd[w:], "forward"))
    if expl:
        out.update(stats(expl[w:], "explain"))
        out.update(stats(switch[w:], "switch"))
    out["peak_rss_mib"] = vm_hwm_mib()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
