"""Weight generators against pymoo's reference directions and the simplex definitions."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from pymoo.util.ref_dirs import get_reference_directions
from scipy.spatial.distance import cdist, pdist

from morl.decomposition import (
    check_weights,
    nearest_neighbours,
    one_hot_weights,
    random_weights,
    simplex_lattice,
    uniform_weights,
)


@pytest.mark.parametrize(("m", "partitions"), [(2, 10), (3, 12), (5, 4), (8, 3)])
def test_lattice_equals_pymoo_das_dennis(m: int, partitions: int) -> None:
    ours = simplex_lattice(m, partitions)
    theirs = get_reference_directions("das-dennis", m, n_partitions=partitions)
    assert ours.shape == theirs.shape == (math.comb(partitions + m - 1, m - 1), m)
    np.testing.assert_allclose(np.sort(ours, axis=0), np.sort(theirs, axis=0), atol=1e-12)
    assert cdist(ours, theirs).min(axis=1).max() < 1e-12  # same set


@pytest.mark.parametrize(("m", "n"), [(2, 7), (3, 20), (3, 50), (4, 30), (6, 50), (3, 91)])
def test_uniform_weights_are_on_simplex_deterministic_and_well_spread(m: int, n: int) -> None:
    w = uniform_weights(m, n)
    assert w.shape == (n, m)
    check_weights(w, m)
    np.testing.assert_array_equal(w, uniform_weights(m, n))
    assert len(np.unique(w, axis=0)) == n
    # spread: the smallest pairwise distance is within 25% of pymoo's Riesz s-energy design
    energy = get_reference_directions("energy", m, n, seed=1)
    assert pdist(w).min() >= 0.75 * pdist(energy).min()
    if n >= m:  # the corners are included
        assert cdist(np.eye(m), w).min(axis=1).max() < 1e-12


def test_random_and_one_hot_and_neighbours() -> None:
    w = np.asarray(random_weights(jax.random.key(0), 4, 1000))
    check_weights(w, 4)
    np.testing.assert_allclose(w.mean(axis=0), 0.25, atol=0.02)  # Dirichlet(1) mean
    np.testing.assert_array_equal(one_hot_weights(3), np.eye(3))
    lattice = simplex_lattice(3, 6)
    nbrs = np.asarray(jax.jit(nearest_neighbours, static_argnums=1)(lattice, 5))
    dist = cdist(lattice, lattice, "sqeuclidean")
    for i in range(len(lattice)):
        assert nbrs[i, 0] == i
        np.testing.assert_allclose(np.sort(dist[i, nbrs[i]]), np.sort(dist[i])[:5])


def test_bad_input() -> None:
    with pytest.raises(ValueError, match=r"weights\[0\] = \[0.7, 0.7\] is not on the simplex"):
        check_weights(np.array([0.7, 0.7]))
    with pytest.raises(ValueError, match="n >= 1"):
        uniform_weights(3, 0)
    with pytest.raises(ValueError, match="k=9"):
        nearest_neighbours(np.eye(3), 9)
