"""`PPOSection`: one flat config section for the PPO learner's structure and numbers."""

import dataclasses

import pytest

from morl.agents.ppo.config import ALGORITHM_FIELDS, HYPER_FIELDS, PPOConfig, PPOHyperparams, PPOSection
from morl.algorithms.morld import MORLD_PPO


def test_section_holds_every_learner_setting_with_the_learner_defaults():
    section = {f.name: f.default for f in dataclasses.fields(PPOSection)}
    structure = {f.name: f.default for f in dataclasses.fields(PPOConfig) if f.name not in ALGORITHM_FIELDS}
    numbers = {f.name: f.default for f in dataclasses.fields(PPOHyperparams)}
    assert section == {**structure, **numbers}
    assert set(ALGORITHM_FIELDS) < {f.name for f in dataclasses.fields(PPOConfig)}


def test_section_builds_the_static_config_and_the_numbers():
    section = MORLD_PPO.replace(num_envs=4, num_steps=32, num_minibatches=8, actor="pmoe", num_experts=3,
                                ent_schedule="linear", learning_rate=3e-4)
    config = section.ppo_config(eval_gamma=0.98, max_eval_steps=200, total_updates=50)
    assert (config.num_envs, config.num_steps, config.num_minibatches, config.actor, config.num_experts) == (4, 32, 8, "pmoe", 3)
    assert (config.eval_gamma, config.max_eval_steps, config.total_updates, config.ent_schedule) == (0.98, 200, 50, "linear")
    assert config.normalize_returns and config.num_epochs == 4  # MORL/D's default, then the learner's
    assert MORLD_PPO.ppo_config(0.99, 1000, 50).total_updates is None  # no schedule: not kept
    hyper = section.hyperparams()
    assert (hyper.learning_rate, hyper.ent_coef) == (3e-4, 0.05)
    assert set(HYPER_FIELDS) == {f.name for f in dataclasses.fields(hyper)}


def test_section_structure_errors_come_from_the_learner_config():
    with pytest.raises(ValueError, match="not divisible by num_minibatches=3"):
        MORLD_PPO.replace(num_minibatches=3).ppo_config(0.99, 1000, None)
