"""Plain-Python twins of the small ports, used by `to_gymnasium` exports only.

Why they exist: an exported env is stepped one call at a time from a Python loop. A
compiled JAX call costs at least 5-15 us on XLA:CPU (more for larger step programs),
while MO-Gymnasium's numpy envs step in 2-5 us (grid worlds, mountain cars) to 25-40 us
(minecart); no compiled program comes within 3x of that. A twin is its port's
`reset_env`/`step_env` rewritten in plain Python over the port's own tables and
constants (read from the port instance or imported from its module, never copied), equal
to the port step by step: same observations, float32 rewards, flags and time limit
(tests/envs/test_numpy_twins.py checks each against the compiled port and, for the
deterministic ones, against MO-Gymnasium, over random action sequences with episode
ends, time limits and reseeding). Training uses the JAX ports; only the export steps a
twin. Ports without a twin are exported through their compiled step (`GymnasiumEnv`).

Integer twins (deep-sea-treasure, fruit-tree, four-room, resource-gathering) are exact by
construction. Float twins (minecart, both mountain cars) compute in float32 and round as
XLA:CPU compiles the port's step: a multiply feeding an add fused into one multiply-add
(`_fma`), a division by a constant as a multiply by its reciprocal, `cos` as the C
library's `cosf`. That depends on the CPU and the compiler, so a float twin carries
`probe_actions` and the export uses it only if it reproduces the compiled step bit for
bit over that probe run.

Randomness stays the port's: the export gives every `reset`/`step` call its own key (see
`GymnasiumEnv`), and a twin whose port draws from that key names the draw as a JAX
function of the key (`reset_draw`, `step_draw`: the port's own reset or draw function),
which the export evaluates for a block of calls at once; the twin then receives the
drawn value as a Python number.

A twin holds the episode state as Python scalars; `reset(draw)` returns the observation,
`step(action, draw)` returns `(obs, reward, terminated, truncated)` with fresh writable
numpy arrays.
"""

from __future__ import annotations

import abc
import ctypes
import ctypes.util
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from morl.envs.continuous_mountain_car import MOContinuousMountainCar
from morl.envs.deep_sea_treasure import _MOVES as _DST_MOVES
from morl.envs.deep_sea_treasure import _W, DeepSeaTreasure
from morl.envs.four_room import _MOVES as _FOUR_ROOM_MOVES
from morl.envs.four_room import FourRoom
from morl.envs.fruit_tree import FruitTree
from morl.envs.minecart import (
    _COS_SIN,
    ACCELERATE,
    ACCELERATION,
    BASE_RADIUS,
    BRAKE,
    DECELERATION,
    EPS_SPEED,
    FUEL_PER_FRAME,
    LEFT,
    MAX_SPEED,
    MINE,
    MINE_RADIUS,
    RIGHT,
    ROTATION,
    Minecart,
)
from morl.envs.mountain_car import MOMountainCar
from morl.envs.resource_gathering import _MOVES as _RG_MOVES
from morl.envs.resource_gathering import ENEMY, GEM, GOLD, HOME, MAP, START, ResourceGathering, kill_draw

_F32 = np.float32
_I32 = np.int32


def _fma(a, b, c):
    """float32 `a * b + c` rounded once (the product of two float32 values is exact in
    float64; the sum's double rounding through float64 does not change a float32 result
    here, as the probe runs confirm)."""
    return (np.float64(a) * b + c).astype(_F32) if isinstance(b, np.ndarray) else _F32(float(a) * float(b) + float(c))


def _action(action: Any, n: int) -> int:
    a = int(action)
    if not 0 <= a < n:
        raise ValueError(f"action {action!r} is outside Discrete({n})")
    return a


class NumpyTwin(abc.ABC):
    """A port's twin: `reset` and `step` (each subclass implements both). No randomness by
    default; subclasses set `reset_draw`/`step_draw` (JAX functions of a key, evaluated by
    the export) where their port draws from the key."""

    reset_draw: Callable[[jax.Array], jax.Array] | None = None
    step_draw: Callable[[jax.Array], jax.Array] | None = None
    #: Actions of a probe run the export compares with the port's compiled step before
    #: using the twin (float twins: rounding depends on how XLA compiled the step); None:
    #: exact by construction (integer arithmetic, table look-ups).
    probe_actions: list[int] | None = None

    @abc.abstractmethod
    def reset(self, draw: Any) -> np.ndarray:
        """The first observation of an episode, given the port's reset draw (or None)."""

    @abc.abstractmethod
    def step(self, action: Any, draw: Any) -> tuple[np.ndarray, np.ndarray, bool, bool]:
        """`(obs, reward vector, terminated, truncated)` after `action`, given the port's
        step draw (or None)."""


class DeepSeaTreasureTwin(NumpyTwin):
    """`DeepSeaTreasure.step_env` on Python ints (any map, int or float observations)."""

    def __init__(self, env: DeepSeaTreasure, params: Any):
        self.sea = env.sea_map.astype(_F32).tolist()  # Python floats holding the port's float32 values
        self.rows, self.cols = env.sea_map.shape
        self.start = tuple(int(x) for x in env._start)
        self.moves = [tuple(int(x) for x in m) for m in _DST_MOVES]
        self.max_steps = int(params.max_steps)
        self.float_state = env.float_state

    def _obs(self) -> np.ndarray:
        if self.float_state:
            return np.array([self.row, self.col], _F32) * _F32(0.1)  # float32 product, as the port
        return np.array([self.row, self.col], _I32)

    def reset(self, draw):
        self.row, self.col = self.start
        self.time = 0
        return self._obs()

    def step(self, action, draw):
        dr, dc = self.moves[_action(action, 4)]
        row, col = self.row + dr, self.col + dc
        if 0 <= row < self.rows and 0 <= col < self.cols and self.sea[row][col] != _W:
            self.row, self.col = row, col
        value = self.sea[self.row][self.col]
        terminated = value > 0
        self.time += 1
        reward = np.array([value if terminated else 0.0, -1.0], _F32)
        return self._obs(), reward, terminated, self.time >= self.max_steps and not terminated


class FruitTreeTwin(NumpyTwin):
    """`FruitTree.step_env` on Python ints."""

    def __init__(self, env: FruitTree, params: Any):
        self.fruits = env.fruits.astype(_F32)  # [2**depth, 6]
        self.zeros = np.zeros(self.fruits.shape[1], _F32)
        self.depth = env.depth
        self.last = 2**env.depth - 1
        self.max_steps = int(params.max_steps)

    def reset(self, draw):
        self.row = self.col = self.time = 0
        return np.zeros(2, _I32)

    def step(self, action, draw):
        self.row += 1
        self.col = 2 * self.col + _action(action, 2)
        self.time += 1
        terminated = self.row >= self.depth
        reward = self.fruits[min(max(self.col, 0), self.last)].copy() if terminated else self.zeros.copy()
        return np.array([self.row, self.col], _I32), reward, terminated, self.time >= self.max_steps and not terminated


class FourRoomTwin(NumpyTwin):
    """`FourRoom.step_env` on Python ints (any maze, MO-Gymnasium's coordinate observation);
    with several start cells, the start is the port's own reset drawn from the key."""

    def __init__(self, env: FourRoom, params: Any):
        self.height, self.width = env.maze.shape
        self.walls = env.walls.tolist()
        self.item_index = env.item_index.tolist()
        self.item_type = env.item_type.tolist()
        self.goal = tuple(int(x) for x in env.goal)
        self.starts = [tuple(int(x) for x in s) for s in env.starts]
        self.moves = [tuple(int(x) for x in m) for m in _FOUR_ROOM_MOVES]
        self.num_items = env.num_items
        self.reward_dim = env.reward_dim
        self.max_steps = int(params.max_steps)
        if len(self.starts) > 1:
            self.reset_draw = lambda key: env.reset_env(key, params)[1].position

    def _obs(self) -> np.ndarray:
        obs = self.obs.copy()
        obs[0], obs[1] = self.row, self.col
        return obs

    def reset(self, draw):
        self.row, self.col = self.starts[0] if draw is None else tuple(draw)
        self.collected = 0
        self.time = 0
        self.obs = np.zeros(2 + self.num_items, _I32)  # collected bits kept up to date in place
        return self._obs()

    def step(self, action, draw):
        dr, dc = self.moves[_action(action, 4)]
        row, col = self.row + dr, self.col + dc
        reward = np.zeros(self.reward_dim, _F32)
        at_goal = False
        if 0 <= row < self.height and 0 <= col < self.width and not self.walls[row][col]:
            self.row, self.col = row, col
            at_goal = (row, col) == self.goal
            item = self.item_index[row][col]
            if item >= 0 and not self.collected >> item & 1:
                self.collected |= 1 << item
                self.obs[2 + item] = 1
                reward[self.item_type[item]] = 1.0
            if at_goal:
                reward[:] = 1.0
        self.time += 1
        return self._obs(), reward, at_goal, self.time >= self.max_steps and not at_goal


class ResourceGatheringTwin(NumpyTwin):
    """`ResourceGathering.step_env` on Python ints; the kill draw is the port's
    (`kill_draw(key)`), compared with the float32 `params.kill_prob` exactly."""

    step_draw = staticmethod(kill_draw)

    def __init__(self, env: ResourceGathering, params: Any):
        self.map = MAP.tolist()
        self.size = MAP.shape[0]
        self.start = tuple(int(x) for x in START)
        self.moves = [tuple(int(x) for x in m) for m in _RG_MOVES]
        self.max_steps = int(params.max_steps)
        self.kill_prob = float(np.float32(params.kill_prob))

    def reset(self, draw):
        self.row, self.col = self.start
        self.gold = self.gem = self.time = 0
        return np.array([self.row, self.col, 0, 0], _I32)

    def step(self, action, draw):
        dr, dc = self.moves[_action(action, 4)]
        row, col = self.row + dr, self.col + dc
        if 0 <= row < self.size and 0 <= col < self.size:
            self.row, self.col = row, col
        cell = self.map[self.row][self.col]
        if cell == GOLD:
            self.gold = 1
        elif cell == GEM:
            self.gem = 1
        killed = cell == ENEMY and draw < self.kill_prob
        home = cell == HOME
        reward = np.array([-1.0 if killed else 0.0, self.gold if home else 0, self.gem if home else 0], _F32)
        terminated = killed or home
        self.time += 1
        obs = np.array([self.row, self.col, self.gold, self.gem], _I32)
        return obs, reward, terminated, self.time >= self.max_steps and not terminated


class MinecartTwin(NumpyTwin):
    """`Minecart.step_env` on numpy float32 scalars, operation for operation, rounding as
    the port's compiled step does on XLA:CPU: a multiply feeding an add is one fused
    multiply-add (`_fma`), and a division by the constant capacity a multiply by its
    reciprocal. The ore draws are the port's (`ore_normals(key)`). Floating-point fusion
    depends on the CPU and the compiler, so the export uses this twin only where it
    reproduces the port's compiled step bit for bit on a probe run (`probe_actions`:
    random actions biased to drive out, mine and come back)."""

    probe_actions = np.random.default_rng(1).choice(6, size=600, p=[0.3, 0.15, 0.15, 0.2, 0.1, 0.1]).tolist()

    def __init__(self, env: Minecart, params: Any):
        self.frames, self.repeats = (env.frame_skip, 1) if env.incremental_frame_skip else (1, env.frame_skip)
        self.ore_cnt = env.ore_cnt
        self.capacity = _F32(env.capacity)
        self.per_capacity = _F32(1.0) / self.capacity
        self.mine_pos = env.mine_pos.astype(_F32)  # [mines, 2]
        self.ore_mean, self.ore_std = env.ore_mean.astype(_F32), env.ore_std.astype(_F32).astype(np.float64)
        self.cos_sin = [(_F32(c), _F32(s)) for c, s in _COS_SIN]
        self.fuel = (FUEL_PER_FRAME * env.frame_skip).astype(_F32)
        rotation = {LEFT: -ROTATION, RIGHT: ROTATION}
        self.turn = [rotation.get(a, 0) * self.repeats for a in range(6)]
        change = {ACCELERATE: ACCELERATION, BRAKE: -DECELERATION}
        self.accelerate = [_F32(change.get(a, 0.0)) * _F32(self.repeats) for a in range(6)]
        self.eps, self.mine_radius, self.base_radius = _F32(EPS_SPEED), _F32(MINE_RADIUS), _F32(BASE_RADIUS)
        self.zero, self.one, self.max_speed = _F32(0.0), _F32(1.0), _F32(MAX_SPEED)
        self.max_steps = int(params.max_steps)
        self.step_draw = env.ore_normals

    def _obs(self) -> np.ndarray:
        cos, sin = self.cos_sin[self.angle % 360]
        head = np.array([self.x, self.y, self.speed, sin, cos], _F32)
        return np.concatenate([head, self.content * self.per_capacity])

    def reset(self, draw):
        self.x = self.y = self.speed = _F32(0.0)
        self.angle = 45
        self.content = np.zeros(self.ore_cnt, _F32)
        self.departed = False
        self.time = 0
        return self._obs()

    def _mine(self, content, x, y, speed, normal):
        offset = self.mine_pos - np.array([x, y], _F32)
        distance = np.sqrt((offset * offset).sum(axis=1))
        nearest = int(np.argmin(distance))
        mined = np.maximum(_F32(0.0), _fma(self.ore_std[nearest], np.asarray(normal), self.ore_mean[nearest]))
        free = self.capacity - content.sum()
        total = mined.sum()
        if total > free:
            mined = mined * (free / (total if total > 0 else self.one))
        if speed < self.eps and distance[nearest] <= self.mine_radius:
            return content + mined
        return content

    def _move(self, x, y, speed, angle):
        if not speed >= self.eps:
            return x, y, speed, angle
        cos, sin = self.cos_sin[angle % 360]
        vx, vy = speed * cos, speed * sin
        tx, ty = _fma(speed, cos, x), _fma(speed, sin, y)
        turn_x = y != 0 and y != 1 and abs(vy) > self.eps
        turn_y = x != 0 and x != 1 and abs(vx) > self.eps
        turn = 0
        if turn_x and x == 1 and vx > 0:
            turn += int(np.sign(vy))
        if turn_x and x == 0 and vx < 0:
            turn -= int(np.sign(vy))
        if turn_y and y == 1 and vy > 0:
            turn -= int(np.sign(vx))
        if turn_y and y == 0 and vy < 0:
            turn += int(np.sign(vx))
        nx, ny = min(max(tx, self.zero), self.one), min(max(ty, self.zero), self.one)
        dx = vx if tx == nx else nx - x
        dy = vy if ty == ny else ny - y
        return nx, ny, np.sqrt(_fma(dx, dx, dy * dy)), angle + turn * ROTATION

    def step(self, action, draw):
        a = _action(action, 6)
        turn, accelerate = self.turn[a], self.accelerate[a]
        x, y, speed, angle, content, departed = self.x, self.y, self.speed, self.angle, self.content, self.departed
        ore = np.zeros(self.ore_cnt, _F32)
        end = stopped = False
        for f in range(self.frames):
            active = not stopped
            if active and turn:
                angle = (angle + turn) % 360
            if active and accelerate != 0:
                speed = min(max(speed + accelerate, self.zero), self.max_speed)
            if active and a == MINE:
                for j in range(self.repeats):
                    content = self._mine(content, x, y, speed, draw[f * self.repeats + j])
            stopped = stopped or end
            if active and not end:
                for _ in range(self.repeats):
                    x, y, speed, angle = self._move(x, y, speed, angle)
                at_base = np.sqrt(_fma(x, x, y * y)) < self.base_radius
                if at_base and departed:
                    ore = ore + content
                    content = np.zeros(self.ore_cnt, _F32)
                    end = True
                departed = departed or not at_base
        self.x, self.y, self.speed, self.angle, self.content, self.departed = x, y, speed, angle, content, departed
        self.time += 1
        reward = np.append(ore, self.fuel[a])
        return self._obs(), reward, end, self.time >= self.max_steps and not end


def _c_cosf() -> Callable[[float], float] | None:
    """The C library's float32 `cosf` (XLA:CPU computes float32 `cos` as it), or None."""
    try:
        cosf = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6").cosf
    except (OSError, AttributeError):
        return None
    cosf.restype, cosf.argtypes = ctypes.c_float, [ctypes.c_float]
    return cosf


class _MountainCarTwinBase(NumpyTwin):
    """What both mountain car twins share: float32 constants from `params`, the port's own
    reset position drawn from the call's key, and the step after the velocity update."""

    _PARAMS = ("min_position", "max_position", "max_speed", "goal_position", "goal_velocity")

    def __init__(self, env: Any, params: Any, cosf: Callable[[float], float]):
        self.cosf = cosf
        for name in self._PARAMS:
            setattr(self, name, _F32(getattr(params, name)))
        self.three, self.zero = _F32(3.0), _F32(0.0)
        self.max_steps = int(params.max_steps)
        self.reset_draw = lambda key: env.reset_env(key, params)[1].position

    def reset(self, draw):
        self.position, self.velocity, self.time = _F32(draw), self.zero, 0
        return np.array([self.position, self.velocity], _F32)

    def _cos(self) -> np.float32:
        """`cos(3 * position)` as XLA:CPU computes it (the C library's `cosf`)."""
        return _F32(self.cosf(self.three * self.position))

    def _advance(self, velocity: np.float32) -> tuple[np.ndarray, bool, bool]:
        """Clip the velocity, move, stop at the left wall: `(obs, terminated, truncated)`."""
        velocity = min(max(velocity, -self.max_speed), self.max_speed)
        position = min(max(self.position + velocity, self.min_position), self.max_position)
        if position == self.min_position and velocity < 0:
            velocity = self.zero
        self.position, self.velocity = position, velocity
        terminated = bool(position >= self.goal_position and velocity >= self.goal_velocity)
        self.time += 1
        return np.array([position, velocity], _F32), terminated, self.time >= self.max_steps and not terminated


class ContinuousMountainCarTwin(_MountainCarTwinBase):
    """`MOContinuousMountainCar.step_env` on numpy float32 scalars, rounding as the port's
    compiled step does on XLA:CPU: `cos` is the C library's `cosf`, and `force * power`
    is fused into the subtraction of `0.0025 * cos(...)` (`_fma`). Used only after a
    bit-equal probe run (`probe_actions`, as `MinecartTwin`)."""

    _PARAMS = _MountainCarTwinBase._PARAMS + ("min_action", "max_action", "power")
    probe_actions = list(np.random.default_rng(0).uniform(-1.3, 1.3, (1200, 1)).astype(_F32))

    def step(self, action, draw):
        action = np.asarray(action, _F32)
        if action.shape != (1,):
            raise ValueError(f"action has shape {action.shape}, expected (1,)")
        a = action[0]
        force = min(max(a, self.min_action), self.max_action)
        hill = _F32(0.0025) * self._cos()
        obs, terminated, truncated = self._advance(self.velocity + _fma(force, self.power, -hill))
        return obs, np.array([0.0 if terminated else -1.0, -(a * a)], _F32), terminated, truncated


class MountainCarTwin(_MountainCarTwinBase):
    """`MOMountainCar.step_env` (every reward variant) on numpy float32 scalars, rounding
    as the port's compiled step does on XLA:CPU: `cos` is the C library's `cosf`, and
    `cos(...) * -gravity` is fused into the velocity update (`_fma`). Used only after a
    bit-equal probe run (`probe_actions`, as `MinecartTwin`)."""

    _PARAMS = _MountainCarTwinBase._PARAMS + ("force", "gravity")
    probe_actions = np.random.default_rng(0).choice(3, size=1200, p=[0.3, 0.2, 0.5]).tolist()

    def __init__(self, env: MOMountainCar, params: Any, cosf: Callable[[float], float]):
        super().__init__(env, params, cosf)
        self.push = [_F32(a - 1) * self.force for a in range(3)]
        self.remove_move_penalty, self.merge_move_penalty = env.remove_move_penalty, env.merge_move_penalty
        self.add_speed_objective = env.add_speed_objective

    def step(self, action, draw):
        a = _action(action, 3)
        obs, terminated, truncated = self._advance(_fma(self._cos(), -self.gravity, self.velocity + self.push[a]))
        rewards = [0.0 if terminated else -1.0]
        if not self.remove_move_penalty:
            if self.merge_move_penalty:
                rewards.append(-1.0 if a != 1 else 0.0)
            else:
                rewards += [-1.0 if a == 0 else 0.0, -1.0 if a == 2 else 0.0]
        if self.add_speed_objective:
            rewards.append(_F32(15.0) * abs(self.velocity))
        return obs, np.array(rewards, _F32), terminated, truncated


def _with_cosf(twin_class: type) -> Callable[[Any, Any], NumpyTwin | None]:
    """A maker of `twin_class(env, params, cosf)`, None where the C library's `cosf` is not found."""

    def make(env: Any, params: Any) -> NumpyTwin | None:
        cosf = _c_cosf()
        return None if cosf is None else twin_class(env, params, cosf)

    return make


_TWINS: dict[type, Callable[[Any, Any], NumpyTwin | None]] = {
    DeepSeaTreasure: DeepSeaTreasureTwin,
    FruitTree: FruitTreeTwin,
    FourRoom: lambda env, params: (
        FourRoomTwin(env, params) if getattr(env, "observation", "coordinates") == "coordinates" else None
    ),
    ResourceGathering: ResourceGatheringTwin,
    Minecart: MinecartTwin,
    MOContinuousMountainCar: _with_cosf(ContinuousMountainCarTwin),
    MOMountainCar: _with_cosf(MountainCarTwin),
}


def numpy_twin(env: Any, params: Any) -> NumpyTwin | None:
    """The twin of `env` (exactly a port class with a twin; not a subclass or wrapper) under
    `params`, or None."""
    make = _TWINS.get(type(env))
    return None if make is None else make(env, params)
