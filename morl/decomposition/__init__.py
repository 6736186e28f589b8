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

__all__ = [
    "SCALARIZATIONS",
    "Scalarization",
    "augmented_tchebycheff",
    "make_scalarization",
    "pbi",
    "smooth_tchebycheff",
    "tchebycheff",
    "weighted_sum",
]
