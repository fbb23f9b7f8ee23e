#!/usr/bin/python3
# test-robust-dicom.py — a hostile DICOM corpus through gaze-cli predict
# (issue 14): truncations at many offsets, Rows × Columns × frames beyond any
# size, Bits Allocated 0/7/64, absurd windows, Number of Frames 0/huge, pixel
# data of the wrong length, sequences nested 100000 deep, a value length past
# the end of the file, a palette whose LUT has the wrong size, frames out of
# range. Each must end in a clear error naming the file (or a correct image):
# no signal, no sanitizer report, no hang, bounded memory.
# The files are written here (explicit VR little endian, by hand: the point is
# what a well-behaved writer such as pydicom refuses to produce).
# SPDX-License-Identifier: GPL-3.0-or-later
import os
import signal
import struct
import tempfile
import time

from robustlib import CLI, done, ok, small_cnn, write



def run_peak(args, timeout=60):
    """gaze-cli with this one child's own peak RSS in MiB, from wait4
    (robustlib's RUSAGE_CHILDREN keeps the largest of all children so far)."""
    env = dict(os.environ)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        pid = os.posix_spawn(CLI, [CLI, *args], env, file_actions=[
            (os.POSIX_SPAWN_DUP2, fo.fileno(), 1), (os.POSIX_SPAWN_DUP2, fe.fileno(), 2)])
        deadline = time.monotonic() + timeout
        while True:
            wpid, status, usage = os.wait4(pid, os.WNOHANG)
            if wpid:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.wait4(pid, 0)
                raise TimeoutError(f"gaze-cli still running after {timeout} s")
            time.sleep(0.02)
        fo.seek(0)
        fe.seek(0)
        return (os.waitstatus_to_exitcode(status), fo.read().decode(errors="replace"),
                fe.read().decode(errors="replace"), usage.ru_maxrss / 1024.0)


tmp = tempfile.mkdtemp(prefix="gaze-robust-dicom-")
model = write(os.path.join(tmp, "m.onnx"), small_cnn())

LONG_VRS = {b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN"}
UNDEFINED = 0xFFFFFFFF


def el(group, element, vr, value, length=None):
    """One explicit-VR little-endian element; length overrides the real one."""
    if len(value) % 2:
        value += b"\0" if vr in (b"OB", b"UI") else b" "
    n = len(value) if length is None else length
    head = struct.pack("<HH", group, element) + vr
    if vr in LONG_VRS:
        return head + b"\0\0" + struct.pack("<I", n) + value
    return head + struct.pack("<H", n & 0xFFFF) + value


def us(group, element, v):
    return el(group, element, b"US", struct.pack("<H", v))


def text(group, element, vr, s):
    return el(group, element, vr, s.encode("ascii"))


def meta(ts="1.2.840.10008.1.2.1"):
    body = (el(0x0002, 0x0001, b"OB", b"\0\1")
            + text(0x0002, 0x0002, b"UI", "1.2.840.10008.5.1.4.1.1.7")
            + text(0x0002, 0x0003, b"UI", "1.2.3.4.5.6.7")
            + text(0x0002, 0x0010, b"UI", ts)
            + text(0x0002, 0x0012, b"UI", "1.2.3.4"))
    return (b"\0" * 128 + b"DICM" + el(0x0002, 0x0000, b"UL", struct.pack("<I", len(body)))
            + body)


def image(rows=16, cols=16, bits=16, stored=None, frames=None, photometric="MONOCHROME2",
          spp=1, pixels=None, pixel_length=None, center=None, width=None, extra=b"",
          before_pixels=b""):
    stored = bits if stored is None else stored
    if pixels is None:
        nbytes = rows * cols * spp * max(bits, 8) // 8 * (int(frames) if frames and frames.isdigit()
                                                          and int(frames) < 64 else 1)
        pixels = bytes((i * 7) & 0xFF for i in range(min(nbytes, 1 << 20)))
    ds = (text(0x0008, 0x0016, b"UI", "1.2.840.10008.5.1.4.1.1.7")
          + text(0x0008, 0x0060, b"CS", "OT")
          + extra
          + us(0x0028, 0x0002, spp)
          + text(0x0028, 0x0004, b"CS", photometric)
          + (text(0x0028, 0x0008, b"IS", frames) if frames is not None else b"")
          + us(0x0028, 0x0010, rows) + us(0x0028, 0x0011, cols)
          + us(0x0028, 0x0100, bits) + us(0x0028, 0x0101, stored)
          + us(0x0028, 0x0102, max(stored - 1, 0)) + us(0x0028, 0x0103, 0)
          + (text(0x0028, 0x1050, b"DS", center) if center is not None else b"")
          + (text(0x0028, 0x1051, b"DS", width) if width is not None else b"")
          + before_pixels
          + el(0x7FE0, 0x0010, b"OW" if bits > 8 else b"OB", pixels, pixel_length))
    return meta() + ds


cases = []  # (name, bytes, extra gaze-cli args, may load)


def case(name, data, args=(), may_load=False):
    cases.append((name, data, list(args), may_load))


good = image()
case("good.dcm", good, may_load=True)
# Truncated at many offsets: inside the preamble, the meta header, the data
# set, the pixel data element's header, the pixel data.
pixel_at = good.rindex(b"\xe0\x7f\x10\x00")
for cut in sorted({60, 131, 134, 150, 200, len(meta()) + 5, pixel_at - 3, pixel_at + 6,
                   pixel_at + 13, pixel_at + 100, len(good) - 1}):
    case(f"cut-{cut}.dcm", good[:cut])
# Sizes beyond anything: refused before allocating.
case("65535x65535x1000.dcm", image(rows=65535, cols=65535, frames="1000", pixels=b"\0" * 64))
case("65535x65535x2147483647.dcm",
     image(rows=65535, cols=65535, frames="2147483647", pixels=b"\0" * 64))
case("10000x10000x4294967295.dcm",
     image(rows=10000, cols=10000, frames="4294967295", bits=8, pixels=b"\0" * 64))
case("4096x4096x1000-short.dcm", image(rows=4096, cols=4096, frames="1000", pixels=b"\0" * 64))
case("rows-0.dcm", image(rows=0))
case("cols-0.dcm", image(cols=0))
# Bits Allocated the reader cannot take.
for bits in (0, 7, 64):
    case(f"bits-allocated-{bits}.dcm", image(bits=bits, pixels=b"\0" * 512))
case("bits-stored-0.dcm", image(stored=0))
case("bits-stored-above-allocated.dcm", image(bits=8, stored=12), may_load=True)
# Absurd windows: the file's window is ignored, the image shows (min..max).
for w in ("-100", "0", "1e308", "NaN", "inf", "garbage"):
    case(f"window-width-{w}.dcm", image(center="40", width=w), may_load=True)
case("window-center-1e308.dcm", image(center="1e308", width="400"), may_load=True)
# Number of Frames 0, negative, huge, not a number.
for n in ("0", "-5", "99999999999", "1e9", "x"):
    case(f"frames-{n}.dcm", image(frames=n), may_load=True)
# Pixel data shorter or longer than Rows × Columns × Bits, odd, or its length
# field past the end of the file.
case("pixels-short.dcm", image(pixels=b"\0" * 100))
case("pixels-long.dcm", image(pixels=b"\0" * 4096), may_load=True)
case("pixels-length-past-eof.dcm", image(pixel_length=0x7FFFFFF0))
case("pixels-length-odd.dcm", image(pixels=b"\0" * 511, pixel_length=511))
case("pixels-empty.dcm", image(pixels=b""))
# A value length running past the end of the file, before the pixels.
case("lo-length-past-eof.dcm",
     meta() + text(0x0008, 0x0060, b"CS", "OT") + struct.pack("<HH", 0x0008, 0x0070) + b"LO"
     + struct.pack("<H", 0xFFFF) + b"abc")
case("ut-length-past-eof.dcm",
     meta() + text(0x0008, 0x0060, b"CS", "OT")
     + el(0x0008, 0x0119, b"UT", b"abcd", length=0xFFFFFF00))
# Sequences nested 100000 deep (undefined lengths, never closed) and closed.
item = b"\xfe\xff\x00\xe0" + struct.pack("<I", UNDEFINED)
seq_open = struct.pack("<HH", 0x0008, 0x1115) + b"SQ\0\0" + struct.pack("<I", UNDEFINED)
item_end = b"\xfe\xff\x0d\xe0\0\0\0\0"
seq_end = b"\xfe\xff\xdd\xe0\0\0\0\0"
for depth in (1000, 100000):
    deep = (seq_open + item) * depth
    case(f"sequence-depth-{depth}-open.dcm", image(before_pixels=deep))
    case(f"sequence-depth-{depth}-closed.dcm",
         image(before_pixels=deep + (item_end + seq_end) * depth), may_load=True)
# A wrong VR: Rows as a string, Pixel Data as SQ.
case("rows-as-text.dcm",
     meta() + text(0x0028, 0x0010, b"CS", "sixteen") + us(0x0028, 0x0011, 16)
     + el(0x7FE0, 0x0010, b"OW", b"\0" * 512))
case("pixels-as-sequence.dcm",
     image(pixels=item + b"\0" * 32, pixel_length=UNDEFINED)[:-0] if False else
     meta() + us(0x0028, 0x0010, 16) + us(0x0028, 0x0011, 16) + us(0x0028, 0x0100, 16)
     + struct.pack("<HH", 0x7FE0, 0x0010) + b"SQ\0\0" + struct.pack("<I", UNDEFINED) + item
     + b"\0" * 32)
# PALETTE COLOR with LUTs whose size disagrees with their descriptor.
def palette(entries, data_entries, first=0, bits=16, allocated=8):
    desc = struct.pack("<HHH", entries & 0xFFFF, first, bits)
    lut = b"".join(struct.pack("<H", (i * 257) & 0xFFFF) for i in range(data_entries))
    extra = b""
    for e in (0x1101, 0x1102, 0x1103):
        extra += el(0x0028, e, b"US", desc)
    luts = b""
    for e in (0x1201, 0x1202, 0x1203):
        luts += el(0x0028, e, b"OW", lut)
    return image(bits=allocated, stored=min(allocated, 8), photometric="PALETTE COLOR",
                 before_pixels=extra + luts)


case("palette-ok.dcm", palette(256, 256), may_load=True)
case("palette-lut-short.dcm", palette(256, 10))
case("palette-lut-empty.dcm", palette(256, 0))
case("palette-descriptor-65536.dcm", palette(0, 5))
case("palette-first-beyond.dcm", palette(256, 256, first=60000), may_load=True)
case("palette-bits-3.dcm", palette(256, 256, bits=3), may_load=True)
# GDCM asserted on palette indices of other than 8 or 16 bits (fuzz-dicom).
case("palette-bits-allocated-9.dcm", palette(256, 256, allocated=9))
case("palette-without-luts.dcm", image(photometric="PALETTE COLOR"))
# GDCM's image reader asserts on a Recognition Code other than ACR-NEMA and on
# a palette colour with neither a lookup table nor segments.
case("recognition-code-not-acr-nema.dcm",
     meta() + text(0x0008, 0x0010, b"SH", "HELLO") + image()[len(meta()):])
case("palette-red-segments-only.dcm",
     image(bits=8, photometric="PALETTE COLOR",
           before_pixels=b"".join(el(0x0028, e, b"US", struct.pack("<HHH", 256, 0, 16))
                                  for e in (0x1101, 0x1102, 0x1103))
           + el(0x0028, 0x1221, b"OW", struct.pack("<HHH", 0, 1, 0))))
# Letters that are no VR: GDCM took a 4-byte length and allocated it (fuzz-dicom).
case("unknown-vr.dcm", image(extra=struct.pack("<HH", 0x0008, 0x0070) + b"CX"
                             + struct.pack("<H", 12) + b"MONOCHROME2 "))
# No meta group: GDCM reads a first tag above (00ff,00ff) with a VR as big
# endian, where this little-endian OB length becomes 256 MiB (fuzz-dicom).
case("no-meta-big-endian-guess.dcm",
     b"\0" * 128 + b"DICM" + struct.pack("<HH", 0x1234, 0x0000) + b"UL" + struct.pack("<HI", 4, 20)
     + el(0x1234, 0x0001, b"OB", b"\0" * 16))
# GDCM's PixelFormat asserted on samples per pixel other than 1, 3, 4 (fuzz-dicom).
for n in (0, 2, 5):
    case(f"samples-per-pixel-{n}.dcm", image(spp=n))
# Frame index out of range (the good file has one frame).
for f in ("1", "5", "2147483647"):
    case(f"frame-{f}-of-1.dcm", good, ["--frame", f])
case("frame-3-of-4.dcm", image(frames="4"), ["--frame", "3"], may_load=True)
case("frame-4-of-4.dcm", image(frames="4"), ["--frame", "4"])


# File meta information that GDCM reads as implicit VR (its first element has
# no VR): a 4-byte length it used to allocate whole (found by fuzz-dicom).
def implicit(group, element, value, length=None):
    n = len(value) if length is None else length
    return struct.pack("<HHI", group, element, n) + value


implicit_meta = (b"\0" * 128 + b"DICM" + implicit(0x0002, 0x0001, b"\0\1")
                 + implicit(0x0002, 0x0010, b"1.2.840.10008.1.2.1\0"))
case("meta-implicit-length-past-eof.dcm",
     b"\0" * 128 + b"DICM" + implicit(0x0002, 0x0001, b"\0\1")
     + implicit(0x0002, 0x0002, b"1.2.3\0", length=0xFFFFFFF0) + b"\0" * 64)
case("meta-implicit-2gib.dcm",
     b"\0" * 128 + b"DICM" + implicit(0x0002, 0x0003, b"", length=0x7FFFFFF0) + b"\0" * 64)
case("meta-implicit-ok.dcm", implicit_meta + image()[len(meta()):], may_load=True)
case("meta-mixed-vr.dcm",
     b"\0" * 128 + b"DICM" + el(0x0002, 0x0001, b"OB", b"\0\1")
     + implicit(0x0002, 0x0002, b"1.2.3\0", length=0x7FFFFFF0) + b"\0" * 64)
case("meta-only.dcm", meta())  # GDCM asserted reading the tag after it
case("preamble-only.dcm", b"\0" * 128 + b"DICM")  # and after the preamble
case("meta-sequence.dcm",  # GDCM asserts on a sequence in the meta group
     b"\0" * 128 + b"DICM" + el(0x0002, 0x0001, b"SQ", b"") + image()[len(meta()):])
case("meta-unknown-vr.dcm",
     b"\0" * 128 + b"DICM" + struct.pack("<HH", 0x0002, 0x0001) + b"ZZ" + struct.pack("<H", 2)
     + b"\0\1" + b"\0" * 64)

# The fuzz-dicom regressions, through the program as a user would open them:
# among them files on which Debian's GDCM fails an assertion that nothing
# before it foresees (app/io/gaze-io-dicom-isolate.c turns that into an error).
regressions = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fuzz",
                           "regressions", "fuzz-dicom")
for name in sorted(os.listdir(regressions)):
    with open(os.path.join(regressions, name), "rb") as f:
        case("regression-" + name, f.read())

# These aborted in GDCM (assertions), recursed to SIGSEGV or allocated the
# declared 2 GiB until app/io/gaze-io-dicom-scan.c walked the file first.
ok(sum(len(d) for _, d, _, _ in cases) > 0, f"{len(cases)} hostile DICOM files written")
for name, data, args, may_load in cases:
    path = write(os.path.join(tmp, name), data)
    try:
        code, out, err, rss = run_peak(["predict", model, path, *args], timeout=60)
    except TimeoutError as e:  # a hang
        ok(False, f"{name}: finishes within 60 s", repr(e))
        continue
    sanitizer = any(s in err for s in ("AddressSanitizer", "runtime error:", "LeakSanitizer",
                                       "terminate called"))
    crashed = code < 0 or code >= 128 or sanitizer
    detail = f"exit {code}, peak {rss:.0f} MiB\n{err.strip()[:400]}"
    if may_load and code == 0:
        ok(not crashed and rss < 400, f"{name}: loads (a correct image)", detail)
    else:
        ok(not crashed and code == 1 and os.path.basename(path) in err and rss < 400,
           f"{name}: a clear error", detail)
done()
