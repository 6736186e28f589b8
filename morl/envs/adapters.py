"""Adapters between MO-Gymnasium and the JAX-native environment API, both ways.

`from_gymnasium(env_id, num_envs)` runs any MO-Gymnasium env on the host as a batch of
`num_envs` copies (`HostVectorEnv`). A jitted policy drives it from a host loop:

    envs = from_gymnasium("mo-lunar-lander-v3", num_envs=8)
    act = jax.jit(lambda params, obs, key: policy.apply(params, obs, key))
    obs = envs.reset(seed=0)                                  # [8, *obs_shape]
    for t in range(T):
        key, sub = jax.random.split(key)
        actions = act(params, obs, sub)                       # [8, *action_shape]
        obs, reward, terminated, truncated, info = envs.step(actions)  # reward [8, m]

Its conventions are those of `VmapEnv(EpisodeStatistics(AutoReset(env), gamma))`: a
finished copy is reset inside `step` (same-step reset, not gymnasium 1.x's next-step
one), the returned observation is the new episode's first one, `info["final_obs"]`
holds the last observation of the finished episode, and `info` carries
`episode_return`, `discounted_return`, `episode_length` (of the last finished
episode per copy) and `done`. The per-copy gymnasium `info` dicts are dropped (their
structure varies between steps).

`HostVectorEnv.reset_inside_jit` / `step_inside_jit` make the same calls from inside
`jit` (and `lax.scan`) through `jax.experimental.io_callback(..., ordered=True)`. Not
`jax.pure_callback`: the host env is stateful, and a pure callback may be dropped,
duplicated or reordered by the compiler. Each call still costs a device-to-host round
trip plus the Python stepping of every copy, serialised with the computation; it saves
the host loop, not the host work (see docs/environments.md for measured figures).

`to_gymnasium(env, seed)` wraps a JAX-native env as a MO-Gymnasium-compatible
`gymnasium.Env` (vector float32 reward, `reward_space`, `reward_dim`, gymnasium spaces,
`spec`); the port's own `params.max_steps` reports `truncated`, so no `TimeLimit` is
needed. The small ports step a plain-Python twin of the port (`morl.envs.numpy_twins`),
the others one compiled call per step.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import io_callback

from morl.envs import spaces
from morl.envs.core import Environment
from morl.envs.numpy_twins import numpy_twin

# --- spaces ---------------------------------------------------------------------------


def _jax_dtype(dtype: Any) -> np.dtype:
    """The dtype JAX holds without x64: float64 -> float32, int64 -> int32."""
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.floating):
        return np.dtype(np.float32)
    if np.issubdtype(dtype, np.integer):
        return np.dtype(np.int32)
    if dtype == np.bool_:
        return np.dtype(np.int32)
    raise TypeError(f"unsupported space dtype {dtype}")


def from_gymnasium_space(space: gymnasium.Space) -> spaces.Space:
    """`gymnasium.spaces.{Discrete, Box, MultiBinary}` -> the `morl.envs.spaces` equivalent."""
    if isinstance(space, gymnasium.spaces.Discrete):
        return spaces.Discrete(int(space.n), int(space.start))
    if isinstance(space, gymnasium.spaces.Box):
        dtype = _jax_dtype(space.dtype)
        return spaces.Box(space.low.astype(dtype), space.high.astype(dtype), tuple(space.shape), dtype)
    if isinstance(space, gymnasium.spaces.MultiBinary) and np.ndim(space.n) == 0:
        return spaces.MultiBinary(int(space.n))
    raise TypeError(f"cannot convert gymnasium space {space} (supported: Discrete, Box, 1-D MultiBinary)")


def to_gymnasium_space(space: spaces.Space) -> gymnasium.Space:
    """A `morl.envs.spaces` space -> the `gymnasium.spaces` equivalent."""
    if isinstance(space, spaces.Discrete):
        return gymnasium.spaces.Discrete(space.n, start=space.start)
    if isinstance(space, spaces.Box):
        dtype = np.dtype(space.dtype)
        return gymnasium.spaces.Box(space.low.astype(dtype), space.high.astype(dtype), space.shape, dtype)
    if isinstance(space, spaces.MultiBinary):
        return gymnasium.spaces.MultiBinary(space.n)
    raise TypeError(f"cannot convert space {space} to gymnasium")


# --- MO-Gymnasium on the host, batched ----------------------------------------------------


class HostVectorEnv:
    """`num_envs` MO-Gymnasium envs stepped in a Python loop, with batched array I/O.

    Shapes: observations `[num_envs, *observation_space.shape]`, actions
    `[num_envs, *action_space.shape]`, rewards `[num_envs, reward_dim]` float32,
    flags `[num_envs]` bool. Spaces are `morl.envs.spaces` objects of one copy.
    """

    def __init__(self, envs: list[gymnasium.Env], gamma: float = 1.0):
        if not envs:
            raise ValueError("HostVectorEnv needs at least one env, got num_envs=0")
        self.envs = envs
        self.num_envs = len(envs)
        self.gamma = float(gamma)
        first = envs[0].unwrapped
        if not hasattr(first, "reward_space"):
            raise TypeError(f"{first} has no reward_space: not a multi-objective (MO-Gymnasium) env")
        self.reward_dim = int(first.reward_space.shape[0])
        self.observation_space = from_gymnasium_space(envs[0].observation_space)
        self.action_space = from_gymnasium_space(envs[0].action_space)
        self._obs_dtype = np.dtype(self.observation_space.dtype)
        self._action_dtype = np.dtype(self.action_space.dtype)
        self._zero_stats()

    def _zero_stats(self) -> None:
        n, m = self.num_envs, self.reward_dim
        self._return = np.zeros((n, m), np.float32)
        self._discounted = np.zeros((n, m), np.float32)
        self._discount = np.ones((n,), np.float32)
        self._length = np.zeros((n,), np.int32)
        self._last_return = np.zeros((n, m), np.float32)
        self._last_discounted = np.zeros((n, m), np.float32)
        self._last_length = np.zeros((n,), np.int32)

    def _obs(self, obs: Any) -> np.ndarray:
        return np.asarray(obs).astype(self._obs_dtype)

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Reset every copy (copy `i` with seed `seed + i`); returns obs `[num_envs, ...]`."""
        self._zero_stats()
        obs = [env.reset(seed=None if seed is None else int(seed) + i)[0] for i, env in enumerate(self.envs)]
        return np.stack([self._obs(o) for o in obs])

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Step every copy; finished copies are reset in the same call.

        Returns `(obs, reward[n, m] float32, terminated[n], truncated[n], info)`.
        """
        actions = np.asarray(actions)
        expected = (self.num_envs, *self.action_space.shape)
        if actions.shape != expected:
            raise ValueError(f"actions have shape {actions.shape}, expected {expected}")
        n = self.num_envs
        obs_out = np.zeros((n, *self.observation_space.shape), self._obs_dtype)
        final_obs = np.zeros_like(obs_out)
        rewards = np.zeros((n, self.reward_dim), np.float32)
        terminated = np.zeros((n,), bool)
        truncated = np.zeros((n,), bool)
        discrete = isinstance(self.action_space, spaces.Discrete)
        for i, env in enumerate(self.envs):
            action = int(actions[i]) if discrete else actions[i].astype(self._action_dtype)
            obs, reward, term, trunc, _ = env.step(action)
            rewards[i] = reward
            terminated[i], truncated[i] = term, trunc
            final_obs[i] = self._obs(obs)
            if term or trunc:
                obs, _ = env.reset()
            obs_out[i] = self._obs(obs)
        done = terminated | truncated
        self._update_stats(rewards, done)
        info = {
            "final_obs": final_obs,
            "episode_return": self._last_return.copy(),
            "discounted_return": self._last_discounted.copy(),
            "episode_length": self._last_length.copy(),
            "done": done,
        }
        return obs_out, rewards, terminated, truncated, info

    def _update_stats(self, rewards: np.ndarray, done: np.ndarray) -> None:
        self._return += rewards
        self._discounted += self._discount[:, None] * rewards
        self._length += 1
        self._discount *= np.float32(self.gamma)
        self._last_return[done] = self._return[done]
        self._last_discounted[done] = self._discounted[done]
        self._last_length[done] = self._length[done]
        self._return[done] = 0.0
        self._discounted[done] = 0.0
        self._length[done] = 0
        self._discount[done] = 1.0

    # --- from inside jit ---------------------------------------------------------------
    def _shapes(self) -> tuple[jax.ShapeDtypeStruct, ...]:
        n, m = self.num_envs, self.reward_dim
        obs = jax.ShapeDtypeStruct((n, *self.observation_space.shape), self._obs_dtype)
        flag = jax.ShapeDtypeStruct((n,), np.bool_)
        vector = jax.ShapeDtypeStruct((n, m), np.float32)
        info = {
            "final_obs": obs,
            "episode_return": vector,
            "discounted_return": vector,
            "episode_length": jax.ShapeDtypeStruct((n,), np.int32),
            "done": flag,
        }
        return obs, vector, flag, flag, info

    def reset_inside_jit(self, seed: jax.Array) -> jax.Array:
        """`reset` callable inside `jit`/`lax.scan` (ordered host callback); `seed` int32 scalar."""
        obs_shape = self._shapes()[0]
        return io_callback(lambda s: self.reset(int(s)), obs_shape, jnp.asarray(seed, jnp.int32), ordered=True)

    def step_inside_jit(self, actions: jax.Array):
        """`step` callable inside `jit`/`lax.scan` (ordered host callback); same outputs as `step`."""
        actions = jnp.asarray(actions)
        expected = (self.num_envs, *self.action_space.shape)
        if actions.shape != expected:
            raise ValueError(f"actions have shape {actions.shape}, expected {expected}")
        return io_callback(self.step, self._shapes(), actions.astype(self._action_dtype), ordered=True)

    def close(self) -> None:
        for env in self.envs:
            env.close()


def from_gymnasium(env_id: str, num_envs: int, *, gamma: float = 1.0, **kwargs: Any) -> HostVectorEnv:
    """`num_envs` copies of MO-Gymnasium's `env_id` (built with `mo_gymnasium.make(env_id,
    **kwargs)`, so registered time limits apply) as a `HostVectorEnv`; `gamma` is the
    discount of `info["discounted_return"]`."""
    import mo_gymnasium as mo_gym  # registers the MO-Gymnasium ids

    if int(num_envs) < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    try:
        envs = [mo_gym.make(env_id, **kwargs) for _ in range(int(num_envs))]
    except gymnasium.error.Error as err:
        raise ValueError(f"MO-Gymnasium cannot make '{env_id}': {err}") from None
    return HostVectorEnv(envs, gamma=gamma)


# --- a JAX-native env as a gymnasium.Env ---------------------------------------------------


_FIRST_BLOCK, _BLOCK = 16, 256  # calls per key block: the first after (re)seeding, later ones


@functools.partial(jax.jit, static_argnums=2)
def _key_block(seed_data: jax.Array, start: jax.Array, size: int) -> jax.Array:
    """Raw keys `[size, 2]` of calls `start, ..., start + size - 1`: `fold_in(key(seed), call)`."""
    seed = jax.random.wrap_key_data(seed_data)
    calls = start + jnp.arange(size, dtype=jnp.uint32)
    return jax.vmap(lambda call: jax.random.key_data(jax.random.fold_in(seed, call)))(calls)


class GymnasiumEnv(gymnasium.Env):
    """One JAX-native env behind the (MO-)Gymnasium API; numpy I/O.

    `step` returns a float32 reward vector `[reward_dim]` and writable numpy arrays. The
    env does not reset itself: call `reset()` after `terminated or truncated`, as with any
    gymnasium env. `spec.id` is the env's id (libraries such as morl-baselines read it).

    Keys: the `n`-th `reset`/`step` call since seeding (`seed`, or `reset(seed=...)`) gets
    the key `fold_in(key(seed), n)`, so a seed fixes the whole run. The keys are computed a
    block of calls at a time in one vectorised call (a `split` chain per step would cost a
    rolled XLA:CPU loop in every step program).

    Speed: ports with a plain-Python twin (`morl.envs.numpy_twins`: deep-sea-treasure,
    fruit-tree, four-room, resource-gathering, minecart, both mountain cars) step the
    twin, equal to the port step by step, at MO-Gymnasium's own pace; any draw of the
    port's from a call's key is
    evaluated by JAX once per block. A twin with `probe_actions` (float arithmetic) is
    first run against the compiled step and used only if bit-equal (once per env object
    and params). `use_twin=False` steps the port instead. Other ports run one compiled
    call per step (observation, reward and flags packed into one float32 array, so one
    device-to-host copy; a discrete action as a cached device array, any other as a
    numpy array, since a Python int takes a slow conversion), bounded by XLA:CPU's cost
    per call (5-15 us on this 2-core CPU, more for larger step programs).
    """

    metadata = {"render_modes": []}

    def __init__(self, env: Environment, seed: int = 0, params: Any = None, use_twin: bool = True):
        self.env = env
        self.params = self.env.default_params if params is None else params
        self.observation_space = to_gymnasium_space(env.observation_space(self.params))
        self.action_space = to_gymnasium_space(env.action_space(self.params))
        self.reward_dim = env.reward_dim
        self.reward_space = gymnasium.spaces.Box(-np.inf, np.inf, (env.reward_dim,), np.float32)
        max_steps = getattr(self.params, "max_steps", None)
        self.spec = gymnasium.envs.registration.EnvSpec(
            id=env.name, entry_point=functools.partial(GymnasiumEnv, env, params=self.params),
            max_episode_steps=None if max_steps is None else int(np.asarray(max_steps)),
        )
        self._action_dtype = np.dtype(env.action_space(self.params).dtype)
        self._obs_shape = tuple(self.observation_space.shape)
        self._obs_dtype = np.dtype(self.observation_space.dtype)
        self._obs_size = int(np.prod(self._obs_shape, dtype=np.int64))
        twin = numpy_twin(env, self.params) if use_twin else None
        if twin is None:
            self._use_port()
        else:
            self._use_twin(twin)
            if twin.probe_actions is not None and not _twin_reproduces_port(self):
                self._use_port()
        self._reseed(seed)
        self._state = None

    def _use_port(self) -> None:
        """Step the port's compiled reset/step."""
        self._twin, self._keyed = None, True
        space = self.env.action_space(self.params)
        # Discrete actions as ready device arrays: no host-to-device copy per step.
        self._discrete_actions = (
            {a: jnp.asarray(a, self._action_dtype) for a in range(space.start, space.start + space.n)}
            if isinstance(space, spaces.Discrete) and space.n <= 4096 else None
        )
        self._reset = jax.jit(self._reset_packed)
        self._step = jax.jit(self._step_packed)

    def _use_twin(self, twin: Any) -> None:
        """Step `twin`; the calls need their key only where the twin draws from it."""
        self._twin = twin
        self._keyed = twin.reset_draw is not None or twin.step_draw is not None
        if self._keyed:
            draw = lambda fn, key: jnp.int32(0) if fn is None else fn(key)
            self._draws = jax.jit(jax.vmap(
                lambda data: (draw(twin.reset_draw, jax.random.wrap_key_data(data)),
                              draw(twin.step_draw, jax.random.wrap_key_data(data)))
            ))

    @property
    def uses_twin(self) -> bool:
        """True when `step` runs the port's plain-Python twin, False when its compiled step."""
        return self._twin is not None

    # --- keys ---------------------------------------------------------------------------
    def _reseed(self, seed: int) -> None:
        self._seed_data = jax.random.key_data(jax.random.key(seed))
        self._calls = self._block_start = self._block_size = 0

    def _call(self) -> int:
        """Index of this call's key (or draws) in the current block, filling the next block
        when this one is used up."""
        index = self._calls - self._block_start
        if index >= self._block_size:
            size = _FIRST_BLOCK if self._calls == 0 else _BLOCK
            keys = _key_block(self._seed_data, np.uint32(self._calls), size)
            if self._twin is None:
                self._keys = np.asarray(keys)
            else:
                reset_draws, step_draws = self._draws(keys)
                self._reset_draws, self._step_draws = np.asarray(reset_draws).tolist(), np.asarray(step_draws).tolist()
            self._block_start, self._block_size, index = self._calls, size, 0
        self._calls += 1
        return index

    # --- compiled halves ----------------------------------------------------------------
    def _reset_packed(self, key_data):
        obs, state = self.env.reset(jax.random.wrap_key_data(key_data), self.params)
        return state, obs

    def _step_packed(self, key_data, state, action):
        obs, state, reward, terminated, truncated, info = self.env.step(
            jax.random.wrap_key_data(key_data), state, action, self.params
        )
        flags = jnp.stack([terminated, truncated]).astype(jnp.float32)
        packed = jnp.concatenate([obs.astype(jnp.float32).ravel(), reward.astype(jnp.float32), flags])
        return state, packed, info

    # --- gymnasium API --------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._reseed(seed)
        twin = self._twin
        if twin is not None:
            index = self._call() if self._keyed else 0
            self._state = True
            return twin.reset(None if twin.reset_draw is None else self._reset_draws[index]), {}
        index = self._call()
        self._state, obs = self._reset(self._keys[index])
        return np.array(obs), {}

    def step(self, action: Any):
        if self._state is None:
            raise RuntimeError(f"{self.env.name}: call reset() before step()")
        twin = self._twin
        if twin is not None:
            index = self._call() if self._keyed else 0
            return (*twin.step(action, None if twin.step_draw is None else self._step_draws[index]), {})
        if self._discrete_actions is not None and int(action) in self._discrete_actions:
            action = self._discrete_actions[int(action)]
        else:
            action = np.asarray(action, self._action_dtype)
        index = self._call()
        self._state, packed, info = self._step(self._keys[index], self._state, action)
        packed = np.array(packed)
        n, m = self._obs_size, self.reward_dim
        obs = packed[:n].astype(self._obs_dtype).reshape(self._obs_shape)
        reward = packed[n:n + m]
        info = {name: np.array(value) for name, value in info.items()} if info else {}
        return obs, reward, bool(packed[n + m]), bool(packed[n + m + 1]), info


#: Probe results per env object (weakly held: an `id` could be reused by a later object),
#: then per params values.
_TWIN_PROBES: weakref.WeakKeyDictionary[Environment, dict[tuple, bool]] = weakref.WeakKeyDictionary()


def _twin_reproduces_port(export: GymnasiumEnv) -> bool:
    """Whether `export`'s twin steps exactly as the port's compiled step over the twin's
    `probe_actions` (episodes restarted at their end); cached per env object and params values."""
    probes = _TWIN_PROBES.setdefault(export.env, {})
    key = tuple(np.asarray(leaf).tobytes() for leaf in jax.tree_util.tree_leaves(export.params))
    if key not in probes:
        port = GymnasiumEnv(export.env, seed=0, params=export.params, use_twin=False)
        same = _same_outputs(export.reset(seed=0), port.reset(seed=0))
        for action in export._twin.probe_actions:
            got, want = export.step(action), port.step(action)
            same = same and _same_outputs(got, want)
            if not same:
                break
            if got[2] or got[3]:
                same = _same_outputs(export.reset(), port.reset())
        probes[key] = same
        export._state = export._np_random = None  # as unused as before the probe
    return probes[key]


def _same_outputs(got: tuple, want: tuple) -> bool:
    """Equal gymnasium outputs: arrays equal in dtype, shape and bits; the rest equal."""
    return all(
        x.dtype == y.dtype and np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y for x, y in zip(got, want)
    )


def to_gymnasium(env: Environment, seed: int = 0) -> GymnasiumEnv:
    """Wrap a JAX-native env as a MO-Gymnasium-compatible `gymnasium.Env`; `seed` seeds
    its JAX key until `reset(seed=...)` reseeds it."""
    if not isinstance(env, Environment):
        raise TypeError(f"to_gymnasium expects a morl.envs.Environment, got {type(env).__name__}")
    return GymnasiumEnv(env, seed=seed)
