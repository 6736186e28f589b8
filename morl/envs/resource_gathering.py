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

Randomness: the kill draw is `jax.random.uniform(key) < kill_prob` with the `key` passed
to `step`, drawn on every step and used only on enemy cells. It cannot reproduce
MO-Gymnasium's numpy stream; the tests force MO-Gymnasium's draw to this same uniform to
compare step by step, and check the kill frequency statistically.
"""

from __future__ import annotations

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
        killed = (cell == ENEMY) & (jax.random.uniform(key) < params.kill_prob)
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
        (kill probability 0.1 per enemy visit), non-dominated ones only, rows sorted."""
        death, gold, gem = np.eye(3) * np.array([-1.0, 1.0, 1.0])
        candidates = [
            gem * gamma**10,  # gem only, around the enemies
            0.81 * (gold + gem) * gamma**12 + 0.1 * death * gamma**7 + 0.09 * death * gamma**9,
            0.81 * gold * gamma**8 + 0.1 * death * gamma**3 + 0.09 * death * gamma**5,
            0.9 * (gold + gem) * gamma**14 + 0.1 * death * gamma**7,
            gold * gamma**12,  # gold only, around the enemies
            0.9 * gold * gamma**10 + 0.1 * death * gamma**7,
        ]
        return _non_dominated(np.array(candidates)) + 0.0  # + 0.0 turns -0.0 into 0.0
