"""Deep Sea Treasure (Vamplew et al.), a port of MO-Gymnasium's `deep-sea-treasure-v0`.

A submarine starts top-left (top-centre on the mirrored map) and moves up/down/left/right
(actions 0-3) on a grid; an episode ends on a treasure. Reward `[treasure, time]`: the
treasure's value when reached (else 0) and -1 per step. Observation: the (row, col)
position as int32, or `0.1 * (row, col)` float32 with `float_state=True`.
Time limit 100 steps, as MO-Gymnasium registers it.

Maps: "convex" (Yang et al. 2019), "concave" (Vamplew et al. 2018), "mirrored"
(Felten et al. 2022, same front as concave on a wider, harder map).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from morl.envs import spaces
from morl.envs.core import Environment

CONVEX_MAP = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [0.7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [-10, 8.2, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [-10, -10, 11.5, 0, 0, 0, 0, 0, 0, 0, 0],
        [-10, -10, -10, 14.0, 15.1, 16.1, 0, 0, 0, 0, 0],
        [-10, -10, -10, -10, -10, -10, 0, 0, 0, 0, 0],
        [-10, -10, -10, -10, -10, -10, 0, 0, 0, 0, 0],
        [-10, -10, -10, -10, -10, -10, 19.6, 20.3, 0, 0, 0],
        [-10, -10, -10, -10, -10, -10, -10, -10, 0, 0, 0],
        [-10, -10, -10, -10, -10, -10, -10, -10, 22.4, 0, 0],
        [-10, -10, -10, -10, -10, -10, -10, -10, -10, 23.7, 0],
    ]
)
CONCAVE_MAP = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [1.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [-10, 2.0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [-10, -10, 3.0, 0, 0, 0, 0, 0, 0, 0, 0],
        [-10, -10, -10, 5.0, 8.0, 16.0, 0, 0, 0, 0, 0],
        [-10, -10, -10, -10, -10, -10, 0, 0, 0, 0, 0],
        [-10, -10, -10, -10, -10, -10, 0, 0, 0, 0, 0],
        [-10, -10, -10, -10, -10, -10, 24.0, 50.0, 0, 0, 0],
        [-10, -10, -10, -10, -10, -10, -10, -10, 0, 0, 0],
        [-10, -10, -10, -10, -10, -10, -10, -10, 74.0, 0, 0],
        [-10, -10, -10, -10, -10, -10, -10, -10, -10, 124.0, 0],
    ]
)
_W = -10
MIRRORED_MAP = np.array(
    [[0] * 20]
    + [[0] * 10 + [1.0] + [0] * 9]
    + [[0] * 9 + [_W, _W, 2.0] + [0] * 8]
    + [[0] * 8 + [_W] * 4 + [3.0] + [0] * 7]
    + [[0] * 7 + [_W] * 6 + [5.0, 8.0, 16.0] + [0] * 4]
    + [[0] * 4 + [_W] * 12 + [0] * 4] * 2
    + [[0] * 4 + [_W] * 12 + [24.0, 50.0, 0, 0]]
    + [[0, 0] + [_W] * 16 + [0, 0]]
    + [[0, 0] + [_W] * 16 + [74.0, 0]]
    + [[0] + [_W] * 18 + [124.0]],
    dtype=np.float64,
)

# (treasure, -steps to reach it) of the undiscounted Pareto front, as MO-Gymnasium lists it.
CONVEX_FRONT = np.array(
    [[0.7, -1], [8.2, -3], [11.5, -5], [14.0, -7], [15.1, -8], [16.1, -9], [19.6, -13], [20.3, -14], [22.4, -17], [23.7, -19]]
)
CONCAVE_FRONT = np.array(
    [[1.0, -1], [2.0, -3], [3.0, -5], [5.0, -7], [8.0, -8], [16.0, -9], [24.0, -13], [50.0, -14], [74.0, -17], [124.0, -19]]
)

_MAPS = {"convex": CONVEX_MAP, "concave": CONCAVE_MAP, "mirrored": MIRRORED_MAP}
_MOVES = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.int32)  # up, down, left, right


@struct.dataclass
class DSTState:
    position: jax.Array  # int32 [2] (row, col)
    time: jax.Array  # int32 steps taken


@struct.dataclass
class DSTParams:
    max_steps: jax.Array = struct.field(default_factory=lambda: jnp.int32(100))


def _map_name(dst_map: Any) -> str:
    if isinstance(dst_map, str):
        if dst_map not in _MAPS:
            raise ValueError(f"deep-sea-treasure: unknown map '{dst_map}', expected one of {sorted(_MAPS)}")
        return dst_map
    array = np.asarray(dst_map)
    for name, known in _MAPS.items():
        if array.shape == known.shape and np.allclose(array, known):
            return name
    raise ValueError("deep-sea-treasure: dst_map must be 'convex', 'concave', 'mirrored' or one of those arrays")


class DeepSeaTreasure(Environment[DSTState, DSTParams]):
    """Deep Sea Treasure with MO-Gymnasium's maps, dynamics, rewards and time limit."""

    def __init__(self, dst_map: Any = "convex", float_state: bool = False):
        self.map_name = _map_name(dst_map)
        self.sea_map = _MAPS[self.map_name]
        self.float_state = float_state
        self._start = np.array([0, 10] if self.map_name == "mirrored" else [0, 0], dtype=np.int32)

    @property
    def default_params(self) -> DSTParams:
        return DSTParams()

    @property
    def reward_dim(self) -> int:
        return 2

    def _obs(self, position: jax.Array) -> jax.Array:
        return position.astype(jnp.float32) * 0.1 if self.float_state else position

    def reset_env(self, key, params):
        position = jnp.asarray(self._start)
        return self._obs(position), DSTState(position, jnp.int32(0))

    def step_env(self, key, state, action, params):
        sea_map = jnp.asarray(self.sea_map, jnp.float32)
        rows, cols = self.sea_map.shape
        candidate = state.position + jnp.asarray(_MOVES)[action]
        inside = (candidate[0] >= 0) & (candidate[0] < rows) & (candidate[1] >= 0) & (candidate[1] < cols)
        clipped = jnp.clip(candidate, 0, jnp.array([rows - 1, cols - 1]))
        valid = inside & (sea_map[clipped[0], clipped[1]] != _W)
        position = jnp.where(valid, candidate, state.position)
        value = sea_map[position[0], position[1]]
        terminated = value > 0
        reward = jnp.stack([jnp.where(terminated, value, 0.0), jnp.float32(-1.0)])
        time = state.time + 1
        truncated = (time >= params.max_steps) & ~terminated
        return self._obs(position), DSTState(position, time), reward, terminated, truncated, {}

    def observation_space(self, params=None):
        if self.float_state:
            return spaces.Box(0.0, 1.0, (2,), jnp.float32)
        return spaces.Box(0, self.sea_map.shape[1], (2,), jnp.int32)

    def action_space(self, params=None):
        return spaces.Discrete(4)

    def pareto_front(self, gamma: float = 1.0) -> np.ndarray:
        """Discounted front: treasure `v * gamma**(steps-1)`, time `-sum_{i<steps} gamma**i`."""
        front = CONVEX_FRONT if self.map_name == "convex" else CONCAVE_FRONT
        steps = -front[:, 1]
        treasure = front[:, 0] * gamma ** (steps - 1)
        time = -np.array([np.sum(gamma ** np.arange(int(n))) for n in steps])
        return np.stack([treasure, time], axis=1)
