"""`to_gymnasium` exports of the grid worlds step a plain-Python twin of their port
(`morl.envs.numpy_twins`): checked step by step against the JAX port (the same export with
`use_twin=False`, same seed) and against MO-Gymnasium, over random action sequences with
episode ends, time limits and resets; and deterministic under a seed."""

import mo_gymnasium as mo_gym
import numpy as np
import pytest

import morl
from morl.envs.adapters import GymnasiumEnv, to_gymnasium
from morl.envs.four_room import MAZE, FourRoom
from morl.envs.numpy_twins import numpy_twin

# (id, constructor kwargs, action probabilities biased to reach episode ends, and those of
# every fourth episode, which keep the agent stuck until the time limit)
CASES = [
    ("deep-sea-treasure-v0", {}, [0.1, 0.4, 0.1, 0.4], [0.5, 0, 0.5, 0]),
    ("deep-sea-treasure-v0", {"float_state": True}, [0.1, 0.4, 0.1, 0.4], [0.5, 0, 0.5, 0]),
    ("deep-sea-treasure-concave-v0", {}, [0.25, 0.25, 0.25, 0.25], [0.5, 0, 0.5, 0]),
    ("deep-sea-treasure-mirrored-v0", {}, [0.1, 0.4, 0.25, 0.25], [1, 0, 0, 0]),
    ("fruit-tree-v0", {}, [0.5, 0.5], None),
    ("fruit-tree-v0", {"depth": 5}, [0.5, 0.5], None),
    ("fruit-tree-v0", {"depth": 7}, [0.5, 0.5], None),
    ("four-room-v0", {}, [0.2, 0.3, 0.3, 0.2], [0.5, 0, 0, 0.5]),
    ("resource-gathering-v0", {}, [0.4, 0.2, 0.2, 0.2], [0, 0, 1, 0]),
    # mine, turn, turn, accelerate, brake, nothing; stuck: never accelerate
    ("minecart-v0", {}, [0.3, 0.15, 0.15, 0.2, 0.1, 0.1], [0.2, 0.2, 0.2, 0, 0.2, 0.2]),
    ("minecart-deterministic-v0", {}, [0.3, 0.15, 0.15, 0.2, 0.1, 0.1], [0.2, 0.2, 0.2, 0, 0.2, 0.2]),
]


def _rollout(env, rng, p, stuck, steps, seeds):
    """`steps` steps of random actions; `reset(seed=...)` from `seeds` at every third episode
    end, plain `reset()` at the others. Returns every call's output and the episode count."""
    out = [env.reset(seed=next(seeds))]
    episodes = 0
    for t in range(steps):
        probabilities = stuck if stuck is not None and episodes % 4 == 3 else p
        result = env.step(int(rng.choice(len(probabilities), p=probabilities)))
        out.append(result)
        if result[2] or result[3]:
            episodes += 1
            out.append(env.reset(seed=next(seeds)) if episodes % 3 == 0 else env.reset())
    return out, episodes


def _assert_same(got, want, context):
    assert len(got) == len(want), context
    for i, (a, b) in enumerate(zip(got, want)):
        assert len(a) == len(b), (context, i)
        for x, y in zip(a, b):
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype and x.shape == y.shape, (context, i, x, y)
                np.testing.assert_array_equal(x, y, err_msg=f"{context} call {i}")
            else:
                assert type(x) is type(y) and x == y, (context, i, x, y)


@pytest.mark.parametrize("env_id, kwargs, p, stuck", CASES)
def test_twin_equals_the_jax_port(env_id, kwargs, p, stuck):
    env = morl.envs.make(env_id, **kwargs)
    twin, port = to_gymnasium(env, seed=5), GymnasiumEnv(env, seed=5, use_twin=False)
    # A float twin (minecart) is used only where the probe found it bit-equal to XLA's
    # rounding on this CPU; elsewhere the export steps the compiled port, checked alike.
    assert (twin.uses_twin or env_id.startswith("minecart")) and not port.uses_twin
    steps = 6000 if env_id.startswith("minecart") else 2000
    got, episodes = _rollout(twin, np.random.default_rng(0), p, stuck, steps, iter(range(10**6)))
    want, _ = _rollout(port, np.random.default_rng(0), p, stuck, steps, iter(range(10**6)))
    _assert_same(got, want, env_id)
    assert episodes >= 5
    ends = [r for r in got if len(r) == 5]
    assert any(r[2] for r in ends), "no episode ended"
    if env_id.startswith("minecart"):
        assert sum(r[1][0] + r[1][1] > 0 for r in ends) >= 5, "too few ore deliveries"
    assert any(r[3] for r in ends) or stuck is None, "no time limit reached"
    for obs, reward, *_ in ends[:50]:
        assert obs.flags.writeable and reward.flags.writeable and reward.dtype == np.float32
        assert obs.dtype == twin.observation_space.dtype and reward.shape == (twin.reward_dim,)


# Resource gathering and minecart draw from the JAX key, MO-Gymnasium from numpy's; their
# ports are compared with MO-Gymnasium in their own tests (the draws forced equal).
DETERMINISTIC = [c for c in CASES if not c[0].startswith(("resource", "minecart"))]


@pytest.mark.parametrize("env_id, kwargs, p, stuck", DETERMINISTIC)
def test_twin_steps_like_mo_gymnasium(env_id, kwargs, p, stuck):
    ours = to_gymnasium(morl.envs.make(env_id, **kwargs))
    ref = mo_gym.make(env_id, **kwargs)
    rng = np.random.default_rng(1)
    ends = limits = 0
    for sequence in range(8):
        np.testing.assert_array_equal(ours.reset(seed=sequence)[0], ref.reset(seed=sequence)[0])
        probabilities = stuck if stuck is not None and sequence % 4 == 3 else p
        for t in range(250):
            action = int(rng.choice(len(probabilities), p=probabilities))
            got, want = ours.step(action), ref.step(action)
            np.testing.assert_allclose(got[0], want[0], rtol=1e-6, err_msg=f"{env_id} {sequence} {t}")
            want_reward = np.asarray(want[1], np.float32)
            np.testing.assert_allclose(got[1], want_reward, rtol=1e-6, err_msg=f"{env_id} {sequence} {t}")
            assert got[2:4] == (bool(want[2]), bool(want[3])), (env_id, sequence, t)
            if want[2] or want[3]:
                ends += 1
                limits += int(want[3])
                break
    assert ends == 8 and (limits >= 2 or stuck is None)


def test_resource_gathering_twin_draws_the_ports_kills_and_is_deterministic():
    env = morl.envs.make("resource-gathering-v0")
    p = [0.45, 0.05, 0.25, 0.25]  # up, and sideways along the enemy row
    runs = {}
    for seed in (3, 3, 4):
        export = to_gymnasium(env, seed=seed)
        run, _ = _rollout(export, np.random.default_rng(0), p, None, 3000, iter([seed] * 10**6))
        runs.setdefault(seed, []).append(run)
    _assert_same(runs[3][0], runs[3][1], "same seed")
    kills = [r for r in runs[3][0] if len(r) == 5 and r[1][0] == -1.0]
    assert len(kills) > 10, "the kill draw was never taken"
    deaths = {seed: [r[1][0] for r in run[0] if len(r) == 5] for seed, run in runs.items()}
    assert deaths[3] != deaths[4], "seeds 3 and 4 gave the same kills"


def test_four_room_with_several_starts_draws_the_ports_start():
    maze = MAZE.copy()
    maze[0, 7] = "_"  # a second start, top right room
    env = FourRoom(maze)
    twin, port = to_gymnasium(env, seed=2), GymnasiumEnv(env, seed=2, use_twin=False)
    assert twin._twin.reset_draw is not None
    starts = set()
    for episode in range(40):
        got, want = twin.reset(), port.reset()
        np.testing.assert_array_equal(got[0], want[0])
        starts.add(tuple(got[0][:2]))
        for t in range(5):
            _assert_same([twin.step(t % 4)], [port.step(t % 4)], f"episode {episode}")
    assert starts == {(12, 0), (0, 7)}


def test_jax_path_is_deterministic_under_a_seed():
    env = morl.envs.make("mo-pendulum-v0")  # random start, from the reset call's key

    def run(export, seed):
        out = [export.reset(seed=seed)[0]]
        for t in range(30):
            obs, reward, *_ = export.step(np.array([t % 3 - 1.0], np.float32))
            out += [obs, reward]
        out.append(export.reset()[0])  # the next key after seeding
        return np.concatenate(out)

    a, b = GymnasiumEnv(env, seed=7), GymnasiumEnv(env)
    assert not a.uses_twin
    np.testing.assert_array_equal(run(a, 7), run(b, 7))
    np.testing.assert_array_equal(run(a, 7), run(a, 7))
    assert not np.array_equal(run(a, 7), run(a, 8))
    fresh = GymnasiumEnv(env, seed=7)  # the constructor's seed: the same keys as reset(seed=7)
    np.testing.assert_array_equal(fresh.reset()[0], a.reset(seed=7)[0])


def test_ports_without_a_twin_and_other_options_use_the_jax_path():
    assert numpy_twin(morl.envs.make("mo-pendulum-v0"), None) is None
    assert numpy_twin(morl.envs.AutoReset(morl.envs.make("deep-sea-treasure-v0")), None) is None
    env = to_gymnasium(morl.envs.make("deep-sea-treasure-v0"))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="Discrete"):
        env.step(4)
    with pytest.raises(RuntimeError, match="reset"):
        to_gymnasium(morl.envs.make("fruit-tree-v0")).step(0)


def test_a_float_twin_that_does_not_reproduce_the_compiled_port_is_not_used(monkeypatch):
    from morl.envs import adapters, numpy_twins

    env = morl.envs.make("minecart-deterministic-v0")
    to_gymnasium(env)  # probed once per env
    monkeypatch.setattr(numpy_twins, "_fma", lambda a, b, c: (np.float32(a) * np.float32(b) + np.float32(c)))
    monkeypatch.setattr(adapters, "_TWIN_PROBES", {})
    export = to_gymnasium(env)  # plain float32 rounding: a last-bit difference within the probe
    assert not export.uses_twin
    assert export.reset(seed=0)[0].dtype == np.float32 and len(export.step(3)) == 5


@pytest.mark.parametrize(
    "env_id",
    ["mo-mountaincarcontinuous-v0", "mo-mountaincar-v0", "mo-mountaincar-3d-v0", "mo-mountaincar-timemove-v0",
     "mo-mountaincar-timespeed-v0"],
)
def test_mountain_car_twins_equal_the_jax_port(env_id):
    """Random starts (the port's reset from the call's key), pushing along the velocity
    with noise (reaches the goal) or doing nothing (the time limit), reseeding."""
    env = morl.envs.make(env_id)
    twin, port = to_gymnasium(env, seed=1), GymnasiumEnv(env, seed=1, use_twin=False)
    assert not port.uses_twin  # twin: the float twin where the probe found it bit-equal here
    continuous = env_id == "mo-mountaincarcontinuous-v0"
    rng = np.random.default_rng(0)
    goals = limits = 0
    for episode in range(8):
        seed = episode if episode % 2 else None
        got, want = [twin.reset(seed=seed)], [port.reset(seed=seed)]
        idle = episode % 4 == 3
        for t in range(1000):
            forward = got[-1][0][1] >= 0
            if continuous:
                action = np.array([0.0 if idle else (1.0 if forward else -1.0) + rng.normal(0, 0.3)], np.float32)
            else:
                action = 1 if idle else int(rng.integers(3)) if rng.random() < 0.2 else (2 if forward else 0)
            got.append(twin.step(action))
            want.append(port.step(action))
            if want[-1][2] or want[-1][3]:
                goals += int(want[-1][2])
                limits += int(want[-1][3])
                break
        _assert_same(got, want, f"{env_id} episode {episode}")
    assert goals >= 3 and limits >= 2
    with pytest.raises(ValueError):
        twin.step(np.zeros(2, np.float32) if continuous else 3)
