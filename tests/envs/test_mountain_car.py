"""MOMountainCar against MO-Gymnasium's `mo-mountaincar-*` (which steps gymnasium's dynamics
in float64; the port uses float32, hence the 1e-5 tolerance on observations and speed)."""

import jax
import jax.numpy as jnp
import mo_gymnasium as mo_gym
import numpy as np
import pytest
from scipy import stats

import morl

VARIANTS = ["mo-mountaincar-v0", "mo-mountaincar-3d-v0", "mo-mountaincar-timemove-v0", "mo-mountaincar-timespeed-v0"]
ATOL = 1e-5


def _pumping_action(rng: np.random.Generator, velocity: float) -> int:
    """Mostly push along the velocity (reaches the goal in ~100 steps); sometimes random."""
    if rng.random() < 0.25:
        return int(rng.integers(3))
    return 2 if velocity >= 0 else 0


def _compare(env_id: str, num_sequences: int, seed: int = 0) -> tuple[int, int]:
    """Step the port and MO-Gymnasium from the same start state with the same actions.

    Returns (episodes that terminated at the goal, episodes truncated at the time limit).
    """
    env = morl.envs.make(env_id)
    ref = mo_gym.make(env_id)
    assert env.reward_dim == ref.unwrapped.reward_dim
    step, reset = jax.jit(env.step), jax.jit(env.reset)
    rng = np.random.default_rng(seed)
    goals = limits = 0
    for sequence in range(num_sequences):
        ref.reset(seed=seed + sequence)
        obs, state = reset(jax.random.key(seed + sequence))
        ref.unwrapped.state = np.array([float(state.position), float(state.velocity)])
        pumping = sequence % 3 != 2  # every third episode is random and hits the time limit
        for t in range(250):
            action = _pumping_action(rng, float(obs[1])) if pumping else int(rng.integers(3))
            ref_obs, ref_reward, ref_term, ref_trunc, _ = ref.step(action)
            obs, state, reward, term, trunc, _ = step(jax.random.key(t), state, jnp.int32(action), None)
            where = f"{env_id} sequence {sequence} step {t} action {action}"
            np.testing.assert_allclose(np.asarray(obs), ref_obs, atol=ATOL, err_msg=f"obs at {where}")
            np.testing.assert_allclose(np.asarray(reward), ref_reward, atol=ATOL, err_msg=f"reward at {where}")
            assert bool(term) == ref_term, f"terminated at {where}"
            assert bool(trunc) == ref_trunc, f"truncated at {where}"
            if ref_term or ref_trunc:
                goals += int(ref_term)
                limits += int(ref_trunc)
                assert t + 1 <= 200
                break
    return goals, limits


@pytest.mark.parametrize("env_id", VARIANTS)
def test_matches_mo_gymnasium_step_by_step(env_id):
    goals, limits = _compare(env_id, num_sequences=6)
    assert goals >= 3 and limits >= 1, (goals, limits)


def test_left_wall_stops_the_car():
    """Moving left near position -1.2, the car is clipped at the wall and its velocity
    zeroed, as in gymnasium; then it rolls back."""
    env = morl.envs.make("mo-mountaincar-v0")
    ref = mo_gym.make("mo-mountaincar-v0")
    ref.reset(seed=0)
    _, state = env.reset(jax.random.key(0))
    state = state.replace(position=jnp.float32(-1.15), velocity=jnp.float32(-0.03))
    ref.unwrapped.state = np.array([float(state.position), float(state.velocity)])
    hits = 0
    for t in range(20):
        ref_obs, *_ = ref.step(0)
        obs, state, *_ = env.step(jax.random.key(t), state, jnp.int32(0))
        np.testing.assert_allclose(np.asarray(obs), ref_obs, atol=ATOL)
        at_wall = ref_obs[0] == np.float32(-1.2)
        assert (float(obs[0]) == np.float32(-1.2)) == at_wall
        hits += int(at_wall and ref_obs[1] == 0.0)
    assert hits >= 1


def test_reset_distribution_matches_gymnasium():
    env = morl.envs.make("mo-mountaincar-v0")
    obs, _ = jax.vmap(env.reset)(jax.random.split(jax.random.key(0), 2000))
    ref = mo_gym.make("mo-mountaincar-v0")
    ref_obs = np.array([ref.reset(seed=s)[0] for s in range(2000)])
    assert np.all(np.asarray(obs[:, 1]) == 0.0) and np.all(ref_obs[:, 1] == 0.0)
    assert np.asarray(obs[:, 0]).min() >= -0.6 and np.asarray(obs[:, 0]).max() <= -0.4
    assert stats.ks_2samp(np.asarray(obs[:, 0]), ref_obs[:, 0]).pvalue > 1e-3


@pytest.mark.parametrize("env_id", VARIANTS)
def test_spaces_match(env_id):
    env = morl.envs.make(env_id)
    ref = mo_gym.make(env_id)
    space = env.observation_space()
    np.testing.assert_array_equal(space.low, ref.observation_space.low)
    np.testing.assert_array_equal(space.high, ref.observation_space.high)
    assert env.action_space().n == ref.action_space.n
    assert int(env.default_params.max_steps) == ref.spec.max_episode_steps


def test_bad_keyword_named():
    with pytest.raises(TypeError, match="mo-mountaincar-v0"):
        morl.envs.make("mo-mountaincar-v0", add_speed=True)
