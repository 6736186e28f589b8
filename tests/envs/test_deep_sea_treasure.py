import jax
import jax.numpy as jnp
import mo_gymnasium as mo_gym
import numpy as np
import pytest

import morl
from tests.envs.reference import compare_rollouts

VARIANTS = ["deep-sea-treasure-v0", "deep-sea-treasure-concave-v0", "deep-sea-treasure-mirrored-v0"]


@pytest.mark.parametrize("env_id", VARIANTS)
def test_matches_mo_gymnasium_step_by_step(env_id):
    env = morl.envs.make(env_id)
    # Biased towards "down"/"right" so many episodes reach treasures; the rest hit the time limit.
    rng_p = np.array([0.15, 0.35, 0.15, 0.35])
    episodes = compare_rollouts(env, env_id, num_sequences=30, max_steps=120, action_sampler=lambda rng: int(rng.choice(4, p=rng_p)))
    assert episodes == 30


def test_float_state_matches():
    env = morl.envs.make("deep-sea-treasure-v0", float_state=True)
    compare_rollouts(env, "deep-sea-treasure-v0", {"float_state": True}, num_sequences=5, obs_atol=1e-6)


@pytest.mark.parametrize("env_id", VARIANTS)
@pytest.mark.parametrize("gamma", [1.0, 0.99, 0.9])
def test_pareto_front_equals_mo_gymnasium(env_id, gamma):
    ours = morl.envs.make(env_id).pareto_front(gamma)
    theirs = np.array(mo_gym.make(env_id).unwrapped.pareto_front(gamma))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_bad_action_shape_and_dtype_named():
    env = morl.envs.make("deep-sea-treasure-v0")
    _, state = env.reset(jax.random.key(0))
    with pytest.raises(ValueError, match="action has shape"):
        env.step(jax.random.key(0), state, jnp.zeros((2,), jnp.int32))
    with pytest.raises(TypeError, match="dtype"):
        env.step(jax.random.key(0), state, jnp.float32(1.0))


def test_bad_params_field_named():
    env = morl.envs.make("deep-sea-treasure-v0")
    _, state = env.reset(jax.random.key(0))
    bad = env.default_params.replace(max_steps=jnp.zeros((3,), jnp.int32))
    with pytest.raises(ValueError, match="max_steps"):
        env.step(jax.random.key(0), state, jnp.int32(0), bad)


def test_unknown_id_lists_known_ones():
    with pytest.raises(ValueError, match="deep-sea-treasure-v0"):
        morl.envs.make("deep-sea-treasur-v0")
