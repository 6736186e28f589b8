"""Pareto Conditioned Networks configuration (Reymond, Bargiacchi and Nowé, AAMAS 2022).

One *iteration* is `gradient_steps` supervised steps of the command-conditioned policy on
the episode buffer, then `episodes_per_iteration` exploration episodes (at most
`max_episode_steps` steps each) added to the buffer, which keeps its best
`buffer_episodes`. `total_steps` counts the env steps the episodes really took, so the
runs of one vmapped program differ a little; a run is done once every run has spent it.

Settings that matter (docs/value_based.md): `return_scale` / `horizon_scale` (the command
is `(desired return * return_scale, desired horizon * horizon_scale)`, so both should be
of order 1), `buffer_episodes` and `command_episodes` (how many of the best episodes the
exploration commands come from), `crowding_threshold` (buffer episodes whose crowding
distance is below it count as crowded and are evicted first among dominated ones).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar


@dataclasses.dataclass(frozen=True)
class PCNConfig:
    """PCN, trained as one compiled program (see the module docstring)."""

    env: str = "deep-sea-treasure-v0"
    env_kwargs: tuple[str, ...] = ()
    total_steps: int = 20_000
    ref_point: tuple[float, ...] | None = None
    eval_gamma: float = 0.99
    max_episode_steps: int = 100
    buffer_episodes: int = 100
    initial_episodes: int = 50
    episodes_per_iteration: int = 10
    command_episodes: int = 20
    gradient_steps: int = 50
    batch_size: int = 256
    hidden_size: int = 64
    learning_rate: float = 1e-3
    return_scale: tuple[float, ...] = ()
    horizon_scale: float = 0.01
    crowding_threshold: float = 0.1
    eval_period: int = 10
    archive_capacity: int = 64
    chunk_iterations: int = 50

    vmappable: ClassVar[tuple[str, ...]] = ()

    def scales(self, reward_dim: int) -> tuple[float, ...]:
        """`[m + 1]` multipliers of (desired return, desired horizon); `return_scale` empty
        means 0.1 for every objective."""
        returns = self.return_scale or (0.1,) * reward_dim
        return (*returns, self.horizon_scale)

    def validate(self, reward_dim: int) -> None:
        """Raise `ValueError` with one line naming the first bad value."""
        positive = (
            "total_steps", "max_episode_steps", "buffer_episodes", "initial_episodes", "episodes_per_iteration",
            "command_episodes", "gradient_steps", "batch_size", "hidden_size", "eval_period", "archive_capacity",
            "chunk_iterations",
        )  # fmt: skip
        checks = [(getattr(self, name) >= 1, f"{name}={getattr(self, name)} must be >= 1") for name in positive]
        checks += [
            (
                self.initial_episodes <= self.buffer_episodes,
                f"initial_episodes={self.initial_episodes} must be <= buffer_episodes={self.buffer_episodes}",
            ),
            (
                self.command_episodes <= self.buffer_episodes,
                f"command_episodes={self.command_episodes} must be <= buffer_episodes={self.buffer_episodes}",
            ),
            (
                self.chunk_iterations % max(self.eval_period, 1) == 0,
                f"chunk_iterations={self.chunk_iterations} must be a multiple of eval_period={self.eval_period}",
            ),
            (self.learning_rate > 0, f"learning_rate={self.learning_rate} must be > 0"),
            (
                len(self.return_scale) in (0, reward_dim) and all(s > 0 for s in self.return_scale),
                f"return_scale={self.return_scale} must be empty or {reward_dim} positive numbers",
            ),
            (self.horizon_scale > 0, f"horizon_scale={self.horizon_scale} must be > 0"),
            (self.crowding_threshold >= 0, f"crowding_threshold={self.crowding_threshold} must be >= 0"),
            (0.0 < self.eval_gamma <= 1.0, f"eval_gamma={self.eval_gamma} must lie in (0, 1]"),
            (
                self.ref_point is None or len(self.ref_point) == reward_dim,
                f"ref_point={self.ref_point} has {len(self.ref_point or ())} entries; {self.env} has {reward_dim} objectives",
            ),
        ]  # fmt: skip
        for ok, message in checks:
            if not ok:
                raise ValueError(f"PCNConfig: {message}")
