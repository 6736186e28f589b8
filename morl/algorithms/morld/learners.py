"""MORL/D's base learners behind one population interface: PPO or SAC.

MORL/D (train.py) never looks inside a learner's state; it calls a `PopulationLearner`
on the whole population (a pytree with a leading `[pop]` axis somewhere inside):

    hyper = learner.hyperparams(overrides)                          # the section's numbers (scalars)
    population = learner.init(keys [pop], weights [pop, m], hyper)   # hyper: leaves [pop]
    population, metrics = learner.update(population)                 # one iteration of every member
    result = learner.evaluate(keys [pop], population, episodes)      # EvalResult, leaves [pop, ...]
    learner.weights(population) -> [pop, m];  learner.with_weights(population, weights)
    learner.share_ideal(population, ideal [m])                      # make the members' z* agree
    learner.actors(population)                                      # actor params [pop] (archive payload)
    learner.transfer(population, source [pop])                      # member i takes member source[i]'s networks
    learner.act(actor, weights [m], obs, key)                       # deterministic env action
    learner.best_train_return(metrics) -> [m]; learner.summary(metrics) -> dict of logged values

`PPOLearner` vmaps `morl.agents.ppo` (members are `PPOState [pop]`). `SACLearner` vmaps
`morl.agents.sac`; its population is `SACPopulation(members: SACState [pop], buffer)`
where `buffer` is the one replay buffer every member writes into and samples from with
`cooperation: shared_buffer` (no population axis), and None when each member owns one.
"""

from __future__ import annotations

from typing import Any, Protocol

import jax
import jax.numpy as jnp
from flax import struct

from morl.agents import ppo, sac
from morl.envs.evaluation import EvalResult, evaluate
from morl.algorithms.morld.config import MORLDConfig
from morl.algorithms.morld.cooperation import transfer
from morl.decomposition.scalarization import Scalarization
from morl.envs import spaces
from morl.envs.core import Environment
from morl.shaping.base import RewardTransform


class PopulationLearner(Protocol):
    """What MORL/D needs from a base learner (see the module docstring)."""

    def hyperparams(self, overrides: dict[str, jax.Array]) -> Any: ...
    def init(self, keys: jax.Array, weights: jax.Array, hyper: Any) -> Any: ...
    def update(self, population: Any) -> tuple[Any, dict[str, jax.Array]]: ...
    def evaluate(self, keys: jax.Array, population: Any, num_episodes: int) -> EvalResult: ...
    def weights(self, population: Any) -> jax.Array: ...
    def with_weights(self, population: Any, weights: jax.Array) -> Any: ...
    def share_ideal(self, population: Any, ideal: jax.Array) -> Any: ...
    def actors(self, population: Any) -> Any: ...
    def transfer(self, population: Any, source: jax.Array) -> Any: ...
    def act(self, actor: Any, weights: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array: ...
    def best_train_return(self, metrics: dict[str, jax.Array]) -> jax.Array: ...
    def summary(self, metrics: dict[str, jax.Array]) -> dict[str, jax.Array]: ...


class PPOLearner:
    """Multi-objective PPO per member (`morl.agents.ppo`); z* is MORL/D's (best return + tau)."""

    def __init__(self, env: Environment, config: MORLDConfig, scalarization: Scalarization, shaping: RewardTransform):
        self.config = config
        static = config.ppo.ppo_config(config.eval_gamma, config.max_eval_steps, config.total_iterations)
        self.agent = ppo.make(env, static, scalarization, shaping)

    def hyperparams(self, overrides: dict[str, jax.Array]) -> ppo.PPOHyperparams:
        hyper = self.config.ppo.hyperparams()
        return hyper.replace(**overrides) if overrides else hyper

    def init(self, keys: jax.Array, weights: jax.Array, hyper: ppo.PPOHyperparams) -> ppo.PPOState:
        return jax.vmap(self.agent.init)(keys, weights, hyper)

    def update(self, members: ppo.PPOState) -> tuple[ppo.PPOState, dict[str, jax.Array]]:
        return jax.vmap(self.agent.update)(members)

    def evaluate(self, keys: jax.Array, members: ppo.PPOState, num_episodes: int) -> EvalResult:
        return jax.vmap(lambda k, s: self.agent.evaluate(k, s, None, num_episodes))(keys, members)

    def weights(self, members: ppo.PPOState) -> jax.Array:
        return members.weights

    def with_weights(self, members: ppo.PPOState, weights: jax.Array) -> ppo.PPOState:
        return members.replace(weights=weights)

    def share_ideal(self, members: ppo.PPOState, ideal: jax.Array) -> ppo.PPOState:
        """PPO's SER gradient is taken at MORL/D's z* (`ideal [m]`, every member)."""
        return members.replace(ideal=jnp.broadcast_to(ideal, members.ideal.shape))

    def actors(self, members: ppo.PPOState) -> Any:
        return members.params["actor"]

    def transfer(self, members: ppo.PPOState, source: jax.Array) -> ppo.PPOState:
        """Networks and their Adam moments move; rollouts, weights and counters stay."""
        params, opt_state = transfer((members.params, members.opt_state), source)
        return members.replace(params=params, opt_state=opt_state)

    def act(self, actor: Any, weights: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array:
        return self.agent.act({"actor": actor}, obs, weights, key, deterministic=True)

    def best_train_return(self, metrics: dict[str, jax.Array]) -> jax.Array:
        """Best discounted training return of the episodes that ended (-inf where none)."""
        return jnp.max(jnp.nan_to_num(metrics["discounted_return"], nan=-jnp.inf), axis=0)

    def summary(self, metrics: dict[str, jax.Array]) -> dict[str, jax.Array]:
        return {
            "policy_objective": jnp.mean(metrics["policy_objective"]),
            "value_loss": jnp.mean(metrics["value_loss"]),
            "entropy": jnp.mean(metrics["entropy"]),
            "train_episode_return": jnp.nanmean(metrics["episode_return"], axis=0),
        }


@struct.dataclass
class SACPopulation:
    """`members`: `SACState [pop]`; `buffer`: the population's one `ReplayBuffer` (no
    population axis) with `cooperation: shared_buffer`, else None (each member owns one)."""

    members: sac.SACState
    buffer: sac.ReplayBuffer | None


class SACLearner:
    """SAC with twin vector critics per member (`morl.agents.sac`); continuous (Gaussian or
    PMOE actor) or discrete (categorical actor) from the env's action space.

    z*: SAC scores Q vectors, not returns, so its z* is the population's running maximum
    of the critics' estimates + `ideal_tau` (pooled over members after every iteration,
    like morl-baselines' one Tchebycheff utopia shared by all members); MORL/D's
    return-based z* only scores returns (transfer)."""

    def __init__(self, env: Environment, config: MORLDConfig, scalarization: Scalarization, shaping: RewardTransform):
        space = env.action_space()
        if isinstance(space, spaces.Discrete) and config.sac.actor != "gaussian":
            raise ValueError(
                f"MORLDConfig: sac.actor={config.sac.actor!r} needs a continuous (Box) action space; "
                f"{config.env} has {space} (use sac.actor: gaussian, a categorical policy)"
            )
        self.config, self.env = config, env
        sac_config = config.sac.sac_config(config.cooperation == "shared_buffer", config.ideal_tau)
        try:
            self.agent = sac.make(env, sac_config, scalarization, shaping)
        except ValueError as err:
            raise ValueError(f"MORLDConfig: sac section: {err}") from None

    def hyperparams(self, overrides: dict[str, jax.Array]) -> sac.SACHyperparams:
        hyper = self.config.sac.hyperparams(self.env.action_space())
        return hyper.replace(**overrides) if overrides else hyper

    def init(self, keys: jax.Array, weights: jax.Array, hyper: sac.SACHyperparams) -> SACPopulation:
        members = jax.vmap(self.agent.init)(keys, weights, hyper)
        buffer = self.agent.init_buffer() if self.agent.config.shared_buffer else None
        return SACPopulation(members, buffer)

    def update(self, population: SACPopulation) -> tuple[SACPopulation, dict[str, jax.Array]]:
        """Every member collects and learns; with a shared buffer all `pop * num_envs *
        rollout_steps` transitions go into the one buffer and every member samples its
        batches from it (its own key; its own weights scalarise targets and Q vectors)."""
        if population.buffer is None:
            members, metrics = jax.vmap(self.agent.update)(population.members)
            buffer = None
        else:
            members, buffer, metrics = self.agent.update_population(population.members, population.buffer)
        ideal = jnp.max(members.ideal, axis=0)
        members = members.replace(ideal=jnp.broadcast_to(ideal, members.ideal.shape))
        return SACPopulation(members, buffer), metrics

    def evaluate(self, keys: jax.Array, population: SACPopulation, num_episodes: int) -> EvalResult:
        """The deterministic policy (mean of the most probable expert; arg-max action) on
        `num_episodes` episodes, discounted with `eval_gamma`, as PPO evaluates."""
        config, env = self.config, self.env

        def one(key, actor, weights):
            policy = lambda obs: self.agent.act(actor, obs.astype(jnp.float32), weights)  # noqa: E731
            max_steps, gamma = config.max_eval_steps, config.eval_gamma
            return evaluate(env, env.default_params, policy, key, num_episodes, max_steps, gamma)

        members = population.members
        return jax.vmap(one)(keys, members.actor_params, members.weights)

    def weights(self, population: SACPopulation) -> jax.Array:
        return population.members.weights

    def with_weights(self, population: SACPopulation, weights: jax.Array) -> SACPopulation:
        return population.replace(members=population.members.replace(weights=weights))

    def share_ideal(self, population: SACPopulation, ideal: jax.Array) -> SACPopulation:
        """SAC keeps its Q-based z* (pooled in `update`); MORL/D's return-based one is not used."""
        return population

    def actors(self, population: SACPopulation) -> Any:
        return population.members.actor_params

    def transfer(self, population: SACPopulation, source: jax.Array) -> SACPopulation:
        """Actor, twin critics, target critics, temperature and their Adam moments move;
        rollouts, replay buffers, weights and counters stay."""
        m = population.members
        moved = transfer(
            (m.actor_params, m.critic_params, m.target_params, m.log_alpha, m.actor_opt, m.critic_opt, m.alpha_opt),
            source,
        )
        names = ("actor_params", "critic_params", "target_params", "log_alpha", "actor_opt", "critic_opt", "alpha_opt")
        return population.replace(members=m.replace(**dict(zip(names, moved))))

    def act(self, actor: Any, weights: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array:
        return self.agent.act(actor, obs, weights)

    def best_train_return(self, metrics: dict[str, jax.Array]) -> jax.Array:
        """SAC's rollout statistics are undiscounted, so only evaluations move MORL/D's z*."""
        return jnp.full(metrics["episode_return"].shape[-1:], -jnp.inf, jnp.float32)

    def summary(self, metrics: dict[str, jax.Array]) -> dict[str, jax.Array]:
        return {
            "critic_loss": jnp.mean(metrics["critic_loss"]),
            "actor_loss": jnp.mean(metrics["actor_loss"]),
            "entropy": jnp.mean(metrics["entropy"]),
            "alpha": jnp.mean(metrics["alpha"]),
            "train_episode_return": jnp.mean(metrics["episode_return"], axis=0),
        }


def make_learner(
    env: Environment, config: MORLDConfig, scalarization: Scalarization, shaping: RewardTransform
) -> PopulationLearner:
    """The base learner `config.learner` names."""
    cls = {"ppo": PPOLearner, "sac": SACLearner}[config.learner]
    return cls(env, config, scalarization, shaping)


