"""`MuJoCoPool` against `mo_gymnasium.make(id)` step by step, for every MO-MuJoCo id.

Both sides run the same MuJoCo C calls from the same seeds, so everything is compared
exactly: reset observations, then over random float32 action sequences through
terminations and a short time limit, observations, reward vectors, `terminated`,
`truncated`, the final observation of an ended episode and the next episode's first one
(the gymnasium copy continues its stream with `env.reset()` without a seed).
"""

from __future__ import annotations

import mo_gymnasium
import numpy as np
import pytest

from morl.envs.host.mujoco import MUJOCO_IDS, MuJoCoPool

#: Termination-prone keyword arguments (both sides get them), so that short runs end
#: episodes by health checks as well as by the time limit.
TERMINATING = {
    "hopper": {"healthy_angle_range": (-0.05, 0.05)},
    "walker2d": {"healthy_angle_range": (-0.2, 0.2)},
    "ant": {"healthy_z_range": (0.3, 0.8)},
    "humanoid": {"healthy_z_range": (1.3, 2.0)},
}


def terminating_kwargs(env_id: str) -> dict:
    task = env_id.split("-")[1]
    return TERMINATING.get(task, {})


def run_against_gymnasium(
    env_id: str, kwargs: dict, slots: list[int], steps: int, seed: int, nthread: int | None = None
) -> dict[str, int]:
    """Reset and step a pool and one MO-Gymnasium env per slot side by side, asserting
    equality at every step (half way, some copies are reset again with new seeds);
    returns how many terminations and truncations were seen."""
    pool = MuJoCoPool(env_id, nthread=nthread, **kwargs)
    envs = [mo_gymnasium.make(env_id, **kwargs) for _ in slots]
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**31, len(slots))
    obs = pool.reset(np.asarray(slots, np.int64), seeds)
    expected = np.stack([env.reset(seed=int(s))[0] for env, s in zip(envs, seeds)]).astype(np.float32)
    np.testing.assert_array_equal(obs, expected)
    low, high = pool.action_space.low, pool.action_space.high
    seen = {"terminated": 0, "truncated": 0}
    for t in range(steps):
        # a random subset in a random order, as the bridge may call
        chosen = rng.permutation(len(slots))[: rng.integers(1, len(slots) + 1)]
        if t == steps // 2:
            seeds = rng.integers(0, 2**31, len(chosen)).astype(np.uint32)
            obs = pool.reset(np.asarray(slots, np.int64)[chosen], seeds)
            expected = np.stack([envs[i].reset(seed=int(s))[0] for i, s in zip(chosen, seeds)])
            np.testing.assert_array_equal(obs, expected.astype(np.float32))
            continue
        actions = rng.uniform(low, high, (len(chosen), len(low))).astype(np.float32)
        obs, reward, terminated, truncated, final_obs = pool.step(np.asarray(slots, np.int64)[chosen], actions)
        for row, i in enumerate(chosen):
            o, r, term, trunc, _ = envs[i].step(actions[row])
            where = f"{env_id} step {t} copy {i}"
            np.testing.assert_array_equal(final_obs[row], np.asarray(o, np.float32), err_msg=where)
            np.testing.assert_array_equal(reward[row], r, err_msg=where)
            assert (terminated[row], truncated[row]) == (term, trunc), where
            if term or trunc:
                seen["terminated"] += int(term)
                seen["truncated"] += int(trunc)
                o, _ = envs[i].reset()
            np.testing.assert_array_equal(obs[row], np.asarray(o, np.float32), err_msg=where)
    pool.close()
    return seen


@pytest.mark.parametrize("env_id", sorted(MUJOCO_IDS))
def test_matches_mo_gymnasium(env_id):
    seen = run_against_gymnasium(env_id, {"max_episode_steps": 12}, slots=[5, 0, 31], steps=40, seed=0, nthread=3)
    assert seen["truncated"] > 0
    if terminating_kwargs(env_id):
        kwargs = {"max_episode_steps": 12, **terminating_kwargs(env_id)}
        assert run_against_gymnasium(env_id, kwargs, slots=[2, 9], steps=30, seed=1, nthread=1)["terminated"] > 0


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("mo-hopper-v4", {"terminate_when_unhealthy": False, "healthy_reward": 0.3}),
        ("mo-hopper-v5", {"terminate_when_unhealthy": False, "exclude_current_positions_from_observation": False}),
        ("mo-ant-v4", {"use_contact_forces": True, "ctrl_cost_weight": 0.3}),
        ("mo-ant-2d-v4", {"use_contact_forces": True}),
        ("mo-ant-v5", {"include_cfrc_ext_in_observation": False, "contact_force_range": (-0.5, 0.5)}),
        ("mo-humanoid-v5", {"include_cinert_in_observation": False, "include_cvel_in_observation": False}),
        ("mo-humanoid-v5", {"include_qfrc_actuator_in_observation": False, "contact_cost_range": (-np.inf, 0.01)}),
        ("mo-halfcheetah-v4", {"forward_reward_weight": 0.7, "reset_noise_scale": 0.2}),
        ("mo-walker2d-v5", {"frame_skip": 2, "ctrl_cost_weight": 0.01}),
        ("mo-swimmer-v4", {"exclude_current_positions_from_observation": False}),
    ],
)
def test_keyword_arguments_match(env_id, kwargs):
    run_against_gymnasium(env_id, {"max_episode_steps": 10, **kwargs}, slots=[1, 4], steps=24, seed=2)


def test_unseen_slot_starts_with_its_own_seed():
    pool = MuJoCoPool("mo-hopper-2d-v4")
    obs, *_, final_obs = pool.step(np.asarray([7], np.int64), np.zeros((1, 3), np.float32))
    env = mo_gymnasium.make("mo-hopper-2d-v4")
    env.reset(seed=7)
    np.testing.assert_array_equal(final_obs[0], env.step(np.zeros(3, np.float32))[0].astype(np.float32))


def test_spaces_and_errors():
    pool = MuJoCoPool("mo-ant-2d-v4")
    env = mo_gymnasium.make("mo-ant-2d-v4")
    assert pool.observation_space.shape == env.observation_space.shape
    assert pool.action_space.shape == env.action_space.shape
    assert pool.reward_dim == 2
    with pytest.raises(ValueError, match="render_mode"):
        MuJoCoPool("mo-hopper-v4", render_mode="rgb_array")
    with pytest.raises(ValueError, match="mo-lunar-lander-v3"):
        MuJoCoPool("mo-lunar-lander-v3")
    with pytest.raises(ValueError, match="distinct"):
        pool.step(np.asarray([3, 3], np.int64), np.zeros((2, 8), np.float32))


@pytest.mark.slow
@pytest.mark.parametrize("env_id", sorted(MUJOCO_IDS))
def test_matches_mo_gymnasium_long(env_id):
    kwargs = {"max_episode_steps": 150}
    run_against_gymnasium(env_id, kwargs, slots=list(range(0, 24, 3)), steps=400, seed=1)
