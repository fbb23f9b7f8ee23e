#!/usr/bin/env python3
# test-includes.py — the engine's include graph stays layered. TAP.
#
# Nodes are the engine's modules: a source and its header (gz-gemm.c and
# gz-gemm.h) are one node, named by the path without its extension. An edge
# A -> B is an `#include "B.h"` in A.c or A.h that resolves to a header of
# engine/ (generated headers such as onnx.pb-c.h and system headers are not
# nodes). Checked:
#   1. no cycle among modules (a cycle means two files that cannot be
#      understood, tested or moved apart: gz-blas <-> gz-gemm was one);
#   2. engine/core includes nothing from engine/ops: the operators depend on
#      the core, not the other way round;
#   3. engine/ includes no GLib or GTK header (the engine is plain C).
# SPDX-License-Identifier: GPL-3.0-or-later
import os
import re
import sys

root = os.environ.get("GAZE_SOURCE_ROOT") or os.path.join(os.path.dirname(__file__), "..", "..")
engine = os.path.join(root, "engine")
include_re = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)

headers = {}  # basename -> module
files = []
for dirpath, dirnames, filenames in os.walk(engine):
    dirnames[:] = [d for d in dirnames if not d.startswith(".")]
    for f in filenames:
        if f.endswith((".c", ".h")):
            path = os.path.relpath(os.path.join(dirpath, f), root)
            files.append(path)
            if f.endswith(".h"):
                if f in headers:
                    print(f"1..1\nnot ok 1 - two engine headers are named {f}")
                    sys.exit(1)
                headers[f] = os.path.splitext(path)[0]


def module(path):
    return os.path.splitext(path)[0]


edges = {}  # module -> {module: the file and header that make the edge}
system_bad = []
for path in sorted(files):
    with open(os.path.join(root, path), encoding="utf-8") as f:
        text = f.read()
    for kind, name in include_re.findall(text):
        base = os.path.basename(name)
        if kind == "<" and re.match(r"(glib|gio|gtk|gdk|adwaita|gobject)", name):
            system_bad.append(f"{path}: <{name}>")
        if kind == '"' and base in headers and headers[base] != module(path):
            edges.setdefault(module(path), {})[headers[base]] = f"{path} includes {name}"

# 1. cycles: depth-first search, reporting each cycle found once.
cycles = []
state = {}  # module -> 1 on the stack, 2 done
stack = []


def visit(m):
    state[m] = 1
    stack.append(m)
    for n in sorted(edges.get(m, {})):
        if state.get(n) == 1:
            cyc = stack[stack.index(n):] + [n]
            cycles.append(" -> ".join(os.path.relpath(c, "engine") for c in cyc)
                          + "  (" + "; ".join(edges[a][b] for a, b in zip(cyc, cyc[1:])) + ")")
        elif n not in state:
            visit(n)
    stack.pop()
    state[m] = 2


for m in sorted(set(module(p) for p in files)):
    if m not in state:
        visit(m)

core_ops = [why for m, outs in sorted(edges.items()) if m.startswith("engine/core/")
            for n, why in sorted(outs.items()) if n.startswith("engine/ops/")]

n_edges = sum(len(v) for v in edges.values())
print("1..3")
if cycles:
    print(f"not ok 1 - the engine's include graph has {len(cycles)} cycle(s)")
    for c in cycles:
        print(f"# {c}")
else:
    print(f"ok 1 - no include cycle among {len(set(module(p) for p in files))} engine modules "
          f"({n_edges} edges)")
if core_ops:
    print(f"not ok 2 - engine/core includes engine/ops ({len(core_ops)} edges)")
    for why in core_ops:
        print(f"# {why}")
else:
    print("ok 2 - engine/core includes nothing from engine/ops")
if system_bad:
    print("not ok 3 - the engine includes GLib/GTK headers")
    for why in system_bad:
        print(f"# {why}")
else:
    print("ok 3 - no GLib/GTK header in engine/")
sys.exit(1 if cycles or core_ops or system_bad else 0)
