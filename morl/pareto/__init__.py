"""Pareto fronts, archives and indicators (all objectives maximised).

Front doors (host functions, numpy or jax arrays in, Python numbers out, inputs validated):
`hypervolume`, `sparsity`, `cardinality`, `expected_utility`, `maximum_utility_loss`,
`igd`, `igd_plus`, `epsilon_additive`, `pareto_filter`. Jittable building blocks:
`hypervolume_2d`, `hypervolume_3d`, `hypervolume_mc`, `is_non_dominated`,
`crowding_distance` and the `ParetoArchive` functions.
"""

from morl.pareto.archive import ParetoArchive, archive_front, archive_init, archive_insert
from morl.pareto.fronts import crowding_distance, is_non_dominated, pareto_filter
from morl.pareto.hypervolume import hypervolume_2d, hypervolume_3d, hypervolume_host, hypervolume_mc
from morl.pareto.indicators import (
    cardinality,
    epsilon_additive,
    expected_utility,
    hypervolume,
    igd,
    igd_plus,
    maximum_utility_loss,
    sparsity,
)

__all__ = [
    "ParetoArchive",
    "archive_front",
    "archive_init",
    "archive_insert",
    "cardinality",
    "crowding_distance",
    "epsilon_additive",
    "expected_utility",
    "hypervolume",
    "hypervolume_2d",
    "hypervolume_3d",
    "hypervolume_host",
    "hypervolume_mc",
    "igd",
    "igd_plus",
    "is_non_dominated",
    "maximum_utility_loss",
    "pareto_filter",
    "sparsity",
]
