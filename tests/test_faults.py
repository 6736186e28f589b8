"""Faults around a run (issue 21): damaged checkpoints and CSV files on resume, two
writers of one run directory, `--overwrite` of a run that then fails, SIGINT / SIGTERM
during training and during "compilation", sweeps whose trials all fail. The test double
("fake") trains in milliseconds per chunk, so each test takes a few seconds."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tests.io.fake_trainer  # noqa: F401  registers algorithm "fake"
from morl import cli
from morl.io import rundir
from tests.io.fake_trainer import FakeTrainer
from tests.test_cli import comparable, snapshot

FAKE = ["train", "fake", "--no-progress", "--steps", "1000", "--set", "chunk_steps=100"]


def interrupted_run(out: Path, after: int, *args: str) -> None:
    """A fake run at `out` killed (KeyboardInterrupt from the trainer, no checkpoint of
    its own) when chunk `after` + 1 starts: checkpoints every 3 chunks, keep 2."""
    experiment, _ = cli.experiment_from_args(
        cli.parser().parse_args([*FAKE, "--out", str(out), "--set", "log.checkpoint_every=3", *args])
    )
    from morl.train_loop import prepare, run

    job = prepare(experiment, out)
    real, calls = job.trainer.run_chunk, []

    def chunk(state):
        calls.append(1)
        if len(calls) > after:
            raise KeyboardInterrupt
        return real(state)

    job.trainer.run_chunk = chunk
    with pytest.raises(KeyboardInterrupt):
        run(job)


@pytest.fixture
def full(tmp_path):
    """The uninterrupted run the resumed ones must equal."""
    out = tmp_path / "full"
    assert cli.main([*FAKE, "--out", str(out), "--set", "log.checkpoint_every=3"]) == 0
    return out


def test_resume_falls_back_past_a_corrupt_checkpoint(tmp_path, full, capsys):
    cut = tmp_path / "cut"
    interrupted_run(cut, after=8)  # checkpoints 3 and 6, metrics rows 1-8
    for path in (cut / "checkpoints" / "6").rglob("*"):
        if path.is_file():
            path.write_bytes(b"\x00" * 7)
    capsys.readouterr()
    assert cli.main(["train", "--no-progress", "--resume", str(cut)]) == 0
    err = capsys.readouterr().err
    assert "morl: checkpoint 6 is unreadable" in err and f"moved to {cut / 'checkpoints.corrupt' / '6'}" in err
    assert "metrics.csv: dropped 5 row(s) after the checkpoint at chunk 3 (recomputed now)" in err
    assert comparable(cut) == comparable(full)


def test_resume_reports_a_truncated_metrics_csv(tmp_path, full, capsys):
    cut = tmp_path / "cut"
    interrupted_run(cut, after=8)
    text = (cut / "metrics.csv").read_text()
    lines = text.splitlines(keepends=True)
    (cut / "metrics.csv").write_text("".join(lines[:5]) + lines[5][:20])  # rows 1-4, row 5 torn
    capsys.readouterr()
    assert cli.main(["train", "--no-progress", "--resume", str(cut)]) == 0
    err = capsys.readouterr().err
    assert "metrics.csv: dropped 1 torn or unreadable row(s)" in err
    assert "metrics.csv: 2 row(s) up to the checkpoint at chunk 6 are missing" in err
    chunks = [int(r["chunk"]) for r in rundir.read_csv(cut / "metrics.csv")]
    assert chunks == [1, 2, 3, 4, 7, 8, 9, 10]  # 5 and 6 were lost with the file, nothing else
    rows, front, summary = comparable(cut)
    assert (front, summary) == comparable(full)[1:]


def test_a_second_writer_is_refused_and_the_live_run_kept(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main([*FAKE, "--out", str(out)]) == 0
    before = snapshot(out)
    live = rundir.RunLock(out)  # what a process training in `out` holds
    try:
        for extra in (["--out", str(out)], ["--out", str(out), "--overwrite"], ["--resume", str(out)]):
            capsys.readouterr()
            argv = [*FAKE, *extra] if "--resume" not in extra else ["train", "--no-progress", *extra]
            assert cli.main(argv) == 2
            err = capsys.readouterr().err.strip()
            assert "\n" not in err and (f"(pid {os.getpid()})" in err or "already exists" in err), err
        assert snapshot(out) == before
    finally:
        live.release()


_CLI = "import sys, tests.io.fake_trainer; from morl.cli import main; sys.exit(main(sys.argv[1:]))"


def test_two_runs_started_together_on_one_directory(tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-c", _CLI, *FAKE, "--set", "sleep=0.1", "--out", str(out)]
    procs = [subprocess.Popen(argv, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = sorted((p.wait(timeout=120), p.stderr.read()) for p in procs)
    (ok, _), (refused, err) = results
    assert ok == 0 and refused == 2, results
    assert "being written by another process" in err or "already exists" in err
    assert len(rundir.read_csv(out / "metrics.csv")) == 10 and (out / "summary.json").is_file()


@pytest.mark.parametrize("fault", ["error", "interrupt"])
def test_overwrite_keeps_the_old_run_until_the_new_one_trains(tmp_path, capsys, monkeypatch, fault):
    out = tmp_path / "run"
    assert cli.main([*FAKE, "--out", str(out)]) == 0
    before = snapshot(out)

    def fails(self, state):
        raise RuntimeError("device lost") if fault == "error" else KeyboardInterrupt

    monkeypatch.setattr(FakeTrainer, "run_chunk", fails)
    capsys.readouterr()
    if fault == "error":
        assert cli.main([*FAKE, "--out", str(out), "--overwrite", "--set", "pop=2"]) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith("morl: error: training failed: RuntimeError: device lost (traceback in ")
        log = Path(err.rsplit("traceback in ", 1)[1].rstrip(")"))
        assert "RuntimeError: device lost" in log.read_text()
        log.unlink()
    else:
        assert cli.main([*FAKE, "--out", str(out), "--overwrite", "--set", "pop=2"]) == 130
        assert capsys.readouterr().err.strip() == "morl: interrupted"
    assert snapshot(out) == before  # the old run is back, byte for byte
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".run.replaced")] == []


def _start(out: Path, *settings: str) -> subprocess.Popen:
    argv = [sys.executable, "-c", _CLI, *FAKE, "--out", str(out), "--set", "log.checkpoint_every=0"]
    for setting in settings:
        argv += ["--set", setting]
    return subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc: subprocess.Popen) -> None:
    deadline = time.time() + 120
    while not path.exists():
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read()
        time.sleep(0.02)


def test_sigint_mid_run_checkpoints_and_resumes_to_the_same_run(tmp_path):
    full, cut = tmp_path / "full", tmp_path / "cut"
    settings = ("sleep=0.15", "log.checkpoint_every=0")
    assert cli.main([*FAKE, "--out", str(full), *(f"--set={s}" for s in settings)]) == 0
    proc = _start(cut, *settings)
    _wait_for(cut / "metrics.csv", proc)  # the first chunk has trained
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 128 + signal.SIGINT
    lines = proc.stderr.read().strip().splitlines()
    assert "Traceback" not in "\n".join(lines)
    assert lines[0].startswith("morl: SIGINT: stopping after the chunk or compilation in flight")
    chunk = int(lines[-1].split("after chunk ")[1].split()[0])
    assert lines[-1] == (
        f"morl: SIGINT: stopped with a checkpoint after chunk {chunk} ({100 * chunk:,} env steps); "
        f"continue with: morl train --resume {cut}"
    )
    assert 1 <= chunk < 10 and [p.name for p in (cut / "checkpoints").iterdir()] == [str(chunk)]
    assert [int(r["chunk"]) for r in rundir.read_csv(cut / "metrics.csv")] == list(range(1, chunk + 1))
    assert cli.main(["train", "--no-progress", "--resume", str(cut)]) == 0
    assert comparable(cut) == comparable(full)


def test_sigterm_during_compilation_exits_cleanly(tmp_path):
    proc = _start(tmp_path / "run", "init_sleep=2")
    _wait_for(tmp_path / "run" / "config.yaml", proc)  # the run directory exists: init is under way
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    lines = proc.stderr.read().strip().splitlines()
    assert lines[-1] == "morl: SIGTERM: stopped before the first chunk; nothing trained", lines
    assert not (tmp_path / "run").exists()  # a run that never trained leaves nothing behind


def test_a_second_ctrl_c_quits_at_once(tmp_path):
    proc = _start(tmp_path / "run", "init_sleep=30")
    _wait_for(tmp_path / "run" / "config.yaml", proc)
    proc.send_signal(signal.SIGINT)
    assert proc.stderr.readline().startswith("morl: SIGINT: stopping")
    start = time.time()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 128 + signal.SIGINT and time.time() - start < 10  # not after init's 30 s
    assert proc.stderr.read().strip() == "morl: SIGINT again: quitting at once"


def test_sweep_whose_trials_all_fail_exits_1_with_the_first_error(tmp_path, capsys, monkeypatch):
    import yaml

    spec = {
        "name": "failing",
        "base": {"algorithm": "fake", "total_steps": 200, "chunk_steps": 100, "log.checkpoint_every": 0},
        "params": {"step_size": {"low": 0.0, "high": 1.0}},
        "n_trials": 2,
        "sampler": {"name": "random", "seed": 0},
        "dir": str(tmp_path / "sweep"),
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))

    def fails(self, state):
        raise FloatingPointError("loss is nan")

    monkeypatch.setattr(FakeTrainer, "run_chunk", fails)
    capsys.readouterr()
    assert cli.main(["sweep", str(tmp_path / "spec.yaml")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[:2] == [f"morl: sweep trial {k} failed: FloatingPointError: loss is nan" for k in (0, 1)]
    assert err[2:] == [
        f"morl: error: all 2 trial(s) of this worker failed; first (trial 0, {tmp_path / 'sweep' / 'trials' / '0'}): "
        "FloatingPointError: loss is nan"
    ]


def test_eval_falls_back_past_a_corrupt_checkpoint_without_moving_it(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main([*FAKE, "--out", str(out), "--set", "log.checkpoint_every=4"]) == 0  # checkpoints 8 and 10
    for path in (out / "checkpoints" / "10").rglob("*"):
        if path.is_file():
            path.write_bytes(b"")
    capsys.readouterr()
    assert cli.main(["eval", str(out)]) == 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("morl: checkpoint 10 is unreadable") and err.endswith("; using checkpoint 8")
    assert (out / "checkpoints" / "10").is_dir()  # a reader leaves the run as it is
    for path in (out / "checkpoints" / "8").rglob("*"):
        if path.is_file():
            path.write_bytes(b"")
    before = (out / "eval.csv").read_bytes()
    assert cli.main(["eval", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"morl: error: '{out}' has no intact checkpoint (checkpoint 10 is unreadable")
    assert "\n" not in err
    assert (out / "eval.csv").read_bytes() == before
