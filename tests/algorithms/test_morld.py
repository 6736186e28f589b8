"""MORL/D end to end on deep-sea-treasure: reaches stated fronts, deterministic, archive sound."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import morl
from morl.algorithms.morld import MORLD_PPO, MORLDConfig, make_trainer
from morl.pareto import hypervolume, is_non_dominated
from tests.algorithms.replay import replayed_return

SMALL = MORLDConfig(
    env="deep-sea-treasure-v0",
    total_steps=8 * 8 * 32 * 40,
    pop_size=8,
    eval_period=5,
    chunk_iterations=20,
    archive_capacity=32,
    ppo=MORLD_PPO.replace(num_envs=8, num_steps=32, num_epochs=2, num_minibatches=2),
)


def _train(trainer, seed):
    state = trainer.init(jax.random.key(seed))
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)
    return state, metrics


@pytest.fixture(scope="module")
def small_run():
    trainer = make_trainer(SMALL)
    state, metrics = _train(trainer, 0)
    return trainer, state, metrics


def test_small_run_reaches_stated_hypervolume(small_run):
    trainer, state, _ = small_run
    front = trainer.front(state)
    true_front = trainer.env.pareto_front(SMALL.eval_gamma)
    ref = np.array([0.0, -25.0])
    # 80 k env steps over 8 members: at least the 4 nearest treasures, i.e. a fixed share of
    # the true front's hypervolume (the nearest 4 points alone give 0.62 of it).
    near = true_front[:4]
    assert hypervolume(front.returns, ref) >= 0.95 * hypervolume(near, ref)


def test_archive_is_non_dominated_and_on_true_front(small_run):
    trainer, state, _ = small_run
    front = trainer.front(state)
    assert len(front.returns) >= 2
    assert np.all(np.asarray(is_non_dominated(front.returns)))
    # Deterministic evaluation of a deterministic env: no archived return may dominate a
    # point of MO-Gymnasium's true front.
    true_front = trainer.env.pareto_front(SMALL.eval_gamma)
    for point in front.returns:
        assert not np.any(np.all(point >= true_front + 1e-4, axis=1)), f"{point} dominates the true front"


def test_archived_policy_replays_its_returns(small_run):
    trainer, state, _ = small_run
    front = trainer.front(state)
    total = replayed_return(trainer, state, int(front.member[0]), SMALL.eval_gamma)
    np.testing.assert_allclose(total, front.returns[0], rtol=1e-5)


def test_same_seed_same_numbers(small_run):
    trainer, state, metrics = small_run
    again, metrics_again = _train(trainer, 0)
    as_data = lambda x: jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x
    equal = jax.tree_util.tree_map(lambda a, b: np.array_equal(as_data(a), as_data(b)), state, again)
    assert all(jax.tree_util.tree_leaves(equal))


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(pop_size=1), "smaller than the number of objectives"),
        (dict(weight_adaptation="psa", pop_size=1, weight_init="random"), "psa"),
        (dict(cooperation="shared_buffer"), "off-policy"),
        (dict(ref_point=(0.0, 0.0, 0.0)), "ref_point"),
        (dict(env="deep-sea-treasur-v0"), "unknown environment"),
        (dict(cooperation="transfer", neighborhood_size=0), "neighborhood_size"),
        (dict(cooperation="transfer", neighborhood_size=SMALL.pop_size), "neighborhood_size"),
    ],
)
def test_bad_config_fails_before_compiling(change, message):
    with pytest.raises(ValueError, match=message):
        make_trainer(dataclasses.replace(SMALL, **change))


def test_single_policy_run_ignores_the_unused_neighbourhood():
    """One member with random weights and no cooperation: the default neighbourhood size
    (2, larger than the population allows) is not used, so it is not an error."""
    config = dataclasses.replace(SMALL, pop_size=1, weight_init="random", cooperation="none")
    assert config.neighborhood_size >= config.pop_size
    make_trainer(config)


def test_random_weights_come_from_each_runs_key():
    """`weight_init: random` draws Dirichlet weights from the run's key: two runs of one
    program get different weights, the same seed the same ones; transfer's neighbourhoods
    follow them."""
    config = dataclasses.replace(SMALL, weight_init="random", cooperation="transfer", total_steps=1, chunk_iterations=1)
    trainer = make_trainer(config, num_runs=2)
    keys = jax.vmap(jax.random.key)(jnp.array([0, 1]))
    state, _ = trainer.run_chunk(trainer.init(keys))
    weights = np.asarray(state.members.weights)  # [runs, pop, m]
    assert weights.shape == (2, config.pop_size, 2)
    assert np.allclose(weights.sum(-1), 1.0, atol=1e-5) and np.all(weights >= 0)
    assert not np.allclose(weights[0], weights[1])
    again = make_trainer(dataclasses.replace(config), num_runs=None).init(jax.random.key(1))
    np.testing.assert_allclose(np.asarray(again.members.weights), weights[1], rtol=1e-6)
