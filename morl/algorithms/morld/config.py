"""MORL/D configuration: every taxonomy dimension is one field (Felten et al. 2024).

| dimension            | field(s)                                                        |
|----------------------|-----------------------------------------------------------------|
| scalarisation        | `scalarization` (+ `ideal_tau`, `augmented_rho`, `pbi_theta`, `smooth_mu`) |
| weight init          | `weight_init`: uniform (Riesz s-energy), random (Dirichlet(1) from the run's key), onehot |
| weight adaptation    | `weight_adaptation`: none or psa (`psa_delta`)                  |
| neighbourhood        | `neighborhood_size`                                             |
| cooperation          | `cooperation`: none, transfer (parameter transfer to neighbours), shared_buffer (SAC) |
| base learner         | `learner`: ppo or sac, with its section `ppo` (`MORLD_PPO`) / `sac` (actor, network, numbers) |
| environment          | `env` (a `morl.envs` id) and `env_kwargs` ("key=value" strings)  |
| reward shaping       | `shaping`: transform names applied in order (see `morl.shaping`) |
| archive              | `archive_capacity`, fed every `eval_period` iterations          |

The budget `total_steps` counts environment steps summed over the whole population.
One *iteration* is one update of every member: with PPO `pop_size * ppo.num_envs *
ppo.num_steps` env steps (then the PPO epochs), with SAC `pop_size * sac.num_envs *
sac.rollout_steps` env steps (then `sac.gradient_steps` gradient steps); a *chunk* is
`chunk_iterations` iterations in one compiled `lax.scan`. Only the chosen learner's
section is read.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from morl.agents.ppo.config import PPOSection
from morl.agents.sac.config import SACSection
from morl.algorithms.api import MAX_ITERATIONS
from morl.envs.defaults import resolve_eval_episodes

SCALARIZATIONS = ("weighted_sum", "tchebycheff", "augmented_tchebycheff", "pbi", "smooth_tchebycheff")


#: MORL/D's PPO preset (the default of `MORLDConfig.ppo`; fields and meaning:
#: `morl.agents.ppo.PPOSection`): 8 envs x 64 steps per member and update, Adam 1e-3,
#: entropy bonus 0.05, per-objective return normalisation; every other field the
#: learner's default. Numbers may vary per member (vmappable). Change it with
#: `MORLD_PPO.replace(num_envs=4)` in Python, `ppo: {num_envs: 4}` in YAML.
MORLD_PPO = PPOSection(num_envs=8, num_steps=64, normalize_returns=True, learning_rate=1e-3, ent_coef=0.05)


@dataclasses.dataclass(frozen=True)
class MORLDConfig:
    """MORL/D with the whole population trained at once (see the module docstring)."""

    env: str = "deep-sea-treasure-v0"
    env_kwargs: tuple[str, ...] = ()
    total_steps: int = 500_000
    ref_point: tuple[float, ...] | None = None
    eval_gamma: float = 0.99
    pop_size: int = 16
    weight_init: Literal["uniform", "random", "onehot"] = "uniform"
    scalarization: Literal[
        "weighted_sum", "tchebycheff", "augmented_tchebycheff", "pbi", "smooth_tchebycheff"
    ] = "weighted_sum"
    ideal_tau: float = 0.5
    augmented_rho: float = 0.01
    pbi_theta: float = 5.0
    smooth_mu: float = 0.1
    weight_adaptation: Literal["none", "psa"] = "none"
    psa_delta: float = 0.1
    neighborhood_size: int = 2
    cooperation: Literal["none", "transfer", "shared_buffer"] = "none"
    shaping: tuple[str, ...] = ()
    eval_period: int = 5
    eval_episodes: int | None = None  # None: the env's (`morl.envs.defaults`; 1 unless stochastic), set when made
    max_eval_steps: int = 1000
    archive_capacity: int = 64
    chunk_iterations: int = 10
    learner: Literal["ppo", "sac"] = "ppo"
    ppo: PPOSection = MORLD_PPO
    sac: SACSection = SACSection()

    vmappable: ClassVar[tuple[str, ...]] = (
        "ppo.learning_rate",
        "ppo.gamma",
        "ppo.gae_lambda",
        "ppo.clip_eps",
        "ppo.ent_coef",
        "ppo.vf_coef",
        "ppo.max_grad_norm",
        "sac.actor_lr",
        "sac.critic_lr",
        "sac.alpha_lr",
        "sac.gamma",
        "sac.tau",
        "sac.target_entropy",
        "sac.init_alpha",
        "sac.gumbel_temperature",
    )

    def __post_init__(self) -> None:
        resolve_eval_episodes(self)

    @property
    def steps_per_iteration(self) -> int:
        if self.learner == "sac":
            return self.pop_size * self.sac.num_envs * self.sac.rollout_steps
        return self.pop_size * self.ppo.num_envs * self.ppo.num_steps

    @property
    def total_iterations(self) -> int:
        return -(-self.total_steps // self.steps_per_iteration)

    def validate(self, reward_dim: int) -> None:
        """Raise `ValueError` with one line naming the first bad value."""
        self._validate_learner()
        checks = [
            (self.total_steps >= 1, f"total_steps={self.total_steps} must be >= 1"),
            (self.pop_size >= 1, f"pop_size={self.pop_size} must be >= 1"),
            (
                not (self.weight_init in ("uniform", "onehot") and self.pop_size < reward_dim),
                f"pop_size={self.pop_size} is smaller than the number of objectives ({reward_dim}); "
                f"weight_init='{self.weight_init}' needs one member per corner of the simplex",
            ),
            (
                not (self.weight_init == "onehot" and self.pop_size != reward_dim),
                f"weight_init='onehot' needs pop_size == number of objectives ({reward_dim}), got {self.pop_size}",
            ),
            (
                not (self.weight_adaptation == "psa" and self.pop_size < 2),
                "weight_adaptation='psa' needs pop_size >= 2 (PSA compares members with their neighbours on the front)",
            ),
            (self.learner in ("ppo", "sac"), f"learner={self.learner!r} must be 'ppo' or 'sac'"),
            (
                self.cooperation != "shared_buffer" or self.learner == "sac",
                f"cooperation='shared_buffer' needs an off-policy learner (learner: sac); "
                f"learner={self.learner!r} has no replay buffer",
            ),
            (
                self.cooperation != "transfer" or 1 <= self.neighborhood_size < self.pop_size,
                f"cooperation='transfer' needs neighborhood_size in [1, pop_size - 1 = {self.pop_size - 1}]; "
                f"got {self.neighborhood_size} (the neighbourhood is only used by transfer)",
            ),
            (0.0 < self.eval_gamma <= 1.0, f"eval_gamma={self.eval_gamma} must lie in (0, 1]"),
            (self.psa_delta > 0, f"psa_delta={self.psa_delta} must be > 0"),
            (self.ideal_tau >= 0, f"ideal_tau={self.ideal_tau} must be >= 0"),
            (self.eval_period >= 1, f"eval_period={self.eval_period} must be >= 1"),
            (self.eval_episodes >= 1, f"eval_episodes={self.eval_episodes} must be >= 1"),
            (self.max_eval_steps >= 1, f"max_eval_steps={self.max_eval_steps} must be >= 1"),
            (self.chunk_iterations >= 1, f"chunk_iterations={self.chunk_iterations} must be >= 1"),
            (
                self.archive_capacity >= self.pop_size,
                f"archive_capacity={self.archive_capacity} must be >= pop_size={self.pop_size}",
            ),
            (
                self.ref_point is None or len(self.ref_point) == reward_dim,
                f"ref_point={self.ref_point} has {len(self.ref_point or ())} entries; {self.env} has {reward_dim} objectives",
            ),
        ]
        if self.learner == "sac":
            checks += self._sac_checks()
        for ok, message in checks:
            if not ok:
                raise ValueError(f"MORLDConfig: {message}")
        if self.total_iterations > MAX_ITERATIONS:
            raise ValueError(
                f"MORLDConfig: total_steps={self.total_steps:,} needs {self.total_iterations:,} iterations of "
                f"{self.steps_per_iteration:,} env steps; the iteration counter holds at most {MAX_ITERATIONS:,}"
            )

    def budget_warnings(self) -> list[str]:
        """Budgets that run but probably not as meant: below one chunk (the run trains a
        whole chunk), or too short for one evaluation after the initial one."""
        chunk = self.steps_per_iteration * self.chunk_iterations
        warnings = []
        if self.total_steps < chunk:
            warnings.append(
                f"total_steps={self.total_steps:,} is below one chunk ({self.chunk_iterations} iterations x "
                f"{self.steps_per_iteration:,} env steps); the run trains {chunk:,}"
            )
        if self.total_iterations < self.eval_period:
            warnings.append(
                f"total_steps={self.total_steps:,} gives {self.total_iterations} iteration(s), fewer than "
                f"eval_period={self.eval_period}: the archive holds only the untrained population's returns"
            )
        return warnings

    def _validate_learner(self) -> None:
        """The PPO section (sizes first: the budget divides by them, then numbers)."""
        if self.learner == "ppo":
            try:
                self.ppo.validate("ppo")
            except ValueError as err:
                raise ValueError(f"MORLDConfig: {err}") from None

    def _sac_checks(self) -> list[tuple[bool, str]]:
        """The SAC section's own checks, then MORL/D's: a shared buffer holds the whole
        population's transitions of one iteration."""
        try:
            self.sac.validate("sac")
        except ValueError as err:
            return [(False, str(err))]
        per_iteration = self.sac.num_envs * self.sac.rollout_steps * self.pop_size
        return [
            (
                self.cooperation != "shared_buffer" or self.sac.buffer_size >= per_iteration,
                f"sac.buffer_size={self.sac.buffer_size} is smaller than one iteration's {per_iteration} transitions "
                "(the whole population writes into the shared buffer)",
            )
        ]
