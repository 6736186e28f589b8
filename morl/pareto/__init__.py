"""Pareto fronts, archives and indicators (all objectives maximised)."""

from morl.pareto.archive import ParetoArchive, archive_front, archive_init, archive_insert
from morl.pareto.fronts import crowding_distance, is_non_dominated, pareto_filter

__all__ = [
    "ParetoArchive",
    "archive_front",
    "archive_init",
    "archive_insert",
    "crowding_distance",
    "is_non_dominated",
    "pareto_filter",
]
