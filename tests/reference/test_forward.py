#!/usr/bin/python3
# test_forward.py — `gaze-cli predict --input-tensor` reproduces PyTorch's
# logits for seeded torchvision exports (opsets 13 and 17).
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: /usr/bin/python3 test_forward.py PATH/TO/gaze-cli [--models a,b]
# Criterion (issue 3): max |gaze - torch| <= 1e-4 * max(1, max |torch logit|).
# Exports are made (or reused) in $GAZE_BUILD_ROOT/reference by export_models.

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refcommon as rc  # noqa: E402
import export_models  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gaze_cli")
    ap.add_argument("--models", default=",".join(rc.MODEL_NAMES))
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    import numpy as np

    tap = rc.Tap()
    t0 = time.time()
    models = [m for m in args.models.split(",") if m]
    manifest = export_models.ensure(models, rc.OPSETS, quiet=True)
    tap.diag("exports ready in %.1f s (%s)" % (time.time() - t0, rc.out_dir()))

    with tempfile.TemporaryDirectory() as tmp:
        for name in models:
            ref = np.load(rc.logits_path(name)) if os.path.exists(rc.logits_path(name)) else None
            for opset in rc.OPSETS:
                key = "%s-op%d" % (name, opset)
                rec = manifest.get(key, {})
                if rec.get("status") != "ok":
                    tap.skip("predict %s" % key, "not exported: %s" % rec.get("reason", "?"))
                    continue
                out = os.path.join(tmp, key + ".npy")
                cmd = [args.gaze_cli, "predict", rc.model_path(name, opset),
                       "--input-tensor", rc.input_path(name), "--logits", out]
                if args.threads:
                    cmd.append("--threads=%d" % args.threads)
                t1 = time.time()
                r = subprocess.run(cmd, capture_output=True, text=True)
                dt = time.time() - t1
                if r.returncode != 0 or not os.path.exists(out):
                    msg = (r.stderr.strip() or r.stdout.strip()).splitlines()
                    tap.ok(False, "predict %s: exit %d: %s" %
                           (key, r.returncode, msg[-1] if msg else ""))
                    continue
                got = np.load(out)
                if got.shape != ref.shape:
                    tap.ok(False, "predict %s: logits shape %s, torch %s" %
                           (key, got.shape, ref.shape))
                    continue
                err = float(np.abs(got.astype(np.float64) - ref).max())
                scale = max(1.0, float(np.abs(ref).max()))
                tol = 1e-4 * scale
                same_top = int(np.argmax(got)) == int(np.argmax(ref))
                tap.ok(err <= tol and np.all(np.isfinite(got)),
                       "predict %s: max abs err %.3g (tol %.3g, max|logit| %.3g, "
                       "top-1 %s, %.2f s)" % (key, err, tol, float(np.abs(ref).max()),
                                              "same" if same_top else "DIFFERS", dt))
    tap.diag("total %.1f s" % (time.time() - t0))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
