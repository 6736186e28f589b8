"""Orthogonal weight initialisation written with matrix products only (no LAPACK call).

`orthogonal(scale)` is a drop-in for `jax.nn.initializers.orthogonal(scale)`: the same
distribution (the Q factor, with a positive-diagonal R, of a Gaussian matrix), the same
shape conventions (the last axis is the column axis), and the same numbers to float
rounding for the same key, since the QR factorisation with a positive diagonal is unique.

Why not the library's: under `vmap` (one network per population member) its `jnp.linalg.qr`
becomes a batched LAPACK `geqrf` custom call whose CPU kernel (jaxlib 0.10) spreads the
batch over XLA's intra-op thread pool from inside that pool, and on a 2-core machine the
first execution deadlocks (every thread waits on a futex) for some population sizes. The
factorisation here is classical Gram-Schmidt applied twice ("CGS2", orthogonal to machine
precision), a `fori_loop` over columns of matrix-vector products, which vmaps into plain
batched arithmetic. It runs once per run, at initialisation.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import jax
import jax.numpy as jnp


def _orthonormal_columns(a: jax.Array) -> jax.Array:
    """Q of the thin QR factorisation `a = Q R` with `diag(R) > 0`; `a: [rows, cols]`, rows >= cols."""
    rows, cols = a.shape
    column_ids = jnp.arange(cols)

    def add_column(j: jax.Array, q: jax.Array) -> jax.Array:
        v = a[:, j]
        for _ in range(2):  # project out the columns found so far, twice (CGS2)
            v = v - q @ (q.T @ v)
        return jnp.where(column_ids == j, (v / jnp.linalg.norm(v))[:, None], q)

    return jax.lax.fori_loop(0, cols, add_column, jnp.zeros_like(a))


def orthogonal(scale: float = 1.0, column_axis: int = -1):
    """Initializer `(key, shape, dtype) -> array` drawing a scaled (semi-)orthogonal matrix.

    For `shape = (..., n)` the array is reshaped to `[prod(shape) / n, n]` rows x columns;
    its columns are orthonormal when rows >= columns and its rows otherwise, times `scale`.
    """

    def init(key: jax.Array, shape: Sequence[int], dtype: Any = jnp.float32) -> jax.Array:
        if len(shape) < 2:
            raise ValueError(f"orthogonal initialisation needs at least 2 dimensions, got shape {tuple(shape)}")
        num_cols = shape[column_axis]
        num_rows = math.prod(shape) // num_cols
        tall = (max(num_rows, num_cols), min(num_rows, num_cols))
        q = _orthonormal_columns(jax.random.normal(key, tall, jnp.float32))
        if num_rows < num_cols:
            q = q.T
        moved = [d for i, d in enumerate(shape) if i != column_axis % len(shape)] + [num_cols]
        q = jnp.moveaxis(q.reshape(moved), -1, column_axis)
        return (scale * q).astype(dtype)

    return init
