"""PCN on deep-sea-treasure: most of the front on every seed of one vmapped run, an archived
command-conditioned policy replays in MO-Gymnasium's env, the buffer keeps the front,
determinism, config errors.

The small run (3 seeds as one compiled program) is compiled once for the module; the full
10-point check with the defaults is `-m slow`."""

import dataclasses

import jax
import jax.numpy as jnp
import mo_gymnasium as gym
import numpy as np
import pytest

from morl.algorithms import get_algorithm
from morl.algorithms.pcn import Episodes, PCNConfig, make_trainer, next_command
from morl.envs.evaluation import evaluate_policy
from morl.pareto import hypervolume, is_non_dominated

SEEDS = 3
SMALL = PCNConfig(env="deep-sea-treasure-v0", total_steps=6_000, chunk_iterations=20, archive_capacity=32)
REF = np.array([0.0, -25.0])


def _train(trainer, keys):
    state = trainer.init(keys)
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)
    return state, metrics


def _found(front_returns: np.ndarray, true_front: np.ndarray) -> int:
    """How many points of `true_front` the archive holds (to float32 rounding)."""
    return sum(bool(np.any(np.all(np.abs(front_returns - p) < 1e-3, axis=1))) for p in true_front)


@pytest.fixture(scope="module")
def small_run():
    trainer = make_trainer(SMALL, num_runs=SEEDS)
    state, metrics = _train(trainer, jax.vmap(jax.random.key)(np.arange(SEEDS)))
    return trainer, state, metrics


def test_every_seed_finds_most_of_the_front(small_run):
    trainer, state, _ = small_run
    true_front = trainer.env.pareto_front(SMALL.eval_gamma)
    found = [_found(trainer.front(state, r).returns, true_front) for r in range(SEEDS)]
    # 6 k env steps: the 5 treasures nearest the start at least on every seed.
    assert min(found) >= 5, found
    assert sum(found) >= 20, found
    for r in range(SEEDS):
        assert hypervolume(trainer.front(state, r).returns, REF) >= 0.95 * hypervolume(true_front[:5], REF)


def test_archive_is_non_dominated_and_never_beats_the_true_front(small_run):
    trainer, state, _ = small_run
    true_front = trainer.env.pareto_front(SMALL.eval_gamma)
    for r in range(SEEDS):
        front = trainer.front(state, r)
        assert np.all(np.asarray(is_non_dominated(front.returns)))
        for point in front.returns:
            assert not np.any(np.all(point >= true_front + 1e-4, axis=1)), f"{point} dominates the true front"


def test_archived_policies_replay_in_mo_gymnasium(small_run):
    """The deepest and the nearest archived treasures of run 2, stepped by MO-Gymnasium with
    the command updated after every reward."""
    trainer, state, _ = small_run
    front = trainer.front(state, 2)
    for i in (int(np.argmax(front.returns[:, 0])), int(np.argmin(front.returns[:, 0]))):
        policy = trainer.policy(state, int(front.member[i]), run=2)
        act, command = jax.jit(policy.act), policy.memory
        env = gym.make("deep-sea-treasure-v0")
        obs, _ = env.reset(seed=0)
        total, discount = np.zeros(2), 1.0
        for _ in range(100):
            obs, reward, terminated, truncated, _ = env.step(int(act(jnp.asarray(obs), command)))
            command = policy.remember(command, jnp.asarray(reward, jnp.float32))
            total += discount * reward
            discount *= SMALL.eval_gamma
            if terminated or truncated:
                break
        np.testing.assert_allclose(total, front.returns[i], rtol=1e-5, atol=1e-5)


def test_morl_eval_replays_the_archive_with_the_command_as_memory(small_run):
    """`evaluate_policy` carries the command (the `MemoryPolicy`): each archived member of run
    2 reproduces its archived return; the same network with the command frozen at its start
    (no memory) does not reproduce the deep treasures."""
    trainer, state, _ = small_run
    front = trainer.front(state, 2)
    for member, stored in zip(front.member, front.returns):
        policy = trainer.policy(state, int(member), run=2)
        returns = evaluate_policy(trainer.env, policy, jax.random.key(0), 1, SMALL.eval_gamma, max_steps=100)
        np.testing.assert_allclose(returns[0], stored, rtol=1e-5, atol=1e-5)
    frozen = []
    for member in front.member:
        policy = trainer.policy(state, int(member), run=2)
        act = jax.tree_util.Partial(lambda p, obs, key: p.act(obs, p.memory), policy)
        frozen.append(evaluate_policy(trainer.env, act, jax.random.key(0), 1, SMALL.eval_gamma, max_steps=100)[0])
    assert not np.allclose(np.asarray(frozen), front.returns, atol=1e-3)


def test_buffer_keeps_the_front_and_evicts_the_farthest_dominated_first():
    config = dataclasses.replace(SMALL, buffer_episodes=4, initial_episodes=4, command_episodes=4, crowding_threshold=0.0)
    trainer = make_trainer(config)
    returns = jnp.array([[1.0, -1.0], [5.0, -5.0], [0.0, -2.0], [1.0, -1.0], [0.5, -9.0], [3.0, -4.5]])

    def episodes(rows):
        n = rows.shape[0]
        return Episodes(
            obs=jnp.zeros((n, 3, 2)), action=jnp.zeros((n, 3), jnp.int32), return_to_go=jnp.zeros((n, 3, 2)),
            length=jnp.full((n,), 3, jnp.int32), returns=rows, discounted=rows, valid=jnp.ones((n,), bool),
        )  # fmt: skip

    kept = trainer.prune(episodes(returns[:3]), episodes(returns[3:]))
    # Front: (1, -1), (5, -5), (3, -4.5); then the copy of (1, -1) (distance 0) before
    # (0, -2) (distance 1.41) and (0.5, -9) (distance 4.1).
    assert np.asarray(kept.valid).all()
    got = {tuple(map(float, row)) for row in np.asarray(kept.returns)}
    assert got == {(1.0, -1.0), (5.0, -5.0), (3.0, -4.5)}
    assert np.sum(np.all(np.asarray(kept.returns) == [1.0, -1.0], axis=1)) == 2


def test_next_command_spends_the_reward_and_a_step():
    command = next_command(jnp.array([10.0, -3.0, 4.0]), jnp.array([2.0, -1.0]))
    np.testing.assert_allclose(command, [8.0, -2.0, 3.0])
    np.testing.assert_allclose(next_command(jnp.array([0.0, 0.0, 1.0]), jnp.zeros(2))[-1], 1.0)


def test_a_chunk_is_deterministic(small_run):
    trainer, state, _ = small_run
    a, metrics_a = trainer.run_chunk(state)
    b, metrics_b = trainer.run_chunk(state)
    for x, y in zip(jax.tree_util.tree_leaves((a, metrics_a)), jax.tree_util.tree_leaves((b, metrics_b))):
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        assert np.array_equal(np.asarray(x), np.asarray(y))


def test_registered_for_the_cli():
    algorithm = get_algorithm("pcn")
    assert algorithm.config_cls is PCNConfig and algorithm.make_trainer is make_trainer


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(eval_period=7), "multiple of eval_period"),
        (dict(initial_episodes=200), "initial_episodes"),
        (dict(return_scale=(0.1,)), "return_scale"),
        (dict(ref_point=(0.0, 0.0, 0.0)), "ref_point"),
        (dict(env="mo-pendulum-v0"), "Discrete"),
    ],
)
def test_bad_config_fails_before_compiling(change, message):
    with pytest.raises(ValueError, match=message):
        make_trainer(dataclasses.replace(SMALL, **change))


@pytest.mark.slow
def test_defaults_find_the_whole_front_on_three_seeds():
    config = PCNConfig()
    trainer = make_trainer(config, num_runs=3)
    state, _ = _train(trainer, jax.vmap(jax.random.key)(np.arange(3)))
    true_front = trainer.env.pareto_front(config.eval_gamma)
    assert [_found(trainer.front(state, r).returns, true_front) for r in range(3)] == [10, 10, 10]
