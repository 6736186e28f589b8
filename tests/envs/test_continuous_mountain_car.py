"""MOContinuousMountainCar against MO-Gymnasium's `mo-mountaincarcontinuous-v0`.

MO-Gymnasium keeps the state in float32 but takes the cosine in float64; the port is all
float32, hence the 1e-5 tolerance on observations and rewards.
"""

import jax
import jax.numpy as jnp
import mo_gymnasium as mo_gym
import numpy as np
import pytest
from scipy import stats

import morl

ENV_ID = "mo-mountaincarcontinuous-v0"
ATOL = 1e-5


def _action(rng: np.random.Generator, velocity: float, policy: str) -> np.ndarray:
    if policy == "pump":  # push along the velocity, sometimes beyond the bounds (clipped)
        force = np.sign(velocity + 1e-9) * rng.uniform(0.5, 1.5)
    else:
        force = rng.uniform(-1.2, 1.2)
    return np.array([force], np.float32)


def _sync(ref, state) -> None:
    ref.unwrapped.state = np.array([float(state.position), float(state.velocity)], np.float32)


@pytest.mark.parametrize("policy", ["pump", "random"])
def test_matches_mo_gymnasium_step_by_step(policy):
    env = morl.envs.make(ENV_ID)
    ref = mo_gym.make(ENV_ID)
    step, reset = jax.jit(env.step), jax.jit(env.reset)
    rng = np.random.default_rng(1)
    outcomes = []
    for sequence in range(3):
        ref.reset(seed=sequence)
        obs, state = reset(jax.random.key(sequence))
        _sync(ref, state)
        for t in range(1000):
            action = _action(rng, float(obs[1]), policy)
            ref_obs, ref_reward, ref_term, ref_trunc, _ = ref.step(action)
            obs, state, reward, term, trunc, _ = step(jax.random.key(t), state, jnp.asarray(action), None)
            where = f"{policy} sequence {sequence} step {t} action {action}"
            np.testing.assert_allclose(np.asarray(obs), ref_obs, atol=ATOL, err_msg=f"obs at {where}")
            np.testing.assert_allclose(np.asarray(reward), ref_reward, atol=ATOL, err_msg=f"reward at {where}")
            assert bool(term) == ref_term, f"terminated at {where}"
            assert bool(trunc) == ref_trunc, f"truncated at {where}"
            if ref_term or ref_trunc:
                outcomes.append("goal" if ref_term else "limit")
                break
    # Pumping reaches the goal; random forces stay in the valley for the 999 steps.
    assert outcomes == (["goal"] * 3 if policy == "pump" else ["limit"] * 3), outcomes


def test_left_wall_stops_the_car():
    env = morl.envs.make(ENV_ID)
    ref = mo_gym.make(ENV_ID)
    ref.reset(seed=0)
    _, state = env.reset(jax.random.key(0))
    state = state.replace(position=jnp.float32(-1.15), velocity=jnp.float32(-0.03))
    _sync(ref, state)
    hits = 0
    for t in range(20):
        action = np.array([-1.0], np.float32)
        ref_obs, *_ = ref.step(action)
        obs, state, *_ = env.step(jax.random.key(t), state, jnp.asarray(action))
        np.testing.assert_allclose(np.asarray(obs), ref_obs, atol=ATOL)
        at_wall = ref_obs[0] == np.float32(-1.2)
        assert (float(obs[0]) == np.float32(-1.2)) == at_wall
        hits += int(at_wall and ref_obs[1] == 0.0)
    assert hits >= 1


def test_reset_distribution_matches_gymnasium():
    env = morl.envs.make(ENV_ID)
    obs, _ = jax.vmap(env.reset)(jax.random.split(jax.random.key(0), 2000))
    ref = mo_gym.make(ENV_ID)
    ref_obs = np.array([ref.reset(seed=s)[0] for s in range(2000)])
    assert np.all(np.asarray(obs[:, 1]) == 0.0)
    assert stats.ks_2samp(np.asarray(obs[:, 0]), ref_obs[:, 0]).pvalue > 1e-3


def test_spaces_match():
    env = morl.envs.make(ENV_ID)
    ref = mo_gym.make(ENV_ID)
    for ours, theirs in [(env.observation_space(), ref.observation_space), (env.action_space(), ref.action_space)]:
        assert ours.shape == theirs.shape
        np.testing.assert_array_equal(ours.low, theirs.low)
        np.testing.assert_array_equal(ours.high, theirs.high)
    assert int(env.default_params.max_steps) == ref.spec.max_episode_steps
    assert env.reward_dim == ref.unwrapped.reward_dim


def test_integer_action_rejected():
    env = morl.envs.make(ENV_ID)
    _, state = env.reset(jax.random.key(0))
    with pytest.raises(TypeError, match="dtype"):
        env.step(jax.random.key(0), state, jnp.zeros((1,), jnp.int32))
