"""Multi-objective continuous Mountain Car, a port of MO-Gymnasium's `mo-mountaincarcontinuous-v0`.

Gymnasium's `MountainCarContinuous-v0` dynamics: the action is a force `[1]` in
`[-1, 1]` (values outside are clipped for the dynamics):

    velocity <- clip(velocity + force * power - 0.0025 * cos(3 * position), +-max_speed)
    position <- clip(position + velocity, min_position, max_position)
    velocity <- 0 if the car hit the left wall while moving left

The goal is `position >= 0.45`. Observation `[position, velocity]` float32; reset draws
the position uniformly in `[-0.6, -0.4]` with zero velocity. Time limit 999 steps, as
MO-Gymnasium registers it.

Reward `[2]` float32, both maximised: time (-1 per step, 0 on the step that reaches the
goal) and fuel `-action**2` (of the action as given, before clipping, as MO-Gymnasium).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from morl.envs import spaces
from morl.envs.core import Environment


@struct.dataclass
class ContinuousMountainCarState:
    position: jax.Array  # float32
    velocity: jax.Array  # float32
    time: jax.Array  # int32 steps taken


@struct.dataclass
class ContinuousMountainCarParams:
    """Gymnasium's constants (as arrays, so copies can be vmapped over variations)."""

    min_action: jax.Array = struct.field(default_factory=lambda: jnp.float32(-1.0))
    max_action: jax.Array = struct.field(default_factory=lambda: jnp.float32(1.0))
    min_position: jax.Array = struct.field(default_factory=lambda: jnp.float32(-1.2))
    max_position: jax.Array = struct.field(default_factory=lambda: jnp.float32(0.6))
    max_speed: jax.Array = struct.field(default_factory=lambda: jnp.float32(0.07))
    goal_position: jax.Array = struct.field(default_factory=lambda: jnp.float32(0.45))
    goal_velocity: jax.Array = struct.field(default_factory=lambda: jnp.float32(0.0))
    power: jax.Array = struct.field(default_factory=lambda: jnp.float32(0.0015))
    max_steps: jax.Array = struct.field(default_factory=lambda: jnp.int32(999))


class MOContinuousMountainCar(Environment[ContinuousMountainCarState, ContinuousMountainCarParams]):
    """Continuous Mountain Car with MO-Gymnasium's `[time, fuel]` reward and time limit."""

    def __init__(self, goal_velocity: float = 0.0):
        self.goal_velocity = float(goal_velocity)

    @property
    def default_params(self) -> ContinuousMountainCarParams:
        return ContinuousMountainCarParams(goal_velocity=jnp.float32(self.goal_velocity))

    @property
    def reward_dim(self) -> int:
        return 2

    def reset_env(self, key, params):
        position = jax.random.uniform(key, (), jnp.float32, -0.6, -0.4)
        state = ContinuousMountainCarState(position, jnp.float32(0.0), jnp.int32(0))
        return jnp.stack([state.position, state.velocity]), state

    def step_env(self, key, state, action, params):
        force = jnp.clip(action[0], params.min_action, params.max_action)
        velocity = state.velocity + (force * params.power - 0.0025 * jnp.cos(3.0 * state.position))
        velocity = jnp.clip(velocity, -params.max_speed, params.max_speed)
        position = jnp.clip(state.position + velocity, params.min_position, params.max_position)
        velocity = jnp.where((position == params.min_position) & (velocity < 0), 0.0, velocity)
        terminated = (position >= params.goal_position) & (velocity >= params.goal_velocity)
        reward = jnp.stack([jnp.where(terminated, 0.0, -1.0), -jnp.square(action[0])]).astype(jnp.float32)
        time = state.time + 1
        truncated = (time >= params.max_steps) & ~terminated
        next_state = ContinuousMountainCarState(position, velocity, time)
        return jnp.stack([position, velocity]), next_state, reward, terminated, truncated, {}

    def observation_space(self, params=None):
        """Gymnasium's bounds (static: spaces never depend on traced params)."""
        return spaces.Box(np.array([-1.2, -0.07], np.float32), np.array([0.6, 0.07], np.float32), (2,), jnp.float32)

    def action_space(self, params=None):
        return spaces.Box(-1.0, 1.0, (1,), jnp.float32)
