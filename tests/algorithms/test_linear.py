"""Linear-scalarisation PPO (`morl train linear`), the smallest algorithm on the scaffold."""

import dataclasses

import jax
import numpy as np
import pytest

from morl import envs
from morl.algorithms.linear import LINEAR_PPO, LinearConfig, make_trainer
from morl.config import build


def test_three_seeds_find_points_of_the_true_deep_sea_treasure_front():
    """Every archived point is one of the exact front's points (DST is deterministic, so an
    evaluation cannot overshoot), and each of 3 seeds, trained in one program, archives at
    least 4 of the 10 (measured: 9-10 per seed at 150k steps, 6 members)."""
    trainer = make_trainer(LinearConfig(total_steps=100_000, pop_size=6), num_runs=3)
    state = trainer.init(jax.vmap(jax.random.key)(np.arange(3)))
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)
    assert metrics["member_returns"].shape == (3, 6, 2)
    true_front = np.asarray(envs.make("deep-sea-treasure-v0").pareto_front(0.99))
    for run in range(3):
        front = trainer.front(state, run)
        distance = np.abs(front.returns[:, None, :] - true_front[None]).max(-1).min(-1)
        assert np.all(distance < 1e-3), front.returns
        assert len(front.returns) >= 4
        act = trainer.policy(state, int(front.member[0]), run)
        assert int(act(np.zeros(2, np.float32), jax.random.key(0))) in range(4)


def test_config_loads_with_the_preset_and_bad_values_name_the_field():
    algo = build({"algorithm": "linear", "algo": {"ppo": {"num_envs": 4}}}).algo
    assert algo.ppo == dataclasses.replace(LINEAR_PPO, num_envs=4)  # the keys override the preset
    with pytest.raises(ValueError, match="pop_size"):
        make_trainer(LinearConfig(pop_size=0))
    with pytest.raises(ValueError, match="learning_rate"):
        make_trainer(LinearConfig(ppo=dataclasses.replace(LINEAR_PPO, learning_rate=-1.0)))
    with pytest.raises(ValueError, match="not vmappable"):
        make_trainer(LinearConfig(), num_runs=2, hparams={"pop_size": np.ones(2)})
