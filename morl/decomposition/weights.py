"""Weight vectors on the probability simplex `{w : w_i >= 0, sum_i w_i = 1}`.

- `simplex_lattice(m, partitions)`: Das-Dennis lattice, all `w` with `w_i = k_i / partitions`;
  `C(partitions + m - 1, m - 1)` vectors in lexicographic order (host, numpy).
- `uniform_weights(m, n)`: exactly `n` well-spread vectors for any `n`, deterministic (host).
- `random_weights(key, m, n, alpha)`: Dirichlet(alpha) samples (jittable).
- `one_hot_weights(m)`: the `m` corners.
- `nearest_neighbours(weights, k)`: the `k` nearest weights of each weight (jittable).
- `check_weights(weights, m)`: host validation with a one-line `ValueError`.
"""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array

SIMPLEX_ATOL = 1e-6


def simplex_lattice(m: int, partitions: int) -> np.ndarray:
    """Das-Dennis lattice: `[C(partitions + m - 1, m - 1), m]` float64, rows in lexicographic
    order of `(k_1, ..., k_m)` descending from `(partitions, 0, ..., 0)`."""
    if m < 1 or partitions < 0 or (m > 1 and partitions < 1):
        raise ValueError(f"simplex_lattice needs m >= 1 and partitions >= 1, got m={m}, partitions={partitions}")
    if m == 1:
        return np.ones((1, 1))
    rows = []
    # stars and bars: choose m-1 bar positions among partitions + m - 1 slots
    for bars in itertools.combinations(range(partitions + m - 1), m - 1):
        edges = (-1, *bars, partitions + m - 1)
        rows.append([edges[i + 1] - edges[i] - 1 for i in range(m)])
    return np.asarray(rows[::-1], np.float64) / partitions


def uniform_weights(m: int, n: int) -> np.ndarray:
    """`n` well-spread weights on the `m`-simplex: `[n, m]` float64, deterministic.

    - `m == 1`: `[[1]] * n`; `m == 2`: `n` equally spaced points (`n = 1` gives `(0.5, 0.5)`).
    - When some Das-Dennis lattice has exactly `n` points, that lattice.
    - Otherwise greedy max-min (farthest point) selection from a Das-Dennis lattice with at
      least `10 n` points, seeded with the corners (or, for `n < m`, the first `n` corners),
      so the set always contains the one-hot extremes when `n >= m`.
    """
    if m < 1 or n < 1:
        raise ValueError(f"uniform_weights needs m >= 1 and n >= 1, got m={m}, n={n}")
    if m == 1:
        return np.ones((n, 1))
    if m == 2:
        if n == 1:
            return np.full((1, 2), 0.5)
        t = np.linspace(1.0, 0.0, n)
        return np.stack([t, 1.0 - t], axis=1)
    if n == 1:
        return np.full((1, m), 1.0 / m)
    partitions = 1
    while math.comb(partitions + m - 1, m - 1) < n:
        partitions += 1
    if math.comb(partitions + m - 1, m - 1) == n:
        return simplex_lattice(m, partitions)
    if n <= m:
        return np.eye(m)[:n]
    while math.comb(partitions + m - 1, m - 1) < 10 * n:
        partitions += 1
    candidates = simplex_lattice(m, partitions)
    chosen = [int(np.argmax(np.all(np.isclose(candidates, e), axis=1))) for e in np.eye(m)]
    dist = np.min(np.sum((candidates[:, None, :] - candidates[None, chosen, :]) ** 2, axis=-1), axis=1)
    while len(chosen) < n:
        nxt = int(np.argmax(dist))  # ties: lowest index
        chosen.append(nxt)
        dist = np.minimum(dist, np.sum((candidates - candidates[nxt]) ** 2, axis=-1))
    return candidates[chosen]


def random_weights(key: Array, m: int, n: int, alpha: float | Array = 1.0) -> Array:
    """`n` Dirichlet(alpha) weights: `[n, m]` float32 (jittable; `m`, `n` static)."""
    return jax.random.dirichlet(key, jnp.full((m,), alpha, jnp.float32), (n,))


def one_hot_weights(m: int) -> np.ndarray:
    """The `m` corners of the simplex: `[m, m]` identity."""
    return np.eye(m)


def nearest_neighbours(weights: Array, k: int) -> Array:
    """Indices `[n, k]` int32 of the `k` nearest weights of each row of `weights: [n, m]`
    (squared Euclidean distance); each row starts with the weight itself (distance 0) and
    ties go to the lower index. Jittable (`k` static, `1 <= k <= n`)."""
    weights = jnp.asarray(weights)
    n = weights.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"nearest_neighbours: k={k} must be in [1, {n}]")
    dist = jnp.sum((weights[:, None, :] - weights[None, :, :]) ** 2, axis=-1)
    dist = dist.at[jnp.arange(n), jnp.arange(n)].set(-1.0)  # self first even among duplicates
    return jnp.argsort(dist, axis=1, stable=True)[:, :k].astype(jnp.int32)


def check_weights(weights: np.ndarray | Array, m: int | None = None, name: str = "weights") -> np.ndarray:
    """Host check that `weights` is `[k, m]` (or `[m]`, returned as `[1, m]`), finite, on the
    simplex within `1e-6`; returns float64 `[k, m]` or raises a one-line `ValueError`."""
    w = np.asarray(weights, np.float64)
    if w.ndim == 1:
        w = w[None]
    if w.ndim != 2 or w.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty [k, m] array, got shape {np.shape(weights)}")
    if m is not None and w.shape[1] != m:
        raise ValueError(f"{name} have {w.shape[1]} objectives, expected {m}")
    bad = ~np.isfinite(w).all(axis=1) | (w < -SIMPLEX_ATOL).any(axis=1) | (np.abs(w.sum(axis=1) - 1) > SIMPLEX_ATOL)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name}[{i}] = {w[i].tolist()} is not on the simplex (w >= 0, sum 1)")
    return w
