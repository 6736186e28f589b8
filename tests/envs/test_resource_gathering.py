import jax
import jax.numpy as jnp
import mo_gymnasium as mo_gym
import numpy as np
import pytest

import morl
from tests.envs.reference import compare_rollouts, random_vmapped_rollout

ENV_ID = "resource-gathering-v0"
_uniform = jax.jit(jax.random.uniform)


class _ForcedUniform:
    """Stands in for MO-Gymnasium's `np_random`: `random()` returns a preset value."""

    def __init__(self, value: float):
        self.value = value

    def random(self) -> float:
        return self.value


def _force_kill_draw(ref, key):
    """Make MO-Gymnasium's enemy draw the uniform the port draws from `key` (its documented rule)."""
    ref.unwrapped._np_random = _ForcedUniform(float(_uniform(key)))


def _force_never_killed(ref, key):
    ref.unwrapped._np_random = _ForcedUniform(1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_mo_gymnasium_step_by_step_with_same_kill_draws(seed):
    env = morl.envs.make(ENV_ID)
    # Biased upwards so many episodes reach the resources and enemies; others hit the time limit.
    p = np.array([0.4, 0.2, 0.2, 0.2])
    episodes = compare_rollouts(
        env, ENV_ID, num_sequences=40, max_steps=120, seed=seed,
        action_sampler=lambda rng: int(rng.choice(4, p=p)), before_step=_force_kill_draw,
    )
    assert episodes == 40


def test_matches_mo_gymnasium_with_kills_forced_off():
    """With the kill probability 0 here and MO-Gymnasium's draw forced to 1, the walks match."""
    env = morl.envs.make(ENV_ID)
    params = env.default_params.replace(kill_prob=jnp.float32(0.0))
    episodes = compare_rollouts(env, ENV_ID, num_sequences=30, max_steps=120, seed=5, before_step=_force_never_killed, params=params)
    assert episodes == 30


def test_kill_probability_matches_mo_gymnasium_statistically():
    """Step onto E1 from (2, 2): ours over 200k keys and MO-Gymnasium's own numpy draws over
    20k episodes both kill with frequency 0.1 within 6 standard errors."""
    env = morl.envs.make(ENV_ID)
    _, state = env.reset(jax.random.key(0))
    state = state.replace(position=jnp.array([2, 2], jnp.int32))
    n_ours = 200_000
    keys = jax.random.split(jax.random.key(123), n_ours)
    step = jax.jit(jax.vmap(env.step, in_axes=(0, None, None)))
    _, _, reward, terminated, _, _ = step(keys, state, jnp.int32(0))
    ours = float(np.mean(np.asarray(terminated)))
    assert np.all(np.asarray(reward)[np.asarray(terminated), 0] == -1.0)

    ref = mo_gym.make(ENV_ID).unwrapped
    ref.reset(seed=7)
    n_ref, kills = 20_000, 0
    for _ in range(n_ref):
        ref.current_pos = np.array([2, 2], dtype=np.int32)
        kills += bool(ref.step(0)[2])
    theirs = kills / n_ref

    p = 0.1
    assert abs(ours - p) < 6 * np.sqrt(p * (1 - p) / n_ours), ours
    assert abs(theirs - p) < 6 * np.sqrt(p * (1 - p) / n_ref), theirs
    assert abs(ours - theirs) < 6 * np.sqrt(p * (1 - p) * (1 / n_ours + 1 / n_ref))


@pytest.mark.parametrize("gamma", [1.0, 0.99, 0.9, 0.5])
def test_pareto_front_equals_mo_gymnasium(gamma):
    ours = morl.envs.make(ENV_ID).pareto_front(gamma)
    theirs = np.array(mo_gym.make(ENV_ID).unwrapped.pareto_front(gamma))
    theirs = theirs[np.lexsort(theirs.T[::-1])]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_jits_and_vmaps_through_autoreset():
    env = morl.envs.make(ENV_ID)
    obs, reward, terminated, truncated = random_vmapped_rollout(env, num_envs=64, num_steps=300)
    assert obs.shape == (300, 64, 4) and reward.shape == (300, 64, 3)
    assert terminated.any() and truncated.any()
    assert set(np.unique(reward[..., 0])) <= {-1.0, 0.0} and set(np.unique(reward[..., 1:])) <= {0.0, 1.0}
    assert not reward[~terminated].any()
