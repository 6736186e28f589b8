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
  returns enter the Pareto archive; the evaluation is a `lax.cond` whose predicate comes
  from the chunk's first iteration taken outside the run `vmap` (runs advance in
  lockstep), so with several runs it stays a conditional instead of a select that
  evaluates every iteration;
- the `morl.algorithms.api.Trainer` protocol: `init`, `run_chunk`, `done`, `env_steps`,
  `front`, `policy`.

Random keys: `init` splits the run's key into `key_members, key_eval, key_rng` (members,
first evaluation, the state's `rng`) and passes `fold_in(key, 1)` for random initial
weights; each iteration splits `rng, key_eval = split(rng)`. Without the initial
evaluation (`Schedule.initial_evaluation=False`) `init` splits `key_rng, key_members`, or
calls `Schedule.split_key(key) -> (key_members, key_rng)` when the algorithm lays out its
keys itself (Envelope: `split(key, 4)`, the members' three keys and the state's `rng`).

Stages: an algorithm whose training has phases with programs of their own (C-MORL: the
Pareto initialisation, then constrained extension rounds), or one program of its own
(Envelope: evaluations at block boundaries, one random stream), lists them in
`Schedule.stages`, each a `Stage`: `chunks` compiled chunks of its `program` (one run's
`PopulationState -> (PopulationState, metrics)`, written with the algorithm's own
functions), each advancing `iteration` by `iterations` and spending `env_steps`. The
scaffold compiles one program per stage (vmapped over runs, placed, the state donated),
picks the next chunk's stage from `iteration` on the host, and reports `stage` (its index)
with every chunk's metrics; without stages the chunk is the iterate/evaluate loop above.

The whole training state is `PopulationState`, a pytree of arrays, so checkpoints and
resume need nothing more. `morl.algorithms.linear` is the smallest algorithm built on it
(docs/architecture.md walks through it); `morl.algorithms.morld` is MORL/D on it,
`morl.algorithms.cmorl` C-MORL (staged), `morl.algorithms.envelope` Envelope Q-learning
and `morl.algorithms.gpi_ls` GPI-LS (one stage each), and `morl.algorithms.conditioned`
the weight-conditioned single networks (CAPQL, preference-conditioned PPO).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from morl import parallel
from morl.algorithms.api import MAX_ITERATIONS, Front
from morl.envs.core import Environment
from morl.pareto.archive import ParetoArchive, archive_front, archive_init, archive_insert


class PopulationAlgorithm(Protocol):
    """What an algorithm gives the scaffold. Every function is pure and jittable. `members`
    is a pytree whose leaves carry the population axis `[pop]` (device placement may split
    it); `extra` is the rest of the algorithm's state, one per run (MORL/D: the ideal point
    z*; `None` for none). Randomness of an iteration lives in the members' own keys.

    An evaluation has `k` rows, `k` the leading size of `payload(members)["weights"]`:
    `pop_size` for a population; a single weight-conditioned network
    (`morl.algorithms.conditioned`) is a population of one (`pop_size = 1`, `members` its
    learner state without a population axis) evaluated on `k` evaluation weights."""

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
        """The evaluated returns `[k, m]`, one row per evaluated policy (discounted with
        `eval_gamma`)."""
        ...

    def payload(self, members: Any) -> dict[str, Any]:
        """What the archive keeps per evaluated row, leaves `[k, ...]`: at least
        `"weights" [k, m]` (simplex) and `"actor"` (whatever `act` needs)."""
        ...

    def after_evaluation(
        self, members: Any, extra: Any, returns: jax.Array, archive: ParetoArchive, initial: bool
    ) -> tuple[Any, Any]:
        """`(members, extra)` after an evaluation whose `returns [k, m]` are already in
        `archive`: weight adaptation, cooperation, reference points... `initial` is True
        for the evaluation of the untrained population in `init` (a Python bool). Return
        both unchanged for none."""
        ...

    def act(self, actor: Any, weights: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array:
        """The deterministic action of an archived member for one observation."""
        ...


@dataclass(frozen=True)
class Stage:
    """One phase of a staged algorithm (see the module docstring): `chunks` chunks of
    `program` (one run: `program(state) -> (state, metrics)`, pure and jittable; the
    scaffold adds `iterations` to `state.iteration` afterwards), each spending `env_steps`
    env steps (whole population)."""

    name: str
    chunks: int
    iterations: int
    env_steps: int
    program: Callable[[Any], tuple[Any, dict[str, jax.Array]]]


@dataclass(frozen=True)
class Schedule:
    """`total_steps`: the env-step budget of one run (whole population); an evaluation
    every `eval_period` iterations; `chunk_iterations` iterations per compiled chunk;
    `archive_capacity` Pareto archive slots; `vmappable` the config fields `hparams` may
    set (dotted names, e.g. "ppo.learning_rate"); `sections`, when set, the sections of
    `vmappable` this configuration uses (MORL/D: only its chosen learner's), so an
    `hparams` name of another section is refused.

    `stages`: a staged algorithm's phases (`Stage`; then `eval_period` and
    `chunk_iterations` are the algorithm's business and `total_steps` is their sum);
    `initial_evaluation`: whether `init` evaluates the untrained population into the
    archive; `member_ids`: False names an archived member by its archive slot, True by the
    unique id the algorithm writes into its payload's `"member"`; `split_key`, without the
    initial evaluation, the algorithm's own `(key_members, key_rng)` of the run's key
    (`init` passes `key_members` to `PopulationAlgorithm.init` and starts `rng` at
    `key_rng`; None: `key_rng, key_members = split(key)`)."""

    total_steps: int
    eval_period: int
    chunk_iterations: int
    archive_capacity: int
    vmappable: tuple[str, ...] = ()
    sections: tuple[str, ...] | None = None
    stages: tuple[Stage, ...] = ()
    initial_evaluation: bool = True
    member_ids: bool = False
    split_key: Callable[[jax.Array], tuple[jax.Array, jax.Array]] | None = None


def single_stage_schedule(
    config: Any,
    eval_period: int,
    program: Callable[[Any], tuple[Any, dict[str, jax.Array]]],
    split_key: Callable[[jax.Array], tuple[jax.Array, jax.Array]],
) -> Schedule:
    """The schedule of an algorithm whose whole run is one stage "train" of `program`
    chunks, with its own key layout and no initial evaluation (Envelope, GPI-LS).
    `config` has `total_iterations`, `chunk_iterations`, `steps_per_iteration`,
    `archive_capacity` and `vmappable`; the last chunk may overshoot the budget."""
    chunks = -(-config.total_iterations // config.chunk_iterations)
    steps = config.chunk_iterations * config.steps_per_iteration
    return Schedule(
        chunks * steps, eval_period, config.chunk_iterations, config.archive_capacity, config.vmappable,
        stages=(Stage("train", chunks, config.chunk_iterations, steps, program),),
        initial_evaluation=False, split_key=split_key,
    )  # fmt: skip


@struct.dataclass
class PopulationState:
    """One run's training state: the algorithm's `members` and `extra`, the Pareto
    `archive`, the latest evaluated `member_returns [k, m]`, the `iteration` counter and
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
        if schedule.initial_evaluation and schedule.split_key is not None:
            raise ValueError("Schedule.split_key lays out the keys of an init without the initial evaluation")
        if schedule.stages:
            iterations = sum(stage.chunks * stage.iterations for stage in schedule.stages)
        else:
            iterations = -(-schedule.total_steps // algorithm.steps_per_iteration)
        if iterations > MAX_ITERATIONS:
            raise ValueError(f"total_steps={schedule.total_steps:,} needs {iterations:,} iterations; at most {MAX_ITERATIONS:,}")
        self.env_steps_per_chunk = algorithm.steps_per_iteration * schedule.chunk_iterations
        self.placement = parallel.placement(devices, num_runs=self.num_runs, population=algorithm.pop_size)
        self._init = parallel.jit_init(self._over_runs(self._init_one, with_index=True), self.placement)
        self._run_chunk = parallel.jit_step(self._chunk_over_runs, self.placement)
        self._stage_chunks = [
            parallel.jit_step(self._over_runs(partial(self._stage_chunk, index)), self.placement, donate=True)
            for index in range(len(schedule.stages))
        ]

    # --- the compiled program ---------------------------------------------------------
    def _over_runs(self, fn: Any, with_index: bool = False) -> Any:
        if self.num_runs is None:
            return (lambda key: fn(key, 0)) if with_index else fn
        if with_index:
            return lambda keys: jax.vmap(fn)(keys, jnp.arange(self.num_runs))
        return vmap_runs(fn, self.num_runs)

    def _chunk_over_runs(self, state: PopulationState) -> tuple[PopulationState, dict[str, jax.Array]]:
        """`_chunk` of every run, given the chunk's first iteration UNBATCHED (run 0's: runs
        advance in lockstep), so the evaluation schedule stays a real `lax.cond` under the
        run `vmap` (a batched predicate would turn it into a select that evaluates every
        iteration and discards the result)."""
        if self.num_runs is None:
            return self._chunk(state, state.iteration)
        return jax.vmap(self._chunk, in_axes=(0, None))(state, state.iteration[0])

    def _init_one(self, key: jax.Array, run: jax.Array) -> PopulationState:
        if self.schedule.initial_evaluation:
            key_members, key_eval, key_rng = jax.random.split(key, 3)
        elif self.schedule.split_key is not None:
            key_members, key_rng = self.schedule.split_key(key)
        else:
            key_rng, key_members = jax.random.split(key)
        hparams = {name: values[run] for name, values in self.hparams.items()}
        members, extra = self.algorithm.init(key_members, jax.random.fold_in(key, 1), hparams)
        payload = self._payload(members, jnp.int32(0))
        archive = archive_init(
            self.schedule.archive_capacity, self.env.reward_dim, jax.tree_util.tree_map(lambda x: x[0], payload)
        )
        returns = jnp.zeros((payload["weights"].shape[0], self.env.reward_dim), jnp.float32)
        state = PopulationState(members, archive, returns, jnp.int32(0), key_rng, extra)
        return self._evaluate(state, key_eval, initial=True) if self.schedule.initial_evaluation else state

    def _payload(self, members: Any, iteration: jax.Array) -> dict[str, Any]:
        payload = self.algorithm.payload(members)
        rows = payload["weights"].shape[0]  # pop_size, or a conditioned network's evaluation weights
        return {
            **payload,
            "member": jnp.arange(rows, dtype=jnp.int32),
            "iteration": jnp.full((rows,), iteration, jnp.int32),
        }

    def _evaluate(self, state: PopulationState, key: jax.Array, initial: bool = False) -> PopulationState:
        returns = self.algorithm.evaluate(state.members, key)
        archive = archive_insert(state.archive, returns, self._payload(state.members, state.iteration))
        members, extra = self.algorithm.after_evaluation(state.members, state.extra, returns, archive, initial)
        return state.replace(members=members, extra=extra, archive=archive, member_returns=returns)

    def _iteration(self, state: PopulationState, iteration: jax.Array) -> tuple[PopulationState, dict[str, jax.Array]]:
        """One iteration; `iteration` is the number it completes (`state.iteration + 1`),
        passed unbatched (see `_chunk_over_runs`) to decide the evaluation."""
        members, extra, metrics = self.algorithm.iterate(state.members, state.extra)
        rng, key_eval = jax.random.split(state.rng)
        state = state.replace(members=members, extra=extra, iteration=state.iteration + 1, rng=rng)
        state = jax.lax.cond(
            iteration % self.schedule.eval_period == 0,
            lambda s: self._evaluate(s, key_eval),
            lambda s: s,
            state,
        )
        return state, metrics

    def _chunk(self, state: PopulationState, start: jax.Array) -> tuple[PopulationState, dict[str, jax.Array]]:
        """`chunk_iterations` iterations of one run from iteration `start` (= `state.iteration`,
        unbatched under the run `vmap`)."""
        iterations = start + 1 + jnp.arange(self.schedule.chunk_iterations, dtype=jnp.int32)
        state, history = jax.lax.scan(self._iteration, state, iterations)
        metrics = jax.tree_util.tree_map(lambda x: x[-1], history)
        metrics.update(
            member_returns=state.member_returns,
            archive_size=jnp.sum(state.archive.valid).astype(jnp.int32),
            iteration=state.iteration,
        )
        return state, metrics

    def _stage_chunk(self, index: int, state: PopulationState) -> tuple[PopulationState, dict[str, jax.Array]]:
        stage = self.schedule.stages[index]
        state, metrics = stage.program(state)
        state = state.replace(iteration=state.iteration + stage.iterations)
        metrics = dict(metrics)
        metrics.update(
            archive_size=jnp.sum(state.archive.valid).astype(jnp.int32),
            stage=jnp.int32(index),
            iteration=state.iteration,
        )
        return state, metrics

    # --- the Trainer protocol ------------------------------------------------------------
    def init(self, key: jax.Array) -> PopulationState:
        return self._init(key)

    def run_chunk(self, state: PopulationState, stage: str | None = None) -> tuple[PopulationState, dict[str, jax.Array]]:
        """One chunk. A staged trainer runs the scheduled stage's program; `stage` (a stage
        name) forces another one, e.g. the first stage past its budget for an ablation
        (its `iterations` still advance `state.iteration`, which `stage_of`, `done` and
        `env_steps` read as the schedule's)."""
        if not self.schedule.stages:
            if stage is not None:
                raise ValueError(f"stage={stage!r}: this trainer has no stages")
            return self._run_chunk(state)
        names = [s.name for s in self.schedule.stages]
        if stage is None:
            if self.done(state):
                raise RuntimeError("run_chunk: the budget is already spent")
            return self._stage_chunks[names.index(self.stage_of(state))](state)
        if stage not in names:
            raise ValueError(f"stage={stage!r}; this trainer's stages: {', '.join(names)}")
        return self._stage_chunks[names.index(stage)](state)

    def done(self, state: PopulationState) -> bool:
        if self.schedule.stages:
            return self.stage_of(state) is None
        return self.env_steps(state) >= self.schedule.total_steps

    def env_steps(self, state: PopulationState) -> int:
        iteration = int(np.asarray(state.iteration).reshape(-1)[0])
        if not self.schedule.stages:
            return iteration * self.algorithm.steps_per_iteration
        steps = 0
        for stage in self.schedule.stages:
            used = min(iteration, stage.chunks * stage.iterations)
            steps += used // stage.iterations * stage.env_steps
            iteration -= used
        return steps

    def stage_of(self, state: PopulationState) -> str | None:
        """The name of the stage the next chunk belongs to (None when the schedule is
        done); "train" for a trainer without stages."""
        if not self.schedule.stages:
            return None if self.done(state) else "train"
        iteration = int(np.asarray(state.iteration).reshape(-1)[0])
        for stage in self.schedule.stages:
            span = stage.chunks * stage.iterations
            if iteration < span:
                return stage.name
            iteration -= span
        return None

    def _run(self, state: PopulationState, run: int) -> PopulationState:
        return select_run(state, run, self.num_runs)

    def front(self, state: PopulationState, run: int = 0) -> Front:
        archive = self._run(state, run).archive
        points, payload = archive_front(archive)
        ids = self._member_ids(archive)[np.asarray(archive.valid)]
        return Front(returns=np.asarray(points), weights=np.asarray(payload["weights"]), member=ids)

    def policy(self, state: PopulationState, member: int, run: int = 0) -> Any:
        archive = self._run(state, run).archive
        slot = self.archive_slot(archive, member)
        actor = jax.tree_util.tree_map(lambda x: x[slot], archive.payload["actor"])
        return jax.tree_util.Partial(self._act, actor, archive.payload["weights"][slot])

    def _member_ids(self, archive: ParetoArchive) -> np.ndarray:
        """Every slot's member id: the payload's unique id with `member_ids`, else the slot."""
        if self.schedule.member_ids:
            return np.asarray(archive.payload["member"])
        return np.arange(archive.valid.shape[0])

    def archive_slot(self, archive: ParetoArchive, member: int) -> int:
        """The archive slot (of one run's `archive`) holding member id `member`; ValueError
        if it is not in the archive."""
        valid = np.asarray(archive.valid)
        rows = np.flatnonzero(valid & (self._member_ids(archive) == member))
        if rows.size == 0:
            known = self._member_ids(archive)[valid].tolist()
            raise ValueError(f"member={member} is not in the archive (valid ids: {known})")
        return int(rows[0])

    def _act(self, actor: Any, weights: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array:
        """A bound method, so every member's `Partial` shares one compiled rollout."""
        return self.algorithm.act(actor, weights, obs, key)


def vmap_runs(fn: Callable[..., Any], num_runs: int | None) -> Callable[..., Any]:
    """`fn` as is for one run (`num_runs` None), vmapped over the leading run axis otherwise."""
    return fn if num_runs is None else jax.vmap(fn)


def select_run(state: Any, run: int, num_runs: int | None) -> Any:
    """Run `run` of a state with `num_runs` runs (the state itself when there is no run axis)."""
    if num_runs is None:
        if run != 0:
            raise ValueError(f"run={run}: this trainer has a single run")
        return state
    if not 0 <= run < num_runs:
        raise ValueError(f"run={run} is outside [0, {num_runs})")
    return jax.tree_util.tree_map(lambda x: x[run], state)


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
            raise ValueError(f"hparams: '{name}' is not vmappable; vmappable fields: {', '.join(vmappable) or 'none'}")
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
