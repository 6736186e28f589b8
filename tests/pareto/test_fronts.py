"""Non-dominated filters against moocore, crowding distance against pymoo."""

from __future__ import annotations

import jax
import moocore
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance

from morl.pareto import crowding_distance, is_non_dominated, pareto_filter

BUFFER = 64  # every jitted call uses this buffer size, so hypothesis compiles once per m


@st.composite
def fronts(draw: st.DrawFn, max_n: int = BUFFER) -> np.ndarray:
    """Random integer-valued points (many ties and duplicates), 2 to 8 objectives."""
    m = draw(st.integers(2, 8))
    n = draw(st.integers(1, max_n))
    levels = draw(st.sampled_from([3, 10, 1000]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    pts = rng.integers(0, levels, size=(n, m)).astype(np.float64)
    if draw(st.booleans()):  # add exact duplicates of existing rows
        pts = np.concatenate([pts, pts[rng.integers(0, n, size=min(n, 5))]])[:max_n]
    return pts


_jit_filter = jax.jit(is_non_dominated)


@settings(max_examples=40, deadline=None)
@given(fronts())
def test_jit_filter_matches_moocore(points: np.ndarray) -> None:
    n, m = points.shape
    padded = np.full((BUFFER, 8), -7.0, np.float32)[:, :m]  # padding rows dominate nothing
    padded[:n] = points
    valid = np.arange(BUFFER) < n
    padded[n:] = 1e6  # invalid rows would dominate everything if the mask were ignored
    keep = np.asarray(_jit_filter(padded, valid))
    expected = moocore.is_nondominated(points, maximise=True, keep_weakly=False)
    np.testing.assert_array_equal(keep[:n], expected)
    assert not keep[n:].any()


@settings(max_examples=40, deadline=None)
@given(fronts(max_n=300))
def test_host_filter_matches_naive_numpy(points: np.ndarray) -> None:
    front, index = pareto_filter(points)
    n = len(points)
    expected = []
    for i in range(n):
        dominated = np.any(np.all(points >= points[i], 1) & np.any(points > points[i], 1))
        duplicate = np.any(np.all(points[:i] == points[i], 1))
        if not dominated and not duplicate:
            expected.append(i)
    np.testing.assert_array_equal(index, expected)
    np.testing.assert_array_equal(front, points[expected])


def test_tolerance_drops_near_duplicates_in_both_versions() -> None:
    pts = np.array([[1.0, 2.0], [1.0 + 1e-4, 2.0 - 1e-4], [2.0, 1.0], [0.5, 0.5]], np.float32)
    exact = np.asarray(is_non_dominated(pts))
    loose = np.asarray(is_non_dominated(pts, tol=1e-3))
    np.testing.assert_array_equal(exact, [True, True, True, False])
    np.testing.assert_array_equal(loose, [True, False, True, False])
    np.testing.assert_array_equal(pareto_filter(pts, tol=1e-3)[1], [0, 2])
    np.testing.assert_array_equal(pareto_filter(pts)[1], [0, 1, 2])


def test_non_finite_rows_are_invalid_in_jit_and_rejected_on_host() -> None:
    pts = np.array([[1.0, np.nan], [0.0, 0.0], [np.inf, 5.0]])
    np.testing.assert_array_equal(np.asarray(is_non_dominated(pts)), [False, True, False])
    with pytest.raises(ValueError, match="non-finite value nan at row 0, objective 1"):
        pareto_filter(pts)
    with pytest.raises(ValueError, match="2-D"):
        pareto_filter(np.ones(3))
    assert pareto_filter(np.zeros((0, 3)))[0].shape == (0, 3)


_jit_crowding = jax.jit(crowding_distance)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([2, 3, 8]), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_crowding_matches_pymoo(m: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    pts = rng.normal(size=(n, m))
    if n > 3:
        pts[:, rng.integers(m)] = 1.5  # a constant objective contributes 0 in pymoo
    padded = np.zeros((48, m))
    padded[:n] = pts
    valid = np.arange(48) < n
    with jax.enable_x64(True):
        ours = np.asarray(_jit_crowding(padded, valid))
    expected = np.full(n, np.inf) if n <= 2 else calc_crowding_distance(pts)
    np.testing.assert_allclose(ours[:n], expected, rtol=1e-12)
    assert np.all(ours[n:] == -np.inf)
