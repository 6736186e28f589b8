"""GPI-LS on deep-sea-treasure: most of the front on every seed of one vmapped
run, an archived policy replays in MO-Gymnasium's env, determinism, config errors.

The small run (3 seeds as one compiled program) is compiled once for the module; the full
10-point check with the defaults is `-m slow`."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morl.algorithms import get_algorithm
from morl.algorithms.gpi_ls import GPILSConfig, corner_weights_2d, make_trainer
from morl.pareto import hypervolume, is_non_dominated
from tests.algorithms.replay import mo_gymnasium_return

SEEDS = 3
SMALL = GPILSConfig(
    env="deep-sea-treasure-v0",
    total_steps=12_000,
    hidden_sizes=(64, 64),
    learning_starts=500,
    num_eval_weights=64,
    round_iterations=50,
    chunk_iterations=250,
    archive_capacity=32,
)
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
    # 12 k env steps: the 6 treasures nearest the start at least (they hold 0.85 of the
    # front's hypervolume), the deep ones on some seeds.
    assert min(found) >= 6, found
    for r in range(SEEDS):
        assert hypervolume(trainer.front(state, r).returns, REF) >= 0.95 * hypervolume(true_front[:6], REF)


def test_archive_is_non_dominated_and_never_beats_the_true_front(small_run):
    trainer, state, _ = small_run
    true_front = trainer.env.pareto_front(SMALL.eval_gamma)
    for r in range(SEEDS):
        front = trainer.front(state, r)
        assert np.all(np.asarray(is_non_dominated(front.returns)))
        np.testing.assert_allclose(front.weights.sum(axis=1), 1.0, atol=1e-5)
        for point in front.returns:
            assert not np.any(np.all(point >= true_front + 1e-4, axis=1)), f"{point} dominates the true front"


def test_archived_policies_replay_in_mo_gymnasium(small_run):
    """The deepest and the nearest archived treasures of run 1, replayed by MO-Gymnasium."""
    trainer, state, _ = small_run
    front = trainer.front(state, 1)
    for i in (int(np.argmax(front.returns[:, 0])), int(np.argmin(front.returns[:, 0]))):
        act = jax.jit(trainer.policy(state, int(front.member[i]), run=1))
        total = mo_gymnasium_return(act, "deep-sea-treasure-v0", SMALL.eval_gamma, max_steps=100)
        np.testing.assert_allclose(total, front.returns[i], rtol=1e-5, atol=1e-5)


def test_support_holds_the_corners_first_and_every_round(small_run):
    trainer, state, _ = small_run
    rounds = SMALL.total_iterations // SMALL.round_iterations
    for r in range(SEEDS):
        support = jax.tree_util.tree_map(lambda x: x[r], state.members.support)
        assert int(np.sum(np.asarray(support.valid))) == rounds
        np.testing.assert_array_equal(np.asarray(support.weights[:2]), np.eye(2))
        np.testing.assert_allclose(np.asarray(support.weights[:rounds]).sum(axis=1), 1.0, atol=1e-5)


def test_corner_weights_2d_are_the_crossings_on_the_upper_envelope():
    values = jnp.array([[0.0, 1.0], [1.0, 0.0], [0.6, 0.6], [0.1, 0.1]])
    corners, mask = corner_weights_2d(values, jnp.array([True, True, True, True]))
    chosen = np.asarray(corners)[np.asarray(mask)]
    # (0, 1) and (0.6, 0.6) cross at x = 0.4; (0.6, 0.6) and (1, 0) at x = 0.6; the line
    # (0, 1)-(1, 0) crossing at 0.5 lies under (0.6, 0.6) and (0.1, 0.1) under everything.
    expected = {(0.4, 0.6), (0.6, 0.4), (1.0, 0.0), (0.0, 1.0)}
    assert {tuple(round(float(x), 5) for x in w) for w in chosen} == expected


def test_a_chunk_is_deterministic(small_run):
    """The first chunk twice from the same initial state (each from its own copy: a chunk
    donates its input state)."""
    trainer, _, _ = small_run
    start = trainer.init(jax.vmap(jax.random.key)(np.arange(SEEDS)))
    a, metrics_a = trainer.run_chunk(jax.tree_util.tree_map(jnp.copy, start))
    b, metrics_b = trainer.run_chunk(jax.tree_util.tree_map(jnp.copy, start))
    for x, y in zip(jax.tree_util.tree_leaves((a, metrics_a)), jax.tree_util.tree_leaves((b, metrics_b))):
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        assert np.array_equal(np.asarray(x), np.asarray(y))


def test_registered_for_the_cli():
    algorithm = get_algorithm("gpi-ls")
    assert algorithm.config_cls is GPILSConfig and algorithm.make_trainer is make_trainer


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(round_iterations=7), "multiple of round_iterations"),
        (dict(epsilon_end=0.5, epsilon_start=0.1), "epsilon"),
        (dict(ref_point=(0.0, 0.0, 0.0)), "ref_point"),
        (dict(buffer_size=4), "buffer_size"),
        (dict(support_size=1), "support_size"),
        (dict(env="mo-pendulum-v0"), "Discrete"),
    ],
)
def test_bad_config_fails_before_compiling(change, message):
    with pytest.raises(ValueError, match=message):
        make_trainer(dataclasses.replace(SMALL, **change))


def test_bad_hparams_fail():
    with pytest.raises(ValueError, match="not vmappable"):
        make_trainer(SMALL, num_runs=2, hparams={"learning_rate": np.ones(2)})


@pytest.mark.slow
def test_defaults_find_the_whole_front_on_three_seeds():
    config = GPILSConfig()
    trainer = make_trainer(config, num_runs=3)
    state, _ = _train(trainer, jax.vmap(jax.random.key)(np.arange(3)))
    true_front = trainer.env.pareto_front(config.eval_gamma)
    assert [_found(trainer.front(state, r).returns, true_front) for r in range(3)] == [10, 10, 10]
