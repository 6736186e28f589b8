"""The contract every multi-policy algorithm (MORL/D, C-MORL, ...) offers the workflow.

The workflow (`morl train`, checkpoints, logging, evaluation, sweeps) sees only this:

    config = MyConfig(env="deep-sea-treasure-v0", total_steps=100_000)   # frozen dataclass
    trainer = make_trainer(config)                 # validates, builds env and nets; no compile
    state = trainer.init(jax.random.key(seed))     # the whole training state: one pytree
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)  # jitted; many iterations in lax.scan
        front = trainer.front(state)               # host numpy view of the archive
    act = trainer.policy(state, member=int(front.member[0]))

An algorithm registers itself in `morl.algorithms` as
`register_algorithm(name, config_cls, make_trainer)`.

The algorithm config is a frozen dataclass. A learner's settings are the learner's own
section (`morl.agents.ppo.PPOSection`, `morl.agents.sac.SACSection`), declared once in
`morl.agents`, never subclassed here: the algorithm's defaults are a preset instance,
the field's default (`ppo: PPOSection = MORLD_PPO`), which YAML / `--set` keys under
`ppo` change; validate it with `self.ppo.validate("ppo")`. Names follow docs/glossary.md
(`pop_size`, `eval_period`, `eval_episodes`, `max_eval_steps`, `archive_capacity`,
`chunk_iterations`); a renamed field keeps its old key loading for one release through
`renamed: ClassVar[dict[str, str]] = {"old.dotted.key": "new.dotted.key"}`. The config
must have these fields, which the workflow reads (`REQUIRED_CONFIG_FIELDS`):

    env: str                              # morl.envs id; `morl train --env` sets it
    total_steps: int                      # env-step budget per run; `--steps` sets it
    ref_point: tuple[float, ...] | None   # hypervolume reference point, maximisation
                                          # (None: the field's convention for the env,
                                          # see morl.envs.defaults.ENV_DEFAULTS)
    eval_gamma: float                     # discount of the returns in `Front.returns`
                                          # (1.0 = undiscounted); also picks the true
                                          # front `env.pareto_front(eval_gamma)`

Field types the config loader understands: bool, int, float, str, `Literal[...]`,
`X | None`, `tuple[T, ...]`, nested frozen dataclasses. Keep anything else out of the
config. Fields that may differ between the runs of one compiled sweep (learning rates,
beta, temperatures: numbers, not shapes) are listed by dotted name in a class attribute
`vmappable: ClassVar[tuple[str, ...]] = ("ppo.learning_rate", ...)`.

Rules for `make_trainer(config, *, num_runs=None, hparams=None, devices=None) -> Trainer`:
- Validate the config and raise `ValueError` with one line naming the bad value. Do not
  compile or run anything: the workflow calls it before creating the run directory.
- `num_runs=None`: one run; `init` takes one key, the state has no extra axis.
- `num_runs=R` (an int >= 1): R independent runs in ONE compiled program. `init` takes
  keys of shape `[R]` and returns a state whose every leaf has a leading axis of size R
  (`jax.vmap(init_one)`); `run_chunk` advances all R runs (`jax.vmap` inside the jit);
  `front(state, run=i)` and `policy(state, member, run=i)` read run i. Run i with key
  `keys[i]` must compute what a single run with that key computes (up to float
  reassociation under vmap). The workflow passes `keys[i] = jax.random.key(seed + i)`.
- `hparams`: `{dotted_field: np.ndarray[R]}`, per-run values of fields listed in
  `config_cls.vmappable` (only with `num_runs`); the value in `config` is then ignored
  for that field. Build such fields as arrays inside the state or the vmapped closure.
  Raise `ValueError` for a field that is not vmappable.
- `devices`: None or 1, one device; D > 1, the state laid out over the first D devices
  with `morl.parallel.placement(D, num_runs=..., population=...)` and the programs
  compiled with `parallel.jit_init` / `parallel.jit_step` (split runs when D divides
  them, else split members; an error before compiling when neither divides). A layout
  never changes the results beyond float reassociation.
An algorithm that does not support `num_runs` / `hparams` yet raises
`NotImplementedError("<name>: num_runs is not supported yet")`; the workflow reports it.

Determinism: `state` is a pytree of arrays only (params, optimiser states, archive,
replay buffers, RNG keys, shaping state, step counters); nothing lives on the Python
object between chunks. orbax checkpoints it, so a run restored from a checkpoint taken
after chunk k ends bit-for-bit where the uninterrupted run ends. `run_chunk` is compiled
once: the chunk size comes from the config, shapes never change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

#: Fields every algorithm config must have (see the module docstring).
#: The iteration counter is an int32 inside the compiled programs of every trainer.
MAX_ITERATIONS = 2**31 - 1

REQUIRED_CONFIG_FIELDS = ("env", "total_steps", "ref_point", "eval_gamma")


@dataclass(frozen=True)
class Front:
    """One run's archive as host arrays (every objective maximised).

    returns: float `[n, m]`, the evaluated returns of the archive members (discounted with
        the config's `eval_gamma`; evaluation is deterministic);
    weights: float `[n, m]`, the simplex weights of the members that produced them;
    member:  int `[n]`, ids that `Trainer.policy(state, member)` accepts.
    `n` may change between chunks (the archive grows and shrinks); `n == 0` is allowed.
    """

    returns: np.ndarray
    weights: np.ndarray
    member: np.ndarray


Policy = Callable[[Any, Any], Any]
"""`act(obs, key) -> action` for ONE observation (no batch axis), deterministic (the key
is accepted for a uniform signature and may be ignored), pure and jittable: the workflow
vmaps and jits it. `obs` and `action` follow `env.observation_space()` /
`env.action_space()`. Prefer returning `jax.tree_util.Partial(apply, params)`: a Partial
is a pytree, so `morl eval` passes every archive member to ONE compiled rollout instead
of compiling one per member. A policy whose action depends on what it has seen (PCN's
command) is a `morl.envs.evaluation.MemoryPolicy` instead, which the workflow carries."""


class Trainer(Protocol):
    """What `make_trainer(config, ...)` returns. Attributes are read-only."""

    config: Any  # the algorithm config it was built from
    env: Any  # the morl.envs.Environment it trains on (unwrapped or wrapped)
    num_runs: int | None  # None, or the size of the leading run axis of `state`

    def init(self, key: Any) -> Any:
        """The initial state; `key`: one key, or keys `[num_runs]` (see module docstring)."""
        ...

    def run_chunk(self, state: Any) -> tuple[Any, Mapping[str, Any]]:
        """Advance training by one chunk (the config fixes its size; the last chunk may
        overshoot `total_steps`). Returns the new state and metrics: a flat dict of
        arrays. Conventions the workflow logs: scalars (`[]`, or `[R]` with `num_runs`)
        as TensorBoard scalars `train/<key>`; `"member_returns"`: `[pop, m]` (`[R, pop, m]`)
        the population's latest evaluated returns, written to metrics.csv."""
        ...

    def done(self, state: Any) -> bool:
        """True once the budget is spent (host bool; reads a counter in `state`)."""
        ...

    def env_steps(self, state: Any) -> int:
        """Environment steps taken so far by one run (the same for every run)."""
        ...

    def front(self, state: Any, run: int = 0) -> Front:
        """The current archive of run `run` (0 when `num_runs` is None)."""
        ...

    def policy(self, state: Any, member: int, run: int = 0) -> Policy:
        """The deterministic policy of archive member `member` (an id from `Front.member`)."""
        ...


class MakeTrainer(Protocol):
    def __call__(
        self, config: Any, *, num_runs: int | None = None, hparams: Mapping[str, np.ndarray] | None = None
    ) -> Trainer: ...
