"""CAPQL as one compiled program: one weight-conditioned SAC learns every weight at once.

One iteration (`CAPQLLearner.update`), inside `jit`:

    state.weights = sample(num_envs)          # one training weight per env
    state = sac.update(state)                 # collect -> replay -> gradient steps, where
                                              # each replayed row gets a fresh weight
    (every eval_period iterations the scaffold evaluates the dense weight set;
     morl.algorithms.conditioned on the population scaffold)

The losses are `morl.agents.sac`'s with `batch_weights` (a weight per replayed row),
`elementwise_min` (the twin minimum per objective, as CAPQL's code takes it) and a fixed
temperature (`alpha_lr = 0` unless `tune_alpha`). With weights `w`, the vector target is
`y = r + gamma (1 - d) (min_j Qbar_j(s', a', w) - alpha log pi(a'|s', w) 1)`, so
`w . y = w . r + gamma (w . Qbar - alpha log pi)`: soft Q-learning of the scalarised reward
augmented by the policy's entropy, CAPQL's strictly concave augmentation, which makes
each weight's optimum unique and, through the weight input, one network cover them all.
The actor minimises `alpha log pi(a|s, w) - w . min_j Q_j(s, a, w)`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from morl.agents import sac
from morl.algorithms.capql.config import CAPQLConfig
from morl.algorithms.conditioned import ConditionedTrainer, make_env, validate_common
from morl.decomposition.weights import random_weights


def angle_weights(key: jax.Array, m: int, n: int, angle: float) -> jax.Array:
    """`[n, m]` weights within `angle` radians of the equal-weight direction (CAPQL's
    sampler): a uniformly random direction orthogonal to `1/sqrt(m)`, an angle uniform in
    `[0, angle)`, the tilted vector L1-normalised. All entries are positive for angles
    below `atan(1 / sqrt(m - 1))` (35 degrees for m = 2)."""
    centre = jnp.full((m,), 1.0 / math.sqrt(m), jnp.float32)
    key_dir, key_angle = jax.random.split(key)
    direction = jax.random.normal(key_dir, (n, m), jnp.float32)
    direction = direction - (direction @ centre)[:, None] * centre
    direction = direction / jnp.maximum(jnp.linalg.norm(direction, axis=1, keepdims=True), 1e-12)
    theta = jax.random.uniform(key_angle, (n, 1), jnp.float32, 0.0, angle)
    tilted = jnp.tan(theta) * direction + centre
    return tilted / jnp.sum(jnp.abs(tilted), axis=1, keepdims=True)


class CAPQLLearner:
    """`morl.algorithms.conditioned.ConditionedLearner` over `morl.agents.sac` (the trainer
    makes it a population of one on `morl.algorithms.scaffold`)."""

    def __init__(self, env: Any, config: CAPQLConfig):
        self.config, self.env = config, env
        self.reward_dim = env.reward_dim
        agent = sac.make(env, config.sac.sac_config(), "weighted_sum")
        nets = dataclasses.replace(agent.nets, elementwise_min=True)
        self.agent = agent._replace(nets=nets, batch_weights=self.sample_weights)
        self.steps_per_iteration = config.steps_per_iteration

    def sample_weights(self, key: jax.Array, n: int) -> jax.Array:
        """`[n, m]` training weights from the configured distribution."""
        if self.config.weight_sampler == "angle":
            return angle_weights(key, self.reward_dim, n, math.radians(self.config.weight_angle))
        return random_weights(key, self.reward_dim, n)

    def hyperparams(self, overrides: dict[str, jax.Array]) -> sac.SACHyperparams:
        hyper = self.config.sac.hyperparams(self.env.action_space())
        if not self.config.tune_alpha:
            hyper = hyper.replace(alpha_lr=jnp.float32(0.0))  # the temperature stays at init_alpha
        return hyper.replace(**overrides) if overrides else hyper

    def init(self, key: jax.Array, hyper: sac.SACHyperparams) -> sac.SACState:
        key_init, key_weights = jax.random.split(key)
        m = self.reward_dim
        state = self.agent.init(key_init, jnp.full((m,), 1.0 / m, jnp.float32), hyper)
        return state.replace(weights=self.sample_weights(key_weights, self.config.sac.num_envs))

    def update(self, state: sac.SACState) -> tuple[sac.SACState, dict[str, jax.Array]]:
        key, key_weights = jax.random.split(state.key)
        weights = self.sample_weights(key_weights, self.config.sac.num_envs)
        return self.agent.update(state.replace(weights=weights, key=key))

    def actor(self, state: sac.SACState) -> Any:
        return state.actor_params

    def act(self, actor: Any, weights: jax.Array, obs: jax.Array) -> jax.Array:
        return self.agent.act(actor, jnp.asarray(obs).astype(jnp.float32), weights)

    def summary(self, metrics: dict[str, jax.Array]) -> dict[str, jax.Array]:
        return {
            "critic_loss": metrics["critic_loss"],
            "actor_loss": metrics["actor_loss"],
            "q_value": metrics["q_value"],
            "entropy": metrics["entropy"],
            "alpha": metrics["alpha"],
            "train_episode_return": metrics["episode_return"],
        }


def make_trainer(
    config: CAPQLConfig,
    *,
    num_runs: int | None = None,
    hparams: Mapping[str, np.ndarray] | None = None,
    devices: int | None = None,
) -> ConditionedTrainer:
    """Validate `config` and build the CAPQL trainer (nothing is compiled yet)."""
    if not isinstance(config, CAPQLConfig):
        raise TypeError(f"config must be a CAPQLConfig, got {type(config).__name__}")
    config.validate()
    env = make_env(config)
    validate_common(config, env.reward_dim)
    try:
        learner = CAPQLLearner(env, config)
    except ValueError as err:
        raise ValueError(f"CAPQLConfig: {err}") from None
    return ConditionedTrainer(
        config, env, learner, CAPQLConfig.vmappable, num_runs=num_runs, hparams=hparams, devices=devices
    )
