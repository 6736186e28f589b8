"""Cooperation between MORL/D members: neighbourhoods and parameter transfer.

Neighbourhood of member `i`: the `n` nearest other weight vectors (squared Euclidean),
fixed at initialisation as in MOEA/D.

Parameter transfer (MOEA/D's replacement step, applied to policies): every member looks
at its own and its neighbours' latest evaluated returns, scores each under *its own*
weight vector with the scalarisation, and adopts the parameters (and optimiser state) of
the best one. Members whose own policy is best keep theirs. All members decide from the
same snapshot, so the result does not depend on member order.

As a component, in the (init, update) style of the shaping chain: `make_cooperation`
gives a `Cooperation` whose `init(weights)` fixes its state from the initial weights
(transfer: the neighbourhoods; None when the weights are drawn per run, and then they
are found from the members' weights at every update) and whose `update(state, weights,
returns, ideal)` returns, for each member, the member `source [pop]` whose networks it
takes, or None when members keep their own ("none"; "shared_buffer" shares a replay
buffer inside the SAC learner instead and exchanges no networks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

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


COOPERATIONS = ("none", "transfer", "shared_buffer")


@dataclass(frozen=True)
class Cooperation:
    """`init(weights [pop, m] | None) -> state` (numpy, fixed for the run);
    `update(state, weights [pop, m], returns [pop, m], ideal [m]) -> source [pop] | None`."""

    init: Callable[[np.ndarray | None], Any]
    update: Callable[[Any, jax.Array, jax.Array, jax.Array], jax.Array | None]


def make_cooperation(name: str, scalarization: Scalarization, neighborhood_size: int = 1) -> Cooperation:
    """The named cooperation between members (see the module docstring)."""
    if name in ("none", "shared_buffer"):
        return Cooperation(init=lambda weights: None, update=lambda state, weights, returns, ideal: None)
    if name != "transfer":
        raise ValueError(f"cooperation must be one of {COOPERATIONS}, got {name!r}")

    def init(weights: np.ndarray | None) -> np.ndarray | None:
        return None if weights is None else np.asarray(neighbourhoods(jnp.asarray(weights), neighborhood_size))

    def update(state: np.ndarray | None, weights: jax.Array, returns: jax.Array, ideal: jax.Array) -> jax.Array:
        neighbours = jnp.asarray(state) if state is not None else neighbourhoods(weights, neighborhood_size)
        return best_neighbour(returns, weights, ideal, neighbours, scalarization)

    return Cooperation(init=init, update=update)
