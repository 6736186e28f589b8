"""Which archive policies an extension round starts from (C-MORL, Liu et al. 2025).

The `n_select` valid archive points with the largest NSGA-II crowding distance
(`morl.pareto.crowding_distance`; boundary points infinite) among those not extended yet.
When fewer than `n_select` unextended points exist, the remaining slots take the
already-extended points by crowding distance; when the archive holds fewer than
`n_select` points at all, the slots cycle over them again (the problems have a static
shape; a repeated policy is extended again with fresh randomness). With an empty
archive every slot is marked unusable (`ok = False`; its results are not inserted).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from morl.pareto import crowding_distance


def select_for_extension(
    points: jax.Array, valid: jax.Array, extended: jax.Array, n_select: int
) -> tuple[jax.Array, jax.Array]:
    """`points: [n, m]`, `valid, extended: [n]` bool -> `(index [n_select] int32, ok [n_select] bool)`.

    Order: unextended points by decreasing crowding distance, then extended ones, then
    the same order again while slots remain. Ties keep the lower index. Jittable;
    `n_select` static."""
    n = points.shape[0]
    if not 1 <= n_select <= n:
        raise ValueError(f"n_select={n_select} must lie in [1, {n}] (the archive capacity)")
    crowd = crowding_distance(points, valid)
    tier = jnp.where(valid, jnp.where(extended, 1, 2), 0)
    # rank within a tier by crowding distance (inf first), ties by index
    crowd_rank = jnp.argsort(jnp.argsort(-jnp.where(valid, crowd, -jnp.inf), stable=True), stable=True)
    order = jnp.lexsort((crowd_rank, -tier))
    count = jnp.sum(valid)
    slots = jnp.arange(n_select) % jnp.maximum(count, 1)
    index = order[slots].astype(jnp.int32)
    return index, jnp.broadcast_to(count > 0, (n_select,))
