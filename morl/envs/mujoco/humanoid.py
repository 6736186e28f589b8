"""mo-humanoid-v5: gymnasium's Humanoid-v5 with MO-Gymnasium's 2-objective reward.

Model `humanoid.xml`, `frame_skip=5` (`dt = 0.015`), with one change: the XML asks for
MuJoCo's PGS constraint solver, which MJX does not implement, so this port solves with
Newton (`solver="newton"`; "cg" is the other choice). docs/mujoco.md gives what that
changes, measured against MuJoCo C with PGS and with Newton.

Observation float32 `[348]`: `qpos[2:]`, `qvel`, `cinert[1:]`, `cvel[1:]`,
`qfrc_actuator[6:]`, `cfrc_ext[1:]` (flattened). Action float32 `[17]` in `[-0.4, 0.4]`.
Reset noise `U(-0.01, 0.01)` on `qpos` and `qvel`. Healthy while `1 < z < 2`; terminates
when unhealthy; time limit 1000.

Velocity is of the centre of mass (`xipos` weighted by body mass). With `h = 5` while
healthy (else 0) and the contact cost `c = min(5e-7 sum(cfrc_ext**2), 10)`, the reward is
`[x_velocity, -sum(action**2)] + h - c`.
"""

from __future__ import annotations

import jax.numpy as jnp

from morl.envs.mujoco.base import MujocoEnv, control_cost


class MOHumanoid(MujocoEnv):
    """Humanoid-v5 on MJX (Newton solver) with reward `[forward velocity, -control cost]` (+ healthy - contact cost)."""

    xml_file = "humanoid.xml"
    frame_skip = 5
    reset_noise_scale = 1e-2
    healthy_reward = 5.0
    contact_cost_weight = 5e-7
    contact_cost_max = 10.0

    def __init__(self, solver: str = "newton", **kwargs):
        if solver not in ("newton", "cg"):
            raise ValueError(f"mo-humanoid: solver '{solver}' is not one MJX implements, expected 'newton' or 'cg'")
        self.solver = solver
        super().__init__(**kwargs)

    @property
    def reward_dim(self) -> int:
        return 2

    def _mass_center_xy(self, data):
        mass = jnp.asarray(self.mj_model.body_mass, data.xipos.dtype)
        return (mass @ data.xipos / mass.sum())[:2]

    def _obs(self, data):
        impl = data._impl
        return jnp.concatenate(
            [
                data.qpos[2:],
                data.qvel,
                impl.cinert[1:].ravel(),
                data.cvel[1:].ravel(),
                data.qfrc_actuator[6:],
                impl.cfrc_ext[1:].ravel(),
            ]
        )

    def _healthy(self, data):
        return (data.qpos[2] > 1.0) & (data.qpos[2] < 2.0)

    def _reward(self, before, after, action):
        x_velocity = (self._mass_center_xy(after)[0] - self._mass_center_xy(before)[0]) / self.dt
        healthy = self.healthy_reward * self._healthy(after).astype(jnp.float32)
        contact_cost = self.contact_cost_weight * jnp.sum(jnp.square(after._impl.cfrc_ext))
        contact_cost = jnp.minimum(contact_cost, self.contact_cost_max)
        return jnp.stack([x_velocity, -control_cost(action)]) + healthy - contact_cost
