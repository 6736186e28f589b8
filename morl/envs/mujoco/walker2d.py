"""mo-walker2d-v5: gymnasium's Walker2d-v5 with MO-Gymnasium's 2-objective reward.

Model `walker2d_v5.xml`, `frame_skip=4` (`dt = 0.008`). Observation float32 `[17]`:
`qpos[1:]` then `clip(qvel, -10, 10)`. Action float32 `[6]` in `[-1, 1]`. Reset noise
`U(-5e-3, 5e-3)` on `qpos` and `qvel`. Healthy while `0.8 < z < 2` and `|angle| < 1`;
terminates when unhealthy; time limit 1000.

Reward `[x_velocity, -sum(action**2)] + h`, `h = 1` while healthy (else 0).
"""

from __future__ import annotations

import jax.numpy as jnp

from morl.envs.mujoco.base import MujocoEnv, control_cost, x_velocity


class MOWalker2d(MujocoEnv):
    """Walker2d-v5 on MJX with reward `[forward velocity, -control cost]` (+ healthy)."""

    xml_file = "walker2d_v5.xml"
    frame_skip = 4
    reset_noise_scale = 5e-3

    @property
    def reward_dim(self) -> int:
        return 2

    def _obs(self, data):
        return jnp.concatenate([data.qpos[1:], jnp.clip(data.qvel, -10.0, 10.0)])

    def _healthy(self, data):
        z, angle = data.qpos[1], data.qpos[2]
        return (z > 0.8) & (z < 2.0) & (angle > -1.0) & (angle < 1.0)

    def _reward(self, before, after, action):
        healthy = self._healthy(after).astype(jnp.float32)
        return jnp.stack([x_velocity(before, after, self.dt), -control_cost(action)]) + healthy
