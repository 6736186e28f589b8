"""Networks: MLP actors (categorical, Gaussian), vector critics, action distributions.

    actor = CategoricalActor(num_actions=4, weight_conditioned=True)
    params = actor.init(key, obs, weights)
    dist = actor.apply(params, obs, weights)      # Categorical: sample / log_prob / entropy / mode
"""

from morl.networks.distributions import Categorical, DiagGaussian
from morl.networks.mlp import (
    ACTIVATIONS,
    ACTORS,
    MLP,
    OBS_NORM,
    CategoricalActor,
    GaussianActor,
    ObservationNormalizer,
    VectorCritic,
    make_actor,
    network_input,
    update_observation_statistics,
)

__all__ = [
    "ACTIVATIONS",
    "ACTORS",
    "MLP",
    "OBS_NORM",
    "Categorical",
    "CategoricalActor",
    "DiagGaussian",
    "GaussianActor",
    "ObservationNormalizer",
    "VectorCritic",
    "make_actor",
    "network_input",
    "update_observation_statistics",
]
