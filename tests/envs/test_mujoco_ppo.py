"""CPU smoke run: a few thousand steps of multi-objective PPO on the MJX mo-halfcheetah port.

One MJX compile inside PPO's rollout scan (a minute or more on a shared CPU), hence slow.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mo_gymnasium as mo_gym
import numpy as np
import pytest

from morl.agents.ppo import PPOConfig, make
from morl.envs import registry


@pytest.mark.slow
def test_ppo_runs_a_few_thousand_steps_on_mo_halfcheetah():
    env = registry.make("mo-halfcheetah-v5")
    limit = 100  # short episodes so some finish within the run
    params = env.default_params.replace(max_steps=jnp.int32(limit))
    config = PPOConfig(num_envs=4, num_steps=128, num_epochs=2, num_minibatches=2, hidden_sizes=(32, 32))
    learner = make(env, config, env_params=params)
    num_updates = 6  # 3072 env steps
    final, metrics = jax.jit(learner.make_train(num_updates))(jax.random.key(0), jnp.array([0.5, 0.5]))
    metrics = jax.tree_util.tree_map(np.asarray, metrics)
    assert int(final.env_steps) == num_updates * config.batch_size
    for name in ("policy_objective", "value_loss", "entropy"):
        assert np.isfinite(metrics[name]).all(), name
    finished = metrics["num_episodes"] > 0
    assert finished.sum() >= 3
    # HalfCheetah never terminates: every episode runs to the time limit.
    np.testing.assert_array_equal(metrics["episode_length"][finished], limit)
    # The control-cost objective is -sum(a^2) per step with a in MO-Gymnasium's action box.
    action_space = mo_gym.make("mo-halfcheetah-v5").action_space
    worst = -limit * float(np.sum(np.maximum(action_space.low**2, action_space.high**2)))
    cost = metrics["episode_return"][finished][:, 1]
    assert ((cost <= 0) & (cost >= worst)).all(), cost
    assert np.isfinite(metrics["episode_return"][finished]).all()
