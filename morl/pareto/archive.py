"""A fixed-capacity Pareto archive that lives inside jit (all objectives maximised).

    archive = archive_init(200, m, {"weights": jnp.zeros(m), "member": jnp.int32(0)})
    archive = archive_insert(archive, returns, {"weights": w, "member": ids})  # [k, m], [k, ...]
    points, payload = archive_front(archive)                                    # numpy, valid rows

The archive holds at most `capacity` mutually non-dominated, de-duplicated points, each
with a payload (any pytree: weights, member id, step, even parameters). Its shapes never
change, so it can sit in a `lax.scan` carry and be checkpointed.

Insertion (`archive_insert`): the current rows come first and the new ones after, then
1. the non-dominated filter of `morl.pareto.fronts.is_non_dominated` keeps the front of the
   union (a new point equal to an archived one, within `tol`, is dropped: the old entry and
   its payload stay; archived points that a new one dominates leave);
2. while more than `capacity` points remain, the point with the smallest crowding distance
   (recomputed after each removal, NSGA-II style) is evicted; boundary points have infinite
   crowding distance and are never evicted unless only boundary points are left; among
   equal distances the newest (highest index) point goes;
3. the survivors are packed at the front of the buffer in their previous order.
Rows with NaN or infinite coordinates, or `valid=False`, are ignored.
"""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from morl.pareto.fronts import crowding_distance, is_non_dominated

Array = jax.Array


@flax.struct.dataclass
class ParetoArchive:
    """`points: [capacity, m]`, `valid: [capacity]` bool, `payload`: pytree of `[capacity, ...]`.

    Valid rows are packed first; invalid rows hold stale values and must be ignored."""

    points: Array
    valid: Array
    payload: Any

    @property
    def capacity(self) -> int:
        return self.points.shape[0]

    @property
    def num_objectives(self) -> int:
        return self.points.shape[1]


def archive_init(
    capacity: int, num_objectives: int, payload_example: Any = None, dtype: Any = jnp.float32
) -> ParetoArchive:
    """An empty archive. `payload_example` is a pytree describing ONE entry (arrays or
    scalars; only shapes and dtypes are used), e.g. `{"weights": jnp.zeros(m)}`; `None`
    for no payload."""
    if int(capacity) < 1:
        raise ValueError(f"archive capacity must be >= 1, got {capacity}")
    if int(num_objectives) < 1:
        raise ValueError(f"num_objectives must be >= 1, got {num_objectives}")
    payload = jax.tree.map(
        lambda leaf: jnp.zeros((capacity, *jnp.shape(leaf)), jnp.asarray(leaf).dtype), payload_example
    )
    return ParetoArchive(
        points=jnp.zeros((capacity, num_objectives), dtype), valid=jnp.zeros(capacity, bool), payload=payload
    )


def archive_insert(
    archive: ParetoArchive,
    points: Array,
    payloads: Any = None,
    valid: Array | None = None,
    tol: float | Array = 0.0,
) -> ParetoArchive:
    """Insert a batch `points: [k, m]` with `payloads` (pytree of `[k, ...]`, same structure as
    the archive's payload) and optional `valid: [k]` bool. See the module docstring for the
    rules. Jittable; shapes and payload structure are checked at trace time."""
    points = jnp.asarray(points)
    capacity, m = archive.points.shape
    if points.ndim != 2 or points.shape[1] != m:
        raise ValueError(f"archive_insert: points must be [k, {m}], got shape {points.shape}")
    k = points.shape[0]
    arch_struct, new_struct = jax.tree.structure(archive.payload), jax.tree.structure(payloads)
    if arch_struct != new_struct:
        raise ValueError(f"archive_insert: payload structure {new_struct} differs from the archive's {arch_struct}")
    for old, new in zip(jax.tree.leaves(archive.payload), jax.tree.leaves(payloads)):
        if jnp.shape(new) != (k, *old.shape[1:]):
            raise ValueError(f"archive_insert: payload leaf shape {jnp.shape(new)}, expected {(k, *old.shape[1:])}")
    new_valid = jnp.ones(k, bool) if valid is None else jnp.asarray(valid, bool)
    if new_valid.shape != (k,):
        raise ValueError(f"archive_insert: valid must be [{k}], got shape {new_valid.shape}")

    all_points = jnp.concatenate([archive.points, points.astype(archive.points.dtype)])
    all_payload = jax.tree.map(
        lambda old, new: jnp.concatenate([old, jnp.asarray(new, old.dtype)]), archive.payload, payloads
    )
    keep = is_non_dominated(all_points, jnp.concatenate([archive.valid, new_valid]), tol)

    def evict_one(_: int, keep: Array) -> Array:
        crowd = crowding_distance(all_points, keep)
        smallest = keep & (crowd == jnp.min(jnp.where(keep, crowd, jnp.inf)))
        newest_min = capacity + k - 1 - jnp.argmax(smallest[::-1])  # ties: evict the newest
        return keep.at[newest_min].set(keep[newest_min] & (jnp.sum(keep) <= capacity))

    keep = jax.lax.fori_loop(0, k, evict_one, keep)
    slots = jnp.argsort(~keep, stable=True)[:capacity]
    return ParetoArchive(
        points=all_points[slots],
        valid=keep[slots],
        payload=jax.tree.map(lambda leaf: leaf[slots], all_payload),
    )


def archive_front(archive: ParetoArchive) -> tuple[np.ndarray, Any]:
    """Host view of the valid rows: `(points [n, m], payload pytree of [n, ...])` as numpy."""
    valid = np.asarray(archive.valid)
    return np.asarray(archive.points)[valid], jax.tree.map(lambda leaf: np.asarray(leaf)[valid], archive.payload)
