"""Four Room (Barreto et al. 2017), a port of MO-Gymnasium's `four-room-v0`.

A 13x13 gridworld split into four rooms by walls `X` with passages. The agent starts at
`_` (lower left) and moves left/up/right/down (actions 0-3); moves into a wall or off the
grid leave it in place. Twelve items of three shape types (`1` blue square, `2` green
triangle, `3` red circle) lie in the rooms; stepping onto an uncollected item collects it
and pays the one-hot reward of its type. Reaching the goal `G` (top right) pays
`[1, 1, 1]` and ends the episode.

Observation: `(row, col, collected_0, ..., collected_{n-1})` as int32 `[2 + n]`, items
numbered column by column (MO-Gymnasium's order). Time limit 200 steps, as MO-Gymnasium
registers it. With several `_` cells the start is drawn uniformly from them with the reset
key (MO-Gymnasium draws it from Python's global `random`); the default maze has one.
MO-Gymnasium gives no Pareto front for this env.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from morl.envs import spaces
from morl.envs.core import Environment

MAZE = np.array(
    [
        ["1", " ", " ", " ", " ", "2", "X", " ", " ", " ", " ", " ", "G"],
        [" ", " ", " ", " ", " ", " ", "X", " ", " ", " ", " ", " ", " "],
        [" ", " ", " ", " ", " ", " ", "1", " ", " ", " ", " ", " ", " "],
        [" ", " ", " ", " ", " ", " ", " ", " ", " ", " ", " ", " ", " "],
        [" ", " ", " ", " ", " ", " ", "X", " ", " ", " ", " ", " ", " "],
        ["2", " ", " ", " ", " ", "3", "X", " ", " ", " ", " ", " ", " "],
        ["X", "X", "3", " ", "X", "X", "X", "X", "X", " ", "1", "X", "X"],
        [" ", " ", " ", " ", " ", " ", "X", "2", " ", " ", " ", " ", "3"],
        [" ", " ", " ", " ", " ", " ", "X", " ", " ", " ", " ", " ", " "],
        [" ", " ", " ", " ", " ", " ", " ", " ", " ", " ", " ", " ", " "],
        [" ", " ", " ", " ", " ", " ", "2", " ", " ", " ", " ", " ", " "],
        [" ", " ", " ", " ", " ", " ", "X", " ", " ", " ", " ", " ", " "],
        ["_", " ", " ", " ", " ", " ", "X", "3", " ", " ", " ", " ", "1"],
    ]
)
SHAPE_TYPES = ("1", "2", "3")
_MOVES = np.array([[0, -1], [-1, 0], [0, 1], [1, 0]], dtype=np.int32)  # left, up, right, down


@struct.dataclass
class FourRoomState:
    position: jax.Array  # int32 [2] (row, col)
    collected: jax.Array  # int32 bit mask: bit i set once item i is collected
    time: jax.Array  # int32 steps taken


@struct.dataclass
class FourRoomParams:
    max_steps: jax.Array = struct.field(default_factory=lambda: jnp.int32(200))


class FourRoom(Environment[FourRoomState, FourRoomParams]):
    """Four Room with MO-Gymnasium's maze, dynamics, rewards and time limit; 3 objectives
    (one per shape type)."""

    def __init__(self, maze: np.ndarray = MAZE):
        maze = np.asarray(maze).astype(str)
        if maze.ndim != 2:
            raise ValueError(f"four-room: maze must be a 2-D array of cell strings, got shape {maze.shape}")
        bad = sorted({c for c in maze.ravel() if c.isdigit() and c not in SHAPE_TYPES})
        if bad:
            raise ValueError(f"four-room: item cells must be one of {SHAPE_TYPES}, got {bad}")
        starts = np.argwhere(maze == "_")
        if len(starts) == 0:
            raise ValueError("four-room: maze has no start cell '_'")
        num_items = int(np.isin(maze, SHAPE_TYPES).sum())
        if num_items > 31:
            raise ValueError(f"four-room: at most 31 items fit the collected bit mask, got {num_items}")
        goals = np.argwhere(maze == "G")
        self.maze = maze
        self.starts = starts.astype(np.int32)  # [k, 2]
        self.goal = goals[0].astype(np.int32) if len(goals) else np.array([-1, -1], np.int32)
        self.walls = maze == "X"
        # Items numbered column by column, as MO-Gymnasium's loop `for c: for r:` does.
        item_cells = [(r, c) for c in range(maze.shape[1]) for r in range(maze.shape[0]) if maze[r, c] in SHAPE_TYPES]
        self.item_index = np.full(maze.shape, -1, np.int32)
        for i, (r, c) in enumerate(item_cells):
            self.item_index[r, c] = i
        self.item_type = np.array([SHAPE_TYPES.index(maze[r, c]) for r, c in item_cells] or [0], np.int32)
        self.num_items = num_items

    @property
    def default_params(self) -> FourRoomParams:
        return FourRoomParams()

    @property
    def reward_dim(self) -> int:
        return len(SHAPE_TYPES)

    def _obs(self, state: FourRoomState) -> jax.Array:
        bits = (state.collected >> jnp.arange(self.num_items, dtype=jnp.int32)) & 1
        return jnp.concatenate([state.position, bits])

    def reset_env(self, key, params):
        start = jax.random.randint(key, (), 0, len(self.starts))
        state = FourRoomState(jnp.asarray(self.starts)[start], jnp.int32(0), jnp.int32(0))
        return self._obs(state), state

    def step_env(self, key, state, action, params):
        height, width = self.maze.shape
        candidate = state.position + jnp.asarray(_MOVES)[action]
        inside = (candidate[0] >= 0) & (candidate[0] < height) & (candidate[1] >= 0) & (candidate[1] < width)
        clipped = jnp.clip(candidate, 0, jnp.array([height - 1, width - 1]))
        moved = inside & ~jnp.asarray(self.walls)[clipped[0], clipped[1]]
        position = jnp.where(moved, candidate, state.position)
        at_goal = moved & jnp.all(position == jnp.asarray(self.goal))
        item = jnp.asarray(self.item_index)[position[0], position[1]]  # -1: no item
        new_item = moved & (item >= 0) & (((state.collected >> jnp.maximum(item, 0)) & 1) == 0)
        collected = state.collected | jnp.where(new_item, 1 << jnp.maximum(item, 0), 0)
        item_type = jnp.asarray(self.item_type)[jnp.maximum(item, 0)]
        reward = jnp.where(at_goal | (new_item & (jnp.arange(self.reward_dim) == item_type)), 1.0, 0.0)
        time = state.time + 1
        truncated = (time >= params.max_steps) & ~at_goal
        next_state = FourRoomState(position, collected, time)
        return self._obs(next_state), next_state, reward, at_goal, truncated, {}

    def observation_space(self, params=None):
        return spaces.Box(0, len(self.maze), (2 + self.num_items,), jnp.int32)

    def action_space(self, params=None):
        return spaces.Discrete(4)
