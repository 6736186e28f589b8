"""Environment wrappers: automatic reset, episode statistics, batching with vmap.

Wrappers keep the `Environment` contract, so they stack:
`VmapEnv(EpisodeStatistics(AutoReset(env), gamma=0.99), num_envs=64)`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from morl.envs.core import Environment, StepResult


class Wrapper(Environment):
    """Forwards everything to `env`; subclasses override what they change."""

    def __init__(self, env: Environment):
        self.env = env

    @property
    def id(self) -> str:  # type: ignore[override]
        return self.env.name

    @property
    def default_params(self) -> Any:
        return self.env.default_params

    @property
    def reward_dim(self) -> int:
        return self.env.reward_dim

    @property
    def resets_itself(self) -> bool:  # type: ignore[override]
        return self.env.resets_itself

    def reset_env(self, key, params):
        return self.env.reset(key, params)

    def step_env(self, key, state, action, params) -> StepResult:
        return self.env.step(key, state, action, params)

    def observation_space(self, params=None):
        return self.env.observation_space(params)

    def action_space(self, params=None):
        return self.env.action_space(params)

    def pareto_front(self, gamma: float = 1.0):
        return self.env.pareto_front(gamma)

    @property
    def has_pareto_front(self) -> bool:
        return self.env.has_pareto_front

    @property
    def unwrapped(self) -> Environment:
        inner = self.env
        return inner.unwrapped if isinstance(inner, Wrapper) else inner


class AutoReset(Wrapper):
    """Resets inside `step` when the episode ends (terminated or truncated).

    The returned observation is the first one of the new episode; the last observation
    of the finished episode is kept in `info["final_obs"]` (needed to bootstrap values
    on truncation). An env that `resets_itself` (a host simulator) already does both.
    """

    def step_env(self, key, state, action, params) -> StepResult:
        if self.env.resets_itself:
            return self.env.step(key, state, action, params)
        key_step, key_reset = jax.random.split(key)
        obs, next_state, reward, terminated, truncated, info = self.env.step(key_step, state, action, params)
        reset_obs, reset_state = self.env.reset(key_reset, params)
        done = jnp.logical_or(terminated, truncated)
        next_state = jax.tree_util.tree_map(lambda r, s: jnp.where(done, r, s), reset_state, next_state)
        info = dict(info, final_obs=obs)
        obs = jnp.where(done, reset_obs, obs)
        return obs, next_state, reward, terminated, truncated, info


@struct.dataclass
class EpisodeStatisticsState:
    env_state: Any
    episode_return: jax.Array  # [m] running undiscounted vector return
    discounted_return: jax.Array  # [m] running discounted vector return
    discount: jax.Array  # gamma ** t
    length: jax.Array  # int32 steps so far
    last_return: jax.Array  # [m] return of the last finished episode
    last_discounted_return: jax.Array
    last_length: jax.Array


class EpisodeStatistics(Wrapper):
    """Tracks vector return, discounted vector return (`gamma`) and length per episode.

    Place it *outside* `AutoReset`. `info` gains `episode_return`, `discounted_return`,
    `episode_length` (of the episode that just ended; valid where `done`) and `done`.
    """

    def __init__(self, env: Environment, gamma: float = 1.0):
        super().__init__(env)
        self.gamma = gamma

    def reset_env(self, key, params):
        obs, env_state = self.env.reset(key, params)
        zeros = jnp.zeros((self.reward_dim,), jnp.float32)
        return obs, EpisodeStatisticsState(
            env_state, zeros, zeros, jnp.float32(1.0), jnp.int32(0), zeros, zeros, jnp.int32(0)
        )

    def step_env(self, key, state: EpisodeStatisticsState, action, params) -> StepResult:
        obs, env_state, reward, terminated, truncated, info = self.env.step(key, state.env_state, action, params)
        done = jnp.logical_or(terminated, truncated)
        ep_return = state.episode_return + reward
        disc_return = state.discounted_return + state.discount * reward
        length = state.length + 1
        new_state = EpisodeStatisticsState(
            env_state=env_state,
            episode_return=jnp.where(done, 0.0, ep_return),
            discounted_return=jnp.where(done, 0.0, disc_return),
            discount=jnp.where(done, 1.0, state.discount * self.gamma),
            length=jnp.where(done, 0, length),
            last_return=jnp.where(done, ep_return, state.last_return),
            last_discounted_return=jnp.where(done, disc_return, state.last_discounted_return),
            last_length=jnp.where(done, length, state.last_length),
        )
        info = dict(
            info,
            episode_return=new_state.last_return,
            discounted_return=new_state.last_discounted_return,
            episode_length=new_state.last_length,
            done=done,
        )
        return obs, new_state, reward, terminated, truncated, info


class VmapEnv(Wrapper):
    """`num_envs` copies stepped together with `vmap`; keys, actions and outputs gain a
    leading `[num_envs]` axis. `params` are shared (pass batched params to `vmap` yourself
    to vary them)."""

    def __init__(self, env: Environment, num_envs: int):
        super().__init__(env)
        self.num_envs = num_envs

    def reset(self, key, params=None):
        params = self.env.default_params if params is None else params
        keys = jax.random.split(key, self.num_envs)
        return jax.vmap(self.env.reset, in_axes=(0, None))(keys, params)

    def step(self, key, state, action, params=None):
        params = self.env.default_params if params is None else params
        keys = jax.random.split(key, self.num_envs)
        return jax.vmap(self.env.step, in_axes=(0, 0, 0, None))(keys, state, action, params)
