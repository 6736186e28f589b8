"""Host environment pools: growable sets of env copies on the host, addressed by slot.

A pool is what `HostEnvironment` steps from inside `jit`. Every copy is one episode
stream; `slots` (int64 `[B]`) name the copies a call acts on, so one pool serves every
env batch of a program (training envs of every member, evaluation episodes) at once.

Conventions (shared by every pool):
- `reset(slots, seeds) -> obs [B, *obs_shape]` (re)starts copy `slots[i]` with
  `seeds[i]`, creating it if new.
- `step(slots, actions) -> (obs, reward [B, m], terminated [B], truncated [B],
  final_obs)`; a copy whose episode ended is reset in the same call (its next episode
  continues the copy's own random stream, like gymnasium's `env.reset()` without a
  seed): `obs` is the new episode's first observation and `final_obs` the true last
  one. A slot never reset before is created and reset with seed `slot`.
- Observations and rewards are float32; every objective is maximised.

`GymnasiumPool` runs `mo_gymnasium.make(env_id, **kwargs)` copies in a Python loop and
takes any MO-Gymnasium id with a `Box` observation and a `Discrete` or `Box` action space;
`morl.envs.host.mujoco.MuJoCoPool` steps the MO-MuJoCo ids in C, vectorised
(`morl.envs.host.env.make_pool` picks between them).
"""

from __future__ import annotations

import threading
import warnings
from typing import Any, Protocol

import gymnasium
import numpy as np

from morl.envs import spaces

StepArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class EnvPool(Protocol):
    """The contract `HostEnvironment` drives (see the module docstring)."""

    observation_space: spaces.Box
    action_space: spaces.Space
    reward_dim: int

    def reset(self, slots: np.ndarray, seeds: np.ndarray) -> np.ndarray: ...

    def step(self, slots: np.ndarray, actions: np.ndarray) -> StepArrays: ...


def check_spaces(env_id: str, observation_space: gymnasium.Space, action_space: gymnasium.Space) -> None:
    """One-line `ValueError` naming the space when the trainers cannot drive it: flat
    `Box` observations and `Discrete` or 1-D `Box` actions only."""
    if not isinstance(observation_space, gymnasium.spaces.Box):
        raise ValueError(
            f"{env_id}: observation space {observation_space} is not supported (a flat Box is needed; "
            "wrap Dict/Tuple/Discrete observations with gymnasium.wrappers.FlattenObservation)"
        )
    if len(observation_space.shape) != 1:
        raise ValueError(
            f"{env_id}: observation space {observation_space} has shape {observation_space.shape}; "
            "image or multi-dimensional observations are not supported (a flat 1-D Box is needed)"
        )
    if isinstance(action_space, gymnasium.spaces.Discrete):
        return
    if isinstance(action_space, gymnasium.spaces.Box) and len(action_space.shape) == 1:
        return
    raise ValueError(f"{env_id}: action space {action_space} is not supported (Discrete or a 1-D Box is needed)")


def registered_time_limit(env_id: str, kwargs: dict[str, Any]) -> int | None:
    """The episode time limit `mo_gymnasium.make(env_id, **kwargs)` applies (None: none)."""
    if kwargs.get("max_episode_steps") is not None:
        return int(kwargs["max_episode_steps"])
    spec = gymnasium.spec(env_id)
    return None if spec.max_episode_steps is None else int(spec.max_episode_steps)


def make_gymnasium(env_id: str, **kwargs: Any) -> gymnasium.Env:
    """`mo_gymnasium.make(env_id, **kwargs)` with one-line errors for unknown ids and bad
    keyword arguments."""
    import mo_gymnasium  # registers the MO-Gymnasium ids

    try:
        with warnings.catch_warnings():  # MO-Gymnasium's float64 space bounds cast to float32
            warnings.filterwarnings("ignore", message=".*precision lowered by casting", category=UserWarning)
            return mo_gymnasium.make(env_id, **kwargs)
    except gymnasium.error.Error as err:
        raise ValueError(f"MO-Gymnasium cannot make '{env_id}': {err}") from None
    except TypeError as err:
        raise ValueError(f"{env_id}: bad keyword arguments {sorted(kwargs)}: {err}") from None
    except ImportError as err:
        raise ValueError(f"{env_id} needs a package that is not installed: {err}") from None


class GymnasiumPool:
    """Copies of one MO-Gymnasium env stepped in a Python loop (any id; the fallback)."""

    def __init__(self, env_id: str, **kwargs: Any):
        from morl.envs.adapters import from_gymnasium_space

        self.env_id = env_id
        self.kwargs = dict(kwargs)
        first = make_gymnasium(env_id, **kwargs)
        unwrapped = first.unwrapped
        if not hasattr(unwrapped, "reward_space"):
            raise ValueError(f"{env_id} has no reward_space: not a multi-objective (MO-Gymnasium) env")
        check_spaces(env_id, first.observation_space, first.action_space)
        self.reward_dim = int(unwrapped.reward_space.shape[0])
        self.observation_space = from_gymnasium_space(first.observation_space)
        self.action_space = from_gymnasium_space(first.action_space)
        self._discrete = isinstance(self.action_space, spaces.Discrete)
        self._action_dtype = np.dtype(first.action_space.dtype)
        self._copies: dict[int, gymnasium.Env] = {}
        self._spare = [first]
        self._lock = threading.Lock()

    def _copy(self, slot: int) -> tuple[gymnasium.Env, bool]:
        env = self._copies.get(slot)
        if env is not None:
            return env, False
        env = self._spare.pop() if self._spare else make_gymnasium(self.env_id, **self.kwargs)
        self._copies[slot] = env
        return env, True

    def _obs(self, obs: Any) -> np.ndarray:
        return np.asarray(obs, np.float32)

    def reset(self, slots: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        out = np.zeros((len(slots), *self.observation_space.shape), np.float32)
        with self._lock:
            for i, (slot, seed) in enumerate(zip(np.asarray(slots).tolist(), np.asarray(seeds).tolist())):
                env, _ = self._copy(int(slot))
                out[i] = self._obs(env.reset(seed=int(seed))[0])
        return out

    def step(self, slots: np.ndarray, actions: np.ndarray) -> StepArrays:
        slots = np.asarray(slots).tolist()
        n = len(slots)
        obs_out = np.zeros((n, *self.observation_space.shape), np.float32)
        final_obs = np.zeros_like(obs_out)
        rewards = np.zeros((n, self.reward_dim), np.float32)
        terminated = np.zeros((n,), bool)
        truncated = np.zeros((n,), bool)
        with self._lock:
            for i, slot in enumerate(slots):
                env, new = self._copy(int(slot))
                if new:
                    env.reset(seed=int(slot))
                action = int(actions[i]) if self._discrete else np.asarray(actions[i], self._action_dtype)
                obs, reward, term, trunc, _ = env.step(action)
                rewards[i] = reward
                terminated[i], truncated[i] = term, trunc
                final_obs[i] = self._obs(obs)
                if term or trunc:
                    obs, _ = env.reset()
                obs_out[i] = self._obs(obs)
        return obs_out, rewards, terminated, truncated, final_obs
