"""C-MORL's extension selection against pymoo's NSGA-II crowding distance."""

import jax.numpy as jnp
import numpy as np
import pytest
from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance

from morl.algorithms.cmorl.selection import select_for_extension


def _front(rng, n, m):
    """`n` mutually non-dominated points (on a sphere's positive orthant)."""
    x = np.abs(rng.normal(size=(n, m))) + 0.05
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _reference_selection(points, valid, extended, n_select):
    rows = np.flatnonzero(valid)
    crowd = np.full(len(points), -np.inf)
    crowd[rows] = calc_crowding_distance(points[rows].astype(np.float64))
    ranked = sorted(rows, key=lambda i: (extended[i], -crowd[i], i))
    return [ranked[i % len(ranked)] for i in range(n_select)]


@pytest.mark.parametrize("seed, m", [(0, 2), (1, 2), (2, 3), (3, 4)])
def test_selection_matches_pymoo_crowding(seed, m):
    rng = np.random.default_rng(seed)
    n = 16
    points = _front(rng, n, m)
    valid = rng.random(n) < 0.8
    extended = rng.random(n) < 0.3
    index, ok = select_for_extension(jnp.asarray(points), jnp.asarray(valid), jnp.asarray(extended), 5)
    assert np.asarray(ok).all()
    assert np.asarray(index).tolist() == _reference_selection(points, valid, extended, 5)


def test_selection_skips_extended_then_cycles():
    points = _front(np.random.default_rng(4), 6, 2)
    valid = np.array([True, True, True, False, False, False])
    extended = np.array([True, False, False, False, False, False])
    index, ok = select_for_extension(jnp.asarray(points), jnp.asarray(valid), jnp.asarray(extended), 5)
    index = np.asarray(index).tolist()
    assert set(index[:2]) == {1, 2} and index[2] == 0  # unextended first, then the extended one
    assert index[3:] == index[:2]  # fewer points than slots: cycle
    assert np.asarray(ok).all()


def test_empty_archive_marks_slots_unusable():
    index, ok = select_for_extension(jnp.zeros((4, 2)), jnp.zeros(4, bool), jnp.zeros(4, bool), 3)
    assert not np.asarray(ok).any() and np.asarray(index).shape == (3,)
