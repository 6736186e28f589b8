"""Running per-objective mean and variance, merged batch by batch (Chan et al.'s
parallel form of Welford's algorithm), so one update takes all leading entries at once."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class Moments(NamedTuple):
    """Running statistics of a stream of `[m]` vectors: `mean: [m]`, `m2: [m]` (sum of
    squared deviations), `count: []` float32 number of vectors seen."""

    mean: jax.Array
    m2: jax.Array
    count: jax.Array

    @property
    def var(self) -> jax.Array:
        """Population variance (ddof=0, numpy's default); 0 before any data."""
        return self.m2 / jnp.maximum(self.count, 1.0)


def init_moments(dim: int) -> Moments:
    zeros = jnp.zeros((dim,), jnp.float32)
    return Moments(zeros, zeros, jnp.float32(0.0))


def update_moments(moments: Moments, values: jax.Array, mask: jax.Array | None = None) -> Moments:
    """Merges `values: [*batch, m]` (all leading entries, optionally only where the
    boolean `mask: [*batch]` holds) into `moments`. Inputs pass through `stop_gradient`."""
    values = jax.lax.stop_gradient(values).reshape(-1, values.shape[-1]).astype(jnp.float32)
    if mask is None:
        weight = jnp.ones((values.shape[0],), jnp.float32)
    else:
        weight = mask.reshape(-1).astype(jnp.float32)
    n = jnp.sum(weight)
    safe_n = jnp.maximum(n, 1.0)
    batch_mean = jnp.sum(weight[:, None] * values, axis=0) / safe_n
    batch_m2 = jnp.sum(weight[:, None] * (values - batch_mean) ** 2, axis=0)
    count = moments.count + n
    safe_count = jnp.maximum(count, 1.0)
    delta = batch_mean - moments.mean
    mean = moments.mean + delta * n / safe_count
    m2 = moments.m2 + batch_m2 + delta**2 * moments.count * n / safe_count
    return Moments(mean, m2, count)
