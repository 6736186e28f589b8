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
    CategoricalActor,
    GaussianActor,
    VectorCritic,
    make_actor,
    network_input,
)

__all__ = [
    "ACTIVATIONS",
    "ACTORS",
    "MLP",
    "Categorical",
    "CategoricalActor",
    "DiagGaussian",
    "GaussianActor",
    "VectorCritic",
    "make_actor",
    "network_input",
]
