"""PGMORL: the prediction model, the task selection, the performance buffers, and runs on
deep-sea-treasure (tiny budgets; the warm-up and generation programs compile once).

- the hyperbolic fit recovers known parameters, and the prediction reads the
  neighbourhood of the policy in the optimisation history;
- the greedy selection (Algorithm 2) equals a brute-force recomputation with the
  project's own front filter, moocore hypervolume and sparsity at every step;
- the performance buffers equal a direct transcription of the public code's
  `insert_pbuffer` on random points;
- end to end: the archive holds several of DST's Pareto points, every archived policy
  reproduces its return, a run continued from a copy of its state ends bit for bit where
  the uninterrupted run ends, and the state passes through an orbax checkpoint unchanged;
- learning (slow): most of DST's front on each of several seeds.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morl.agents.ppo import PPOSection
from morl.envs.evaluation import evaluate
from morl.algorithms import get_algorithm
from morl.algorithms.pgmorl import PGMORLConfig, make_trainer
from morl.algorithms.pgmorl.buffers import PerformanceBuffers, buffers_update
from morl.algorithms.pgmorl.prediction import OptGraph, fit_hyperbolic, hyperbolic, predict
from morl.algorithms.pgmorl.selection import candidate_weights, greedy_select
from morl.io.checkpoint import Checkpointer
from morl.pareto import hypervolume, pareto_filter, sparsity

DST_FRONT = np.array([[0.7, -1], [8.2, -3], [11.5, -5], [14.0, -7], [15.1, -8], [16.1, -9], [19.6, -13],
                      [20.3, -14], [22.4, -17], [23.7, -19]])  # MO-Gymnasium's, undiscounted

CONFIG = PGMORLConfig(
    env="deep-sea-treasure-v0",
    total_steps=100_000,
    eval_gamma=1.0,
    pop_size=4,
    warmup_iterations=20,
    update_iterations=5,
    eval_period=5,
    pbuffer_num=10,
    max_eval_steps=100,
    ppo=PPOSection(num_envs=8, num_steps=32, num_epochs=4, num_minibatches=4, learning_rate=1e-3, gamma=0.99,
                   ent_coef=0.05),
)


# --- prediction -------------------------------------------------------------------------
def test_hyperbolic_fit_recovers_known_parameters():
    true = np.array([40.0, 6.0, 0.4, -3.0])
    x = np.linspace(0.0, 1.0, 21)
    params = fit_hyperbolic(x, hyperbolic(x, true))
    np.testing.assert_allclose(params, true, rtol=1e-3, atol=1e-3)
    # zero-weighted outliers do not move the fit
    y = hyperbolic(x, true)
    y[::5] += 300.0
    w = np.ones_like(x)
    w[::5] = 0.0
    np.testing.assert_allclose(fit_hyperbolic(x, y, w), true, rtol=1e-3, atol=1e-3)


def test_prediction_fits_the_policy_neighbourhood():
    """Edges out of a node at F=(100, 50) follow one hyperbola per objective; edges out of a
    far node follow another; the prediction at F follows the first."""
    near = (np.array([30.0, 5.0, 0.5, 2.0]), np.array([20.0, 5.0, 0.5, -1.0]))
    far = (np.array([5.0, 1.0, 0.0, 50.0]), np.array([5.0, 1.0, 0.0, 50.0]))
    returns, weights, prev = [[100.0, 50.0], [500.0, 500.0]], [[0.5, 0.5], [0.5, 0.5]], [-1, -1]
    for root, (p0, p1) in ((0, near), (1, far)):
        for w0 in np.linspace(0.0, 1.0, 6):
            w = np.array([w0, 1.0 - w0])
            delta = [hyperbolic(w[0], p0), hyperbolic(w[1], p1)]
            returns.append(np.asarray(returns[root]) + delta)
            weights.append(w)
            prev.append(root)
    graph = OptGraph(np.asarray(returns, float), np.asarray(weights, float), np.asarray(prev))
    test = np.array([[0.2, 0.8], [0.7, 0.3]])
    expected = np.array([100.0, 50.0]) + np.stack([hyperbolic(test[:, 0], near[0]), hyperbolic(test[:, 1], near[1])], 1)
    np.testing.assert_allclose(predict(graph, 0, test), expected, atol=0.5)


# --- selection --------------------------------------------------------------------------
def test_candidate_weights_two_objectives():
    rng = np.random.default_rng(0)
    ws = candidate_weights(np.array([0.5, 0.5]), np.zeros((0, 2)), 7, 0.2, rng)
    angles = np.arctan2(ws[:, 1], ws[:, 0])
    np.testing.assert_allclose(angles, np.linspace(0.0, np.pi / 2, 7), atol=1e-6)
    np.testing.assert_allclose(ws.sum(axis=1), 1.0)
    # a weight already trained from this node is skipped; at a corner only half the fan is left
    tried = ws[3:4]
    assert len(candidate_weights(np.array([0.5, 0.5]), tried, 7, 0.2, rng)) == 6
    assert len(candidate_weights(np.array([1.0, 0.0]), np.zeros((0, 2)), 7, 0.2, rng)) == 4
    three = candidate_weights(np.array([0.2, 0.3, 0.5]), np.zeros((0, 3)), 7, 0.2, rng)
    assert len(three) == 7 and np.allclose(three[0], [0.2, 0.3, 0.5]) and np.allclose(three.sum(axis=1), 1.0)


def _brute_force(front, predicted, n, ref, alpha):
    """Algorithm 2 from scratch: every step scores every remaining candidate on the full set."""
    current = np.asarray(front, float)
    picks = []
    for _ in range(n):
        best, best_value = -1, -np.inf
        for i in range(len(predicted)):
            if i in picks:
                continue
            points = np.concatenate([current, predicted[i:i + 1]])
            points = points[np.all(points > ref, axis=1)]
            pf = pareto_filter(points)[0] if len(points) else points
            value = (hypervolume(pf, ref) if len(pf) else 0.0) - alpha * sparsity(pf)
            if value > best_value:
                best, best_value = i, value
        picks.append(best)
        current = np.concatenate([current, predicted[best:best + 1]])
    return picks


@pytest.mark.parametrize("m", [2, 3])
def test_greedy_selection_matches_brute_force(m):
    rng = np.random.default_rng(m)
    ref = np.full(m, -1.0)
    for trial in range(5):
        front = rng.uniform(0.0, 10.0, (6, m))
        predicted = rng.uniform(-2.0, 12.0, (12, m))
        alpha = [0.0, 1.0, 5.0][trial % 3]
        assert greedy_select(front, predicted, 4, ref, alpha) == _brute_force(front, predicted, 4, ref, alpha)


# --- performance buffers -------------------------------------------------------------------------
def _reference_pbuffers(points, num, size):
    """The public code's `Population.update` for two objectives (origin 0), as indices."""
    dtheta = np.pi / 2.0 / num
    buffers, dists = [[] for _ in range(num)], [[] for _ in range(num)]
    for index, f in enumerate(points):
        if np.min(f) < 1e-7:
            continue
        dist = np.linalg.norm(f)
        buffer = int(np.arccos(np.clip(f[1] / dist, -1.0, 1.0)) // dtheta)
        if buffer >= num:
            continue
        inserted = False
        for i in range(len(buffers[buffer])):
            if dists[buffer][i] < dist:
                buffers[buffer].insert(i, index)
                dists[buffer].insert(i, dist)
                inserted = True
                break
        if inserted and len(buffers[buffer]) > size:
            buffers[buffer], dists[buffer] = buffers[buffer][:size], dists[buffer][:size]
        elif not inserted and len(buffers[buffer]) < size:
            buffers[buffer].append(index)
            dists[buffer].append(dist)
    return [i for b in buffers for i in b]


def test_performance_buffers_match_the_public_code():
    rng = np.random.default_rng(0)
    num, size = 8, 2
    capacity = num * size
    buffers = PerformanceBuffers(jnp.zeros((capacity, 2)), jnp.zeros(capacity, bool), jnp.zeros(capacity, jnp.int32))
    seen = np.zeros((0, 2))
    for _ in range(6):
        new = rng.uniform(-1.0, 10.0, (7, 2)).astype(np.float32)
        ids = jnp.arange(len(seen), len(seen) + 7, dtype=jnp.int32)
        buffers = buffers_update(buffers, jnp.asarray(new), ids, jnp.ones(7, bool), jnp.zeros(2), num, size)
        kept_before = np.asarray(buffers.members)[np.asarray(buffers.valid)]
        seen = np.concatenate([seen, new])
        # the public code re-sorts the union of the kept buffers and the new points
        expected = _reference_pbuffers(seen[np.sort(kept_before)], num, size)
        assert sorted(np.sort(kept_before)[expected].tolist()) == sorted(kept_before.tolist())


# --- config -----------------------------------------------------------------------------
def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="eval_period"):
        PGMORLConfig(update_iterations=10, eval_period=3)
    with pytest.raises(ValueError, match="warmup_iterations"):
        PGMORLConfig(warmup_iterations=30, update_iterations=20)
    with pytest.raises(ValueError, match="total_steps"):
        make_trainer(dataclasses.replace(CONFIG, total_steps=25_000))
    with pytest.raises(ValueError, match="ref_point"):
        make_trainer(dataclasses.replace(CONFIG, ref_point=(0.0, -25.0, 1.0)))
    with pytest.raises(ValueError, match="ppo"):
        PGMORLConfig(ppo=PPOSection(num_envs=3, num_steps=5, num_minibatches=4))
    with pytest.raises(NotImplementedError, match="num_runs"):
        make_trainer(CONFIG, num_runs=2)
    assert get_algorithm("pgmorl").config_cls is PGMORLConfig


# --- end to end -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    trainer = make_trainer(CONFIG)
    state = trainer.init(jax.random.key(0))
    states = []
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)
        states.append(jax.tree_util.tree_map(jnp.copy, state))
    return trainer, states, metrics


def _on_front(returns):
    return sum(np.any(np.all(np.abs(returns - p) < 1e-4, axis=1)) for p in DST_FRONT)


def test_run_finds_dst_front_points(trained):
    trainer, states, metrics = trained
    front = trainer.front(states[-1])
    assert trainer.env_steps(states[-1]) == trainer.budget.total_steps <= CONFIG.total_steps
    assert metrics["member_returns"].shape == (4, 2) and metrics["predicted_returns"].shape == (4, 2)
    assert _on_front(front.returns) >= 6
    # every archived policy reproduces its archived return (one compiled rollout for all)
    env = trainer.env
    rollout = jax.jit(lambda act: evaluate(env, env.default_params, lambda obs: act(obs, None), jax.random.key(1), 1,
                                           CONFIG.max_eval_steps, CONFIG.eval_gamma).discounted)
    for row, member in enumerate(front.member):
        np.testing.assert_allclose(rollout(trainer.policy(states[-1], int(member))), front.returns[row], atol=1e-4)


def test_resume_is_identical(trained):
    """The state holds everything: a run continued from a copy of the state after a
    generation (the host selection then reads the copy) ends where the run ended."""
    trainer, states, _ = trained
    state = states[-4]  # after a few generations
    while not trainer.done(state):
        state, _ = trainer.run_chunk(state)
    final = states[-1]
    for a, b in zip(jax.tree_util.tree_leaves(final.archive), jax.tree_util.tree_leaves(state.archive)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(np.asarray(final.graph.returns), np.asarray(state.graph.returns))


def test_state_survives_an_orbax_checkpoint(trained, tmp_path):
    trainer, states, _ = trained
    checkpointer = Checkpointer(tmp_path, asynchronous=False)
    checkpointer.save(3, states[-1], {"chunk": 3})
    restored, _ = checkpointer.restore(3, states[0])
    checkpointer.close()
    for a, b in zip(jax.tree_util.tree_leaves(states[-1]), jax.tree_util.tree_leaves(restored)):
        if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert trainer.select_tasks(restored).source.tolist() == trainer.select_tasks(states[-1]).source.tolist()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learns_most_of_the_dst_front(seed):
    config = dataclasses.replace(CONFIG, total_steps=200_000)
    trainer = make_trainer(config)
    state = trainer.init(jax.random.key(seed))
    while not trainer.done(state):
        state, _ = trainer.run_chunk(state)
    assert _on_front(trainer.front(state).returns) >= 7


def test_three_objective_buffers_take_the_nearest_direction():
    from morl.algorithms.pgmorl.buffers import buffer_directions, buffer_index

    directions = buffer_directions(3, 3)  # lattice of 2 partitions: 6 directions
    assert directions.shape == (6, 3)
    ref = jnp.full(3, -1.0)
    points = jnp.asarray(directions * 5.0 - 1.0 + 1e-3)
    index, dist = buffer_index(points, ref, 3)
    np.testing.assert_array_equal(np.asarray(index), np.arange(6))
    assert int(buffer_index(jnp.array([[-1.0, 3.0, 3.0]]), ref, 3)[0][0]) == -1  # on the reference plane


@pytest.mark.slow
def test_three_objective_run():
    config = dataclasses.replace(CONFIG, env="resource-gathering-v0", pop_size=3, pbuffer_num=3, total_steps=40_000,
                                 warmup_iterations=10, eval_gamma=0.99)
    trainer = make_trainer(config)
    state = trainer.init(jax.random.key(0))
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)
    assert trainer.budget.generations >= 3 and metrics["member_returns"].shape == (3, 3)
    assert len(trainer.front(state).returns) >= 1
