"""SAC configuration: `SACConfig` (static structure) and `SACHyperparams` (vmappable numbers).

`SACConfig` fixes shapes and code paths: one compiled program per config. `SACHyperparams`
is a pytree of float32 scalars, one per population member when stacked with a leading
`[pop]` axis, so a population (or a sweep) with different learning rates, discounts,
target entropies... runs in one compiled program.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from morl.envs import spaces
from morl.networks.mlp import ACTIVATIONS
from morl.networks.pmoe import ACTOR_KINDS


@dataclass(frozen=True)
class SACConfig:
    """Static structure of a SAC learner (hashable; not vmapped).

    One `update` = `rollout_steps` steps of each of `num_envs` envs (their transitions go
    into the replay buffer) followed by `gradient_steps` gradient steps on batches of
    `batch_size`. Until `learning_starts` env steps (per member, all envs together) the
    actions are uniformly random and no gradient step is taken.

    - `actor`: `"gaussian"` (unimodal), `"pmoe"` (frequency-approximate gradient) or
      `"pmoe_gumbel"` (Gumbel-softmax expert choice); discrete action spaces take
      `"gaussian"`, meaning a categorical policy.
    - `weight_conditioned`: actor and critics read the weight vector beside the observation.
    - `shared_buffer`: members do not own a buffer; use `SAC.update_population` with one
      buffer written by all (morl/agents/sac/replay.py).
    - `ideal_offset`: non-linear scalarisations (Tchebycheff, PBI) score Q vectors against
      `z* = (max Q target seen per objective) + ideal_offset` (MORL/D's tau = 0.5).
    """

    num_envs: int = 1
    rollout_steps: int = 1
    gradient_steps: int = 1
    batch_size: int = 256
    buffer_size: int = 100_000
    learning_starts: int = 1_000
    hidden_sizes: tuple[int, ...] = (256, 256)
    activation: str = "relu"
    actor: str = "gaussian"
    num_experts: int = 4
    weight_conditioned: bool = False
    shared_buffer: bool = False
    ideal_offset: float = 0.5

    def validate(self) -> None:
        """Raise `ValueError` naming the first bad field."""
        for name in ("num_envs", "rollout_steps", "gradient_steps", "batch_size", "buffer_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"SACConfig.{name}={getattr(self, name)} must be >= 1")
        if self.learning_starts < 0:
            raise ValueError(f"SACConfig.learning_starts={self.learning_starts} must be >= 0")
        if self.num_envs * self.rollout_steps > self.buffer_size:
            raise ValueError(
                f"SACConfig.buffer_size={self.buffer_size} is smaller than one update's "
                f"{self.num_envs * self.rollout_steps} transitions"
            )
        if self.actor not in ACTOR_KINDS:
            raise ValueError(f"SACConfig.actor={self.actor!r} unknown; known: {', '.join(ACTOR_KINDS)}")
        if self.actor != "gaussian" and self.num_experts < 2:
            raise ValueError(f"SACConfig.num_experts={self.num_experts} must be >= 2 for actor {self.actor!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"SACConfig.activation={self.activation!r} unknown; known: {', '.join(ACTIVATIONS)}")
        if not self.hidden_sizes or any(int(h) < 1 for h in self.hidden_sizes):
            raise ValueError(f"SACConfig.hidden_sizes={self.hidden_sizes} must be non-empty positive ints")


@struct.dataclass
class SACHyperparams:
    """Per-member numbers (float32 scalars, or `[pop]` arrays for a population).

    `actor_lr`, `critic_lr`, `alpha_lr`: Adam step sizes; `gamma`: discount; `tau`: Polyak
    rate of the target critics; `target_entropy`: the entropy the temperature tunes to;
    `init_alpha`: initial temperature; `gumbel_temperature`: softmax temperature of the
    Gumbel-softmax ablation (unused otherwise)."""

    actor_lr: jax.Array
    critic_lr: jax.Array
    alpha_lr: jax.Array
    gamma: jax.Array
    tau: jax.Array
    target_entropy: jax.Array
    init_alpha: jax.Array
    gumbel_temperature: jax.Array


def default_hyperparams(action_space: spaces.Space, **overrides: float) -> SACHyperparams:
    """Haarnoja et al.'s defaults (lr 3e-4, gamma 0.99, tau 0.005, alpha_0 = 1 tuned
    automatically). Target entropy: `-A` for a Box of `A` dims; `0.89 log n` for
    `Discrete(n)` (CleanRL's discrete SAC: 0.89 times the uniform policy's entropy).
    `overrides` replace any field by name."""
    if isinstance(action_space, spaces.Discrete):
        target_entropy = 0.89 * float(np.log(action_space.n))
    elif isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
        target_entropy = -float(action_space.shape[0])
    else:
        raise ValueError(f"SAC needs a Discrete or 1-D Box action space, got {action_space}")
    values = dict(
        actor_lr=3e-4,
        critic_lr=3e-4,
        alpha_lr=3e-4,
        gamma=0.99,
        tau=0.005,
        target_entropy=target_entropy,
        init_alpha=1.0,
        gumbel_temperature=1.0,
    )
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        raise ValueError(f"unknown SAC hyperparameter(s) {unknown}; known: {', '.join(values)}")
    values.update(overrides)
    return SACHyperparams(**{name: jnp.float32(value) for name, value in values.items()})


def stack_hyperparams(members: list[SACHyperparams]) -> SACHyperparams:
    """`[pop]`-stacked hyperparameters from one `SACHyperparams` per member."""
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *members)


@dataclass(frozen=True)
class SACSection:
    """SAC as one flat config section (YAML `algo.sac.*`; docs/learners_sac_pmoe.md).

    Structure (static): per member and iteration `rollout_steps` steps of `num_envs` envs
    go into the replay buffer, then `gradient_steps` gradient steps on batches of
    `batch_size`; random actions and no learning until `learning_starts` env steps (per
    member). `buffer_size` is one member's buffer, or the population's one buffer with
    `cooperation: shared_buffer`. `actor`: gaussian (unimodal; categorical on a discrete
    action space), pmoe or pmoe_gumbel (continuous actions only). Numbers (vmappable):
    Adam step sizes, `gamma`, Polyak `tau`, `target_entropy` of the automatic temperature
    (None: -A for a Box of A dims, 0.89 log n for Discrete(n)), `init_alpha`,
    `gumbel_temperature`."""

    num_envs: int = 4
    rollout_steps: int = 8
    gradient_steps: int = 8
    batch_size: int = 128
    buffer_size: int = 100_000
    learning_starts: int = 1_000
    hidden_sizes: tuple[int, ...] = (256, 256)
    activation: str = "relu"
    actor: Literal["gaussian", "pmoe", "pmoe_gumbel"] = "gaussian"
    num_experts: int = 4
    weight_conditioned: bool = False
    actor_lr: float = 3e-4
    critic_lr: float = 3e-4
    alpha_lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005
    target_entropy: float | None = None
    init_alpha: float = 1.0
    gumbel_temperature: float = 1.0

    def sac_config(self, shared_buffer: bool = False, ideal_offset: float = 0.5) -> SACConfig:
        """The static `SACConfig`; `shared_buffer` and `ideal_offset` are the algorithm's
        (MORL/D: `cooperation: shared_buffer`, `ideal_tau`)."""
        structure = {name: getattr(self, name) for name in SAC_STRUCTURE_FIELDS}
        return SACConfig(**structure, shared_buffer=shared_buffer, ideal_offset=ideal_offset)

    def hyperparams(self, action_space: spaces.Space) -> SACHyperparams:
        """The section's numbers as float32 scalars; `target_entropy=None` takes the
        action space's default (`default_hyperparams`)."""
        values = {name: getattr(self, name) for name in SAC_HYPER_FIELDS if name != "target_entropy"}
        if self.target_entropy is not None:
            values["target_entropy"] = self.target_entropy
        return default_hyperparams(action_space, **values)

    def replace(self, **changes: object) -> "SACSection":
        """This section with `changes` (an algorithm's preset's other values kept)."""
        return dataclasses.replace(self, **changes)

    def validate(self, where: str = "sac") -> "SACSection":
        """Raise `ValueError` with one line naming the first bad field as `{where}.{field}`:
        the structure (`SACConfig.validate`: sizes, a buffer holding one member's update of
        `num_envs * rollout_steps` transitions, actor, network), then the numbers. An
        algorithm that shares the buffer checks its own sizing."""
        try:
            self.sac_config().validate()
        except ValueError as err:
            raise ValueError(str(err).replace("SACConfig.", f"{where}.")) from None
        for name in ("actor_lr", "critic_lr", "alpha_lr", "init_alpha", "gumbel_temperature"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{where}.{name}={getattr(self, name)} must be > 0")
        for name in ("gamma", "tau"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{where}.{name}={getattr(self, name)} must lie in [0, 1]")
        return self


#: `SACSection` fields copied into the static `SACConfig` (the rest are vmappable numbers).
SAC_STRUCTURE_FIELDS: tuple[str, ...] = (
    "num_envs", "rollout_steps", "gradient_steps", "batch_size", "buffer_size", "learning_starts",
    "hidden_sizes", "activation", "actor", "num_experts", "weight_conditioned",
)

#: `SACSection` fields that are `SACHyperparams` numbers.
SAC_HYPER_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(SACHyperparams))
