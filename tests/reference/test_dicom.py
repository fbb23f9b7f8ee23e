#!/usr/bin/python3
# test_dicom.py — every DICOM file that Debian's python3-pydicom ships, read by
# gaze-io (tests/io/dicom-dump) and by an independent decoder: the pixel values
# must be equal, or gaze-io must refuse the file with a named error.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: test_dicom.py DICOM_DUMP   (TAP on stdout; one line per file with its
# transfer syntax and the result -- the table of issue 14's closing note)
#
# Independent decoders: pydicom (NumPy) for uncompressed, deflated and RLE
# files; DCMTK's dcmdjpeg / dcmdjpls (Debian dcmtk) to uncompressed, then
# pydicom, for JPEG and JPEG-LS; pydicom's Pillow handler (OpenJPEG) for JPEG
# 2000 -- GDCM also uses OpenJPEG, so for JPEG 2000 only the DICOM framing and
# pixel pipeline are checked independently, not the wavelet decoding.
# Window/level: gaze-io's LINEAR, LINEAR_EXACT and SIGMOID against NumPy
# implementations of the PS3.3 C.11.2.1.2 equations applied to pydicom's values.
import atexit
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import refcommon

try:
    import numpy as np
    import pydicom
    from pydicom.pixel_data_handlers import util as pdu
except ImportError as e:
    print("TAP version 13")
    print(f"1..0 # SKIP /usr/bin/python3 lacks {e.name} (Debian python3-pydicom, python3-numpy)")
    sys.exit(0)

dump = sys.argv[1]
tests_dir = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
files = sorted(glob.glob(os.path.join(tests_dir, "*.dcm")))
if not files:
    print("TAP version 13")
    print(f"1..0 # SKIP no pydicom test files in {tests_dir}")
    sys.exit(0)
tmp = tempfile.mkdtemp(prefix="gaze-dicom-")
atexit.register(shutil.rmtree, tmp, True)

UNCOMPRESSED = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
                "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.5"}
JPEG = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
        "1.2.840.10008.1.2.4.70"}
JPEG_LS = {"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"}
JPEG_2000 = {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}

results = []


def ok(good, name, note=""):
    results.append((good, name, note))


def run_dump(path, prefix, *extra):
    return refcommon.run_key_values([dump, path, prefix, *extra])


def reference(path, ts, frame):
    """(values, how) from the independent decoder, or (None, why)."""
    src = path
    how = "pydicom"
    if ts in JPEG or ts in JPEG_LS:
        tool = "dcmdjpeg" if ts in JPEG else "dcmdjpls"
        if shutil.which(tool) is None:
            return None, f"{tool} missing (Debian dcmtk)"
        src = os.path.join(tmp, "ref.dcm")
        r = subprocess.run([tool, path, src], capture_output=True, text=True)
        how = f"{tool}+pydicom"
        if r.returncode != 0:
            # DCMTK refuses some damaged headers that pydicom reads: then
            # pydicom's own JPEG path (Pillow: libjpeg-turbo, not GDCM's IJG copy).
            src = path
            how = f"pydicom+Pillow ({tool} fails)"
    elif ts in JPEG_2000:
        how = "pydicom+Pillow(OpenJPEG)"
    try:
        ds = pydicom.dcmread(src, force=True)
        arr = ds.pixel_array
    except Exception as e:  # noqa: BLE001 -- any failure of the reference is reported
        return None, f"{how} fails: {type(e).__name__}: {str(e)[:80]}"
    nframes = int(getattr(ds, "NumberOfFrames", 1) or 1)
    spp = int(ds.SamplesPerPixel)
    if nframes > 1:
        arr = arr[frame]
    pi = str(ds.PhotometricInterpretation).strip()
    if spp == 1 and pi == "PALETTE COLOR":
        arr = pdu.apply_color_lut(arr, ds)
    elif spp == 1:
        arr = pdu.apply_modality_lut(arr, ds).astype(np.float64)
    elif pi in ("YBR_FULL", "YBR_FULL_422") and int(ds.BitsAllocated) == 8:
        arr = pdu.convert_color_space(arr, pi, "RGB")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return (arr.astype(np.float64), ds), how


def ts_of(path):
    try:
        ds = pydicom.dcmread(path, force=True, stop_before_pixels=True)
        return str(ds.file_meta.TransferSyntaxUID)
    except Exception:  # noqa: BLE001
        return "?"


loaded = {}
for path in files:
    name = os.path.basename(path)
    prefix = os.path.join(tmp, name)
    rc, info, err = run_dump(path, prefix)
    ts = info.get("transfer_syntax") or ts_of(path)
    if rc == 2:
        msg = info.get("error", "")
        code = msg.split(" ", 1)[0]
        ok(code in ("NOT_IMAGE", "TOO_LARGE", "CORRUPT", "INVALID", "DAMAGED")
           and len(msg) > len(code) + 1,
           f"{name} ({ts}): refused", msg.replace(path, name)[:160])
        continue
    if rc != 0:
        ok(False, f"{name} ({ts}): dicom-dump exited {rc}", err.strip()[:160])
        continue
    got = np.load(prefix + ".values.npy").astype(np.float64)
    ref, how = reference(path, ts, int(info["frame"]))
    if ref is None:
        # Nothing independent decodes it: nothing to compare (not a pass).
        ok(True, f"{name} ({ts}): loaded  # SKIP no independent decoder reads it: {how}")
        continue
    want, ds = ref
    if want.shape != got.shape:
        ok(False, f"{name} ({ts}): loaded", f"shape {got.shape} != {how} {want.shape}")
        continue
    diff = float(np.max(np.abs(want - got))) if got.size else 0.0
    # Colour conversion from YBR rounds in both: one level apart is allowed there.
    tol = 1.0 if info.get("photometric", "").startswith("YBR") else 1e-3 * max(1.0, float(np.max(np.abs(want))))
    ok(diff <= tol, f"{name} ({ts}): loaded, equal to {how}",
       f"frame {info['frame']} of {info['frames']}, {info['photometric']}, max |diff| {diff:g}")
    if int(info["channels"]) == 1 and info.get("voi_lut") == "0":
        loaded[name] = (path, want[:, :, 0], info)


# Window/level against NumPy implementations of PS3.3 C.11.2.1.2.
def np_window(x, c, w, fn):
    if fn == "LINEAR":
        y = np.where(x <= c - 0.5 - (w - 1) / 2, 0.0,
                     np.where(x > c - 0.5 + (w - 1) / 2, 1.0, (x - (c - 0.5)) / (w - 1) + 0.5))
    elif fn == "LINEAR_EXACT":
        y = np.where(x <= c - w / 2, 0.0, np.where(x > c + w / 2, 1.0, (x - c) / w + 0.5))
    else:
        y = 1.0 / (1.0 + np.exp(-4.0 * (x - c) / w))
    return y


for name in ("CT_small.dcm", "MR_small.dcm"):
    if name not in loaded:
        ok(False, f"window/level on {name}", "the file did not load")
        continue
    path, values, info = loaded[name]
    invert = info.get("monochrome1") == "1"
    # The default window: the file's first preset, else its values' min..max.
    c0, w0, fn0 = info["window"].split(",")
    default = np_window(values, float(c0), float(w0), fn0)
    default = 1.0 - default if invert else default
    got = np.load(os.path.join(tmp, name) + ".u8.npy")[:, :, 0]
    diff = float(np.max(np.abs(np.rint(default * 255.0) - got)))
    ok(diff <= 1.0, f"{name}: default window {info['window']} to 8 bits", f"max |diff| {diff:g}")
    lo, hi = float(values.min()), float(values.max())
    for fn in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
        for c, w in (((lo + hi) / 2, hi - lo), (lo + (hi - lo) * 0.3, (hi - lo) * 0.25), (40.0, 400.0)):
            prefix = os.path.join(tmp, f"{name}.{fn}")
            rc, _, err = run_dump(path, prefix, "--window", f"{c!r},{w!r},{fn}")
            if rc != 0:
                ok(False, f"{name}: window {fn} {c:g}/{w:g}", err.strip()[:120])
                continue
            got = np.load(prefix + ".windowed.npy")[:, :, 0].astype(np.float64)
            want = np_window(values, c, w, fn)
            want = 1.0 - want if invert else want
            diff = float(np.max(np.abs(want - got)))
            ok(diff <= 1e-5, f"{name}: window {fn} {c:g}/{w:g}", f"max |diff| {diff:g}")

print("TAP version 13")
print(f"1..{len(results)}")
for i, (good, name, note) in enumerate(results, 1):
    line = f"{'ok' if good else 'not ok'} {i} - {name}"
    if note:
        line += f"  # {note}"
    print(line)
