"""Preference-conditioned PPO as one compiled program: one policy learns every weight.

One iteration (`ConditionedPPOLearner.update`), inside `jit`:

    state.weights = Dirichlet(weight_alpha) draws [num_envs, m]   # one weight per env
    state = ppo.update(state)     # rollout under each env's weight, vector GAE, epochs on
                                  # the scalarised advantages w_e . A (morl.agents.ppo)
    (every eval_period iterations the scaffold evaluates the dense weight set;
     morl.algorithms.conditioned on the population scaffold)

The actor and the vector critic read `w` (`network: concat`) or have their output layers
generated from it (`network: hyper`, morl.networks.hyper). The vector critic estimates
`V(s, w) [m]` of the policy conditioned on `w`, so each env's advantages are those of its
own weight's policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from morl.agents import ppo
from morl.algorithms.conditioned import ConditionedTrainer, make_env, validate_common
from morl.algorithms.conditioned_ppo.config import ConditionedPolicyConfig
from morl.decomposition.weights import random_weights
from morl.envs import spaces
from morl.networks.hyper import HyperCategoricalActor, HyperGaussianActor, HyperVectorCritic


def hyper_networks(env: Any, config: ConditionedPolicyConfig) -> tuple[Any, Any]:
    """The hypernetwork actor (categorical or Gaussian, from the action space) and vector
    critic for `env`, sized by `config.ppo` and `config.hyper_sizes`."""
    section, space = config.ppo, env.action_space()
    shared = dict(
        hidden_sizes=tuple(section.hidden_sizes), activation=section.activation,
        hyper_sizes=tuple(config.hyper_sizes), normalize_observations=section.normalize_observations,
    )  # fmt: skip
    if isinstance(space, spaces.Discrete):
        actor = HyperCategoricalActor(space.n, **shared)
    elif isinstance(space, spaces.Box) and len(space.shape) == 1:
        actor = HyperGaussianActor(space.shape[0], **shared)
    else:
        raise ValueError(f"network='hyper' needs a Discrete or 1-D Box action space; {env.name} has {space}")
    return actor, HyperVectorCritic(env.reward_dim, **shared)


class ConditionedPPOLearner:
    """`morl.algorithms.conditioned.ConditionedLearner` over `morl.agents.ppo` with per-env
    weights (the trainer makes it a population of one on `morl.algorithms.scaffold`)."""

    def __init__(self, env: Any, config: ConditionedPolicyConfig):
        self.config, self.env = config, env
        static = config.ppo.ppo_config(config.eval_gamma, config.max_eval_steps, config.total_iterations)
        modules = hyper_networks(env, config) if config.network == "hyper" else (None, None)
        self.agent = ppo.make(env, static, actor_module=modules[0], critic_module=modules[1])
        self.steps_per_iteration = config.steps_per_iteration

    def sample_weights(self, key: jax.Array) -> jax.Array:
        """`[num_envs, m]` Dirichlet(weight_alpha) training weights."""
        return random_weights(key, self.env.reward_dim, self.config.ppo.num_envs, self.config.weight_alpha)

    def hyperparams(self, overrides: dict[str, jax.Array]) -> ppo.PPOHyperparams:
        hyper = self.config.ppo.hyperparams()
        return hyper.replace(**overrides) if overrides else hyper

    def init(self, key: jax.Array, hyper: ppo.PPOHyperparams) -> ppo.PPOState:
        key_init, key_weights = jax.random.split(key)
        m = self.env.reward_dim
        state = self.agent.init(key_init, jnp.full((m,), 1.0 / m, jnp.float32), hyper)
        return state.replace(weights=self.sample_weights(key_weights))

    def update(self, state: ppo.PPOState) -> tuple[ppo.PPOState, dict[str, jax.Array]]:
        rng, key_weights = jax.random.split(state.rng)
        return self.agent.update(state.replace(weights=self.sample_weights(key_weights), rng=rng))

    def actor(self, state: ppo.PPOState) -> Any:
        return state.params["actor"]

    def act(self, actor: Any, weights: jax.Array, obs: jax.Array) -> jax.Array:
        return self.agent.act({"actor": actor}, obs, weights, None, deterministic=True)

    def summary(self, metrics: dict[str, jax.Array]) -> dict[str, jax.Array]:
        return {
            "policy_objective": metrics["policy_objective"],
            "value_loss": metrics["value_loss"],
            "entropy": metrics["entropy"],
            "approx_kl": metrics["approx_kl"],
            "train_episode_return": metrics["episode_return"],
        }


def make_trainer(
    config: ConditionedPolicyConfig,
    *,
    num_runs: int | None = None,
    hparams: Mapping[str, np.ndarray] | None = None,
    devices: int | None = None,
) -> ConditionedTrainer:
    """Validate `config` and build the preference-conditioned PPO trainer (nothing is compiled yet)."""
    if not isinstance(config, ConditionedPolicyConfig):
        raise TypeError(f"config must be a ConditionedPolicyConfig, got {type(config).__name__}")
    config.validate()
    env = make_env(config)
    validate_common(config, env.reward_dim)
    try:
        learner = ConditionedPPOLearner(env, config)
    except ValueError as err:
        raise ValueError(f"ConditionedPolicyConfig: {err}") from None
    return ConditionedTrainer(
        config, env, learner, ConditionedPolicyConfig.vmappable, num_runs=num_runs, hparams=hparams, devices=devices
    )
