#!/usr/bin/python3
# make_findings.py — writes findings.onnx, the small multi-label model of the
# UI test (tests/ui/test-window.c /window/multilabel). Run it from this folder
# with Debian's /usr/bin/python3 (torch); the output is committed.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# A seeded 3-conv CNN on 64×64 RGB, global average pooling, a Linear layer
# over 14 findings and a Sigmoid: the graph ends in Sigmoid, so Gaze treats it
# as multi-label. The Linear biases are then set so that, on
# data/demo/demo-01-star.png (stretched to 64×64 as findings.json says), the
# findings POSITIVE have logit +1.5 (probability 0.82) and every other one −1.5
# (0.18): far from the 0.5 threshold, so small preprocessing differences
# cannot move a finding across it.
import os

import numpy as np
import torch
from PIL import Image
from torch import nn

POSITIVE = [2, 5, 9, 12]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..")

torch.manual_seed(1414)
model = nn.Sequential(
    nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
    nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
    nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 14), nn.Sigmoid()).eval()

img = Image.open(os.path.join(ROOT, "data", "demo", "demo-01-star.png")).convert("RGB")
x = np.asarray(img.resize((64, 64), Image.BILINEAR), np.float32) / 255.0
x = (x - 0.5) / 0.25
x = torch.from_numpy(x.transpose(2, 0, 1).copy())[None]
with torch.no_grad():
    logits = model[:-1](x)[0]
    want = torch.full((14,), -1.5)
    want[POSITIVE] = 1.5
    model[-2].bias += want - logits
    print("probabilities:", [round(float(p), 3) for p in model(x)[0]])
torch.onnx.export(model, x, os.path.join(HERE, "findings.onnx"), opset_version=13,
                  input_names=["input"], output_names=["findings"])
