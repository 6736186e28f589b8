"""Weight adaptation for MORL/D: none, or Pareto simulated annealing (PSA).

PSA (Czyzak & Jaszkiewicz 1998, as MORL/D uses it): for member `i` with evaluated returns
`G_i`, find the nearest archive point `G_j` (squared Euclidean, farther than
`min_distance` so a member never compares with itself); for every objective `k`
multiply `w_ik` by `(1 + delta)` where `G_i[k] >= G_j[k]` and divide by `(1 + delta)`
otherwise, then renormalise onto the simplex. Members push their weights towards the
objectives they are already better at than their nearest neighbour on the front, which
spreads the population along the front. A member with no archive point farther than
`min_distance` keeps its weights.

As a component: `make_weight_adaptation(name, delta)` gives the `WeightAdaptation`
`(weights [pop, m], returns [pop, m], archive) -> weights [pop, m]` that MORL/D applies
after every evaluation of a trained population; `WEIGHT_ADAPTATIONS` lists the names.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from morl.pareto.archive import ParetoArchive

#: `(weights [pop, m], returns [pop, m], archive) -> new simplex weights [pop, m]`.
WeightAdaptation = Callable[[jax.Array, jax.Array, ParetoArchive], jax.Array]
WEIGHT_ADAPTATIONS = ("none", "psa")


def pareto_simulated_annealing(
    weights: jax.Array,
    returns: jax.Array,
    archive_points: jax.Array,
    archive_valid: jax.Array,
    delta: float | jax.Array = 0.1,
    min_distance: float = 0.01,
) -> jax.Array:
    """New simplex weights `[pop, m]` from `weights: [pop, m]`, members' evaluated
    `returns: [pop, m]` and the archive (`archive_points: [cap, m]`, `archive_valid: [cap]`)."""

    def adapt(w: jax.Array, g: jax.Array) -> jax.Array:
        distance = jnp.sum(jnp.square(archive_points - g), axis=-1)
        eligible = archive_valid & (distance > min_distance)
        nearest = jnp.argmin(jnp.where(eligible, distance, jnp.inf))
        factor = jnp.where(g >= archive_points[nearest], 1.0 + delta, 1.0 / (1.0 + delta))
        moved = w * factor
        return jnp.where(jnp.any(eligible), moved / jnp.sum(moved), w)

    return jax.vmap(adapt)(weights, returns)


def make_weight_adaptation(name: str, delta: float | jax.Array = 0.1) -> WeightAdaptation:
    """The named weight adaptation: "none" keeps the weights; "psa" is
    `pareto_simulated_annealing` against the archive with step `delta`."""
    if name == "none":
        return lambda weights, returns, archive: weights
    if name == "psa":
        return lambda weights, returns, archive: pareto_simulated_annealing(
            weights, returns, archive.points, archive.valid, delta
        )
    raise ValueError(f"weight adaptation must be one of {WEIGHT_ADAPTATIONS}, got {name!r}")
