"""PGMORL's population: performance buffers of candidate policies (Xu et al. 2020, section 4.3).

The objective space above the reference point is split into `B` buffers: for two
objectives `B` equal sectors of the angle `arccos(f_1 / |f|)` of `f = F - ref`; for more, the
nearest (largest dot product) of the unit directions of a simplex lattice. Each buffer keeps
its `size` members farthest from the reference point; members with any `f_j < 1e-7` are
dropped. Updating re-sorts the union of the buffered policies and the new ones (buffered
first, so on equal distances the older one stays).
"""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from morl.decomposition.weights import simplex_lattice

MIN_GAP = 1e-7


@flax.struct.dataclass
class PerformanceBuffers:
    """`returns [K, m]`, `valid [K]` (valid rows first), `members`: pytree of `[K, ...]`."""

    returns: jax.Array
    valid: jax.Array
    members: Any


def buffer_directions(m: int, num: int) -> np.ndarray:
    """Unit directions `[B, m]` of the buffers for `m > 2` objectives."""
    lattice = simplex_lattice(m, num - 1)
    return lattice / np.linalg.norm(lattice, axis=1, keepdims=True)


def buffer_index(returns: jax.Array, ref: jax.Array, num: int) -> tuple[jax.Array, jax.Array]:
    """`(buffer [N] int32, -1 outside every buffer; distance [N] to ref)` of `returns [N, m]`."""
    f = returns - ref
    dist = jnp.linalg.norm(f, axis=-1)
    ok = jnp.min(f, axis=-1) >= MIN_GAP
    m = returns.shape[-1]
    if m == 2:
        theta = jnp.arccos(jnp.clip(f[:, 1] / jnp.maximum(dist, 1e-30), -1.0, 1.0))
        index = jnp.floor(theta / (jnp.pi / 2.0 / num)).astype(jnp.int32)
        ok = ok & (index >= 0) & (index < num)
    else:
        index = jnp.argmax(f @ jnp.asarray(buffer_directions(m, num), f.dtype).T, axis=-1).astype(jnp.int32)
    return jnp.where(ok, index, -1), dist


def buffers_update(
    buffers: PerformanceBuffers, returns: jax.Array, members: Any, valid: jax.Array, ref: jax.Array, num: int, size: int
) -> PerformanceBuffers:
    """Insert `returns [k, m]` with `members` (pytree `[k, ...]`) where `valid [k]`."""
    capacity = buffers.returns.shape[0]
    all_returns = jnp.concatenate([buffers.returns, returns.astype(buffers.returns.dtype)])
    all_valid = jnp.concatenate([buffers.valid, valid])
    all_members = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b.astype(a.dtype)]), buffers.members, members)
    index, dist = buffer_index(all_returns, ref, num)
    ok = all_valid & (index >= 0) & jnp.all(jnp.isfinite(all_returns), axis=-1)
    group = jnp.where(ok, index, num)  # invalid rows sort last
    order = jnp.lexsort((-dist, group))  # by buffer, then farthest first; stable
    sorted_group = group[order]
    rank = jnp.arange(order.shape[0]) - jnp.searchsorted(sorted_group, sorted_group, side="left")
    keep = (sorted_group < num) & (rank < size)
    slots = order[jnp.argsort(~keep, stable=True)][:capacity]
    kept = jnp.sort(~keep, stable=True)[:capacity]
    return PerformanceBuffers(
        returns=all_returns[slots],
        valid=~kept,
        members=jax.tree_util.tree_map(lambda x: x[slots], all_members),
    )
