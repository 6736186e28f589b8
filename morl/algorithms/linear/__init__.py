"""Independent linear-scalarisation PPO: one PPO policy per fixed, evenly spread simplex
weight, no cooperation, no weight adaptation. The smallest algorithm on the population
trainer scaffold (`morl.algorithms.scaffold`; docs/architecture.md walks through it) and
the baseline every decomposition method should beat.

    trainer = make_trainer(LinearConfig(env="deep-sea-treasure-v0", total_steps=200_000))
    state = trainer.init(jax.random.key(0))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from morl import envs
from morl.agents import ppo
from morl.agents.ppo.config import HYPER_FIELDS, PPOSection
from morl.algorithms import register_algorithm
from morl.algorithms.scaffold import PopulationTrainer, Schedule, section_hparams
from morl.decomposition.weights import uniform_weights
from morl.envs.registry import parse_kwargs

#: Linear-scalarisation PPO's preset of the PPO section: MORL/D's rollout and numbers.
LINEAR_PPO = PPOSection(num_envs=8, num_steps=64, normalize_returns=True, learning_rate=1e-3, ent_coef=0.05)


@dataclasses.dataclass(frozen=True)
class LinearConfig:
    """`pop_size` PPO members on `uniform_weights(m, pop_size)`, each maximising `w . G`;
    `total_steps` env steps summed over the population; an evaluation of `eval_episodes`
    deterministic episodes (at most `max_eval_steps` steps, discounted with `eval_gamma`)
    every `eval_period` iterations feeds an archive of `archive_capacity` points."""

    env: str = "deep-sea-treasure-v0"
    env_kwargs: tuple[str, ...] = ()
    total_steps: int = 500_000
    ref_point: tuple[float, ...] | None = None
    eval_gamma: float = 0.99
    pop_size: int = 16
    eval_period: int = 5
    eval_episodes: int = 1
    max_eval_steps: int = 1000
    archive_capacity: int = 64
    chunk_iterations: int = 10
    ppo: PPOSection = LINEAR_PPO

    vmappable: ClassVar[tuple[str, ...]] = tuple(f"ppo.{name}" for name in HYPER_FIELDS)


class LinearPPO:
    """The `PopulationAlgorithm`: members are `PPOState [pop]`, each on its own fixed weight."""

    def __init__(self, config: LinearConfig):
        self.config, self.env = config, envs.make(config.env, **parse_kwargs(config.env_kwargs))
        for name in ("pop_size", "eval_period", "eval_episodes", "max_eval_steps", "chunk_iterations"):
            if getattr(config, name) < 1:
                raise ValueError(f"LinearConfig: {name}={getattr(config, name)} must be >= 1")
        self.pop_size = config.pop_size
        self.steps_per_iteration = config.pop_size * config.ppo.num_envs * config.ppo.num_steps
        total_updates = -(-config.total_steps // self.steps_per_iteration)
        try:
            self.agent = ppo.make(self.env, config.ppo.ppo_config(config.eval_gamma, config.max_eval_steps, total_updates))
            self.hyper = config.ppo.hyperparams().validate()
        except ValueError as err:
            raise ValueError(f"LinearConfig: ppo: {err}") from None
        self.weights = jnp.asarray(uniform_weights(self.env.reward_dim, config.pop_size), jnp.float32)

    def init(self, key: jax.Array, weights_key: jax.Array, hparams: Mapping[str, jax.Array]):
        hyper = self.hyper.replace(**section_hparams(hparams, "ppo")).replicate(self.pop_size)
        return jax.vmap(self.agent.init)(jax.random.split(key, self.pop_size), self.weights, hyper), None

    def iterate(self, members: ppo.PPOState, extra: None):
        members, metrics = jax.vmap(self.agent.update)(members)
        return members, None, {"entropy": jnp.mean(metrics["entropy"]), "value_loss": jnp.mean(metrics["value_loss"])}

    def evaluate(self, members: ppo.PPOState, key: jax.Array) -> jax.Array:
        keys = jax.random.split(key, self.pop_size)
        evaluate = lambda k, member: self.agent.evaluate(k, member, None, self.config.eval_episodes)  # noqa: E731
        return jax.vmap(evaluate)(keys, members).discounted

    def payload(self, members: ppo.PPOState) -> dict[str, Any]:
        return {"weights": members.weights, "actor": members.params["actor"]}

    def after_evaluation(self, members: ppo.PPOState, extra: None, returns: jax.Array, archive: Any, initial: bool):
        return members, None  # no weight adaptation, no cooperation

    def act(self, actor: Any, weights: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array:
        return self.agent.act({"actor": actor}, obs, weights, key, deterministic=True)


def make_trainer(
    config: LinearConfig,
    *,
    num_runs: int | None = None,
    hparams: Mapping[str, np.ndarray] | None = None,
    devices: int | None = None,
) -> PopulationTrainer:
    """Validate `config` and build the trainer (nothing is compiled yet)."""
    schedule = Schedule(config.total_steps, config.eval_period, config.chunk_iterations, config.archive_capacity,
                        LinearConfig.vmappable)
    if config.total_steps < 1 or config.archive_capacity < config.pop_size:
        raise ValueError(f"LinearConfig: total_steps must be >= 1 and archive_capacity >= pop_size, got {schedule}")
    return PopulationTrainer(config, LinearPPO(config), schedule, num_runs=num_runs, hparams=hparams, devices=devices)


register_algorithm("linear", LinearConfig, make_trainer)

__all__ = ["LINEAR_PPO", "LinearConfig", "LinearPPO", "make_trainer"]
