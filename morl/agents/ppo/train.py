"""PPO as pure functions: `make` builds `init`, `update`, `evaluate`, `act` and `make_train`.

One `update` is PureJaxRL's loop body: `_env_step` scanned `num_steps` times (rollout.py),
vector GAE, then `_update_epoch` scanned `num_epochs` times, each scanning
`_update_minibatch` over `num_minibatches` shuffled minibatches.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from morl.agents.ppo import losses
from morl.agents.ppo import pmoe as ppo_pmoe
from morl.agents.ppo.config import PMOE_ACTORS, PPOConfig, PPOHyperparams
from morl.agents.ppo.losses import Minibatch, PolicyObjective
from morl.agents.ppo.rollout import collect
from morl.envs.evaluation import EvalResult, env_action, evaluate
from morl.decomposition.scalarization import Scalarization, make_scalarization
from morl.envs import spaces
from morl.envs.core import Environment
from morl.envs.wrappers import AutoReset, EpisodeStatistics
from morl.networks.mlp import OBS_NORM, VectorCritic, make_actor, update_observation_statistics
from morl.shaping.base import RewardTransform, chain, identity
from morl.shaping.normalize import normalize

_ADAM = optax.scale_by_adam(eps=1e-5)


@struct.dataclass
class PPOState:
    """Everything one PPO member carries between updates (a population stacks `[pop]`).

    `params = {"actor", "critic"}` (plus `"q"`, the vector Q estimate, with a PMOE
    actor), each a flax variables dict (`"params"`, and
    `"obs_norm"` statistics with `normalize_observations`); `opt_state` Adam's moments; `env_state [E]` and
    `obs [E, ...]` of the `num_envs` training envs; `shaping_state` of the reward
    transform; `rng`; `weights [m]` and `ideal [m]` (the multi-policy algorithm may replace
    both between updates); `return_estimate [m]` mean unshaped discounted (eval_gamma)
    return of the episodes that ended in the latest rollout with any (zeros before the
    first), where the scalarisation gradient is evaluated; `hyper` the member's
    `PPOHyperparams`; `objective_params` any pytree handed to the policy objective;
    `update_count`, `env_steps` int32 counters."""

    params: Any
    opt_state: Any
    env_state: Any
    obs: jax.Array
    shaping_state: Any
    rng: jax.Array
    weights: jax.Array
    ideal: jax.Array
    return_estimate: jax.Array
    hyper: PPOHyperparams
    objective_params: Any
    update_count: jax.Array
    env_steps: jax.Array


class PPO(NamedTuple):
    """The learner `make` returns; every function is pure and jittable/vmappable.

    - `init(key, weights [m], hyper=None, ideal=None, objective_params=()) -> PPOState`
    - `update(state) -> (state, metrics)`: one rollout and its epochs
    - `evaluate(key, state_or_params, weights=None, num_episodes=1) -> EvalResult`
    - `act(params, obs, weights, key, deterministic=False) -> env action`
    - `make_train(num_updates) -> train(key, weights, hyper=None) -> (state, metrics [num_updates])`
    - `estimate_return(key, params, weights, shaping_state, hyper) -> [m]`: mean GAE value
      target of one rollout from fresh envs (`update`'s own rollout and GAE; C-MORL's
      threshold probe)

    `action_value` is the PMOE router's vector Q network (`ppo.pmoe.ActionValue`), `None`
    for the other actors.
    """

    config: PPOConfig
    env: Environment
    actor: Any
    critic: Any
    init: Callable[..., PPOState]
    update: Callable[[PPOState], tuple[PPOState, dict[str, jax.Array]]]
    evaluate: Callable[..., EvalResult]
    act: Callable[..., jax.Array]
    make_train: Callable[[int], Callable[..., tuple[PPOState, dict[str, jax.Array]]]]
    action_value: Any = None
    estimate_return: Callable[..., jax.Array] | None = None


def _check_weights(weights: jax.Array, reward_dim: int, what: str = "weights") -> jax.Array:
    weights = jnp.asarray(weights, jnp.float32)
    if weights.shape != (reward_dim,):
        raise ValueError(f"{what} has shape {weights.shape}, expected ({reward_dim},) (one per objective)")
    if not isinstance(weights, jax.core.Tracer):
        values = np.asarray(weights)
        if np.any(values < 0) or not np.isclose(values.sum(), 1.0, atol=1e-4):
            raise ValueError(f"{what}={values.tolist()} must lie on the simplex (non-negative, summing to 1)")
    return weights


def _check_obs_space(env: Environment, params: Any) -> None:
    space = env.observation_space(params)
    if len(space.shape) != 1:
        raise ValueError(f"PPO needs flat observations (1-D), {env.name} has shape {space.shape}")


def make(
    env: Environment,
    config: PPOConfig = PPOConfig(),
    scalarization: Scalarization | None = None,
    shaping: RewardTransform | None = None,
    policy_objective: PolicyObjective = losses.scalarized_clipped_surrogate,
    env_params: Any = None,
    actor_module: Any = None,
    critic_module: Any = None,
) -> PPO:
    """Build PPO for `env` (a plain `morl.envs` environment; AutoReset and episode
    statistics are added here). `scalarization` defaults to the weighted sum, `shaping`
    to the identity; with `config.normalize_returns` the return normalisation runs after
    `shaping`. `policy_objective` is maximised (see `losses`). `actor_module` /
    `critic_module` replace the networks `config` describes (flax modules with the
    signature of `morl.networks.mlp.GaussianActor` / `VectorCritic`, e.g. the
    hypernetworks of `morl.networks.hyper`).

    Per-env weights: `state.weights` may be replaced by `[num_envs, m]` (one weight per
    env, for a policy conditioned on the weight); each env then acts, and its samples are
    scalarised, under its own weight (not with PMOE actors)."""
    if not isinstance(config, PPOConfig):
        raise TypeError(f"config must be a PPOConfig, got {type(config).__name__}")
    scalarization = make_scalarization("weighted_sum") if scalarization is None else scalarization
    shaping = identity() if shaping is None else shaping
    if config.normalize_returns:
        shaping = chain(shaping, normalize(returns=True))
    env_params = env.default_params if env_params is None else env_params
    _check_obs_space(env, env_params)
    action_space = env.action_space(env_params)
    kind = config.actor or ("categorical" if isinstance(action_space, spaces.Discrete) else "gaussian")
    action_value = None
    if actor_module is not None:
        actor = actor_module
    elif kind in PMOE_ACTORS:
        if not isinstance(action_space, spaces.Box) or len(action_space.shape) != 1:
            raise ValueError(f"actor {kind!r} needs a 1-D Box action space, got {action_space}")
        actor = ppo_pmoe.PMOEActor(
            action_space.shape[0], config.num_experts, config.hidden_sizes, config.activation,
            config.weight_conditioned, config.normalize_observations,
        )
        action_value = ppo_pmoe.ActionValue(
            env.reward_dim, config.hidden_sizes, config.activation, config.weight_conditioned,
            config.normalize_observations,
        )
    else:
        actor = make_actor(
            kind, action_space, config.hidden_sizes, config.activation, config.weight_conditioned,
            normalize_observations=config.normalize_observations,
        )
    critic = critic_module or VectorCritic(
        env.reward_dim, config.hidden_sizes, config.activation, config.weight_conditioned,
        normalize_observations=config.normalize_observations,
    )
    train_env = EpisodeStatistics(AutoReset(env), gamma=config.eval_gamma)
    m = env.reward_dim
    num_envs, num_steps = config.num_envs, config.num_steps

    def init(key, weights, hyper=None, ideal=None, objective_params=()) -> PPOState:
        weights = _check_weights(weights, m)
        ideal = jnp.zeros((m,), jnp.float32) if ideal is None else _check_ideal(ideal)
        hyper = (PPOHyperparams() if hyper is None else hyper).validate().as_arrays()
        key, key_actor, key_critic, key_env = jax.random.split(key, 4)
        obs, env_state = jax.vmap(train_env.reset, in_axes=(0, None))(jax.random.split(key_env, num_envs), env_params)
        params = {
            "actor": actor.init(key_actor, obs[0], weights),
            "critic": critic.init(key_critic, obs[0], weights),
        }
        if action_value is not None:
            action = jnp.zeros(action_space.shape, jnp.float32)
            params["q"] = action_value.init(jax.random.fold_in(key_critic, 1), obs[0], action, weights)
        return PPOState(
            params=params,
            opt_state=_ADAM.init(params),
            env_state=env_state,
            obs=obs,
            shaping_state=shaping.init(m, (num_envs,)),
            rng=key,
            weights=weights,
            ideal=ideal,
            return_estimate=jnp.zeros((m,), jnp.float32),
            hyper=hyper,
            objective_params=objective_params,
            update_count=jnp.int32(0),
            env_steps=jnp.int32(0),
        )

    def _check_ideal(ideal):
        ideal = jnp.asarray(ideal, jnp.float32)
        if ideal.shape != (m,):
            raise ValueError(f"ideal has shape {ideal.shape}, expected ({m},)")
        return ideal

    def _remaining(state: PPOState) -> jax.Array:
        """Share of `total_updates` still to come: 1 at the first update, 0 after the last."""
        return jnp.maximum(1.0 - state.update_count.astype(jnp.float32) / config.total_updates, 0.0)

    def _learning_rate(state: PPOState) -> jax.Array:
        if config.lr_schedule == "linear":
            return state.hyper.learning_rate * _remaining(state)
        return state.hyper.learning_rate

    def _entropy_coef(state: PPOState) -> jax.Array:
        if config.ent_schedule == "linear":
            return state.hyper.ent_coef * _remaining(state)
        return state.hyper.ent_coef

    def _rollout(params, weights, hyper, carry):
        """`num_steps` steps of the `num_envs` training envs from `carry = (env_state, obs,
        shaping_state, key)` (rollout.py), then vector GAE on the shaped rewards (values
        batched over [T, E]): `((env_state, obs, shaping_state), traj, values, advantages,
        targets)`."""
        carry, traj = collect(
            train_env, env_params, actor.apply, params["actor"], weights, shaping, hyper.gamma, carry, num_steps
        )
        values = critic.apply(params["critic"], traj.obs, weights)
        next_values = critic.apply(params["critic"], traj.final_obs, weights)
        advantages, targets = losses.vector_gae(
            traj.reward, values, next_values, traj.terminated, traj.done, hyper.gamma, hyper.gae_lambda
        )
        return carry, traj, values, advantages, targets

    def estimate_return(key, params, weights, shaping_state, hyper) -> jax.Array:
        """A policy's own return estimate `[m]` in the critic's units: the mean GAE value
        target over one rollout (`num_steps x num_envs`, the same rollout and GAE as
        `update`) from `num_envs` fresh envs, with reward-shaping state `shaping_state`
        and `hyper`'s gamma and GAE lambda. Nothing is learned."""
        key_reset, key_rollout = jax.random.split(key)
        obs, env_state = jax.vmap(train_env.reset, in_axes=(0, None))(jax.random.split(key_reset, num_envs), env_params)
        *_, targets = _rollout(params, weights, hyper, (env_state, obs, shaping_state, key_rollout))
        return targets.mean(axis=(0, 1))

    def update(state: PPOState) -> tuple[PPOState, dict[str, jax.Array]]:
        hyper, weights = state.hyper, state.weights
        rng, key_rollout, key_epochs = jax.random.split(state.rng, 3)

        # --- rollout and vector GAE ------------------------------------------------------
        carry = (state.env_state, state.obs, state.shaping_state, key_rollout)
        (env_state, obs, shaping_state), traj, values, advantages, targets = _rollout(
            state.params, weights, hyper, carry
        )

        # --- SER: scalarisation gradient at the recent mean return ----------------------
        finished = traj.done.astype(jnp.float32)
        num_finished = finished.sum()
        safe = jnp.maximum(num_finished, 1.0)
        mean_discounted = jnp.einsum("te,tem->m", finished, traj.discounted_return) / safe
        mean_return = jnp.einsum("te,tem->m", finished, traj.episode_return) / safe
        mean_length = jnp.sum(finished * traj.episode_length) / safe
        return_estimate = jnp.where(num_finished > 0, mean_discounted, state.return_estimate)
        gradient = scalarization.gradient(return_estimate, weights, state.ideal)

        # --- epochs of minibatch updates ------------------------------------------------
        flat = lambda x: x.reshape((num_steps * num_envs,) + x.shape[2:])
        batch = Minibatch(
            flat(traj.obs), flat(traj.action), flat(traj.log_prob), flat(values), flat(advantages), flat(targets)
        )
        lr = _learning_rate(state)
        hyper = hyper.replace(ent_coef=_entropy_coef(state))
        per_env = weights.ndim == 2  # [num_envs, m]: each sample keeps its env's weight
        if per_env:
            if action_value is not None:
                raise ValueError("PPO: per-env weights are not supported with PMOE actors")
            per_sample = lambda x: flat(jnp.broadcast_to(x, (num_steps,) + x.shape))  # noqa: E731
            data = (batch, per_sample(weights), per_sample(gradient))
        else:
            data = batch

        def _loss(params, minibatch, key, weights, gradient):
            loss, metrics = losses.ppo_loss(
                params,
                minibatch,
                actor_apply=policy_apply,
                critic_apply=critic.apply,
                weights=weights,
                ideal=state.ideal,
                scalarization_gradient=gradient,
                objective_params=state.objective_params,
                hyper=hyper,
                policy_objective=policy_objective,
                clip_value_loss=config.clip_value_loss,
            )
            if action_value is None:
                return loss, metrics
            extra, extra_metrics = _router_and_q_loss(params, minibatch, key, weights, state.ideal, hyper)
            return loss + extra, {**metrics, **extra_metrics}

        loss_fn = jax.value_and_grad(_loss, has_aux=True)

        def _update_minibatch(carry, inputs):
            params, opt_state = carry
            minibatch, key = inputs
            if per_env:
                minibatch, minibatch_weights, minibatch_gradient = minibatch
            else:
                minibatch_weights, minibatch_gradient = weights, gradient
            (_, metrics), grads = loss_fn(params, minibatch, key, minibatch_weights, minibatch_gradient)
            metrics["grad_norm"] = optax.global_norm(grads)
            grads, _ = optax.clip_by_global_norm(hyper.max_grad_norm).update(grads, optax.EmptyState())
            updates, opt_state = _ADAM.update(grads, opt_state)
            params = jax.tree_util.tree_map(lambda p, u: p - lr * u, params, updates)
            return (params, opt_state), metrics

        def _update_epoch(carry, key):
            permutation = jax.random.permutation(key, config.batch_size)
            shuffled = jax.tree_util.tree_map(
                lambda x: x[permutation].reshape((config.num_minibatches, config.minibatch_size) + x.shape[1:]), data
            )
            minibatch_keys = jax.random.split(jax.random.fold_in(key, 1), config.num_minibatches)
            return jax.lax.scan(_update_minibatch, carry, (shuffled, minibatch_keys))

        (params, opt_state), loss_metrics = jax.lax.scan(
            _update_epoch, (state.params, state.opt_state), jax.random.split(key_epochs, config.num_epochs)
        )
        if config.normalize_observations:
            # Acting and training used the statistics of the previous update; now merge
            # this rollout's raw observations into them (the gradient never touches them).
            params = {
                net: update_observation_statistics({**params[net], OBS_NORM: state.params[net][OBS_NORM]}, traj.obs)
                for net in params
            }

        new_state = state.replace(
            params=params,
            opt_state=opt_state,
            env_state=env_state,
            obs=obs,
            shaping_state=shaping_state,
            rng=rng,
            return_estimate=return_estimate,
            update_count=state.update_count + 1,
            env_steps=state.env_steps + num_steps * num_envs,
        )
        nan = jnp.float32(jnp.nan)
        metrics = {name: value.mean() for name, value in loss_metrics.items()}
        metrics.update(
            episode_return=jnp.where(num_finished > 0, mean_return, nan),
            discounted_return=jnp.where(num_finished > 0, mean_discounted, nan),
            episode_length=jnp.where(num_finished > 0, mean_length, nan),
            num_episodes=num_finished.astype(jnp.int32),
            return_estimate=return_estimate,
            scalarization_gradient=gradient,
            learning_rate=lr,
            entropy_coef=hyper.ent_coef,
            env_steps=new_state.env_steps,
        )
        return new_state, metrics

    def policy_apply(actor_params, obs, weights):
        """What PPO's surrogate differentiates: the actor's distribution (a PMOE mixture
        with its router stopped; the router learns from `_router_and_q_loss`)."""
        dist = actor.apply(actor_params, obs, weights)
        return ppo_pmoe.policy_view(dist) if action_value is not None else dist

    def _router_and_q_loss(params, minibatch, key, weights, ideal, hyper):
        """PMOE only: `router_coef * router loss + vf_coef * Q regression` on a minibatch."""
        score = lambda q: scalarization.value(q, weights, ideal)
        router, q_error, metrics = ppo_pmoe.auxiliary_losses(
            params, minibatch.obs, minibatch.action, minibatch.targets, weights, key,
            kind=kind, actor=actor, action_value=action_value, score=score, temperature=config.gumbel_temperature,
        )
        return config.router_coef * router + hyper.vf_coef * q_error, metrics

    def act(params, obs, weights, key, deterministic: bool = False) -> jax.Array:
        """Env action for `obs [..., d]` under `params["actor"]` (weights used when the
        actor is weight-conditioned); `deterministic` (static) takes the mode."""
        dist = actor.apply(params["actor"], obs, weights)
        action = dist.mode() if deterministic else dist.sample(key)
        return env_action(action, action_space)

    def evaluate_policy(key, state_or_params, weights=None, num_episodes: int = 1) -> EvalResult:
        """Deterministic evaluation on `num_episodes` (static) episodes. `state_or_params`
        is a `PPOState` (its weights are the default) or `{"actor": ...}` params."""
        if isinstance(state_or_params, PPOState):
            params = state_or_params.params
            weights = state_or_params.weights if weights is None else weights
        else:
            params = state_or_params
            if weights is None:
                raise ValueError("evaluate: pass weights when giving params instead of a PPOState")
        weights = _check_weights(weights, m)
        policy = lambda obs: act(params, obs, weights, None, deterministic=True)
        return evaluate(env, env_params, policy, key, num_episodes, config.max_eval_steps, config.eval_gamma)

    def make_train(num_updates: int):
        if not isinstance(num_updates, (int, np.integer)) or num_updates < 1:
            raise ValueError(f"num_updates={num_updates!r} must be a positive int")

        def train(key, weights, hyper=None):
            """`num_updates` updates from a fresh `init(key, weights, hyper)` in one `lax.scan`."""
            state = init(key, weights, hyper)
            return jax.lax.scan(lambda s, _: update(s), state, None, num_updates)

        return train

    return PPO(config, env, actor, critic, init, update, evaluate_policy, act, make_train, action_value, estimate_return)
