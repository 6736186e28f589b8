"""Evaluation rollouts: the one place that turns a policy into vector returns.

Every trainer (MORL/D, C-MORL, the value-based algorithms), `morl eval` and the
experiment scripts evaluate through `episode_returns`:

    returns = episode_returns(env, env.default_params, policy, key, num_episodes=10,
                              max_steps=1000, gamma=0.99)   # EpisodeReturns, leaves [10, ...]
    result = evaluate(env, env.default_params, policy, key, 10, 1000, 0.99)  # means, EvalResult

`policy(obs [N, ...]) -> action [N, ...]` acts on all episodes at once (a batched,
deterministic policy; a stochastic one closes over its own key). Box actions are clipped
to the box before the env sees them. A reward received at step t (0-based) is discounted
by `gamma**t`. Episodes run in lockstep in one `while_loop` that stops when every episode
has ended or after `max_steps` steps; episodes still running then count as they stand.

A policy with memory (PCN's command, which every reward changes) is a `MemoryPolicy`:
`act(obs, memory) -> action` for one observation, the initial `memory`, and
`remember(memory, reward) -> memory` after every step. `evaluate_policy` and
`morl.io.render.render_policy` take it where they take a stateless `act(obs, key)`.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from morl.envs import spaces
from morl.envs.core import Environment


@struct.dataclass
class EpisodeReturns:
    """Per-episode results: `discounted [N, m]`, `undiscounted [N, m]`, `lengths [N]` (int32)."""

    discounted: jax.Array
    undiscounted: jax.Array
    lengths: jax.Array


@struct.dataclass
class EvalResult:
    """Returns averaged over episodes: `discounted [m]`, `undiscounted [m]`, `lengths` (mean steps)."""

    discounted: jax.Array
    undiscounted: jax.Array
    lengths: jax.Array


@struct.dataclass
class MemoryPolicy:
    """A deterministic policy whose action depends on a memory that every reward updates.

    `act(obs, memory) -> action` for ONE observation (no batch axis); `memory`: the
    pytree it starts each episode with; `remember(memory, reward [m]) -> memory` after
    each step. `act` and `remember` are `jax.tree_util.Partial`s, so a `MemoryPolicy` is a
    pytree and every archive member reuses one compiled rollout."""

    act: jax.tree_util.Partial
    remember: jax.tree_util.Partial
    memory: Any


def env_action(action: jax.Array, action_space: spaces.Space) -> jax.Array:
    """The action the env receives: Box actions clipped to the box, others unchanged."""
    if isinstance(action_space, spaces.Box):
        return jnp.clip(action, jnp.asarray(action_space.low), jnp.asarray(action_space.high))
    return action


def episode_returns(
    env: Environment,
    env_params: Any,
    policy: Callable[[jax.Array], jax.Array],
    key: jax.Array,
    num_episodes: int,
    max_steps: int,
    gamma: float,
) -> EpisodeReturns:
    """Run `num_episodes` episodes of the batched `policy` on the plain env (see the module
    docstring); jittable and vmappable over policies."""
    return _episode_returns(
        env, env_params, lambda obs, _: policy(obs), lambda memory, _: memory, (), key, num_episodes, max_steps, gamma
    )


def _episode_returns(
    env: Environment,
    env_params: Any,
    act: Callable[[jax.Array, Any], jax.Array],
    remember: Callable[[Any, jax.Array], Any],
    memory: Any,
    key: jax.Array,
    num_episodes: int,
    max_steps: int,
    gamma: float,
) -> EpisodeReturns:
    """`episode_returns` of a batched policy with memory: `act(obs [N, ...], memory) ->
    action [N, ...]`, then `memory = remember(memory, reward [N, m])` (`memory` leaves
    `[N, ...]`; a stateless policy passes `()` and ignores it)."""
    action_space = env.action_space(env_params)
    reset_keys = jax.random.split(key, num_episodes + 1)
    key, reset_keys = reset_keys[0], reset_keys[1:]
    obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(reset_keys, env_params)
    zeros = jnp.zeros((num_episodes, env.reward_dim), jnp.float32)

    def running(carry):
        alive, step = carry[2], carry[-1]
        return jnp.any(alive) & (step < max_steps)

    def one_step(carry):
        obs, env_state, alive, undiscounted, discounted, discount, length, memory, key, step = carry
        key, key_step = jax.random.split(key)
        action = env_action(act(obs, memory), action_space)
        keys = jax.random.split(key_step, num_episodes)
        next_obs, next_state, reward, terminated, truncated, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            keys, env_state, action, env_params
        )
        live = alive[:, None]
        undiscounted = undiscounted + jnp.where(live, reward, 0.0)
        discounted = discounted + jnp.where(live, discount[:, None] * reward, 0.0)
        length = length + alive.astype(jnp.int32)
        alive = alive & ~(terminated | truncated)
        memory = remember(memory, reward)
        return next_obs, next_state, alive, undiscounted, discounted, discount * gamma, length, memory, key, step + 1

    init = (
        obs, env_state, jnp.ones((num_episodes,), bool), zeros, zeros,
        jnp.ones((num_episodes,), jnp.float32), jnp.zeros((num_episodes,), jnp.int32), memory, key, jnp.int32(0),
    )
    _, _, _, undiscounted, discounted, _, length, _, _, _ = jax.lax.while_loop(running, one_step, init)
    return EpisodeReturns(discounted, undiscounted, length)


def evaluate(
    env: Environment,
    env_params: Any,
    policy: Callable[[jax.Array], jax.Array],
    key: jax.Array,
    num_episodes: int,
    max_steps: int,
    gamma: float,
) -> EvalResult:
    """`episode_returns` averaged over the episodes."""
    returns = episode_returns(env, env_params, policy, key, num_episodes, max_steps, gamma)
    return EvalResult(returns.discounted.mean(0), returns.undiscounted.mean(0), returns.lengths.astype(jnp.float32).mean())


def evaluate_policy(
    env: Environment, act: Callable[[Any, Any], Any] | MemoryPolicy, key: jax.Array, episodes: int, gamma: float,
    max_steps: int = 10_000,
) -> np.ndarray:
    """Discounted vector returns `[episodes, m]` of a single-observation policy
    `act(obs, key) -> action` (the `morl.algorithms.Policy` convention: deterministic, the
    key may be ignored) or a `MemoryPolicy` on `env` with its default parameters.

    A policy that is a `jax.tree_util.Partial` (or a `MemoryPolicy` of Partials) whose
    leaves are all arrays is passed as an argument, so every member of an archive reuses
    one compiled rollout; any other callable is traced into a rollout of its own.
    """
    rollout, compiled = _rollouts(env, int(episodes), float(gamma), int(max_steps))
    if isinstance(act, (jax.tree_util.Partial, MemoryPolicy)) and all(_is_array(leaf) for leaf in jax.tree.leaves(act)):
        return np.asarray(compiled(act, key))
    return np.asarray(jax.jit(lambda k: rollout(act, k))(key))


def _is_array(leaf: Any) -> bool:
    return isinstance(leaf, (jax.Array, np.ndarray, np.generic, int, float, bool))


@functools.lru_cache(maxsize=16)
def _rollouts(env: Environment, episodes: int, gamma: float, max_steps: int) -> tuple[Any, Any]:
    """`(act, key) -> discounted returns [episodes, m]` and its jitted version, per env and settings."""

    def rollout(act: Callable[[Any, Any], Any] | MemoryPolicy, key: jax.Array) -> jax.Array:
        if isinstance(act, MemoryPolicy):
            memory = jax.tree.map(lambda x: jnp.broadcast_to(x, (episodes,) + jnp.shape(x)), act.memory)
            batched_act, remember = jax.vmap(act.act), jax.vmap(act.remember)
        else:
            act_key = jax.random.fold_in(key, 1)  # deterministic policies ignore it
            memory, remember = (), lambda memory, _: memory
            batched_act = lambda obs, _: jax.vmap(act, in_axes=(0, None))(obs, act_key)  # noqa: E731
        return _episode_returns(
            env, env.default_params, batched_act, remember, memory, key, episodes, max_steps, gamma
        ).discounted

    return rollout, jax.jit(rollout)
