"""Decomposition: weight vectors on the simplex and scalarisation functions."""

from morl.decomposition.scalarization import (
    SCALARIZATIONS,
    Scalarization,
    augmented_tchebycheff,
    make_scalarization,
    pbi,
    smooth_tchebycheff,
    tchebycheff,
    weighted_sum,
)
from morl.decomposition.weights import (
    check_weights,
    nearest_neighbours,
    one_hot_weights,
    random_weights,
    simplex_lattice,
    uniform_weights,
)

__all__ = [
    "SCALARIZATIONS",
    "Scalarization",
    "augmented_tchebycheff",
    "check_weights",
    "make_scalarization",
    "nearest_neighbours",
    "one_hot_weights",
    "pbi",
    "random_weights",
    "simplex_lattice",
    "smooth_tchebycheff",
    "tchebycheff",
    "uniform_weights",
    "weighted_sum",
]
