"""mo-ant-v5 / mo-ant-2obj-v5: gymnasium's Ant-v5 with MO-Gymnasium's reward vectors.

Model `ant.xml`, `frame_skip=5` (`dt = 0.05`). Observation float32 `[105]`: `qpos[2:]`,
`qvel`, then `clip(cfrc_ext[1:], -1, 1)` flattened (contact forces of the 13 bodies).
Action float32 `[8]` in `[-1, 1]`. Reset noise: `qpos += U(-0.1, 0.1)`, `qvel += 0.1 N(0, 1)`.
Healthy while the state is finite and `0.2 <= z <= 1` (inclusive); terminates when
unhealthy; time limit 1000.

Velocities are of the torso's `xpos` (body 1). With `h = 1` while healthy (else 0) and the
contact cost `c = 5e-4 sum(clip(cfrc_ext, -1, 1)**2)`, the reward is
- 3 objectives: `[x_velocity, y_velocity, -sum(action**2)] + h - c`;
- 2 objectives (`cost_objective=False`): `[x_velocity, y_velocity] - 0.5 sum(action**2) + h - c`.
"""

from __future__ import annotations

import jax.numpy as jnp

from morl.envs.mujoco.base import MujocoEnv, control_cost


class MOAnt(MujocoEnv):
    """Ant-v5 on MJX with reward `[x velocity, y velocity, -control cost]` (+ healthy - contact cost)."""

    xml_file = "ant.xml"
    frame_skip = 5
    reset_noise_scale = 0.1
    qvel_noise = "normal"
    ctrl_cost_weight = 0.5
    contact_cost_weight = 5e-4
    main_body = 1

    def __init__(self, cost_objective: bool = True, **kwargs):
        self.cost_objective = cost_objective
        super().__init__(**kwargs)

    @property
    def reward_dim(self) -> int:
        return 3 if self.cost_objective else 2

    def _contact_forces(self, data):
        return jnp.clip(data._impl.cfrc_ext, -1.0, 1.0)

    def _obs(self, data):
        return jnp.concatenate([data.qpos[2:], data.qvel, self._contact_forces(data)[1:].ravel()])

    def _healthy(self, data):
        state = jnp.concatenate([data.qpos, data.qvel])
        z = data.qpos[2]
        return jnp.all(jnp.isfinite(state)) & (z >= 0.2) & (z <= 1.0)

    def _reward(self, before, after, action):
        xy_velocity = (after.xpos[self.main_body, :2] - before.xpos[self.main_body, :2]) / self.dt
        healthy = self._healthy(after).astype(jnp.float32)
        contact_cost = self.contact_cost_weight * jnp.sum(jnp.square(self._contact_forces(after)))
        if self.cost_objective:
            reward = jnp.concatenate([xy_velocity, -control_cost(action)[None]])
        else:
            reward = xy_velocity - self.ctrl_cost_weight * control_cost(action)
        return reward + healthy - contact_cost
