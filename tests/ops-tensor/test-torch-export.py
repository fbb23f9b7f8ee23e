#!/usr/bin/python3
# test-torch-export.py — small torch modules built from tensor operators, exported
# to ONNX at several opsets with a symbolic batch, run through the engine (forward
# and backward to the input at batch 1, forward at batch 3) and compared with
# PyTorch's own output and autograd.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# usage: test-torch-export.py MODEL_TOOL   (prints TAP)
import os
import subprocess
import sys
import tempfile
import warnings

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import onnx  # noqa: F401  (torch.onnx.export needs it)
except ImportError as e:
    print(f"1..0 # SKIP PyTorch/ONNX not available: {e}")
    sys.exit(0)

warnings.filterwarnings("ignore")
torch.manual_seed(0)


class Shapes(nn.Module):
    """Pad, strided Slice, Split, Concat, Transpose, LayerNorm, and the
    Shape → Gather → Unsqueeze → Concat → Reshape chain of view(size(0), -1)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.ln = nn.LayerNorm(8)
        self.fc = nn.Linear(8 * 5 * 4, 6)

    def forward(self, x):
        y = self.conv(x)                     # [N,8,8,8]
        y = F.pad(y, (1, 0, 0, 1))           # [N,8,9,9]
        y = y[:, :, ::2, 1:-1]               # [N,8,5,7]
        y = y[:, :, :, 1:5]                  # [N,8,5,4]
        a, b = torch.chunk(y, 2, dim=1)
        y = torch.cat([b, a * 2.0], 1)
        y = y.permute(0, 2, 3, 1)            # [N,5,4,8]
        y = self.ln(y)
        y = y.permute(0, 3, 1, 2).contiguous()
        y = y.reshape(y.size(0), -1)
        return self.fc(y)


class Reductions(nn.Module):
    """ReduceMean, ReduceSum, ReduceMax, Softmax, LogSoftmax, Flatten, Unsqueeze/Squeeze."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3)

    def forward(self, x):
        y = self.conv(x)                     # [N,6,6,6]
        m = y.mean(dim=(2, 3))               # [N,6]
        s = y.sum(dim=3).amax(dim=2)         # [N,6]
        p = torch.softmax(m * 3.0, dim=1)
        q = torch.log_softmax(s, dim=-1)
        z = torch.flatten(y[:, :2], 1).unsqueeze(1).squeeze(1)
        return torch.cat([p, q, z.mean(dim=1, keepdim=True)], 1)


class GatherExpand(nn.Module):
    """Gather with constant indices, Expand, Transpose back and forth, Split with sizes."""

    def __init__(self):
        super().__init__()
        self.register_buffer("idx", torch.tensor([2, 0, 1, 1]))

    def forward(self, x):
        y = torch.index_select(x, 1, self.idx)          # [N,4,8,8]
        y = y * y[:, :1].expand(-1, 4, -1, -1)
        a, b = torch.split(y, [3, 1], dim=1)
        y = (a.transpose(2, 3) + b).sum(dim=1)          # [N,8,8]
        return y.reshape(x.shape[0], -1)[:, ::3]


class OptionAShortcut(nn.Module):
    """The resnet-cifar shortcut: x[:, :, ::2, ::2] zero-padded along channels
    (torch emits ConstantOfShape, Concat, Reshape, a reversed Slice, Transpose, Cast, Pad)."""

    def forward(self, x):
        y = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, 2, 2), "constant", 0)
        return torch.flatten(F.relu(y), 1)


class Plain(nn.Module):
    """Exportable at every opset: unit-step Slice, Pad, Split, Squeeze/Unsqueeze and
    Softmax on a middle axis, so opset 9's attribute forms are exercised too."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x):
        y = self.conv(x)[:, :, 1:7, 2:]                  # [N,4,6,6]
        y = F.pad(y, (2, 1, 0, 1), "constant", 0.5)      # [N,4,7,9]
        a, b = torch.split(y, [1, 3], dim=1)
        y = torch.softmax(b, dim=1) * a
        y = y.unsqueeze(2).squeeze(2).transpose(2, 3)
        return y.reshape(y.shape[0], -1)


class Interp(nn.Module):
    """F.interpolate: nearest ×2, bilinear to a size, bicubic with aligned corners."""

    def forward(self, x):
        a = F.interpolate(x, scale_factor=2, mode="nearest")                   # [N,3,16,16]
        b = F.interpolate(x, size=(5, 11), mode="bilinear", align_corners=False)
        c = F.interpolate(x, size=(12, 7), mode="bicubic", align_corners=True)
        return torch.cat([a.flatten(1), b.flatten(1), c.flatten(1)], 1)


class InterpNearest(nn.Module):
    """Nearest ×2 and ×3, which opset 9 exports as Upsample."""

    def forward(self, x):
        a = F.interpolate(x, scale_factor=2, mode="nearest")
        b = F.interpolate(x[:, :1], scale_factor=3, mode="nearest")
        return torch.cat([a.flatten(1), b.flatten(1)], 1)


MODELS = [Shapes, Reductions, GatherExpand, OptionAShortcut, Plain, Interp, InterpNearest]
OPSETS = [9, 11, 13, 17]


def run_case(tool, tmp, cls, opset):
    model = cls().eval()
    x = torch.randn(1, 3, 8, 8)
    path = os.path.join(tmp, f"{cls.__name__}-{opset}.onnx")
    try:
        torch.onnx.export(model, x, path, opset_version=opset, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
    except Exception as e:  # some modules cannot be expressed at old opsets
        return "skip", f"torch cannot export at opset {opset}: {str(e).splitlines()[0][:80]}"
    xr = x.clone().requires_grad_(True)
    ref = model(xr)
    g = torch.randn_like(ref)
    (ref * g).sum().backward()
    files = [os.path.join(tmp, n) for n in ("in.npy", "out.npy", "gout.npy", "gin.npy")]
    np.save(files[0], x.numpy())
    np.save(files[2], g.numpy())
    r = subprocess.run([tool, path, files[0], files[1], files[2], files[3]],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return "fail", r.stderr.strip()
    out = np.load(files[1])
    gin = np.load(files[3])
    want = ref.detach().numpy()
    if out.shape != want.shape:
        return "fail", f"output shape {out.shape}, torch {want.shape}"
    err = np.abs(out - want).max() / (1.0 + np.abs(want).max())
    gerr = np.abs(gin - xr.grad.numpy()).max() / (1.0 + np.abs(xr.grad.numpy()).max())
    if err > 1e-4 or gerr > 1e-4:
        return "fail", f"relative error: output {err:.2e}, input gradient {gerr:.2e}"
    # the shape chains again at another batch size (the plan is per batch)
    x3 = torch.randn(3, *x.shape[1:])
    np.save(files[0], x3.numpy())
    r = subprocess.run([tool, path, files[0], files[1]], capture_output=True, text=True)
    if r.returncode != 0:
        return "fail", "batch 3: " + r.stderr.strip()
    want3 = model(x3).detach().numpy()
    out3 = np.load(files[1])
    if out3.shape != want3.shape:
        return "fail", f"batch 3: output shape {out3.shape}, torch {want3.shape}"
    err3 = np.abs(out3 - want3).max() / (1.0 + np.abs(want3).max())
    if err3 > 1e-4:
        return "fail", f"batch 3: relative output error {err3:.2e}"
    return "ok", f"output error {err:.1e}, gradient error {gerr:.1e}, batch 3 {err3:.1e}"


def main():
    tool = sys.argv[1]
    cases = [(m, o) for m in MODELS for o in OPSETS]
    print(f"1..{len(cases)}")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (cls, opset) in enumerate(cases, 1):
            name = f"{cls.__name__} opset {opset}"
            status, msg = run_case(tool, tmp, cls, opset)
            if status == "ok":
                print(f"ok {i} - {name} # {msg}")
            elif status == "skip":
                print(f"ok {i} - {name} # SKIP {msg}")
            else:
                print(f"not ok {i} - {name}")
                for line in msg.splitlines():
                    print(f"# {line}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
