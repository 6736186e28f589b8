"""Per-env defaults (`morl.envs.defaults`, issue 20): evaluation episodes for stochastic
envs and per-algorithm config defaults, applied below everything the user gives."""

from __future__ import annotations

import pytest

from morl import config
from morl.algorithms.capql import CAPQLConfig
from morl.algorithms.cmorl import CMORLConfig
from morl.algorithms.conditioned_ppo import ConditionedPolicyConfig
from morl.algorithms.envelope import EnvelopeConfig
from morl.algorithms.gpi_ls import GPILSConfig
from morl.algorithms.morld import MORLDConfig
from morl.algorithms.pgmorl import PGMORLConfig
from morl.envs import defaults
from morl.envs.defaults import ENV_DEFAULTS, EnvDefaults


@pytest.mark.parametrize(
    "config_cls", [MORLDConfig, CMORLConfig, EnvelopeConfig, GPILSConfig, CAPQLConfig, ConditionedPolicyConfig, PGMORLConfig]
)
def test_eval_episodes_default_comes_from_the_env(config_cls):
    assert config_cls(env="resource-gathering-v0").eval_episodes == 32
    assert config_cls(env="minecart-v0").eval_episodes == 4
    assert config_cls(env="deep-sea-treasure-v0").eval_episodes == 1
    assert config_cls(env="resource-gathering-v0", eval_episodes=2).eval_episodes == 2
    assert config_cls(env="no-such-env-v0").eval_episodes == 1


@pytest.fixture
def table_entry(monkeypatch):
    entry = EnvDefaults((0.0, -25.0), algo={"morld": {"total_steps": 123_456, "ppo.ent_coef": 0.02}})
    monkeypatch.setitem(ENV_DEFAULTS, "test-env-v0", entry)
    return entry


def test_algo_defaults_apply_to_the_env_and_algorithm_only(table_entry):
    built = config.build({"algorithm": "morld"}, [("env", "test-env-v0")])
    assert built.algo.total_steps == 123_456 and built.algo.ppo.ent_coef == 0.02
    assert built.algo.ppo.num_envs == MORLDConfig().ppo.num_envs  # the preset's other fields stay
    assert config.build({"algorithm": "morld"}).algo.total_steps == MORLDConfig().total_steps
    assert defaults.algo_defaults("cmorl", "test-env-v0") == {}


def test_user_values_beat_env_defaults(table_entry):
    raw = {"algorithm": "morld", "algo": {"env": "test-env-v0", "ppo": {"ent_coef": 0.3}}}
    built = config.build(raw, [("total_steps", "1000")])
    assert built.algo.total_steps == 1000 and built.algo.ppo.ent_coef == 0.3
    built = config.build({"algorithm": "morld", "algo": {"env": "test-env-v0"}}, [("algo.ppo.ent_coef", "0.5")])
    assert built.algo.total_steps == 123_456 and built.algo.ppo.ent_coef == 0.5


def test_every_table_entry_names_real_fields():
    from morl.algorithms import known_algorithms

    for env_id, entry in ENV_DEFAULTS.items():
        for algorithm in entry.algo:
            assert algorithm in known_algorithms(), (env_id, algorithm)
            config.build({"algorithm": algorithm}, [("env", env_id)])  # unknown keys raise ConfigError


@pytest.mark.slow
@pytest.mark.parametrize(("algorithm", "env_id", "floor"), [
    ("cmorl", "fruit-tree-v0", 0.80),
    ("morld", "resource-gathering-v0", 0.90),
    ("morld", "four-room-v0", 0.80),
    ("cmorl", "four-room-v0", 0.80),
])
def test_defaults_reach_the_floor_over_three_seeds(tmp_path, monkeypatch, algorithm, env_id, floor):
    """experiments/defaults_quality.py's measure for one row (minutes on a CPU)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "experiments" / "defaults_quality.py"
    spec = importlib.util.spec_from_file_location("defaults_quality", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "RUNS", tmp_path)
    _, _, out = module.train(algorithm, env_id, seeds=3)
    assert module.measure(out, episodes=100)["mean_ratio"] >= floor
