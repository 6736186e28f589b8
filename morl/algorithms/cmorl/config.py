"""C-MORL configuration: one frozen, validated dataclass (`CMORLConfig`).

Budget convention: every step count is **environment steps summed over all policies**
(what the env functions are called on), evaluation episodes excluded. The run is

    init stage    pop_size PPO policies x init_updates updates (evaluated every
                  eval_period updates into the archive)
    extension     extension_rounds rounds, each (barrier with threshold="policy") one
                  probe rollout per selected policy (n_select x batch steps: the
                  threshold's return estimate in the critic's units) and
                  n_select x m constrained PPO problems x extension_updates updates,
                  evaluated once at the end of the round

`init_updates` and `extension_rounds` are derived from `init_steps` / `total_steps` and
the PPO batch (`ppo.num_envs * ppo.num_steps`), rounded down to whole units; the
`budget()` method reports the exact figures the run will use.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import numpy as np

from morl.agents.ppo.config import PPOSection
from morl.envs.defaults import env_defaults
from morl.envs.defaults import resolve_eval_episodes
from morl.decomposition.weights import check_weights

#: The run's update and chunk counters are int32 inside the compiled program.
MAX_COUNT = 2**31 - 1

CONSTRAINTS: tuple[str, ...] = ("barrier", "lagrangian")
INFEASIBLE: tuple[str, ...] = ("floor", "linear")
THRESHOLDS: tuple[str, ...] = ("policy", "minibatch")
WEIGHT_INITS: tuple[str, ...] = ("uniform", "onehot")
OPTIMIZER_STARTS: tuple[str, ...] = ("reset", "inherit")


@dataclasses.dataclass(frozen=True)
class Budget:
    """The whole schedule in integers (see the module docstring)."""

    batch_size: int  # env steps per PPO update of one policy
    init_updates: int  # per policy
    init_chunks: int  # evaluations during the init stage
    extension_rounds: int
    n_select: int
    problems_per_round: int  # n_select * m
    init_steps: int  # env steps actually spent, all policies
    extension_steps: int
    total_steps: int


#: C-MORL's PPO preset (the default of `CMORLConfig.ppo`; fields and meaning:
#: `morl.agents.ppo.PPOSection`): the C-MORL public code's numbers (lr 3e-4, gamma 0.995,
#: GAE 0.95, clip 0.2, 10 epochs, 32 minibatches, grad-norm 0.5, 64-64 tanh, no entropy
#: bonus) with a smaller rollout (8 envs x 128 steps instead of 8 x 512) so the discrete
#: benchmarks' budgets hold several rounds; every other field the learner's default.
#: `lr_schedule` / `ent_schedule` "linear" decay the learning rate / entropy bonus to 0
#: over the init stage; the extension stage runs at the constant learning rate (see
#: `CMORLConfig.extension_learning_rate`) and, with `ent_schedule="linear"`, without an
#: entropy bonus (where the schedule ended). Change it with `CMORL_PPO.replace(...)`.
CMORL_PPO = PPOSection(num_envs=8, num_epochs=10, num_minibatches=32, learning_rate=3e-4, gamma=0.995, ent_coef=0.0)


@dataclasses.dataclass(frozen=True)
class CMORLConfig:
    """C-MORL settings (Liu et al., ICLR 2025). Defaults are the paper's where it states one.

    - `env`: a `morl.envs` id (a JAX port, or any MO-Gymnasium id simulated on the host),
      `env_kwargs` its keyword arguments as "key=value" strings. `ref_point`: hypervolume
      reference (length m; None: the field's convention `morl.envs.defaults.ENV_DEFAULTS`);
      archive points must dominate
      it strictly. `eval_gamma`: discount of the evaluated returns (the archive's units).
    - `pop_size` (M) weight vectors from `weight_init` ("uniform": M evenly spread
      on the simplex, `morl.decomposition.weights.uniform_weights`, the grid; "onehot":
      the corners, M must equal m, the paper's choice for many objectives; or the M
      vectors themselves, a tuple of M tuples of length m on the simplex). Trained at
      once on `w . A`.
    - `init_steps` / `total_steps`: nominal T_init / T (see the module docstring).
    - `eval_period`: PPO updates between evaluations in the init stage;
      `eval_episodes` deterministic episodes per evaluation (None: the env's default,
      `morl.envs.defaults`, more than 1 for stochastic envs), each stopped after
      `max_eval_steps` steps (the PPO config's `eval_gamma` is overridden with the
      top-level one). `archive_capacity`: the archive's capacity (crowding-distance
      eviction).
    - `total_steps` budget: see the module docstring (the threshold probe rollouts count).
    - Extension: `beta` (constraint level), `barrier_t` (log-barrier temperature t),
      `extension_updates` PPO updates per round, `n_select` policies per round
      (None: 5 for two objectives, 6 otherwise).
    - `constraint`: "barrier" (the paper's interior-point log barrier) or "lagrangian"
      (dual ascent, one multiplier per constraint, step `lagrange_lr`).
    - `threshold`: "policy" (the paper: `beta`-relaxation of the selected policy's
      return, fixed for the round) or "minibatch" (the public code: of the current
      minibatch's mean return).
    - `barrier_eps`: floor of the log-barrier argument (relative to the threshold scale);
      `barrier_infeasible`: below it the log term is constant ("floor", the paper's) or
      continues linearly ("linear", the default: a restoring gradient for violated
      constraints; see docs/cmorl.md for the measured difference).
    - `extension_optimizer`: an extension problem starts Adam from zero moments ("reset")
      or from the selected policy's archived moments ("inherit", as the public code, whose
      PGMORL `Sample` carries the optimiser state over to the copy).
    - `extension_eval_period`: None (the paper): an extension problem is evaluated and
      offered to the archive once, after its `extension_updates` updates; k (a divisor of
      `extension_updates`): after every k updates (each snapshot a candidate, as the init
      stage's periodic evaluations are). Evaluation episodes are not budget steps.
    - `ppo`: the base learner (`morl.agents.ppo.PPOSection`, preset `CMORL_PPO`);
      `extension_learning_rate` replaces its learning rate in the extension stage (None:
      the same; the extension always uses a constant rate).

    Renamed keys (`renamed`; the old ones are read for one more release with a warning):
    `num_policies` -> `pop_size`, `init_weights` -> `weight_init`, `eval_interval` -> `eval_period`,
    `extension_eval_interval` -> `extension_eval_period`, `buffer_size` ->
    `archive_capacity`, `ppo.max_eval_steps` -> `max_eval_steps` (docs/glossary.md).
    """

    vmappable: ClassVar[tuple[str, ...]] = (
        "beta", "barrier_t", "lagrange_lr", "ppo.learning_rate", "ppo.ent_coef", "ppo.clip_eps",
    )
    renamed: ClassVar[dict[str, str]] = {
        "num_policies": "pop_size",
        "init_weights": "weight_init",
        "eval_interval": "eval_period",
        "extension_eval_interval": "extension_eval_period",
        "buffer_size": "archive_capacity",
        "ppo.max_eval_steps": "max_eval_steps",
    }

    env: str = "deep-sea-treasure-v0"
    env_kwargs: tuple[str, ...] = ()
    total_steps: int = 1_000_000  # holds the init stage and one extension round for up to 6 objectives
    ref_point: tuple[float, ...] | None = None
    eval_gamma: float = 0.99
    init_steps: int = 200_000
    pop_size: int = 6
    weight_init: str | tuple[tuple[float, ...], ...] = "uniform"
    eval_period: int = 10
    eval_episodes: int | None = None  # None: the env's (`morl.envs.defaults`; 1 unless stochastic), set when made
    max_eval_steps: int = 1000
    archive_capacity: int = 200
    beta: float = 0.9
    barrier_t: float = 20.0
    barrier_eps: float = 1e-3
    barrier_infeasible: str = "linear"
    extension_updates: int = 20
    n_select: int | None = None
    constraint: str = "barrier"
    threshold: str = "policy"
    lagrange_lr: float = 0.05
    extension_learning_rate: float | None = None
    extension_optimizer: str = "reset"
    extension_eval_period: int | None = None
    ppo: PPOSection = CMORL_PPO

    def __post_init__(self) -> None:
        resolve_eval_episodes(self)
        if self.ref_point is not None:
            object.__setattr__(self, "ref_point", tuple(float(v) for v in np.ravel(self.ref_point)))
        if not (isinstance(self.beta, (int, float)) and 0.0 < self.beta < 1.0):
            raise ValueError(f"CMORLConfig.beta={self.beta!r} must lie in the open interval (0, 1)")
        for name in ("barrier_t", "barrier_eps", "lagrange_lr"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"CMORLConfig.{name}={value!r} must be a positive finite number")
        for name in ("total_steps", "init_steps", "pop_size", "eval_period", "eval_episodes", "max_eval_steps",
                     "archive_capacity", "extension_updates"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"CMORLConfig.{name}={value!r} must be a positive int")
        interval = self.extension_eval_period
        if interval is not None and (
            not isinstance(interval, (int, np.integer)) or isinstance(interval, bool) or interval < 1
            or self.extension_updates % interval != 0
        ):
            raise ValueError(
                f"CMORLConfig.extension_eval_period={interval!r} must be None or a positive divisor of "
                f"extension_updates={self.extension_updates}"
            )
        if self.n_select is not None and (not isinstance(self.n_select, (int, np.integer)) or self.n_select < 1):
            raise ValueError(f"CMORLConfig.n_select={self.n_select!r} must be a positive int or None")
        if self.init_steps >= self.total_steps:
            raise ValueError(
                f"CMORLConfig.init_steps={self.init_steps} must be smaller than total_steps={self.total_steps}"
            )
        if not 0.0 < self.eval_gamma <= 1.0:
            raise ValueError(f"CMORLConfig.eval_gamma={self.eval_gamma!r} must lie in (0, 1]")
        if self.ref_point is not None and (not self.ref_point or not all(math.isfinite(v) for v in self.ref_point)):
            raise ValueError(f"CMORLConfig.ref_point={self.ref_point!r} must be finite numbers")
        if self.constraint not in CONSTRAINTS:
            raise ValueError(f"CMORLConfig.constraint={self.constraint!r}; known: {', '.join(CONSTRAINTS)}")
        if self.barrier_infeasible not in INFEASIBLE:
            raise ValueError(
                f"CMORLConfig.barrier_infeasible={self.barrier_infeasible!r}; known: {', '.join(INFEASIBLE)}"
            )
        if self.threshold not in THRESHOLDS:
            raise ValueError(f"CMORLConfig.threshold={self.threshold!r}; known: {', '.join(THRESHOLDS)}")
        if self.constraint == "lagrangian" and self.threshold != "policy":
            raise ValueError(f"CMORLConfig.threshold={self.threshold!r} applies to the barrier only; use 'policy'")
        if self.extension_optimizer not in OPTIMIZER_STARTS:
            raise ValueError(
                f"CMORLConfig.extension_optimizer={self.extension_optimizer!r}; known: {', '.join(OPTIMIZER_STARTS)}"
            )
        if isinstance(self.weight_init, str):
            if self.weight_init not in WEIGHT_INITS:
                raise ValueError(
                    f"CMORLConfig.weight_init={self.weight_init!r}; known: {', '.join(WEIGHT_INITS)} "
                    "or a tuple of weight vectors"
                )
        else:
            weights = check_weights(self.weight_init, name="CMORLConfig.weight_init")
            if len(weights) != self.pop_size:
                raise ValueError(
                    f"CMORLConfig.weight_init gives {len(weights)} vectors; pop_size={self.pop_size}"
                )
            object.__setattr__(self, "weight_init", tuple(tuple(float(v) for v in row) for row in weights))
        if not isinstance(self.ppo, PPOSection):
            raise TypeError(f"CMORLConfig.ppo must be a PPOSection, got {type(self.ppo).__name__}")
        if self.extension_learning_rate is not None and not self.extension_learning_rate > 0:
            raise ValueError(f"CMORLConfig.extension_learning_rate={self.extension_learning_rate!r} must be positive")
        try:
            self.ppo.validate("ppo")
        except ValueError as err:
            raise ValueError(f"CMORLConfig.{err}") from None

    @property
    def reference(self) -> tuple[float, ...]:
        """`ref_point`, or the field's convention for `env`."""
        if self.ref_point is not None:
            return self.ref_point
        entry = env_defaults(self.env)
        if entry is None:
            raise ValueError(
                f"CMORLConfig.ref_point=None and {self.env!r} has no conventional reference point; set one"
            )
        return entry.ref_point

    def check_objectives(self, reward_dim: int) -> None:
        """Checks that need the environment's number of objectives `m`."""
        if len(self.reference) != reward_dim:
            raise ValueError(
                f"CMORLConfig.ref_point={self.reference!r} has {len(self.reference)} entries; "
                f"{self.env} has {reward_dim} objectives"
            )
        if not isinstance(self.weight_init, str) and len(self.weight_init[0]) != reward_dim:
            raise ValueError(
                f"CMORLConfig.weight_init has vectors of length {len(self.weight_init[0])}; "
                f"{self.env} has {reward_dim} objectives"
            )
        if self.weight_init == "onehot" and self.pop_size != reward_dim:
            raise ValueError(
                f"CMORLConfig.pop_size={self.pop_size} must equal the {reward_dim} objectives "
                "with weight_init='onehot'"
            )

    @property
    def uses_probe(self) -> bool:
        """Whether a round starts with a probe rollout of each selected policy (the
        barrier's fixed threshold in the critic's units)."""
        return self.constraint == "barrier" and self.threshold == "policy"

    def resolved_n_select(self, reward_dim: int) -> int:
        """`n_select`, or the paper's default: 5 for two objectives, 6 otherwise."""
        if self.n_select is not None:
            return int(self.n_select)
        return 5 if reward_dim == 2 else 6

    def budget(self, reward_dim: int) -> Budget:
        """The integer schedule; raises when the budget cannot hold one eval and one round."""
        self.check_objectives(reward_dim)
        batch = self.ppo.num_envs * self.ppo.num_steps
        n_select = self.resolved_n_select(reward_dim)
        init_chunks = self.init_steps // (self.pop_size * batch * self.eval_period)
        if init_chunks < 1:
            need = self.pop_size * batch * self.eval_period
            raise ValueError(
                f"CMORLConfig.init_steps={self.init_steps} is below one evaluation interval "
                f"({self.pop_size} policies x {self.eval_period} updates x {batch} steps = {need})"
            )
        init_updates = init_chunks * self.eval_period
        init_spent = init_updates * self.pop_size * batch
        problems = n_select * reward_dim
        probes = n_select if self.uses_probe else 0
        round_steps = (problems * self.extension_updates + probes) * batch
        rounds = (self.total_steps - init_spent) // round_steps
        if rounds < 1:
            raise ValueError(
                f"CMORLConfig.total_steps={self.total_steps} leaves {self.total_steps - init_spent} steps after the "
                f"init stage, less than one extension round ({problems} problems x {self.extension_updates} "
                f"updates x {batch} steps + {probes} probes = {round_steps})"
            )
        if init_updates > MAX_COUNT or init_chunks + rounds > MAX_COUNT:
            raise ValueError(
                f"CMORLConfig.total_steps={self.total_steps:,} needs {init_updates:,} init updates and "
                f"{init_chunks + rounds:,} chunks; the run's int32 counters hold at most {MAX_COUNT:,}"
            )
        return Budget(
            batch_size=batch,
            init_updates=init_updates,
            init_chunks=init_chunks,
            extension_rounds=int(rounds),
            n_select=n_select,
            problems_per_round=problems,
            init_steps=init_spent,
            extension_steps=int(rounds) * round_steps,
            total_steps=init_spent + int(rounds) * round_steps,
        )
