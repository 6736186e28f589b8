"""Multi-objective Mountain Car, a port of MO-Gymnasium's `mo-mountaincar-v0` family.

Gymnasium's `MountainCar-v0` dynamics (Moore 1990): an underpowered car in a valley
pushes left / nothing / right (actions 0, 1, 2) and must reach `position >= 0.5`:

    velocity <- clip(velocity + (action - 1) * force - gravity * cos(3 * position), +-max_speed)
    position <- clip(position + velocity, min_position, max_position)
    velocity <- 0 if the car hit the left wall while moving left

Observation `[position, velocity]` float32. Reset draws the position uniformly in
`[-0.6, -0.4]` with zero velocity. Time limit 200 steps, as MO-Gymnasium registers it.

Reward (float32, every entry maximised), chosen with MO-Gymnasium's keyword arguments:
- default (`[3]`): time penalty (-1 per step, 0 on the step that reaches the goal),
  reverse penalty (-1 when action 0), forward penalty (-1 when action 2);
- `merge_move_penalty=True` (`[2]`): time, and -1 for any push (action 0 or 2);
- `remove_move_penalty=True`: time only, unless `add_speed_objective`;
- `add_speed_objective=True` appends `15 * |velocity|` (speed after the step).

Registered variants: `mo-mountaincar-3d-v0` (speed + merged push), `-timemove-v0`
(merged push), `-timespeed-v0` (time + speed).

Gymnasium computes the dynamics in float64; this port computes them in float32, so
trajectories agree to about 1e-6 per step (see docs/environments.md).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from morl.envs import spaces
from morl.envs.core import Environment


@struct.dataclass
class MountainCarState:
    position: jax.Array  # float32
    velocity: jax.Array  # float32
    time: jax.Array  # int32 steps taken


@struct.dataclass
class MountainCarParams:
    """Gymnasium's constants (as arrays, so copies can be vmapped over variations)."""

    min_position: jax.Array = struct.field(default_factory=lambda: jnp.float32(-1.2))
    max_position: jax.Array = struct.field(default_factory=lambda: jnp.float32(0.6))
    max_speed: jax.Array = struct.field(default_factory=lambda: jnp.float32(0.07))
    goal_position: jax.Array = struct.field(default_factory=lambda: jnp.float32(0.5))
    goal_velocity: jax.Array = struct.field(default_factory=lambda: jnp.float32(0.0))
    force: jax.Array = struct.field(default_factory=lambda: jnp.float32(0.001))
    gravity: jax.Array = struct.field(default_factory=lambda: jnp.float32(0.0025))
    max_steps: jax.Array = struct.field(default_factory=lambda: jnp.int32(200))


class MOMountainCar(Environment[MountainCarState, MountainCarParams]):
    """Mountain Car with MO-Gymnasium's vector rewards, dynamics and time limit."""

    def __init__(
        self,
        add_speed_objective: bool = False,
        remove_move_penalty: bool = False,
        merge_move_penalty: bool = False,
        goal_velocity: float = 0.0,
    ):
        self.add_speed_objective = bool(add_speed_objective)
        self.remove_move_penalty = bool(remove_move_penalty)
        self.merge_move_penalty = bool(merge_move_penalty)
        self.goal_velocity = float(goal_velocity)

    @property
    def default_params(self) -> MountainCarParams:
        return MountainCarParams(goal_velocity=jnp.float32(self.goal_velocity))

    @property
    def reward_dim(self) -> int:
        moves = 0 if self.remove_move_penalty else (1 if self.merge_move_penalty else 2)
        return 1 + moves + int(self.add_speed_objective)

    def reset_env(self, key, params):
        position = jax.random.uniform(key, (), jnp.float32, -0.6, -0.4)
        state = MountainCarState(position, jnp.float32(0.0), jnp.int32(0))
        return jnp.stack([state.position, state.velocity]), state

    def step_env(self, key, state, action, params):
        velocity = state.velocity + (action - 1).astype(jnp.float32) * params.force
        velocity = velocity + jnp.cos(3.0 * state.position) * (-params.gravity)
        velocity = jnp.clip(velocity, -params.max_speed, params.max_speed)
        position = jnp.clip(state.position + velocity, params.min_position, params.max_position)
        velocity = jnp.where((position == params.min_position) & (velocity < 0), 0.0, velocity)
        terminated = (position >= params.goal_position) & (velocity >= params.goal_velocity)

        rewards = [jnp.where(terminated, 0.0, -1.0)]
        if not self.remove_move_penalty:
            if self.merge_move_penalty:
                rewards.append(jnp.where(action == 1, 0.0, -1.0))
            else:
                rewards.append(jnp.where(action == 0, -1.0, 0.0))
                rewards.append(jnp.where(action == 2, -1.0, 0.0))
        if self.add_speed_objective:
            rewards.append(15.0 * jnp.abs(velocity))
        reward = jnp.stack(rewards).astype(jnp.float32)

        time = state.time + 1
        truncated = (time >= params.max_steps) & ~terminated
        next_state = MountainCarState(position, velocity, time)
        return jnp.stack([position, velocity]), next_state, reward, terminated, truncated, {}

    def observation_space(self, params=None):
        """Gymnasium's bounds (static: spaces never depend on traced params)."""
        return spaces.Box(np.array([-1.2, -0.07], np.float32), np.array([0.6, 0.07], np.float32), (2,), jnp.float32)

    def action_space(self, params=None):
        return spaces.Discrete(3)
