"""`HostEnvironment`: a host env pool behind the JAX `Environment` contract.

The trainers are compiled programs that `vmap` a single env over copies, members and
seeds. `HostEnvironment.reset`/`step` are `jax.pure_callback`s with
`vmap_method="broadcast_all"`, so however many `vmap`s wrap them, each call reaches the
host once with the whole batch (`[runs, members, envs]` flattened) and the pool steps it
there (MuJoCo C across cores, or MO-Gymnasium copies in a loop). Policy, learning,
archive and evaluation stay compiled.

The JAX-side state of one copy is its slot in the pool (`HostState.slot`, int32). A
reset call site (one traced `reset`) owns a fixed block of slots: the first time it runs
it claims as many fresh slots as its batch holds, and every later run resets the same
copies. `step` returns the slot it stepped, so consecutive steps of a copy are ordered
by data dependence.

Differences from a JAX-native env, all by construction of a host simulator:
- `step` resets a finished episode itself (same-step reset, `info["final_obs"]` holds
  the last observation); `AutoReset` sees `resets_itself` and passes through.
- Random draws (reset noise, stochastic transitions) come from each copy's own numpy
  stream, seeded by `reset`'s key; `step`'s key is unused. Same keys, same numbers.
- The simulator state is not part of the pytree: a checkpoint restores slots whose
  copies do not exist in a new process, so after a resume each copy restarts its
  episode (seeded by its slot); everything compiled continues exactly.
- One program on one device: a copy may be stepped only once per call (checked), and
  sharding a host env over devices is refused by the trainers.
"""

from __future__ import annotations

import math
import secrets
import threading
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from morl.envs import spaces
from morl.envs.core import Environment, StepResult
from morl.envs.host.pool import EnvPool, GymnasiumPool, make_gymnasium, registered_time_limit

#: Episode bound used by evaluations when the host env registers no time limit.
UNLIMITED_EPISODE_STEPS = 100_000


@struct.dataclass
class HostParams:
    """`max_steps`: the host's episode time limit (its own `TimeLimit`; read-only here)."""

    max_steps: jax.Array


@struct.dataclass
class HostState:
    """`slot`: int32, the copy in the host pool this episode stream runs in."""

    slot: jax.Array


class _SlotCounter:
    """Hands out fresh slot blocks. Starts at a random offset per process so blocks of a
    new process never collide with slots restored from a checkpoint."""

    def __init__(self) -> None:
        self._next = secrets.randbits(20) << 10
        self._lock = threading.Lock()

    def claim(self, size: int) -> int:
        with self._lock:
            start = self._next
            self._next += size
            if self._next >= 2**31:
                raise RuntimeError("host env slot space exhausted (more than 2**31 copies made in one process)")
            return start


class _ResetSite:
    """The host side of one traced `reset`: a fixed block of copies it (re)starts."""

    def __init__(self, pool: EnvPool, counter: _SlotCounter, obs_shape: tuple[int, ...]):
        self.pool, self.counter, self.obs_shape = pool, counter, obs_shape
        self.block: tuple[int, int] | None = None  # (first slot, size)

    def __call__(self, seeds: Any) -> tuple[np.ndarray, np.ndarray]:
        seeds = np.asarray(seeds)
        batch = seeds.shape
        size = math.prod(batch)
        if self.block is None or self.block[1] != size:
            self.block = (self.counter.claim(size), size)
        slots = np.arange(self.block[0], self.block[0] + size, dtype=np.int64)
        obs = self.pool.reset(slots, seeds.reshape(-1).astype(np.int64))
        return obs.reshape(*batch, *self.obs_shape).astype(np.float32), slots.reshape(batch).astype(np.int32)


def make_pool(env_id: str, **kwargs: Any) -> EnvPool:
    """The fastest pool for `env_id`: MuJoCo C for the MO-MuJoCo ids, else the Python
    loop over MO-Gymnasium copies."""
    from morl.envs.host.mujoco import MUJOCO_IDS, MuJoCoPool  # imports mujoco

    if env_id in MUJOCO_IDS:
        return MuJoCoPool(env_id, **kwargs)
    return GymnasiumPool(env_id, **kwargs)


class HostEnvironment(Environment[HostState, HostParams]):
    """An env pool on the host (`morl.envs.host.pool`) as a jittable, vmappable env.

    `env_id` names an MO-Gymnasium env; `kwargs` go to `mo_gymnasium.make(env_id,
    **kwargs)` (or the pool's constructor). Spaces and reward width are the gymnasium
    env's; observations and rewards float32.
    """

    #: `step` resets finished episodes on the host; `AutoReset` must not reset again.
    resets_itself = True

    def __init__(self, env_id: str, **kwargs: Any):
        self.env_id = env_id
        self.kwargs = dict(kwargs)
        self.pool = make_pool(env_id, **kwargs)
        self._counter = _SlotCounter()
        self._obs_shape = tuple(self.pool.observation_space.shape)
        self._action_space = self.pool.action_space
        limit = registered_time_limit(env_id, self.kwargs)
        self.max_episode_steps = UNLIMITED_EPISODE_STEPS if limit is None else limit
        self._unwrapped = None

    # --- contract ---------------------------------------------------------------------
    @property
    def default_params(self) -> HostParams:
        return HostParams(max_steps=jnp.int32(self.max_episode_steps))

    @property
    def reward_dim(self) -> int:
        return int(self.pool.reward_dim)

    def observation_space(self, params: HostParams | None = None) -> spaces.Space:
        return self.pool.observation_space

    def action_space(self, params: HostParams | None = None) -> spaces.Space:
        return self._action_space

    def reset_env(self, key: jax.Array, params: HostParams) -> tuple[jax.Array, HostState]:
        seed = jax.random.bits(key, dtype=jnp.uint32).astype(jnp.int32) & jnp.int32(2**31 - 1)
        site = _ResetSite(self.pool, self._counter, self._obs_shape)
        shapes = (
            jax.ShapeDtypeStruct(self._obs_shape, jnp.float32),
            jax.ShapeDtypeStruct((), jnp.int32),
        )
        obs, slot = jax.pure_callback(site, shapes, seed, vmap_method="broadcast_all")
        return obs, HostState(slot)

    def step_env(self, key: jax.Array, state: HostState, action: jax.Array, params: HostParams) -> StepResult:
        m = self.reward_dim
        shapes = (
            jax.ShapeDtypeStruct(self._obs_shape, jnp.float32),
            jax.ShapeDtypeStruct((), jnp.int32),
            jax.ShapeDtypeStruct((m,), jnp.float32),
            jax.ShapeDtypeStruct((), jnp.bool_),
            jax.ShapeDtypeStruct((), jnp.bool_),
            jax.ShapeDtypeStruct(self._obs_shape, jnp.float32),
        )
        obs, slot, reward, terminated, truncated, final_obs = jax.pure_callback(
            self._host_step, shapes, state.slot, action, vmap_method="broadcast_all"
        )
        return obs, HostState(slot), reward, terminated, truncated, {"final_obs": final_obs}

    def _host_step(self, slots: Any, actions: Any) -> tuple[np.ndarray, ...]:
        slots, actions = np.asarray(slots), np.asarray(actions)
        batch = slots.shape
        flat_slots = slots.reshape(-1).astype(np.int64)
        if len(np.unique(flat_slots)) != flat_slots.size:
            raise ValueError(
                f"{self.name}: a host env copy was stepped twice in one call (one env state vmapped over "
                "several actions); host envs step each copy once per call"
            )
        flat_actions = actions.reshape(flat_slots.size, *self._action_space.shape)
        obs, reward, terminated, truncated, final_obs = self.pool.step(flat_slots, flat_actions)
        return (
            obs.reshape(*batch, *self._obs_shape).astype(np.float32),
            slots.astype(np.int32),
            reward.reshape(*batch, self.reward_dim).astype(np.float32),
            terminated.reshape(batch).astype(bool),
            truncated.reshape(batch).astype(bool),
            final_obs.reshape(*batch, *self._obs_shape).astype(np.float32),
        )

    # --- known fronts -----------------------------------------------------------------
    @property
    def has_pareto_front(self) -> bool:
        return hasattr(self._gymnasium_unwrapped(), "pareto_front")

    def pareto_front(self, gamma: float = 1.0) -> np.ndarray:
        """MO-Gymnasium's own `pareto_front(gamma)` of the env, where it has one."""
        unwrapped = self._gymnasium_unwrapped()
        if not hasattr(unwrapped, "pareto_front"):
            raise NotImplementedError(f"{self.name} has no known Pareto front")
        return np.asarray(unwrapped.pareto_front(gamma=gamma), np.float64)

    def _gymnasium_unwrapped(self) -> Any:
        if self._unwrapped is None:
            self._unwrapped = make_gymnasium(self.env_id, **self.kwargs).unwrapped
        return self._unwrapped


def make_host(env_id: str, **kwargs: Any) -> HostEnvironment:
    """`env_id` (an MO-Gymnasium id) as a `HostEnvironment`; MuJoCo ids step in C."""
    return HostEnvironment(env_id, **kwargs)
