"""Shared MuJoCo XLA (mujoco-mjx) machinery for the MO-MuJoCo locomotion ports.

A `MujocoEnv` loads one of gymnasium's MuJoCo models (the XML files gymnasium ships),
steps it `frame_skip` physics steps per env step with `mjx.step`, then runs
`mjx.rne_postconstraint` (as gymnasium's `MujocoEnv._step_mujoco_simulation` runs
`mj_rnePostConstraint`, so `cfrc_ext` holds contact forces). Subclasses define the
observation, the reward vector and the healthy rule of one task.

Conventions (gymnasium v5's `MujocoEnv`):
- `dt = model.opt.timestep * frame_skip`; velocities in rewards are position differences
  over one env step divided by `dt`.
- reset: `qpos = init_qpos + U(-s, s)`; `qvel = init_qvel + U(-s, s)` or
  `init_qvel + s * N(0, 1)` (per task), then the kinematics (see `MujocoEnv.state_from`).
- the action is written to `ctrl` unclipped (the physics clamps it to `ctrlrange`, the
  control cost uses the raw action).
- `terminated` = not healthy (tasks with a healthy rule); `truncated` at
  `params.max_steps` (default 1000, MO-Gymnasium's registration; the constructor's
  `max_steps` changes the default, e.g. 500 for C-MORL's setting) unless terminated.

Arithmetic is float32 (JAX's default); gymnasium's is float64. The physics state is the
whole `mjx.Data` (including the solver warm start `qacc_warmstart`, as in MuJoCo C).

Plane-capsule contact frames are built as MuJoCo C builds them (see
`plane_capsule_frames_as_mujoco_c`): mujoco-mjx 3.17 picks a different tangent basis for
steep capsules, which rotates the pyramidal friction cone and changes the physics.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from flax import struct
from mujoco import mjx
from mujoco.mjx._src import collision_driver

from morl.envs import spaces
from morl.envs.core import Environment

_SOLVERS = {"cg": mujoco.mjtSolver.mjSOL_CG, "newton": mujoco.mjtSolver.mjSOL_NEWTON}
_MJX_COLLISION = collision_driver.collision


def plane_capsule_frames_as_mujoco_c(m: mjx.Model, d: mjx.Data) -> mjx.Data:
    """`mjx.collision(m, d)`, then every plane-capsule contact frame rebuilt as MuJoCo C does.

    A contact frame is `[normal, t1, t2]` (rows); pyramidal friction cones have their edges
    along `normal +- mu t1` and `normal +- mu t2`, so the tangent basis is part of the physics.
    MuJoCo C (`mjc_PlaneCapsule`, then `mju_makeFrame`) takes `t1` = the capsule axis
    projected onto the plane, normalised, whatever its tilt. mujoco-mjx 3.17
    (`collision_primitive.plane_capsule`) takes the same vector only while the projection is
    at least 0.5 long (the capsule within 60 degrees of the plane) and `t1` = world y (or z)
    for steeper capsules: a rotated friction pyramid, so different contact forces. Ant's
    ankles touch the floor that steeply. `t2 = normal x t1` in both.
    """
    d = _MJX_COLLISION(m, d)
    contact = d._impl.contact
    geom_type = jnp.asarray(m.geom_type)
    plane, capsule = contact.geom[:, 0], contact.geom[:, 1]
    is_plane_capsule = (geom_type[plane] == int(mujoco.mjtGeom.mjGEOM_PLANE)) & (
        geom_type[capsule] == int(mujoco.mjtGeom.mjGEOM_CAPSULE)
    )
    normal = contact.frame[:, 0]
    axis = d.geom_xmat[capsule][:, :, 2]
    tangent = axis - normal * jnp.sum(normal * axis, axis=-1, keepdims=True)
    length = jnp.linalg.norm(tangent, axis=-1, keepdims=True)
    # mju_normalize3 of a (numerically) zero vector gives the x axis
    unit = tangent / jnp.maximum(length, mujoco.mjMINVAL)
    tangent = jnp.where(length < mujoco.mjMINVAL, jnp.array([1.0, 0.0, 0.0]), unit)
    frame = jnp.stack([normal, tangent, jnp.cross(normal, tangent)], axis=1).astype(contact.frame.dtype)
    frame = jnp.where(is_plane_capsule[:, None, None], frame, contact.frame)
    return d.tree_replace({"_impl.contact": contact.replace(frame=frame)})


@contextlib.contextmanager
def mujoco_c_contact_frames() -> Iterator[None]:
    """While open, MJX code traced here (e.g. `mjx.step`) collides with
    `plane_capsule_frames_as_mujoco_c`.

    mujoco-mjx has no hook for its collision functions: `mjx.forward` looks up
    `collision_driver.collision` each time it is traced, so the substitute is installed for
    the duration of the trace only (the compiled program keeps it; other MJX code traced
    outside the block, before or after, is unaffected). Not thread-safe: do not trace other
    MJX code from another thread meanwhile.
    """
    previous, collision_driver.collision = collision_driver.collision, plane_capsule_frames_as_mujoco_c
    try:
        yield
    finally:
        collision_driver.collision = previous


def gymnasium_model(xml_file: str) -> mujoco.MjModel:
    """The MuJoCo model of `xml_file` (a name in gymnasium's `envs/mujoco/assets`, or a path)."""
    if not os.path.isabs(xml_file):
        import gymnasium

        assets = os.path.join(os.path.dirname(gymnasium.__file__), "envs", "mujoco", "assets")
        xml_file = os.path.join(assets, xml_file)
    if not os.path.exists(xml_file):
        raise FileNotFoundError(f"MuJoCo model file '{xml_file}' does not exist")
    return mujoco.MjModel.from_xml_path(xml_file)


@struct.dataclass
class MujocoState:
    data: mjx.Data  # the full physics state
    time: jax.Array  # int32 env steps taken


@struct.dataclass
class MujocoParams:
    max_steps: jax.Array = struct.field(default_factory=lambda: jnp.int32(1000))


class MujocoEnv(Environment[MujocoState, MujocoParams]):
    """Base of the locomotion ports: physics, resets and time limit; tasks add the rest.

    Subclasses set `xml_file`, `frame_skip`, `reset_noise_scale`, `qvel_noise`
    ("uniform" or "normal") and implement `_obs(data)`, `_reward(before, after, action)`,
    `reward_dim`, and optionally `_healthy(data)`.
    """

    xml_file: str
    frame_skip: int
    reset_noise_scale: float
    qvel_noise: str = "uniform"
    #: Solver override for models MJX cannot run as written ("cg" or "newton"); None keeps the XML's.
    solver: str | None = None

    def __init__(self, terminate_when_unhealthy: bool = True, max_steps: int = 1000) -> None:
        if int(max_steps) < 1:
            raise ValueError(f"{type(self).__name__}: max_steps={max_steps!r} must be a positive int")
        self.terminate_when_unhealthy = terminate_when_unhealthy
        self.max_steps = int(max_steps)
        self.mj_model = gymnasium_model(self.xml_file)
        if self.solver is not None:
            self.mj_model.opt.solver = _SOLVERS[self.solver]
        self.mjx_model = mjx.put_model(self.mj_model)
        mj_data = mujoco.MjData(self.mj_model)
        self.init_qpos = mj_data.qpos.copy()
        self.init_qvel = mj_data.qvel.copy()
        self.dt = float(self.mj_model.opt.timestep) * self.frame_skip
        self._obs_dim = int(jax.eval_shape(lambda: self._obs(mjx.make_data(self.mjx_model))).shape[0])

    # --- to implement per task -----------------------------------------------------
    def _obs(self, data: mjx.Data) -> jax.Array:
        raise NotImplementedError

    def _reward(self, before: mjx.Data, after: mjx.Data, action: jax.Array) -> jax.Array:
        raise NotImplementedError

    def _healthy(self, data: mjx.Data) -> jax.Array:
        return jnp.bool_(True)

    # --- physics -----------------------------------------------------------------------
    def state_from(self, qpos: Any, qvel: Any) -> MujocoState:
        """The state with joint positions `qpos [nq]` and velocities `qvel [nv]`, time 0,
        zero controls and a zero solver warm start (gymnasium's `set_state` after
        `mj_resetData`).

        Only the kinematic fields the tasks read (body poses, com inertias and velocities)
        are computed, not a full `mj_forward`: `mjx.step` recomputes every derived field
        from `qpos`/`qvel` first, so the next step is the same, and the much smaller
        program compiles in seconds on a CPU.
        """
        data = mjx.make_data(self.mjx_model)
        qpos = jnp.asarray(qpos, data.qpos.dtype)
        data = data.replace(qpos=qpos, qvel=jnp.asarray(qvel, data.qvel.dtype))
        data = mjx.com_vel(self.mjx_model, mjx.com_pos(self.mjx_model, mjx.kinematics(self.mjx_model, data)))
        # mjx.kinematics writes normalised free-joint quaternions back into qpos; MuJoCo C
        # normalises a copy and keeps qpos as set (the reset observation shows it). The next
        # step normalises either way, as both engines do.
        return MujocoState(data.replace(qpos=qpos), jnp.int32(0))

    def _simulate(self, data: mjx.Data, action: jax.Array) -> mjx.Data:
        data = data.replace(ctrl=action.astype(data.ctrl.dtype))
        with mujoco_c_contact_frames():
            data = jax.lax.fori_loop(0, self.frame_skip, lambda _, d: mjx.step(self.mjx_model, d), data)
        return mjx.rne_postconstraint(self.mjx_model, data)

    def observation(self, state: MujocoState) -> jax.Array:
        """The float32 observation of `state`."""
        return self._obs(state.data).astype(jnp.float32)

    # --- Environment API -------------------------------------------------------------------
    @property
    def default_params(self) -> MujocoParams:
        return MujocoParams(max_steps=jnp.int32(self.max_steps))

    def reset_env(self, key, params):
        key_pos, key_vel = jax.random.split(key)
        s = self.reset_noise_scale
        qpos = jnp.asarray(self.init_qpos) + jax.random.uniform(key_pos, self.init_qpos.shape, minval=-s, maxval=s)
        if self.qvel_noise == "normal":
            qvel_noise = s * jax.random.normal(key_vel, self.init_qvel.shape)
        else:
            qvel_noise = jax.random.uniform(key_vel, self.init_qvel.shape, minval=-s, maxval=s)
        state = self.state_from(qpos, jnp.asarray(self.init_qvel) + qvel_noise)
        return self.observation(state), state

    def step_env(self, key, state, action, params):
        data = self._simulate(state.data, action)
        reward = self._reward(state.data, data, action)
        terminated = ~self._healthy(data) & self.terminate_when_unhealthy
        time = state.time + 1
        truncated = (time >= params.max_steps) & ~terminated
        state = MujocoState(data, time)
        return self.observation(state), state, reward, terminated, truncated, {}

    def observation_space(self, params=None):
        return spaces.Box(-np.inf, np.inf, (self._obs_dim,), jnp.float32)

    def action_space(self, params=None):
        low, high = self.mj_model.actuator_ctrlrange.astype(np.float32).T
        return spaces.Box(low, high, (self.mj_model.nu,), jnp.float32)


def x_velocity(before: mjx.Data, after: mjx.Data, dt: float) -> jax.Array:
    """`(qpos[0]' - qpos[0]) / dt`, the forward velocity gymnasium rewards."""
    return (after.qpos[0] - before.qpos[0]) / dt


def control_cost(action: jax.Array) -> jax.Array:
    """`sum(action**2)`, the unweighted control cost (MO-Gymnasium reverts gymnasium's weight)."""
    return jnp.sum(jnp.square(action))
