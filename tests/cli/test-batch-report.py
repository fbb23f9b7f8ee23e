#!/usr/bin/python3
# test-batch-report.py — the cohort report (`gaze-cli batch-report`, and `batch` at the end
# of a run) on a real batch: demo scenes and flipped copies of them (one under a name with
# <&" in it) plus a file that is no image. report.html parses, has one table row per result
# (the error row included), escapes the path, references only files of the folder; report.pdf
# is a PDF whose text has the counts; with labels, the confusion matrix equals the one computed
# here from results.jsonl and the misclassified images come first; headless Chromium renders
# the page with its overlays.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: test-batch-report.py GAZE_CLI   (TAP on stdout)
import atexit
import collections
import csv
import glob
import html
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

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
tmp = tempfile.mkdtemp(prefix="gaze-report-")
atexit.register(shutil.rmtree, tmp, True)
results = []
WEIRD = 'a <b> & "c".png'


def ok(cond, msg, diag=""):
    results.append((bool(cond), msg, diag))


def skip(msg, why):
    results.append((True, f"{msg} # SKIP {why}", ""))


def run(*args, timeout=600):
    p = subprocess.run([cli, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def rows_of(out):
    with open(os.path.join(out, "results.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


class Page(html.parser.HTMLParser):
    """What the checks need from report.html: the result rows, the confusion
    matrix cells, every file reference and the figures of the contact sheet."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.rows = []  # data-path of each <tr> in table#results > tbody
        self.confusion = {}  # (true, predicted) → count
        self.cell = None
        self.refs = []  # src/href/data-overlay values
        self.figures = []
        self.table = None
        self.in_body = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.table = a.get("id")
        if tag == "tbody":
            self.in_body = True
        if tag == "tr" and self.table == "results" and self.in_body:
            self.rows.append(a.get("data-path"))
        if tag == "td" and self.table == "confusion":
            self.cell = (int(a["data-true"]), int(a["data-pred"]))
            self.confusion[self.cell] = ""
        if tag == "figure":
            self.figures.append(a)
        for k in ("src", "href", "data-overlay"):
            if a.get(k) is not None:
                self.refs.append(a[k])

    def handle_endtag(self, tag):
        if tag == "table":
            self.table = None
        if tag == "tbody":
            self.in_body = False
        if tag == "td":
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.confusion[self.cell] += data


def parse(out):
    p = Page()
    with open(os.path.join(out, "report.html"), encoding="utf-8") as f:
        text = f.read()
    p.feed(text)
    p.close()
    return p, text


def pdf_text(path):
    info = subprocess.run(["pdfinfo", path], capture_output=True, text=True, timeout=60)
    pages = re.search(r"^Pages:\s+(\d+)", info.stdout, re.M)
    text = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, text=True,
                          timeout=60).stdout
    return info.returncode, int(pages.group(1)) if pages else 0, text


def check_references(out, page, text, what):
    ok(not re.search(r"(?i)\b(https?|ftp)://|//[a-z0-9.-]+\.[a-z]{2,}/", text)
       and not re.search(r"(?i)url\(", text),
       f"{what}: no network URL anywhere in the page")
    refs = [r for r in page.refs if not r.startswith("#")]  # links within the page
    files = [urllib.parse.unquote(r) for r in refs]
    ok(files and all(not urllib.parse.urlsplit(r).scheme and not r.startswith("/") for r in refs)
       and all(os.path.isfile(os.path.join(out, f)) for f in files),
       f"{what}: every src/href/overlay is a relative path to a file of the folder",
       [f for f in files if not os.path.isfile(os.path.join(out, f))][:5])


# ---- A cohort: the scenes, their mirror images, a file that is no image ----
cohort = os.path.join(tmp, "in")
os.makedirs(cohort)
names = []
shape_of = {}  # demo-01-star.png and its mirror image → star
for i, s in enumerate(scenes):
    base = os.path.basename(s)
    shutil.copy(s, os.path.join(cohort, base))
    flipped = WEIRD if i == 0 else base.replace(".png", "-flip.png")
    with Image.open(s) as im:
        im.transpose(Image.FLIP_LEFT_RIGHT).save(os.path.join(cohort, flipped))
    names += [base, flipped]
    shape_of[base] = shape_of[flipped] = base.split("-")[2].split(".")[0]
with open(os.path.join(cohort, "broken.png"), "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n this is not a PNG")

out = os.path.join(tmp, "out")
rc, _, err = run("batch", "--model", model, "--out", out, "--threads", "1", "--quiet", cohort)
ok(rc == 0, "batch exits 0", err)
rows = rows_of(out)
ok(len(rows) == len(names) + 1, "results.jsonl: one row per image", len(rows))
ok(os.path.isfile(os.path.join(out, "report.html")) and os.path.isfile(os.path.join(out,
                                                                                      "report.pdf")),
   "batch writes report.html and report.pdf at the end of the run")
left = [n for n in os.listdir(out) if n.startswith(".") or "~" in n or "XXXXXX" in n]
ok(not left, "no temporary file is left", left)

page, text = parse(out)
ok(sorted(page.rows) == sorted(r["path"] for r in rows) and len(page.rows) == len(rows),
   "report.html: one table row per result, the error row included",
   (len(page.rows), len(rows)))
ok("broken.png" in page.rows and "broken.png" in text.split('id="errors"')[1].split("</ul>")[0],
   "… and the error is in the errors list")
ok(WEIRD in page.rows and "<b>" not in text and "&lt;b&gt; &amp; &quot;c&quot;" in text,
   "a path with <&\" is HTML-escaped (and reads back as itself)")
check_references(out, page, text, "report.html")
ok(len(page.figures) == len(names)
   and sorted(f["data-path"] for f in page.figures) == sorted(names),
   "the contact sheet has one overlay per explained image", len(page.figures))
classes_in_rows = collections.Counter(r["class"] for r in rows if r["status"] == "ok")
ok(collections.Counter(int(f["data-cls"]) for f in page.figures) == classes_in_rows
   and all(abs(float(f["data-p"]) - r["probability"]) < 1e-5
           for f in page.figures for r in rows if r["path"] == f["data-path"]),
   "each figure carries its class and probability for the filters")
ok(not page.confusion, "no labels: no confusion matrix")

rc_info, pages, ptext = pdf_text(os.path.join(out, "report.pdf"))
n_ok = sum(r["status"] == "ok" for r in rows)
ok(rc_info == 0 and pages >= 1, "report.pdf: pdfinfo reads it", (rc_info, pages))
summary = (f"Images: {len(names) + 1}. Result rows: {len(rows)} (ok {n_ok}, errors 1, "
           "skipped 0). Images with an error: 1.")
ok(summary in " ".join(ptext.split()), "report.pdf: the summary counts", ptext[:600])
ok(pages >= 3 and "Contact sheet" in ptext and "broken.png" in ptext,
   "report.pdf: summary, table and contact sheet pages", pages)
images = subprocess.run(["pdfimages", "-list", os.path.join(out, "report.pdf")],
                        capture_output=True, text=True, timeout=60).stdout.splitlines()[2:]
ok(len(images) == len(names), "report.pdf: one thumbnail per overlay", len(images))

# ---- With labels and ROIs: generated scenes, some labels wrong on purpose ------
sys.path.insert(0, os.path.join(root, "tools", "demo"))
from cohort import write_cohort  # noqa: E402

gen = os.path.join(tmp, "generated")
entries = write_cohort(gen, 12)
man = os.path.join(gen, "cohort.csv")
with open(man, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["path", "label", "roi"])
    for i, (n, true, roi) in enumerate(entries):
        if i % 4 == 1:
            true = labels[(labels.index(true) + 1) % len(labels)]  # wrong on purpose
        w.writerow([n, true, ",".join(str(v) for v in roi)])
    w.writerow(["missing.png", "star", ""])  # an error row
lab_out = os.path.join(tmp, "labelled")
rc, _, err = run("batch", "--model", model, "--out", lab_out, "--threads", "1", "--quiet",
                 "--no-report", man)
ok(rc == 0 and not os.path.exists(os.path.join(lab_out, "report.html")),
   "batch --no-report writes no report", err)
rc, _, err = run("batch-report", lab_out)
ok(rc == 0 and os.path.isfile(os.path.join(lab_out, "report.pdf")), "gaze-cli batch-report DIR",
   err)
lrows = rows_of(lab_out)
expected = collections.Counter()
seen = set()
for r in lrows:
    if r["path"] in seen or not r.get("top") or r.get("label_class") is None:
        continue
    seen.add(r["path"])
    expected[(r["label_class"], r["top"][0]["class"])] += 1
lpage, ltext = parse(lab_out)
got = {k: int(v) for k, v in lpage.confusion.items()}
ok(got and {k: v for k, v in got.items() if v} == dict(expected)
   and sum(got.values()) == len(entries),
   "the confusion matrix equals the one computed from results.jsonl", (got, dict(expected)))
wrong = [r["path"] for r in lrows if r.get("correct") is False]
ok(wrong and lpage.rows[:len(wrong)] == wrong, "misclassified images first in the table",
   (wrong, lpage.rows[:len(wrong)]))
ok([f["data-path"] for f in lpage.figures][:len(wrong)] == wrong
   and all(f.get("data-correct") == "0" for f in lpage.figures[:len(wrong)]),
   "… and first in the contact sheet")
hits = {r["path"]: r["pointing_hit"] for r in lrows if r["status"] == "ok"}
ok(len(lpage.figures) == len(entries) and None not in hits.values()
   and all(f.get("data-hit") == str(int(hits[f["data-path"]])) for f in lpage.figures),
   "with ROIs each figure carries its pointing hit or miss for the filter")
check_references(lab_out, lpage, ltext, "labelled report.html")
_, _, lptext = pdf_text(os.path.join(lab_out, "report.pdf"))
acc = sum(1 for (t, p), n in expected.items() if t == p for _ in range(n))
ok(f"Top-1 accuracy: {acc} / {len(entries)} labelled images" in " ".join(lptext.split())
   and "Confusion matrix" in lptext, "report.pdf: accuracy and the confusion matrix", lptext[:800])

rc, _, err = run("batch-report", os.path.join(tmp, "nowhere"))
ok(rc == 1 and "results.jsonl" in err, "a folder without results.jsonl: exit 1", err)
rc, _, err = run("batch-report")
ok(rc == 2, "no DIR: usage error", err)

# ---- In a real browser ----------------------------------------------------------
chromium = shutil.which("chromium")
if chromium is None:
    skip("headless Chromium renders the report",
         "the 'chromium' executable is missing (Debian package chromium, tools/setup.sh)")
else:
    shot = os.path.join(tmp, "shot.png")
    profile = os.path.join(tmp, "chromium-profile")
    args = [chromium, "--headless", "--disable-gpu", "--user-data-dir=" + profile,
            "--window-size=1200,3000", "--hide-scrollbars", "--screenshot=" + shot,
            "file://" + urllib.parse.quote(os.path.join(lab_out, "report.html"))]
    # Chromium refuses to run as root with its sandbox, and CI containers often
    # lack the user namespaces it needs; the page is our own local file.
    args.insert(1, "--no-sandbox")
    env = dict(os.environ, HOME=tmp)
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=180, env=env)
        diag = p.stderr[-600:]
    except subprocess.TimeoutExpired as e:
        diag = f"chromium did not finish in {e.timeout} s"
    if not os.path.isfile(shot):
        ok(False, "headless Chromium renders the report", diag)
    else:
        px = np.asarray(Image.open(shot).convert("RGB")).astype(np.int16)
        ok(px.shape[0] > 1000 and px.std() > 10 and len(np.unique(px.reshape(-1, 3), axis=0)) > 100,
           "headless Chromium renders the report (not blank)", (px.shape, float(px.std())))
        # Jet's yellow comes only from the overlays (the page's own colours are
        # greys, pale tints and one blue): the images of the folder loaded under
        # the page's Content-Security-Policy. Without them the count is 0.
        yellow = (px[..., 0] > 150) & (px[..., 1] > 150) & (px[..., 2] < 80)
        ok(yellow.sum() > 500, "… with the overlays of the contact sheet", int(yellow.sum()))

    # The page's script: a copy with a probe appended sorts by probability
    # (a header click), filters the sheet (probability ≥ 0.9, misclassified
    # only) and leaves what it sees in the DOM that --dump-dom prints.
    probe = os.path.join(lab_out, "probe.html")
    with open(os.path.join(lab_out, "report.html"), encoding="utf-8") as f:
        page_text = f.read()
    with open(probe, "w", encoding="utf-8") as f:
        f.write(page_text.replace("</body>", """<script>
var t = document.getElementById('results');
t.tHead.rows[0].cells[5].click();
var probs = Array.prototype.map.call(t.tBodies[0].rows, function (r) { return r.cells[5].dataset.v; });
function shown() {
  return Array.prototype.filter.call(document.querySelectorAll('#sheet figure'),
    function (f) { return f.style.display !== 'none'; }).map(function (f) { return f.dataset.path; });
}
var all = shown();
document.getElementById('f-pmin').value = '0.9';
document.getElementById('filters').dispatchEvent(new Event('input'));
var high = shown();
document.getElementById('f-pmin').value = '0';
document.getElementById('f-correct').value = '0';
document.getElementById('filters').dispatchEvent(new Event('input'));
var p = document.createElement('pre');
p.id = 'probe';
p.textContent = JSON.stringify({probs: probs, all: all, high: high, wrong: shown()});
document.body.appendChild(p);
</script></body>"""))
    args = [a for a in args if not a.startswith(("--screenshot", "--window-size", "file:"))]
    args += ["--dump-dom", "file://" + urllib.parse.quote(probe)]
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=180, env=env)
        m = re.search(r'<pre id="probe">(.*?)</pre>', p.stdout, re.S)
        seen = json.loads(html.unescape(m.group(1))) if m else None
        diag = p.stdout[-300:] + p.stderr[-300:]
    except subprocess.TimeoutExpired as e:
        seen, diag = None, f"chromium did not finish in {e.timeout} s"
    ok(seen is not None, "the page's script runs in Chromium", diag)
    if seen is not None:
        numbers = [float(v) for v in seen["probs"] if v != ""]
        ok(numbers == sorted(numbers) and len(numbers) == len(entries)
           and seen["probs"][len(numbers):] == [""] * (len(lrows) - len(numbers)),
           "a header click sorts by probability (rows without one last)", seen["probs"])
        ok(sorted(seen["all"]) == sorted(r["path"] for r in lrows if r.get("overlay"))
           and sorted(seen["high"]) == sorted(r["path"] for r in lrows
                                              if r.get("overlay") and r["probability"] >= 0.9)
           and sorted(seen["wrong"]) == sorted(wrong),
           "the contact sheet filters: probability range, misclassified only",
           (seen, wrong))

print("TAP version 13")
print(f"1..{len(results)}")
for i, (good_, msg, diag) in enumerate(results, 1):
    print(f"{'ok' if good_ else 'not ok'} {i} - {msg}")
    if not good_ and diag:
        for line in str(diag).splitlines()[:20]:
            print(f"# {line}")
