# refcommon.py — shared helpers of the PyTorch reference scripts: seeded
# torchvision models, paths in the build dir, a file lock, TAP output.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Run with /usr/bin/python3 (Debian's python3-torch 1.13 / torchvision 0.14).

import contextlib
import fcntl
import hashlib
import json
import os
import sys

MODEL_NAMES = [
    "resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small", "densenet121",
    "efficientnet_b0", "squeezenet1_1", "vgg11_bn", "shufflenet_v2_x1_0",
    "regnet_y_400mf", "convnext_tiny",
    # A vision transformer: shifted-window attention exports Mod and BOOL
    # constants. Cheap in CI: ~40 s for both exports, < 1 s per forward
    # (MatMul-bound, so also fast under ASan).
    "swin_t",
]
OPSETS = [13, 17]
SEED = 20240611


def source_dir():
    return os.path.dirname(os.path.abspath(__file__))


def build_root():
    root = os.environ.get("GAZE_BUILD_ROOT")
    if not root:
        root = os.path.join(source_dir(), "..", "..", "build-reference")
    return os.path.abspath(root)


def out_dir():
    # GAZE_REFERENCE_DIR lets several build dirs (CI's plain and sanitizer
    # passes) share one set of exports instead of making them twice.
    d = os.environ.get("GAZE_REFERENCE_DIR") or os.path.join(build_root(), "reference")
    os.makedirs(d, exist_ok=True)
    return d


def shared_dir():
    d = os.environ.get("GAZE_SHARED_DIR")
    if not d:
        d = os.path.join(source_dir(), "..", "..", "..", "shared")
    return os.path.abspath(d)


def model_path(name, opset):
    return os.path.join(out_dir(), "models", "%s-op%d.onnx" % (name, opset))


def input_path(name):
    return os.path.join(out_dir(), "inputs", "%s.npy" % name)


def logits_path(name):
    return os.path.join(out_dir(), "logits", "%s.npy" % name)


@contextlib.contextmanager
def locked(name="export"):
    """Serialises generation between tests that meson runs in parallel."""
    path = os.path.join(out_dir(), ".%s.lock" % name)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def load_json(path, default):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def save_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _seed_for(name):
    # A stable per-model seed (Python's hash() is salted per process).
    return SEED + sum((i + 1) * ord(ch) for i, ch in enumerate(name))


# Bump when the recipe of the models below changes: cached exports made with
# another recipe are regenerated.
RECIPE = "3"


def randomise_norm_stats(model, seed, input_shape=(3, 224, 224)):
    """Non-trivial, well-scaled BatchNorm: random affine parameters (weight ~
    U(0.75, 1.25), bias ~ N(0, 0.1)), then running statistics measured on a
    seeded random batch (one train-mode forward, cumulative average), so they
    are far from (0, 1) yet match what eval mode sees. Purely random statistics
    (mean ~ N(0, 0.1), var ~ U(0.5, 1.5)) compound over 50+ layers into
    activations 1e3 times too large, where float32 itself is ill-conditioned
    (PyTorch float32 vs float64 maps then differ by 1e-2).
    Also gives ConvNeXt's layer scale (1e-6 at init) a non-trivial value."""
    import torch
    g = torch.Generator().manual_seed(seed)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for m in model.modules():
            ls = getattr(m, "layer_scale", None)
            if isinstance(ls, torch.nn.Parameter):
                ls.copy_(torch.rand(ls.shape, generator=g) * 0.2 + 0.1)
        for m in bns:
            n = m.num_features
            if m.affine:
                m.weight.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(n, generator=g) * 0.1)
            m.reset_running_stats()
            m.momentum = None
        if bns:
            model.train()
            model(torch.randn((4,) + tuple(input_shape), generator=g))
        for m in bns:
            m.momentum = 0.1
    model.eval()


def build_model(name, calibrate=True):
    """The torchvision model `name`, randomly initialised with a fixed seed
    (weights cannot be downloaded), BatchNorm made non-trivial, eval mode."""
    import torch
    import torchvision
    seed = _seed_for(name)
    torch.manual_seed(seed)
    model = getattr(torchvision.models, name)(weights=None)
    if calibrate:
        randomise_norm_stats(model, seed + 1)
    model.eval()
    return model


def state_path(name):
    return os.path.join(out_dir(), "models", "%s.pt" % name)


def load_model(name):
    """The exact model that was exported (saved state), else rebuilt."""
    import torch
    p = state_path(name)
    have = os.path.exists(p)
    model = TinyNet.build() if name == "tinynet" else build_model(name, calibrate=not have)
    if have:
        model.load_state_dict(torch.load(p))
    model.eval()
    return model


def build_input(name):
    import numpy as np
    rng = np.random.default_rng(_seed_for(name) + 2)
    return rng.standard_normal((1, 3, 224, 224)).astype(np.float32)


class TinyNet:
    """Factory for a small CNN with a GAP + linear head (Score-CAM and
    Ablation-CAM need one forward per channel; this keeps CI short)."""

    @staticmethod
    def build():
        import torch
        from torch import nn
        torch.manual_seed(SEED + 7)

        def block(cin, cout, stride):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

        class Tiny(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(block(3, 16, 2), block(16, 32, 2),
                                              block(32, 32, 1), block(32, 48, 2))
                self.pool = nn.AdaptiveAvgPool2d(1)
                self.fc = nn.Linear(48, 10)

            def forward(self, x):
                return self.fc(torch.flatten(self.pool(self.features(x)), 1))

        m = Tiny()
        randomise_norm_stats(m, SEED + 8, (3, 64, 64))
        m.eval()
        return m


def run_key_values(cmd, timeout=120):
    """Runs a tool that prints KEY=VALUE lines: (exit status, dict, stderr)."""
    import subprocess
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    info = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition("=")
        info[k] = v
    return r.returncode, info, r.stderr


def pearson(a, b):
    """Pearson correlation of two maps in float64; 1 when both are constant,
    0 when one is (a flat map does not correlate with a structured one)."""
    import numpy as np
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    a = a - a.mean()
    b = b - b.mean()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 and nb == 0:
        return 1.0
    if na == 0 or nb == 0:
        return 0.0
    return float(a @ b / (na * nb))


def state_digest(model):
    """SHA-256 of a torch model's parameters and buffers, in state_dict order."""
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


class ReferenceCache:
    """PyTorch reference results kept on disk under out_dir(), keyed by a
    digest of everything that determines them (the reference code, the
    weights, the input, the case's parameters). CI's plain and sanitizer
    passes share GAZE_REFERENCE_DIR: the second pass reuses the first pass's
    float64 references instead of recomputing them (~400 s of PyTorch), while
    every gaze-cli map is still computed and compared afresh."""

    def __init__(self, kind, files, params):
        h = hashlib.sha256()
        for path in files:
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            h.update(b"\0")
        h.update(json.dumps(params, sort_keys=True, default=str).encode())
        d = os.path.join(out_dir(), "cache", kind)
        os.makedirs(d, exist_ok=True)
        self.path = os.path.join(d, h.hexdigest()[:32] + ".npz")
        self.values = {}
        self.hits = self.misses = 0
        self.dirty = False
        if os.path.exists(self.path):
            import numpy as np
            try:
                with np.load(self.path) as z:
                    self.values = {k: z[k] for k in z.files}
            except (OSError, ValueError):
                self.values = {}

    def get(self, key, compute):
        """The array stored under `key`, else compute() (stored on save())."""
        import numpy as np
        if key in self.values:
            self.hits += 1
            return self.values[key]
        self.misses += 1
        value = np.asarray(compute())
        self.values[key] = value
        self.dirty = True
        return value

    def save(self):
        if not self.dirty:
            return
        import numpy as np
        tmp = self.path + ".%d.tmp.npz" % os.getpid()
        np.savez(tmp, **self.values)
        os.replace(tmp, self.path)
        self.dirty = False


class Tap:
    """Minimal TAP producer: numbered lines, plan printed at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        print("TAP version 13", flush=True)

    def ok(self, cond, msg):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, msg), flush=True)

    def skip(self, msg, reason):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, msg, reason), flush=True)

    def diag(self, msg):
        for line in str(msg).splitlines():
            print("# " + line, flush=True)

    def bail(self, reason):
        print("Bail out! %s" % reason, flush=True)
        sys.exit(1)

    def done(self):
        if self.n == 0:
            print("1..0 # SKIP nothing to test", flush=True)
        else:
            print("1..%d" % self.n, flush=True)
        return 1 if self.failed else 0
