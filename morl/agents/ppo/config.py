"""PPO configuration: static structure (`PPOConfig`) and per-member numbers (`PPOHyperparams`).

`PPOConfig` fixes shapes and program structure; changing it recompiles. `PPOHyperparams`
is a pytree of float32 scalars a population or a sweep can vmap over (give every field a
leading `[pop]` axis, e.g. with `PPOHyperparams().replicate(pop).replace(learning_rate=...)`).
`PPOSection` is both as one flat config section (YAML `algo.ppo.*`); an algorithm sets
its own defaults with a preset instance (`MORLD_PPO = PPOSection(num_envs=8, ...)` as the
default of its `ppo` field), never a subclass.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from morl.networks.mlp import ACTIVATIONS, ACTORS

LR_SCHEDULES: tuple[str, ...] = ("constant", "linear")
PMOE_ACTORS: tuple[str, ...] = ("pmoe", "pmoe_gumbel")
PPO_ACTORS: tuple[str, ...] = ACTORS + PMOE_ACTORS


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """Static PPO settings.

    One update collects `num_steps x num_envs` transitions, then runs `num_epochs` passes
    of `num_minibatches` minibatches over them. `actor=None` picks "categorical" for a
    Discrete action space and "gaussian" for a Box. `lr_schedule="linear"` decays the
    learning rate from `hyper.learning_rate` to 0 over `total_updates` updates;
    `ent_schedule="linear"` decays the entropy bonus from `hyper.ent_coef` to 0 the same
    way (explore early, settle late).
    `normalize_returns` divides each objective's reward by the running std of its
    discounted return (`morl.shaping.normalize`, applied after any user shaping).
    `normalize_observations` standardises observations with running statistics stored in
    the networks' variables (`morl.networks.mlp.ObservationNormalizer`), updated after
    each update's epochs from that rollout's observations. `eval_gamma` discounts the evaluation returns and the return estimate that the
    scalarisation gradient is evaluated at; evaluation episodes stop after
    `max_eval_steps` steps.

    PMOE actors (`actor="pmoe"` or `"pmoe_gumbel"`, continuous actions only; see
    `morl.agents.ppo.pmoe`): `num_experts` Gaussian experts and a router; the router's
    loss enters with weight `router_coef`, and the Gumbel ablation's straight-through
    choice uses softmax temperature `gumbel_temperature`.
    """

    num_envs: int = 16
    num_steps: int = 128
    num_epochs: int = 4
    num_minibatches: int = 4
    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    actor: str | None = None
    weight_conditioned: bool = False
    lr_schedule: str = "constant"
    ent_schedule: str = "constant"
    total_updates: int | None = None
    clip_value_loss: bool = False
    normalize_returns: bool = False
    normalize_observations: bool = False
    eval_gamma: float = 0.99
    max_eval_steps: int = 1000
    num_experts: int = 4
    router_coef: float = 1.0
    gumbel_temperature: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_sizes", tuple(self.hidden_sizes))
        for name in ("num_envs", "num_steps", "num_epochs", "num_minibatches", "max_eval_steps"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"PPOConfig.{name}={value!r} must be a positive int")
        batch = self.num_envs * self.num_steps
        if batch % self.num_minibatches:
            raise ValueError(
                f"PPOConfig: num_envs * num_steps = {batch} is not divisible by num_minibatches={self.num_minibatches}"
            )
        if not self.hidden_sizes or any(not isinstance(h, (int, np.integer)) or h < 1 for h in self.hidden_sizes):
            raise ValueError(f"PPOConfig.hidden_sizes={self.hidden_sizes!r} must be a non-empty tuple of positive ints")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"PPOConfig.activation={self.activation!r}; known: {', '.join(ACTIVATIONS)}")
        if self.actor is not None and self.actor not in PPO_ACTORS:
            raise ValueError(f"PPOConfig.actor={self.actor!r}; known: {', '.join(PPO_ACTORS)}")
        if not isinstance(self.num_experts, (int, np.integer)) or isinstance(self.num_experts, bool) or self.num_experts < 2:
            raise ValueError(f"PPOConfig.num_experts={self.num_experts!r} must be an int >= 2")
        if not self.router_coef >= 0.0:
            raise ValueError(f"PPOConfig.router_coef={self.router_coef!r} must be >= 0")
        if not self.gumbel_temperature > 0.0:
            raise ValueError(f"PPOConfig.gumbel_temperature={self.gumbel_temperature!r} must be > 0")
        for name in ("lr_schedule", "ent_schedule"):
            schedule = getattr(self, name)
            if schedule not in LR_SCHEDULES:
                raise ValueError(f"PPOConfig.{name}={schedule!r}; known: {', '.join(LR_SCHEDULES)}")
            if schedule == "linear" and (self.total_updates is None or self.total_updates < 1):
                raise ValueError(f"PPOConfig.{name}='linear' needs total_updates >= 1, got {self.total_updates!r}")
        if not 0.0 < self.eval_gamma <= 1.0:
            raise ValueError(f"PPOConfig.eval_gamma={self.eval_gamma!r} must lie in (0, 1]")

    @property
    def batch_size(self) -> int:
        """Transitions per update: `num_envs * num_steps`."""
        return self.num_envs * self.num_steps

    @property
    def minibatch_size(self) -> int:
        return self.batch_size // self.num_minibatches


@struct.dataclass
class PPOHyperparams:
    """Per-member PPO numbers (float32 scalars, or `[pop]` arrays under vmap)."""

    learning_rate: Any = 2.5e-4
    gamma: Any = 0.99
    gae_lambda: Any = 0.95
    clip_eps: Any = 0.2
    ent_coef: Any = 0.01
    vf_coef: Any = 0.5
    max_grad_norm: Any = 0.5

    def as_arrays(self) -> "PPOHyperparams":
        """Every field as a float32 array (the form stored in `PPOState`)."""
        return jax.tree_util.tree_map(lambda x: jnp.asarray(x, jnp.float32), self)

    def replicate(self, n: int) -> "PPOHyperparams":
        """The same numbers for `n` members: every field `[n]`."""
        return jax.tree_util.tree_map(lambda x: jnp.full((n,), x, jnp.float32), self)

    def validate(self) -> "PPOHyperparams":
        """Raise `ValueError` naming the first out-of-range field (values known only)."""
        if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(self)):
            return self
        for name, (ok, rule) in _HYPER_RANGES.items():
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if not np.all(np.isfinite(value)) or not np.all(ok(value)):
                raise ValueError(f"PPOHyperparams.{name}={value.tolist()!r} must be {rule}")
        return self


#: The valid range of each `PPOHyperparams` field: a test on a float64 array and its wording.
_HYPER_RANGES: dict[str, tuple[Any, str]] = {
    "learning_rate": (lambda v: v > 0, "> 0"),
    "gamma": (lambda v: (v > 0) & (v <= 1), "in (0, 1]"),
    "gae_lambda": (lambda v: (v >= 0) & (v <= 1), "in [0, 1]"),
    "clip_eps": (lambda v: v > 0, "> 0"),
    "ent_coef": (lambda v: v >= 0, ">= 0"),
    "vf_coef": (lambda v: v >= 0, ">= 0"),
    "max_grad_norm": (lambda v: v > 0, "> 0"),
}


#: The names of `PPOHyperparams` fields, for config sections that mirror them.
HYPER_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(PPOHyperparams))


#: `PPOConfig` fields an algorithm supplies itself rather than its `ppo` section.
ALGORITHM_FIELDS: tuple[str, ...] = ("total_updates", "eval_gamma", "max_eval_steps")


@dataclasses.dataclass(frozen=True)
class PPOSection:
    """PPO as one flat config section: every `PPOConfig` field but `ALGORITHM_FIELDS`, then
    every `PPOHyperparams` field (the numbers a population may vary per member).

    The defaults here are the learner's own (`PPOConfig`, `PPOHyperparams`); an algorithm
    gives its own as a preset instance, the default of its `ppo` field
    (`morl.algorithms.morld.MORLD_PPO`, `morl.algorithms.cmorl.CMORL_PPO`); YAML and
    `--set` keys under `ppo` change that preset, and so does `preset.replace(...)` in
    Python. `ppo_config` builds the static `PPOConfig` (which validates the structure),
    `hyperparams` the numbers, `validate` checks both."""

    num_envs: int = 16
    num_steps: int = 128
    num_epochs: int = 4
    num_minibatches: int = 4
    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    actor: str | None = None
    weight_conditioned: bool = False
    lr_schedule: Literal["constant", "linear"] = "constant"
    ent_schedule: Literal["constant", "linear"] = "constant"  # linear: ent_coef decays to 0 over the run
    clip_value_loss: bool = False
    normalize_returns: bool = False
    normalize_observations: bool = False  # running mean/std of observations, kept with the parameters
    num_experts: int = 4
    router_coef: float = 1.0
    gumbel_temperature: float = 1.0
    learning_rate: float = 2.5e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5

    def ppo_config(self, eval_gamma: float, max_eval_steps: int, total_updates: int | None) -> PPOConfig:
        """The static `PPOConfig`; `total_updates` is kept only when a schedule is linear."""
        structure = {name: getattr(self, name) for name in STRUCTURE_FIELDS}
        scheduled = "linear" in (self.lr_schedule, self.ent_schedule)
        return PPOConfig(
            **structure,
            total_updates=total_updates if scheduled else None,
            eval_gamma=eval_gamma,
            max_eval_steps=max_eval_steps,
        )

    def hyperparams(self) -> PPOHyperparams:
        """The section's numbers as Python floats (validate with `.validate()`)."""
        return PPOHyperparams(**{name: getattr(self, name) for name in HYPER_FIELDS})

    def replace(self, **changes: Any) -> "PPOSection":
        """This section with `changes` (`MORLD_PPO.replace(num_envs=4)`: the preset's other values)."""
        return dataclasses.replace(self, **changes)

    def validate(self, where: str = "ppo") -> "PPOSection":
        """Raise `ValueError` with one line naming the first bad field as `{where}.{field}`
        (structure first: shapes the budget divides by, then the numbers)."""
        try:
            self.ppo_config(eval_gamma=1.0, max_eval_steps=1, total_updates=1)
            self.hyperparams().validate()
        except ValueError as err:
            message = str(err).replace("PPOConfig: ", f"{where}: ").replace("PPOConfig.", f"{where}.")
            raise ValueError(message.replace("PPOHyperparams.", f"{where}.")) from None
        return self


#: The `PPOConfig` fields a `PPOSection` sets.
STRUCTURE_FIELDS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(PPOConfig) if f.name not in ALGORITHM_FIELDS
)
