"""MORL/D as one compiled program: the whole population trains at once.

One iteration (`_iteration`), all inside `jit`:

    members = learner.update(members)                    # every member, its own weights (vmap)
    every eval_period iterations:
        returns = learner.evaluate(members)               # deterministic, discounted (eval_gamma)
        archive = archive_insert(archive, returns, ...)   # Pareto archive with the actors' params
        ideal   = max(ideal, max(archive) + tau)          # Tchebycheff's z*
        weights = psa(weights, returns, archive)          # weight adaptation (optional)
        members = transfer(members, best_neighbour(...))  # cooperation (optional)

`learner` is the base learner behind one population interface (learners.py): PPO, or SAC
whose members may share one replay buffer. `run_chunk` scans `chunk_iterations`
iterations; the host only loops over chunks for logging and checkpoints. With `num_runs=R`
the same program is vmapped over R seeds (and per-run hyperparameters), so a sweep is one
compile. With `devices=D` the runs (or,
when D does not divide R, the members) are split over D devices (`morl.parallel`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from morl import envs, parallel
from morl.algorithms.api import Front
from morl.algorithms.morld.config import MORLDConfig
from morl.algorithms.morld.cooperation import best_neighbour, neighbourhoods
from morl.algorithms.morld.learners import make_learner
from morl.algorithms.morld.weight_adaptation import pareto_simulated_annealing
from morl.decomposition import weights as weight_sets
from morl.decomposition.scalarization import Scalarization, make_scalarization
from morl.envs.registry import parse_kwargs
from morl.pareto.archive import ParetoArchive, archive_front, archive_init, archive_insert
from morl.shaping.config import make_chain


@struct.dataclass
class MORLDState:
    """One run's training state (a pytree of arrays; `num_runs` adds a leading axis).

    `members`: the base learner's population (`PPOState [pop]`, or `SACPopulation`:
    `SACState [pop]` and the shared replay buffer if any); `archive`: Pareto
    archive of evaluated returns `[capacity, m]` with payload `weights [m]`, `member`
    (population index), `iteration` and `actor` (the actor's parameters);
    `member_returns [pop, m]`: the latest evaluation; `ideal [m]`: z* for Tchebycheff, the
    best return seen (evaluations and training return estimates) + `ideal_tau`;
    `iteration`: updates done; `rng`."""

    members: Any
    archive: ParetoArchive
    member_returns: jax.Array
    ideal: jax.Array
    iteration: jax.Array
    rng: jax.Array


def initial_weights(config: MORLDConfig, reward_dim: int, key: jax.Array | None = None) -> jax.Array:
    """`[pop, m]` simplex weights of the chosen initialisation: "uniform" and "onehot" are
    fixed; "random" draws Dirichlet(1) weights from `key` (the run's own key, so every
    seed has its own weights)."""
    if config.weight_init == "uniform":
        return jnp.asarray(weight_sets.uniform_weights(reward_dim, config.pop_size), jnp.float32)
    if config.weight_init == "onehot":
        return jnp.asarray(weight_sets.one_hot_weights(reward_dim), jnp.float32)
    if key is None:
        raise ValueError("weight_init='random' draws the weights from the run's key; pass key")
    return weight_sets.random_weights(key, reward_dim, config.pop_size).astype(jnp.float32)


def _scalarization(config: MORLDConfig) -> Scalarization:
    params = {
        "augmented_tchebycheff": {"rho": config.augmented_rho},
        "pbi": {"theta": config.pbi_theta},
        "smooth_tchebycheff": {"mu": config.smooth_mu},
    }.get(config.scalarization, {})
    return make_scalarization(config.scalarization, **params)


class MORLDTrainer:
    """The `morl.algorithms.api.Trainer` of MORL/D (see the module docstring)."""

    def __init__(
        self,
        config: MORLDConfig,
        *,
        num_runs: int | None = None,
        hparams: Mapping[str, np.ndarray] | None = None,
        devices: int | None = None,
    ):
        if not isinstance(config, MORLDConfig):
            raise TypeError(f"config must be a MORLDConfig, got {type(config).__name__}")
        self.config = config
        self.env = envs.make(config.env, **parse_kwargs(config.env_kwargs))
        m = self.env.reward_dim
        config.validate(m)
        self.num_runs = _check_num_runs(num_runs, hparams)
        self.hparams = _check_hparams(config, num_runs, hparams)
        self.scalarization = _scalarization(config)
        shaping = make_chain([shaping_entry(text) for text in config.shaping])
        self.learner = make_learner(self.env, config, self.scalarization, shaping)
        # random weights are drawn per run in `init`; their neighbourhoods follow the members' weights
        self.weights = None if config.weight_init == "random" else np.asarray(initial_weights(config, m))
        self.neighbours = (
            np.asarray(neighbourhoods(jnp.asarray(self.weights), config.neighborhood_size))
            if config.cooperation == "transfer" and self.weights is not None
            else None
        )
        self.env_steps_per_chunk = config.steps_per_iteration * config.chunk_iterations
        self.placement = parallel.placement(devices, num_runs=self.num_runs, population=config.pop_size)
        self._run_chunk = parallel.jit_step(self._vmap_runs(self._chunk), self.placement)
        self._init = parallel.jit_init(self._vmap_runs(self._init_one, with_index=True), self.placement)

    # --- the compiled program ---------------------------------------------------------
    def _vmap_runs(self, fn, with_index: bool = False):
        if self.num_runs is None:
            return (lambda x: fn(x, 0)) if with_index else fn
        if with_index:
            return lambda keys: jax.vmap(fn)(keys, jnp.arange(self.num_runs))
        return jax.vmap(fn)

    def _init_one(self, key: jax.Array, run: jax.Array) -> MORLDState:
        config, m = self.config, self.env.reward_dim
        key_members, key_eval, key_rng = jax.random.split(key, 3)
        hyper = self.learner.hyperparams({name: values[run] for name, values in self.hparams.items()})
        hyper = jax.tree_util.tree_map(lambda x: jnp.full((config.pop_size,), x, jnp.float32), hyper)
        weights = initial_weights(config, m, jax.random.fold_in(key, 1))
        members = self.learner.init(jax.random.split(key_members, config.pop_size), weights, hyper)
        example = {
            "weights": weights[0],
            "member": jnp.int32(0),
            "iteration": jnp.int32(0),
            "actor": jax.tree_util.tree_map(lambda x: x[0], self.learner.actors(members)),
        }
        archive = archive_init(config.archive_capacity, m, example)
        state = MORLDState(
            members=members,
            archive=archive,
            member_returns=jnp.zeros((config.pop_size, m), jnp.float32),
            ideal=jnp.full((m,), -jnp.inf, jnp.float32),
            iteration=jnp.int32(0),
            rng=key_rng,
        )
        return self._evaluate_and_cooperate(state, key_eval, adapt=False)

    def _evaluate_and_cooperate(self, state: MORLDState, key: jax.Array, adapt: bool = True) -> MORLDState:
        config, learner, members = self.config, self.learner, state.members
        keys = jax.random.split(key, config.pop_size)
        returns = learner.evaluate(keys, members, config.eval_episodes).discounted
        payload = {
            "weights": learner.weights(members),
            "member": jnp.arange(config.pop_size, dtype=jnp.int32),
            "iteration": jnp.full((config.pop_size,), state.iteration, jnp.int32),
            "actor": learner.actors(members),
        }
        archive = archive_insert(state.archive, returns, payload)
        best = jnp.max(jnp.where(archive.valid[:, None], archive.points, -jnp.inf), axis=0)
        ideal = jnp.maximum(state.ideal, jnp.maximum(best, jnp.max(returns, axis=0)) + config.ideal_tau)
        members = learner.share_ideal(members, ideal)
        if adapt and config.weight_adaptation == "psa":
            new_weights = pareto_simulated_annealing(
                learner.weights(members), returns, archive.points, archive.valid, config.psa_delta
            )
            members = learner.with_weights(members, new_weights)
        if adapt and config.cooperation == "transfer":
            neighbours = (
                jnp.asarray(self.neighbours)
                if self.neighbours is not None
                else neighbourhoods(learner.weights(members), config.neighborhood_size)
            )
            source = best_neighbour(returns, learner.weights(members), ideal, neighbours, self.scalarization)
            members = learner.transfer(members, source)
        return state.replace(members=members, archive=archive, member_returns=returns, ideal=ideal)

    def _iteration(self, state: MORLDState, _: Any) -> tuple[MORLDState, dict[str, jax.Array]]:
        members, metrics = self.learner.update(state.members)
        # z* = best seen + tau also over the training returns the SER gradient is evaluated
        # at (PPO); otherwise sign(z* - G) flips and pushes returns down.
        ideal = jnp.maximum(state.ideal, self.learner.best_train_return(metrics) + self.config.ideal_tau)
        members = self.learner.share_ideal(members, ideal)
        rng, key_eval = jax.random.split(state.rng)
        state = state.replace(members=members, ideal=ideal, iteration=state.iteration + 1, rng=rng)
        state = jax.lax.cond(
            state.iteration % self.config.eval_period == 0,
            lambda s: self._evaluate_and_cooperate(s, key_eval),
            lambda s: s,
            state,
        )
        return state, self.learner.summary(metrics)

    def _chunk(self, state: MORLDState) -> tuple[MORLDState, dict[str, jax.Array]]:
        state, history = jax.lax.scan(self._iteration, state, None, self.config.chunk_iterations)
        metrics = jax.tree_util.tree_map(lambda x: x[-1], history)
        metrics.update(
            member_returns=state.member_returns,
            archive_size=jnp.sum(state.archive.valid).astype(jnp.int32),
            iteration=state.iteration,
        )
        return state, metrics

    # --- the Trainer protocol ------------------------------------------------------------
    def init(self, key: jax.Array) -> MORLDState:
        return self._init(key)

    def run_chunk(self, state: MORLDState) -> tuple[MORLDState, dict[str, jax.Array]]:
        return self._run_chunk(state)

    def done(self, state: MORLDState) -> bool:
        return self.env_steps(state) >= self.config.total_steps

    def env_steps(self, state: MORLDState) -> int:
        iteration = np.asarray(state.iteration).reshape(-1)[0]
        return int(iteration) * self.config.steps_per_iteration

    def _run(self, state: MORLDState, run: int) -> MORLDState:
        if self.num_runs is None:
            if run != 0:
                raise ValueError(f"run={run}: this trainer has a single run")
            return state
        if not 0 <= run < self.num_runs:
            raise ValueError(f"run={run} is outside [0, {self.num_runs})")
        return jax.tree_util.tree_map(lambda x: x[run], state)

    def front(self, state: MORLDState, run: int = 0) -> Front:
        archive = self._run(state, run).archive
        points, payload = archive_front(archive)
        slots = np.flatnonzero(np.asarray(archive.valid))
        return Front(returns=np.asarray(points), weights=np.asarray(payload["weights"]), member=slots)

    def policy(self, state: MORLDState, member: int, run: int = 0):
        archive = self._run(state, run).archive
        if not (0 <= member < archive.valid.shape[0]) or not bool(archive.valid[member]):
            raise ValueError(f"member={member} is not in the archive (valid ids: {np.flatnonzero(np.asarray(archive.valid)).tolist()})")
        actor = jax.tree_util.tree_map(lambda x: x[member], archive.payload["actor"])
        weights = archive.payload["weights"][member]
        return jax.tree_util.Partial(self._deterministic_act, actor, weights)

    def _deterministic_act(self, actor: Any, weights: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array:
        """A bound method, so every member's `Partial` shares one compiled rollout."""
        return self.learner.act(actor, weights, obs, key)


def shaping_entry(text: str) -> dict[str, Any]:
    """`"clip:bound=10,low=-1"` -> `{"name": "clip", "bound": 10, "low": -1}`."""
    name, _, arguments = text.partition(":")
    items = [part.strip() for part in arguments.split(",") if part.strip()]
    return {"name": name.strip(), **parse_kwargs(items, f"shaping entry '{text}'")}



def _check_num_runs(num_runs: int | None, hparams: Mapping[str, np.ndarray] | None) -> int | None:
    if num_runs is None:
        if hparams:
            raise ValueError("hparams need num_runs (one value per run)")
        return None
    if not isinstance(num_runs, (int, np.integer)) or num_runs < 1:
        raise ValueError(f"num_runs={num_runs!r} must be a positive int")
    return int(num_runs)


def _check_hparams(
    config: MORLDConfig, num_runs: int | None, hparams: Mapping[str, np.ndarray] | None
) -> dict[str, jax.Array]:
    out = {}
    for name, values in (hparams or {}).items():
        if name not in MORLDConfig.vmappable:
            raise ValueError(f"hparams: '{name}' is not vmappable; vmappable fields: {', '.join(MORLDConfig.vmappable)}")
        section, _, field = name.partition(".")
        if section != config.learner:
            raise ValueError(f"hparams: '{name}' belongs to the {section} section, but learner={config.learner!r}")
        values = np.asarray(values, np.float32)
        if values.shape != (num_runs,):
            raise ValueError(f"hparams['{name}'] has shape {values.shape}, expected ({num_runs},)")
        out[field] = jnp.asarray(values)
    return out


def make_trainer(
    config: MORLDConfig,
    *,
    num_runs: int | None = None,
    hparams: Mapping[str, np.ndarray] | None = None,
    devices: int | None = None,
) -> MORLDTrainer:
    """Validate `config` and build the MORL/D trainer (nothing is compiled yet); `devices`
    > 1 splits the runs or the population over that many devices (`morl.parallel`)."""
    return MORLDTrainer(config, num_runs=num_runs, hparams=hparams, devices=devices)
