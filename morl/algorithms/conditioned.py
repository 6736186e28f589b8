"""The trainer scaffold of single-network, weight-conditioned algorithms (CAPQL,
preference-conditioned PPO): one policy `pi(a | s, w)` for every weight, its front read
off by evaluating it on a dense set of weights.

An algorithm supplies a `ConditionedLearner` (its iteration) and a config with the
fields of `CONDITIONED_FIELDS`; `ConditionedTrainer` does the rest, all inside `jit`:

    learner_state, metrics = learner.update(learner_state)     # one iteration (own weights)
    every eval_period iterations (and once at init):
        returns [n, m] = evaluate(learner.actor(state), eval_weights [n, m])  # deterministic,
                                                                # discounted with eval_gamma
        archive = archive_insert(archive, returns, {weights, actor snapshot, iteration})

`eval_weights` are `num_eval_weights` evenly spread simplex weights
(`morl.decomposition.weights.uniform_weights`: the corners, then farthest points). The
archive keeps the non-dominated returns of every evaluation so far, each with the actor
parameters that produced it, so `policy(state, member)` replays exactly the policy that
was measured. `run_chunk` scans `chunk_iterations` iterations; `num_runs=R` vmaps the
whole program over R seeds (and per-run hyperparameters).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from morl import envs, parallel
from morl.algorithms.api import MAX_ITERATIONS, Front
from morl.decomposition.weights import uniform_weights
from morl.envs.evaluation import evaluate
from morl.envs.registry import parse_kwargs
from morl.pareto.archive import ParetoArchive, archive_front, archive_init, archive_insert

#: Config fields (besides `morl.algorithms.api.REQUIRED_CONFIG_FIELDS`) the scaffold reads.
CONDITIONED_FIELDS = (
    "env_kwargs", "num_eval_weights", "eval_period", "eval_episodes", "max_eval_steps", "archive_capacity",
    "chunk_iterations",
)

class ConditionedLearner(Protocol):
    """One weight-conditioned learner as the scaffold drives it.

    `steps_per_iteration`: env steps of one `update`; `hyperparams(overrides)`: its
    numbers (a pytree; `overrides` maps field names to per-run scalars); `init(key, hyper)`
    and `update(state) -> (state, metrics)`; `actor(state)`: the actor's parameters;
    `act(actor, weights [..., m], obs [..., d])`: the deterministic env action;
    `summary(metrics)`: the scalars to log."""

    steps_per_iteration: int

    def hyperparams(self, overrides: dict[str, jax.Array]) -> Any: ...
    def init(self, key: jax.Array, hyper: Any) -> Any: ...
    def update(self, state: Any) -> tuple[Any, dict[str, jax.Array]]: ...
    def actor(self, state: Any) -> Any: ...
    def act(self, actor: Any, weights: jax.Array, obs: jax.Array) -> jax.Array: ...
    def summary(self, metrics: dict[str, jax.Array]) -> dict[str, jax.Array]: ...


@struct.dataclass
class ConditionedState:
    """One run's state. `learner`: the learner's own state; `archive`: non-dominated
    evaluated returns `[capacity, m]` with payload `weights [m]`, `iteration` and `actor`
    (the parameters evaluated); `eval_returns [n, m]`: the latest evaluation on the
    evaluation weights; `iteration`: updates done; `rng`."""

    learner: Any
    archive: ParetoArchive
    eval_returns: jax.Array
    iteration: jax.Array
    rng: jax.Array


def validate_common(config: Any, reward_dim: int, steps_per_iteration: int) -> None:
    """Raise `ValueError` naming the first bad scaffold field of `config`."""
    name = type(config).__name__
    checks = [
        (config.total_steps >= 1, f"total_steps={config.total_steps} must be >= 1"),
        (0.0 < config.eval_gamma <= 1.0, f"eval_gamma={config.eval_gamma} must lie in (0, 1]"),
        (config.num_eval_weights >= 1, f"num_eval_weights={config.num_eval_weights} must be >= 1"),
        (config.eval_period >= 1, f"eval_period={config.eval_period} must be >= 1"),
        (config.eval_episodes >= 1, f"eval_episodes={config.eval_episodes} must be >= 1"),
        (config.max_eval_steps >= 1, f"max_eval_steps={config.max_eval_steps} must be >= 1"),
        (config.archive_capacity >= 1, f"archive_capacity={config.archive_capacity} must be >= 1"),
        (config.chunk_iterations >= 1, f"chunk_iterations={config.chunk_iterations} must be >= 1"),
        (
            config.ref_point is None or len(config.ref_point) == reward_dim,
            f"ref_point={config.ref_point} has {len(config.ref_point or ())} entries; "
            f"{config.env} has {reward_dim} objectives",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(f"{name}: {message}")
    iterations = -(-config.total_steps // steps_per_iteration)
    if iterations > MAX_ITERATIONS:
        raise ValueError(
            f"{name}: total_steps={config.total_steps:,} needs {iterations:,} iterations; at most {MAX_ITERATIONS:,}"
        )


def make_env(config: Any) -> Any:
    """The `morl.envs` environment of `config.env` with `config.env_kwargs`."""
    return envs.make(config.env, **parse_kwargs(config.env_kwargs))


class ConditionedTrainer:
    """The `morl.algorithms.api.Trainer` of a weight-conditioned learner (module docstring).

    `vmappable`: the config's vmappable dotted names (`"sac.actor_lr"`); an `hparams` key
    `"<section>.<field>"` reaches `learner.hyperparams` as `{field: values[run]}`."""

    def __init__(
        self,
        config: Any,
        env: Any,
        learner: ConditionedLearner,
        vmappable: tuple[str, ...],
        *,
        num_runs: int | None = None,
        hparams: Mapping[str, np.ndarray] | None = None,
        devices: int | None = None,
    ):
        self.config, self.env, self.learner = config, env, learner
        self.num_runs = _check_num_runs(num_runs, hparams)
        self.hparams = _check_hparams(vmappable, num_runs, hparams)
        self.eval_weights = np.asarray(uniform_weights(env.reward_dim, config.num_eval_weights), np.float32)
        self.steps_per_iteration = int(learner.steps_per_iteration)
        self.placement = parallel.placement(devices, num_runs=self.num_runs, population=1)
        self._run_chunk = parallel.jit_step(self._vmap_runs(self._chunk), self.placement)
        self._init = parallel.jit_init(self._vmap_runs(self._init_one, with_index=True), self.placement)

    # --- the compiled program ---------------------------------------------------------
    def _vmap_runs(self, fn, with_index: bool = False):
        if self.num_runs is None:
            return (lambda x: fn(x, 0)) if with_index else fn
        if with_index:
            return lambda keys: jax.vmap(fn)(keys, jnp.arange(self.num_runs))
        return jax.vmap(fn)

    def _init_one(self, key: jax.Array, run: jax.Array) -> ConditionedState:
        key_learner, key_eval, key_rng = jax.random.split(key, 3)
        hyper = self.learner.hyperparams({name: values[run] for name, values in self.hparams.items()})
        learner_state = self.learner.init(key_learner, hyper)
        m = self.env.reward_dim
        example = {
            "weights": jnp.zeros((m,), jnp.float32),
            "iteration": jnp.int32(0),
            "actor": self.learner.actor(learner_state),
        }
        state = ConditionedState(
            learner=learner_state,
            archive=archive_init(self.config.archive_capacity, m, example),
            eval_returns=jnp.zeros((len(self.eval_weights), m), jnp.float32),
            iteration=jnp.int32(0),
            rng=key_rng,
        )
        return self._evaluate(state, key_eval)

    def evaluate_actor(self, key: jax.Array, actor: Any, weights: jax.Array) -> jax.Array:
        """Discounted (`eval_gamma`) returns `[n, m]` of the deterministic policy `actor`
        conditioned on each of `weights [n, m]`, averaged over `eval_episodes` episodes."""
        config, env = self.config, self.env

        def one(key, w):
            policy = lambda obs: self.learner.act(actor, w, obs)  # noqa: E731
            result = evaluate(env, env.default_params, policy, key, config.eval_episodes, config.max_eval_steps,
                              config.eval_gamma)
            return result.discounted

        return jax.vmap(one)(jax.random.split(key, weights.shape[0]), weights)

    def _evaluate(self, state: ConditionedState, key: jax.Array) -> ConditionedState:
        weights = jnp.asarray(self.eval_weights)
        actor = self.learner.actor(state.learner)
        returns = self.evaluate_actor(key, actor, weights)
        n = weights.shape[0]
        payload = {
            "weights": weights,
            "iteration": jnp.full((n,), state.iteration, jnp.int32),
            "actor": jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (n,) + x.shape), actor),
        }
        archive = archive_insert(state.archive, returns, payload)
        return state.replace(archive=archive, eval_returns=returns)

    def _iteration(self, state: ConditionedState, _: Any) -> tuple[ConditionedState, dict[str, jax.Array]]:
        learner_state, metrics = self.learner.update(state.learner)
        rng, key_eval = jax.random.split(state.rng)
        state = state.replace(learner=learner_state, iteration=state.iteration + 1, rng=rng)
        state = jax.lax.cond(
            state.iteration % self.config.eval_period == 0,
            lambda s: self._evaluate(s, key_eval),
            lambda s: s,
            state,
        )
        return state, self.learner.summary(metrics)

    def _chunk(self, state: ConditionedState) -> tuple[ConditionedState, dict[str, jax.Array]]:
        state, history = jax.lax.scan(self._iteration, state, None, self.config.chunk_iterations)
        metrics = jax.tree_util.tree_map(lambda x: x[-1], history)
        metrics.update(
            member_returns=state.eval_returns,
            archive_size=jnp.sum(state.archive.valid).astype(jnp.int32),
            iteration=state.iteration,
        )
        return state, metrics

    # --- the Trainer protocol ------------------------------------------------------------
    def init(self, key: jax.Array) -> ConditionedState:
        return self._init(key)

    def run_chunk(self, state: ConditionedState) -> tuple[ConditionedState, dict[str, jax.Array]]:
        return self._run_chunk(state)

    def done(self, state: ConditionedState) -> bool:
        return self.env_steps(state) >= self.config.total_steps

    def env_steps(self, state: ConditionedState) -> int:
        iteration = np.asarray(state.iteration).reshape(-1)[0]
        return int(iteration) * self.steps_per_iteration

    def _run(self, state: ConditionedState, run: int) -> ConditionedState:
        if self.num_runs is None:
            if run != 0:
                raise ValueError(f"run={run}: this trainer has a single run")
            return state
        if not 0 <= run < self.num_runs:
            raise ValueError(f"run={run} is outside [0, {self.num_runs})")
        return jax.tree_util.tree_map(lambda x: x[run], state)

    def front(self, state: ConditionedState, run: int = 0) -> Front:
        archive = self._run(state, run).archive
        points, payload = archive_front(archive)
        slots = np.flatnonzero(np.asarray(archive.valid))
        return Front(returns=np.asarray(points), weights=np.asarray(payload["weights"]), member=slots)

    def policy(self, state: ConditionedState, member: int, run: int = 0):
        archive = self._run(state, run).archive
        if not (0 <= member < archive.valid.shape[0]) or not bool(archive.valid[member]):
            valid = np.flatnonzero(np.asarray(archive.valid)).tolist()
            raise ValueError(f"member={member} is not in the archive (valid ids: {valid})")
        actor = jax.tree_util.tree_map(lambda x: x[member], archive.payload["actor"])
        weights = archive.payload["weights"][member]
        return jax.tree_util.Partial(self._deterministic_act, actor, weights)

    def conditioned_policy(self, state: ConditionedState, weights: Any, run: int = 0):
        """The current policy conditioned on any simplex `weights [m]` (not only the
        evaluation weights): `act(obs, key) -> action`."""
        actor = self.learner.actor(self._run(state, run).learner)
        return jax.tree_util.Partial(self._deterministic_act, actor, jnp.asarray(weights, jnp.float32))

    def _deterministic_act(self, actor: Any, weights: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array:
        """A bound method, so every member's `Partial` shares one compiled rollout."""
        return self.learner.act(actor, weights, obs)


def _check_num_runs(num_runs: int | None, hparams: Mapping[str, np.ndarray] | None) -> int | None:
    if num_runs is None:
        if hparams:
            raise ValueError("hparams need num_runs (one value per run)")
        return None
    if not isinstance(num_runs, (int, np.integer)) or isinstance(num_runs, bool) or num_runs < 1:
        raise ValueError(f"num_runs={num_runs!r} must be a positive int")
    return int(num_runs)


def _check_hparams(
    vmappable: tuple[str, ...], num_runs: int | None, hparams: Mapping[str, np.ndarray] | None
) -> dict[str, jax.Array]:
    out = {}
    for name, values in (hparams or {}).items():
        if name not in vmappable:
            raise ValueError(f"hparams: '{name}' is not vmappable; vmappable fields: {', '.join(vmappable)}")
        values = np.asarray(values, np.float32)
        if values.shape != (num_runs,):
            raise ValueError(f"hparams['{name}'] has shape {values.shape}, expected ({num_runs},)")
        out[name.partition(".")[2]] = jnp.asarray(values)
    return out
