import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import morl
from morl.envs.pendulum import PendulumState


def _run_against_gymnasium(sequence: int, resync: bool):
    """Step the port and gymnasium's Pendulum-v1 side by side with the same start state
    and random torques (some outside [-2, 2] to exercise the clip); return the largest
    observation and reward differences and check truncation."""
    env = morl.envs.make("mo-pendulum-v0")
    ref = gymnasium.make("Pendulum-v1")
    step = jax.jit(env.step)
    ref.reset(seed=sequence)
    _, state = jax.jit(env.reset)(jax.random.key(sequence))
    ref.unwrapped.state = np.array([state.theta, state.theta_dot], np.float64)
    rng = np.random.default_rng(sequence)
    max_obs_err = max_rew_err = 0.0
    for t in range(200):
        action = rng.uniform(-2.5, 2.5, size=(1,)).astype(np.float32)
        if resync:  # one-step check: start both from the same (float32) state
            ref.unwrapped.state = np.array([state.theta, state.theta_dot], np.float64)
        ref_obs, ref_reward, ref_term, ref_trunc, _ = ref.step(action)
        obs, state, reward, term, trunc, _ = step(jax.random.key(0), state, jnp.asarray(action))
        max_obs_err = max(max_obs_err, float(np.max(np.abs(np.asarray(obs) - ref_obs))))
        max_rew_err = max(max_rew_err, abs(float(np.sum(reward)) - ref_reward))
        assert bool(term) == bool(ref_term) and bool(trunc) == bool(ref_trunc), f"flags at step {t}"
        assert reward.shape == (2,) and reward.dtype == jnp.float32
    assert bool(trunc) and ref_trunc, "both truncate after 200 steps"
    return max_obs_err, max_rew_err


@pytest.mark.parametrize("sequence", range(5))
def test_one_step_matches_gymnasium(sequence):
    obs_err, rew_err = _run_against_gymnasium(sequence, resync=True)
    assert obs_err < 2e-5 and rew_err < 5e-5, (obs_err, rew_err)


def test_free_running_trajectory_stays_close_to_gymnasium():
    # No resync: float32 vs float64 rounding accumulates over 200 steps, but stays small.
    obs_err, rew_err = _run_against_gymnasium(7, resync=False)
    assert obs_err < 1e-3 and rew_err < 1e-2, (obs_err, rew_err)


def test_reset_distribution_matches_gymnasium_bounds():
    env = morl.envs.make("mo-pendulum-v0")
    obs, state = jax.vmap(env.reset)(jax.random.split(jax.random.key(0), 4000))
    th, thdot = np.asarray(state.theta), np.asarray(state.theta_dot)
    assert th.min() >= -np.pi and th.max() <= np.pi and thdot.min() >= -1 and thdot.max() <= 1
    # uniform: quartiles near +-pi/2 and +-0.5
    np.testing.assert_allclose(np.quantile(th, [0.25, 0.75]), [-np.pi / 2, np.pi / 2], atol=0.15)
    np.testing.assert_allclose(np.quantile(thdot, [0.25, 0.75]), [-0.5, 0.5], atol=0.05)
    np.testing.assert_allclose(np.asarray(obs), np.stack([np.cos(th), np.sin(th), thdot], 1), atol=1e-6)


def test_objectives_are_error_and_torque_cost():
    env = morl.envs.make("mo-pendulum-v0")
    state = PendulumState(jnp.float32(3.0 * np.pi / 2), jnp.float32(2.0), jnp.int32(0))
    _, _, reward, _, _, _ = env.step(jax.random.key(0), state, jnp.array([3.0], jnp.float32))
    # angle_normalize(3 pi / 2) = -pi / 2; torque clipped to 2
    np.testing.assert_allclose(np.asarray(reward), [-((np.pi / 2) ** 2 + 0.4), -0.004], rtol=1e-6)


def test_bad_action_shape_named():
    env = morl.envs.make("mo-pendulum-v0")
    _, state = env.reset(jax.random.key(0))
    with pytest.raises(ValueError, match="action has shape"):
        env.step(jax.random.key(0), state, jnp.zeros((2,), jnp.float32))
