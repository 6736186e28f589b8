"""Preference-conditioned PPO configuration (docs/conditioned_ppo.md).

One iteration is one PPO update of the single policy: every env draws its own weight
from Dirichlet(`weight_alpha`) (1: uniform on the simplex), the `ppo.num_envs` envs act
`ppo.num_steps` steps each under their weights, and PPO's epochs run on the scalarised
advantages `w_e . A` of each env's samples. `network`: `"concat"` (actor and vector
critic read `[obs, w]`) or `"hyper"` (a hypernetwork generates their output layers from
`w`, `hyper_sizes` its hidden layers; morl.networks.hyper). The front: every
`eval_period` iterations the deterministic policy is evaluated on `num_eval_weights`
evenly spread weights (morl.algorithms.conditioned).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from morl.agents.ppo.config import PMOE_ACTORS, PPOSection
from morl.envs.defaults import resolve_eval_episodes

#: The preset: PPOSection's own defaults (16 envs x 128 steps, 4 epochs of 4 minibatches,
#: 2x64 tanh, Adam 2.5e-4, entropy 0.01) with the networks reading the weight.
CONDITIONED_PPO = PPOSection(weight_conditioned=True)


@dataclasses.dataclass(frozen=True)
class ConditionedPolicyConfig:
    """One PPO policy and vector critic conditioned on the weight (module docstring)."""

    env: str = "deep-sea-treasure-v0"
    env_kwargs: tuple[str, ...] = ()
    total_steps: int = 500_000
    ref_point: tuple[float, ...] | None = None
    eval_gamma: float = 0.99
    network: Literal["concat", "hyper"] = "concat"
    hyper_sizes: tuple[int, ...] = (64,)
    weight_alpha: float = 1.0
    num_eval_weights: int = 21
    eval_period: int = 10
    eval_episodes: int | None = None  # None: the env's (`morl.envs.defaults`; 1 unless stochastic), set when made
    max_eval_steps: int = 1000
    archive_capacity: int = 128
    chunk_iterations: int = 10
    ppo: PPOSection = CONDITIONED_PPO

    vmappable: ClassVar[tuple[str, ...]] = (
        "ppo.learning_rate", "ppo.gamma", "ppo.gae_lambda", "ppo.clip_eps", "ppo.ent_coef", "ppo.vf_coef",
        "ppo.max_grad_norm",
    )

    def __post_init__(self) -> None:
        resolve_eval_episodes(self)

    @property
    def steps_per_iteration(self) -> int:
        return self.ppo.num_envs * self.ppo.num_steps

    @property
    def total_iterations(self) -> int:
        return -(-self.total_steps // self.steps_per_iteration)

    def validate(self) -> None:
        """Raise `ValueError` with one line naming the first bad value of this algorithm's
        own fields and its `ppo` section (the scaffold's:
        `morl.algorithms.conditioned.validate_common`)."""
        ppo = self.ppo
        checks = [
            (self.total_steps >= 1, f"total_steps={self.total_steps} must be >= 1"),
            (isinstance(ppo, PPOSection), f"ppo must be a PPOSection, got {type(ppo).__name__}"),
            (self.network in ("concat", "hyper"), f"network={self.network!r} must be 'concat' or 'hyper'"),
            (
                len(self.hyper_sizes) >= 1 and all(int(h) >= 1 for h in self.hyper_sizes),
                f"hyper_sizes={self.hyper_sizes} must be non-empty positive ints",
            ),
            (self.weight_alpha > 0, f"weight_alpha={self.weight_alpha} must be > 0"),
            (ppo.weight_conditioned, "ppo.weight_conditioned must be true (one policy for every weight)"),
            (ppo.actor not in PMOE_ACTORS, f"ppo.actor={ppo.actor!r}: PMOE actors take one weight per member"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"ConditionedPolicyConfig: {message}")
        try:
            ppo.ppo_config(self.eval_gamma, self.max_eval_steps, self.total_iterations)
            ppo.hyperparams().validate()
        except ValueError as err:
            message = str(err).replace("PPOConfig: ", "ppo: ").replace("PPOConfig.", "ppo.")
            for name in ("eval_gamma", "max_eval_steps"):  # this config's own fields, passed into PPOConfig
                message = message.replace(f"ppo.{name}", name)
            raise ValueError(f"ConditionedPolicyConfig: {message.replace('PPOHyperparams.', 'ppo.')}") from None
