"""PGMORL's trainer: a warm-up, then generations of prediction-guided tasks.

    trainer = make_trainer(PGMORLConfig(env="deep-sea-treasure-v0", ...))
    state = trainer.init(jax.random.key(0))
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)
    front = trainer.front(state)

Every chunk trains the `n = pop_size` policies as ONE vmapped PPO population for
`update_iterations` updates (`morl.agents.ppo`), evaluating all of them after every
`eval_period` updates into the archive (the paper's external Pareto front). At the end
of a chunk each policy becomes a node of the optimisation history (`OptGraph`: returns,
training weight, parent node) and is offered to the performance buffers (`buffers`,
PGMORL's "population"). The schedule (`PGMORLConfig.budget`):
- `warmup_chunks` chunks continue the warm-up policies on evenly spread weights;
- `generations` chunks each start from `n` tasks chosen on the host (`select_tasks`:
  `prediction` fits each member's improvement model on the history, `selection` picks
  greedily by predicted hypervolume and sparsity of the archive). A task copies a
  buffered policy (parameters, Adam moments, normalisation statistics) with a new
  weight.
Both stages run the same compiled program (`_chunk_one`: build the tasks, train them);
in the warm-up every task continues itself.
The host selection reads only the state (its randomness is seeded from the state's key
and chunk counter), so a run resumed from a checkpoint continues identically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from morl.agents import ppo
from morl.algorithms.api import Front
from morl.algorithms.pgmorl.config import PGMORLConfig
from morl.algorithms.pgmorl.buffers import PerformanceBuffers, buffers_update
from morl.algorithms.pgmorl.prediction import OptGraph
from morl.algorithms.pgmorl.selection import candidates, greedy_select
from morl.decomposition.weights import uniform_weights
from morl.envs import make as make_env
from morl.envs.registry import parse_kwargs
from morl.pareto import ParetoArchive, archive_init, archive_insert


FIT_CACHE = 20_000  # prediction fits remembered between generations (then forgotten at once)


class Sample(NamedTuple):
    """A buffered policy: what a task copies. `params`, `opt_state` (Adam moments),
    `shaping_state` (return normalisation), `weights [m]` it was trained on, `node` its
    history node."""

    params: Any
    opt_state: Any
    shaping_state: Any
    weights: jax.Array
    node: jax.Array


class Member(NamedTuple):
    """Archive payload: `params`, `shaping_state`, training `weights [m]`, unique `member` id, `node`."""

    params: Any
    shaping_state: Any
    weights: jax.Array
    member: jax.Array
    node: jax.Array


class Graph(NamedTuple):
    """The optimisation history as arrays: `returns [G, m]`, `weights [G, m]`, `prev [G]`
    (-1: root), `size` nodes used."""

    returns: jax.Array
    weights: jax.Array
    prev: jax.Array
    size: jax.Array


@struct.dataclass
class PGMORLState:
    """The whole training state. `population [n]` the current tasks' PPO states, `nodes [n]`
    their latest history nodes; `buffers` the performance buffers; `graph`; `archive` (payload `Member`); `rng`;
    `chunk` chunks done; `next_member` next archive id."""

    population: ppo.PPOState
    nodes: jax.Array
    buffers: PerformanceBuffers
    graph: Graph
    archive: ParetoArchive
    rng: jax.Array
    chunk: jax.Array
    next_member: jax.Array


class Tasks(NamedTuple):
    """One generation's tasks (host numpy): `source [n]` rows of the pool (buffer rows,
    then `K + j` for current task j continuing), `weights [n, m]`, `predicted [n, m]` (NaN
    for a continuation that the selection did not pick)."""

    source: np.ndarray
    weights: np.ndarray
    predicted: np.ndarray


class PGMORLTrainer:
    """The `morl.algorithms.api.Trainer` of PGMORL (see the module docstring)."""

    def __init__(self, config: PGMORLConfig, num_runs: int | None = None, hparams: Mapping[str, Any] | None = None,
                 devices: int | None = None):
        if not isinstance(config, PGMORLConfig):
            raise TypeError(f"make_trainer needs a PGMORLConfig, got {type(config).__name__}")
        if num_runs is not None:
            raise NotImplementedError("pgmorl: num_runs is not supported yet (the task selection runs on the host)")
        if hparams:
            raise NotImplementedError("pgmorl: hparams are not supported yet")
        if devices is not None and devices > 1:
            raise NotImplementedError("pgmorl: devices > 1 is not supported yet")
        self.config = config
        self.num_runs = None
        self.env = make_env(config.env, **parse_kwargs(config.env_kwargs))
        m = self.env.reward_dim
        self.budget = config.budget(m)
        self.ref = np.asarray(config.reference, np.float64)
        self.reference = jnp.asarray(self.ref, jnp.float32)
        self.hyper = config.ppo.hyperparams().validate()
        self.warmup_weights = jnp.asarray(uniform_weights(m, config.pop_size), jnp.float32)
        total_updates = config.warmup_iterations + self.budget.generations * config.update_iterations
        ppo_config = config.ppo.ppo_config(config.eval_gamma, config.max_eval_steps, total_updates)
        self.learner = ppo.make(self.env, ppo_config)
        self._act = functools.partial(_act, self.learner.act)  # one object: one compiled rollout for all members
        self._fits: dict = {}  # prediction fits by their data: a pure memo, results unchanged
        self._init = jax.jit(self._init_one)
        self._step = jax.jit(self._chunk_one)

    # --- the Trainer protocol ------------------------------------------------------------
    def init(self, key: jax.Array) -> PGMORLState:
        return self._init(key)

    def run_chunk(self, state: PGMORLState) -> tuple[PGMORLState, dict[str, Any]]:
        if self.done(state):
            raise RuntimeError("run_chunk: the budget is already spent")
        tasks = self.select_tasks(state)
        source, weights = jnp.asarray(tasks.source, jnp.int32), jnp.asarray(tasks.weights, jnp.float32)
        state, metrics = self._step(state, source, weights)
        return state, {**metrics, "predicted_returns": tasks.predicted}

    def done(self, state: PGMORLState) -> bool:
        return self._chunk(state) >= self.num_chunks

    def env_steps(self, state: PGMORLState) -> int:
        return self._chunk(state) * self.budget.chunk_steps

    def front(self, state: PGMORLState, run: int = 0) -> Front:
        self._check_run(run)
        valid = np.asarray(state.archive.valid)
        payload: Member = state.archive.payload
        return Front(
            returns=np.asarray(state.archive.points)[valid],
            weights=np.asarray(payload.weights)[valid],
            member=np.asarray(payload.member)[valid],
        )

    def policy(self, state: PGMORLState, member: int, run: int = 0):
        """`act(obs, key) -> action`, deterministic, for archive member id `member`."""
        self._check_run(run)
        ids = np.asarray(state.archive.payload.member)
        rows = np.flatnonzero(np.asarray(state.archive.valid) & (ids == member))
        if rows.size == 0:
            raise KeyError(f"member {member} is not in the archive")
        row = int(rows[0])
        params = jax.tree_util.tree_map(lambda x: x[row], state.archive.payload.params)
        weights = state.archive.payload.weights[row]
        return jax.tree_util.Partial(self._act, params, weights)

    # --- host side ---------------------------------------------------------------------
    @property
    def num_chunks(self) -> int:
        return self.budget.warmup_chunks + self.budget.generations

    def graph(self, state: PGMORLState) -> OptGraph:
        """The optimisation history as host arrays (used nodes only)."""
        size = int(state.graph.size)
        return OptGraph(
            returns=np.asarray(state.graph.returns, np.float64)[:size],
            weights=np.asarray(state.graph.weights, np.float64)[:size],
            prev=np.asarray(state.graph.prev)[:size],
        )

    def select_tasks(self, state: PGMORLState) -> Tasks:
        """The next chunk's tasks. Warm-up: every task continues. Generations: Algorithm 2
        on the host (predict every buffered policy's candidate tasks, pick `n`
        greedily); tasks the selection cannot fill continue current tasks on their own
        weights."""
        c, n, capacity = self.config, self.config.pop_size, self.budget.buffer_capacity
        if self._chunk(state) < self.budget.warmup_chunks:
            nan = np.full((n, self.env.reward_dim), np.nan)
            return Tasks(capacity + np.arange(n), np.asarray(state.population.weights, np.float64), nan)
        graph = self.graph(state)
        valid = np.asarray(state.buffers.valid)
        nodes = np.asarray(state.buffers.members.node)[valid]
        key_data = np.asarray(jax.random.key_data(state.rng)).ravel().astype(np.uint64)
        rng = np.random.default_rng([*key_data.tolist(), self._chunk(state)])
        if len(self._fits) > FIT_CACHE:
            self._fits.clear()
        cands = candidates(graph, nodes, c.num_weight_candidates, c.delta_weight, rng, self._fits)
        archive_points = np.asarray(state.archive.points, np.float64)[np.asarray(state.archive.valid)]
        picks = greedy_select(archive_points, cands.predicted, n, self.ref, c.sparsity)
        rows = np.flatnonzero(valid)
        source = [int(rows[cands.member[i]]) for i in picks]
        weights = [cands.weights[i] for i in picks]
        predicted = [cands.predicted[i] for i in picks]
        learner_weights = np.asarray(state.population.weights, np.float64)
        for j in range(n - len(picks)):
            source.append(capacity + j)
            weights.append(learner_weights[j])
            predicted.append(np.full(self.env.reward_dim, np.nan))
        weights = np.asarray(weights)
        return Tasks(np.asarray(source), weights / weights.sum(axis=1, keepdims=True), np.asarray(predicted))

    def _chunk(self, state: PGMORLState) -> int:
        return int(np.asarray(state.chunk).reshape(-1)[0])

    def _check_run(self, run: int) -> None:
        if run != 0:
            raise ValueError(f"run={run}: this trainer has a single run")

    # --- jitted programs -----------------------------------------------------------------
    def _init_one(self, key: jax.Array) -> PGMORLState:
        c, b, m, n = self.config, self.budget, self.env.reward_dim, self.config.pop_size
        key, key_pop, key_eval = jax.random.split(key, 3)
        hypers = self.hyper.replicate(n)
        population = jax.vmap(self.learner.init)(jax.random.split(key_pop, n), self.warmup_weights, hypers)
        returns = self._evaluate(key_eval, population.params, population.weights)
        graph = Graph(
            returns=jnp.zeros((b.graph_nodes, m), jnp.float32).at[:n].set(returns),
            weights=jnp.zeros((b.graph_nodes, m), jnp.float32).at[:n].set(population.weights),
            prev=jnp.full(b.graph_nodes, -1, jnp.int32),
            size=jnp.int32(n),
        )
        example = self._sample(population, jnp.arange(n, dtype=jnp.int32))
        members = jax.tree_util.tree_map(lambda x: jnp.zeros((b.buffer_capacity,) + x.shape[1:], x.dtype), example)
        buffers = PerformanceBuffers(
            returns=jnp.zeros((b.buffer_capacity, m), jnp.float32), valid=jnp.zeros(b.buffer_capacity, bool),
            members=members,
        )
        archive_example = Member(
            params=_first(population.params), shaping_state=_first(population.shaping_state),
            weights=jnp.zeros(m, jnp.float32), member=jnp.int32(0), node=jnp.int32(0),
        )
        return PGMORLState(
            population=population,
            nodes=jnp.arange(n, dtype=jnp.int32),
            buffers=buffers,
            graph=graph,
            archive=archive_init(c.archive_capacity, m, archive_example),
            rng=key,
            chunk=jnp.int32(0),
            next_member=jnp.int32(0),
        )

    def _sample(self, population: ppo.PPOState, nodes: jax.Array) -> Sample:
        return Sample(population.params, population.opt_state, population.shaping_state, population.weights, nodes)

    def _evaluate(self, key: jax.Array, params: Any, weights: jax.Array) -> jax.Array:
        """Deterministic eval-gamma returns `[P, m]` of `P` policies."""
        episodes = self.config.eval_episodes
        keys = jax.random.split(key, weights.shape[0])
        result = jax.vmap(lambda k, p, w: self.learner.evaluate(k, p, w, episodes))(keys, params, weights)
        return result.discounted

    def _chunk_one(self, state: PGMORLState, source: jax.Array, weights: jax.Array):
        """Build the `n` tasks (`source [n]` pool rows, `weights [n, m]`) and train them.
        The pool is the buffers, then the current tasks: a task from buffer row r
        starts from fresh environments with that member's parameters, Adam moments and
        normalisation statistics; a task `K + j` continues current task j as it is (its
        environments too) on `weights[j]` (the warm-up: every task continues)."""
        c, n = self.config, self.config.pop_size
        capacity = self.budget.buffer_capacity
        rng, key_init = jax.random.split(state.rng)
        pool = jax.tree_util.tree_map(
            lambda a, b: jnp.concatenate([a, b]), state.buffers.members, self._sample(state.population, state.nodes)
        )
        start: Sample = jax.tree_util.tree_map(lambda x: x[source], pool)
        fresh = jax.vmap(self.learner.init)(jax.random.split(key_init, n), weights, self.hyper.replicate(n))
        fresh = fresh.replace(
            params=start.params, opt_state=start.opt_state, shaping_state=start.shaping_state,
            update_count=state.population.update_count,
        )
        current = jax.tree_util.tree_map(lambda x: x[jnp.clip(source - capacity, 0, n - 1)], state.population)
        current = current.replace(weights=weights)
        keep = source >= capacity
        population = jax.tree_util.tree_map(
            lambda a, b: jnp.where(keep.reshape((n,) + (1,) * (a.ndim - 1)), a, b), current, fresh
        )
        stage = (state.chunk >= self.budget.warmup_chunks).astype(jnp.int32)
        return self._train_tasks(state.replace(rng=rng), population, start.node, stage)

    def _train_tasks(self, state: PGMORLState, population: ppo.PPOState, parents: jax.Array, stage: jax.Array):
        """`update_iterations` updates of `population [n]` with evaluations into the archive,
        then one history node per task (parent `parents [n]`) and the buffers' update."""
        c, n = self.config, self.config.pop_size
        rng, key_eval = jax.random.split(state.rng)
        evals = c.update_iterations // c.eval_period

        def _stretch(carry, xs):
            population, archive = carry
            index, key = xs
            population, metrics = jax.lax.scan(
                lambda pop, _: jax.vmap(self.learner.update)(pop), population, None, c.eval_period
            )
            returns = self._evaluate(key, population.params, population.weights)
            members = Member(
                params=population.params, shaping_state=population.shaping_state, weights=population.weights,
                member=state.next_member + index * n + jnp.arange(n, dtype=jnp.int32),
                node=state.graph.size + jnp.arange(n, dtype=jnp.int32),
            )
            ok = jnp.all(returns > self.reference, axis=-1)
            archive = archive_insert(archive, returns, members, ok)
            return (population, archive), (metrics, returns)

        xs = (jnp.arange(evals, dtype=jnp.int32), jax.random.split(key_eval, evals))
        (population, archive), (metrics, returns) = jax.lax.scan(_stretch, (population, state.archive), xs)
        returns = returns[-1]
        nodes = state.graph.size + jnp.arange(n, dtype=jnp.int32)
        graph = Graph(
            returns=jax.lax.dynamic_update_slice(state.graph.returns, returns, (state.graph.size, 0)),
            weights=jax.lax.dynamic_update_slice(state.graph.weights, population.weights, (state.graph.size, 0)),
            prev=jax.lax.dynamic_update_slice(state.graph.prev, parents.astype(jnp.int32), (state.graph.size,)),
            size=state.graph.size + n,
        )
        ok = jnp.all(jnp.isfinite(returns), axis=-1)
        buffers = buffers_update(
            state.buffers, returns, self._sample(population, nodes), ok, self.reference, c.pbuffer_num, c.pbuffer_size
        )
        new_state = state.replace(
            population=population, nodes=nodes, buffers=buffers, graph=graph, archive=archive, rng=rng,
            chunk=state.chunk + 1, next_member=state.next_member + evals * n,
        )
        names = ("policy_objective", "value_loss", "entropy", "approx_kl", "clip_fraction")
        out = {name: jnp.mean(metrics[name]) for name in names}
        out.update(
            member_returns=returns,
            archive_capacity=jnp.sum(archive.valid),
            buffer_size=jnp.sum(buffers.valid),
            stage=stage,
        )
        return new_state, out


def make_trainer(config: PGMORLConfig, *, num_runs: int | None = None, hparams: Mapping[str, Any] | None = None,
                 devices: int | None = None) -> PGMORLTrainer:
    """Validate `config` and build the trainer (nothing compiles until the first call)."""
    return PGMORLTrainer(config, num_runs, hparams, devices)


def _act(act, params, weights, obs, key):
    return act(params, obs, weights, key, deterministic=True)


def _first(tree: Any) -> Any:
    return jax.tree_util.tree_map(lambda x: x[0], tree)


__all__ = ["Graph", "Member", "PGMORLState", "PGMORLTrainer", "Sample", "Tasks", "make_trainer"]
