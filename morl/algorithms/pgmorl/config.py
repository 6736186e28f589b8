"""PGMORL configuration: one frozen, validated dataclass (`PGMORLConfig`).

Budget convention (as C-MORL's): every step count is **environment steps summed over all
policies**, evaluation episodes excluded. The run is a fixed sequence of chunks, each
`update_iterations` PPO updates of the `pop_size` policies trained at once:

    warm-up       warmup_iterations // update_iterations chunks, the pop_size policies
                  on evenly spread weights
    evolution     generations chunks: select pop_size (policy, weight) tasks from the
                  performance buffers by predicted improvement, train them, update buffers,
                  archive and prediction data

`generations` is derived from `total_steps` and rounded down (`budget()` reports the
exact figures the run uses).
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import numpy as np

from morl.agents.ppo import PPOSection
from morl.envs.defaults import env_defaults, resolve_eval_episodes

#: The run's counters are int32 inside the compiled program.
MAX_COUNT = 2**31 - 1

#: PGMORL's PPO (the public code's MuJoCo scripts and `arguments.py`): 2048 steps x 4
#: processes per update, 10 epochs of 32 minibatches, lr 3e-4 constant, gamma 0.995,
#: clip 0.2, no entropy bonus, value coefficient 0.5, grad norm 0.5, separate 64-64 tanh
#: actor and vector critic, running normalisation of observations (`--ob-rms`) and of each
#: objective's return (`--obj-rms`). GAE 0.95 (the scripts leave `--use-gae` off, i.e.
#: lambda = 1; see docs/pgmorl.md).
PGMORL_PPO = PPOSection(
    num_envs=4, num_steps=2048, num_epochs=10, num_minibatches=32, hidden_sizes=(64, 64), activation="tanh",
    lr_schedule="constant", normalize_returns=True, normalize_observations=True, learning_rate=3e-4,
    gamma=0.995, gae_lambda=0.95, clip_eps=0.2, ent_coef=0.0, vf_coef=0.5, max_grad_norm=0.5,
)


@dataclasses.dataclass(frozen=True)
class Budget:
    """The whole schedule in integers (see the module docstring)."""

    batch_size: int  # env steps per PPO update of one policy
    chunk_steps: int  # env steps of one chunk (all tasks)
    warmup_chunks: int
    generations: int
    warmup_steps: int
    total_steps: int
    graph_nodes: int  # capacity of the optimisation history
    buffer_capacity: int  # capacity of the performance buffers


@dataclasses.dataclass(frozen=True)
class PGMORLConfig:
    """PGMORL settings (Xu et al., ICML 2020). Defaults are the public code's MuJoCo ones.

    - `env`, `env_kwargs` ("key=value" strings), `ref_point` (None: the field's convention,
      `morl.envs.defaults`; also the origin of the performance buffers), `eval_gamma`
      (PGMORL evaluates undiscounted: 1.0), `total_steps` (all policies together).
    - `pop_size` (n, the paper's num_tasks): policies trained at once, in the warm-up on
      `uniform_weights(m, n)` (n=6 is the paper's 0.2 grid for two objectives, n=15 its
      0.25 grid for three).
    - `warmup_iterations`: PPO updates of the warm-up; `update_iterations`: PPO updates per
      generation (a chunk); every policy is evaluated after each `eval_period` updates
      (the paper: every update) with `eval_episodes` deterministic episodes of at most
      `max_eval_steps` steps into the archive (capacity `archive_capacity`).
    - Task selection: `num_weight_candidates` weights per buffered policy within 45
      degrees of its last weight, `delta_weight` the candidate lattice step (halved) for
      more than two objectives; greedy maximisation of `HV - sparsity * SP` of the
      archive with the predicted points (`sparsity` = the paper's alpha).
    - The paper's population: `pbuffer_num` performance buffers (angle sectors for two objectives, a
      simplex lattice of `pbuffer_num - 1` partitions for more) of `pbuffer_size` each.
    - `ppo`: the learner (`morl.agents.ppo.PPOSection`), PGMORL's settings by default.
    """

    vmappable: ClassVar[tuple[str, ...]] = ()

    env: str = "deep-sea-treasure-v0"
    env_kwargs: tuple[str, ...] = ()
    total_steps: int = 30_000_000  # the code's default 5M steps per task, 6 tasks
    ref_point: tuple[float, ...] | None = None
    eval_gamma: float = 1.0
    pop_size: int = 6
    warmup_iterations: int = 80
    update_iterations: int = 20
    eval_period: int = 1
    eval_episodes: int | None = None  # None: the env's (`morl.envs.defaults`; 1 unless stochastic), set when made
    max_eval_steps: int = 1000
    archive_capacity: int = 200
    num_weight_candidates: int = 7
    delta_weight: float = 0.2
    sparsity: float = 1.0
    pbuffer_num: int = 100
    pbuffer_size: int = 2
    ppo: PPOSection = PGMORL_PPO

    def __post_init__(self) -> None:
        resolve_eval_episodes(self)
        if self.ref_point is not None:
            object.__setattr__(self, "ref_point", tuple(float(v) for v in np.ravel(self.ref_point)))
        for name in ("total_steps", "pop_size", "warmup_iterations", "update_iterations", "eval_period",
                     "eval_episodes", "max_eval_steps", "archive_capacity", "pbuffer_size"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"PGMORLConfig.{name}={value!r} must be a positive int")
        for name in ("num_weight_candidates", "pbuffer_num"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 2:
                raise ValueError(f"PGMORLConfig.{name}={value!r} must be an int >= 2")
        if self.update_iterations % self.eval_period:
            raise ValueError(
                f"PGMORLConfig.eval_period={self.eval_period} must divide update_iterations={self.update_iterations}"
            )
        if self.warmup_iterations % self.update_iterations:
            raise ValueError(
                f"PGMORLConfig.warmup_iterations={self.warmup_iterations} must be a multiple of "
                f"update_iterations={self.update_iterations}"
            )
        if not (isinstance(self.delta_weight, (int, float)) and 0.0 < self.delta_weight <= 1.0):
            raise ValueError(f"PGMORLConfig.delta_weight={self.delta_weight!r} must lie in (0, 1]")
        if not (isinstance(self.sparsity, (int, float)) and math.isfinite(self.sparsity) and self.sparsity >= 0):
            raise ValueError(f"PGMORLConfig.sparsity={self.sparsity!r} must be a finite number >= 0")
        if not (isinstance(self.eval_gamma, (int, float)) and 0.0 < self.eval_gamma <= 1.0):
            raise ValueError(f"PGMORLConfig.eval_gamma={self.eval_gamma!r} must lie in (0, 1]")
        if self.ref_point is not None and (not self.ref_point or not all(math.isfinite(v) for v in self.ref_point)):
            raise ValueError(f"PGMORLConfig.ref_point={self.ref_point!r} must be finite numbers")
        if not isinstance(self.ppo, PPOSection):
            raise TypeError(f"PGMORLConfig.ppo must be a morl.agents.ppo.PPOSection, got {type(self.ppo).__name__}")
        try:
            self.ppo.validate("ppo")
        except ValueError as err:
            raise ValueError(f"PGMORLConfig.{err}") from None

    @property
    def reference(self) -> tuple[float, ...]:
        """`ref_point`, or the field's convention for `env`."""
        if self.ref_point is not None:
            return self.ref_point
        entry = env_defaults(self.env)
        if entry is None:
            raise ValueError(
                f"PGMORLConfig.ref_point=None and {self.env!r} has no conventional reference point; set one"
            )
        return entry.ref_point

    def num_buffers(self, reward_dim: int) -> int:
        """Performance buffers: `pbuffer_num` sectors (2 objectives), else the points of a
        simplex lattice with `pbuffer_num - 1` partitions."""
        if reward_dim == 2:
            return self.pbuffer_num
        return math.comb(self.pbuffer_num - 1 + reward_dim - 1, reward_dim - 1)

    def budget(self, reward_dim: int) -> Budget:
        """The integer schedule; raises when the budget cannot hold the warm-up and one generation."""
        if len(self.reference) != reward_dim:
            raise ValueError(
                f"PGMORLConfig.ref_point={self.reference!r} has {len(self.reference)} entries; "
                f"{self.env} has {reward_dim} objectives"
            )
        if reward_dim < 2:
            raise ValueError(f"PGMORLConfig.env={self.env!r} has {reward_dim} objective; PGMORL needs at least 2")
        batch = self.ppo.num_envs * self.ppo.num_steps
        chunk = self.pop_size * self.update_iterations * batch
        warmup_chunks = self.warmup_iterations // self.update_iterations
        warmup_steps = warmup_chunks * chunk
        generations = (self.total_steps - warmup_steps) // chunk
        if generations < 1:
            raise ValueError(
                f"PGMORLConfig.total_steps={self.total_steps:,} holds no generation after the warm-up "
                f"({warmup_steps:,} steps) of {chunk:,} steps ({self.pop_size} tasks x {self.update_iterations} "
                f"updates x {batch} steps)"
            )
        chunks = warmup_chunks + generations
        if chunks * self.update_iterations > MAX_COUNT or self.pop_size * (chunks + 1) > MAX_COUNT:
            raise ValueError(
                f"PGMORLConfig.total_steps={self.total_steps:,} needs more chunks than int32 counters hold"
            )
        return Budget(
            batch_size=batch,
            chunk_steps=chunk,
            warmup_chunks=warmup_chunks,
            generations=int(generations),
            warmup_steps=warmup_steps,
            total_steps=warmup_steps + int(generations) * chunk,
            graph_nodes=self.pop_size * (chunks + 1),
            buffer_capacity=self.num_buffers(reward_dim) * self.pbuffer_size,
        )
