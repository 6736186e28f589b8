"""Plain-Python twins of the small grid-world ports, used by `to_gymnasium` exports only.

Why they exist: an exported env is stepped one call at a time from a Python loop. A
compiled JAX call costs at least 5-15 us on XLA:CPU (more for larger step programs),
while MO-Gymnasium's numpy grid worlds step in 2-4 us; no compiled program can come
within 3x of that. A twin is its port's `reset_env`/`step_env` rewritten in plain Python
over the port's own tables (read from the port instance or imported from its module,
never copied), equal to the port step by step: same observations, float32 rewards, flags
and time limit (tests/envs/test_numpy_twins.py checks each against the JAX port and
MO-Gymnasium over random action sequences with episode ends and resets). Training
uses the JAX ports; only the export steps a twin. Ports without a twin are exported
through their compiled step (`GymnasiumEnv`).

Randomness stays the port's: the export gives every `reset`/`step` call its own key (see
`GymnasiumEnv`), and a twin whose port draws from that key names the draw as a JAX
function of the key (`reset_draw`, `step_draw`), which the export evaluates for a block
of calls at once; the twin then receives the drawn value as a Python number.

A twin holds the episode state as Python ints; `reset(draw)` returns the observation,
`step(action, draw)` returns `(obs, reward, terminated, truncated)` with fresh writable
numpy arrays.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

from morl.envs.deep_sea_treasure import _MOVES as _DST_MOVES
from morl.envs.deep_sea_treasure import _W, DeepSeaTreasure
from morl.envs.four_room import _MOVES as _FOUR_ROOM_MOVES
from morl.envs.four_room import FourRoom
from morl.envs.fruit_tree import FruitTree
from morl.envs.resource_gathering import _MOVES as _RG_MOVES
from morl.envs.resource_gathering import ENEMY, GEM, GOLD, HOME, MAP, START, ResourceGathering, kill_draw

_F32 = np.float32
_I32 = np.int32


def _action(action: Any, n: int) -> int:
    a = int(action)
    if not 0 <= a < n:
        raise ValueError(f"action {action!r} is outside Discrete({n})")
    return a


class NumpyTwin:
    """Base: no randomness. Subclasses set `reset_draw`/`step_draw` (JAX functions of a
    key, evaluated by the export) where their port draws from the key."""

    reset_draw: Callable[[jax.Array], jax.Array] | None = None
    step_draw: Callable[[jax.Array], jax.Array] | None = None

    def reset(self, draw: Any) -> np.ndarray:
        raise NotImplementedError

    def step(self, action: Any, draw: Any) -> tuple[np.ndarray, np.ndarray, bool, bool]:
        raise NotImplementedError


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


_TWINS: dict[type, Callable[[Any, Any], NumpyTwin | None]] = {
    DeepSeaTreasure: DeepSeaTreasureTwin,
    FruitTree: FruitTreeTwin,
    FourRoom: lambda env, params: FourRoomTwin(env, params) if getattr(env, "observation", "coordinates") == "coordinates" else None,
    ResourceGathering: ResourceGatheringTwin,
}


def numpy_twin(env: Any, params: Any) -> NumpyTwin | None:
    """The twin of `env` (exactly a port class with a twin; not a subclass or wrapper) under
    `params`, or None."""
    make = _TWINS.get(type(env))
    return None if make is None else make(env, params)
