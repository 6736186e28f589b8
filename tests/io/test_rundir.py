"""Atomic writes and the metrics log: a killed writer never leaves a truncated file."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from morl.io import rundir


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "f.txt"
    rundir.atomic_write(path, "old\n")
    rundir.atomic_write(path, b"new contents\n")
    assert path.read_text() == "new contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # no temporary left behind


def test_failed_replace_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "f.txt"
    rundir.atomic_write(path, "old\n")

    def crash(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        rundir.atomic_write(path, "new\n" * 1000)
    monkeypatch.undo()
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


_WRITER = """
import sys
from morl.io.rundir import MetricsLog
log = MetricsLog(sys.argv[1])
i = 0
while True:
    i += 1
    log.append([{"step": i, "text": "x" * 2000, "end": "END"}])
    log.flush()
"""


def test_sigkill_mid_write_leaves_complete_csv(tmp_path):
    """Kill a process that rewrites a growing CSV as fast as it can, at several instants;
    Python's csv module must read every row complete each time."""
    path = tmp_path / "metrics.csv"
    for delay in (0.7, 1.3):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], cwd=os.getcwd())
        deadline = time.time() + 60
        while not path.exists() and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        assert rows, "the writer never flushed"
        assert all(r["end"] == "END" and len(r["text"]) == 2000 for r in rows)
        assert [int(r["step"]) for r in rows] == list(range(1, len(rows) + 1))
        path.unlink()


def test_metrics_log_reconcile_drops_rows_after_checkpoint(tmp_path):
    path = tmp_path / "metrics.csv"
    log = rundir.MetricsLog(path)
    log.append([{"chunk": c, "run": 0, "hv": c * 0.5} for c in range(1, 6)])
    log.flush()
    again, notes = rundir.MetricsLog.reconcile(path, chunk=3, runs=1, every=1)
    assert notes == ["metrics.csv: dropped 2 row(s) after the checkpoint at chunk 3 (recomputed now)"]
    again.append([{"chunk": 4, "run": 0, "hv": 9.0}])
    again.flush()
    rows = rundir.read_csv(path)
    assert [(r["chunk"], r["hv"]) for r in rows] == [("1", "0.5"), ("2", "1.0"), ("3", "1.5"), ("4", "9.0")]


def test_metrics_log_reconcile_reports_torn_and_missing_rows(tmp_path):
    path = tmp_path / "metrics.csv"
    log = rundir.MetricsLog(path)
    log.append([{"chunk": c, "run": r, "hv": 1.0} for c in range(1, 5) for r in range(2)])
    log.flush()
    lines = path.read_text().splitlines()
    del lines[3]  # chunk 2 run 0 lost; the file also ends in a torn row
    path.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:3])
    again, notes = rundir.MetricsLog.reconcile(path, chunk=4, runs=2, every=1)
    kept = [(r["chunk"], r["run"]) for r in again.rows]
    assert kept == [("1", "0"), ("1", "1"), ("2", "1"), ("3", "0"), ("3", "1"), ("4", "0")]
    assert notes == [
        "metrics.csv: dropped 1 torn or unreadable row(s)",
        "metrics.csv: 2 row(s) up to the checkpoint at chunk 4 are missing (damaged file?); they cannot be recomputed",
    ]


def test_metrics_log_rejects_new_columns(tmp_path):
    log = rundir.MetricsLog(tmp_path / "m.csv")
    log.append([{"a": 1}])
    with pytest.raises(ValueError, match="'b'"):
        log.append([{"a": 2, "b": 3}])


def test_floats_round_trip_exactly(tmp_path):
    value = 0.1 + 0.2
    rundir.atomic_write(tmp_path / "x.csv", rundir.csv_text(["v"], [{"v": value}]))
    assert float(rundir.read_csv(tmp_path / "x.csv")[0]["v"]) == value


def test_prepare_refuses_existing_dir_unless_overwrite(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "keep.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="already exists"):
        rundir.prepare(run, resume=False, overwrite=False)
    assert (run / "keep.txt").read_text() == "precious"
    rundir.prepare(run, resume=False, overwrite=True)  # allowed, still writes nothing
    assert (run / "keep.txt").exists()
    with pytest.raises(FileNotFoundError, match="no config.yaml"):
        rundir.prepare(run, resume=True, overwrite=False)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda tmp: "", "is empty"),
        (lambda tmp: tmp / "afile", "is a file"),
        (lambda tmp: tmp / "afile" / "run", "is a file"),
        (lambda tmp: tmp / "locked" / "run", "is not writable"),
    ],
    ids=["empty", "file", "under-a-file", "unwritable"],
)
def test_prepare_refuses_unusable_paths(tmp_path, monkeypatch, make, message):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "locked").mkdir(mode=0o500)
    real_access = os.access  # root may write anywhere: answer for the read-only directory as for a user
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p).name != "locked" and real_access(p, mode))
    with pytest.raises(OSError if message != "is empty" else ValueError, match=message):
        rundir.prepare(make(tmp_path), resume=False, overwrite=False)


_HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)  # RunLock's protocol, without importing morl (fast)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, str(os.getpid()).encode())
print("locked", flush=True)
time.sleep(60)
"""


def test_run_lock_refuses_a_second_writer_until_released(tmp_path):
    run = tmp_path / "run"
    lock_file = tmp_path / ".run.lock"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(lock_file)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(BlockingIOError, match=f"another process \\(pid {holder.pid}\\)"):
            rundir.RunLock(run)
    finally:
        holder.kill()
        holder.wait()
    lock = rundir.RunLock(run)  # the kernel dropped the dead holder's lock
    lock.release()
    assert not lock.file.exists()  # nothing left beside the run directory


def test_overwrite_moves_the_old_run_aside_and_restores_it(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "front.csv").write_text("precious")
    aside = rundir.create(run, overwrite=True)
    assert not any(run.iterdir()) and (aside / "front.csv").read_text() == "precious"
    (run / "front.csv").write_text("new, half done")
    rundir.restore(run, aside, existed=True)
    assert (run / "front.csv").read_text() == "precious" and not aside.exists()
    aside = rundir.create(run, overwrite=True)
    rundir.discard(aside)
    assert not aside.exists() and run.is_dir()
    fresh = tmp_path / "fresh"
    assert rundir.create(fresh, overwrite=False) is None
    (fresh / "config.yaml").write_text("a run that never trained")
    rundir.restore(fresh, None, existed=False)
    assert not fresh.exists()


def test_read_csv_names_the_damage(tmp_path):
    path = tmp_path / "front.csv"
    path.write_text("run,return0\n0,1.5\n0,2.5,7\n")
    with pytest.raises(ValueError, match="line 3 does not match"):
        rundir.read_csv(path)
    path.write_text("")
    with pytest.raises(ValueError, match="no CSV header"):
        rundir.read_csv(path)
    path.write_text("run\n0\n")
    with pytest.raises(ValueError, match="lacks column"):
        rundir.read_csv(path, ["run", "return0"])


def test_a_run_left_aside_by_a_killed_overwrite_is_found(tmp_path):
    run = tmp_path / "run[1]"  # glob characters in the name are taken literally
    run.mkdir()
    (run / "front.csv").write_text("precious")
    aside = rundir.create(run, overwrite=True)  # ... and the process dies here
    assert rundir.replaced(run) == [aside] and (aside / "front.csv").read_text() == "precious"
    assert rundir.replaced(tmp_path / "other") == [] and rundir.replaced(tmp_path / "no" / "run") == []
