#!/usr/bin/python3
# test_weights_truncated.py — a torch.save .pth cut short, or truncated and
# rewritten while gaze-cli reads it (issue 20): a clear error, never a crash.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: /usr/bin/python3 test_weights_truncated.py PATH/TO/gaze-cli
#
# gaze-cli reads a .pth storage by storage with pread() (no mapping, which
# would turn a file shrinking under it into SIGBUS). Two parts:
# - the file cut at fixed offsets (in the pickle, inside the first and the
#   largest storage, in the central directory, its last byte): refused with a
#   message that says the archive is damaged or truncated;
# - a race: gaze-cli loads the file while this script truncates it, or
#   rewrites part of it at the same size, after delays spread over the load
#   time. Every run either loads (the change came after the reads) or fails
#   with a message naming the change; no run dies of a signal.
# GAZE_REFERENCE_QUICK=1 (the sanitizer pass) runs fewer race rounds.

import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import refcommon as rc  # noqa: E402

CLEAR = ("truncated", "damaged", "changed while it was read", "outside")


def info(exe, path):
    r = subprocess.run([exe, "info", path], capture_output=True, text=True)
    return r.returncode, (r.stderr + r.stdout).strip()


def last_line(msg):
    return msg.splitlines()[-1][:160] if msg else "no message"


def storage_offsets(path):
    """(pickle data offset, [(name, data offset, size)] of the storages,
    central directory offset) from Python's zipfile."""
    with zipfile.ZipFile(path) as z, open(path, "rb") as f:
        entries = []
        for item in z.infolist():
            f.seek(item.header_offset + 26)
            nlen, xlen = int.from_bytes(f.read(2), "little"), int.from_bytes(f.read(2), "little")
            entries.append((item.filename, item.header_offset + 30 + nlen + xlen, item.file_size))
        cd = z.start_dir
    pkl = next(e for e in entries if e[0].endswith("/data.pkl"))
    storages = [e for e in entries if "/data/" in e[0]]
    return pkl, storages, cd


def main():
    import torch
    import torchvision
    exe = sys.argv[1]
    tap = rc.Tap()
    quick = os.environ.get("GAZE_REFERENCE_QUICK") == "1"
    tmp = tempfile.mkdtemp(prefix="gaze-weights-truncated-")

    torch.manual_seed(20)
    good = os.path.join(tmp, "resnet18.pth")
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), good)
    size = os.path.getsize(good)
    code, msg = info(exe, good)
    tap.ok(code == 0 and "resnet18" in msg, "the whole file loads (%d bytes)" % size)

    # ---- Cut at fixed offsets -------------------------------------------
    pkl, storages, cd = storage_offsets(good)
    first = next(s for s in storages if s[0].endswith("/data/0"))
    largest = max(storages, key=lambda s: s[2])
    cuts = [
        ("inside the pickle", pkl[1] + pkl[2] // 2),
        ("inside the first storage", first[1] + first[2] // 2),
        ("inside the largest storage (%s)" % largest[0], largest[1] + largest[2] // 2),
        ("one byte into the largest storage", largest[1] + 1),
        ("just before the central directory", cd - 1),
        ("inside the central directory", cd + (size - cd) // 2),
        ("its last byte", size - 1),
    ]
    with open(good, "rb") as f:
        whole = f.read()
    for label, at in cuts:
        p = os.path.join(tmp, "cut-%d.pth" % at)
        with open(p, "wb") as f:
            f.write(whole[:at])
        code, msg = info(exe, p)
        tap.ok(code > 0 and any(w in msg for w in CLEAR) and "Traceback" not in msg,
               "cut %s (at %d of %d bytes): refused, exit %d (%s)"
               % (label, at, size, code, last_line(msg)))
    # The largest storage cut short but the directory kept (appended as it
    # was): the directory's offsets now point past the end of the file.
    cut = largest[1] + largest[2] // 2
    p = os.path.join(tmp, "cut-storage-keep-directory.pth")
    with open(p, "wb") as f:
        f.write(whole[:cut] + whole[cd:])
    code, msg = info(exe, p)
    tap.ok(code > 0 and "damaged" in msg and "Traceback" not in msg,
           "the largest storage cut, the directory kept: refused, exit %d (%s)"
           % (code, last_line(msg)))

    # ---- Truncated or rewritten during the load ---------------------------
    race = os.path.join(tmp, "race.pth")
    shutil.copy(good, race)
    t0 = time.monotonic()
    info(exe, race)
    t_load = time.monotonic() - t0
    rounds = 8 if quick else 24
    outcomes = {"loaded": 0, "refused while reading": 0, "refused at open": 0}
    bad = []
    for i in range(rounds):
        shutil.copy(good, race)
        os.utime(race, ns=(10**18, 10**18 + i))
        proc = subprocess.Popen([exe, "info", race], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(t_load * (i % 12) / 12.0)
        if i % 2 == 0:
            os.truncate(race, largest[1] + largest[2] // 3)
        else:
            # Same size, other bytes, a new modification time.
            with open(race, "r+b") as f:
                f.seek(largest[1])
                f.write(b"\x7f" * 4096)
            os.utime(race, ns=(2 * 10**18, 2 * 10**18 + i))
        out, err = proc.communicate()
        msg = (err + out).strip()
        if proc.returncode == 0:
            outcomes["loaded"] += 1
        elif proc.returncode > 0 and "changed while it was read" in msg:
            outcomes["refused while reading"] += 1
        elif proc.returncode > 0 and any(w in msg for w in CLEAR) and "Traceback" not in msg:
            outcomes["refused at open"] += 1
        else:
            bad.append("round %d: exit %d (%s)" % (i, proc.returncode, last_line(msg)))
    for b in bad:
        tap.diag(b)
    tap.ok(not bad, "%d loads raced by truncation / rewrite, none crashed: %s" % (
        rounds, ", ".join("%s %d" % kv for kv in outcomes.items())))

    shutil.rmtree(tmp, ignore_errors=True)
    tap.done()


if __name__ == "__main__":
    main()
