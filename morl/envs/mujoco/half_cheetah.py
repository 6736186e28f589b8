"""mo-halfcheetah-v5: gymnasium's HalfCheetah-v5 with MO-Gymnasium's 2-objective reward.

Model `half_cheetah.xml`, `frame_skip=5` (`dt = 0.05`). Observation float32 `[17]`:
`qpos[1:]` then `qvel`. Action float32 `[6]` in `[-1, 1]`. Reset noise: `qpos += U(-0.1, 0.1)`,
`qvel += 0.1 N(0, 1)`. Never terminates; time limit 1000.

Reward `[x_velocity, -sum(action**2)]` (run forward, control cost); gymnasium's scalar
reward is the weighting `(1, 0.1)`.
"""

from __future__ import annotations

import jax.numpy as jnp

from morl.envs.mujoco.base import MujocoEnv, control_cost, x_velocity


class MOHalfCheetah(MujocoEnv):
    """HalfCheetah-v5 on MJX with reward `[forward velocity, -control cost]`."""

    xml_file = "half_cheetah.xml"
    frame_skip = 5
    reset_noise_scale = 0.1
    qvel_noise = "normal"

    @property
    def reward_dim(self) -> int:
        return 2

    def _obs(self, data):
        return jnp.concatenate([data.qpos[1:], data.qvel])

    def _reward(self, before, after, action):
        return jnp.stack([x_velocity(before, after, self.dt), -control_cost(action)])
