"""`morl train / eval / plot / rollout` end to end with the Trainer test double ("fake")."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import moocore
import numpy as np
import pytest
import yaml

import tests.io.fake_trainer  # noqa: F401  registers algorithm "fake"
from morl import cli
from morl.io import rundir
from morl.train_loop import TIMING_COLUMNS, prepare, run

FAKE = ["fake", "--no-progress", "--steps", "1000", "--set", "chunk_steps=100"]


def train(*args: str) -> int:
    return cli.main(["train", *FAKE, *args])


def comparable(run_dir: Path) -> tuple[list[dict], str, list[dict]]:
    """What must not depend on interruptions: metrics without timings, front.csv, final metrics."""
    rows = [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rundir.read_csv(run_dir / "metrics.csv")]
    summary = yaml.safe_load((run_dir / "summary.json").read_text())
    return rows, (run_dir / "front.csv").read_text(), summary["runs"]


def snapshot(run_dir: Path) -> dict[str, tuple[float, bytes]]:
    return {str(p): (p.stat().st_mtime_ns, p.read_bytes()) for p in run_dir.rglob("*") if p.is_file()}


def test_train_writes_the_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    assert train("--out", str(out), "--set", "log.checkpoint_every=4") == 0
    for name in ("config.yaml", "metrics.csv", "front.csv", "front.png", "summary.json"):
        assert (out / name).is_file(), name
    assert list((out / "tb").glob("events.out.tfevents.*"))
    assert sorted(int(p.name) for p in (out / "checkpoints").iterdir()) == [8, 10]  # keep 2: period 4 and the end
    rows = rundir.read_csv(out / "metrics.csv")
    assert [int(r["chunk"]) for r in rows] == list(range(1, 11))
    assert [int(r["env_steps"]) for r in rows] == list(range(100, 1001, 100))
    assert {"member3_return1", "hypervolume", "expected_utility", "igd"} <= set(rows[0])
    # the final hypervolume agrees with moocore on front.csv (moocore minimises: negate)
    front = np.array([[float(r["return0"]), float(r["return1"])] for r in rundir.read_csv(out / "front.csv")])
    expected = moocore.hypervolume(-front, ref=np.array([0.0, 25.0]))
    assert float(rows[-1]["hypervolume"]) == pytest.approx(expected, rel=1e-9)
    assert (out / "front.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "front plot:" in printed and str(out / "front.png") in printed


def test_resume_after_interruption_matches_uninterrupted(tmp_path):
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert train("--out", str(full), "--set", "log.checkpoint_every=3") == 0
    experiment, _ = cli.experiment_from_args(
        cli.parser().parse_args(["train", *FAKE, "--out", str(cut), "--set", "log.checkpoint_every=3"])
    )
    job = prepare(experiment, cut)
    real_chunk, calls = job.trainer.run_chunk, []

    def interrupted(state):
        calls.append(1)
        if len(calls) == 8:  # after checkpoint 6 and metric row 7
            raise KeyboardInterrupt
        return real_chunk(state)

    job.trainer.run_chunk = interrupted
    with pytest.raises(KeyboardInterrupt):
        run(job)
    assert len(rundir.read_csv(cut / "metrics.csv")) == 7
    assert train("--resume", str(cut)) == 0
    assert comparable(cut) == comparable(full)


_KILLABLE = """
import sys
import tests.io.fake_trainer
from morl.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigkill_mid_run_leaves_whole_files_and_resumes(tmp_path):
    args = ["train", "fake", "--no-progress", "--steps", "3000", "--set", "chunk_steps=100", "--set", "sleep=0.05"]
    args += ["--set", "log.checkpoint_every=2"]
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert cli.main([*args, "--out", str(full)]) == 0
    proc = subprocess.Popen([sys.executable, "-c", _KILLABLE, *args, "--out", str(cut)], cwd=os.getcwd())
    deadline = time.time() + 120
    while time.time() < deadline and not any((cut / "checkpoints").glob("[0-9]*")):
        time.sleep(0.05)
    time.sleep(0.37)  # lands at an arbitrary point of the chunk / write cycle
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    with open(cut / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert 0 < len(rows) < 30 and all(None not in r.values() and "" not in (r["chunk"], r["mul"]) for r in rows)
    assert yaml.safe_load((cut / "config.yaml").read_text())["algorithm"] == "fake"
    assert not (cut / "summary.json").exists()
    assert cli.main(["train", "--no-progress", "--resume", str(cut)]) == 0
    assert comparable(cut) == comparable(full)
    assert not [p for p in cut.rglob("*") if ".tmp" in p.name]


def test_resume_with_another_config_is_refused_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert train("--out", str(out)) == 0
    before = snapshot(out)
    capsys.readouterr()
    assert cli.main(["train", "--resume", str(out), "--set", "pop=5"]) == 2
    err = capsys.readouterr().err.strip()
    assert "algo.pop" in err and "\n" not in err
    assert snapshot(out) == before


def test_existing_run_dir_needs_resume_or_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    assert train("--out", str(out)) == 0
    before = snapshot(out)
    assert train("--out", str(out)) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert snapshot(out) == before
    assert train("--out", str(out), "--overwrite", "--set", "pop=2") == 0
    assert yaml.safe_load((out / "config.yaml").read_text())["algo"]["pop"] == 2


@pytest.mark.parametrize(
    "argv, culprit",
    [
        (["train", "nope"], "nope"),
        (["train", *FAKE, "--env", "deep-sea-treasur-v0"], "deep-sea-treasur-v0"),
        (["train", *FAKE, "--set", "ppo.lr=1"], "algo.ppo"),
        (["train", *FAKE, "--set", "pop=many"], "algo.pop"),
        (["train", *FAKE, "--set", "ref_point=0,0,0"], "ref_point"),
        (["train", *FAKE, "--set", "ref_point=100,100"], "ref_point"),
        (["train", *FAKE, "--grid", "pop=1,2"], "pop"),
        (["train", *FAKE, "--config", "missing.yaml"], "missing.yaml"),
    ],
)
def test_bad_input_one_line_and_nothing_written(tmp_path, capsys, argv, culprit):
    out = tmp_path / "run"
    assert cli.main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("morl: error:") and culprit in err and "\n" not in err
    assert not out.exists()


def test_in_program_seeds_match_single_runs(tmp_path):
    many, one = tmp_path / "many", tmp_path / "one"
    assert train("--out", str(many), "--seeds", "3", "--seed", "5") == 0
    assert train("--out", str(one), "--seed", "6") == 0
    rows = rundir.read_csv(many / "metrics.csv")
    assert sorted({(r["run"], r["seed"]) for r in rows}) == [("0", "5"), ("1", "6"), ("2", "7")]
    single = rundir.read_csv(one / "front.csv")
    batched = [r for r in rundir.read_csv(many / "front.csv") if r["seed"] == "6"]
    for a, b in zip(single, batched, strict=True):
        returns_single, returns_batched = ([float(r[f"return{j}"]) for j in (0, 1)] for r in (a, b))
        np.testing.assert_allclose(returns_single, returns_batched, rtol=1e-6)
    assert len(list((many / "tb").glob("run*"))) == 3


def test_grid_over_vmappable_field(tmp_path):
    out = tmp_path / "grid"
    assert train("--out", str(out), "--grid", "step_size=0.0,1.0", "--seeds", "2") == 0
    summary = yaml.safe_load((out / "summary.json").read_text())
    assert [r["grid"]["step_size"] for r in summary["runs"]] == [0.0, 0.0, 1.0, 1.0]
    hv = [r["hypervolume"] for r in summary["runs"]]
    assert max(hv[:2]) < min(hv[2:])  # step_size 0 never moves the front


def test_print_config_round_trips(tmp_path, capsys):
    assert cli.main(["train", *FAKE, "--set", "pop=3", "--print-config"]) == 0
    path = tmp_path / "exp.yaml"
    path.write_text(capsys.readouterr().out)
    assert cli.main(["train", "--no-progress", "--config", str(path), "--out", str(tmp_path / "r")]) == 0
    assert yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())["algo"]["pop"] == 3


def test_eval_and_plot(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert train("--out", str(a)) == 0
    assert train("--out", str(b), "--seed", "1") == 0
    capsys.readouterr()
    assert cli.main(["eval", str(a)]) == 0
    table = rundir.read_csv(a / "eval.csv")
    # the fake's member i always takes action i % 4 (0 up, 1 down, 2 left, 3 right) from the
    # start cell: only "down" reaches the first treasure (0.7 after 1 step); the others
    # bump into walls until the 100-step limit (MO-Gymnasium's deep-sea-treasure rules)
    returns = {int(r["member"]): (float(r["eval0"]), float(r["eval1"])) for r in table}
    assert returns[1] == pytest.approx((0.7, -1.0)) and returns[0] == pytest.approx((0.0, -100.0))
    assert cli.main(["plot", str(a), str(b), "--out", str(tmp_path / "fig.png")]) == 0
    for name in ("fig.png", "fig.pdf", "fig_curves.png", "fig_curves.pdf"):
        assert (tmp_path / name).stat().st_size > 1000
    assert (tmp_path / "fig.pdf").read_bytes()[:5] == b"%PDF-"
    capsys.readouterr()
    assert cli.main(["table", str(a), str(b), "--out", str(tmp_path / "results.md")]) == 0
    lines = (tmp_path / "results.md").read_text().splitlines()
    assert len(lines) == 3 and lines[2].startswith("| a+b | fake | deep-sea-treasure-v0 | 1,000 | 2 |")
    hv = [json.loads((d / "summary.json").read_text())["runs"][0]["hypervolume"] for d in (a, b)]
    assert f"{np.mean(hv):.4g} ± {np.std(hv):.2g}" in lines[2]


def test_rollout_still_works(capsys):
    assert cli.main(["rollout", "--num-envs", "4", "--steps", "20"]) == 0
    assert "deep-sea-treasure-v0" in capsys.readouterr().out


TINY = {
    "morld": [
        "--steps", "3000", "--set", "pop_size=2", "--set", "ppo.num_envs=2",
        "--set", "ppo.num_steps=16", "--set", "ppo.hidden_sizes=16", "--set", "chunk_iterations=2",
        "--set", "eval_period=1", "--set", "log.checkpoint_every=2",
    ],
    "cmorl": [
        "--steps", "40000", "--set", "init_steps=8000", "--set", "ppo.num_envs=2", "--set", "ppo.num_steps=64",
        "--set", "pop_size=3", "--set", "log.checkpoint_every=1",
    ],
    "conditioned-ppo": [
        "--steps", "3000", "--set", "ppo.num_envs=2", "--set", "ppo.num_steps=16", "--set", "ppo.hidden_sizes=16",
        "--set", "num_eval_weights=5", "--set", "max_eval_steps=30", "--set", "chunk_iterations=2",
        "--set", "eval_period=1", "--set", "log.checkpoint_every=2",
    ],
    "envelope": [
        "--steps", "8000", "--set", "chunk_iterations=25", "--set", "eval_period=25", "--set", "learning_starts=200",
        "--set", "hidden_sizes=16", "--set", "num_eval_weights=8", "--set", "max_eval_steps=30",
        "--set", "log.checkpoint_every=2",
    ],
    "gpi-ls": [
        "--steps", "8000", "--set", "chunk_iterations=25", "--set", "round_iterations=25", "--set", "learning_starts=200",
        "--set", "hidden_sizes=16", "--set", "num_eval_weights=8", "--set", "max_eval_steps=30",
        "--set", "log.checkpoint_every=2",
    ],
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["morld", "cmorl", "conditioned-ppo", "envelope", "gpi-ls"])
def test_sigkill_and_resume_matches_uninterrupted_for_real_algorithms(tmp_path, algorithm):
    """The SIGKILL + resume test against MORL/D, C-MORL, preference-conditioned PPO (a
    population of one on the same scaffold), Envelope and GPI-LS (one stage of their own
    program each); subprocesses share a compile cache."""
    env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "xla")}
    full, cut = tmp_path / "full", tmp_path / "cut"
    morl = [sys.executable, "-m", "morl.cli"]
    train_args = ["train", algorithm, "--no-progress", *TINY[algorithm]]
    subprocess.run([*morl, *train_args, "--out", str(full)], env=env, check=True, timeout=1200)
    chunks = len(rundir.read_csv(full / "metrics.csv"))
    assert chunks >= 3
    proc = subprocess.Popen([*morl, *train_args, "--out", str(cut)], env=env)
    deadline = time.time() + 900
    while time.time() < deadline and not any((cut / "checkpoints").glob("[0-9]*")):
        time.sleep(0.02)
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rows = rundir.read_csv(cut / "metrics.csv")
    assert 0 < len(rows) < chunks and all(None not in r.values() for r in rows)
    subprocess.run([*morl, "train", "--no-progress", "--resume", str(cut)], env=env, check=True, timeout=1200)
    assert comparable(cut) == comparable(full)
    # deep-sea-treasure is deterministic: evaluating the restored members again gives the archive's returns
    subprocess.run([*morl, "eval", str(cut)], env=env, check=True, timeout=1200)
    for row in rundir.read_csv(cut / "eval.csv"):
        again, stored = [float(row[f"eval{j}"]) for j in (0, 1)], [float(row[f"stored{j}"]) for j in (0, 1)]
        np.testing.assert_allclose(again, stored, atol=1e-4)


def test_devices_are_checked_before_anything_is_written(tmp_path, capsys):
    assert train("--devices", "2", "--out", str(tmp_path / "a")) == 2
    assert "algorithm 'fake' cannot split over devices" in capsys.readouterr().err
    # once JAX's backend runs with one CPU device, asking for more is refused
    if len(jax.devices()) > 1:
        pytest.skip("this process already has several devices")
    morld = ["train", "morld", "--steps", "1000", "--out", str(tmp_path / "b")]
    assert cli.main([*morld, "--devices", "2"]) == 2
    assert "devices=2: JAX already started with 1 device" in capsys.readouterr().err
    assert cli.main([*morld, "--devices", "0"]) == 2
    assert "'devices' must be >= 1" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
