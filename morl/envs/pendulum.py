"""Multi-objective Pendulum: gymnasium's `Pendulum-v1` with its cost split into objectives.

Not an MO-Gymnasium environment; a small continuous-control task for the off-policy
learners. The dynamics are gymnasium's (`classic_control/pendulum.py`):

    u        = clip(action[0], -max_torque, max_torque)
    thdot'   = clip(thdot + (3 g / (2 l) sin(th) + 3 / (m l^2) u) dt, -max_speed, max_speed)
    th'      = th + thdot' dt

Observation `[cos th, sin th, thdot]` float32 `[3]`; action float32 `[1]` in `[-2, 2]`.
Reset draws `th ~ U[-pi, pi]`, `thdot ~ U[-1, 1]`. Time limit 200 steps (gymnasium's
registration); the MDP never terminates.

Reward float32 `[2]`, both maximised, computed from the state *before* the step:
`[-(angle_normalize(th)^2 + 0.1 thdot^2), -0.001 u^2]` (swing-up error, torque cost).
Their sum is gymnasium's reward, so equal weights `(0.5, 0.5)` give gymnasium's reward
divided by 2.

Gymnasium computes in float64; this port in float32, so one step agrees to about 1e-6
(tests/envs/test_pendulum.py).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from morl.envs import spaces
from morl.envs.core import Environment


@struct.dataclass
class PendulumState:
    theta: jax.Array  # float32 angle, 0 = upright
    theta_dot: jax.Array  # float32 angular velocity
    time: jax.Array  # int32 steps taken


@struct.dataclass
class PendulumParams:
    """Gymnasium's constants, as arrays so copies can be vmapped over variations."""

    max_speed: jax.Array = struct.field(default_factory=lambda: jnp.float32(8.0))
    max_torque: jax.Array = struct.field(default_factory=lambda: jnp.float32(2.0))
    dt: jax.Array = struct.field(default_factory=lambda: jnp.float32(0.05))
    g: jax.Array = struct.field(default_factory=lambda: jnp.float32(10.0))
    m: jax.Array = struct.field(default_factory=lambda: jnp.float32(1.0))
    l: jax.Array = struct.field(default_factory=lambda: jnp.float32(1.0))  # noqa: E741
    max_steps: jax.Array = struct.field(default_factory=lambda: jnp.int32(200))


def angle_normalize(x: jax.Array) -> jax.Array:
    """Wrap an angle into `[-pi, pi)` (gymnasium's `angle_normalize`)."""
    return ((x + jnp.pi) % (2 * jnp.pi)) - jnp.pi


class MOPendulum(Environment[PendulumState, PendulumParams]):
    """Pendulum-v1 with a 2-objective reward `[swing-up error, torque cost]` (both <= 0)."""

    def __init__(self, g: float = 10.0):
        self.g = float(g)

    @property
    def default_params(self) -> PendulumParams:
        return PendulumParams(g=jnp.float32(self.g))

    @property
    def reward_dim(self) -> int:
        return 2

    def reset_env(self, key, params):
        high = jnp.array([jnp.pi, 1.0], jnp.float32)
        theta, theta_dot = jax.random.uniform(key, (2,), jnp.float32, -high, high)
        state = PendulumState(theta, theta_dot, jnp.int32(0))
        return self._obs(state), state

    def step_env(self, key, state, action, params):
        th, thdot = state.theta, state.theta_dot
        u = jnp.clip(action[0], -params.max_torque, params.max_torque)
        reward = jnp.stack([-(angle_normalize(th) ** 2 + 0.1 * thdot**2), -0.001 * u**2])
        accel = 3.0 * params.g / (2.0 * params.l) * jnp.sin(th) + 3.0 / (params.m * params.l**2) * u
        new_thdot = jnp.clip(thdot + accel * params.dt, -params.max_speed, params.max_speed)
        new_th = th + new_thdot * params.dt
        time = state.time + 1
        next_state = PendulumState(new_th, new_thdot, time)
        truncated = time >= params.max_steps
        return self._obs(next_state), next_state, reward, jnp.bool_(False), truncated, {}

    @staticmethod
    def _obs(state: PendulumState) -> jax.Array:
        return jnp.stack([jnp.cos(state.theta), jnp.sin(state.theta), state.theta_dot]).astype(jnp.float32)

    def observation_space(self, params=None):
        high = np.array([1.0, 1.0, 8.0], np.float32)
        return spaces.Box(-high, high, (3,), jnp.float32)

    def action_space(self, params=None):
        return spaces.Box(np.full((1,), -2.0, np.float32), np.full((1,), 2.0, np.float32), (1,), jnp.float32)
