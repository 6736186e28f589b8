import jax
import jax.numpy as jnp
import mo_gymnasium as mo_gym
import numpy as np
import pytest

import morl
from tests.envs.reference import compare_rollouts, random_vmapped_rollout

DEPTHS = [5, 6, 7]


def test_default_depth_is_mo_gymnasiums():
    assert morl.envs.make("fruit-tree-v0").depth == mo_gym.make("fruit-tree-v0").unwrapped.tree_depth


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_mo_gymnasium_step_by_step(depth, seed):
    env = morl.envs.make("fruit-tree-v0", depth=depth)
    episodes = compare_rollouts(env, "fruit-tree-v0", {"depth": depth}, num_sequences=40, seed=seed)
    assert episodes == 40


@pytest.mark.parametrize("depth", DEPTHS)
def test_every_leaf_reward_matches(depth):
    """Walk to each leaf by its binary path; MO-Gymnasium must pay the same fruit."""
    env = morl.envs.make("fruit-tree-v0", depth=depth)
    step = jax.jit(env.step)
    ref = mo_gym.make("fruit-tree-v0", depth=depth)
    for leaf in range(2**depth):
        ref.reset(seed=0)
        _, state = env.reset(jax.random.key(0))
        for bit in reversed(range(depth)):
            action = (leaf >> bit) & 1
            ref_obs, ref_reward, ref_term, _, _ = ref.step(action)
            obs, state, reward, term, trunc, _ = step(jax.random.key(0), state, jnp.int32(action), None)
        np.testing.assert_array_equal(np.asarray(obs), ref_obs)
        np.testing.assert_array_equal(np.asarray(reward), ref_reward)
        assert bool(term) and ref_term and not bool(trunc)


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("gamma", [1.0, 0.99, 0.9])
def test_pareto_front_equals_mo_gymnasium(depth, gamma):
    ours = morl.envs.make("fruit-tree-v0", depth=depth).pareto_front(gamma)
    theirs = np.array(mo_gym.make("fruit-tree-v0", depth=depth).unwrapped.pareto_front(gamma))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_jits_and_vmaps_through_autoreset():
    env = morl.envs.make("fruit-tree-v0")
    obs, reward, terminated, truncated = random_vmapped_rollout(env, num_envs=64, num_steps=60)
    assert obs.shape == (60, 64, 2) and reward.shape == (60, 64, 6)
    assert terminated.sum() == 64 * 10 and not truncated.any()  # a leaf every 6 steps
    fruits = {tuple(f) for f in np.asarray(mo_gym.make("fruit-tree-v0").unwrapped.pareto_front(1.0), np.float32)}
    assert all(tuple(r) in fruits for r in reward[terminated])
    assert not reward[~terminated].any()


def test_bad_depth_named():
    with pytest.raises(ValueError, match="depth must be 5, 6 or 7, got 4"):
        morl.envs.make("fruit-tree-v0", depth=4)
