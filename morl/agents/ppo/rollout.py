"""Acting in the environment for training: a `lax.scan` over `_env_step` (evaluation
rollouts are `morl.envs.evaluation`).

The training env is `EpisodeStatistics(AutoReset(env), gamma=eval_gamma)` stepped for
`num_envs` copies with `vmap`; the episode statistics see the env's own (unshaped)
rewards, the learner sees the shaped ones.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from morl.envs import spaces
from morl.envs.core import Environment
from morl.envs.evaluation import env_action
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
