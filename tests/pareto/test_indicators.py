"""Indicators against pymoo (IGD, IGD+), moocore (additive epsilon, IGD+), small hand-computed
cross-check values and plain-Python loops written from the published definitions."""

from __future__ import annotations

import moocore
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymoo.indicators.igd import IGD
from pymoo.indicators.igd_plus import IGDPlus

from morl.pareto import (
    cardinality,
    epsilon_additive,
    expected_utility,
    igd,
    igd_plus,
    maximum_utility_loss,
    sparsity,
)

F2 = np.array([(1, 5), (2, 4), (3, 2), (4, 1)], np.float64)
F3 = np.array([(1, 2, 3), (3, 1, 2), (2, 3, 1), (1.5, 1.5, 1.5)], np.float64)


def test_algorithms_md_sparsity_values() -> None:
    assert sparsity(F2) == pytest.approx(3.0)
    assert sparsity(F3) == pytest.approx(1.5)
    assert sparsity(F2[:1]) == 0.0 and sparsity(np.zeros((0, 2))) == 0.0


@st.composite
def pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    m = draw(st.integers(2, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    pts = rng.normal(size=(draw(st.integers(1, 40)), m))
    ref = rng.normal(size=(draw(st.integers(1, 40)), m))
    if draw(st.booleans()):
        pts = np.round(pts)  # ties
    return pts, ref


@settings(max_examples=40, deadline=None)
@given(pairs())
def test_distance_indicators_match_pymoo_and_moocore(data: tuple[np.ndarray, np.ndarray]) -> None:
    pts, ref = data
    # pymoo and moocore minimise: negate both sets
    assert igd(pts, ref) == pytest.approx(IGD(-ref)(-pts), rel=1e-12)
    assert igd_plus(pts, ref) == pytest.approx(IGDPlus(-ref)(-pts), rel=1e-12)
    assert igd_plus(pts, ref) == pytest.approx(moocore.igd_plus(pts, ref, maximise=True), rel=1e-12)
    assert epsilon_additive(pts, ref) == pytest.approx(moocore.epsilon_additive(pts, ref, maximise=True), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(pairs(), st.integers(1, 30))
def test_utility_indicators_match_definitions(data: tuple[np.ndarray, np.ndarray], k: int) -> None:
    pts, ref = data
    m = pts.shape[1]
    weights = np.random.default_rng(k).dirichlet(np.ones(m), size=k)
    best = [max(sum(wi * pi for wi, pi in zip(w, p)) for p in pts) for w in weights]
    best_ref = [max(sum(wi * pi for wi, pi in zip(w, p)) for p in ref) for w in weights]
    assert expected_utility(pts, weights) == pytest.approx(sum(best) / k, rel=1e-12, abs=1e-12)
    mul = max(b - a for a, b in zip(best, best_ref))
    assert maximum_utility_loss(pts, ref, weights) == pytest.approx(mul, rel=1e-12, abs=1e-12)
    assert maximum_utility_loss(ref, ref, weights) == pytest.approx(0.0, abs=1e-12)
    keep = moocore.is_nondominated(pts, maximise=True, keep_weakly=False)
    assert cardinality(pts) == int(keep.sum())


def test_known_values_and_bad_input() -> None:
    corners = np.eye(2)
    assert expected_utility(F2, corners) == pytest.approx(4.5)  # (max x + max y) / 2
    assert maximum_utility_loss(F2[1:3], F2, corners) == pytest.approx(1.0)
    assert epsilon_additive(F2, F2) == 0.0 and igd(F2, F2) == 0.0
    assert cardinality(np.vstack([F2, F2, [[0.0, 0.0]]])) == 4
    with pytest.raises(ValueError, match=r"weights\[1\] = \[0.5, 0.6\] is not on the simplex"):
        expected_utility(F2, np.array([[1.0, 0.0], [0.5, 0.6]]))
    with pytest.raises(ValueError, match="weights have 3 objectives, expected 2"):
        expected_utility(F2, np.ones((2, 3)) / 3)
    with pytest.raises(ValueError, match="reference_front has 3 objectives, expected 2"):
        igd(F2, F3)
    with pytest.raises(ValueError, match="points is empty"):
        igd_plus(np.zeros((0, 2)), F2)
    with pytest.raises(ValueError, match="non-finite value nan"):
        sparsity(np.array([[1.0, np.nan]]))
