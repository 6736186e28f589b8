"""Cooperation between MORL/D members: neighbourhoods and parameter transfer.

Neighbourhood of member `i`: the `n` nearest other weight vectors (squared Euclidean),
fixed at initialisation as in MOEA/D.

Parameter transfer (MOEA/D's replacement step, applied to policies): every member looks
at its own and its neighbours' latest evaluated returns, scores each under *its own*
weight vector with the scalarisation, and adopts the parameters (and optimiser state) of
the best one. Members whose own policy is best keep theirs. All members decide from the
same snapshot, so the result does not depend on member order.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from morl.decomposition.scalarization import Scalarization
from morl.decomposition.weights import nearest_neighbours


def neighbourhoods(weights: jax.Array, size: int) -> jax.Array:
    """Indices `[pop, size]` of each member's `size` nearest other weight vectors."""
    pop = weights.shape[0]
    if not 0 <= size < pop:
        raise ValueError(f"neighbourhood size must be in [0, {pop - 1}] for a population of {pop}, got {size}")
    return nearest_neighbours(weights, size + 1)[:, 1:]


def best_neighbour(
    returns: jax.Array,
    weights: jax.Array,
    ideal: jax.Array,
    neighbours: jax.Array,
    scalarization: Scalarization,
) -> jax.Array:
    """For each member, the index `[pop]` of the member (itself or a neighbour) whose
    evaluated `returns: [pop, m]` scalarise best under the member's own weights."""
    candidates = jnp.concatenate([jnp.arange(weights.shape[0])[:, None], neighbours], axis=1)  # [pop, 1 + n]
    scores = scalarization.value(returns[candidates], weights[:, None, :], ideal)  # [pop, 1 + n]
    return jnp.take_along_axis(candidates, jnp.argmax(scores, axis=1)[:, None], axis=1)[:, 0]


def transfer(tree: Any, source: jax.Array) -> Any:
    """Member `i` of every leaf (leading `[pop]` axis) becomes member `source[i]`."""
    return jax.tree_util.tree_map(lambda leaf: leaf[source], tree)
