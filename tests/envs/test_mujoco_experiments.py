"""The published MO-MuJoCo settings in experiments/mujoco are well-formed (no training here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import gymnasium
import mo_gymnasium  # noqa: F401  (registers the MO-Gymnasium ids)
import pytest

# Loaded under its own name: experiments/cmorl has a settings.py too.
_PATH = Path(__file__).resolve().parents[2] / "experiments" / "mujoco" / "settings.py"
_SPEC = importlib.util.spec_from_file_location("mujoco_experiment_settings", _PATH)
settings = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(settings)


@pytest.mark.parametrize("task", list(settings.CMORL_TASKS))
def test_cmorl_settings_fit_their_budget(task):
    env_id, total, init, ref = settings.CMORL_TASKS[task]
    assert env_id in gymnasium.registry, f"{env_id} is not an MO-Gymnasium id"
    config = settings.cmorl_config(task)
    budget = config.budget(len(ref))
    assert budget.extension_rounds >= 1
    assert budget.init_steps <= init and budget.total_steps <= total
    assert config.ref_point == (-100.0,) * len(ref)  # ALGORITHMS.md section 6
    assert config.eval_gamma == 0.99 and config.ppo.max_eval_steps == 500


@pytest.mark.parametrize("task", list(settings.MORLD_TASKS))
def test_morld_settings_validate(task):
    env_id, total, ref = settings.MORLD_TASKS[task]
    assert env_id in gymnasium.registry, f"{env_id} is not an MO-Gymnasium id"
    config = settings.morld_config(task)
    config.validate(len(ref))
    assert config.total_steps == total and config.ref_point == (-100.0, -100.0)
