"""The MO-MuJoCo table's settings (experiments/mujoco) are well-formed, and the CPU smoke
version of each row runs end to end through run.py into a complete result file."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import gymnasium
import mo_gymnasium  # noqa: F401  (registers the MO-Gymnasium ids)
import numpy as np
import pytest

_DIR = Path(__file__).resolve().parents[2] / "experiments" / "mujoco"


def _load(name: str):
    # Loaded under their own names: experiments/cmorl has a settings.py too.
    spec = importlib.util.spec_from_file_location(f"mujoco_experiment_{name}", _DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.pop("settings", None)  # run.py imports `settings`: this directory's, not another's
    spec.loader.exec_module(module)
    sys.modules.pop("settings", None)
    return module


settings = _load("settings")

REQUIRED = ("algorithm", "setting", "env_id", "seed", "total_steps", "hypervolume", "expected_utility", "sparsity",
            "num_points", "wall_s", "device", "git_commit", "config")


@pytest.mark.parametrize("budget", settings.BUDGETS)
@pytest.mark.parametrize("task", list(settings.TASKS))
def test_cmorl_settings_fit_their_budget(task, budget):
    t = settings.TASKS[task]
    assert t.env_id in gymnasium.registry, f"{t.env_id} is not an MO-Gymnasium id"
    config = settings.config("cmorl", task, budget)
    total, init = settings.budget_steps(task, budget)
    steps = config.budget(len(t.ref_point))
    assert steps.extension_rounds >= 1
    assert steps.init_steps <= init and steps.total_steps <= total
    assert config.ref_point == (-100.0,) * len(t.ref_point)
    assert config.eval_gamma == 0.99 and config.max_eval_steps == 500
    assert config.env_kwargs == ("max_episode_steps=500",)


@pytest.mark.parametrize("algorithm", ["morld", "morld-sac"])
@pytest.mark.parametrize("task", list(settings.TASKS))
def test_morld_rows_validate_at_the_same_budget(algorithm, task):
    t = settings.TASKS[task]
    config = settings.config(algorithm, task)
    config.validate(len(t.ref_point))
    assert config.total_steps == t.total_steps and config.max_eval_steps == 500


def test_code_budget_counts_what_the_public_code_steps():
    # Hopper-2d in the public code: 6 policies x (1.0M // 6 // 512 = 325) init updates and
    # (0.5M // 5 // 512 // 2 = 97) extension updates per selected policy and objective, each
    # update 512 steps x 8 envs; plus one probe rollout per selected policy here.
    total, init = settings.budget_steps("hopper-2d", "code")
    assert init == 6 * 325 * 4096
    assert total == init + 97 * 5 * 2 * 4096 + 5 * 4096


def _smoke(algorithm: str, task: str, tmp_path, monkeypatch) -> dict:
    run = _load("run")
    monkeypatch.setattr(run, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(run, "RUNS", tmp_path / "runs")
    result = run.run_seed(algorithm, task, "paper", 0, True)
    written = json.loads(run.result_path(algorithm, task, "paper", 0, True).read_text())
    assert written == json.loads(json.dumps(result))
    return written


@pytest.mark.parametrize("algorithm", ["cmorl", "morld"])
def test_hopper_2d_smoke_row_writes_a_complete_result(algorithm, tmp_path, monkeypatch):
    result = _smoke(algorithm, "hopper-2d", tmp_path, monkeypatch)
    assert all(key in result for key in REQUIRED)
    assert result["env_id"] == "mo-hopper-2d-v4" and result["total_steps"] > 0
    front = np.asarray(result["front"])
    assert front.shape == (result["num_points"], 2)
    assert np.all(front > -100.0)  # every archived return dominates the reference point
    assert result["hypervolume"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", list(settings.ALGORITHMS))
@pytest.mark.parametrize("task", list(settings.TASKS))
def test_every_smoke_row_runs(algorithm, task, tmp_path, monkeypatch):
    result = _smoke(algorithm, task, tmp_path, monkeypatch)
    assert result["num_points"] >= 1
