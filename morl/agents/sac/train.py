"""SAC with vector critics as pure functions over one member's state; vmap for a population.

    learner = morl.agents.sac.make(env, config, scalarization, shaping)
    state = learner.init(key, weights, hyper)            # one member; weights [m]
    state, metrics = learner.update(state)               # rollout_steps x num_envs env steps
                                                         # + gradient_steps gradient steps
    returns = learner.evaluate(key, state, weights, 10)  # [10, m], deterministic, unshaped

Population: `jax.vmap(learner.init)(keys, weights [pop, m], hyper [pop])`, then
`jax.jit(jax.vmap(learner.update))(states)`. A shared replay buffer (`config.shared_buffer`):
`buffer = learner.init_buffer()`, then `states, buffer, metrics =
learner.update_population(states, buffer)` (jit it): every member's transitions go into
the one buffer and every member samples from it with its own key (rewards are vectors,
so each member scores them under its own weight). `make_train(num_updates)` gives
`train(key, weights, hyper) -> (state, metrics)`: init and a `lax.scan` of updates, one
compile for the whole run.

Fixed temperature: `alpha_lr = 0` keeps alpha at `init_alpha` (Adam's step is scaled by
0). One network for all weights: `make(...)._replace(batch_weights=sampler)` draws a
weight per replayed transition for the losses (`state.weights` may then be `[num_envs,
m]`, one weight per env for acting).

Conventions: actions are learned in `(-1, 1)^A` (tanh-squashed) and mapped affinely onto
the env's Box; metrics report the env's unshaped vector returns; the shaping transform
(one state per member, batch `[num_envs]`) shapes the rewards stored in the buffer.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from morl.agents.sac import losses
from morl.agents.sac.config import SACConfig, SACHyperparams
from morl.agents.sac.networks import VectorQ, apply_twin, init_twin
from morl.agents.sac.replay import ReplayBuffer, init_buffer, insert, sample
from morl.decomposition.scalarization import Scalarization, make_scalarization
from morl.envs import spaces
from morl.envs.core import Environment
from morl.envs.wrappers import AutoReset, EpisodeStatistics, VmapEnv
from morl.networks import pmoe
from morl.networks.mlp import CategoricalActor
from morl.shaping.base import RewardTransform, ShapingContext, identity

_ADAM = optax.scale_by_adam()


@struct.dataclass
class SACState:
    """One member's whole training state (add a leading `[pop]` axis for a population).

    `critic_params`/`target_params` hold the twin critics on a leading `[2]` axis;
    `obs: [num_envs, d]`; `buffer` is `None` with `config.shared_buffer`; `ideal: [m]` is
    the running max of Q estimates (used only by non-linear scalarisations)."""

    actor_params: Any
    critic_params: Any
    target_params: Any
    log_alpha: jax.Array
    actor_opt: Any
    critic_opt: Any
    alpha_opt: Any
    env_state: Any
    obs: jax.Array
    shaping_state: Any
    buffer: ReplayBuffer | None
    weights: jax.Array
    hyper: SACHyperparams
    ideal: jax.Array
    key: jax.Array
    env_steps: jax.Array
    gradient_steps: jax.Array


class SAC(NamedTuple):
    """A SAC learner bound to an env, a static config, a scalarisation and a shaping
    transform. Build it with `make`; every method is a pure function of its arguments."""

    env: Environment
    config: SACConfig
    scalarization: Scalarization
    shaping: RewardTransform
    nets: losses.SACNetworks
    max_episode_steps: int
    batch_weights: Any = None  # None, or `(key, batch_size) -> [batch_size, m]`: a fresh
    # weight per replayed transition instead of `state.weights` (one network for all
    # weights, e.g. CAPQL); the actor and critics must then be weight-conditioned

    # --- construction ---------------------------------------------------------------
    @property
    def reward_dim(self) -> int:
        return self.env.reward_dim

    @property
    def _train_env(self) -> VmapEnv:
        return VmapEnv(EpisodeStatistics(AutoReset(self.env)), self.config.num_envs)

    def init(self, key: jax.Array, weights: jax.Array, hyper: SACHyperparams) -> SACState:
        """A fresh member with `weights: [m]` and its hyperparameters (vmap for a population)."""
        weights = _checked_weights(weights, self.reward_dim)
        _check_hyper(hyper)
        k_actor, k_critic, k_env, k_state = jax.random.split(key, 4)
        obs_example = jnp.zeros(self.env.observation_space().shape, jnp.float32)
        action_example = self._action_example()
        actor_params = self.nets.actor.init(k_actor, obs_example, weights)
        critic_action = None if self.nets.discrete else action_example
        critic_params = init_twin(self.nets.critic, k_critic, obs_example, critic_action, weights)
        log_alpha = jnp.log(jnp.asarray(hyper.init_alpha, jnp.float32))
        obs, env_state = self._train_env.reset(k_env)
        buffer = None if self.config.shared_buffer else self.init_buffer()
        return SACState(
            actor_params=actor_params,
            critic_params=critic_params,
            target_params=critic_params,
            log_alpha=log_alpha,
            actor_opt=_ADAM.init(actor_params),
            critic_opt=_ADAM.init(critic_params),
            alpha_opt=_ADAM.init(log_alpha),
            env_state=env_state,
            obs=obs.astype(jnp.float32),
            shaping_state=self.shaping.init(self.reward_dim, (self.config.num_envs,)),
            buffer=buffer,
            weights=weights,
            hyper=hyper,
            ideal=jnp.full((self.reward_dim,), -jnp.inf, jnp.float32),
            key=k_state,
            env_steps=jnp.int32(0),
            gradient_steps=jnp.int32(0),
        )

    def init_buffer(self) -> ReplayBuffer:
        """An empty buffer of `config.buffer_size` transitions (no population axis)."""
        d = self.env.observation_space().shape
        example = losses.Transition(
            obs=jnp.zeros(d, jnp.float32),
            action=self._action_example(),
            reward=jnp.zeros((self.reward_dim,), jnp.float32),
            next_obs=jnp.zeros(d, jnp.float32),
            terminated=jnp.bool_(False),
        )
        return init_buffer(example, self.config.buffer_size)

    def _action_example(self) -> jax.Array:
        space = self.env.action_space()
        return jnp.int32(0) if self.nets.discrete else jnp.zeros(space.shape, jnp.float32)

    # --- acting ---------------------------------------------------------------------
    def act(self, actor_params: Any, obs: jax.Array, weights: jax.Array, key: jax.Array | None = None) -> jax.Array:
        """Env actions for `obs: [..., d]`: a sample of the policy, or the deterministic
        action (mode: the mean of the most probable expert) when `key` is None."""
        out = self.nets.actor.apply(actor_params, obs, weights)
        if key is None:
            action = out.mode() if self.nets.discrete else pmoe.mode(out, squash=True)
        else:
            action = losses.policy_action(self.nets, key, out)
        return self._to_env_action(action)

    def _to_env_action(self, action: jax.Array) -> jax.Array:
        if self.nets.discrete:
            return action
        space = self.env.action_space()
        low, high = jnp.asarray(space.low, jnp.float32), jnp.asarray(space.high, jnp.float32)
        return low + 0.5 * (action + 1.0) * (high - low)

    # --- one iteration ----------------------------------------------------------------
    def collect(self, state: SACState) -> tuple[SACState, losses.Transition, dict[str, jax.Array]]:
        """`rollout_steps` steps of the `num_envs` envs. Returns the state, the transitions
        flattened to `[rollout_steps * num_envs, ...]` and rollout metrics."""
        train_env, config, space = self._train_env, self.config, self.env.action_space()

        def env_step(carry, key):
            env_state, obs, shaping_state, env_steps = carry
            k_policy, k_random, k_env = jax.random.split(key, 3)
            out = self.nets.actor.apply(state.actor_params, obs, state.weights)
            action = losses.policy_action(self.nets, k_policy, out)
            random_action = self._random_action(k_random, action.shape)
            action = jnp.where(env_steps < config.learning_starts, random_action, action)
            next_obs, env_state, reward, terminated, truncated, info = train_env.step(
                k_env, env_state, self._to_env_action(action)
            )
            final_obs = info["final_obs"].astype(jnp.float32)
            context = ShapingContext(obs, final_obs, state.hyper.gamma, info["done"], terminated)
            shaped, shaping_state = self.shaping.apply(shaping_state, reward, context)
            transition = losses.Transition(obs, action, shaped, final_obs, terminated)
            carry = (env_state, next_obs.astype(jnp.float32), shaping_state, env_steps + config.num_envs)
            return carry, (transition, info["done"])

        key, k_steps = jax.random.split(state.key)
        carry = (state.env_state, state.obs, state.shaping_state, state.env_steps)
        carry, (transitions, done) = jax.lax.scan(env_step, carry, jax.random.split(k_steps, config.rollout_steps))
        env_state, obs, shaping_state, env_steps = carry
        flat = jax.tree_util.tree_map(lambda x: x.reshape((-1,) + x.shape[2:]), transitions)
        state = state.replace(env_state=env_state, obs=obs, shaping_state=shaping_state, env_steps=env_steps, key=key)
        stats = env_state  # EpisodeStatisticsState, fields [num_envs, ...]
        metrics = {
            "episode_return": jnp.mean(stats.last_return, axis=0),
            "episodes_done": jnp.sum(done),
            "env_steps": env_steps,
        }
        return state, flat, metrics

    def _random_action(self, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        if self.nets.discrete:
            return jax.random.randint(key, shape, 0, self.env.action_space().n, dtype=jnp.int32)
        return jax.random.uniform(key, shape, jnp.float32, -1.0, 1.0)

    def learn(self, state: SACState, buffer: ReplayBuffer) -> tuple[SACState, dict[str, jax.Array]]:
        """`gradient_steps` gradient steps on batches from `buffer`, once it holds
        `batch_size` transitions and `learning_starts` env steps were taken."""
        ready = (buffer.size >= self.config.batch_size) & (state.env_steps >= self.config.learning_starts)

        def steps(state):
            def body(state, _):
                return self._gradient_step(state, buffer)

            return jax.lax.scan(body, state, None, self.config.gradient_steps)

        def skip(state):
            _, metrics = jax.eval_shape(steps, state)
            return state, jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), metrics)

        state, metrics = jax.lax.cond(ready, steps, skip, state)
        metrics = jax.tree_util.tree_map(lambda x: jnp.mean(x, axis=0), metrics)
        return state, dict(metrics, learning=ready)

    def _gradient_step(self, state: SACState, buffer: ReplayBuffer) -> tuple[SACState, dict[str, jax.Array]]:
        hyper, nets = state.hyper, self.nets
        key, k_batch, k_critic, k_actor = jax.random.split(state.key, 4)
        batch = sample(buffer, k_batch, self.config.batch_size)
        weights = state.weights
        if self.batch_weights is not None:
            weights = self.batch_weights(jax.random.fold_in(k_batch, 1), self.config.batch_size)
        ideal = state.ideal
        if self.scalarization.name != "weighted_sum":
            action = None if nets.discrete else batch.action
            q_now = apply_twin(nets.critic, state.critic_params, batch.obs, action, weights)
            ideal = jnp.maximum(ideal, jnp.max(q_now.reshape(-1, self.reward_dim), axis=0))
        z_star = ideal + self.config.ideal_offset
        alpha = jnp.exp(state.log_alpha)

        critic_grads, critic_aux = jax.grad(losses.critic_loss, argnums=1, has_aux=True)(
            nets, state.critic_params, state.target_params, state.actor_params, batch,
            weights, z_star, alpha, hyper.gamma, k_critic,
        )
        critic_params, critic_opt = _adam_step(state.critic_params, state.critic_opt, critic_grads, hyper.critic_lr)

        actor_grads, actor_aux = jax.grad(losses.actor_loss, argnums=1, has_aux=True)(
            nets, state.actor_params, critic_params, batch.obs, weights, z_star, alpha,
            hyper.gumbel_temperature, k_actor,
        )
        actor_params, actor_opt = _adam_step(state.actor_params, state.actor_opt, actor_grads, hyper.actor_lr)

        alpha_grad = jax.grad(losses.alpha_loss)(state.log_alpha, actor_aux["entropy"], hyper.target_entropy)
        log_alpha, alpha_opt = _adam_step(state.log_alpha, state.alpha_opt, alpha_grad, hyper.alpha_lr)

        target_params = optax.incremental_update(critic_params, state.target_params, hyper.tau)
        state = state.replace(
            actor_params=actor_params,
            critic_params=critic_params,
            target_params=target_params,
            log_alpha=log_alpha,
            actor_opt=actor_opt,
            critic_opt=critic_opt,
            alpha_opt=alpha_opt,
            ideal=ideal,
            key=key,
            gradient_steps=state.gradient_steps + 1,
        )
        return state, {**critic_aux, **actor_aux, "alpha": alpha}

    def update(self, state: SACState) -> tuple[SACState, dict[str, jax.Array]]:
        """One iteration for a member that owns its buffer: collect, insert, learn."""
        if self.config.shared_buffer:
            raise ValueError("SACConfig.shared_buffer=True: use update_population(states, buffer)")
        state, transitions, rollout_metrics = self.collect(state)
        state = state.replace(buffer=insert(state.buffer, transitions))
        state, learn_metrics = self.learn(state, state.buffer)
        return state, {**rollout_metrics, **learn_metrics}

    def update_population(
        self, states: SACState, buffer: ReplayBuffer
    ) -> tuple[SACState, ReplayBuffer, dict[str, jax.Array]]:
        """One iteration of a `[pop]` population sharing `buffer`: every member collects,
        all transitions `[pop * rollout_steps * num_envs]` go into the one buffer, every
        member learns from it (own key, own weight). Metrics gain a leading `[pop]` axis."""
        states, transitions, rollout_metrics = jax.vmap(self.collect)(states)
        flat = jax.tree_util.tree_map(lambda x: x.reshape((-1,) + x.shape[2:]), transitions)
        buffer = insert(buffer, flat)
        states, learn_metrics = jax.vmap(self.learn, in_axes=(0, None))(states, buffer)
        return states, buffer, {**rollout_metrics, **learn_metrics}

    # --- whole runs and evaluation ------------------------------------------------------
    def make_train(self, num_updates: int):
        """`train(key, weights [m], hyper) -> (state, metrics)` running `init` and
        `num_updates` updates in one `lax.scan` (metrics stacked `[num_updates, ...]`).
        Jit it, and vmap it over members (not with a shared buffer)."""
        if self.config.shared_buffer:
            raise ValueError("make_train trains independent members; with shared_buffer use update_population")

        def train(key, weights, hyper):
            state = self.init(key, weights, hyper)
            return jax.lax.scan(lambda s, _: self.update(s), state, None, int(num_updates))

        return train

    def evaluate(self, key: jax.Array, state: SACState, weights: jax.Array, num_episodes: int) -> jax.Array:
        """Undiscounted, unshaped vector returns `[num_episodes, m]` of the deterministic
        policy conditioned on `weights: [m]` (ignored unless `weight_conditioned`), one
        episode per env copy, each run to its end or `params.max_steps`."""
        max_steps = self.max_episode_steps
        envs = VmapEnv(self.env, int(num_episodes))
        obs, env_state = envs.reset(key)

        def body(carry, key):
            env_state, obs, alive, total = carry
            action = self.act(state.actor_params, obs.astype(jnp.float32), weights)
            obs, env_state, reward, terminated, truncated, _ = envs.step(key, env_state, action)
            total = total + jnp.where(alive[:, None], reward, 0.0)
            alive = alive & ~(terminated | truncated)
            return (env_state, obs, alive, total), None

        alive = jnp.ones((int(num_episodes),), bool)
        total = jnp.zeros((int(num_episodes), self.reward_dim), jnp.float32)
        keys = jax.random.split(jax.random.fold_in(key, 1), max_steps)
        (_, _, _, total), _ = jax.lax.scan(body, (env_state, obs, alive, total), keys)
        return total


def make(
    env: Environment,
    config: SACConfig = SACConfig(),
    scalarization: Scalarization | str = "weighted_sum",
    shaping: RewardTransform | None = None,
) -> SAC:
    """Build a SAC learner. `scalarization`: a `Scalarization` or its name; `shaping`: a
    reward transform (default identity). Raises `ValueError` for a bad config or an action
    space SAC cannot handle."""
    config.validate()
    if isinstance(scalarization, str):
        scalarization = make_scalarization(scalarization)
    space = env.action_space()
    if isinstance(space, spaces.Discrete):
        if config.actor != "gaussian":
            raise ValueError(f"SACConfig.actor={config.actor!r} needs a Box action space; {env.name} has {space}")
        actor = CategoricalActor(space.n, config.hidden_sizes, config.activation, config.weight_conditioned)
        kind, num_actions = "categorical", space.n
    elif isinstance(space, spaces.Box) and len(space.shape) == 1 and np.all(np.isfinite(space.low)) and np.all(
        np.isfinite(space.high)
    ):
        actor = pmoe.make_mixture_actor(
            config.actor, space.shape[0], config.num_experts, config.hidden_sizes, config.activation,
            config.weight_conditioned,
        )
        kind, num_actions = config.actor, None
    else:
        raise ValueError(f"SAC needs a Discrete or bounded 1-D Box action space; {env.name} has {space}")
    critic = VectorQ(env.reward_dim, config.hidden_sizes, config.activation, config.weight_conditioned, num_actions)
    nets = losses.SACNetworks(actor, critic, kind, scalarization.value)
    max_steps = getattr(env.default_params, "max_steps", None)
    if max_steps is None:
        raise ValueError(f"{env.name}: params have no max_steps, so evaluation episodes have no length bound")
    return SAC(env, config, scalarization, shaping or identity(), nets, int(np.asarray(max_steps)))


def _adam_step(params, opt_state, grads, lr):
    updates, opt_state = _ADAM.update(grads, opt_state, params)
    return optax.apply_updates(params, jax.tree_util.tree_map(lambda u: -lr * u, updates)), opt_state


def _is_concrete(x: Any) -> bool:
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(x))


def _checked_weights(weights: jax.Array, reward_dim: int) -> jax.Array:
    weights = jnp.asarray(weights, jnp.float32)
    if weights.shape != (reward_dim,):
        raise ValueError(f"weights have shape {weights.shape}, expected ({reward_dim},) (one per objective)")
    if _is_concrete(weights):
        w = np.asarray(weights)
        if np.any(w < 0) or abs(float(w.sum()) - 1.0) > 1e-4:
            raise ValueError(f"weights {w.tolist()} are not on the simplex (w >= 0, sum 1)")
    return weights


def _check_hyper(hyper: SACHyperparams) -> None:
    if not isinstance(hyper, SACHyperparams):
        raise TypeError(f"hyper must be SACHyperparams (see default_hyperparams), got {type(hyper).__name__}")
    if not _is_concrete(hyper):
        return
    for name in ("actor_lr", "critic_lr", "init_alpha", "gumbel_temperature"):
        value = np.asarray(getattr(hyper, name))
        if np.any(~(value > 0)):
            raise ValueError(f"SACHyperparams.{name}={value} must be > 0")
    if np.any(~(np.asarray(hyper.alpha_lr) >= 0)):  # 0: the temperature stays at init_alpha
        raise ValueError(f"SACHyperparams.alpha_lr={np.asarray(hyper.alpha_lr)} must be >= 0")
    for name in ("gamma", "tau"):
        value = np.asarray(getattr(hyper, name))
        if np.any(~((value >= 0) & (value <= 1))):
            raise ValueError(f"SACHyperparams.{name}={value} must lie in [0, 1]")
