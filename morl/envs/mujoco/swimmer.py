"""mo-swimmer-v5: gymnasium's Swimmer-v5 with MO-Gymnasium's 2-objective reward.

Model `swimmer.xml`, `frame_skip=4` (`dt = 0.04`). Observation float32 `[8]`: `qpos[2:]`
then `qvel`. Action float32 `[2]` in `[-1, 1]`. Reset noise `U(-0.1, 0.1)` on `qpos` and
`qvel`. Never terminates; time limit 1000.

Reward `[x_velocity, -sum(action**2)]`.
"""

from __future__ import annotations

import jax.numpy as jnp

from morl.envs.mujoco.base import MujocoEnv, control_cost, x_velocity


class MOSwimmer(MujocoEnv):
    """Swimmer-v5 on MJX with reward `[forward velocity, -control cost]`."""

    xml_file = "swimmer.xml"
    frame_skip = 4
    reset_noise_scale = 0.1

    @property
    def reward_dim(self) -> int:
        return 2

    def _obs(self, data):
        return jnp.concatenate([data.qpos[2:], data.qvel])

    def _reward(self, before, after, action):
        return jnp.stack([x_velocity(before, after, self.dt), -control_cost(action)])
