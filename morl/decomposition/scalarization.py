"""Scalarisation functions `s(G, w; z*)` and their gradients with respect to the returns.

Every objective is maximised, so every scalarisation is maximised too (larger is better).

Shapes and broadcasting: `returns: [..., m]`, `weights: [..., m]` (on the simplex),
`ideal: [..., m]` (the ideal point `z*`); the leading axes broadcast against each other
with numpy rules, so one return vector can be scored under a population of weights
(`returns: [m]`, `weights: [pop, m]`) or a batch of returns under one weight. `value`
returns `[...]`, `gradient` returns `d value / d returns` with the broadcast shape
`[..., m]`.

The ideal point. Tchebycheff-type scalarisations measure the weighted distance to an ideal
point `z*` that should dominate every return seen. The caller passes it; the MORL/D
convention (morl-baselines) is `z* = best return seen per objective + tau` with
`tau = 0.5`. Weighted sum ignores `ideal` (it may be `None`).

Policy gradients for non-linear scalarisations (SER): learners weight the vector advantage
`A: [..., m]` by `gradient(returns_estimate, weights, ideal)` and sum over objectives; for
the weighted sum this is `w . A`.

The module-level functions (`weighted_sum`, `tchebycheff`, ...) take their parameters
(`rho`, `theta`, `mu`) as arguments, so those can be arrays and be vmapped over;
`make_scalarization(name, **params)` binds them into a `Scalarization`.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


class Scalarization(NamedTuple):
    """A scalarisation bound to its parameters.

    `value(returns, weights, ideal) -> [...]` and
    `gradient(returns, weights, ideal) -> [..., m]` (d value / d returns); see the module
    docstring for shapes and broadcasting."""

    name: str
    value: Callable[[Array, Array, Array], Array]
    gradient: Callable[[Array, Array, Array], Array]


def _broadcast(returns: Array, weights: Array, ideal: Array | None) -> tuple[Array, Array, Array | None]:
    returns = jnp.asarray(returns)
    weights = jnp.asarray(weights)
    arrays = (returns, weights) if ideal is None else (returns, weights, jnp.asarray(ideal))
    dtype = jnp.result_type(*arrays, jnp.float32)
    shape = jnp.broadcast_shapes(*(a.shape for a in arrays))
    out = [jnp.broadcast_to(a.astype(dtype), shape) for a in arrays]
    return out[0], out[1], (None if ideal is None else out[2])


# --- weighted sum ----------------------------------------------------------------------
def weighted_sum(returns: Array, weights: Array, ideal: Array | None = None) -> Array:
    """`w . G`: `[..., m] x [..., m] -> [...]`; `ideal` is ignored."""
    returns, weights, _ = _broadcast(returns, weights, None)
    return jnp.sum(weights * returns, axis=-1)


def weighted_sum_gradient(returns: Array, weights: Array, ideal: Array | None = None) -> Array:
    """`d (w . G) / dG = w`, broadcast to `[..., m]`."""
    _, weights, _ = _broadcast(returns, weights, None)
    return weights


# --- Tchebycheff -----------------------------------------------------------------------
def _tchebycheff_terms(returns: Array, weights: Array, ideal: Array) -> tuple[Array, Array]:
    """Per-objective terms `w_i |z*_i - G_i|` and their derivatives `w_i sign(G_i - z*_i)`."""
    if ideal is None:
        raise ValueError("Tchebycheff-type scalarizations need the ideal point z* (got ideal=None)")
    returns, weights, ideal = _broadcast(returns, weights, ideal)
    diff = returns - ideal
    return weights * jnp.abs(diff), weights * jnp.sign(diff)


def tchebycheff(returns: Array, weights: Array, ideal: Array) -> Array:
    """`-max_i w_i |z*_i - G_i|`: `[...]`. Zero at the ideal point, negative elsewhere."""
    terms, _ = _tchebycheff_terms(returns, weights, ideal)
    return -jnp.max(terms, axis=-1)


def tchebycheff_gradient(returns: Array, weights: Array, ideal: Array) -> Array:
    """A (sub)gradient of `tchebycheff` w.r.t. `returns`: `[..., m]`.

    Non-zero only at the arg-max objective `k`, where it is `w_k sign(z*_k - G_k)`
    (`= w_k` when `z*` dominates `G`). Ties: when several objectives attain the maximum,
    the gradient is split equally between them (the average of the active pieces, a valid
    subgradient that does not favour the lower index). At `G_k = z*_k` the sign is 0."""
    terms, dterms = _tchebycheff_terms(returns, weights, ideal)
    active = (terms == jnp.max(terms, axis=-1, keepdims=True)).astype(terms.dtype)
    active = active / jnp.sum(active, axis=-1, keepdims=True)
    return -active * dterms


def augmented_tchebycheff(returns: Array, weights: Array, ideal: Array, rho: float | Array = 0.01) -> Array:
    """`-max_i w_i |z*_i - G_i| + rho * sum_i (G_i - z*_i)`: `[...]`."""
    returns_b, _, ideal_b = _broadcast(returns, weights, ideal)
    return tchebycheff(returns, weights, ideal) + rho * jnp.sum(returns_b - ideal_b, axis=-1)


def augmented_tchebycheff_gradient(
    returns: Array, weights: Array, ideal: Array, rho: float | Array = 0.01
) -> Array:
    """`tchebycheff_gradient + rho` (every objective): `[..., m]`."""
    return tchebycheff_gradient(returns, weights, ideal) + jnp.asarray(rho)[..., None]


def smooth_tchebycheff(returns: Array, weights: Array, ideal: Array, mu: float | Array = 0.1) -> Array:
    """`-mu * logsumexp_i(w_i |z*_i - G_i| / mu)`: `[...]` (Lin et al. 2024).

    A smooth lower bound of `tchebycheff` within `mu * log(m)`; tends to it as `mu -> 0`."""
    terms, _ = _tchebycheff_terms(returns, weights, ideal)
    mu = jnp.asarray(mu)[..., None]
    return -mu[..., 0] * jax.nn.logsumexp(terms / mu, axis=-1)


def smooth_tchebycheff_gradient(returns: Array, weights: Array, ideal: Array, mu: float | Array = 0.1) -> Array:
    """`softmax_i(w_i |z*_i - G_i| / mu) * w_i sign(z*_i - G_i)`: `[..., m]`."""
    terms, dterms = _tchebycheff_terms(returns, weights, ideal)
    return -jax.nn.softmax(terms / jnp.asarray(mu)[..., None], axis=-1) * dterms


# --- PBI -------------------------------------------------------------------------------
def _pbi_parts(returns: Array, weights: Array, ideal: Array) -> tuple[Array, Array, Array]:
    """Unit direction `u = w/|w|`, `d1 = (z* - G) . u` and the perpendicular `p = (z*-G) - d1 u`."""
    if ideal is None:
        raise ValueError("pbi needs the ideal point z* (got ideal=None)")
    returns, weights, ideal = _broadcast(returns, weights, ideal)
    u = weights / jnp.linalg.norm(weights, axis=-1, keepdims=True)
    r = ideal - returns
    d1 = jnp.sum(r * u, axis=-1)
    return u, d1, r - d1[..., None] * u


def pbi(returns: Array, weights: Array, ideal: Array, theta: float | Array = 5.0) -> Array:
    """Penalty-based boundary intersection `-(d1 + theta d2)`: `[...]`.

    `d1 = (z* - G) . w/|w|` is the distance from the ideal point along the weight direction
    and `d2` the distance from that line. `d1` is signed (equal to MOEA/D's `|d1|` when
    `z*` dominates `G`), so the value keeps increasing for returns beyond the ideal point."""
    _, d1, p = _pbi_parts(returns, weights, ideal)
    return -(d1 + theta * jnp.linalg.norm(p, axis=-1))


def pbi_gradient(returns: Array, weights: Array, ideal: Array, theta: float | Array = 5.0) -> Array:
    """`u + theta * p/|p|`: `[..., m]`; on the weight line (`p = 0`) the subgradient `u`."""
    u, d1, p = _pbi_parts(returns, weights, ideal)
    norm = jnp.linalg.norm(p, axis=-1, keepdims=True)
    # |p| below rounding noise of (z* - G) counts as on the line
    off_line = norm > 16 * jnp.finfo(p.dtype).eps * jnp.linalg.norm(p + d1[..., None] * u, axis=-1, keepdims=True)
    direction = jnp.where(off_line, p / jnp.where(off_line, norm, 1.0), 0.0)
    return u + jnp.asarray(theta)[..., None] * direction


# --- registry --------------------------------------------------------------------------
_FUNCTIONS: dict[str, tuple[Callable, Callable, dict[str, float]]] = {
    "weighted_sum": (weighted_sum, weighted_sum_gradient, {}),
    "tchebycheff": (tchebycheff, tchebycheff_gradient, {}),
    "augmented_tchebycheff": (augmented_tchebycheff, augmented_tchebycheff_gradient, {"rho": 0.01}),
    "pbi": (pbi, pbi_gradient, {"theta": 5.0}),
    "smooth_tchebycheff": (smooth_tchebycheff, smooth_tchebycheff_gradient, {"mu": 0.1}),
}
SCALARIZATIONS: tuple[str, ...] = tuple(_FUNCTIONS)


def make_scalarization(name: str, **params: float) -> Scalarization:
    """Bind a scalarisation to its parameters.

    `name`: one of `SCALARIZATIONS`. `params`: `rho` (augmented_tchebycheff, default 0.01,
    >= 0), `theta` (pbi, default 5, >= 0), `mu` (smooth_tchebycheff temperature, default
    0.1, > 0). Unknown names or parameters raise `ValueError`."""
    if name not in _FUNCTIONS:
        raise ValueError(f"unknown scalarization {name!r}; known: {', '.join(SCALARIZATIONS)}")
    value_fn, grad_fn, defaults = _FUNCTIONS[name]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        allowed = ", ".join(defaults) or "none"
        raise ValueError(f"scalarization {name!r} got unknown parameter(s) {unknown}; allowed: {allowed}")
    bound = {**defaults, **params}
    for key, val in bound.items():
        arr = np.asarray(val, dtype=np.float64)
        if not np.all(arr > 0 if key == "mu" else arr >= 0):
            raise ValueError(f"scalarization {name!r}: {key}={val} must be {'> 0' if key == 'mu' else '>= 0'}")

    def value(returns: Array, weights: Array, ideal: Array | None = None) -> Array:
        return value_fn(returns, weights, ideal, **bound)

    def gradient(returns: Array, weights: Array, ideal: Array | None = None) -> Array:
        return grad_fn(returns, weights, ideal, **bound)

    return Scalarization(name=name, value=value, gradient=gradient)
