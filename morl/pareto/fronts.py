"""Pareto dominance, non-dominated filtering and crowding distance (all objectives maximised).

`a` dominates `b` when `a >= b` in every objective and `a > b` in at least one.

Two filters with the same semantics:
- `is_non_dominated(points, valid, tol)`: jittable, static shapes, `O(m n^2)` work and
  `O(n^2)` memory; a validity mask marks the rows that take part (fixed-size buffers).
- `pareto_filter(points, tol)`: host, any size; dominance through moocore (`O(n log n)` for
  `m <= 3`, Kung et al. beyond), returns the front and the kept row indices.

A row is kept when it is valid, finite, not dominated by any valid row, and not a
duplicate of an earlier (lower index) non-dominated row. Two rows are duplicates when every
coordinate differs by at most `tol` (default 0: exact). So among duplicates the first one
wins, and a point that strictly dominates a near-duplicate replaces it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import moocore
import numpy as np

Array = jax.Array


def is_non_dominated(points: Array, valid: Array | None = None, tol: float | Array = 0.0) -> Array:
    """Mask of the rows of `points: [n, m]` on the Pareto front of the valid rows: `[n]` bool.

    `valid: [n]` bool (default all); rows with a NaN or infinite coordinate count as invalid.
    Jittable; `tol` may be traced."""
    points = jnp.asarray(points)
    n, m = points.shape
    valid = jnp.ones(n, bool) if valid is None else jnp.asarray(valid, bool)
    valid = valid & jnp.all(jnp.isfinite(points), axis=-1)
    # [j, i]: does row j weakly beat row i everywhere / strictly somewhere; loop over the
    # (small, static) objective axis keeps memory at n^2 instead of n^2 m.
    geq = jnp.ones((n, n), bool)
    gt = jnp.zeros((n, n), bool)
    dist = jnp.zeros((n, n), points.dtype)
    for k in range(m):
        col = points[:, k]
        geq = geq & (col[:, None] >= col[None, :])
        gt = gt | (col[:, None] > col[None, :])
        dist = jnp.maximum(dist, jnp.abs(col[:, None] - col[None, :]))
    dominated = jnp.any(valid[:, None] & geq & gt, axis=0)
    front = valid & ~dominated
    index = jnp.arange(n)
    earlier = index[:, None] < index[None, :]
    duplicate = jnp.any(front[:, None] & earlier & (dist <= tol), axis=0)
    return front & ~duplicate


def pareto_filter(points: np.ndarray | Array, tol: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Host filter: `(front [k, m], index [k])` with `front = points[index]`, `index` ascending.

    `points: [n, m]` (numpy or jax). Raises `ValueError` on NaN/inf or a non-2-D array;
    an empty `[0, m]` input gives an empty front."""
    pts = _check_points(points, "points")
    if pts.shape[0] == 0:
        return pts, np.zeros(0, np.int64)
    keep = moocore.is_nondominated(pts, maximise=True, keep_weakly=tol > 0)
    index = np.flatnonzero(keep)
    if tol > 0 and index.size > 1:
        cand = pts[index]
        dist = np.max(np.abs(cand[:, None, :] - cand[None, :, :]), axis=-1)
        duplicate = np.any(np.tril(dist <= tol, k=-1), axis=1)
        index = index[~duplicate]
    return pts[index], index


def crowding_distance(points: Array, valid: Array | None = None) -> Array:
    """NSGA-II crowding distance of the valid rows of `points: [n, m]`: `[n]`.

    As pymoo's `calc_crowding_distance`: per objective, sort the valid points and take
    `(v[i+1] - v[i-1]) / (v_max - v_min)`, boundary points infinite; an objective with
    `v_max == v_min` contributes 0 to every point; the result is the mean over objectives.
    With at most 2 valid points all are infinite. Invalid rows get `-inf`. Ties within one
    objective keep the input order (stable sort). Jittable."""
    points = jnp.asarray(points)
    n, m = points.shape
    valid = jnp.ones(n, bool) if valid is None else jnp.asarray(valid, bool)
    count = jnp.sum(valid)
    position = jnp.arange(n)
    inf = jnp.asarray(jnp.inf, points.dtype)

    def per_objective(col: Array) -> Array:
        key = jnp.where(valid, col, inf)
        order = jnp.argsort(key, stable=True)
        s = key[order]
        low, high = s[0], s[jnp.maximum(count - 1, 0)]
        norm = high - low
        prev = jnp.concatenate([jnp.full(1, -inf), s[:-1]])
        nxt = jnp.where(position + 1 < count, jnp.concatenate([s[1:], jnp.full(1, inf)]), inf)
        gap = jnp.where(norm > 0, (nxt - prev) / jnp.where(norm > 0, norm, 1.0), 0.0)
        return jnp.zeros(n, points.dtype).at[order].set(gap)

    total = sum(per_objective(points[:, k]) for k in range(m)) / m
    total = jnp.where(count <= 2, inf, total)
    return jnp.where(valid, total, -inf)


def _check_points(points: np.ndarray | Array, name: str, m: int | None = None) -> np.ndarray:
    """Host validation: a finite float64 `[n, m]` array, or a one-line `ValueError`."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array [n, m], got shape {pts.shape}")
    if m is not None and pts.shape[1] != m:
        raise ValueError(f"{name} has {pts.shape[1]} objectives, expected {m}")
    if not np.all(np.isfinite(pts)):
        bad = tuple(np.argwhere(~np.isfinite(pts))[0])
        raise ValueError(f"{name} contains a non-finite value {pts[bad]} at row {bad[0]}, objective {bad[1]}")
    return pts
