#!/usr/bin/python3
# test-robust-exports.py — gaze-cli explain --output and --save-input: never onto
# the input image, a read-only folder or a full disk is reported, and no
# partial or temporary file is ever left behind (the folder listing is checked).
# SPDX-License-Identifier: GPL-3.0-or-later
import hashlib
import os
import stat
import subprocess
import tempfile

from robustlib import done, ok, run, skip, small_cnn, write, write_png

tmp = tempfile.mkdtemp(prefix="gaze-robust-exp-")
model = write(os.path.join(tmp, "m.onnx"), small_cnn())
image = write_png(os.path.join(tmp, "photo.png"), 40, 30)


def digest(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


before = digest(image)
listing = sorted(os.listdir(tmp))
code, out, err = run(["explain", model, image, "--output", image])
ok(code != 0 and "refusing to overwrite the input" in err, "--output onto the input is refused",
   err)
ok(digest(image) == before and sorted(os.listdir(tmp)) == listing, "… the input is untouched")
os.link(image, os.path.join(tmp, "hardlink.png"))
listing = sorted(os.listdir(tmp))
code, out, err = run(["explain", model, image, "--output", os.path.join(tmp, "hardlink.png")])
ok(code != 0 and digest(image) == before, "--output onto a hard link of the input is refused", err)
os.symlink(image, os.path.join(tmp, "symlink.png"))
listing = sorted(os.listdir(tmp))
code, out, err = run(["explain", model, image, "--output", os.path.join(tmp, "symlink.png")])
ok(code != 0 and digest(image) == before and sorted(os.listdir(tmp)) == listing,
   "--output onto a symbolic link to the input is refused", err)
code, out, err = run(["explain", model, image, "--save-input", image])
ok(code != 0 and digest(image) == before and "refusing to overwrite the input" in err,
   "--save-input onto the input is refused", err)
code, out, err = run(["explain", model, image, "--save-input", os.path.join(tmp, "hardlink.png")])
ok(code != 0 and digest(image) == before, "--save-input onto a hard link of the input is refused",
   err)
if digest(image) != before:
    write_png(image, 40, 30)  # keep going with an intact photo

out_dir = tempfile.mkdtemp(prefix="out-", dir=tmp)
code, out, err = run(["explain", model, image, "--output", os.path.join(out_dir, "o.png"),
                      "--save-input", os.path.join(out_dir, "x.npy")])
ok(code == 0 and sorted(os.listdir(out_dir)) == ["o.png", "x.npy"],
   "a normal export writes exactly its files", err + str(os.listdir(out_dir)))

missing = os.path.join(tmp, "no-such-folder", "o.png")
code, out, err = run(["explain", model, image, "--output", missing])
ok(code != 0 and "no-such-folder" in err and not os.path.exists(os.path.dirname(missing)),
   "an export into a missing folder is reported", err)

# A FIFO as the --save-input target must stay a FIFO (no rename over it).
fifo = os.path.join(out_dir, "pipe.npy")
os.mkfifo(fifo)
code, out, err = run(["explain", model, image, "--save-input", fifo], timeout=60)
ok(code != 0 and stat.S_ISFIFO(os.stat(fifo).st_mode) and "not a regular file" in err,
   "--save-input onto a FIFO is refused and the FIFO stays", err)
os.unlink(fifo)
# The same for --output. g_file_set_contents renames over whatever is there:
# as root, --output /dev/null would replace the device node by a PNG file.
os.mkfifo(fifo)
code, out, err = run(["explain", model, image, "--output", fifo], timeout=60)
ok(code != 0 and stat.S_ISFIFO(os.stat(fifo).st_mode), "--output onto a FIFO is refused",
   f"exit {code}; is a FIFO afterwards: {stat.S_ISFIFO(os.stat(fifo).st_mode)}")
os.unlink(fifo)


def mounted(opts):
    d = tempfile.mkdtemp(prefix="mnt-", dir=tmp)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", d], capture_output=True)
    return d if r.returncode == 0 else None


def umount(d):
    subprocess.run(["umount", d], capture_output=True)


def export_fails(d, what):
    for flag, name in (("--output", "o.png"), ("--save-input", "x.npy")):
        code, out, err = run(["explain", model, image, flag, os.path.join(d, name)])
        ok(code != 0 and name in err and os.listdir(d) == [],
           f"{flag} into a {what}: reported, and the folder stays empty",
           f"exit {code}\n{err}\nlisting: {os.listdir(d)}")


if os.geteuid() != 0:
    ro = tempfile.mkdtemp(prefix="ro-", dir=tmp)
    os.chmod(ro, 0o555)
    export_fails(ro, "read-only folder")
    os.chmod(ro, 0o755)
else:
    ro = mounted("size=1m,ro")
    if ro is None:
        skip("read-only folder", "running as root and cannot mount a read-only tmpfs")
    else:
        export_fails(ro, "read-only folder")
        umount(ro)
full = mounted("size=8k") if os.geteuid() == 0 else None
if full is None:
    skip("full disk", "needs root to mount a tiny tmpfs")
else:
    # Fill it, then keep a listing: exports must fail and leave nothing new.
    with open(os.path.join(full, "filler"), "wb") as f:
        try:
            f.write(b"\0" * (1 << 20))
        except OSError:
            pass
    for flag, name in (("--output", "o.png"), ("--save-input", "x.npy")):
        code, out, err = run(["explain", model, image, flag, os.path.join(full, name)])
        ok(code != 0 and name in err and os.listdir(full) == ["filler"],
           f"{flag} onto a full disk: reported, no partial file",
           f"exit {code}\n{err}\nlisting: {os.listdir(full)}")
    umount(full)
done()
