"""PGMORL's prediction model (Xu et al. 2020, section 4.2): host numpy/scipy.

For a policy `pi` at returns `F`, the improvement of objective j after training it on
weight `w` is modelled by a hyperbolic (scaled tanh) function of the weight's j-th entry:

    delta_j(w) = A (exp(a (w_j - b)) - 1) / (exp(a (w_j - b)) + 1) + c = A tanh(a (w_j - b) / 2) + c

fitted per objective on the optimisation history (`OptGraph`: each node a policy snapshot
with its returns, the weight it was trained on, and its parent) near `F`: every edge
(parent -> child) whose parent's returns lie within `threshold * |F|` of `F` in every
objective gives one sample `(w_child, F_child - F_parent)`, weighted by
`exp(-(d / sigma)^2 / 2)` with `d = ||(F_parent - F) / |F|||`. The neighbourhood starts at
threshold 0.1, sigma 0.03 and doubles both until more than 3 distinct weights are in it.
The fit minimises a soft-L1 loss (scale 20) under the public code's bounds
`A in [0, clip(max y - min y, 1, 500)]`, `a in [0.1, 20]`, `b in [-5, 5]`, `c in [-500, 500]`,
from `(1, 1, 1, 1)` (scipy's trust-region reflective least squares).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import least_squares

THRESHOLD = 0.1  # initial neighbourhood, relative to |F|
SIGMA = 0.03  # initial width of the sample weighting
MIN_WEIGHTS = 4  # distinct training weights the neighbourhood must hold
MAX_DOUBLINGS = 20  # after this many enlargements, use whatever the history holds
F_SCALE = 20.0  # soft-L1 scale
SCALE_FLOOR = 1e-6  # |F| below this counts as this (a zero objective would shut the neighbourhood)


class OptGraph(NamedTuple):
    """The optimisation history on the host: `returns [G, m]`, `weights [G, m]` (each node's
    training weight, on the simplex), `prev [G]` parent node (-1: a root)."""

    returns: np.ndarray
    weights: np.ndarray
    prev: np.ndarray

    def successors(self, node: int) -> np.ndarray:
        return np.flatnonzero(self.prev == node)


def hyperbolic(x: np.ndarray, params: np.ndarray) -> np.ndarray:
    """`A tanh(a (x - b) / 2) + c` with `params = (A, a, b, c)`."""
    big_a, a, b, c = params
    return big_a * np.tanh(a * (np.asarray(x) - b) / 2.0) + c


def fit_hyperbolic(x: np.ndarray, y: np.ndarray, sample_weights: np.ndarray | None = None) -> np.ndarray:
    """Fit `(A, a, b, c)` of `hyperbolic` to `y [k]` at `x [k]` (weighted residuals)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    w = np.ones_like(x) if sample_weights is None else np.asarray(sample_weights, np.float64)

    def residual(p):
        return (hyperbolic(x, p) - y) * w

    def jacobian(p):
        big_a, a, b, _ = p
        t = np.tanh(a * (x - b) / 2.0)
        sech2 = (1.0 - t * t) / 2.0
        return np.stack([t * w, big_a * (x - b) * sech2 * w, -big_a * a * sech2 * w, w], axis=1)

    upper_a = float(np.clip(np.max(y) - np.min(y), 1.0, 500.0))
    result = least_squares(
        residual, np.ones(4), jac=jacobian, loss="soft_l1", f_scale=F_SCALE,
        bounds=([0.0, 0.1, -5.0, -500.0], [upper_a, 20.0, 5.0, 500.0]),
    )
    return result.x


def neighbourhood(graph: OptGraph, node: int, threshold: float) -> np.ndarray:
    """Child nodes of the edges whose parent lies within `threshold * |F|` of node's `F`."""
    scale = np.maximum(np.abs(graph.returns[node]), SCALE_FLOOR)
    near = np.all(np.abs(graph.returns - graph.returns[node]) < scale * threshold, axis=1)
    children = np.flatnonzero(graph.prev >= 0)
    return children[near[graph.prev[children]]]


def _distinct(weights: np.ndarray) -> int:
    kept: list[np.ndarray] = []
    for w in weights:
        if all(np.linalg.norm(w - k) >= 1e-5 for k in kept):
            kept.append(w)
    return len(kept)


def predict(graph: OptGraph, node: int, test_weights: np.ndarray, cache: dict | None = None) -> np.ndarray:
    """Predicted returns `[k, m]` of node's policy after training on each of `test_weights [k, m]`.
    `cache`: a dict that remembers fits by their data (a policy whose neighbourhood did not
    change since the last generation is not fitted again; the result is the same)."""
    test_weights = np.asarray(test_weights, np.float64)
    test_weights = test_weights / test_weights.sum(axis=1, keepdims=True)
    base = graph.returns[node]
    threshold, sigma = THRESHOLD, SIGMA
    for _ in range(MAX_DOUBLINGS):
        children = neighbourhood(graph, node, threshold)
        if _distinct(graph.weights[children]) >= MIN_WEIGHTS:
            break
        threshold, sigma = threshold * 2.0, sigma * 2.0
    if children.size == 0:
        return np.repeat(base[None], len(test_weights), axis=0)
    parents = graph.prev[children]
    x = graph.weights[children]
    y = graph.returns[children] - graph.returns[parents]
    scale = np.maximum(np.abs(base), SCALE_FLOOR)
    dist = np.linalg.norm((graph.returns[parents] - base) / scale, axis=1)
    coef = np.exp(-((dist / sigma) ** 2) / 2.0)
    delta = np.stack(
        [hyperbolic(test_weights[:, j], _fit(x[:, j], y[:, j], coef, cache)) for j in range(base.shape[0])], axis=1
    )
    return base + delta


def _fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, cache: dict | None) -> np.ndarray:
    if cache is None:
        return fit_hyperbolic(x, y, w)
    key = tuple(np.asarray(v, np.float64).tobytes() for v in (x, y, w))
    if key not in cache:
        cache[key] = fit_hyperbolic(x, y, w)
    return cache[key]
