"""Evaluation rollouts (`morl.envs.evaluation`) against MO-Gymnasium's own env."""

import jax
import jax.numpy as jnp
import mo_gymnasium as mo_gym
import numpy as np
import pytest

from morl import envs
from morl.envs.evaluation import MemoryPolicy, evaluate_policy


def _right_then_down(column, obs, key):
    """Sail right along the surface to `column`, then dive (DST actions: 1 down, 3 right)."""
    return jnp.where(obs[1] < column, 3, 1).astype(jnp.int32)


def _reference_return(column, gamma):
    env = mo_gym.make("deep-sea-treasure-v0")
    obs, _ = env.reset(seed=0)
    total, t, done = np.zeros(2), 0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(3 if obs[1] < column else 1)
        total += gamma**t * np.asarray(reward)
        t += 1
        done = terminated or truncated
    return total


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_evaluate_policy_matches_mo_gymnasium(gamma):
    env = envs.make("deep-sea-treasure-v0")
    for column in (0, 3, 9):
        act = jax.tree_util.Partial(_right_then_down, jnp.int32(column))  # one compile for all columns
        ours = evaluate_policy(env, act, jax.random.key(0), episodes=2, gamma=gamma)
        assert ours.shape == (2, 2)
        np.testing.assert_allclose(ours, np.tile(_reference_return(column, gamma), (2, 1)), rtol=1e-5)


def test_plain_closures_work_too():
    env = envs.make("deep-sea-treasure-v0")
    act = lambda obs, key: _right_then_down(2, obs, key)  # noqa: E731
    ours = evaluate_policy(env, act, jax.random.key(0), episodes=1, gamma=1.0)
    np.testing.assert_allclose(ours[0], _reference_return(2, 1.0), rtol=1e-6)


def _sail_for(steps_right, obs, steps_taken):
    """Right while fewer than `steps_right` steps are taken, then down: the column is read from
    the memory (a step counter), not from the observation."""
    return jnp.where(steps_taken < steps_right, 3, 1).astype(jnp.int32)


def _count_step(steps_taken, reward):
    return steps_taken + 1


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_a_memory_policy_carries_its_memory_through_every_episode(gamma):
    env = envs.make("deep-sea-treasure-v0")
    for column in (0, 3, 9):
        policy = MemoryPolicy(
            act=jax.tree_util.Partial(_sail_for, jnp.int32(column)),
            remember=jax.tree_util.Partial(_count_step),
            memory=jnp.int32(0),
        )
        ours = evaluate_policy(env, policy, jax.random.key(0), episodes=3, gamma=gamma)
        np.testing.assert_allclose(ours, np.tile(_reference_return(column, gamma), (3, 1)), rtol=1e-5)
