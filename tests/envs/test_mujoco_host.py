"""The host path: MO-MuJoCo tasks through `from_gymnasium` (MuJoCo C), interchangeable
with the MJX ports (same spaces, reward width and time limit), driven by a jitted policy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mo_gymnasium as mo_gym
import numpy as np
import pytest

from morl.envs import from_gymnasium, registry
from morl.envs.mujoco import ENVS


@pytest.mark.parametrize("env_id", list(ENVS))
def test_host_env_has_the_ports_spaces(env_id):
    host = from_gymnasium(env_id, num_envs=2)
    port = registry.make(env_id)
    assert host.observation_space.shape == port.observation_space().shape
    assert host.observation_space.dtype == port.observation_space().dtype
    np.testing.assert_array_equal(host.action_space.low, port.action_space().low)
    np.testing.assert_array_equal(host.action_space.high, port.action_space().high)
    assert host.reward_dim == port.reward_dim
    host.close()


def test_jitted_policy_drives_host_halfcheetah_through_a_time_limit():
    num_envs, limit = 3, 30
    host = from_gymnasium("mo-halfcheetah-v5", num_envs=num_envs, max_episode_steps=limit)
    policy = jax.jit(lambda obs: jnp.tanh(obs[:, :6]))  # any deterministic map into [-1, 1]^6
    obs = host.reset(seed=0)
    refs = [mo_gym.make("mo-halfcheetah-v5", max_episode_steps=limit) for _ in range(num_envs)]
    ref_obs = np.stack([ref.reset(seed=i)[0] for i, ref in enumerate(refs)]).astype(np.float32)
    np.testing.assert_array_equal(obs, ref_obs)
    for t in range(limit):
        actions = np.asarray(policy(jnp.asarray(obs)))
        obs, reward, terminated, truncated, info = host.step(actions)
        ref_step = [ref.step(a) for ref, a in zip(refs, actions)]
        np.testing.assert_allclose(reward, np.stack([s[1] for s in ref_step]), rtol=1e-6)
    assert truncated.all() and not terminated.any()
    assert (info["episode_length"] == limit).all()
    host.close()
