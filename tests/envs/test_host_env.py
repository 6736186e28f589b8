"""Host environments inside compiled programs (`morl.envs.host`): MO-Gymnasium's own envs
behind the JAX contract, checked step by step against MO-Gymnasium, and trained by the
algorithms through `morl.envs.make`."""

from __future__ import annotations

import gymnasium
import jax
import jax.numpy as jnp
import mo_gymnasium as mo_gym
import numpy as np
import pytest

from morl.envs import AutoReset, EpisodeStatistics, VmapEnv, make
from morl.envs.host import HostEnvironment
from morl.envs.host.pool import check_spaces
from tests.algorithms.replay import mo_gymnasium_return


def _seeds(key: jax.Array, n: int) -> list[int]:
    """The gymnasium seeds `VmapEnv(host env, n).reset(key)` gives its copies."""
    keys = jax.random.split(key, n)
    return [int(jax.random.bits(k, dtype=jnp.uint32)) & (2**31 - 1) for k in keys]


@pytest.mark.parametrize(
    "env_id, limit",
    [("deep-sea-treasure-v0", None), ("mo-mountaincarcontinuous-v0", 40), ("mo-lunar-lander-v3", 60)],
)
def test_host_env_steps_like_mo_gymnasium_through_episode_ends(env_id, limit):
    n, steps = 3, 90
    kwargs = {} if limit is None else {"max_episode_steps": limit}
    env = make("host:" + env_id, **kwargs)
    batched = VmapEnv(AutoReset(env), n)
    key = jax.random.key(7)
    obs, state = jax.jit(batched.reset)(key)
    refs = [mo_gym.make(env_id, **kwargs) for _ in range(n)]
    ref_obs = np.stack([ref.reset(seed=s)[0] for ref, s in zip(refs, _seeds(key, n))])
    np.testing.assert_array_equal(np.asarray(obs), ref_obs.astype(np.float32))
    space = env.action_space()
    step = jax.jit(batched.step)
    rng = np.random.default_rng(0)
    ends = 0
    for t in range(steps):
        if hasattr(space, "n"):
            actions = rng.integers(0, space.n, n).astype(np.int32)
        else:
            actions = rng.uniform(space.low, space.high, (n, *space.shape)).astype(np.float32)
        obs, state, reward, terminated, truncated, info = step(jax.random.key(t), state, jnp.asarray(actions))
        for i, ref in enumerate(refs):
            action = int(actions[i]) if hasattr(space, "n") else actions[i]
            r_obs, r_reward, r_term, r_trunc, _ = ref.step(action)
            np.testing.assert_allclose(np.asarray(info["final_obs"][i]), r_obs, rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(np.asarray(reward[i]), r_reward, rtol=1e-6, atol=1e-6)
            assert (bool(terminated[i]), bool(truncated[i])) == (r_term, r_trunc)
            if r_term or r_trunc:
                ends += 1
                r_obs, _ = ref.reset()  # the next episode continues the copy's random stream
            np.testing.assert_allclose(np.asarray(obs[i]), r_obs, rtol=1e-6, atol=1e-6)
    assert ends > 0, "no episode ended: the test never crossed an automatic reset"


def test_one_host_call_per_step_for_all_vmapped_copies():
    env = make("host:deep-sea-treasure-v0")
    calls = []
    step_pool = env.pool.step
    env.pool.step = lambda slots, actions: calls.append(len(slots)) or step_pool(slots, actions)
    tracked = VmapEnv(EpisodeStatistics(AutoReset(env), gamma=0.99), 4)

    def run(key):
        obs, state = tracked.reset(key)

        def body(state, key):
            actions = jax.random.randint(key, (4,), 0, 4)
            _, state, reward, _, _, _ = tracked.step(key, state, actions)
            return state, reward

        return jax.lax.scan(body, state, jax.random.split(key, 5))[1]

    rewards = jax.jit(jax.vmap(jax.vmap(run)))(jax.random.split(jax.random.key(0), 6).reshape(2, 3))
    assert rewards.shape == (2, 3, 5, 4, 2)
    assert calls == [24] * 5  # 2 x 3 runs x 4 envs in one call per step


def test_a_reset_site_restarts_its_own_copies_and_distinct_sites_get_distinct_copies():
    env = make("host:deep-sea-treasure-v0")
    reset_a = jax.jit(jax.vmap(env.reset))
    reset_b = jax.jit(jax.vmap(lambda k: env.reset(k)))
    keys = jax.random.split(jax.random.key(0), 5)
    slots_a1 = np.asarray(reset_a(keys)[1].slot)
    slots_a2 = np.asarray(reset_a(keys)[1].slot)
    slots_b = np.asarray(reset_b(keys)[1].slot)
    np.testing.assert_array_equal(slots_a1, slots_a2)
    assert len(set(slots_a1) | set(slots_b)) == 10


def test_stepping_one_copy_twice_in_a_call_is_refused():
    env = make("host:deep-sea-treasure-v0")
    _, state = env.reset(jax.random.key(0))
    step_many = jax.jit(jax.vmap(env.step, in_axes=(None, None, 0)))
    with pytest.raises(Exception, match="stepped twice in one call"):
        step_many(jax.random.key(1), state, jnp.arange(3, dtype=jnp.int32))


def test_ported_ids_use_the_port_unless_host_is_asked_and_unknown_ids_get_suggestions():
    assert not isinstance(make("deep-sea-treasure-v0"), HostEnvironment)
    host = make("host:deep-sea-treasure-v0")
    assert isinstance(host, HostEnvironment) and host.name == "host:deep-sea-treasure-v0"
    np.testing.assert_allclose(host.pareto_front(0.99), make("deep-sea-treasure-v0").pareto_front(0.99), rtol=1e-6)
    assert isinstance(make("mo-lunar-lander-v3"), HostEnvironment)
    with pytest.raises(ValueError, match="mo-lunar-lander-v3"):
        make("mo-lunar-lander-v2x")


class _DictObservations(gymnasium.Env):
    observation_space = gymnasium.spaces.Dict({"a": gymnasium.spaces.Box(0, 1, (2,))})
    action_space = gymnasium.spaces.Discrete(2)
    reward_space = gymnasium.spaces.Box(-1, 1, (2,))


@pytest.mark.parametrize(
    "observation, action, named",
    [
        (gymnasium.spaces.Dict({"a": gymnasium.spaces.Box(0, 1, (2,))}), gymnasium.spaces.Discrete(2), "Dict"),
        (gymnasium.spaces.Box(0, 255, (8, 8, 3)), gymnasium.spaces.Discrete(2), "image"),
        (gymnasium.spaces.Box(0, 1, (4,)), gymnasium.spaces.MultiDiscrete([2, 3]), "MultiDiscrete"),
    ],
)
def test_unsupported_spaces_get_one_line_errors_naming_them(observation, action, named):
    with pytest.raises(ValueError, match=named) as err:
        check_spaces("some-env", observation, action)
    assert "\n" not in str(err.value)


def test_a_registered_dict_observation_env_is_refused_at_make():
    gymnasium.register("morl-test-dict-obs-v0", entry_point=_DictObservations)
    with pytest.raises(ValueError, match="Dict"):
        make("morl-test-dict-obs-v0")


def test_morld_trains_on_a_host_env_and_its_archive_replays_in_mo_gymnasium():
    from morl.algorithms.morld import MORLD_PPO, MORLDConfig, make_trainer

    config = MORLDConfig(
        env="host:deep-sea-treasure-v0", total_steps=4 * 4 * 32 * 20, pop_size=4, eval_period=5,
        chunk_iterations=20, archive_capacity=16,
        ppo=MORLD_PPO.replace(num_envs=4, num_steps=32, num_epochs=2, num_minibatches=2),
    )
    trainer = make_trainer(config)
    state = trainer.init(jax.random.key(0))
    while not trainer.done(state):
        state, _ = trainer.run_chunk(state)
    front = trainer.front(state)
    assert len(front.returns) >= 1
    for member in range(min(3, len(front.returns))):
        act = trainer.policy(state, member)
        replayed = mo_gymnasium_return(act, "deep-sea-treasure-v0", config.eval_gamma, 1000)
        np.testing.assert_allclose(front.returns[member], replayed, rtol=1e-4, atol=1e-4)


_MO_GYMNASIUM_IDS = sorted(k for k, spec in gymnasium.registry.items() if "mo_gymnasium" in str(spec.entry_point))


@pytest.mark.parametrize("env_id", _MO_GYMNASIUM_IDS)
def test_every_mo_gymnasium_id_builds_or_says_why_in_one_line(env_id):
    try:
        env = make("host:" + env_id)
    except ValueError as err:  # unsupported space or a package MO-Gymnasium needs is missing
        assert "\n" not in str(err) and env_id in str(err)
        assert any(word in str(err) for word in ("Dict", "image", "not installed")), str(err)
        return
    reference = mo_gym.make(env_id)
    assert env.reward_dim == reference.unwrapped.reward_space.shape[0]
    assert env.observation_space().shape == reference.observation_space.shape
    obs, state = env.reset(jax.random.key(0))
    action = env.action_space().sample(jax.random.key(1))
    obs, state, reward, terminated, truncated, info = env.step(jax.random.key(2), state, action)
    assert reward.shape == (env.reward_dim,) and "final_obs" in info
