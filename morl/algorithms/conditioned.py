"""Single-network, weight-conditioned algorithms (CAPQL, preference-conditioned PPO) on
the population trainer scaffold: one policy `pi(a | s, w)` for every weight, its front
read off by evaluating it on a dense set of weights.

An algorithm supplies a `ConditionedLearner` (its iteration) and a config with the
fields of `CONDITIONED_FIELDS`. `Conditioned` makes the learner a
`morl.algorithms.scaffold.PopulationAlgorithm` of one member, and `ConditionedTrainer`
is the scaffold's `PopulationTrainer` with it (run axis, devices, chunks, the evaluation
schedule and the archive, checkpoint and resume all come from there):

    members, metrics = learner.update(members)            # one iteration (own weights)
    every eval_period iterations (and once at init):
        returns [n, m] = evaluate(learner.actor(members), eval_weights [n, m])  # deterministic,
                                                                # discounted with eval_gamma
        archive = archive_insert(archive, returns, {weights, actor snapshot, member, iteration})

`eval_weights` are `num_eval_weights` evenly spread simplex weights
(`morl.decomposition.weights.uniform_weights`: the corners, then farthest points), the
`n` rows of every evaluation. The archive keeps the non-dominated returns of every
evaluation so far, each with the actor parameters that produced it, so
`policy(state, member)` replays exactly the policy that was measured (members are archive
slots). The state is the scaffold's `PopulationState`: `members` is the learner's own state
(no population axis), `member_returns [n, m]` the latest evaluation, `extra` None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from morl import envs
from morl.algorithms.scaffold import PopulationState, PopulationTrainer, Schedule
from morl.decomposition.weights import uniform_weights
from morl.envs.evaluation import evaluate
from morl.envs.registry import parse_kwargs
from morl.pareto.archive import ParetoArchive

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


def validate_common(config: Any, reward_dim: int) -> None:
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


def make_env(config: Any) -> Any:
    """The `morl.envs` environment of `config.env` with `config.env_kwargs`."""
    return envs.make(config.env, **parse_kwargs(config.env_kwargs))


class Conditioned:
    """The `PopulationAlgorithm` of a weight-conditioned learner: a population of one
    (`members` is the learner's state), evaluated on `eval_weights [n, m]`."""

    pop_size = 1

    def __init__(self, config: Any, env: Any, learner: ConditionedLearner):
        self.config, self.env, self.learner = config, env, learner
        self.steps_per_iteration = int(learner.steps_per_iteration)
        self.eval_weights = np.asarray(uniform_weights(env.reward_dim, config.num_eval_weights), np.float32)

    def init(self, key: jax.Array, weights_key: jax.Array, hparams: Mapping[str, jax.Array]) -> tuple[Any, None]:
        # `hparams` holds dotted names of the learner's one section ("sac.actor_lr")
        hyper = self.learner.hyperparams({name.partition(".")[2]: value for name, value in hparams.items()})
        return self.learner.init(key, hyper), None

    def iterate(self, members: Any, extra: None) -> tuple[Any, None, dict[str, jax.Array]]:
        members, metrics = self.learner.update(members)
        return members, None, self.learner.summary(metrics)

    def evaluate(self, members: Any, key: jax.Array) -> jax.Array:
        return self.evaluate_actor(key, self.learner.actor(members), jnp.asarray(self.eval_weights))

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

    def payload(self, members: Any) -> dict[str, Any]:
        n = self.eval_weights.shape[0]
        actor = self.learner.actor(members)
        return {
            "weights": jnp.asarray(self.eval_weights),
            "actor": jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (n,) + x.shape), actor),
        }

    def after_evaluation(
        self, members: Any, extra: None, returns: jax.Array, archive: ParetoArchive, initial: bool
    ) -> tuple[Any, None]:
        return members, None

    def act(self, actor: Any, weights: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array:
        return self.learner.act(actor, weights, obs)


class ConditionedTrainer(PopulationTrainer):
    """The scaffold's `PopulationTrainer` for `Conditioned(config, env, learner)` (module
    docstring), plus `conditioned_policy`. `vmappable`: the config's vmappable dotted names
    (`"sac.actor_lr"`); an `hparams` key `"<section>.<field>"` reaches `learner.hyperparams`
    as `{field: values[run]}`."""

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
        schedule = Schedule(
            config.total_steps, config.eval_period, config.chunk_iterations, config.archive_capacity, vmappable
        )
        super().__init__(
            config, Conditioned(config, env, learner), schedule, num_runs=num_runs, hparams=hparams, devices=devices
        )
        self.learner, self.eval_weights = learner, self.algorithm.eval_weights

    def conditioned_policy(self, state: PopulationState, weights: Any, run: int = 0) -> Any:
        """The current policy conditioned on any simplex `weights [m]` (not only the
        evaluation weights): `act(obs, key) -> action`."""
        actor = self.learner.actor(self._run(state, run).members)
        return jax.tree_util.Partial(self._act, actor, jnp.asarray(weights, jnp.float32))
