"""Pareto-front quality indicators: host front doors taking numpy or jax arrays.

All objectives are maximised. Every function validates its inputs first (shape, NaN,
weights on the simplex) and raises a one-line `ValueError` naming the problem.

| indicator | definition | empty `points` |
|---|---|---|
| `hypervolume(points, ref, backend)` | measure dominated above `ref` (exact; see `hypervolume.py`) | 0 |
| `sparsity(points)` | PGMORL: `1/(n-1) sum_j sum_i (P~_j(i) - P~_j(i+1))^2`, on the set as given | 0 |
| `cardinality(points)` | number of distinct non-dominated points | 0 |
| `expected_utility(points, weights)` | `mean_w max_p w . p` | error |
| `maximum_utility_loss(points, reference_front, weights)` | `max_w [max_{r} w . r - max_p w . p]` | error |
| `igd(points, reference_front)` | `mean_r min_p |r - p|_2` | error |
| `igd_plus(points, reference_front)` | `mean_r min_p |max(r - p, 0)|_2` | error |
| `epsilon_additive(points, reference_front)` | smallest `e` with every `r` weakly dominated by some `p + e` | error |
"""

from __future__ import annotations

import jax
import numpy as np

from morl.decomposition.weights import check_weights
from morl.pareto.fronts import _check_points, pareto_filter
from morl.pareto.hypervolume import hypervolume_2d, hypervolume_3d, hypervolume_host

Array = jax.Array


def _check_ref(ref: np.ndarray | Array, m: int) -> np.ndarray:
    r = np.asarray(ref, np.float64)
    if r.shape != (m,):
        raise ValueError(f"ref must have shape ({m},) to match the points, got {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError(f"ref contains a non-finite value: {r.tolist()}")
    return r


def _check_pair(points: np.ndarray | Array, reference_front: np.ndarray | Array) -> tuple[np.ndarray, np.ndarray]:
    pts = _check_points(points, "points")
    ref_front = _check_points(reference_front, "reference_front", pts.shape[1])
    if pts.shape[0] == 0:
        raise ValueError("points is empty: the indicator is undefined for an empty front")
    if ref_front.shape[0] == 0:
        raise ValueError("reference_front is empty")
    return pts, ref_front


def hypervolume(points: np.ndarray | Array, ref: np.ndarray | Array, backend: str = "auto") -> float:
    """Exact hypervolume of `points: [n, m]` above `ref: [m]` (maximisation).

    `backend`: "auto" (the JAX sweep in float64 for 2 objectives, moocore otherwise: on CPU
    moocore's C 3-D sweep is faster than the jitted one), "jax" (JAX sweeps in float64,
    2 or 3 objectives only) or "moocore". Points that do not strictly dominate `ref`
    contribute 0; an empty set gives 0 (a `[0]`-shaped `points` counts as empty)."""
    if backend not in ("auto", "jax", "moocore"):
        raise ValueError(f"unknown hypervolume backend {backend!r}; known: auto, jax, moocore")
    pts = np.asarray(points, np.float64)
    if pts.size == 0 and pts.ndim <= 2:
        return 0.0
    pts = _check_points(pts, "points")
    r = _check_ref(ref, pts.shape[1])
    m = pts.shape[1]
    if backend == "jax" and m not in (2, 3):
        raise ValueError(f"the jax hypervolume backend handles 2 or 3 objectives, got {m}")
    if backend == "jax" or (backend == "auto" and m == 2):
        # pad to a power of two with masked rows so that few sizes are ever compiled
        size = max(8, 1 << (pts.shape[0] - 1).bit_length())
        padded = np.concatenate([pts, np.repeat(r[None], size - pts.shape[0], axis=0)])
        valid = np.arange(size) < pts.shape[0]
        with jax.enable_x64(True):
            fn = _hv_2d if m == 2 else _hv_3d
            return float(fn(padded, r, valid))
    return hypervolume_host(pts, r)


_hv_2d = jax.jit(hypervolume_2d)
_hv_3d = jax.jit(hypervolume_3d)


def sparsity(points: np.ndarray | Array) -> float:
    """PGMORL sparsity of `points: [n, m]` as given (pass a front; 0 when n < 2)."""
    pts = _check_points(points, "points")
    if pts.shape[0] < 2:
        return 0.0
    gaps = np.diff(np.sort(pts, axis=0), axis=0)
    return float(np.sum(gaps**2) / (pts.shape[0] - 1))


def cardinality(points: np.ndarray | Array) -> int:
    """Number of distinct non-dominated rows of `points: [n, m]`."""
    return int(pareto_filter(points)[0].shape[0])


def expected_utility(points: np.ndarray | Array, weights: np.ndarray | Array) -> float:
    """Expected utility `mean_{w} max_{p} w . p` over `weights: [k, m]` on the simplex."""
    pts = _check_points(points, "points")
    if pts.shape[0] == 0:
        raise ValueError("points is empty: expected utility is undefined for an empty front")
    w = check_weights(weights, pts.shape[1])
    return float(np.mean(np.max(w @ pts.T, axis=1)))


def maximum_utility_loss(
    points: np.ndarray | Array, reference_front: np.ndarray | Array, weights: np.ndarray | Array
) -> float:
    """`max_w [max_{r in reference_front} w . r - max_{p in points} w . p]` (may be negative
    when `points` beats the reference front for every weight)."""
    pts, ref_front = _check_pair(points, reference_front)
    w = check_weights(weights, pts.shape[1])
    return float(np.max(np.max(w @ ref_front.T, axis=1) - np.max(w @ pts.T, axis=1)))


def igd(points: np.ndarray | Array, reference_front: np.ndarray | Array) -> float:
    """Inverted generational distance: mean over the reference front of the Euclidean
    distance to the nearest point."""
    pts, ref_front = _check_pair(points, reference_front)
    dist = np.sqrt(np.sum((ref_front[:, None, :] - pts[None, :, :]) ** 2, axis=-1))
    return float(np.mean(np.min(dist, axis=1)))


def igd_plus(points: np.ndarray | Array, reference_front: np.ndarray | Array) -> float:
    """IGD+ (Ishibuchi et al. 2015) for maximisation: only the shortfall `max(r - p, 0)` counts."""
    pts, ref_front = _check_pair(points, reference_front)
    shortfall = np.maximum(ref_front[:, None, :] - pts[None, :, :], 0.0)
    return float(np.mean(np.min(np.sqrt(np.sum(shortfall**2, axis=-1)), axis=1)))


def epsilon_additive(points: np.ndarray | Array, reference_front: np.ndarray | Array) -> float:
    """Additive epsilon indicator: `max_r min_p max_k (r_k - p_k)` (<= 0 when `points`
    weakly dominates every reference point)."""
    pts, ref_front = _check_pair(points, reference_front)
    return float(np.max(np.min(np.max(ref_front[:, None, :] - pts[None, :, :], axis=-1), axis=1)))
