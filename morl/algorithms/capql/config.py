"""CAPQL configuration (Lu, Herman, Yu, ICLR 2023; docs/capql.md).

One iteration: `sac.rollout_steps` steps of `sac.num_envs` envs, each env acting under its
own weight, drawn afresh every iteration from the training weight distribution, then
`sac.gradient_steps` gradient steps, each row of each batch with a fresh weight from the
same distribution. `weight_sampler`: `"angle"` (CAPQL's sampler: directions within
`weight_angle` degrees of the equal-weight vector, L1-normalised) or `"dirichlet"`
(uniform on the simplex). The concave augmentation is SAC's entropy term with the fixed
temperature `sac.init_alpha`; `tune_alpha: true` tunes it to `sac.target_entropy` at
`sac.alpha_lr` instead (not CAPQL). The front: every `eval_period` iterations the deterministic policy is
evaluated on `num_eval_weights` evenly spread weights (morl.algorithms.conditioned).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from morl.agents.sac.config import SACSection
from morl.envs.defaults import resolve_eval_episodes

#: CAPQL's SAC (morl-baselines `CAPQL` defaults; the authors' code differs in batch 256
#: and 10,000 random steps): 2x256 ReLU actor and twin vector critics reading the weight,
#: Adam 3e-4, gamma 0.99, tau 0.005, one gradient step per env step, batch 128, 1M
#: replay, 1,000 random steps, temperature 0.2 (fixed unless `tune_alpha`).
CAPQL_SAC = SACSection(
    num_envs=1,
    rollout_steps=1,
    gradient_steps=1,
    batch_size=128,
    buffer_size=1_000_000,
    learning_starts=1_000,
    hidden_sizes=(256, 256),
    activation="relu",
    actor="gaussian",
    weight_conditioned=True,
    actor_lr=3e-4,
    critic_lr=3e-4,
    gamma=0.99,
    tau=0.005,
    init_alpha=0.2,
)


@dataclasses.dataclass(frozen=True)
class CAPQLConfig:
    """CAPQL: one weight-conditioned SAC for every weight (see the module docstring)."""

    env: str = "mo-mountaincarcontinuous-v0"
    env_kwargs: tuple[str, ...] = ()
    total_steps: int = 100_000
    ref_point: tuple[float, ...] | None = None
    eval_gamma: float = 0.99
    weight_sampler: Literal["angle", "dirichlet"] = "angle"
    weight_angle: float = 22.5
    tune_alpha: bool = False
    num_eval_weights: int = 21
    eval_period: int = 5_000
    eval_episodes: int | None = None  # None: the env's (`morl.envs.defaults`; 1 unless stochastic), set when made
    max_eval_steps: int = 1000
    archive_capacity: int = 128
    chunk_iterations: int = 1_000
    sac: SACSection = CAPQL_SAC

    vmappable: ClassVar[tuple[str, ...]] = (
        "sac.actor_lr", "sac.critic_lr", "sac.alpha_lr", "sac.gamma", "sac.tau", "sac.init_alpha",
    )

    def __post_init__(self) -> None:
        resolve_eval_episodes(self)

    @property
    def steps_per_iteration(self) -> int:
        return self.sac.num_envs * self.sac.rollout_steps

    def validate(self) -> None:
        """Raise `ValueError` with one line naming the first bad CAPQL-specific value (the
        scaffold's fields: `morl.algorithms.conditioned.validate_common`)."""
        sac = self.sac
        checks = [
            (isinstance(sac, SACSection), f"sac must be a SACSection, got {type(sac).__name__}"),
            (
                self.weight_sampler in ("angle", "dirichlet"),
                f"weight_sampler={self.weight_sampler!r} must be 'angle' or 'dirichlet'",
            ),
            (0.0 < self.weight_angle < 90.0, f"weight_angle={self.weight_angle} must lie in (0, 90) degrees"),
            (sac.weight_conditioned, "sac.weight_conditioned must be true (one network for every weight)"),
            (
                sac.actor == "gaussian",
                f"sac.actor={sac.actor!r}: CAPQL uses the gaussian actor (categorical when discrete)",
            ),
        ]
        checks += [
            (getattr(sac, name) > 0, f"sac.{name}={getattr(sac, name)} must be > 0")
            for name in ("actor_lr", "critic_lr", "alpha_lr", "init_alpha")
        ]
        checks += [
            (0.0 <= getattr(sac, name) <= 1.0, f"sac.{name}={getattr(sac, name)} must lie in [0, 1]")
            for name in ("gamma", "tau")
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"CAPQLConfig: {message}")
        try:
            sac.sac_config().validate()
        except ValueError as err:
            raise ValueError(f"CAPQLConfig: {str(err).replace('SACConfig.', 'sac.')}") from None
