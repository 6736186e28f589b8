"""C-MORL on the population trainer scaffold: Pareto initialisation, then constrained
Pareto extension rounds.

    trainer = make_trainer(CMORLConfig(env="deep-sea-treasure-v0", ...))
    state = trainer.init(jax.random.key(0))
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)
    front = trainer.front(state)

`CMORL` is the algorithm, a `morl.algorithms.scaffold.PopulationAlgorithm` with two
stages (`scaffold.Stage`); `CMORLTrainer` is `PopulationTrainer` driving it (run axis,
per-run `hparams`, devices, one compiled program per stage, the `Trainer` protocol). The
run is a fixed sequence of chunks (`CMORLConfig.budget`):
- stage "init", `budget.init_chunks` chunks: `eval_period` PPO updates of the `M`
  policies (vmapped), then a deterministic evaluation of all `M` into the archive.
- stage "extension", `budget.extension_rounds` rounds: select `n_select` archive policies
  (`selection.select_for_extension`), build the `n_select * m` constrained problems
  (policy r, objective l) as ONE vmapped population, run `extension_updates` PPO
  updates on it (with the constrained objective of `constraints`), evaluate all of them
  and insert them into the archive (with `extension_eval_period=k`: after every k
  updates, each snapshot a candidate with its own member id). With the barrier's
  "policy" threshold a round starts with a probe of each selected policy: the PPO
  learner's own `estimate_return` (its rollout and GAE, from fresh envs).
The host only picks which stage's program the next chunk is (from `state.iteration`, the
PPO updates done by a policy); everything else runs inside jit. The state is the
scaffold's `PopulationState`: `members` the init-stage `PPOState [M]`, `extra =
{"next_member": next archive id, "run": RunParams}`. Every archive entry carries its
actor/critic parameters and shaping state (the payload, see `CMORL.payload`), so any
front point can be restored (`Trainer.policy`, by its unique member id) and extended.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from morl.agents import ppo
from morl.agents.ppo.config import HYPER_FIELDS, PPOHyperparams
from morl.algorithms.cmorl import constraints
from morl.algorithms.cmorl.config import CMORLConfig
from morl.algorithms.cmorl.selection import select_for_extension
from morl.algorithms.scaffold import PopulationState, PopulationTrainer, Schedule, Stage
from morl.decomposition.weights import one_hot_weights, uniform_weights
from morl.envs import make as make_env
from morl.envs.registry import parse_kwargs
from morl.pareto import ParetoArchive, archive_insert


class Member(NamedTuple):
    """One archive payload as `CMORLTrainer.members` returns it. `params {"actor",
    "critic"}`; `opt_state` its Adam moments with `extension_optimizer="inherit"` (an
    extension problem starts from them), None otherwise (nothing reads them, so the
    archive does not hold them); `shaping_state` its reward-shaping state; `weights [m]`
    its (or its parent's) init weight vector; `member` a unique int id; `extended` whether
    an extension round started from it; `parent` the id it was extended from (-1: init
    stage); `objective` the maximised objective of its extension problem (-1: init stage);
    `iteration` the PPO updates its policy had when it was archived (the scaffold's
    counter)."""

    params: Any
    opt_state: Any
    shaping_state: Any
    weights: jax.Array
    member: jax.Array
    extended: jax.Array
    parent: jax.Array
    objective: jax.Array
    iteration: jax.Array


class RunParams(NamedTuple):
    """The numbers one run may vary (`CMORLConfig.vmappable`): scalars, `[R]` with runs."""

    beta: jax.Array
    barrier_t: jax.Array
    lagrange_lr: jax.Array
    hyper: PPOHyperparams


#: The trainer's state: the scaffold's (`members`: the init-stage PPO states `[M]`;
#: `extra = {"next_member", "run"}`).
CMORLState = PopulationState


class CMORL:
    """C-MORL as a `morl.algorithms.scaffold.PopulationAlgorithm` (see the module docstring).
    Archive payload (a dict): `actor` the policy's PPO params `{"actor", "critic"}` (what
    `act` and an extension problem start from), `opt_state`, `shaping_state`, `weights`,
    `member` (unique id), `extended`, `parent`, `objective`, `iteration` (see `Member`)."""

    def __init__(self, config: CMORLConfig):
        if not isinstance(config, CMORLConfig):
            raise TypeError(f"make_trainer needs a CMORLConfig, got {type(config).__name__}")
        self.config = config
        self.env = make_env(config.env, **parse_kwargs(config.env_kwargs))
        m = self.env.reward_dim
        self.budget = b = config.budget(m)
        self.pop_size = config.pop_size
        self.steps_per_iteration = config.pop_size * b.batch_size
        self.reference = jnp.asarray(config.reference, jnp.float32)
        if config.weight_init == "onehot":
            weights = one_hot_weights(m)
        elif config.weight_init == "uniform":
            weights = uniform_weights(m, config.pop_size)
        else:
            weights = np.asarray(config.weight_init)
        self.weights = jnp.asarray(weights, jnp.float32)

        ppo_config = config.ppo.ppo_config(config.eval_gamma, config.max_eval_steps, b.init_updates)
        ext_config = dataclasses.replace(ppo_config, lr_schedule="constant", ent_schedule="constant", total_updates=None)
        if config.constraint == "barrier":
            objective = constraints.log_barrier_objective(config.threshold, config.barrier_infeasible)
        else:
            objective = constraints.lagrangian_objective()
        self.learner = ppo.make(self.env, ppo_config)
        self.extender = ppo.make(self.env, ext_config, policy_objective=objective)
        self.stages = (
            Stage("init", b.init_chunks, config.eval_period, config.pop_size * config.eval_period * b.batch_size,
                  self.init_chunk),
            Stage("extension", b.extension_rounds, config.extension_updates, b.extension_steps // b.extension_rounds,
                  self.extension_round),
        )  # fmt: skip

    # --- the PopulationAlgorithm functions ----------------------------------------------
    def init(self, key: jax.Array, weights_key: jax.Array, hparams: Mapping[str, jax.Array]) -> tuple[Any, dict]:
        del weights_key  # the weights are fixed
        run = run_params(self.config, hparams)
        hypers = _replicate(run.hyper, self.pop_size)
        members = jax.vmap(self.learner.init)(jax.random.split(key, self.pop_size), self.weights, hypers)
        return members, {"next_member": jnp.int32(0), "run": run}

    def iterate(self, members: ppo.PPOState, extra: dict) -> tuple[ppo.PPOState, dict, dict[str, jax.Array]]:
        """One PPO update of every init-stage policy; metrics per member (`[M]`)."""
        members, metrics = jax.vmap(self.learner.update)(members)
        return members, extra, metrics

    def evaluate(self, members: ppo.PPOState, key: jax.Array) -> jax.Array:
        return self._evaluate(key, members.params, members.weights)

    def payload(self, members: ppo.PPOState) -> dict[str, Any]:
        """The archive payload of init-stage policies; `member` and `iteration` are the
        scaffold's (`init_chunk` writes the unique ids)."""
        minus_one = jnp.full(self.pop_size, -1, jnp.int32)
        return {
            "actor": members.params,
            "opt_state": self._archived(members.opt_state),
            "shaping_state": members.shaping_state,
            "weights": members.weights,
            "extended": jnp.zeros(self.pop_size, bool),
            "parent": minus_one,
            "objective": minus_one,
        }

    def after_evaluation(
        self, members: Any, extra: dict, returns: jax.Array, archive: ParetoArchive, initial: bool
    ) -> tuple[Any, dict]:
        """Nothing adapts; the `M` evaluated policies took the next `M` member ids."""
        del returns, archive, initial
        return members, {**extra, "next_member": extra["next_member"] + self.pop_size}

    def act(self, actor: Any, weights: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array:
        return self.learner.act(actor, obs, weights, key, deterministic=True)

    # --- the two stages (one run each) ---------------------------------------------------
    def init_chunk(self, state: PopulationState) -> tuple[PopulationState, dict[str, Any]]:
        """`eval_period` updates of the `M` policies, then their evaluation into the archive."""
        c, extra = self.config, state.extra
        members, metrics = jax.lax.scan(
            lambda pop, _: self.iterate(pop, extra)[::2], state.members, None, c.eval_period
        )
        rng, key_eval = jax.random.split(state.rng)
        returns = self.evaluate(members, key_eval)
        payload = {
            **self.payload(members),
            "member": extra["next_member"] + jnp.arange(c.pop_size, dtype=jnp.int32),
            "iteration": jnp.full(c.pop_size, state.iteration + c.eval_period, jnp.int32),
        }
        archive = self._insert(state.archive, returns, payload, jnp.ones(c.pop_size, bool))
        members, extra = self.after_evaluation(members, extra, returns, archive, False)
        new_state = state.replace(members=members, archive=archive, member_returns=returns, rng=rng, extra=extra)
        out = _scalar_metrics(metrics)
        out.update(member_returns=self._padded(returns))
        return new_state, out

    def extension_round(self, state: PopulationState) -> tuple[PopulationState, dict[str, Any]]:
        """One extension round (see the module docstring); the init-stage `members` stay."""
        c, b, m = self.config, self.budget, self.env.reward_dim
        n, problems = b.n_select, b.problems_per_round
        archive, run, next_member = state.archive, state.extra["run"], state.extra["next_member"]
        payload = archive.payload

        index, ok = select_for_extension(archive.points, archive.valid, payload["extended"], n)
        archive = archive.replace(payload={**payload, "extended": payload["extended"].at[index].set(True)})
        parents = jax.tree_util.tree_map(lambda x: x[index], payload)
        parent_returns = archive.points[index]  # [n, m], eval units

        rng, key_probe, key_init, key_eval = jax.random.split(state.rng, 4)
        if c.uses_probe:
            probe = lambda key, parent: self.extender.estimate_return(  # noqa: E731
                key, parent["actor"], parent["weights"], parent["shaping_state"], run.hyper
            )
            baseline = jax.vmap(probe)(jax.random.split(key_probe, n), parents)
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
        start = jax.tree_util.tree_map(lambda x: x[rep], parents)
        ext_hyper = run.hyper
        if c.extension_learning_rate is not None:
            ext_hyper = ext_hyper.replace(learning_rate=jnp.float32(c.extension_learning_rate))
        if c.ppo.ent_schedule == "linear":  # the init stage's schedule ended at no entropy bonus
            ext_hyper = ext_hyper.replace(ent_coef=jnp.zeros_like(ext_hyper.ent_coef))
        learners = jax.vmap(self.extender.init)(
            jax.random.split(key_init, problems), start["weights"], _replicate(ext_hyper, problems), None, cparams
        )
        learners = learners.replace(
            params=start["actor"], shaping_state=start["shaping_state"], return_estimate=parent_returns[rep]
        )
        if c.extension_optimizer == "inherit":
            learners = learners.replace(opt_state=start["opt_state"])

        def _update(learners, _):
            learners, metrics = jax.vmap(self.extender.update)(learners)
            if c.constraint == "lagrangian":
                multipliers = constraints.dual_ascent(
                    learners.objective_params.multipliers, one_hot, learners.return_estimate, bounds, run.lagrange_lr
                )
                objective_params = learners.objective_params._replace(multipliers=multipliers)
                learners = learners.replace(objective_params=objective_params)
            return learners, metrics

        def _offer(archive, learners, key, first_id, updates):
            """Evaluate the problems' current policies and offer them to the archive."""
            returns = self._evaluate(key, learners.params, learners.weights)
            entries = {
                "actor": learners.params,
                "opt_state": self._archived(learners.opt_state),
                "shaping_state": learners.shaping_state,
                "weights": start["weights"],
                "extended": jnp.zeros(problems, bool),
                "parent": start["member"],
                "objective": objective,
                "member": first_id + jnp.arange(problems, dtype=jnp.int32),
                "iteration": jnp.full(problems, state.iteration + updates, jnp.int32),
            }
            return self._insert(archive, returns, entries, ok[rep]), returns

        if c.extension_eval_period is None:  # one evaluation at the end (the paper)
            learners, metrics = jax.lax.scan(_update, learners, None, c.extension_updates)
            archive, returns = _offer(archive, learners, key_eval, next_member, c.extension_updates)
            snapshots = 1
        else:  # an evaluation after every `extension_eval_period` updates
            snapshots = c.extension_updates // c.extension_eval_period

            def _stretch(carry, xs):
                learners, archive = carry
                index, key = xs
                learners, metrics = jax.lax.scan(_update, learners, None, c.extension_eval_period)
                updates = (index + 1) * c.extension_eval_period
                archive, returns = _offer(archive, learners, key, next_member + index * problems, updates)
                return (learners, archive), (metrics, returns)

            xs = (jnp.arange(snapshots, dtype=jnp.int32), jax.random.split(key_eval, snapshots))
            (learners, archive), (metrics, returns) = jax.lax.scan(_stretch, (learners, archive), xs)
            returns = returns[-1]
        violation = jnp.max(jnp.where(one_hot > 0, -jnp.inf, bounds - returns), axis=-1)
        extra = {**state.extra, "next_member": next_member + snapshots * problems}
        new_state = state.replace(archive=archive, rng=rng, extra=extra)
        out = _scalar_metrics(metrics)
        out.update(
            member_returns=self._padded(returns),
            parent_returns=parent_returns[rep],
            constraint_violation=violation,
            selected_ok=ok,
        )
        return new_state, out

    # --- helpers ------------------------------------------------------------------------
    def _archived(self, opt_state: Any) -> Any:
        """What the payload's `opt_state` keeps of `opt_state`: all of it only when
        extension problems inherit it."""
        return opt_state if self.config.extension_optimizer == "inherit" else None

    def _evaluate(self, key: jax.Array, params: Any, weights: jax.Array) -> jax.Array:
        """Deterministic eval-gamma returns `[P, m]` of `P` policies."""
        episodes = self.config.eval_episodes
        keys = jax.random.split(key, weights.shape[0])
        result = jax.vmap(lambda k, p, w: self.learner.evaluate(k, p, w, episodes))(keys, params, weights)
        return result.discounted

    def _insert(self, archive: ParetoArchive, returns: jax.Array, entries: Any, ok: jax.Array) -> ParetoArchive:
        valid = ok & jnp.all(returns > self.reference, axis=-1)
        return archive_insert(archive, returns, entries, valid)

    def _padded(self, returns: jax.Array) -> jax.Array:
        """`returns [k, m]` padded with NaN rows to the fixed `[max(M, n_select * m), m]`,
        so "member_returns" has one shape in both stages (the workflow's CSV columns)."""
        rows = max(self.config.pop_size, self.budget.problems_per_round)
        return jnp.pad(returns, ((0, rows - returns.shape[0]), (0, 0)), constant_values=jnp.nan)


class CMORLTrainer(PopulationTrainer):
    """The `morl.algorithms.api.Trainer` of C-MORL: the population trainer scaffold driving
    `CMORL` through its two stages. `budget`, `weights`, `learner` and `extender` are the
    algorithm's; `members` and `member_params` read the archive."""

    def __init__(
        self,
        config: CMORLConfig,
        num_runs: int | None = None,
        hparams: Mapping[str, Any] | None = None,
        devices: int | None = None,
    ):
        algorithm = CMORL(config)
        b = algorithm.budget
        schedule = Schedule(
            b.total_steps, config.eval_period, config.eval_period, config.archive_capacity, CMORLConfig.vmappable,
            stages=algorithm.stages, initial_evaluation=False, member_ids=True,
        )  # fmt: skip
        super().__init__(config, algorithm, schedule, num_runs=num_runs, hparams=hparams, devices=devices)
        _check_run_params(run_params(config, self.hparams))
        self.budget, self.weights = algorithm.budget, algorithm.weights
        self.learner, self.extender = algorithm.learner, algorithm.extender

    @property
    def num_chunks(self) -> int:
        return self.budget.init_chunks + self.budget.extension_rounds

    def member_params(self, state: PopulationState, member: int, run: int = 0) -> tuple[Any, jax.Array]:
        """`(params, weights)` of archive member id `member` (ValueError if it left the archive)."""
        archive = self._run(state, run).archive
        slot = self.archive_slot(archive, member)
        return jax.tree_util.tree_map(lambda x: x[slot], archive.payload["actor"]), archive.payload["weights"][slot]

    def members(self, state: PopulationState, run: int = 0) -> Member:
        """The valid archive payloads as numpy (ids, parents, objectives, ...)."""
        archive = self._run(state, run).archive
        valid = np.asarray(archive.valid)
        payload = jax.tree_util.tree_map(lambda x: np.asarray(x)[valid], archive.payload)
        return Member(**{("params" if name == "actor" else name): value for name, value in payload.items()})


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
def run_params(config: CMORLConfig, hparams: Mapping[str, Any]) -> RunParams:
    """One run's `RunParams`: `config`'s values, those named in `hparams` replaced."""
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


def _check_run_params(run: RunParams) -> None:
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


def _scalar_metrics(metrics: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
    """PPO loss metrics averaged over updates and members."""
    names = ("policy_objective", "value_loss", "entropy", "approx_kl", "clip_fraction")
    return {name: jnp.mean(metrics[name]) for name in names}
