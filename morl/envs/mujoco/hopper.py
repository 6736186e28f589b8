"""mo-hopper-v5 / mo-hopper-2obj-v5: gymnasium's Hopper-v5 with MO-Gymnasium's reward vectors.

Model `hopper.xml`, `frame_skip=4` (`dt = 0.008`). Observation float32 `[11]`: `qpos[1:]`
then `clip(qvel, -10, 10)`. Action float32 `[3]` in `[-1, 1]`. Reset noise `U(-5e-3, 5e-3)`
on `qpos` and `qvel`. Healthy while `0.7 < z`, `|angle| < 0.2` and every entry of
`(qpos, qvel)[2:]` is in `(-100, 100)`; terminates when unhealthy; time limit 1000.

Reward, with `h = 1` while healthy (else 0):
- 3 objectives: `[x_velocity, 10 (z - z_init), -sum(action**2)] + h`;
- 2 objectives (`cost_objective=False`): `[x_velocity, 10 (z - z_init)] - 1e-3 sum(action**2) + h`.
"""

from __future__ import annotations

import jax.numpy as jnp

from morl.envs.mujoco.base import MujocoEnv, control_cost, x_velocity


class MOHopper(MujocoEnv):
    """Hopper-v5 on MJX with reward `[forward velocity, jump height, -control cost]` (+ healthy)."""

    xml_file = "hopper.xml"
    frame_skip = 4
    reset_noise_scale = 5e-3
    ctrl_cost_weight = 1e-3

    def __init__(self, cost_objective: bool = True, **kwargs):
        self.cost_objective = cost_objective
        super().__init__(**kwargs)

    @property
    def reward_dim(self) -> int:
        return 3 if self.cost_objective else 2

    def _obs(self, data):
        return jnp.concatenate([data.qpos[1:], jnp.clip(data.qvel, -10.0, 10.0)])

    def _healthy(self, data):
        z, angle = data.qpos[1], data.qpos[2]
        state = jnp.concatenate([data.qpos, data.qvel])[2:]
        return jnp.all((state > -100.0) & (state < 100.0)) & (z > 0.7) & (jnp.abs(angle) < 0.2)

    def _reward(self, before, after, action):
        height = 10.0 * (after.qpos[1] - self.init_qpos[1])
        healthy = self._healthy(after).astype(jnp.float32)
        if self.cost_objective:
            reward = jnp.stack([x_velocity(before, after, self.dt), height, -control_cost(action)])
        else:
            cost = self.ctrl_cost_weight * control_cost(action)
            reward = jnp.stack([x_velocity(before, after, self.dt), height]) - cost
        return reward + healthy
