"""C-MORL's trainer: Pareto initialisation, then constrained Pareto extension rounds.

    trainer = make_trainer(CMORLConfig(env="deep-sea-treasure-v0", ...))
    state = trainer.init(jax.random.key(0))
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)
    front = trainer.front(state)

The run is a fixed sequence of chunks (`CMORLConfig.budget`), each one jitted program:
- `budget.init_chunks` **init chunks**: `eval_period` PPO updates of the `M` policies
  (vmapped), then a deterministic evaluation of all `M` into the archive.
- `budget.extension_rounds` **extension rounds**: select `n_select` archive policies
  (`selection.select_for_extension`), build the `n_select * m` constrained problems
  (policy r, objective l) as ONE vmapped population, run `extension_updates` PPO
  updates on it (with the constrained objective of `constraints`), evaluate all of them
  and insert them into the archive (with `extension_eval_period=k`: after every k
  updates, each snapshot a candidate with its own member id).
The host only picks which of the two compiled programs the next chunk is (a static
schedule); everything else runs inside jit. Every archive entry carries its actor/critic
parameters and shaping state (the archive payload `Member`), so any front point can be
restored (`Trainer.policy`) and extended.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from morl import parallel
from morl.agents import ppo
from morl.agents.ppo.config import HYPER_FIELDS, PPOHyperparams
from morl.agents.ppo.losses import vector_gae
from morl.agents.ppo.rollout import collect
from morl.algorithms.api import Front
from morl.algorithms.cmorl import constraints
from morl.algorithms.cmorl.config import CMORLConfig
from morl.algorithms.cmorl.selection import select_for_extension
from morl.decomposition.weights import one_hot_weights, uniform_weights
from morl.envs import make as make_env
from morl.envs.registry import parse_kwargs
from morl.envs.wrappers import AutoReset, EpisodeStatistics
from morl.pareto import ParetoArchive, archive_init, archive_insert
from morl.shaping.base import chain, identity
from morl.shaping.normalize import normalize


class Member(NamedTuple):
    """Archive payload of one policy. `params {"actor", "critic"}`; `opt_state` its Adam
    moments with `extension_optimizer="inherit"` (an extension problem starts from them),
    None otherwise (nothing reads them, so the archive does not hold them);
    `shaping_state` its reward-shaping state; `weights [m]` its (or its parent's) init weight vector; `member`
    a unique int id; `extended` whether an extension round started from it; `parent` the
    id it was extended from (-1: init stage); `objective` the maximised objective of its
    extension problem (-1: init stage)."""

    params: Any
    opt_state: Any
    shaping_state: Any
    weights: jax.Array
    member: jax.Array
    extended: jax.Array
    parent: jax.Array
    objective: jax.Array


class RunParams(NamedTuple):
    """The numbers one run may vary (`CMORLConfig.vmappable`): scalars, `[R]` with runs."""

    beta: jax.Array
    barrier_t: jax.Array
    lagrange_lr: jax.Array
    hyper: PPOHyperparams


@struct.dataclass
class CMORLState:
    """The whole training state. `population [M]` the init-stage PPO states; `archive`
    (payload `Member`); `rng`; `chunk` chunks done (int32); `next_member` next member id;
    `run` the run's `RunParams`."""

    population: ppo.PPOState
    archive: ParetoArchive
    rng: jax.Array
    chunk: jax.Array
    next_member: jax.Array
    run: RunParams


class CMORLTrainer:
    """The `morl.algorithms.api.Trainer` of C-MORL (see the module docstring)."""

    def __init__(
        self,
        config: CMORLConfig,
        num_runs: int | None = None,
        hparams: Mapping[str, Any] | None = None,
        devices: int | None = None,
    ):
        if not isinstance(config, CMORLConfig):
            raise TypeError(f"make_trainer needs a CMORLConfig, got {type(config).__name__}")
        if num_runs is not None and (not isinstance(num_runs, (int, np.integer)) or num_runs < 1):
            raise ValueError(f"num_runs={num_runs!r} must be a positive int or None")
        hparams = dict(hparams or {})
        if hparams and num_runs is None:
            raise ValueError("hparams need num_runs")
        for name, values in hparams.items():
            if name not in CMORLConfig.vmappable:
                known = ", ".join(CMORLConfig.vmappable)
                raise ValueError(f"cmorl: field {name!r} is not vmappable; vmappable: {known}")
            if np.shape(values) != (num_runs,):
                raise ValueError(f"cmorl: hparams[{name!r}] has shape {np.shape(values)}, expected ({num_runs},)")
        self.config = config
        self.num_runs = num_runs
        self.env = make_env(config.env, **parse_kwargs(config.env_kwargs))
        m = self.env.reward_dim
        self.budget = config.budget(m)
        self.reference = jnp.asarray(config.reference, jnp.float32)
        self.run_params = _run_params(config, hparams)
        _check_hparams(self.run_params)
        if num_runs is not None:
            self.run_params = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (num_runs,)), self.run_params)
        if config.weight_init == "onehot":
            weights = one_hot_weights(m)
        elif config.weight_init == "uniform":
            weights = uniform_weights(m, config.pop_size)
        else:
            weights = np.asarray(config.weight_init)
        self.weights = jnp.asarray(weights, jnp.float32)

        ppo_config = config.ppo.ppo_config(config.eval_gamma, config.max_eval_steps, self.budget.init_updates)
        ext_config = dataclasses.replace(ppo_config, lr_schedule="constant", ent_schedule="constant", total_updates=None)
        if config.constraint == "barrier":
            objective = constraints.log_barrier_objective(config.threshold, config.barrier_infeasible)
        else:
            objective = constraints.lagrangian_objective()
        self.learner = ppo.make(self.env, ppo_config)
        self.extender = ppo.make(self.env, ext_config, policy_objective=objective)
        self._shaping = chain(identity(), normalize(returns=True)) if ppo_config.normalize_returns else identity()
        self._probe_env = EpisodeStatistics(AutoReset(self.env), gamma=config.eval_gamma)

        batched = num_runs is not None
        runs = jax.vmap if batched else (lambda fn: fn)
        self.placement = parallel.placement(devices, num_runs=num_runs, population=config.pop_size)
        self._init = parallel.jit_init(runs(self._init_one), self.placement)
        self._init_chunk = parallel.jit_step(runs(self._init_chunk_one), self.placement, donate=True)
        self._ext_round = parallel.jit_step(runs(self._ext_round_one), self.placement, donate=True)

    def _archived(self, opt_state: Any) -> Any:
        """What `Member.opt_state` keeps of `opt_state`: all of it only when extension
        problems inherit it."""
        return opt_state if self.config.extension_optimizer == "inherit" else None

    # --- the Trainer protocol ------------------------------------------------------------
    def init(self, key: jax.Array) -> CMORLState:
        if self.num_runs is None:
            return self._init(key, self.run_params)
        keys = jnp.asarray(key)
        if keys.shape != (self.num_runs,):
            raise ValueError(f"init: num_runs={self.num_runs} needs keys of shape ({self.num_runs},), got {keys.shape}")
        return self._init(keys, self.run_params)

    def run_chunk(self, state: CMORLState) -> tuple[CMORLState, dict[str, Any]]:
        if self.done(state):
            raise RuntimeError("run_chunk: the budget is already spent")
        step = self._init_chunk if self._chunk(state) < self.budget.init_chunks else self._ext_round
        return step(state)

    def done(self, state: CMORLState) -> bool:
        return self._chunk(state) >= self.num_chunks

    def env_steps(self, state: CMORLState) -> int:
        chunk, b, c = self._chunk(state), self.budget, self.config
        init_chunks = min(chunk, b.init_chunks)
        rounds = max(chunk - b.init_chunks, 0)
        per_init = c.pop_size * c.eval_period * b.batch_size
        per_round = b.extension_steps // b.extension_rounds
        return init_chunks * per_init + rounds * per_round

    def front(self, state: CMORLState, run: int = 0) -> Front:
        archive = self._archive(state, run)
        valid = np.asarray(archive.valid)
        payload: Member = archive.payload
        return Front(
            returns=np.asarray(archive.points)[valid],
            weights=np.asarray(payload.weights)[valid],
            member=np.asarray(payload.member)[valid],
        )

    def policy(self, state: CMORLState, member: int, run: int = 0):
        """`act(obs, key) -> action`, deterministic, for archive member id `member`."""
        params, weights = self.member_params(state, member, run)
        act = self.learner.act
        return lambda obs, key: act(params, obs, weights, key, deterministic=True)

    # --- helpers for users ---------------------------------------------------------------
    @property
    def num_chunks(self) -> int:
        return self.budget.init_chunks + self.budget.extension_rounds

    def member_params(self, state: CMORLState, member: int, run: int = 0) -> tuple[Any, jax.Array]:
        """`(params, weights)` of archive member id `member` (KeyError if it left the archive)."""
        archive = self._archive(state, run)
        ids = np.asarray(archive.payload.member)
        rows = np.flatnonzero(np.asarray(archive.valid) & (ids == member))
        if rows.size == 0:
            raise KeyError(f"member {member} is not in the archive")
        row = int(rows[0])
        return (
            jax.tree_util.tree_map(lambda x: x[row], archive.payload.params),
            archive.payload.weights[row],
        )

    def members(self, state: CMORLState, run: int = 0) -> Member:
        """The valid archive payloads as numpy (ids, parents, objectives, ...)."""
        archive = self._archive(state, run)
        valid = np.asarray(archive.valid)
        return jax.tree_util.tree_map(lambda x: np.asarray(x)[valid], archive.payload)

    def _archive(self, state: CMORLState, run: int) -> ParetoArchive:
        if self.num_runs is None:
            if run != 0:
                raise ValueError(f"run={run}: this trainer has a single run")
            return state.archive
        if not 0 <= run < self.num_runs:
            raise ValueError(f"run={run} is outside [0, {self.num_runs})")
        return jax.tree_util.tree_map(lambda x: x[run], state.archive)

    def _chunk(self, state: CMORLState) -> int:
        return int(np.asarray(state.chunk).reshape(-1)[0])

    # --- jitted programs (one run; vmapped over runs) -------------------------------------
    def _init_one(self, key: jax.Array, run: RunParams) -> CMORLState:
        c, m = self.config, self.env.reward_dim
        key, key_pop = jax.random.split(key)
        hypers = _replicate(run.hyper, c.pop_size)
        population = jax.vmap(self.learner.init)(jax.random.split(key_pop, c.pop_size), self.weights, hypers)
        example = Member(
            params=_first(population.params),
            opt_state=self._archived(_first(population.opt_state)),
            shaping_state=_first(population.shaping_state),
            weights=jnp.zeros(m, jnp.float32),
            member=jnp.int32(0),
            extended=jnp.bool_(False),
            parent=jnp.int32(0),
            objective=jnp.int32(0),
        )
        return CMORLState(
            population=population,
            archive=archive_init(c.archive_capacity, m, example),
            rng=key,
            chunk=jnp.int32(0),
            next_member=jnp.int32(0),
            run=run,
        )

    def _evaluate(self, key: jax.Array, params: Any, weights: jax.Array) -> jax.Array:
        """Deterministic eval-gamma returns `[P, m]` of `P` policies."""
        episodes = self.config.eval_episodes
        keys = jax.random.split(key, weights.shape[0])
        result = jax.vmap(lambda k, p, w: self.learner.evaluate(k, p, w, episodes))(keys, params, weights)
        return result.discounted

    def _insert(self, archive: ParetoArchive, returns: jax.Array, members: Member, ok: jax.Array) -> ParetoArchive:
        valid = ok & jnp.all(returns > self.reference, axis=-1)
        return archive_insert(archive, returns, members, valid)

    def _init_chunk_one(self, state: CMORLState) -> tuple[CMORLState, dict[str, Any]]:
        c = self.config
        population, metrics = jax.lax.scan(
            lambda pop, _: jax.vmap(self.learner.update)(pop), state.population, None, c.eval_period
        )
        rng, key_eval = jax.random.split(state.rng)
        returns = self._evaluate(key_eval, population.params, population.weights)
        ids = state.next_member + jnp.arange(c.pop_size, dtype=jnp.int32)
        minus_one = jnp.full(c.pop_size, -1, jnp.int32)
        members = Member(
            params=population.params,
            opt_state=self._archived(population.opt_state),
            shaping_state=population.shaping_state,
            weights=population.weights,
            member=ids,
            extended=jnp.zeros(c.pop_size, bool),
            parent=minus_one,
            objective=minus_one,
        )
        archive = self._insert(state.archive, returns, members, jnp.ones(c.pop_size, bool))
        new_state = state.replace(
            population=population, archive=archive, rng=rng, chunk=state.chunk + 1,
            next_member=state.next_member + c.pop_size,
        )
        out = _scalar_metrics(metrics)
        out.update(member_returns=self._padded(returns), archive_size=jnp.sum(archive.valid), stage=jnp.int32(0))
        return new_state, out

    def _padded(self, returns: jax.Array) -> jax.Array:
        """`returns [k, m]` padded with NaN rows to the fixed `[max(M, n_select * m), m]`,
        so "member_returns" has one shape in both chunk kinds (the workflow's CSV columns)."""
        rows = max(self.config.pop_size, self.budget.problems_per_round)
        return jnp.pad(returns, ((0, rows - returns.shape[0]), (0, 0)), constant_values=jnp.nan)

    def _probe(self, key: jax.Array, member: Member, hyper: PPOHyperparams) -> jax.Array:
        """The selected policy's own return estimate `[m]` in the critic's units: mean GAE
        value target over one rollout (`num_steps x num_envs`) of it from fresh envs."""
        cfg, env = self.extender.config, self._probe_env
        key_reset, key_roll = jax.random.split(key)
        env_params = self.env.default_params
        obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(key_reset, cfg.num_envs), env_params)
        carry = (env_state, obs, member.shaping_state, key_roll)
        critic = self.extender.critic.apply
        params = member.params
        _, traj = collect(
            env, env_params, self.extender.actor.apply, params["actor"], member.weights, self._shaping,
            hyper.gamma, carry, cfg.num_steps,
        )
        values = critic(params["critic"], traj.obs, member.weights)
        next_values = critic(params["critic"], traj.final_obs, member.weights)
        _, targets = vector_gae(
            traj.reward, values, next_values, traj.terminated, traj.done, hyper.gamma, hyper.gae_lambda
        )
        return targets.mean(axis=(0, 1))

    def _ext_round_one(self, state: CMORLState) -> tuple[CMORLState, dict[str, Any]]:
        c, b, m = self.config, self.budget, self.env.reward_dim
        n, problems = b.n_select, b.problems_per_round
        archive, run = state.archive, state.run
        payload: Member = archive.payload

        index, ok = select_for_extension(archive.points, archive.valid, payload.extended, n)
        archive = archive.replace(payload=payload._replace(extended=payload.extended.at[index].set(True)))
        parents: Member = jax.tree_util.tree_map(lambda x: x[index], payload)
        parent_returns = archive.points[index]  # [n, m], eval units

        rng, key_probe, key_init, key_eval = jax.random.split(state.rng, 4)
        if c.uses_probe:
            baseline = jax.vmap(self._probe, in_axes=(0, 0, None))(jax.random.split(key_probe, n), parents, run.hyper)
        else:
            baseline = parent_returns
        rep = jnp.repeat(jnp.arange(n), m)  # problem -> selected policy
        objective = jnp.tile(jnp.arange(m, dtype=jnp.int32), n)  # problem -> maximised objective
        one_hot = jax.nn.one_hot(objective, m)
        bounds = constraints.relaxed_threshold(parent_returns[rep], run.beta)  # eval units [P, m]
        cparams = constraints.ConstraintParams(
            objective=one_hot,
            threshold=constraints.relaxed_threshold(baseline[rep], run.beta),
            multipliers=jnp.zeros((problems, m), jnp.float32),
            beta=jnp.full(problems, run.beta),
            barrier_t=jnp.full(problems, run.barrier_t),
            barrier_eps=jnp.full(problems, c.barrier_eps, jnp.float32),
        )
        start: Member = jax.tree_util.tree_map(lambda x: x[rep], parents)
        ext_hyper = run.hyper
        if c.extension_learning_rate is not None:
            ext_hyper = ext_hyper.replace(learning_rate=jnp.float32(c.extension_learning_rate))
        if c.ppo.ent_schedule == "linear":  # the init stage's schedule ended at no entropy bonus
            ext_hyper = ext_hyper.replace(ent_coef=jnp.zeros_like(ext_hyper.ent_coef))
        learners = jax.vmap(self.extender.init)(
            jax.random.split(key_init, problems), start.weights, _replicate(ext_hyper, problems), None, cparams
        )
        learners = learners.replace(
            params=start.params, shaping_state=start.shaping_state, return_estimate=parent_returns[rep]
        )
        if c.extension_optimizer == "inherit":
            learners = learners.replace(opt_state=start.opt_state)

        def _update(learners, _):
            learners, metrics = jax.vmap(self.extender.update)(learners)
            if c.constraint == "lagrangian":
                multipliers = constraints.dual_ascent(
                    learners.objective_params.multipliers, one_hot, learners.return_estimate, bounds, run.lagrange_lr
                )
                objective_params = learners.objective_params._replace(multipliers=multipliers)
                learners = learners.replace(objective_params=objective_params)
            return learners, metrics

        def _offer(archive, learners, key, first_id):
            """Evaluate the problems' current policies and offer them to the archive."""
            returns = self._evaluate(key, learners.params, learners.weights)
            members = Member(
                params=learners.params,
                opt_state=self._archived(learners.opt_state),
                shaping_state=learners.shaping_state,
                weights=start.weights,
                member=first_id + jnp.arange(problems, dtype=jnp.int32),
                extended=jnp.zeros(problems, bool),
                parent=start.member,
                objective=objective,
            )
            return self._insert(archive, returns, members, ok[rep]), returns

        if c.extension_eval_period is None:  # one evaluation at the end (the paper)
            learners, metrics = jax.lax.scan(_update, learners, None, c.extension_updates)
            archive, returns = _offer(archive, learners, key_eval, state.next_member)
            snapshots = 1
        else:  # an evaluation after every `extension_eval_period` updates
            snapshots = c.extension_updates // c.extension_eval_period

            def _stretch(carry, xs):
                learners, archive = carry
                index, key = xs
                learners, metrics = jax.lax.scan(_update, learners, None, c.extension_eval_period)
                archive, returns = _offer(archive, learners, key, state.next_member + index * problems)
                return (learners, archive), (metrics, returns)

            xs = (jnp.arange(snapshots, dtype=jnp.int32), jax.random.split(key_eval, snapshots))
            (learners, archive), (metrics, returns) = jax.lax.scan(_stretch, (learners, archive), xs)
            returns = returns[-1]
        violation = jnp.max(jnp.where(one_hot > 0, -jnp.inf, bounds - returns), axis=-1)
        new_state = state.replace(
            archive=archive, rng=rng, chunk=state.chunk + 1, next_member=state.next_member + snapshots * problems
        )
        out = _scalar_metrics(metrics)
        out.update(
            member_returns=self._padded(returns),
            parent_returns=parent_returns[rep],
            constraint_violation=violation,
            selected_ok=ok,
            archive_size=jnp.sum(archive.valid),
            stage=jnp.int32(1),
        )
        return new_state, out


def make_trainer(
    config: CMORLConfig,
    *,
    num_runs: int | None = None,
    hparams: Mapping[str, Any] | None = None,
    devices: int | None = None,
) -> CMORLTrainer:
    """Validate `config` and build the trainer (nothing compiles until the first call);
    `devices` > 1 splits the runs or the init-stage population over that many devices
    (`morl.parallel`)."""
    return CMORLTrainer(config, num_runs, hparams, devices)


# --- small helpers -----------------------------------------------------------------------
def _run_params(config: CMORLConfig, hparams: Mapping[str, Any]) -> RunParams:
    values = {
        "beta": config.beta,
        "barrier_t": config.barrier_t,
        "lagrange_lr": config.lagrange_lr,
        **{f"ppo.{name}": getattr(config.ppo, name) for name in HYPER_FIELDS},
    }
    values.update(hparams)
    arr = {k: jnp.asarray(v, jnp.float32) for k, v in values.items()}
    return RunParams(
        beta=arr["beta"],
        barrier_t=arr["barrier_t"],
        lagrange_lr=arr["lagrange_lr"],
        hyper=PPOHyperparams(**{name: arr[f"ppo.{name}"] for name in HYPER_FIELDS}),
    )


def _check_hparams(run: RunParams) -> None:
    beta = np.asarray(run.beta)
    if np.any(~((beta > 0) & (beta < 1))):
        raise ValueError(f"cmorl: beta={beta.tolist()!r} must lie in the open interval (0, 1)")
    for name in ("barrier_t", "lagrange_lr"):
        value = np.asarray(getattr(run, name))
        if np.any(~(value > 0)) or not np.all(np.isfinite(value)):
            raise ValueError(f"cmorl: {name}={value.tolist()!r} must be positive")
    run.hyper.validate()


def _replicate(tree: Any, n: int) -> Any:
    return jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (n,) + jnp.shape(x)), tree)


def _first(tree: Any) -> Any:
    return jax.tree_util.tree_map(lambda x: x[0], tree)


def _scalar_metrics(metrics: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
    """PPO loss metrics averaged over updates and members."""
    names = ("policy_objective", "value_loss", "entropy", "approx_kl", "clip_fraction")
    return {name: jnp.mean(metrics[name]) for name in names}
