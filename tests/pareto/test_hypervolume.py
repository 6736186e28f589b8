"""Hypervolume against moocore (2-D, 3-D), an independent grid computation (any m),
hand-computed values checked against pymoo, and the invariances a hypervolume must obey."""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import moocore
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from morl.pareto import hypervolume, hypervolume_2d, hypervolume_3d, hypervolume_host, hypervolume_mc


def moocore_hv(points: np.ndarray, ref: np.ndarray) -> float:
    keep = np.all(points > ref, axis=1)
    return float(moocore.hypervolume(-points[keep], ref=-ref)) if keep.any() else 0.0


def grid_hv(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact HV by coordinate compression: sum the volumes of the grid cells (between
    consecutive distinct coordinates) whose upper corner is weakly dominated by a point."""
    pts = np.maximum(points, ref)  # clipping to the box changes no dominated volume
    axes = [np.unique(np.concatenate([[r], pts[:, k]])) for k, r in enumerate(ref)]
    total = 0.0
    for cell in itertools.product(*(range(1, len(a)) for a in axes)):
        upper = np.array([a[i] for a, i in zip(axes, cell)])
        if np.any(np.all(pts >= upper, axis=1)):
            total += np.prod([a[i] - a[i - 1] for a, i in zip(axes, cell)])
    return float(total)


@st.composite
def point_sets(draw: st.DrawFn, ms: tuple[int, ...], max_n: int) -> tuple[np.ndarray, np.ndarray]:
    """Fronts with ties, duplicates, dominated points and points outside the reference box."""
    m = draw(st.sampled_from(ms))
    n = draw(st.integers(1, max_n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["sphere", "integer", "cloud"]))
    if kind == "sphere":  # mostly non-dominated
        pts = np.abs(rng.normal(size=(n, m)))
        pts = pts / np.linalg.norm(pts, axis=1, keepdims=True) * 10 - 2
    elif kind == "integer":  # many ties and duplicates
        pts = rng.integers(-2, 6, size=(n, m)).astype(np.float64)
    else:
        pts = rng.normal(size=(n, m)) * 3
    if n > 2:
        pts[rng.integers(0, n, size=2)] = pts[0]  # exact duplicates
    ref = np.full(m, -1.0) if draw(st.booleans()) else rng.normal(size=m)
    return pts, ref


@settings(max_examples=30, deadline=None)
@given(point_sets(ms=(2, 3), max_n=2000))
def test_exact_2d_3d_match_moocore_to_1e9(data: tuple[np.ndarray, np.ndarray]) -> None:
    pts, ref = data
    expected = moocore_hv(pts, ref)
    assert hypervolume(pts, ref, backend="jax") == pytest.approx(expected, rel=1e-9, abs=1e-12)


@settings(max_examples=20, deadline=None)
@given(point_sets(ms=(2, 3, 4, 5, 6, 7, 8), max_n=4))
def test_all_dimensions_match_grid_computation(data: tuple[np.ndarray, np.ndarray]) -> None:
    pts, ref = data
    expected = grid_hv(pts, ref)
    assert hypervolume(pts, ref) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert hypervolume_host(pts, ref) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    if pts.shape[1] <= 3:
        assert hypervolume(pts, ref, backend="jax") == pytest.approx(expected, rel=1e-9, abs=1e-12)


@settings(max_examples=15, deadline=None)
@given(point_sets(ms=(2, 3, 4, 6, 8), max_n=300))
def test_host_any_dimension_matches_moocore(data: tuple[np.ndarray, np.ndarray]) -> None:
    pts, ref = data
    if pts.shape[1] >= 6:
        pts = pts[:40]  # exact HV is exponential in m
    assert hypervolume(pts, ref) == pytest.approx(moocore_hv(pts, ref), rel=1e-9, abs=1e-12)


def test_algorithms_md_cross_check_values() -> None:
    f2 = np.array([(1, 5), (2, 4), (3, 2), (4, 1)], np.float64)
    f3 = np.array([(1, 2, 3), (3, 1, 2), (2, 3, 1), (1.5, 1.5, 1.5)], np.float64)
    assert hypervolume(f2, np.zeros(2)) == pytest.approx(12.0, abs=1e-12)
    assert hypervolume(f2, -np.ones(2)) == pytest.approx(22.0, abs=1e-12)
    assert hypervolume(f3, np.zeros(3)) == pytest.approx(13.125, abs=1e-12)
    assert hypervolume(f3, np.zeros(3), backend="jax") == pytest.approx(13.125, abs=1e-12)


@settings(max_examples=15, deadline=None)
@given(point_sets(ms=(2, 3, 4), max_n=60), st.integers(0, 2**32 - 1))
def test_invariances(data: tuple[np.ndarray, np.ndarray], seed: int) -> None:
    pts, ref = data
    rng = np.random.default_rng(seed)
    m = pts.shape[1]
    hv = functools.partial(hypervolume, backend="jax" if m <= 3 else "moocore")
    base = hv(pts, ref)
    # a point dominated by an existing one changes nothing
    dominated = pts[rng.integers(len(pts))] - rng.uniform(0, 1, size=m)
    assert hv(np.vstack([pts, dominated]), ref) == pytest.approx(base, rel=1e-12, abs=1e-12)
    # any added point never lowers it (a non-dominated one may raise it)
    extra = pts.max(axis=0) * rng.uniform(0.5, 1.5, size=m)
    assert hv(np.vstack([pts, extra]), ref) >= base - 1e-9 * max(1.0, base)
    # translation of points and reference together; positive per-objective scaling
    shift = rng.normal(size=m) * 5
    assert hv(pts + shift, ref + shift) == pytest.approx(base, rel=1e-9, abs=1e-9)
    scale = rng.uniform(0.5, 2.0, size=m)
    assert hv(pts * scale, ref * scale) == pytest.approx(base * np.prod(scale), rel=1e-9, abs=1e-9)


def test_edge_cases_and_bad_input() -> None:
    assert hypervolume(np.zeros((0, 3)), np.zeros(3)) == 0.0
    assert hypervolume(np.array([[1.0, -1.0], [0.0, 5.0]]), np.zeros(2)) == 0.0  # none strictly above ref
    with pytest.raises(ValueError, match="non-finite value nan at row 1"):
        hypervolume(np.array([[1.0, 2.0], [np.nan, 1.0]]), np.zeros(2))
    with pytest.raises(ValueError, match=r"ref must have shape \(2,\)"):
        hypervolume(np.ones((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="ref contains a non-finite"):
        hypervolume(np.ones((3, 2)), np.array([0.0, np.inf]))
    with pytest.raises(ValueError, match="2-D"):
        hypervolume(np.ones((2, 2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="handles 2 or 3 objectives, got 4"):
        hypervolume(np.ones((2, 4)), np.zeros(4), backend="jax")
    with pytest.raises(ValueError, match="unknown hypervolume backend 'c'"):
        hypervolume(np.ones((2, 2)), np.zeros(2), backend="c")


def test_jitted_kernels_in_float32_scan_and_with_masks() -> None:
    rng = np.random.default_rng(0)
    fronts = np.abs(rng.normal(size=(4, 50, 3))).astype(np.float32)
    valid = rng.random((4, 50)) < 0.7
    ref = np.zeros(3, np.float32)

    def body(carry, inputs):
        pts, v = inputs
        return carry, (hypervolume_3d(pts, ref, v), hypervolume_2d(pts[:, :2], ref[:2], v))

    _, (hv3, hv2) = jax.jit(lambda f, v: jax.lax.scan(body, 0, (f, v)))(fronts, valid)
    for i in range(4):
        pts = fronts[i][valid[i]].astype(np.float64)
        assert float(hv3[i]) == pytest.approx(moocore_hv(pts, ref.astype(np.float64)), rel=1e-5)
        assert float(hv2[i]) == pytest.approx(moocore_hv(pts[:, :2], np.zeros(2)), rel=1e-5)


@pytest.mark.parametrize("m", [2, 5])
def test_monte_carlo_within_four_standard_errors(m: int) -> None:
    rng = np.random.default_rng(m)
    pts = np.abs(rng.normal(size=(30, m)))
    pts = np.vstack([pts / np.linalg.norm(pts, axis=1, keepdims=True), -np.ones((1, m))])  # one outside
    ref = np.zeros(m)
    exact = moocore_hv(pts, ref)
    with jax.enable_x64(True):
        est, se = jax.jit(hypervolume_mc, static_argnums=(3,))(jax.random.key(0), pts, ref, 50_000)
    assert 0 < float(se) < 0.05 * exact
    assert abs(float(est) - exact) < 4 * float(se)
    est0, se0 = hypervolume_mc(jax.random.key(1), -np.ones((3, m)), ref, 1000)
    assert float(est0) == 0.0 and float(se0) == 0.0


def _kernel_3d(pts: np.ndarray, ref: np.ndarray, valid: np.ndarray | None = None) -> float:
    with jax.enable_x64(True):
        return float(jax.jit(hypervolume_3d)(pts, ref, valid))


@pytest.mark.parametrize("n", [40, 300])
@pytest.mark.parametrize("tied", ["x", "y", "z", "xyz"])
def test_3d_kernel_ties_in_every_coordinate_match_moocore(n: int, tied: str) -> None:
    """Tied coordinates take few values (with -0.0 next to 0.0), plus exact duplicates; at
    n=300 the anchor pre-filter and the multi-block dominance queries are both in play."""
    rng = np.random.default_rng(n + len(tied))
    for sphere in (True, False):
        pts = np.abs(rng.normal(size=(n, 3)))
        if sphere:
            pts /= np.linalg.norm(pts, axis=1, keepdims=True)
        for axis in ("xyz".index(c) for c in tied):
            pts[:, axis] = rng.choice([-0.0, 0.0, 0.25, 0.5, 0.75, 1.0], size=n)
        pts[rng.integers(0, n, size=5)] = pts[1]
        ref = np.array([-0.0, 0.0, -0.0]) if tied == "xyz" else np.zeros(3)
        assert _kernel_3d(pts, ref) == pytest.approx(moocore_hv(pts, ref), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("n", [40, 300])
def test_3d_kernel_near_ties_below_packed_key_precision(n: int) -> None:
    """Coordinates a few ulps apart: equal in the top 48 bits that the one-sort ranking packs,
    so only the full-key check (and the exact fallback) orders them right."""
    rng = np.random.default_rng(n)
    pts = np.abs(rng.normal(size=(n, 3)))
    pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    for axis in range(3):
        base = rng.choice([0.3, 0.5, 0.7], size=n)
        pts[:, axis] = base + rng.integers(0, 50, size=n) * np.spacing(base)
    assert _kernel_3d(pts, np.zeros(3)) == pytest.approx(moocore_hv(pts, np.zeros(3)), rel=1e-9)


def test_3d_kernel_large_fronts_masks_and_vmap() -> None:
    """n = 2000 on a sphere octant (all non-dominated: full kernel), a cloud (mostly
    dominated: compacted kernel), masked rows that would dominate everything, and both kinds
    under vmap (where lax.cond runs both branches)."""
    rng = np.random.default_rng(7)
    n = 2000
    cloud = np.abs(rng.normal(size=(n, 3)))
    sphere = cloud / np.linalg.norm(cloud, axis=1, keepdims=True)
    ref = np.zeros(3)
    for pts in (sphere, cloud):
        assert _kernel_3d(pts, ref) == pytest.approx(moocore_hv(pts, ref), rel=1e-9)
    valid = rng.random(n) < 0.8
    masked = np.where(valid[:, None], cloud, 100.0)
    assert _kernel_3d(masked, ref, valid) == pytest.approx(moocore_hv(cloud[valid], ref), rel=1e-9)
    with jax.enable_x64(True):
        both = jax.jit(jax.vmap(hypervolume_3d, in_axes=(0, None)))(np.stack([sphere, cloud]), ref)
    assert float(both[0]) == pytest.approx(moocore_hv(sphere, ref), rel=1e-9)
    assert float(both[1]) == pytest.approx(moocore_hv(cloud, ref), rel=1e-9)


@pytest.mark.slow
def test_3d_kernel_ten_thousand_points() -> None:
    rng = np.random.default_rng(8)
    cloud = np.abs(rng.normal(size=(10_000, 3)))
    for pts in (cloud / np.linalg.norm(cloud, axis=1, keepdims=True), cloud):
        assert _kernel_3d(pts, np.zeros(3)) == pytest.approx(moocore_hv(pts, np.zeros(3)), rel=1e-9)


def test_3d_kernel_size_limit() -> None:
    with pytest.raises(ValueError, match="at most 65536 points, got 65537"):
        hypervolume_3d(np.zeros((65537, 3)), np.zeros(3))


@pytest.mark.parametrize("x64", [False, True])
def test_3d_kernel_float32_beyond_dense_sizes(x64: bool) -> None:
    """float32 points: without 64-bit types the kernel sorts several operands instead of
    packed keys; with them it packs the full 32-bit keys (no truncation)."""
    rng = np.random.default_rng(9)
    cloud = np.abs(rng.normal(size=(300, 3))).astype(np.float32)
    for pts in (cloud / np.linalg.norm(cloud, axis=1, keepdims=True), cloud):
        expected = moocore_hv(pts.astype(np.float64), np.zeros(3))
        with jax.enable_x64(x64):
            got = float(jax.jit(hypervolume_3d)(pts, np.zeros(3, np.float32)))
        assert got == pytest.approx(expected, rel=1e-5)
