"""Atomic writes and the metrics log: a killed writer never leaves a truncated file."""

import csv
import os
import signal
import subprocess
import sys
import time

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


def test_metrics_log_resume_drops_rows_after_checkpoint(tmp_path):
    path = tmp_path / "metrics.csv"
    log = rundir.MetricsLog(path)
    log.append([{"chunk": c, "hv": c * 0.5} for c in range(1, 6)])
    log.flush()
    again = rundir.MetricsLog.resume(path, lambda row: int(row["chunk"]) <= 3)
    again.append([{"chunk": 4, "hv": 9.0}])
    again.flush()
    rows = rundir.read_csv(path)
    assert [(r["chunk"], r["hv"]) for r in rows] == [("1", "0.5"), ("2", "1.0"), ("3", "1.5"), ("4", "9.0")]


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
