"""A fixed-capacity circular replay buffer that is a pytree (usable inside jit/scan/vmap).

    buffer = init_buffer(example_transition, capacity)   # storage [capacity, ...] of zeros
    buffer = insert(buffer, transitions)                  # transitions: leading [n] axis
    batch = sample(buffer, key, batch_size)               # [batch_size, ...], valid rows only

`capacity` is the (static) leading size of the storage. `insert` writes `n` rows at
`position, position+1, ...` modulo `capacity` (the oldest rows are overwritten once full);
`n` must not exceed `capacity`. `sample` draws rows uniformly with replacement from the
`size` rows written so far (never from the zero-filled remainder); on an empty buffer it
returns row 0 of the zeros, so callers gate learning on `size`.

Sharing across a population: one buffer (no population axis) is written by every member
(`insert` of the transitions of all members, flattened to one leading axis) and sampled
by each member with its own key (`vmap(sample, in_axes=(None, 0, None))`). Rewards are
stored as vectors, so a transition is valid for every member: each member scalarises it
with its own weight when it computes its targets (see morl/agents/sac/train.py).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class ReplayBuffer:
    """`data`: a pytree of arrays `[capacity, ...]`; `position`: next row to write;
    `size`: rows written so far, at most `capacity` (int32 scalars)."""

    data: Any
    position: jax.Array
    size: jax.Array

    @property
    def capacity(self) -> int:
        return jax.tree_util.tree_leaves(self.data)[0].shape[0]


def init_buffer(example: Any, capacity: int) -> ReplayBuffer:
    """An empty buffer whose rows look like `example` (one transition, no leading axis)."""
    if int(capacity) < 1:
        raise ValueError(f"replay buffer capacity must be >= 1, got {capacity}")
    data = jax.tree_util.tree_map(lambda x: jnp.zeros((int(capacity),) + jnp.shape(x), jnp.result_type(x)), example)
    return ReplayBuffer(data, jnp.int32(0), jnp.int32(0))


def insert(buffer: ReplayBuffer, transitions: Any) -> ReplayBuffer:
    """Write `transitions` (a pytree like a row, with a leading `[n]` axis, `n <= capacity`)."""
    n = jax.tree_util.tree_leaves(transitions)[0].shape[0]
    capacity = buffer.capacity
    if n > capacity:
        raise ValueError(f"cannot insert {n} transitions into a replay buffer of capacity {capacity}")
    rows = (buffer.position + jnp.arange(n, dtype=jnp.int32)) % capacity
    data = jax.tree_util.tree_map(
        lambda store, new: store.at[rows].set(new.astype(store.dtype)), buffer.data, transitions
    )
    return ReplayBuffer(data, (buffer.position + n) % capacity, jnp.minimum(buffer.size + n, capacity))


def sample(buffer: ReplayBuffer, key: jax.Array, batch_size: int) -> Any:
    """`batch_size` rows drawn uniformly (with replacement) among the `size` valid ones."""
    rows = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1))
    return jax.tree_util.tree_map(lambda store: store[rows], buffer.data)
