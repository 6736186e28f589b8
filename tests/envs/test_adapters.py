"""Adapters both ways: MO-Gymnasium envs on the host (`from_gymnasium`) and JAX-native
envs as gymnasium envs (`to_gymnasium`), checked against MO-Gymnasium itself and
gymnasium's `check_env`."""

import warnings

import gymnasium
import jax
import jax.numpy as jnp
import mo_gymnasium as mo_gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import morl
from morl.envs import AutoReset, EpisodeStatistics, VmapEnv, spaces
from morl.envs.adapters import HostVectorEnv, from_gymnasium, to_gymnasium

DST = "deep-sea-treasure-v0"
NUM_ENVS, STEPS, GAMMA = 3, 240, 0.9


def _dst_actions() -> np.ndarray:
    rng = np.random.default_rng(0)
    actions = rng.choice(4, size=(STEPS, NUM_ENVS), p=[0.1, 0.4, 0.1, 0.4]).astype(np.int32)
    actions[:, 2] = rng.choice([0, 2], size=STEPS)  # copy 2 never moves: time limit every 100 steps
    return actions


def _jax_stack_rollout(actions: np.ndarray):
    """The JAX port under VmapEnv(EpisodeStatistics(AutoReset)), the conventions the host
    adapter follows (that stack is checked against a Python loop in test_wrappers.py)."""
    env = VmapEnv(EpisodeStatistics(AutoReset(morl.envs.make(DST)), gamma=GAMMA), num_envs=NUM_ENVS)
    _, state = env.reset(jax.random.key(0))

    def body(state, action):
        obs, state, reward, terminated, truncated, info = env.step(jax.random.key(0), state, action)
        return state, (obs, reward, terminated, truncated, info)

    return jax.tree_util.tree_map(np.asarray, jax.lax.scan(body, state, jnp.asarray(actions))[1])


def _host_loop_rollout(actions: np.ndarray):
    envs = from_gymnasium(DST, NUM_ENVS, gamma=GAMMA)
    envs.reset(seed=0)
    steps = [envs.step(a) for a in actions]
    return jax.tree_util.tree_map(lambda *xs: np.stack(xs), *steps)


def _inside_jit_rollout(actions: np.ndarray):
    envs = from_gymnasium(DST, NUM_ENVS, gamma=GAMMA)

    @jax.jit
    def run(actions):
        envs.reset_inside_jit(0)
        return jax.lax.scan(lambda c, a: (c, envs.step_inside_jit(a)), 0, actions)[1]

    return jax.tree_util.tree_map(np.asarray, run(jnp.asarray(actions)))


@pytest.mark.parametrize("rollout", [_host_loop_rollout, _inside_jit_rollout], ids=["host_loop", "inside_jit"])
def test_host_env_follows_auto_reset_and_statistics_conventions(rollout):
    actions = _dst_actions()
    ours = rollout(actions)
    expected = _jax_stack_rollout(actions)
    names = ["obs", "reward", "terminated", "truncated"]
    for name, got, want in zip(names, ours[:4], expected[:4]):
        np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=name)
    for name in ["final_obs", "episode_return", "discounted_return", "episode_length", "done"]:
        np.testing.assert_allclose(ours[4][name], expected[4][name], rtol=1e-5, err_msg=name)
    assert ours[4]["done"].sum() >= 10 and ours[3][:, 2].sum() == 2


def test_jitted_policy_drives_box_action_env_to_the_goal():
    """The documented pattern: a host loop calling a jitted act function."""
    envs = from_gymnasium("mo-mountaincarcontinuous-v0", num_envs=2)
    assert envs.reward_dim == 2 and isinstance(envs.action_space, spaces.Box) and envs.action_space.shape == (1,)
    act = jax.jit(lambda obs: jnp.where(obs[:, 1:2] >= 0, 1.0, -1.0))  # push along the velocity
    obs = envs.reset(seed=0)
    lengths = []
    for _ in range(400):
        obs, reward, terminated, truncated, info = envs.step(act(obs))
        assert obs.shape == (2, 2) and obs.dtype == np.float32 and reward.shape == (2, 2) and reward.dtype == np.float32
        lengths += list(info["episode_length"][terminated])
    assert len(lengths) >= 2 and max(lengths) < 400


def test_unported_env_matches_mo_gymnasium():
    """water-reservoir-v0 has no JAX port: the host adapter steps it exactly as MO-Gymnasium."""
    envs = from_gymnasium("water-reservoir-v0", num_envs=2)
    ref = mo_gym.make("water-reservoir-v0")
    assert envs.reward_dim == ref.unwrapped.reward_dim and envs.action_space.shape == ref.action_space.shape
    obs = envs.reset(seed=0)
    np.testing.assert_allclose(obs[0], ref.reset(seed=0)[0])
    rng = np.random.default_rng(0)
    for _ in range(20):
        actions = rng.uniform(0, 100, size=(2, 1)).astype(np.float32)
        obs, reward, terminated, truncated, _ = envs.step(actions)
        ref_obs, ref_reward, ref_term, ref_trunc, _ = ref.step(actions[0])
        if ref_term or ref_trunc:
            ref_obs, _ = ref.reset()
        np.testing.assert_allclose(obs[0], ref_obs, rtol=1e-6)
        np.testing.assert_allclose(reward[0], ref_reward, rtol=1e-6)


def test_lunar_lander_runs():
    reason = "Box2D is not installed (pip install 'gymnasium[box2d]'); mo-lunar-lander needs it"
    pytest.importorskip("Box2D", reason=reason)
    envs = from_gymnasium("mo-lunar-lander-v3", num_envs=2)
    obs = envs.reset(seed=0)
    assert obs.shape == (2, 8) and envs.reward_dim == 4
    for _ in range(20):
        obs, reward, terminated, truncated, info = envs.step(np.array([0, 2], np.int32))
        assert reward.shape == (2, 4) and reward.dtype == np.float32


def test_bad_input_named():
    envs = from_gymnasium(DST, 2)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        envs.step(np.zeros(3, np.int32))
    with pytest.raises(ValueError, match="no-such-env-v0"):
        from_gymnasium("no-such-env-v0", 2)
    with pytest.raises(ValueError, match="num_envs"):
        from_gymnasium(DST, 0)
    with pytest.raises(TypeError, match="Dict"):
        from_gymnasium("breakable-bottles-v0", 1)
    with pytest.raises(TypeError, match="reward_space"):
        HostVectorEnv([gymnasium.make("CartPole-v1")])


def test_to_gymnasium_passes_check_env():
    env = to_gymnasium(morl.envs.make(DST))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, skip_render_check=True)
    # gymnasium's checker expects scalar rewards; a vector reward is the only complaint allowed.
    complaints = [str(w.message) for w in caught if "reward returned by `step()` must be a float" not in str(w.message)]
    assert not complaints, complaints
    assert env.reward_dim == 2 and env.reward_space.shape == (2,)


def test_to_gymnasium_steps_like_mo_gymnasium():
    ours = to_gymnasium(morl.envs.make(DST))
    ref = mo_gym.make(DST)
    assert ours.action_space == ref.action_space
    rng = np.random.default_rng(1)
    episodes = limits = 0
    for sequence in range(12):
        np.testing.assert_array_equal(ours.reset(seed=sequence)[0], ref.reset(seed=sequence)[0])
        p = [0.1, 0.4, 0.1, 0.4] if sequence % 4 else [0.5, 0.0, 0.5, 0.0]
        for t in range(120):
            action = int(rng.choice(4, p=p))
            got, want = ours.step(action), ref.step(action)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
            assert got[1].dtype == np.float32 and got[2:4] == want[2:4], (sequence, t)
            if want[2] or want[3]:
                episodes += 1
                limits += int(want[3])
                break
    assert episodes == 12 and limits == 3


def test_to_gymnasium_works_with_mo_gymnasium_wrappers():
    weights = np.array([0.3, 0.7], np.float32)
    env = mo_gym.wrappers.LinearReward(to_gymnasium(morl.envs.make(DST)), weight=weights)
    env.reset(seed=0)
    _, scalar, _, _, info = env.step(1)
    np.testing.assert_allclose(scalar, weights @ np.array([0.7, -1.0]), rtol=1e-6)
    np.testing.assert_allclose(info["vector_reward"], [0.7, -1.0], rtol=1e-6)


def test_spaces_round_trip_continuous():
    env = to_gymnasium(morl.envs.make("mo-mountaincarcontinuous-v0"))
    ref = mo_gym.make("mo-mountaincarcontinuous-v0")
    assert env.action_space == ref.action_space and env.observation_space == ref.observation_space
    obs, _ = env.reset(seed=3)
    obs, reward, *_ = env.step(np.array([0.5], np.float32))
    assert obs.dtype == np.float32 and reward.shape == (2,)
    np.testing.assert_allclose(reward[1], -0.25)


def test_to_gymnasium_has_a_spec_and_returns_writable_arrays():
    env = to_gymnasium(morl.envs.make("minecart-v0"))
    assert env.spec.id == "minecart-v0" and env.spec.max_episode_steps == 1000
    obs, _ = env.reset(seed=0)
    next_obs, reward, terminated, truncated, _ = env.step(np.int64(1))
    for array in (obs, next_obs, reward):
        assert array.flags.writeable
    assert next_obs.dtype == env.observation_space.dtype and reward.dtype == np.float32
    assert isinstance(terminated, bool) and isinstance(truncated, bool)
    again = gymnasium.make(env.spec)  # libraries rebuild envs from their spec
    np.testing.assert_array_equal(again.reset(seed=0)[0], obs)
