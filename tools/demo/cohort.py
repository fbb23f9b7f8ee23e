#!/usr/bin/python3
# cohort.py — a generated cohort for `gaze-cli batch`: scenes and a manifest with labels and ROIs
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes COUNT procedural scenes (scenes.py, held-out seeds) as PNGs into a
folder, and FOLDER/cohort.csv with the columns path, label (the true class
name) and roi (the object's bounding box, x,y,w,h in image pixels), so that a
batch run gets labels (confusion matrix, accuracy) and ROIs (energy share,
pointing game).

    /usr/bin/python3 tools/demo/cohort.py --out /tmp/cohort --count 40
    gaze-cli batch --model data/demo/shapes.onnx --out /tmp/results /tmp/cohort/cohort.csv

tests/cli/test-batch-report.py imports write_cohort(); the README's report
screenshot (docs/cohort-report.png) is made from such a cohort.
"""

import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenes import CLASSES, TEST_SEED_BASE, make_scene  # noqa: E402

# Past the held-out accuracy set's first 100 000 seeds, so a cohort never
# repeats a scene that measured the model.
COHORT_SEED_BASE = TEST_SEED_BASE + 500_000


def write_cohort(folder, count, seed_base=COHORT_SEED_BASE):
    """The scenes and FOLDER/cohort.csv; returns [(file name, class name, (x, y, w, h))]."""
    os.makedirs(folder, exist_ok=True)
    entries = []
    for i in range(count):
        image, label, (x0, y0, x1, y1) = make_scene(seed_base + i)
        name = f"scene-{i:03d}-{CLASSES[label]}.png"
        image.save(os.path.join(folder, name))
        entries.append((name, CLASSES[label], (x0, y0, x1 - x0, y1 - y0)))
    with open(os.path.join(folder, "cohort.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "roi"])
        for name, label, roi in entries:
            w.writerow([name, label, ",".join(str(v) for v in roi)])
    return entries


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="the folder to write (made when missing)")
    ap.add_argument("--count", type=int, default=40, help="how many scenes (default 40)")
    args = ap.parse_args()
    write_cohort(args.out, args.count)
    print(os.path.join(args.out, "cohort.csv"))


if __name__ == "__main__":
    main()
