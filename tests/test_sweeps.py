"""`morl sweep`: Optuna studies over `morl train` runs (test double "fake" as the algorithm)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml

import tests.io.fake_trainer  # noqa: F401  registers algorithm "fake"
from morl import cli, sweeps
from morl.io import rundir


def write_spec(tmp_path, **changes):
    spec = {
        "name": "fake-sweep",
        "base": {"algorithm": "fake", "total_steps": 300, "chunk_steps": 100, "log.checkpoint_every": 0},
        "params": {"step_size": {"low": 0.0, "high": 2.0}, "pop": {"choices": [2, 4]}},
        "objectives": ["hypervolume"],
        "n_trials": 3,
        "sampler": {"name": "random", "seed": 0},
        "dir": str(tmp_path / "sweep"),
    }
    spec.update(changes)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_single_objective_sweep_writes_trials_and_summary(tmp_path, capsys):
    spec = write_spec(tmp_path)
    assert cli.main(["sweep", str(spec)]) == 0
    printed = capsys.readouterr().out
    assert "3/3 trials complete" in printed
    study = optuna.load_study(study_name="fake-sweep", storage=f"sqlite:///{tmp_path / 'sweep' / 'study.db'}")
    trials = study.get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 3
    for t in trials:  # each trial's value is the hypervolume its run directory reports
        summary = json.loads((tmp_path / "sweep" / "trials" / str(t.number) / "summary.json").read_text())
        assert t.values[0] == pytest.approx(summary["runs"][0]["hypervolume"])
        config = yaml.safe_load((tmp_path / "sweep" / "trials" / str(t.number) / "config.yaml").read_text())
        assert config["algo"]["step_size"] == pytest.approx(t.params["step_size"])
        assert config["algo"]["pop"] == t.params["pop"]
    table = rundir.read_csv(tmp_path / "sweep" / "trials.csv")
    assert [int(r["trial"]) for r in table if r["best"] == "True"] == [study.best_trial.number]
    assert (tmp_path / "sweep" / "pareto.png").stat().st_size > 1000
    # running it again adds nothing: the study already holds n_trials finished trials
    assert cli.main(["sweep", str(spec)]) == 0
    assert len(study.get_trials()) == 3


_WORKER = """
import sys
import tests.io.fake_trainer
from morl.cli import main
sys.exit(main(["sweep", sys.argv[1]]))
"""


def test_two_workers_share_one_sqlite_study(tmp_path):
    spec = write_spec(
        tmp_path,
        n_trials=4,
        objectives=["hypervolume", "expected_utility"],
        base={"algorithm": "fake", "total_steps": 500, "chunk_steps": 100, "sleep": 0.3, "log.checkpoint_every": 0},
        sampler={"name": "tpe", "seed": 0},
    )
    workers = [subprocess.Popen([sys.executable, "-c", _WORKER, str(spec)], cwd=os.getcwd()) for _ in range(2)]
    assert [w.wait(timeout=600) for w in workers] == [0, 0]
    study = optuna.load_study(study_name="fake-sweep", storage=f"sqlite:///{tmp_path / 'sweep' / 'study.db'}")
    complete = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.COMPLETE]
    assert 4 <= len(complete) <= 5  # a worker may start one trial before it sees the 4th finish
    assert len({t.user_attrs["worker"] for t in complete}) == 2
    # workers seed their samplers differently: no trial is proposed twice
    assert len({tuple(sorted(t.params.items())) for t in complete}) == len(complete)
    assert len({t.user_attrs["run_dir"] for t in complete}) == len(complete)
    assert all(len(t.values) == 2 for t in complete)
    assert sweeps.summarize(sweeps.load_spec(spec)).count("\n") >= 5
    assert (tmp_path / "sweep" / "pareto.pdf").exists()


@pytest.mark.parametrize(
    "change, culprit",
    [
        ({"params": {"step_sise": {"low": 0.0, "high": 1.0}}}, "step_sise"),
        ({"params": {"pop": {"low": 1, "high": "many"}}}, "algo.pop"),
        ({"params": {"env": {"low": 1, "high": 2}}}, "env"),
        ({"objectives": ["hypervolumes"]}, "hypervolumes"),
        ({"sampler": {"name": "grid"}}, "grid"),
        ({"trials": 3}, "trials"),
    ],
)
def test_bad_spec_is_one_line_and_creates_nothing(tmp_path, capsys, change, culprit):
    spec = write_spec(tmp_path, **change) if "trials" not in change else write_spec(tmp_path)
    if "trials" in change:
        spec.write_text(spec.read_text() + "trials: 3\n")
    assert cli.main(["sweep", str(spec)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("morl: error:") and culprit in err and "\n" not in err
    assert not (tmp_path / "sweep").exists()


SHIPPED_SPECS = sorted(Path(__file__).resolve().parents[1].joinpath("sweeps").glob("*.yaml"))


@pytest.mark.parametrize("spec", SHIPPED_SPECS, ids=lambda p: p.name)
def test_shipped_specs_validate(spec):
    sweeps.check(sweeps.load_spec(spec))
