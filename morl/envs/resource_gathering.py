"""Resource Gathering (Barrett & Narayanan 2008), a port of MO-Gymnasium's `resource-gathering-v0`.

A 5x5 grid: home `H` at (4, 2), gold `R1` at (0, 2), a gem `R2` at (1, 4) and two enemy
cells `E1` (1, 2) and `E2` (0, 3). Actions 0-3 move up/down/left/right (moves off the
grid leave the agent in place). Stepping onto gold or the gem picks it up; stepping onto
an enemy cell kills the agent with probability `params.kill_prob` (0.1), which ends the
episode with reward `[-1, 0, 0]`; stepping onto home ends the episode with reward
`[0, has_gold, has_gem]` (so does bumping into the bottom wall from the start cell, as in
MO-Gymnasium). Every other step pays `[0, 0, 0]`.

Observation: `(row, col, has_gold, has_gem)` as int32 `[4]`. Time limit 100 steps, as
MO-Gymnasium registers it.

Randomness: the kill draw is `kill_draw(key) < kill_prob` (`jax.random.uniform(key)`)
with the `key` passed to `step`, drawn on every step and used only on enemy cells. It cannot reproduce
MO-Gymnasium's numpy stream; the tests force MO-Gymnasium's draw to this same uniform to
compare step by step, and check the kill frequency statistically.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from morl.envs import spaces
from morl.envs.core import Environment

EMPTY, GOLD, GEM, ENEMY, HOME = 0, 1, 2, 3, 4
MAP = np.array(
    [
        [EMPTY, EMPTY, GOLD, ENEMY, EMPTY],
        [EMPTY, EMPTY, ENEMY, EMPTY, GEM],
        [EMPTY, EMPTY, EMPTY, EMPTY, EMPTY],
        [EMPTY, EMPTY, EMPTY, EMPTY, EMPTY],
        [EMPTY, EMPTY, HOME, EMPTY, EMPTY],
    ],
    dtype=np.int32,
)
START = np.array([4, 2], dtype=np.int32)
_MOVES = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.int32)  # up, down, left, right


@struct.dataclass
class ResourceGatheringState:
    position: jax.Array  # int32 [2] (row, col)
    has_gold: jax.Array  # int32 0/1
    has_gem: jax.Array  # int32 0/1
    time: jax.Array  # int32 steps taken


@struct.dataclass
class ResourceGatheringParams:
    max_steps: jax.Array = struct.field(default_factory=lambda: jnp.int32(100))
    kill_prob: jax.Array = struct.field(default_factory=lambda: jnp.float32(0.1))


def kill_draw(key: jax.Array) -> jax.Array:
    """The step's kill draw, a float32 uniform in [0, 1) (the export's numpy twin draws it too)."""
    return jax.random.uniform(key)


def _non_dominated(points: np.ndarray) -> np.ndarray:
    """Rows of `points [n, m]` no other row weakly dominates (duplicates kept once), sorted."""
    points = np.unique(points, axis=0)
    dominated = [any(np.all(other >= p) and np.any(other > p) for other in points) for p in points]
    return points[~np.array(dominated)]


class ResourceGathering(Environment[ResourceGatheringState, ResourceGatheringParams]):
    """Resource Gathering with MO-Gymnasium's map, dynamics, rewards and time limit; 3 objectives
    `[death, gold, gem]`."""

    @property
    def default_params(self) -> ResourceGatheringParams:
        return ResourceGatheringParams()

    @property
    def reward_dim(self) -> int:
        return 3

    @staticmethod
    def _obs(state: ResourceGatheringState) -> jax.Array:
        return jnp.concatenate([state.position, jnp.stack([state.has_gold, state.has_gem])])

    def reset_env(self, key, params):
        zero = jnp.int32(0)
        state = ResourceGatheringState(jnp.asarray(START), zero, zero, zero)
        return self._obs(state), state

    def step_env(self, key, state, action, params):
        size = MAP.shape[0]
        candidate = state.position + jnp.asarray(_MOVES)[action]
        inside = jnp.all((candidate >= 0) & (candidate < size))
        position = jnp.where(inside, candidate, state.position)
        cell = jnp.asarray(MAP)[position[0], position[1]]
        has_gold = jnp.where(cell == GOLD, 1, state.has_gold)
        has_gem = jnp.where(cell == GEM, 1, state.has_gem)
        killed = (cell == ENEMY) & (kill_draw(key) < params.kill_prob)
        home = cell == HOME
        reward = jnp.stack(
            [
                jnp.where(killed, -1.0, 0.0),
                jnp.where(home, has_gold, 0).astype(jnp.float32),
                jnp.where(home, has_gem, 0).astype(jnp.float32),
            ]
        )
        terminated = killed | home
        time = state.time + 1
        truncated = (time >= params.max_steps) & ~terminated
        next_state = ResourceGatheringState(position, has_gold, has_gem, time)
        return self._obs(next_state), next_state, reward, terminated, truncated, {}

    def observation_space(self, params=None):
        return spaces.Box(0, 5, (4,), jnp.int32)

    def action_space(self, params=None):
        return spaces.Discrete(4)

    def pareto_front(self, gamma: float = 1.0) -> np.ndarray:
        """Expected discounted returns `[n, 3]` of MO-Gymnasium's six candidate policies
        (kill probability 0.1 per enemy visit), non-dominated ones only, rows sorted, with a
        reward on step `t` (0-based) discounted by `gamma**t` as the evaluation does.

        MO-Gymnasium's own `pareto_front(gamma)` discounts a reward received on the `k`-th
        move by `gamma**k`, one factor of `gamma` more than its env's returns (and ours) are
        discounted (measured by rollouts, `tests/envs/test_resource_gathering.py`); it is
        `pareto_front_mo_gymnasium(gamma)`, equal to `gamma * pareto_front(gamma)`.

        What the front is: the non-dominated expected returns of six deterministic paths
        (Barrett & Narayanan's), not a search over all policies. It is incomplete: e.g. the
        path home -> gem -> gold -> home around both enemies (18 moves, no risk) returns
        `[0, gamma**17, gamma**17]`, which no listed point dominates for `gamma` < 1, and at
        `gamma=0.99` it dominates the listed risky tour of both. `pareto_front_exact(gamma)`
        is the front over all deterministic policies."""
        return _non_dominated(_candidate_returns(gamma, first_step=0)) + 0.0  # + 0.0 turns -0.0 into 0.0

    def pareto_front_exact(self, gamma: float = 1.0) -> np.ndarray:
        """The exact front `[n, 3]` of expected discounted returns (reward on step `t` counted
        `gamma**t`) over all deterministic policies, time-dependent ones included, under the
        default 100-step limit and kill probability 0.1; rows sorted. Computed by backward
        induction over (step, position, has_gold, has_gem) keeping non-dominated sets
        (`_exact_front`, about 1 s, cached per gamma).

        At `gamma=0.99` it is `{gem [0, 0, gamma**9], gold [0, gamma**11, 0], the safe tour of
        both [0, gamma**17, gamma**17]}`: the safe tour dominates the risky both-resources point
        of `pareto_front` (MO-Gymnasium's list has a dominated point there)."""
        return _exact_front(float(gamma), _DEFAULT_MAX_STEPS, _DEFAULT_KILL_PROB).copy()

    def pareto_front_mo_gymnasium(self, gamma: float = 1.0) -> np.ndarray:
        """MO-Gymnasium's `pareto_front(gamma)` exactly (rows sorted): the same six candidates
        discounted by `gamma**k` for a reward on move `k` (1-based), i.e. `gamma * pareto_front(gamma)`."""
        return _non_dominated(_candidate_returns(gamma, first_step=1)) + 0.0


def _candidate_returns(gamma: float, first_step: int) -> np.ndarray:
    """Expected discounted returns `[6, 3]` of MO-Gymnasium's six candidate paths, a reward on
    move `k` (1-based) discounted by `gamma**(k - 1 + first_step)`: `first_step=0` is the
    evaluation's convention, 1 MO-Gymnasium's `pareto_front`."""
    death, gold, gem = np.eye(3) * np.array([-1.0, 1.0, 1.0])

    def at(move: int) -> float:
        return gamma ** (move - 1 + first_step)

    return np.array(
        [
            gem * at(10),  # gem only, around the enemies: home on move 10
            # gem, then E2 (move 7), gold, E1 (move 9), home (move 12)
            0.81 * (gold + gem) * at(12) + 0.1 * death * at(7) + 0.09 * death * at(9),
            # gold through E1 both ways (moves 3 and 5), home on move 8
            0.81 * gold * at(8) + 0.1 * death * at(3) + 0.09 * death * at(5),
            # gem, then E2 (move 7), gold, home around E1 (move 14)
            0.9 * (gold + gem) * at(14) + 0.1 * death * at(7),
            gold * at(12),  # gold only, around the enemies: home on move 12
            # gold around the enemies, back through E1 (move 7), home on move 10
            0.9 * gold * at(10) + 0.1 * death * at(7),
        ]
    )


_DEFAULT_MAX_STEPS, _DEFAULT_KILL_PROB = 100, 0.1


@functools.lru_cache(maxsize=16)
def _exact_front(gamma: float, max_steps: int, kill_prob: float) -> np.ndarray:
    """Backward induction: `V_t(s)`, the non-dominated expected returns from state `s` at step
    `t`, discounted to step `t`; `V_max_steps = {0}`. A move onto home ends the episode with
    `[0, gold, gem]`; onto an enemy it pays `kill_prob * [-1, 0, 0]` and continues with
    probability `1 - kill_prob`; elsewhere it pays nothing. Expectations of deterministic
    policies are affine in the continuation, so non-dominated sets compose."""
    from morl.envs.four_room import _non_dominated as non_dominated
    from morl.envs.four_room import _snap

    size = MAP.shape[0]
    states = [(r, c, g, m) for r in range(size) for c in range(size) for g in (0, 1) for m in (0, 1)]
    values = {s: np.zeros((1, 3)) for s in states}
    for _ in range(max_steps):
        new = {}
        for r, c, g, m in states:
            options = []
            for dr, dc in _MOVES:
                rr, cc = (r + dr, c + dc) if 0 <= r + dr < size and 0 <= c + dc < size else (r, c)
                cell = MAP[rr, cc]
                gg, mm = max(g, int(cell == GOLD)), max(m, int(cell == GEM))
                if cell == HOME:
                    options.append(np.array([[0.0, gg, mm]]))
                elif cell == ENEMY:
                    options.append(np.array([-kill_prob, 0.0, 0.0]) + (1 - kill_prob) * gamma * values[(rr, cc, gg, mm)])
                else:
                    options.append(gamma * values[(rr, cc, gg, mm)])
            options = _snap(np.concatenate(options))
            new[(r, c, g, m)] = options[non_dominated(options, np.zeros(len(options)))]
        values = new
    front = values[(int(START[0]), int(START[1]), 0, 0)]
    return front[np.lexsort(front.T[::-1])] + 0.0
