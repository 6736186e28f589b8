"""Soft actor-critic with vector critics and PMOE actors (docs/learners_sac_pmoe.md).

    learner = morl.agents.sac.make(env, SACConfig(...), "weighted_sum")
    state = learner.init(key, weights, default_hyperparams(env.action_space()))
    state, metrics = jax.jit(learner.update)(state)
"""

from morl.agents.sac.config import SACConfig, SACHyperparams, SACSection, default_hyperparams, stack_hyperparams
from morl.agents.sac.losses import SACNetworks, Transition
from morl.agents.sac.replay import ReplayBuffer, init_buffer, insert, sample
from morl.agents.sac.train import SAC, SACState, make

__all__ = [
    "SAC",
    "ReplayBuffer",
    "SACConfig",
    "SACHyperparams",
    "SACNetworks",
    "SACSection",
    "SACState",
    "Transition",
    "default_hyperparams",
    "init_buffer",
    "insert",
    "make",
    "sample",
    "stack_hyperparams",
]
