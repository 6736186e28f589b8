"""Acting in the environment: the training rollout (a `lax.scan` over `_env_step`) and the
deterministic evaluation.

The training env is `EpisodeStatistics(AutoReset(env), gamma=eval_gamma)` stepped for
`num_envs` copies with `vmap`; the episode statistics see the env's own (unshaped)
rewards, the learner sees the shaped ones.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

from morl.envs import spaces
from morl.envs.core import Environment
from morl.shaping.base import RewardTransform, ShapingContext


class Transition(NamedTuple):
    """One rollout step for all envs (a scan stacks a leading `[T]` axis).

    `obs [E, ...]` the observation acted on; `action [E, ...]` as sampled (unclipped);
    `log_prob [E]`; `reward [E, m]` shaped; `terminated, done [E]`; `final_obs [E, ...]`
    the true next observation (before auto-reset); `episode_return, discounted_return
    [E, m]` and `episode_length [E]` of the episode that ended here (unshaped; valid where
    `done`)."""

    obs: jax.Array
    action: jax.Array
    log_prob: jax.Array
    reward: jax.Array
    terminated: jax.Array
    done: jax.Array
    final_obs: jax.Array
    episode_return: jax.Array
    discounted_return: jax.Array
    episode_length: jax.Array


@struct.dataclass
class EvalResult:
    """Deterministic-policy returns averaged over episodes: `discounted [m]` (with
    `PPOConfig.eval_gamma`), `undiscounted [m]`, `lengths` (mean steps)."""

    discounted: jax.Array
    undiscounted: jax.Array
    lengths: jax.Array


def env_action(action: jax.Array, action_space: spaces.Space) -> jax.Array:
    """The action the env receives: Box actions clipped to the box, others unchanged."""
    if isinstance(action_space, spaces.Box):
        return jnp.clip(action, jnp.asarray(action_space.low), jnp.asarray(action_space.high))
    return action


def collect(
    env: Environment,
    env_params: Any,
    actor_apply: Callable[..., Any],
    actor_params: Any,
    weights: jax.Array,
    shaping: RewardTransform,
    gamma: jax.Array,
    carry: tuple[Any, jax.Array, Any, jax.Array],
    num_steps: int,
) -> tuple[tuple[Any, jax.Array, Any], Transition]:
    """Run `num_steps` steps of all envs. `env` is the auto-resetting, statistics-tracking
    single env; `carry = (env_state [E], obs [E, ...], shaping_state, key)`. Returns the new
    `(env_state, obs, shaping_state)` and a `Transition` with leading `[T, E]` axes."""
    action_space = env.action_space(env_params)
    step_envs = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def _env_step(carry, _):
        env_state, obs, shaping_state, key = carry
        key, key_action, key_step = jax.random.split(key, 3)
        dist = actor_apply(actor_params, obs, weights)
        action = dist.sample(key_action)
        log_prob = dist.log_prob(action)
        keys = jax.random.split(key_step, obs.shape[0])
        next_obs, env_state, reward, terminated, truncated, info = step_envs(
            keys, env_state, env_action(action, action_space), env_params
        )
        done = jnp.logical_or(terminated, truncated)
        context = ShapingContext(obs, info["final_obs"], gamma, done, terminated)
        shaped, shaping_state = shaping.apply(shaping_state, reward, context)
        transition = Transition(
            obs, action, log_prob, shaped, terminated, done, info["final_obs"],
            info["episode_return"], info["discounted_return"], info["episode_length"],
        )
        return (env_state, next_obs, shaping_state, key), transition

    (env_state, obs, shaping_state, _), trajectory = jax.lax.scan(_env_step, carry, None, num_steps)
    return (env_state, obs, shaping_state), trajectory


def evaluate(
    env: Environment,
    env_params: Any,
    policy: Callable[[jax.Array], jax.Array],
    key: jax.Array,
    num_episodes: int,
    max_steps: int,
    gamma: float,
) -> EvalResult:
    """Run `num_episodes` episodes of `policy(obs [N, ...]) -> action [N, ...]` (batched,
    deterministic) on the plain env for at most `max_steps` steps each (a `while_loop`
    that stops when all have ended); average their vector returns. Episodes still running after `max_steps` count as they stand."""
    action_space = env.action_space(env_params)
    reset_keys = jax.random.split(key, num_episodes + 1)
    key, reset_keys = reset_keys[0], reset_keys[1:]
    obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(reset_keys, env_params)
    m = env.reward_dim
    zeros = jnp.zeros((num_episodes, m), jnp.float32)

    def _running(carry):
        alive, step = carry[2], carry[-1]
        return jnp.any(alive) & (step < max_steps)

    def _eval_step(carry):
        obs, env_state, alive, undiscounted, discounted, discount, length, key, step = carry
        key, key_step = jax.random.split(key)
        action = env_action(policy(obs), action_space)
        keys = jax.random.split(key_step, num_episodes)
        next_obs, next_state, reward, terminated, truncated, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            keys, env_state, action, env_params
        )
        live = alive[:, None]
        undiscounted = undiscounted + jnp.where(live, reward, 0.0)
        discounted = discounted + jnp.where(live, discount[:, None] * reward, 0.0)
        length = length + alive.astype(jnp.int32)
        alive = alive & ~(terminated | truncated)
        return next_obs, next_state, alive, undiscounted, discounted, discount * gamma, length, key, step + 1

    init = (
        obs, env_state, jnp.ones((num_episodes,), bool), zeros, zeros,
        jnp.ones((num_episodes,), jnp.float32), jnp.zeros((num_episodes,), jnp.int32), key, jnp.int32(0),
    )
    _, _, _, undiscounted, discounted, _, length, _, _ = jax.lax.while_loop(_running, _eval_step, init)
    return EvalResult(discounted.mean(0), undiscounted.mean(0), length.astype(jnp.float32).mean())
