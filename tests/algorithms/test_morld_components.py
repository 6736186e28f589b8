"""MORL/D's weight adaptation and cooperation against plain-Python re-statements of the
morl-baselines loops they come from."""

import jax.numpy as jnp
import numpy as np
import pytest

from morl.algorithms.morld.cooperation import best_neighbour, make_cooperation, neighbourhoods, transfer
from morl.algorithms.morld.weight_adaptation import make_weight_adaptation, pareto_simulated_annealing
from morl.decomposition.scalarization import make_scalarization
from morl.pareto.archive import ParetoArchive


def _psa_loop(weights, returns, archive, delta, min_distance):
    """morl-baselines' `__adapt_weights` written as its Python loop."""
    out = []
    for w, g in zip(weights, returns):
        best, closest = np.inf, None
        for candidate in archive:
            d = np.sum(np.square(g - candidate))
            if best > d > min_distance:
                best, closest = d, candidate
        new = w.copy()
        if closest is not None:
            for k in range(len(g)):
                new[k] = w[k] * (1 + delta) if g[k] >= closest[k] else w[k] / (1 + delta)
        out.append(new / np.sum(new))
    return np.array(out)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_psa_matches_reference_loop(seed):
    rng = np.random.default_rng(seed)
    pop, m, cap = 7, 3, 12
    weights = rng.dirichlet(np.ones(m), pop).astype(np.float32)
    returns = rng.normal(size=(pop, m)).astype(np.float32)
    archive = rng.normal(size=(cap, m)).astype(np.float32)
    archive[:3] = returns[:3]  # members sitting on archive points must skip themselves
    valid = np.ones(cap, bool)
    valid[-2:] = False
    ours = pareto_simulated_annealing(jnp.asarray(weights), jnp.asarray(returns), jnp.asarray(archive), jnp.asarray(valid), 0.1)
    expected = _psa_loop(weights, returns, archive[valid], 0.1, 0.01)
    np.testing.assert_allclose(np.asarray(ours), expected, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(ours).sum(axis=1), 1.0, rtol=1e-6)


def test_psa_moves_weight_towards_objective_where_member_is_better():
    weights = jnp.array([[0.5, 0.5]])
    returns = jnp.array([[2.0, 0.0]])
    archive = jnp.array([[1.0, 1.0], [5.0, 5.0]])
    new = pareto_simulated_annealing(weights, returns, archive, jnp.array([True, False]), 0.1)
    assert float(new[0, 0]) > 0.5 > float(new[0, 1])


def test_neighbourhoods_are_nearest_other_weights():
    weights = jnp.array([[0.0, 1.0], [0.25, 0.75], [0.5, 0.5], [0.75, 0.25], [1.0, 0.0]])
    hood = np.asarray(neighbourhoods(weights, 2))
    assert sorted(hood[2]) == [1, 3]
    assert sorted(hood[0]) == [1, 2]
    assert all(i not in row for i, row in enumerate(hood))
    with pytest.raises(ValueError, match="neighbourhood size"):
        neighbourhoods(weights, 5)


def test_transfer_adopts_best_neighbour_under_own_weights():
    weights = jnp.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    returns = jnp.array([[1.0, 0.0], [3.0, 3.0], [0.0, 1.0]])  # member 1 dominates everyone
    hood = neighbourhoods(weights, 1)
    ws = make_scalarization("weighted_sum")
    source = np.asarray(best_neighbour(returns, weights, jnp.zeros(2), hood, ws))
    np.testing.assert_array_equal(source, [1, 1, 1])
    params = {"w": jnp.arange(3.0)[:, None] * jnp.ones((3, 2))}
    moved = transfer(params, jnp.asarray(source))
    np.testing.assert_array_equal(np.asarray(moved["w"]), np.ones((3, 2)))


def test_components_by_name_are_the_configured_steps():
    """What `weight_adaptation` / `cooperation` in a MORL/D config select: "none" leaves the
    weights and the networks alone; "psa" is PSA against the archive; "transfer" picks the
    best neighbour, from fixed neighbourhoods (uniform weights) or from the members'
    current weights (random weights: init state None)."""
    weights = jnp.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    returns = jnp.array([[2.0, 0.0], [3.0, 3.0], [0.0, 1.0]])
    archive = ParetoArchive(points=jnp.array([[1.0, 1.0], [5.0, 5.0]]), valid=jnp.array([True, False]), payload=None)
    np.testing.assert_array_equal(make_weight_adaptation("none")(weights, returns, archive), weights)
    psa = make_weight_adaptation("psa", 0.2)(weights, returns, archive)
    np.testing.assert_array_equal(psa, pareto_simulated_annealing(weights, returns, archive.points, archive.valid, 0.2))
    ws = make_scalarization("weighted_sum")
    for name in ("none", "shared_buffer"):
        cooperation = make_cooperation(name, ws)
        assert cooperation.update(cooperation.init(np.asarray(weights)), weights, returns, jnp.zeros(2)) is None
    transfer_ = make_cooperation("transfer", ws, neighborhood_size=1)
    fixed = transfer_.init(np.asarray(weights))
    np.testing.assert_array_equal(fixed, neighbourhoods(weights, 1))
    expected = best_neighbour(returns, weights, jnp.zeros(2), neighbourhoods(weights, 1), ws)
    np.testing.assert_array_equal(transfer_.update(fixed, weights, returns, jnp.zeros(2)), expected)
    assert transfer_.init(None) is None
    np.testing.assert_array_equal(transfer_.update(None, weights, returns, jnp.zeros(2)), expected)
    with pytest.raises(ValueError, match="'anneal'"):
        make_weight_adaptation("anneal")
    with pytest.raises(ValueError, match="'gossip'"):
        make_cooperation("gossip", ws)
