"""Four Room (Barreto et al. 2017), a port of MO-Gymnasium's `four-room-v0`.

A 13x13 gridworld split into four rooms by walls `X` with passages. The agent starts at
`_` (lower left) and moves left/up/right/down (actions 0-3); moves into a wall or off the
grid leave it in place. Twelve items of three shape types (`1` blue square, `2` green
triangle, `3` red circle) lie in the rooms; stepping onto an uncollected item collects it
and pays the one-hot reward of its type. Reaching the goal `G` (top right) pays
`[1, 1, 1]` and ends the episode.

Observation: `(row, col, collected_0, ..., collected_{n-1})` as int32 `[2 + n]`, items
numbered column by column (MO-Gymnasium's order). With `observation="one_hot"` (the
training defaults' choice, `--set env_kwargs=[observation=one_hot]`): the cell's one-hot
`[height * width]` then the collected bits, float32; rewards and ends are unchanged. Time
limit 200 steps, as MO-Gymnasium registers it. With several `_` cells the start is drawn
uniformly from them with the reset key (MO-Gymnasium draws it from Python's global
`random`); the default maze has one.

Pareto front (MO-Gymnasium gives none): `pareto_front(gamma)` is exact, computed here by
dynamic programming (`_exact_front`), cached per maze, `gamma` and time limit. A reward
received on step `t` (0-based: the `t+1`-th move) counts `gamma**t`, as the evaluation
discounts it. The env is deterministic, so a policy from the start is a plan: the order
in which it collects some of the items, then the goal or not, walking shortest paths in
between (waiting or detours only delay non-negative rewards). `pareto_front_plans(gamma)`
also gives, for each front point, an action sequence that realises it.
"""

from __future__ import annotations

import functools
from collections import deque

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
#: Observation encodings: MO-Gymnasium's `(row, col, collected bits)`, or the cell one-hot
#: `[height * width]` followed by the collected bits (float32).
OBSERVATIONS = ("coordinates", "one_hot")
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

    def __init__(self, maze: np.ndarray = MAZE, observation: str = "coordinates"):
        if observation not in OBSERVATIONS:
            raise ValueError(f"four-room: observation must be one of {OBSERVATIONS}, got {observation!r}")
        self.observation = observation
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
        if self.observation == "one_hot":
            cell = state.position[0] * self.maze.shape[1] + state.position[1]
            return jnp.concatenate([jax.nn.one_hot(cell, self.maze.size, dtype=jnp.float32), bits.astype(jnp.float32)])
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
        if self.observation == "one_hot":
            return spaces.Box(0, 1, (self.maze.size + self.num_items,), jnp.float32)
        return spaces.Box(0, len(self.maze), (2 + self.num_items,), jnp.int32)

    def action_space(self, params=None):
        return spaces.Discrete(4)

    def pareto_front(self, gamma: float = 1.0) -> np.ndarray:
        """The exact front `[n, 3]` of discounted returns from the start (expected returns, a
        Minkowski average of the per-start fronts, where the maze has several starts), under
        the default 200-step limit; rows sorted."""
        fronts = [_exact_front(self._maze_key, tuple(int(x) for x in start), float(gamma), _DEFAULT_MAX_STEPS)[0] for start in self.starts]
        front = fronts[0]
        for other in fronts[1:]:
            pairs = (front[:, None, :] + other[None, :, :]).reshape(-1, 3)
            pairs = _snap(pairs)
            front = pairs[_non_dominated(pairs, np.zeros(len(pairs)))]
        return np.unique(front / len(fronts), axis=0)

    def pareto_front_plans(self, gamma: float = 1.0) -> tuple[np.ndarray, list[np.ndarray]]:
        """`(front [n, 3], actions)`: the exact front from the (single) start, rows sorted, and for
        each row an int32 action sequence whose discounted return is that row."""
        if len(self.starts) != 1:
            raise ValueError(f"four-room: plans need a single start cell, the maze has {len(self.starts)}")
        start = tuple(int(x) for x in self.starts[0])
        front, plans = _exact_front(self._maze_key, start, float(gamma), _DEFAULT_MAX_STEPS)
        return front.copy(), [self.plan_actions(start, plan) for plan in plans]

    @property
    def _maze_key(self) -> tuple[str, ...]:
        return tuple("".join(f"{c:1.1}" if c else " " for c in row) for row in self.maze)

    def plan_actions(self, start: tuple[int, int], plan: tuple[tuple[int, int], ...]) -> np.ndarray:
        """Actions that visit the cells of `plan` in order along shortest paths that step on no
        other uncollected item where one exists (else collecting such items on the way, which for
        a front plan cannot change its return) and never on the goal before the end."""
        uncollected = {tuple(int(x) for x in cell) for cell in np.argwhere(self.item_index >= 0)}
        goal = tuple(int(x) for x in self.goal)
        position, actions = start, []
        for target in plan:
            shortest = _bfs_actions(self.walls, position, target, {goal} - {target})
            clean = _bfs_actions(self.walls, position, target, (uncollected | {goal}) - {target})
            path = clean if clean is not None and len(clean) == len(shortest) else shortest
            actions += path
            uncollected.discard(target)
            position = target
        return np.asarray(actions, np.int32)


_DEFAULT_MAX_STEPS = 200
_TOLERANCE = 1e-9  # returns closer than this in an objective count as equal there
_BLOCK = 64
_STRICTLY_EARLIER = np.tril(np.ones((_BLOCK, _BLOCK), bool), -1)


def _non_dominated(values: np.ndarray, cost: np.ndarray, cost_is_objective: bool = False) -> np.ndarray:
    """Indices of the rows of `values [n, 3]` (maximised) that no other row weakly dominates;
    of equal rows the one of least `cost` is kept. With `cost_is_objective`, `cost` is a fourth
    objective (minimised) instead of a tie-break.

    Sorted by value lexicographically (best first, then least cost), a row is dominated iff an
    earlier row is at least as good in the remaining columns; checked a block of 64 rows at a
    time against the rows kept so far and against the block's earlier rows (an earlier
    row that is itself dominated only passes the domination on)."""
    order = np.lexsort((cost, -values[:, 2], -values[:, 1], -values[:, 0]))
    columns = [values[order, 1], values[order, 2]] + ([-cost[order]] if cost_is_objective else [])
    kept: list[np.ndarray] = []
    kept_columns = [np.empty(0) for _ in columns]
    for begin in range(0, len(order), _BLOCK):
        block = [c[begin : begin + _BLOCK] for c in columns]
        size = len(block[0])
        by_kept = np.ones((size, len(kept_columns[0])), bool)
        within = _STRICTLY_EARLIER[:size, :size].copy()
        for b, k in zip(block, kept_columns):
            by_kept &= k[None, :] >= b[:, None]
            within &= b[None, :] >= b[:, None]
        survivors = np.flatnonzero(~(by_kept.any(1) | within.any(1)))
        kept.append(order[begin + survivors])
        kept_columns = [np.concatenate([k, b[survivors]]) for k, b in zip(kept_columns, block)]
    return np.concatenate(kept)


def _snap(values: np.ndarray, tolerance: float = _TOLERANCE) -> np.ndarray:
    """`values [n, m]` with each column's values that chain within `tolerance` of each other
    replaced by the least of them, so that returns equal but for rounding (one sum of
    discounts multiplied out along different plans) compare equal."""
    out = np.empty_like(values)
    for column in range(values.shape[1]):
        order = np.argsort(values[:, column], kind="stable")
        ordered = values[order, column]
        starts = np.concatenate([[True], np.diff(ordered) > tolerance])
        out[order, column] = ordered[np.flatnonzero(starts)][np.cumsum(starts) - 1]
    return out


def _bfs_actions(walls: np.ndarray, source, target, blocked=frozenset()) -> list[int] | None:
    """Actions of a shortest path from `source` to `target` avoiding walls and `blocked` cells
    (None: there is none)."""
    height, width = walls.shape
    parent = {tuple(source): None}
    queue = deque([tuple(source)])
    while queue:
        cell = queue.popleft()
        if cell == tuple(target):
            actions = []
            while parent[cell] is not None:
                cell, action = parent[cell]
                actions.append(action)
            return actions[::-1]
        for action, (dr, dc) in enumerate(_MOVES):
            nxt = (cell[0] + int(dr), cell[1] + int(dc))
            if 0 <= nxt[0] < height and 0 <= nxt[1] < width and not walls[nxt] and nxt not in blocked and nxt not in parent:
                parent[nxt] = (cell, action)
                queue.append(nxt)
    return None


def _distances(walls: np.ndarray, source, goal) -> np.ndarray:
    """Shortest-path lengths `[H, W]` from `source` (-1: unreachable); the goal can be entered
    but not walked through (it ends the episode)."""
    dist = np.full(walls.shape, -1, np.int64)
    dist[tuple(source)] = 0
    queue = deque([tuple(source)])
    while queue:
        cell = queue.popleft()
        if cell == goal and cell != tuple(source):
            continue
        for dr, dc in _MOVES:
            nxt = (cell[0] + int(dr), cell[1] + int(dc))
            if 0 <= nxt[0] < walls.shape[0] and 0 <= nxt[1] < walls.shape[1] and not walls[nxt] and dist[nxt] < 0:
                dist[nxt] = dist[cell] + 1
                queue.append(nxt)
    return dist


@functools.lru_cache(maxsize=16)
def _exact_front(maze_key: tuple[str, ...], start: tuple[int, int], gamma: float, max_steps: int):
    """`(front [n, 3] sorted rows, plans)`: the Pareto front of discounted returns from `start`,
    and for each row the cells a plan realising it visits, in order.

    Plans. Rewards are non-negative and the env deterministic, so only plans matter: collect
    items `i_1, ..., i_k` in this order, then walk to the goal or not. Walking shortest paths
    `d(a, b)` between them (the goal is never crossed) collects `i_j` on step
    `t_j = d(start, i_1) + ... + d(i_{j-1}, i_j) - 1`. Any actual trajectory collects its items at
    steps no earlier than the plan of the same order, so some plan weakly dominates it; and
    a plan whose every shortest path crosses another uncollected item `c` is weakly dominated
    by the trajectory it describes (which collects `c` on the way, and collects `c` no later
    than the plan would), itself the plan with `c` inserted. So the non-dominated plan
    returns are exactly the non-dominated returns of all policies, and every front plan has
    shortest paths that avoid the other items (`pareto_front_plans` walks those).

    Dynamic program. `V(i, C)`: the non-dominated returns still to come after collecting item
    `i` with the item set `C` collected, discounted to that step: stop (`0`), the goal
    (`gamma**(d(i, G) - 1) * [1, 1, 1]`), or item `j` not in `C` then on
    (`gamma**(d(i, j) - 1) r_j + gamma**d(i, j) V(j, C + j)`). A positive scaling plus a constant
    keeps dominance, so taking non-dominated sets at every state loses nothing. That is
    `n 2**(n-1)` states (24576 for twelve items) of a few dozen to a few hundred vectors
    each; a few seconds of numpy. Returns are multiplied out along each plan, so equal
    returns of different plans can differ by rounding; each state's values closer than 1e-9
    in an objective are made equal (`_snap`) before comparing. Of equal vectors the shortest
    plan is kept; if a front plan then runs past the time limit, the program is run again
    with the plan length as a fourth objective (exact under the limit, slower), keeping
    the plans that end within it."""
    maze = np.array([list(row) for row in maze_key])
    walls = maze == "X"
    items = [(r, c) for c in range(maze.shape[1]) for r in range(maze.shape[0]) if maze[r, c] in SHAPE_TYPES]
    rewards = np.eye(len(SHAPE_TYPES))[[SHAPE_TYPES.index(maze[cell]) for cell in items]]
    goals = np.argwhere(maze == "G")
    goal = tuple(int(x) for x in goals[0]) if len(goals) else None
    n = len(items)
    sources = items + [start]  # row n: the start
    fields = [_distances(walls, source, goal) for source in sources]
    to_item = np.array([[field[cell] for cell in items] for field in fields]).reshape(n + 1, n)
    to_goal = np.array([field[goal] if goal else -1 for field in fields])
    front, length, plans = _plan_program(to_item, to_goal, rewards, gamma, False)
    if length.max(initial=0) > max_steps:
        front, length, plans = _plan_program(to_item, to_goal, rewards, gamma, True)
        within = length <= max_steps
        front, length, plans = front[within], length[within], [p for p, w in zip(plans, within) if w]
        keep = _non_dominated(front, length)
        front, plans = front[keep], [plans[k] for k in keep]
    order = np.lexsort(front.T[::-1])
    cells = items + [goal]
    return front[order] + 0.0, [tuple(cells[k] for k in plans[o]) for o in order]


def _plan_program(to_item, to_goal, rewards, gamma, length_is_objective):
    """The dynamic program of `_exact_front` over states (last item, collected set), from the
    fullest sets down to the start; returns the start's `(values, plan lengths, plans)` with
    plans as sequences of item indices (`n`: the goal)."""
    n = len(rewards)
    dim = rewards.shape[1]
    discount = gamma ** np.arange(max(int(to_item.max(initial=0)), int(to_goal.max(initial=0))) + 1, dtype=np.float64)
    # per state: values [k, dim], lengths [k], next move [k] (-1 stop, n goal, j item), index into the next state's rows
    table: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    goal_value = discount[np.maximum(to_goal - 1, 0)]
    for mask in sorted(range(1 << n), key=lambda m: -bin(m).count("1")):
        lasts = np.array([i for i in range(n) if mask >> i & 1] or [n])
        # The rows of every next state, shared by all last items of this mask; then per last
        # item the moves' discounts, from one [len(lasts), rows] distance table.
        nexts = [j for j in range(n) if not mask >> j & 1 and (to_item[lasts, j] > 0).any()]
        later = [table[(j, mask | 1 << j)] for j in nexts]
        item = np.concatenate([np.full(len(t[0]), j) for j, t in zip(nexts, later)] + [np.zeros(0, np.int64)])
        later_values = np.concatenate([t[0] for t in later] + [np.zeros((0, dim))])
        later_lengths = np.concatenate([t[1] for t in later] + [np.zeros(0, np.int64)])
        later_rows = np.concatenate([np.arange(len(t[0])) for t in later] + [np.zeros(0, np.int64)])
        d = to_item[lasts][:, item]  # [L, K]
        reachable = d > 0
        d = np.maximum(d, 1)
        # rows 0 and 1 of every last item: stop, the goal; snapped together, all last items at once
        all_values = np.concatenate(
            [
                np.zeros((len(lasts), 1, dim)),
                np.broadcast_to(goal_value[lasts][:, None, None], (len(lasts), 1, dim)),
                discount[d - 1][..., None] * rewards[item] + discount[d][..., None] * later_values,
            ],
            axis=1,
        )
        all_values = _snap(all_values.reshape(-1, dim)).reshape(all_values.shape)
        all_lengths = np.concatenate([np.zeros((len(lasts), 1), np.int64), to_goal[lasts][:, None], later_lengths + d], axis=1)
        all_moves = np.concatenate([[-1, n], item])
        all_rows = np.concatenate([[0, 0], later_rows])
        for k, last in enumerate(lasts):
            ok = np.concatenate([[True, to_goal[last] > 0], reachable[k]])
            values, lengths, moves, rows = all_values[k][ok], all_lengths[k][ok], all_moves[ok], all_rows[ok]
            keep = _non_dominated(values, lengths, length_is_objective)
            table[(int(last), mask)] = (values[keep], lengths[keep], moves[keep], rows[keep])
    values, lengths = table[(n, 0)][:2]
    plans = []
    for row in range(len(values)):
        plan, state = [], (n, 0)
        while True:
            move, row = table[state][2][row], table[state][3][row]
            if move < 0:
                break
            plan.append(int(move))
            if move == n:
                break
            state = (int(move), state[1] | 1 << int(move))
        plans.append(plan)
    return values, lengths, plans
