"""GPI-LS configuration (Alegre, Bazzan, Roijers, Nowé and da Silva, AAMAS 2023).

Training goes in *rounds* of `round_iterations` iterations, each round on one weight `w`
chosen by linear support; one *iteration* is `rollout_steps` steps of each of `num_envs`
envs acting with the epsilon-greedy GPI policy for `w`, then `gradient_steps` gradient
steps once the buffer holds `learning_starts` transitions. A *chunk* is
`chunk_iterations` iterations (a multiple of `round_iterations`). `total_steps` counts
env steps of one run: `num_envs * rollout_steps` per iteration.

Settings that matter (docs/value_based.md): `round_iterations` (training per weight before
the next is chosen), `candidate_weights` (the simplex grid where corner weights are looked
for), `support_size` (how many trained weights GPI combines; the oldest is replaced when
full), the epsilon schedule.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from morl.envs.defaults import resolve_eval_episodes


@dataclasses.dataclass(frozen=True)
class GPILSConfig:
    """GPI-LS, trained as one compiled program (see the module docstring)."""

    env: str = "deep-sea-treasure-v0"
    env_kwargs: tuple[str, ...] = ()
    total_steps: int = 40_000
    ref_point: tuple[float, ...] | None = None
    eval_gamma: float = 0.99
    num_envs: int = 4
    rollout_steps: int = 4
    gradient_steps: int = 8
    batch_size: int = 32
    num_sample_weights: int = 4
    buffer_size: int = 40_000
    learning_starts: int = 1_000
    hidden_sizes: tuple[int, ...] = (128, 128)
    activation: str = "relu"
    learning_rate: float = 1e-3
    max_grad_norm: float = 10.0
    gamma: float = 0.99
    target_update_period: int = 250
    epsilon_start: float = 1.0
    epsilon_end: float = 0.05
    epsilon_fraction: float = 0.5
    round_iterations: int = 100
    support_size: int = 32
    candidate_weights: int = 101
    num_eval_weights: int = 200
    eval_episodes: int | None = None  # None: the env's (`morl.envs.defaults`; 1 unless stochastic), set when made
    max_eval_steps: int = 1000
    archive_capacity: int = 64
    chunk_iterations: int = 500

    vmappable: ClassVar[tuple[str, ...]] = ()
    #: old key -> new, read for one more release with a warning (docs/glossary.md)
    renamed: ClassVar[dict[str, str]] = {"eval_weights": "num_eval_weights"}

    def __post_init__(self) -> None:
        resolve_eval_episodes(self)

    @property
    def steps_per_iteration(self) -> int:
        return self.num_envs * self.rollout_steps

    @property
    def total_iterations(self) -> int:
        return -(-self.total_steps // self.steps_per_iteration)

    def validate(self, reward_dim: int) -> None:
        """Raise `ValueError` with one line naming the first bad value."""
        positive = (
            "total_steps", "num_envs", "rollout_steps", "gradient_steps", "batch_size", "num_sample_weights",
            "buffer_size", "target_update_period", "round_iterations", "support_size", "candidate_weights",
            "num_eval_weights", "eval_episodes", "max_eval_steps", "archive_capacity", "chunk_iterations",
        )  # fmt: skip
        checks = [(getattr(self, name) >= 1, f"{name}={getattr(self, name)} must be >= 1") for name in positive]
        checks += [
            (
                self.chunk_iterations % max(self.round_iterations, 1) == 0,
                f"chunk_iterations={self.chunk_iterations} must be a multiple of round_iterations={self.round_iterations}",
            ),
            (self.learning_starts >= 0, f"learning_starts={self.learning_starts} must be >= 0"),
            (
                self.buffer_size >= self.steps_per_iteration,
                f"buffer_size={self.buffer_size} is smaller than one iteration's {self.steps_per_iteration} transitions",
            ),
            (len(self.hidden_sizes) >= 1 and min(self.hidden_sizes) >= 1, f"hidden_sizes={self.hidden_sizes} must be positive sizes"),
            (self.activation in ("tanh", "relu", "gelu", "silu"), f"activation={self.activation!r} must be tanh, relu, gelu or silu"),
            (self.learning_rate > 0, f"learning_rate={self.learning_rate} must be > 0"),
            (self.max_grad_norm > 0, f"max_grad_norm={self.max_grad_norm} must be > 0"),
            (0.0 <= self.gamma <= 1.0, f"gamma={self.gamma} must lie in [0, 1]"),
            (0.0 < self.eval_gamma <= 1.0, f"eval_gamma={self.eval_gamma} must lie in (0, 1]"),
            (
                0.0 <= self.epsilon_end <= self.epsilon_start <= 1.0,
                f"epsilon_start={self.epsilon_start}, epsilon_end={self.epsilon_end} need 0 <= end <= start <= 1",
            ),
            (0.0 < self.epsilon_fraction <= 1.0, f"epsilon_fraction={self.epsilon_fraction} must lie in (0, 1]"),
            (
                self.support_size >= reward_dim,
                f"support_size={self.support_size} is smaller than the number of objectives ({reward_dim}); "
                "the first rounds train every corner of the simplex",
            ),
            (
                min(self.num_eval_weights, self.candidate_weights) >= reward_dim,
                f"num_eval_weights={self.num_eval_weights} and candidate_weights={self.candidate_weights} must be >= the "
                f"number of objectives ({reward_dim})",
            ),
            (
                self.ref_point is None or len(self.ref_point) == reward_dim,
                f"ref_point={self.ref_point} has {len(self.ref_point or ())} entries; {self.env} has {reward_dim} objectives",
            ),
        ]  # fmt: skip
        for ok, message in checks:
            if not ok:
                raise ValueError(f"GPILSConfig: {message}")
