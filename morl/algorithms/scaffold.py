"""The population trainer scaffold: everything a population algorithm's `Trainer` needs
that is not the algorithm itself, written once.

An algorithm supplies a `PopulationAlgorithm` (its members' state and any state of its
own, one iteration, one evaluation, what the archive stores, how an archived member acts,
and what happens after an evaluation: weight adaptation, cooperation, reference points).
`PopulationTrainer` adds:

- the run axis (`num_runs` independent runs in one program, `jax.vmap`) and per-run
  hyperparameters (`hparams`, fields listed in the config's `vmappable`, only of the
  sections the configuration uses);
- device placement (`morl.parallel`: runs or members split over devices);
- the compiled chunk: `chunk_iterations` iterations in one `lax.scan`, an evaluation
  every `eval_period` iterations (and one of the untrained population in `init`) whose
  returns enter the Pareto archive;
- the `morl.algorithms.api.Trainer` protocol: `init`, `run_chunk`, `done`, `env_steps`,
  `front`, `policy`.

Random keys: `init` splits the run's key into `key_members, key_eval, key_rng` (members,
first evaluation, the state's `rng`) and passes `fold_in(key, 1)` for random initial
weights; each iteration splits `rng, key_eval = split(rng)`.

The whole training state is `PopulationState`, a pytree of arrays, so checkpoints and
resume need nothing more. `morl.algorithms.linear` is the smallest algorithm built on it
(docs/architecture.md walks through it); `morl.algorithms.morld` is MORL/D on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from morl import parallel
from morl.algorithms.api import Front
from morl.envs.core import Environment
from morl.pareto.archive import ParetoArchive, archive_front, archive_init, archive_insert

#: The iteration counter is an int32 inside the compiled program.
MAX_ITERATIONS = 2**31 - 1


class PopulationAlgorithm(Protocol):
    """What an algorithm gives the scaffold. Every function is pure and jittable. `members`
    is a pytree whose leaves carry the population axis `[pop]` (device placement may split
    it); `extra` is the rest of the algorithm's state, one per run (MORL/D: the ideal point
    z*; `None` for none). Randomness of an iteration lives in the members' own keys."""

    env: Environment
    pop_size: int
    steps_per_iteration: int  # env steps of one iteration, whole population

    def init(self, key: jax.Array, weights_key: jax.Array, hparams: Mapping[str, jax.Array]) -> tuple[Any, Any]:
        """The untrained `(members, extra)`: `key` draws the members (one
        `jax.random.split(key, pop_size)` key each), `weights_key` random initial weights
        if any; `hparams` maps vmappable field names to this run's values
        (`section_hparams` picks one section's)."""
        ...

    def iterate(self, members: Any, extra: Any) -> tuple[Any, Any, dict[str, jax.Array]]:
        """One iteration (every member updated once): `(members, extra, metrics)`, metrics
        scalars or small arrays."""
        ...

    def evaluate(self, members: Any, key: jax.Array) -> jax.Array:
        """The members' evaluated returns `[pop, m]` (discounted with `eval_gamma`)."""
        ...

    def payload(self, members: Any) -> dict[str, Any]:
        """What the archive keeps per member, leaves `[pop, ...]`: at least `"weights"
        [pop, m]` (simplex) and `"actor"` (whatever `act` needs)."""
        ...

    def after_evaluation(
        self, members: Any, extra: Any, returns: jax.Array, archive: ParetoArchive, initial: bool
    ) -> tuple[Any, Any]:
        """`(members, extra)` after an evaluation whose `returns [pop, m]` are already in
        `archive`: weight adaptation, cooperation, reference points... `initial` is True
        for the evaluation of the untrained population in `init` (a Python bool). Return
        both unchanged for none."""
        ...

    def act(self, actor: Any, weights: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array:
        """The deterministic action of an archived member for one observation."""
        ...


@dataclass(frozen=True)
class Schedule:
    """`total_steps`: the env-step budget of one run (whole population); an evaluation
    every `eval_period` iterations; `chunk_iterations` iterations per compiled chunk;
    `archive_capacity` Pareto archive slots; `vmappable` the config fields `hparams` may
    set (dotted names, e.g. "ppo.learning_rate"); `sections`, when set, the sections of
    `vmappable` this configuration uses (MORL/D: only its chosen learner's), so an
    `hparams` name of another section is refused."""

    total_steps: int
    eval_period: int
    chunk_iterations: int
    archive_capacity: int
    vmappable: tuple[str, ...] = ()
    sections: tuple[str, ...] | None = None


@struct.dataclass
class PopulationState:
    """One run's training state: the algorithm's `members` and `extra`, the Pareto
    `archive`, the latest evaluated `member_returns [pop, m]`, the `iteration` counter and
    the `rng` (each iteration splits off its evaluation key: `rng, key = split(rng)`)."""

    members: Any
    archive: ParetoArchive
    member_returns: jax.Array
    iteration: jax.Array
    rng: jax.Array
    extra: Any = None


class PopulationTrainer:
    """`morl.algorithms.api.Trainer` for any `PopulationAlgorithm` (see the module docstring)."""

    def __init__(
        self,
        config: Any,
        algorithm: PopulationAlgorithm,
        schedule: Schedule,
        *,
        num_runs: int | None = None,
        hparams: Mapping[str, np.ndarray] | None = None,
        devices: int | None = None,
    ):
        self.config, self.algorithm, self.schedule = config, algorithm, schedule
        self.env = algorithm.env
        self.num_runs = check_num_runs(num_runs, hparams)
        self.hparams = check_hparams(schedule.vmappable, self.num_runs, hparams, schedule.sections)
        iterations = -(-schedule.total_steps // algorithm.steps_per_iteration)
        if iterations > MAX_ITERATIONS:
            raise ValueError(f"total_steps={schedule.total_steps:,} needs {iterations:,} iterations; at most {MAX_ITERATIONS:,}")
        self.env_steps_per_chunk = algorithm.steps_per_iteration * schedule.chunk_iterations
        self.placement = parallel.placement(devices, num_runs=self.num_runs, population=algorithm.pop_size)
        self._init = parallel.jit_init(self._over_runs(self._init_one, with_index=True), self.placement)
        self._run_chunk = parallel.jit_step(self._over_runs(self._chunk), self.placement)

    # --- the compiled program ---------------------------------------------------------
    def _over_runs(self, fn: Any, with_index: bool = False) -> Any:
        if self.num_runs is None:
            return (lambda key: fn(key, 0)) if with_index else fn
        if with_index:
            return lambda keys: jax.vmap(fn)(keys, jnp.arange(self.num_runs))
        return jax.vmap(fn)

    def _init_one(self, key: jax.Array, run: jax.Array) -> PopulationState:
        key_members, key_eval, key_rng = jax.random.split(key, 3)
        hparams = {name: values[run] for name, values in self.hparams.items()}
        members, extra = self.algorithm.init(key_members, jax.random.fold_in(key, 1), hparams)
        example = jax.tree_util.tree_map(lambda x: x[0], self._payload(members, jnp.int32(0)))
        archive = archive_init(self.schedule.archive_capacity, self.env.reward_dim, example)
        returns = jnp.zeros((self.algorithm.pop_size, self.env.reward_dim), jnp.float32)
        state = PopulationState(members, archive, returns, jnp.int32(0), key_rng, extra)
        return self._evaluate(state, key_eval, initial=True)

    def _payload(self, members: Any, iteration: jax.Array) -> dict[str, Any]:
        pop = self.algorithm.pop_size
        return {
            **self.algorithm.payload(members),
            "member": jnp.arange(pop, dtype=jnp.int32),
            "iteration": jnp.full((pop,), iteration, jnp.int32),
        }

    def _evaluate(self, state: PopulationState, key: jax.Array, initial: bool = False) -> PopulationState:
        returns = self.algorithm.evaluate(state.members, key)
        archive = archive_insert(state.archive, returns, self._payload(state.members, state.iteration))
        members, extra = self.algorithm.after_evaluation(state.members, state.extra, returns, archive, initial)
        return state.replace(members=members, extra=extra, archive=archive, member_returns=returns)

    def _iteration(self, state: PopulationState, _: Any) -> tuple[PopulationState, dict[str, jax.Array]]:
        members, extra, metrics = self.algorithm.iterate(state.members, state.extra)
        rng, key_eval = jax.random.split(state.rng)
        state = state.replace(members=members, extra=extra, iteration=state.iteration + 1, rng=rng)
        state = jax.lax.cond(
            state.iteration % self.schedule.eval_period == 0,
            lambda s: self._evaluate(s, key_eval),
            lambda s: s,
            state,
        )
        return state, metrics

    def _chunk(self, state: PopulationState) -> tuple[PopulationState, dict[str, jax.Array]]:
        state, history = jax.lax.scan(self._iteration, state, None, self.schedule.chunk_iterations)
        metrics = jax.tree_util.tree_map(lambda x: x[-1], history)
        metrics.update(
            member_returns=state.member_returns,
            archive_size=jnp.sum(state.archive.valid).astype(jnp.int32),
            iteration=state.iteration,
        )
        return state, metrics

    # --- the Trainer protocol ------------------------------------------------------------
    def init(self, key: jax.Array) -> PopulationState:
        return self._init(key)

    def run_chunk(self, state: PopulationState) -> tuple[PopulationState, dict[str, jax.Array]]:
        return self._run_chunk(state)

    def done(self, state: PopulationState) -> bool:
        return self.env_steps(state) >= self.schedule.total_steps

    def env_steps(self, state: PopulationState) -> int:
        iteration = np.asarray(state.iteration).reshape(-1)[0]
        return int(iteration) * self.algorithm.steps_per_iteration

    def _run(self, state: PopulationState, run: int) -> PopulationState:
        if self.num_runs is None:
            if run != 0:
                raise ValueError(f"run={run}: this trainer has a single run")
            return state
        if not 0 <= run < self.num_runs:
            raise ValueError(f"run={run} is outside [0, {self.num_runs})")
        return jax.tree_util.tree_map(lambda x: x[run], state)

    def front(self, state: PopulationState, run: int = 0) -> Front:
        archive = self._run(state, run).archive
        points, payload = archive_front(archive)
        slots = np.flatnonzero(np.asarray(archive.valid))
        return Front(returns=np.asarray(points), weights=np.asarray(payload["weights"]), member=slots)

    def policy(self, state: PopulationState, member: int, run: int = 0) -> Any:
        archive = self._run(state, run).archive
        valid = np.flatnonzero(np.asarray(archive.valid))
        if member not in set(valid.tolist()):
            raise ValueError(f"member={member} is not in the archive (valid ids: {valid.tolist()})")
        actor = jax.tree_util.tree_map(lambda x: x[member], archive.payload["actor"])
        return jax.tree_util.Partial(self._act, actor, archive.payload["weights"][member])

    def _act(self, actor: Any, weights: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array:
        """A bound method, so every member's `Partial` shares one compiled rollout."""
        return self.algorithm.act(actor, weights, obs, key)


def check_num_runs(num_runs: int | None, hparams: Mapping[str, np.ndarray] | None) -> int | None:
    """`num_runs` validated (None: one run without a run axis)."""
    if num_runs is None:
        if hparams:
            raise ValueError("hparams need num_runs (one value per run)")
        return None
    if not isinstance(num_runs, (int, np.integer)) or isinstance(num_runs, bool) or num_runs < 1:
        raise ValueError(f"num_runs={num_runs!r} must be a positive int")
    return int(num_runs)


def check_hparams(
    vmappable: tuple[str, ...],
    num_runs: int | None,
    hparams: Mapping[str, np.ndarray] | None,
    sections: tuple[str, ...] | None = None,
) -> dict[str, jax.Array]:
    """`{dotted field: [num_runs] float32}` after checking names, sections and shapes."""
    out = {}
    for name, values in (hparams or {}).items():
        if name not in vmappable:
            raise ValueError(f"hparams: '{name}' is not vmappable; vmappable fields: {', '.join(vmappable)}")
        section = name.partition(".")[0]
        if sections is not None and "." in name and section not in sections:
            raise ValueError(
                f"hparams: '{name}' belongs to the {section} section, which this configuration does not use "
                f"(it uses: {', '.join(sections)})"
            )
        values = np.asarray(values, np.float32)
        if values.shape != (num_runs,):
            raise ValueError(f"hparams['{name}'] has shape {values.shape}, expected ({num_runs},)")
        out[name] = jnp.asarray(values)
    return out


def section_hparams(hparams: Mapping[str, jax.Array], section: str) -> dict[str, jax.Array]:
    """The values of one section's fields, by field name: `{"ppo.gamma": g} -> {"gamma": g}`."""
    prefix = f"{section}."
    return {name.removeprefix(prefix): value for name, value in hparams.items() if name.startswith(prefix)}
