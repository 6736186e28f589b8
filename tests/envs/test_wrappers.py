"""AutoReset, EpisodeStatistics and VmapEnv against a plain Python loop over MO-Gymnasium's
deep-sea-treasure driven with the same actions (gymnasium resets by hand at episode end)."""

import jax
import jax.numpy as jnp
import mo_gymnasium as mo_gym
import numpy as np
import pytest

import morl
from morl.envs import AutoReset, EpisodeStatistics, VmapEnv

ENV_ID = "deep-sea-treasure-v0"
GAMMA = 0.9
NUM_ENVS = 4
STEPS = 260


def _actions() -> np.ndarray:
    """[STEPS, NUM_ENVS] actions; env 3 only pushes up/left, so it always hits the time limit."""
    rng = np.random.default_rng(0)
    biased = rng.choice(4, size=(STEPS, NUM_ENVS), p=[0.1, 0.4, 0.1, 0.4])
    biased[:, 3] = rng.choice([0, 2], size=STEPS)
    return biased.astype(np.int32)


def _reference(actions: np.ndarray):
    """Per env: list of (return[m], discounted return[m], length) and per-step obs / final obs."""
    episodes, obs_seq, final_obs_seq = [], np.zeros((STEPS, NUM_ENVS, 2)), np.zeros((STEPS, NUM_ENVS, 2))
    for k in range(NUM_ENVS):
        env = mo_gym.make(ENV_ID)
        env.reset(seed=k)
        ret, disc, length, found = np.zeros(2), np.zeros(2), 0, []
        for t in range(STEPS):
            obs, reward, terminated, truncated, _ = env.step(int(actions[t, k]))
            ret += reward
            disc += GAMMA**length * reward
            length += 1
            final_obs_seq[t, k] = obs
            if terminated or truncated:
                found.append((ret.copy(), disc.copy(), length))
                ret, disc, length = np.zeros(2), np.zeros(2), 0
                obs, _ = env.reset()
            obs_seq[t, k] = obs
        episodes.append(found)
    return episodes, obs_seq, final_obs_seq


@pytest.fixture(scope="module")
def rollout():
    env = VmapEnv(EpisodeStatistics(AutoReset(morl.envs.make(ENV_ID)), gamma=GAMMA), num_envs=NUM_ENVS)
    actions = _actions()

    @jax.jit
    def run(key):
        _, state = env.reset(key)

        def body(state, inputs):
            key, action = inputs
            obs, state, reward, terminated, truncated, info = env.step(key, state, action)
            return state, (obs, reward, terminated, truncated, info)

        keys = jax.random.split(key, STEPS)
        return jax.lax.scan(body, state, (keys, jnp.asarray(actions)))[1]

    return actions, jax.tree_util.tree_map(np.asarray, run(jax.random.key(0)))


def test_episode_returns_and_lengths_match_python_loop(rollout):
    actions, (obs, reward, terminated, truncated, info) = rollout
    episodes, _, _ = _reference(actions)
    assert info["done"].shape == (STEPS, NUM_ENVS)
    np.testing.assert_array_equal(info["done"], terminated | truncated)
    total = 0
    for k in range(NUM_ENVS):
        ends = np.flatnonzero(info["done"][:, k])
        assert len(ends) == len(episodes[k]), f"env {k}: {len(ends)} episodes, reference {len(episodes[k])}"
        for t, (ret, disc, length) in zip(ends, episodes[k]):
            np.testing.assert_allclose(info["episode_return"][t, k], ret, rtol=1e-6, err_msg=f"env {k} step {t}")
            np.testing.assert_allclose(info["discounted_return"][t, k], disc, rtol=1e-5, err_msg=f"env {k} step {t}")
            assert info["episode_length"][t, k] == length, f"env {k} step {t}"
        total += len(ends)
    assert total >= 10
    assert truncated[:, 3].sum() == STEPS // 100 and not terminated[:, 3].any()
    assert terminated[:, :3].any()


def test_auto_reset_observations_and_final_obs(rollout):
    actions, (obs, _, _, _, info) = rollout
    _, ref_obs, ref_final_obs = _reference(actions)
    np.testing.assert_array_equal(obs, ref_obs)
    np.testing.assert_array_equal(info["final_obs"], ref_final_obs)


def test_statistics_hold_between_episodes(rollout):
    """Between episode ends the info keeps the last finished episode's figures."""
    _, (_, _, _, _, info) = rollout
    for k in range(NUM_ENVS):
        ends = np.flatnonzero(info["done"][:, k])
        for start, stop in zip(ends, list(ends[1:]) + [STEPS]):
            assert np.all(info["episode_length"][start:stop, k] == info["episode_length"][start, k])


def test_vmap_env_shapes_and_independent_keys():
    env = VmapEnv(AutoReset(morl.envs.make("mo-mountaincar-v0")), num_envs=8)
    obs, state = env.reset(jax.random.key(0))
    assert obs.shape == (8, 2)
    assert len(np.unique(np.asarray(obs[:, 0]))) == 8  # each copy drew its own start
    obs, state, reward, terminated, truncated, info = env.step(jax.random.key(1), state, jnp.ones((8,), jnp.int32))
    assert reward.shape == (8, 3) and reward.dtype == jnp.float32
    assert terminated.shape == truncated.shape == (8,)
    assert info["final_obs"].shape == (8, 2)
