"""MORL/D as one compiled program: the whole population trains at once.

`MORLD` is the algorithm, a `morl.algorithms.scaffold.PopulationAlgorithm`; the scaffold
(`PopulationTrainer`) adds the run axis, devices, the chunked `lax.scan`, the evaluation
schedule and the archive. One iteration, all inside `jit`:

    members = learner.update(members)                    # every member, its own weights (vmap)
    ideal   = max(ideal, best training return + tau)      # Tchebycheff's z* (PPO's estimates)
    every eval_period iterations:
        returns = learner.evaluate(members)               # deterministic, discounted (eval_gamma)
        archive = archive_insert(archive, returns, ...)   # Pareto archive with the actors' params
        ideal   = max(ideal, max(archive) + tau)          # z*, also after init's evaluation
        weights = adapt_weights(weights, returns, archive) # weight adaptation: none or PSA
        members = transfer(members, cooperation.update(...))  # cooperation: none or transfer

`learner` is the base learner behind one population interface (learners.py): PPO, or SAC
whose members may share one replay buffer. `run_chunk` scans `chunk_iterations`
iterations; the host only loops over chunks for logging and checkpoints. With `num_runs=R`
the same program is vmapped over R seeds (and per-run hyperparameters of the chosen
learner's section), so a sweep is one compile. With `devices=D` the runs (or, when D does
not divide R, the members) are split over D devices (`morl.parallel`). The state is the
scaffold's `PopulationState`, with `extra = {"ideal": z* [m]}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from morl import envs
from morl.algorithms.morld.config import MORLDConfig
from morl.algorithms.morld.cooperation import make_cooperation
from morl.algorithms.morld.learners import make_learner
from morl.algorithms.morld.weight_adaptation import make_weight_adaptation
from morl.algorithms.scaffold import PopulationTrainer, Schedule, section_hparams
from morl.decomposition import weights as weight_sets
from morl.decomposition.scalarization import Scalarization, make_scalarization
from morl.envs.registry import parse_kwargs
from morl.pareto.archive import ParetoArchive
from morl.shaping.config import make_chain


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


class MORLD:
    """MORL/D as a `morl.algorithms.scaffold.PopulationAlgorithm`: `members` is the base
    learner's population (`PPOState [pop]`, or `SACPopulation`), `extra` is
    `{"ideal": z* [m]}`, the Tchebycheff ideal point (best return seen, evaluations and
    training return estimates, + `ideal_tau`)."""

    def __init__(self, config: MORLDConfig):
        if not isinstance(config, MORLDConfig):
            raise TypeError(f"config must be a MORLDConfig, got {type(config).__name__}")
        self.config = config
        self.env = envs.make(config.env, **parse_kwargs(config.env_kwargs))
        config.validate(self.env.reward_dim)
        self.pop_size, self.steps_per_iteration = config.pop_size, config.steps_per_iteration
        self.scalarization = _scalarization(config)
        shaping = make_chain([shaping_entry(text) for text in config.shaping])
        self.learner = make_learner(self.env, config, self.scalarization, shaping)
        self.adapt_weights = make_weight_adaptation(config.weight_adaptation, config.psa_delta)
        self.cooperation = make_cooperation(config.cooperation, self.scalarization, config.neighborhood_size)
        # random weights are drawn per run in `init`; their neighbourhoods follow the members' weights
        random = config.weight_init == "random"
        self.weights = None if random else np.asarray(initial_weights(config, self.env.reward_dim))
        self.neighbours = self.cooperation.init(self.weights)

    def init(self, key: jax.Array, weights_key: jax.Array, hparams: Mapping[str, jax.Array]) -> tuple[Any, dict]:
        config, m = self.config, self.env.reward_dim
        hyper = self.learner.hyperparams(section_hparams(hparams, config.learner))
        hyper = jax.tree_util.tree_map(lambda x: jnp.full((config.pop_size,), x, jnp.float32), hyper)
        weights = initial_weights(config, m, weights_key)
        members = self.learner.init(jax.random.split(key, config.pop_size), weights, hyper)
        return members, {"ideal": jnp.full((m,), -jnp.inf, jnp.float32)}

    def iterate(self, members: Any, extra: dict) -> tuple[Any, dict, dict[str, jax.Array]]:
        members, metrics = self.learner.update(members)
        # z* = best seen + tau also over the training returns the SER gradient is evaluated
        # at (PPO); otherwise sign(z* - G) flips and pushes returns down.
        ideal = jnp.maximum(extra["ideal"], self.learner.best_train_return(metrics) + self.config.ideal_tau)
        return self.learner.share_ideal(members, ideal), {"ideal": ideal}, self.learner.summary(metrics)

    def evaluate(self, members: Any, key: jax.Array) -> jax.Array:
        keys = jax.random.split(key, self.config.pop_size)
        return self.learner.evaluate(keys, members, self.config.eval_episodes).discounted

    def payload(self, members: Any) -> dict[str, Any]:
        return {"weights": self.learner.weights(members), "actor": self.learner.actors(members)}

    def after_evaluation(
        self, members: Any, extra: dict, returns: jax.Array, archive: ParetoArchive, initial: bool
    ) -> tuple[Any, dict]:
        """z* from the archive and the new returns (every evaluation); then, after a
        training iteration, the configured weight adaptation (`adapt_weights`: none or PSA)
        and cooperation (`cooperation`: none, or each member taking its best neighbour's
        networks), the components of `weight_adaptation.py` and `cooperation.py`."""
        config, learner = self.config, self.learner
        best = jnp.max(jnp.where(archive.valid[:, None], archive.points, -jnp.inf), axis=0)
        ideal = jnp.maximum(extra["ideal"], jnp.maximum(best, jnp.max(returns, axis=0)) + config.ideal_tau)
        members = learner.share_ideal(members, ideal)
        if not initial:
            members = learner.with_weights(members, self.adapt_weights(learner.weights(members), returns, archive))
            source = self.cooperation.update(self.neighbours, learner.weights(members), returns, ideal)
            if source is not None:
                members = learner.transfer(members, source)
        return members, {"ideal": ideal}

    def act(self, actor: Any, weights: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array:
        return self.learner.act(actor, weights, obs, key)


class MORLDTrainer(PopulationTrainer):
    """The `morl.algorithms.api.Trainer` of MORL/D: the population trainer scaffold driving
    `MORLD`; `learner`, `weights` (fixed initial weights, None for random), `neighbours`
    and `scalarization` are the algorithm's."""

    def __init__(
        self,
        config: MORLDConfig,
        *,
        num_runs: int | None = None,
        hparams: Mapping[str, np.ndarray] | None = None,
        devices: int | None = None,
    ):
        algorithm = MORLD(config)
        schedule = Schedule(
            config.total_steps, config.eval_period, config.chunk_iterations, config.archive_capacity,
            MORLDConfig.vmappable, sections=(config.learner,),
        )  # fmt: skip
        super().__init__(config, algorithm, schedule, num_runs=num_runs, hparams=hparams, devices=devices)
        self.learner, self.scalarization = algorithm.learner, algorithm.scalarization
        self.weights, self.neighbours = algorithm.weights, algorithm.neighbours


def shaping_entry(text: str) -> dict[str, Any]:
    """`"clip:bound=10,low=-1"` -> `{"name": "clip", "bound": 10, "low": -1}`."""
    name, _, arguments = text.partition(":")
    items = [part.strip() for part in arguments.split(",") if part.strip()]
    return {"name": name.strip(), **parse_kwargs(items, f"shaping entry '{text}'")}


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
