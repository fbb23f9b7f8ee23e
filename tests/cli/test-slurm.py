#!/usr/bin/python3
# test-slurm.py — a cohort on Slurm (issue 18): a private single-node Slurm on
# localhost (its own munged with a generated key and socket, slurmctld and slurmd
# in the foreground with a generated slurm.conf, non-default ports, every file in a
# temporary folder), tools/slurm/gaze-cohort submitting a 2-task array over 20
# images plus the merge job, and the merged table against one `gaze-cli batch`
# run (same rows, same order, timings aside); then more shards than images, a
# failing shard (no merge, --wait exits 1) and an array whose ids do not start
# at 0 (the job script refuses it). Skips, with the daemon's own
# words, where this machine cannot run them (not root, a binary missing, a
# daemon that stops). Every daemon, job and file it made is gone at the end.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Usage: test-slurm.py GAZE_CLI   (TAP on stdout)
import csv
import ctypes
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

cli = os.path.abspath(sys.argv[1])
root = os.path.abspath(os.environ.get("GAZE_SOURCE_ROOT")
                       or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
demo = os.path.join(root, "data", "demo")
model = os.path.join(demo, "shapes.onnx")
cohort_tool = os.path.join(root, "tools", "slurm", "gaze-cohort")
job_script = os.path.join(root, "tools", "slurm", "gaze-batch.sbatch")
SEARCH = "/usr/sbin:/usr/bin:/sbin:/bin"
# Bounds on every wait: none of them is reached on a working machine.
START_TIMEOUT = 60  # a daemon up, the node idle
RUN_TIMEOUT = 300  # the cohort's jobs
results = []


def ok(cond, msg, diag=""):
    results.append((bool(cond), msg, diag))


def finish():
    print("TAP version 13")
    print(f"1..{len(results)}")
    for i, (good, msg, diag) in enumerate(results, 1):
        print(f"{'ok' if good else 'not ok'} {i} - {msg}")
        if not good and diag:
            for line in str(diag).splitlines()[:30]:
                print(f"# {line}")


class Skip(Exception):
    pass


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


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def last_words(log):
    """The line of a daemon's log that says why it stopped."""
    try:
        lines = [line.strip() for line in open(log, errors="replace") if line.strip()]
    except OSError:
        return "(no output)"
    for key in ("fatal", "error", "Error"):
        hits = [line for line in lines if key in line]
        if hits:
            return hits[-1]
    return lines[-1] if lines else "(no output)"


class Cluster:
    """munged + slurmctld + slurmd, private to one temporary folder."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = {}  # name -> (Popen, log path)
        # Everything started here carries this variable, so that stray processes
        # (slurmstepd, job scripts, gaze-cli) are found and ended at the end.
        self.marker = f"GAZE_SLURM_TEST={tmp}"
        self.was_up = False
        self.env = dict(os.environ, PATH=SEARCH + ":" + os.environ.get("PATH", ""),
                        SLURM_CONF=os.path.join(tmp, "slurm.conf"),
                        GAZE_SLURM_TEST=tmp, GAZE_COHORT_POLL="1")
        for k in list(self.env):  # a Slurm job around this test must not leak in
            if k.startswith(("SLURM_", "SBATCH_", "SQUEUE_", "SINFO_")) and k != "SLURM_CONF":
                del self.env[k]

    def tool(self, name):
        path = shutil.which(name, path=SEARCH)
        if path is None:
            raise Skip(f"'{name}' is missing (Debian packages slurmctld, slurmd, slurm-client, "
                       "munge; tools/setup.sh)")
        return path

    def start(self, name, argv):
        log = os.path.join(self.tmp, f"{name}.log")
        with open(log, "wb") as f:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                 env=self.env, cwd=self.tmp, start_new_session=True)
        self.procs[name] = (p, log)
        return p

    def alive(self, name):
        p, log = self.procs[name]
        if p.poll() is not None:
            raise Skip(f"{name} stopped (exit {p.returncode}): {last_words(log)}")

    def run(self, *argv, timeout=30):
        return subprocess.run(argv, capture_output=True, text=True, env=self.env, cwd=self.tmp,
                              timeout=timeout)

    def up(self):
        munged, slurmctld, slurmd = (self.tool(n) for n in ("munged", "slurmctld", "slurmd"))
        for n in ("munge", "sbatch", "sinfo", "scontrol", "scancel"):
            self.tool(n)
        host = socket.gethostname().split(".")[0]
        probe = self.run(slurmd, "-C")
        fields = dict(f.split("=", 1) for f in probe.stdout.split() if "=" in f)
        if probe.returncode != 0 or "RealMemory" not in fields:
            raise Skip(f"slurmd -C failed: {(probe.stderr or probe.stdout).strip()}")
        cpus = min(2, int(fields.get("CPUs", "1")))

        # munged: a fresh key, its own socket (the folders on its path must be
        # searchable by all, the key readable by its owner only).
        mdir = os.path.join(self.tmp, "munge")
        os.mkdir(mdir, 0o755)
        os.chmod(mdir, 0o755)
        key = os.path.join(self.tmp, "munge.key")
        with open(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(os.urandom(1024))
        sock = os.path.join(mdir, "munge.socket")
        self.start("munged", [munged, "--foreground", "--force", f"--socket={sock}",
                              f"--key-file={key}", f"--pid-file={mdir}/munged.pid",
                              f"--seed-file={mdir}/munged.seed", f"--log-file={mdir}/munged.log"])
        deadline = time.monotonic() + START_TIMEOUT
        while not os.path.exists(sock):
            self.alive("munged")
            if time.monotonic() > deadline:
                raise Skip(f"munged made no socket in {START_TIMEOUT} s: "
                           f"{last_words(self.procs['munged'][1])}")
            time.sleep(0.1)

        for d in ("state", "spool"):
            os.mkdir(os.path.join(self.tmp, d), 0o755)
        user = "root"
        conf = f"""# generated by tests/cli/test-slurm.py
ClusterName=gazetest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock}
StateSaveLocation={self.tmp}/state
SlurmdSpoolDir={self.tmp}/spool
SlurmctldPidFile={self.tmp}/slurmctld.pid
SlurmdPidFile={self.tmp}/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SlurmdTimeout=300
KillWait=5
MinJobAge=600
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={fields['RealMemory']} State=UNKNOWN
PartitionName=gaze Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""
        with open(self.env["SLURM_CONF"], "w") as f:
            f.write(conf)
        self.start("slurmctld", [slurmctld, "-D", "-c", "-v"])
        self.start("slurmd", [slurmd, "-D", "-v", "-N", host])
        deadline = time.monotonic() + START_TIMEOUT
        state = ""
        while True:
            self.alive("slurmctld")
            self.alive("slurmd")
            p = self.run(self.tool("sinfo"), "-h", "-N", "-o", "%T %E")  # state, reason
            state = p.stdout.strip() or p.stderr.strip()
            node = (state.split() or [""])[0].rstrip("*")
            if p.returncode == 0 and node in ("idle", "mixed", "allocated"):
                self.was_up = True
                return host
            if time.monotonic() > deadline:
                raise Skip(f"the node is not idle after {START_TIMEOUT} s (sinfo: {state}); "
                           f"slurmd: {last_words(self.procs['slurmd'][1])}")
            time.sleep(0.5)

    def marked(self):
        """Processes that carry this cluster's marker, other than this one."""
        found = []
        needle = self.marker.encode()
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            try:
                with open(f"/proc/{d}/environ", "rb") as f:
                    if needle in f.read().split(b"\0"):
                        found.append(int(d))
            except OSError:
                pass
        return found

    def down(self):
        """Ends the jobs, the daemons and anything they left; bounded."""
        if "slurmctld" in self.procs and self.procs["slurmctld"][0].poll() is None:
            try:
                self.run(shutil.which("scancel", path=SEARCH) or "scancel", "--full", "-u",
                         "root", timeout=10)
            except (OSError, subprocess.SubprocessError):
                pass
        for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            for p, _ in self.procs.values():
                if p.poll() is None:
                    try:
                        os.killpg(p.pid, sig)
                    except OSError:
                        pass
            for pid in self.marked():
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                reap()
                if all(p.poll() is not None for p, _ in self.procs.values()) and not self.marked():
                    return
                time.sleep(0.1)


def reap():
    """Waits for children that ended (this process is their subreaper)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main(tmp):
    if os.geteuid() != 0:
        raise Skip("not root: slurmd starts jobs as their user and munged/slurmctld here run "
                   "as root (SlurmUser=root)")
    if not os.path.exists(model):
        raise Skip(f"{model} is missing")
    # Orphans (slurmstepd, jobs) become this process's children, so that none
    # outlives the test unnoticed.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    os.chmod(tmp, 0o755)  # munged wants every folder on its socket's path searchable
    cluster = Cluster(tmp)
    try:
        cluster.up()
        ok(True, "a private single-node Slurm is up (munged, slurmctld, slurmd; the node idle)")

        # 20 images: the demo scenes, copied, a few in a subfolder.
        cohort = os.path.join(tmp, "in")
        os.makedirs(os.path.join(cohort, "sub"))
        scenes = sorted(glob.glob(os.path.join(demo, "demo-*.png")))
        for i in range(20):
            sub = "sub" if i % 7 == 3 else ""
            shutil.copy(scenes[i % len(scenes)], os.path.join(cohort, sub, f"img-{i:02d}.png"))

        single = os.path.join(tmp, "single")
        p = subprocess.run([cli, "batch", "--model", model, "--out", single, "--threads", "1",
                            "--maps", "--quiet", cohort], capture_output=True, text=True,
                           timeout=RUN_TIMEOUT)
        ok(p.returncode == 0 and len(rows_of(single)) == 20, "the single-process run: 20 rows",
           p.stderr)

        out = os.path.join(tmp, "cohort")
        t0 = time.monotonic()
        try:
            p = cluster.run(cohort_tool, "--wait", "--gaze-cli", cli, "--model", model,
                            "--out", out, "--shards", "2", "--threads", "1", "--maps", "--quiet",
                            cohort, timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            jobs = cluster.run(cluster.tool("squeue"), "-h", "-o", "%i %j %T %r")
            ok(False, f"gaze-cohort --wait finished in {RUN_TIMEOUT} s", jobs.stdout)
            return
        elapsed = time.monotonic() - t0
        logs = "".join(f"== {n}\n{open(n, errors='replace').read()}"
                       for n in sorted(glob.glob(os.path.join(out, "logs", "*"))))
        ok(p.returncode == 0, f"gaze-cohort --wait: shards and merge completed ({elapsed:.0f} s)",
           p.stdout + p.stderr + logs)
        ids = dict(line.split() for line in p.stdout.splitlines() if len(line.split()) == 2)
        ok(sorted(ids) == ["merge", "shards"] and all(v.isdigit() for v in ids.values()),
           "it prints the job ids of the array and of the merge job", p.stdout)
        if "shards" in ids:
            info = cluster.run(cluster.tool("scontrol"), "show", "job", "-o", ids["shards"])
            tasks = [line for line in info.stdout.splitlines() if line.strip()]
            states = sorted(f.split("=")[1] for line in tasks for f in line.split()
                            if f.startswith(("ArrayTaskId=", "JobState=")))
            ok(len(tasks) == 2 and states == ["0", "1", "COMPLETED", "COMPLETED"],
               "the array ran tasks 0 and 1, both completed", info.stdout + info.stderr)
            ends = [f.split("=")[1] for line in tasks for f in line.split()
                    if f.startswith("EndTime=")]
            if "merge" in ids:
                info = cluster.run(cluster.tool("scontrol"), "show", "job", "-o", ids["merge"])
                start = [f.split("=")[1] for f in info.stdout.split() if f.startswith("StartTime=")]
                ok("JobState=COMPLETED" in info.stdout and start and ends
                   and start[0] >= max(ends), "the merge job completed, started after both tasks "
                   "ended", (info.stdout, ends))
        parts = []
        for i in range(2):
            d = os.path.join(out, f"shard-{i}")
            parts.append([r["path"] for r in rows_of(d)] if os.path.exists(d) else [])
        ok(parts[0] and parts[1] and not set(parts[0]) & set(parts[1])
           and len(parts[0]) + len(parts[1]) == 20,
           "shard-0 and shard-1 split the 20 images between them", parts)
        if p.returncode == 0:
            merged = rows_of(out)
            ok(stable(merged) == stable(rows_of(single)),
               "merged results.jsonl == the single run (same rows, same order)",
               [r["path"] for r in merged])
            ok(csv_stable(out) == csv_stable(single), "… and results.csv")
            ok(all(os.path.exists(os.path.join(out, r[k])) for r in merged
                   for k in ("overlay", "map") if r.get(k)), "… with every overlay and map")

        # More shards than images: the empty shards merge too.
        one = os.path.join(tmp, "one")
        os.makedirs(one)
        shutil.copy(scenes[0], os.path.join(one, "only.png"))
        single1 = os.path.join(tmp, "one-single")
        subprocess.run([cli, "batch", "--model", model, "--out", single1, "--threads", "1",
                        "--quiet", one], capture_output=True, timeout=RUN_TIMEOUT)
        out1 = os.path.join(tmp, "one-cohort")
        p = cluster.run(cohort_tool, "--wait", "--gaze-cli", cli, "--model", model,
                        "--out", out1, "--shards", "3", "--threads", "1", "--quiet", one,
                        timeout=RUN_TIMEOUT)
        ok(p.returncode == 0 and len(rows_of(out1)) == 1
           and stable(rows_of(out1)) == stable(rows_of(single1))
           and csv_stable(out1) == csv_stable(single1),
           "3 shards over one image (two of them empty): merged == the single run",
           p.stdout + p.stderr)

        # A failing shard: Slurm cancels the merge and --wait says so.
        bad = os.path.join(tmp, "bad")
        p = cluster.run(cohort_tool, "--wait", "--gaze-cli", cli, "--model", model,
                        "--out", bad, "--shards", "2", "--methods", "nope", cohort,
                        timeout=RUN_TIMEOUT)
        ok(p.returncode == 1 and "merge" in p.stderr and not os.path.exists(
            os.path.join(bad, "results.jsonl")),
           "a failing shard: no merge, gaze-cohort --wait exits 1", p.stdout + p.stderr)

        # The job script alone, with array ids that are not 0 … N-1: refused.
        odd = os.path.join(tmp, "odd")
        os.makedirs(odd)
        p = cluster.run(cluster.tool("sbatch"), "--wait", "--array=1-2",
                        f"--output={odd}/task-%a.log", job_script, odd, "--model", model, one,
                        timeout=RUN_TIMEOUT)
        logs = "".join(open(n, errors="replace").read()
                       for n in sorted(glob.glob(os.path.join(odd, "task-*.log"))))
        ok(p.returncode != 0 and logs.count("submit with --array=0-1") == 2
           and not glob.glob(os.path.join(odd, "shard-*")),
           "gaze-batch.sbatch refuses an array whose ids are not 0 … N-1", p.stderr + logs)
    finally:
        cluster.down()
        left = cluster.marked()
        if cluster.was_up or left:
            ok(not left, "every daemon, job step and job process is gone", left)


def on_signal(sig, frame):
    raise KeyboardInterrupt(f"signal {sig}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    tmp = tempfile.mkdtemp(prefix="gaze-slurm-")
    try:
        main(tmp)
    except Skip as e:
        if results:  # a daemon stopped half-way: that is a failure, not a skip
            ok(False, f"the cluster stayed up: {e}")
        else:
            print("TAP version 13")
            print(f"1..0 # SKIP {e}")
            sys.exit(0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish()
