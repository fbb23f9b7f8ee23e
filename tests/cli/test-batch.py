#!/usr/bin/python3
# test-batch.py — `gaze-cli batch` and `batch-merge` on the demo scenes (data/demo):
# one row per image with a corrupt file as an error row, the table against
# `predict` and `explain`, manifests with labels and ROIs, resuming (nothing
# redone; a deleted output redone alone), SIGINT mid-run, shards 0/2 + 1/2
# merged == one run, the same under GNU parallel, and the documented shard hash.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: test-batch.py GAZE_CLI   (TAP on stdout)
import atexit
import csv
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    from PIL import Image
except ImportError as e:
    print("TAP version 13")
    print(f"1..0 # SKIP /usr/bin/python3 lacks {e.name}")
    sys.exit(0)

cli = sys.argv[1]
root = os.environ.get("GAZE_SOURCE_ROOT",
                      os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
demo = os.path.join(root, "data", "demo")
model = os.path.join(demo, "shapes.onnx")
labels = [line.strip() for line in open(os.path.join(demo, "labels.txt")) if line.strip()]
scenes = sorted(glob.glob(os.path.join(demo, "demo-*.png")))
tmp = tempfile.mkdtemp(prefix="gaze-batch-")
atexit.register(shutil.rmtree, tmp, True)
results = []


def ok(cond, msg, diag=""):
    results.append((bool(cond), msg, diag))


def run(*args, timeout=600):
    p = subprocess.run([cli, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def batch(out, *inputs, extra=()):
    return run("batch", "--model", model, "--out", out, "--threads", "1", *extra, *inputs)


def rows_of(out):
    with open(os.path.join(out, "results.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def stable(rows):
    """The rows without their timings (the only part allowed to differ)."""
    return [{k: v for k, v in r.items() if k != "timings_ms"} for r in rows]


def csv_stable(out):
    with open(os.path.join(out, "results.csv"), newline="") as f:
        table = list(csv.reader(f))
    return [[c for c, h in zip(row, table[0]) if not h.endswith("_ms")] for row in table]


def fnv1a64(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def in_run(stderr):
    """How many images the run computed, from its first progress line."""
    for line in stderr.splitlines():
        if "images in this run" in line:
            return int(line.split("batch: ")[1].split()[0])
    return -1


# A folder: the six scenes (one in a subfolder) and a file that is no image.
cohort = os.path.join(tmp, "in")
os.makedirs(os.path.join(cohort, "sub"))
for i, s in enumerate(scenes):
    dst = os.path.join(cohort, "sub" if i == len(scenes) - 1 else "", os.path.basename(s))
    shutil.copy(s, dst)
with open(os.path.join(cohort, "broken.png"), "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n this is not a PNG")
with open(os.path.join(cohort, "notes.txt"), "w") as f:
    f.write("not an image name: the folder walk leaves it out\n")
expected = sorted(["broken.png"] + [os.path.basename(s) for s in scenes[:-1]]
                  + ["sub/" + os.path.basename(scenes[-1])])

# ---- One run over the folder ------------------------------------------------
single = os.path.join(tmp, "single")
rc, out, err = batch(single, cohort, extra=("--maps",))
ok(rc == 0, "batch over a folder exits 0", err)
rows = rows_of(single)
ok([r["path"] for r in rows] == expected, "one row per image, sorted by relative path",
   [r["path"] for r in rows])
bad = [r for r in rows if r["path"] == "broken.png"]
ok(len(bad) == 1 and bad[0]["status"] == "error" and "broken.png" in bad[0]["error"],
   "the corrupt file is one row with its error", bad)
good = [r for r in rows if r["path"] != "broken.png"]
ok(all(r["status"] == "ok" and r["error"] is None for r in good), "every scene is ok")
ok(csv_stable(single)[1:] and [c[0] for c in csv_stable(single)[1:]] == expected,
   "results.csv has the same rows in the same order")

# Against `predict` and `explain` for every scene.
for r in good:
    src = os.path.join(cohort, r["path"])
    rc, pout, perr = run("predict", "--json", "--threads", "1", model, src)
    top = json.loads(pout)["top"]
    same = [t["class"] for t in r["top"]] == [t["index"] for t in top][:len(r["top"])]
    close = all(abs(a["probability"] - b["probability"]) < 1e-5 for a, b in zip(r["top"], top))
    ok(same and close and r["class"] == top[0]["index"] and r["class_label"] == labels[r["class"]],
       f"{r['path']}: top-k and explained class as `predict` says", (r["top"], top))
    heat = os.path.join(tmp, "heat.npy")
    rc, eout, eerr = run("explain", "--threads", "1", "--heatmap", heat, model, src)
    ours = np.load(os.path.join(single, r["map"]))
    ok(rc == 0 and np.array_equal(ours, np.load(heat)),
       f"{r['path']}: the .npy map equals `explain --heatmap`", eerr)
    p = ours.astype(np.float64).clip(min=0).ravel()
    p = p[p > 0] / p.sum()
    entropy = float(-(p * np.log(p)).sum() / np.log(ours.size))
    ok(abs(entropy - r["entropy"]) < 1e-4, f"{r['path']}: entropy of the normalised map",
       (entropy, r["entropy"]))
    with Image.open(src) as im:
        size = im.size
    with Image.open(os.path.join(single, r["overlay"])) as ov:
        osize, ofmt = ov.size, ov.format
    ok(ofmt == "PNG" and osize == size and [r["image_width"], r["image_height"]] == list(size),
       f"{r['path']}: the overlay is a PNG of the photo's size", (osize, size))
    ok(0 <= r["peak"][0] < size[0] and 0 <= r["peak"][1] < size[1],
       f"{r['path']}: the peak lies in the image", r["peak"])
left = [n for n in glob.glob(os.path.join(single, "**", "*"), recursive=True)
        if os.path.isfile(n) and not n.endswith((".png", ".npy", ".json", ".jsonl", ".csv", ".html", ".pdf"))]
ok(not left, "no temporary file is left", left)

# ---- Resuming ---------------------------------------------------------------
records = sorted(glob.glob(os.path.join(single, "done", "*.json")))
mtimes = {p: os.stat(p).st_mtime_ns for p in records}
rc, out, err = batch(single, cohort, extra=("--maps",))
ok(rc == 0 and in_run(err) == 0, "a second run does nothing", err)
ok(all(os.stat(p).st_mtime_ns == mtimes[p] for p in records), "… and rewrites no record")
ok(stable(rows_of(single)) == stable(rows), "… and the table is the same")
victim = good[2]
os.unlink(os.path.join(single, victim["overlay"]))
rc, out, err = batch(single, cohort, extra=("--maps",))
changed = [p for p in records if os.stat(p).st_mtime_ns != mtimes[p]]
ok(rc == 0 and in_run(err) == 1 and len(changed) == 1
   and os.path.exists(os.path.join(single, victim["overlay"])),
   "a deleted overlay: only that image is redone", (err, changed))
ok(stable(rows_of(single)) == stable(rows), "… with the same rows")
rc, out, err = batch(single, cohort, extra=("--maps", "--force"))
ok(rc == 0 and in_run(err) == len(expected), "--force recomputes every image", err)
rc, out, err = batch(single, cohort)
ok(rc == 0 and in_run(err) == len(expected), "other settings (no --maps): every image redone", err)
rc, out, err = batch(single, cohort, extra=("--maps",))  # back to the reference settings

# ---- A manifest with labels and ROIs ------------------------------------------
man_dir = os.path.join(tmp, "m")
os.makedirs(man_dir)
names = [os.path.basename(s) for s in scenes]
for s in scenes:
    shutil.copy(s, man_dir)
truth = {n: n.split("-")[2].split(".")[0] for n in names}  # demo-01-star.png → star
w0, h0 = Image.open(scenes[0]).size
manifest = os.path.join(man_dir, "cohort.csv")
with open(manifest, "w", newline="") as f:
    wr = csv.writer(f)
    wr.writerow(["path", "label", "roi"])
    wr.writerow([names[0], truth[names[0]], f"0,0,{w0},{h0}"])  # the whole image
    wr.writerow(["./" + names[1], truth[names[1]], "0 0 1 1"])  # a corner pixel
    wr.writerow([names[2], "ring", ""])  # a wrong label
    wr.writerow([names[3], str(labels.index(truth[names[3]])), ""])  # label by index
    wr.writerow([names[4], "", "1,2,3"])  # a roi that does not parse
    wr.writerow(["missing.png", "star", ""])
man_out = os.path.join(tmp, "manifest-out")
rc, out, err = batch(man_out, manifest, extra=("--classes", "label,top"))
mrows = rows_of(man_out)
by = {}
for r in mrows:
    by.setdefault(r["path"], []).append(r)
ok(rc == 0 and sorted(by) == sorted(names[:5] + ["missing.png"]),
   "a manifest: one entry per row, './' dropped from the key", (err, sorted(by)))
r0 = by[names[0]]
ok(len(r0) == 1 and r0[0]["label_class"] == labels.index(truth[names[0]]) and r0[0]["correct"],
   "a right label: one row (label = top), correct", r0)
ok(abs(r0[0]["roi_energy"] - 1) < 1e-6 and r0[0]["pointing_hit"] is True
   and r0[0]["roi"] == [0, 0, w0, h0], "a whole-image roi holds all the energy and the peak", r0)
r1 = by[names[1]][0]
ok(r1["roi_energy"] < 0.01 and r1["pointing_hit"] is False, "a one-pixel corner roi: a miss", r1)
r2 = by[names[2]]
ok(len(r2) == 2 and r2[0]["class"] == labels.index("ring") and r2[1]["class"] != r2[0]["class"]
   and all(r["correct"] is False for r in r2), "a wrong label: its class, then the top class", r2)
ok(by[names[3]][0]["label_class"] == labels.index(truth[names[3]]), "a label given as an index")
ok(by[names[4]][0]["status"] == "error" and "roi" in by[names[4]][0]["error"],
   "a roi that does not parse: an error row", by[names[4]])
ok(by["missing.png"][0]["status"] == "error" and "no such file" in by["missing.png"][0]["error"],
   "a missing file: an error row", by["missing.png"])
tsv = os.path.join(man_dir, "cohort.tsv")
with open(tsv, "w") as f:
    f.write("label\tpath\n" + "".join(f"{truth[n]}\t{n}\n" for n in names))
rc, out, err = batch(os.path.join(tmp, "tsv-out"), tsv)
trows = rows_of(os.path.join(tmp, "tsv-out"))
ok(rc == 0 and [r["path"] for r in trows] == sorted(names) and all(r["correct"] for r in trows),
   "a TSV manifest, columns in any order", err)

# ---- SIGINT mid-run ----------------------------------------------------------
# Score-CAM (slow enough to interrupt) on 16 images: the rerun that completes
# them is most of this test's time under ASan (~2.5 s per image).
N_MANY = 16
many = os.path.join(tmp, "many")
os.makedirs(many)
for i in range(N_MANY):
    shutil.copy(scenes[i % len(scenes)], os.path.join(many, f"img-{i:03d}.png"))
sig_out = os.path.join(tmp, "sigint")
args = [cli, "batch", "--model", model, "--out", sig_out, "--threads", "1",
        "--methods", "scorecam", many]
proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
table = os.path.join(sig_out, "results.jsonl")
deadline = time.monotonic() + 300
while time.monotonic() < deadline and proc.poll() is None:
    if os.path.exists(table) and os.path.getsize(table) > 0:
        break
    time.sleep(0.01)
proc.send_signal(signal.SIGINT)
_, err = proc.communicate(timeout=300)
part = rows_of(sig_out)
ok(proc.returncode == 130 and 1 <= len(part) < N_MANY, "SIGINT after the first row: exit 130, "
   "a partial table", (proc.returncode, len(part), err[-300:]))
lines = open(table).read().splitlines()
ok(all(json.loads(line) for line in lines), "every line of the interrupted table parses")
records = glob.glob(os.path.join(sig_out, "done", "*"))
ok(all(p.endswith(".json") and json.load(open(p)) for p in records) and len(records) >= len(part),
   "every record of the interrupted run is whole JSON")
rc, out, err = batch(sig_out, many, extra=("--methods", "scorecam"))
full = rows_of(sig_out)
ok(rc == 0 and len(full) == N_MANY and 0 < in_run(err) <= N_MANY - len(part),
   "the rerun completes, doing only what was left", (rc, len(full), err[-300:]))
ok(all(r["status"] == "ok" for r in full), "every image of the resumed run is ok")

# ---- Shards ----------------------------------------------------------------
shards = [os.path.join(tmp, f"shard{i}") for i in range(2)]
for i, d in enumerate(shards):
    rc, out, err = batch(d, cohort, extra=("--maps", "--shard", f"{i}/2"))
    ok(rc == 0, f"shard {i}/2 exits 0", err)
parts = [[r["path"] for r in rows_of(d)] for d in shards]
ok(sorted(parts[0] + parts[1]) == expected and not set(parts[0]) & set(parts[1]),
   "the two shards partition the images", parts)
ok(all(fnv1a64(p) % 2 == i for i in range(2) for p in parts[i]),
   "each image is in shard FNV-1a-64(relative path) mod N", parts)
merged = os.path.join(tmp, "merged")
rc, out, err = run("batch-merge", "--out", merged, *shards)
ok(rc == 0 and stable(rows_of(merged)) == stable(rows_of(single)),
   "batch-merge of 0/2 and 1/2 == the single run (results.jsonl)", err)
ok(csv_stable(merged) == csv_stable(single), "… and results.csv")
ok(all(os.path.exists(os.path.join(merged, r[k])) for r in rows_of(merged)
       for k in ("overlay", "map") if r.get(k)), "… with every overlay and map")
rc, out, err = batch(merged, cohort, extra=("--maps",))
ok(rc == 0 and in_run(err) == 0, "a batch run on the merged folder has nothing left to do", err)
bad_merge = run("batch-merge", "--out", os.path.join(tmp, "mixed"), shards[0],
                os.path.join(tmp, "tsv-out"))
ok(bad_merge[0] == 1 and "other settings" in bad_merge[2],
   "batch-merge refuses folders made with other settings", bad_merge[2])

# ---- The same under GNU parallel ----------------------------------------------
parallel = shutil.which("parallel")
if parallel is None:
    results.append((True, "GNU parallel # SKIP the 'parallel' executable is missing "
                    "(Debian package parallel, tools/setup.sh)", ""))
else:
    base = os.path.join(tmp, "par")
    p = subprocess.run([parallel, "--will-cite", "--halt", "now,fail=1", "-j", "2",
                        cli, "batch", "--model", model, "--out", base + "-{}", "--threads", "1",
                        "--maps", "--quiet", "--shard", "{}/2", cohort, ":::", "0", "1"],
                       capture_output=True, text=True, timeout=600)
    ok(p.returncode == 0, "two shards under GNU parallel exit 0", p.stderr)
    rc, out, err = run("batch-merge", "--out", base + "-merged", base + "-0", base + "-1")
    ok(rc == 0 and stable(rows_of(base + "-merged")) == stable(rows_of(single))
       and csv_stable(base + "-merged") == csv_stable(single),
       "GNU parallel shards merged == the single run", err)

# ---- Usage errors -------------------------------------------------------------
rc, out, err = run("batch", "--model", model, cohort)
ok(rc == 2 and "--out" in err, "--out is required", err)
rc, out, err = run("batch", "--model", model, "--out", os.path.join(tmp, "x"), "--shard", "2/2",
                   cohort)
ok(rc == 2 and "--shard" in err, "--shard 2/2 is a usage error", err)
rc, out, err = run("batch", "--model", model, "--out", os.path.join(tmp, "x"), "--methods",
                   "gradcam,nope", cohort)
ok(rc == 2 and "nope" in err, "an unknown method is a usage error", err)

print("TAP version 13")
print(f"1..{len(results)}")
for i, (good_, msg, diag) in enumerate(results, 1):
    print(f"{'ok' if good_ else 'not ok'} {i} - {msg}")
    if not good_ and diag:
        for line in str(diag).splitlines()[:20]:
            print(f"# {line}")
