"""`MuJoCoPool`: MO-MuJoCo copies stepped in MuJoCo C on a thread pool, vectorised in numpy.

The host pool (see `morl.envs.host.pool`) for every MO-Gymnasium 1.3.2 MuJoCo locomotion
id (`MUJOCO_IDS`). Each copy is one `mujoco.MjData` of the model the gymnasium env
loads. A step runs `data.ctrl[:] = action; mj_step(model, data, nstep=frame_skip)` (and
`mj_rnePostConstraint` where the observation or reward reads `cfrc_ext`), exactly the
calls gymnasium's `MujocoEnv.do_simulation` makes, on `nthread` threads (MuJoCo releases
the GIL while it steps; copies are handed out one at a time, so a busy core slows no one
down). Observations, reward vectors and health checks are then computed for the whole
batch at once in numpy, with the operations, operand dtypes and summation orders of
MO-Gymnasium's `step` (a float32 action's `sum(a^2)` in float32, a `np.float64`
healthy reward added to the float32 vector in float64, ...), so results are
bit-identical to `mo_gymnasium.make(env_id, **kwargs)` stepped with the same float32
actions from the same state (tests/envs/test_host_mujoco_pool.py checks every id).

Conventions (the `EnvPool` contract): observations float32 `[B, obs_dim]`, rewards
float32 `[B, m]` with every objective maximised, `terminated` the env's health check,
`truncated` its `TimeLimit` (MO-Gymnasium's registered 1000 steps unless
`max_episode_steps` is given). A finished copy restarts in the same call: its reset noise
continues the copy's own `gymnasium.utils.seeding.np_random(seed)` stream, drawn in
gymnasium's order, like `env.reset()` without a seed.

The constructor builds one gymnasium env with the same keyword arguments and reads its
model, frame skip, initial state and every weight and range from it, so any keyword the
implemented formulas honour (`SUPPORTED_KWARGS`) behaves as in MO-Gymnasium; others
(rendering, ...) raise. mo-reacher-v4/v5 are left to `GymnasiumPool`.
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import mujoco
import numpy as np
from gymnasium.utils import seeding

from morl.envs import spaces
from morl.envs.host.pool import StepArrays, make_gymnasium, registered_time_limit

#: id -> (task, gymnasium version).
_TASKS = {
    "mo-halfcheetah-v4": ("halfcheetah", 4),
    "mo-halfcheetah-v5": ("halfcheetah", 5),
    "mo-hopper-v4": ("hopper", 4),
    "mo-hopper-2d-v4": ("hopper", 4),
    "mo-hopper-v5": ("hopper", 5),
    "mo-hopper-2obj-v5": ("hopper", 5),
    "mo-walker2d-v4": ("walker2d", 4),
    "mo-walker2d-v5": ("walker2d", 5),
    "mo-ant-v4": ("ant", 4),
    "mo-ant-2d-v4": ("ant", 4),
    "mo-ant-v5": ("ant", 5),
    "mo-ant-2obj-v5": ("ant", 5),
    "mo-swimmer-v4": ("swimmer", 4),
    "mo-swimmer-v5": ("swimmer", 5),
    "mo-humanoid-v4": ("humanoid", 4),
    "mo-humanoid-v5": ("humanoid", 5),
}

#: The MO-Gymnasium ids `MuJoCoPool` steps.
MUJOCO_IDS = frozenset(_TASKS)

#: Keyword arguments the pool honours (each only where the gymnasium env accepts it).
SUPPORTED_KWARGS = frozenset(
    {
        "max_episode_steps",
        "xml_file",
        "frame_skip",
        "cost_objective",
        "forward_reward_weight",
        "ctrl_cost_weight",
        "contact_cost_weight",
        "contact_cost_range",
        "contact_force_range",
        "healthy_reward",
        "terminate_when_unhealthy",
        "healthy_state_range",
        "healthy_z_range",
        "healthy_angle_range",
        "reset_noise_scale",
        "exclude_current_positions_from_observation",
        "use_contact_forces",
        "main_body",
        "include_cinert_in_observation",
        "include_cvel_in_observation",
        "include_qfrc_actuator_in_observation",
        "include_cfrc_ext_in_observation",
    }
)

_F32, _F64 = np.float32, np.float64


def _distinct(slots: np.ndarray) -> np.ndarray:
    """`slots` as int64 `[B]`; a one-line `ValueError` if one repeats (a copy steps once a call)."""
    slots = np.asarray(slots, np.int64).reshape(-1)
    if len(np.unique(slots)) != len(slots):
        raise ValueError(f"MuJoCoPool: slots must be distinct within a call, got {slots.tolist()}")
    return slots


def _usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class MuJoCoPool:
    """A growable set of MO-MuJoCo copies addressed by integer slot (see the module doc).

    `nthread` (default: the usable CPUs) threads step a batch; the other keyword arguments
    are `mo_gymnasium.make(env_id, **kwargs)`'s.
    """

    def __init__(self, env_id: str, *, nthread: int | None = None, **kwargs: Any):
        from morl.envs.adapters import from_gymnasium_space

        if env_id not in _TASKS:
            raise ValueError(f"MuJoCoPool has no '{env_id}' (it steps {sorted(MUJOCO_IDS)})")
        unsupported = sorted(set(kwargs) - SUPPORTED_KWARGS)
        if unsupported:
            raise ValueError(
                f"{env_id}: MuJoCoPool does not support keyword arguments {unsupported} (GymnasiumPool does)"
            )
        self.env_id = env_id
        self.task, self.version = _TASKS[env_id]
        env = make_gymnasium(env_id, **kwargs)
        u = env.unwrapped
        self._u = u
        self.model: mujoco.MjModel = u.model
        self.frame_skip = int(u.frame_skip)
        self.dt = u.dt
        self.max_episode_steps = registered_time_limit(env_id, kwargs)
        self.observation_space: spaces.Box = from_gymnasium_space(env.observation_space)
        self.action_space: spaces.Box = from_gymnasium_space(env.action_space)
        self.reward_dim = int(u.reward_dim)
        self._cost_objective = bool(getattr(u, "_cost_objective", True))
        self._fields = self._needed_fields()
        self._rne_post = "cfrc_ext" in self._fields
        if self.task == "ant":
            self._body = int(u.data.body(u._main_body).id) if self.version == 5 else int(u.data.body("torso").id)
        self.nthread = max(1, int(nthread or _usable_cpus()))
        self._executor = ThreadPoolExecutor(self.nthread - 1) if self.nthread > 1 else None
        self._lock = threading.Lock()
        self._index: dict[int, int] = {}  # slot -> copy index
        self._datas: list[mujoco.MjData] = []
        self._rngs: list[np.random.Generator | None] = []
        self._position = np.zeros((0, 2), _F64)  # per copy: the position velocities are taken from
        self._elapsed = np.zeros((0,), np.int64)  # per copy: steps in the current episode

    # --- the pool contract ------------------------------------------------------------

    def reset(self, slots: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        """(Re)start copy `slots[i]` (int64 `[B]`, distinct) seeded with `seeds[i]`.
        Returns the first observations, float32 `[B, obs_dim]`."""
        slots, seeds = _distinct(slots), np.asarray(seeds).reshape(-1)
        if len(seeds) != len(slots):
            raise ValueError(f"MuJoCoPool.reset: {len(slots)} slots but {len(seeds)} seeds")
        with self._lock:
            return self._start(slots, seeds)

    def step(self, slots: np.ndarray, actions: np.ndarray) -> StepArrays:
        """Step copies `slots` (int64 `[B]`, distinct) with float32 `actions` `[B, act_dim]`.

        Returns `(obs, reward, terminated, truncated, final_obs)`: float32 `[B, obs_dim]`,
        float32 `[B, reward_dim]`, bool `[B]`, bool `[B]`, float32 `[B, obs_dim]`. A copy
        whose episode ended is restarted: `obs` is its new episode's first observation,
        `final_obs` the last one of the ended episode (equal to `obs` otherwise).
        """
        slots = _distinct(slots)
        actions = np.ascontiguousarray(actions, _F32).reshape(len(slots), -1)
        with self._lock:
            fresh = np.asarray([s for s in slots.tolist() if s not in self._index], np.int64)
            if fresh.size:  # never reset: start with seed = slot
                self._start(fresh, fresh)
            idx = self._copies(slots)
            before = self._position[idx]
            bufs = self._buffers(len(idx))
            self._simulate(idx, actions, bufs)
            obs = self._observe(bufs)
            after = self._positions(bufs)
            velocity = (after - before) / self.dt
            healthy = self._is_healthy(bufs)
            reward = self._reward(velocity, healthy, bufs, actions)
            terminated = self._terminated(healthy)
            self._position[idx] = after
            self._elapsed[idx] += 1
            truncated = np.zeros(len(idx), bool)
            if self.max_episode_steps is not None:
                truncated = self._elapsed[idx] >= self.max_episode_steps
            final_obs = obs.astype(_F32)
            done = np.flatnonzero(terminated | truncated)
            if done.size:
                self._restart(idx[done], done, bufs)
                obs[done] = self._observe({k: v[done] for k, v in bufs.items()})
            return obs.astype(_F32), reward, terminated, truncated, final_obs

    def close(self) -> None:
        """Stop the worker threads (the pool is unusable afterwards)."""
        if self._executor is not None:
            self._executor.shutdown()

    # --- copies -----------------------------------------------------------------------

    def _start(self, slots: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        """Seed and restart copies `slots`; their first observations, float32 `[B, obs_dim]`."""
        idx = self._copies(slots)
        for k, seed in zip(idx.tolist(), seeds.tolist()):
            self._rngs[k] = seeding.np_random(int(seed))[0]
        bufs = self._buffers(len(idx))
        self._restart(idx, np.arange(len(idx)), bufs)
        return self._observe(bufs).astype(_F32)

    def _copies(self, slots: np.ndarray) -> np.ndarray:
        """Copy indices of `slots` (int64 `[B]`), creating copies for new slots."""
        idx = np.empty(len(slots), np.int64)
        for i, slot in enumerate(slots.tolist()):
            k = self._index.get(slot)
            if k is None:
                k = self._index[slot] = len(self._datas)
                self._datas.append(mujoco.MjData(self.model))
                self._rngs.append(None)  # seeded by _start
            idx[i] = k
        grow = len(self._datas) - len(self._elapsed)
        if grow > 0:
            self._position = np.concatenate([self._position, np.zeros((grow, 2), _F64)])
            self._elapsed = np.concatenate([self._elapsed, np.zeros(grow, np.int64)])
        return idx

    def _restart(self, idx: np.ndarray, rows: np.ndarray, bufs: dict[str, np.ndarray]) -> None:
        """Start a new episode of copies `idx` as gymnasium's `reset` does (`mj_resetData`,
        noise drawn from the copy's stream in gymnasium's order, `set_state`), writing
        their fields into `bufs` rows `rows`."""
        u, model = self._u, self.model
        scale = u._reset_noise_scale
        normal_qvel = self.task in ("halfcheetah", "ant")
        for k, row in zip(idx.tolist(), rows.tolist()):
            data, rng = self._datas[k], self._rngs[k]
            mujoco.mj_resetData(model, data)
            qpos = u.init_qpos + rng.uniform(low=-scale, high=scale, size=model.nq)
            if normal_qvel:
                qvel = u.init_qvel + scale * rng.standard_normal(model.nv)
            else:
                qvel = u.init_qvel + rng.uniform(low=-scale, high=scale, size=model.nv)
            data.qpos[:] = qpos
            data.qvel[:] = qvel
            mujoco.mj_forward(model, data)
            for name, buf in bufs.items():
                buf[row] = getattr(data, name)
        rows_bufs = {name: buf[rows] for name, buf in bufs.items()}
        self._position[idx] = self._positions(rows_bufs)
        self._elapsed[idx] = 0

    def _buffers(self, n: int) -> dict[str, np.ndarray]:
        """Per-call float64 arrays `[n, *field_shape]` for the `MjData` fields read."""
        data = self._datas[0]
        return {name: np.empty((n, *getattr(data, name).shape), _F64) for name in self._fields}

    def _simulate(self, idx: np.ndarray, actions: np.ndarray, bufs: dict[str, np.ndarray]) -> None:
        """Step copies `idx` with `actions` on `nthread` threads; fields into `bufs`."""
        datas = [self._datas[k] for k in idx.tolist()]
        model, nstep, post = self.model, self.frame_skip, self._rne_post
        fields = list(bufs.items())
        n = len(datas)
        counter = itertools.count()  # next() is atomic under the GIL: dynamic sharing

        def work() -> None:
            while (i := next(counter)) < n:
                data = datas[i]
                data.ctrl[:] = actions[i]
                mujoco.mj_step(model, data, nstep=nstep)
                if post:
                    mujoco.mj_rnePostConstraint(model, data)
                for name, buf in fields:
                    buf[i] = getattr(data, name)

        nhelp = 0 if self._executor is None else min(self.nthread, n) - 1
        helpers = [self._executor.submit(work) for _ in range(nhelp)]
        try:
            work()
        finally:  # never leave a helper stepping after the call returns
            for future in helpers:
                future.result()

    # --- MO-Gymnasium's formulas, vectorised over copies -------------------------------

    def _needed_fields(self) -> tuple[str, ...]:
        u = self._u
        if self.task == "ant":
            contacts = self.version == 5 or u._use_contact_forces  # v5: the contact cost
            return ("qpos", "qvel", "xpos") + (("cfrc_ext",) if contacts else ())
        if self.task == "humanoid":
            return ("qpos", "qvel", "xipos", "cinert", "cvel", "qfrc_actuator", "cfrc_ext")
        return ("qpos", "qvel")

    def _positions(self, bufs: dict[str, np.ndarray]) -> np.ndarray:
        """The positions velocities differentiate, float64 `[B, 2]` (x only: column 1 is 0)."""
        qpos = bufs["qpos"]
        out = np.zeros((len(qpos), 2), _F64)
        if self.task in ("halfcheetah", "hopper", "walker2d"):
            out[:, 0] = qpos[:, 0]
        elif self.task == "swimmer":
            out[:] = qpos[:, 0:2]
        elif self.task == "ant":
            out[:] = bufs["xpos"][:, self._body, :2]
        else:  # humanoid: gymnasium's mass_center
            mass = self.model.body_mass
            out[:] = (np.einsum("b,nbj->nj", mass, bufs["xipos"]) / mass.sum())[:, 0:2]
        return out

    def _is_healthy(self, bufs: dict[str, np.ndarray]) -> np.ndarray:
        u, qpos, qvel = self._u, bufs["qpos"], bufs["qvel"]
        n = len(qpos)
        if self.task in ("halfcheetah", "swimmer"):
            return np.ones(n, bool)
        if self.task in ("hopper", "walker2d"):
            z, angle = qpos[:, 1], qpos[:, 2]
            ok = (u._healthy_z_range[0] < z) & (z < u._healthy_z_range[1])
            ok &= (u._healthy_angle_range[0] < angle) & (angle < u._healthy_angle_range[1])
            if self.task == "hopper":
                state = np.concatenate([qpos, qvel], axis=1)[:, 2:]
                low, high = u._healthy_state_range
                ok &= np.all((low < state) & (state < high), axis=1)
            return ok
        if self.task == "ant":
            state = np.concatenate([qpos, qvel], axis=1)
            z = state[:, 2]
            return np.isfinite(state).all(axis=1) & (u._healthy_z_range[0] <= z) & (z <= u._healthy_z_range[1])
        z = qpos[:, 2]  # humanoid
        return (u._healthy_z_range[0] < z) & (z < u._healthy_z_range[1])

    def _terminated(self, healthy: np.ndarray) -> np.ndarray:
        if self.task in ("halfcheetah", "swimmer") or not self._u._terminate_when_unhealthy:
            return np.zeros(len(healthy), bool)
        return ~healthy

    def _observe(self, bufs: dict[str, np.ndarray]) -> np.ndarray:
        """Float64 `[B, obs_dim]`, each env's `_get_obs` (cast to float32 by the caller)."""
        u, qpos, qvel = self._u, bufs["qpos"], bufs["qvel"]
        exclude = u._exclude_current_positions_from_observation
        if self.task in ("halfcheetah", "hopper", "walker2d"):
            position = qpos[:, 1:] if exclude else qpos
            velocity = np.clip(qvel, -10, 10) if self.task != "halfcheetah" else qvel
            return np.concatenate([position, velocity], axis=1)
        position = qpos[:, 2:] if exclude else qpos
        parts = [position, qvel]
        n = len(qpos)
        if self.task == "ant":
            contacts = u._use_contact_forces if self.version == 4 else u._include_cfrc_ext_in_observation
            if contacts:
                forces = np.clip(bufs["cfrc_ext"], *u._contact_force_range)
                parts.append((forces if self.version == 4 else forces[:, 1:]).reshape(n, -1))
        elif self.task == "humanoid":
            if self.version == 4:
                parts += [bufs[name].reshape(n, -1) for name in ("cinert", "cvel", "qfrc_actuator", "cfrc_ext")]
            else:
                for name, flag, start in (
                    ("cinert", u._include_cinert_in_observation, 1),
                    ("cvel", u._include_cvel_in_observation, 1),
                    ("qfrc_actuator", u._include_qfrc_actuator_in_observation, 6),
                    ("cfrc_ext", u._include_cfrc_ext_in_observation, 1),
                ):
                    if flag is True:
                        parts.append(bufs[name][:, start:].reshape(n, -1))
        return np.concatenate(parts, axis=1)

    def _reward(
        self, velocity: np.ndarray, healthy: np.ndarray, bufs: dict[str, np.ndarray], actions: np.ndarray
    ) -> np.ndarray:
        """MO-Gymnasium's reward vectors, float32 `[B, reward_dim]`.

        Scalars MO-Gymnasium adds to its float32 vector keep their dtype here: a Python
        float or float32 cost is added in float32, a `np.float64` (healthy reward from a
        `np.bool_`, contact cost) in float64 and rounded, as numpy does in place.
        """
        u, task, v5 = self._u, self.task, self.version == 5
        xv, yv = velocity[:, 0], velocity[:, 1]
        energy = np.sum(np.square(actions), axis=1)  # float32, as np.sum(np.square(action))
        w_ctrl = _F32(u._ctrl_cost_weight)
        neg_ctrl = -(w_ctrl * energy)  # gymnasium's reward_ctrl for float32 actions
        if task in ("hopper", "walker2d", "ant", "humanoid"):
            # v4: float(is_healthy or terminate) * w, a Python float; v5: is_healthy * w,
            # a Python float for hopper (builtin all()) and np.float64 otherwise
            alive = healthy | (not v5 and u._terminate_when_unhealthy)
            survive = (alive * u._healthy_reward).astype(_F64 if v5 and task != "hopper" else _F32)
        if task == "halfcheetah":
            forward = xv if v5 else u._forward_reward_weight * xv
            cost = neg_ctrl / w_ctrl if v5 else neg_ctrl
            return np.stack([forward, cost], axis=1).astype(_F32)
        if task == "swimmer":
            return np.stack([xv, neg_ctrl / w_ctrl if v5 else -energy], axis=1).astype(_F32)
        if task == "walker2d":
            vec = np.stack([xv, neg_ctrl / w_ctrl if v5 else -energy], axis=1).astype(_F32)
            vec += survive[:, None]
            return vec
        if task == "hopper":
            height = 10 * (bufs["qpos"][:, 1] - u.init_qpos[1])
            if self._cost_objective:
                cost = neg_ctrl / w_ctrl if v5 else -energy
                vec = np.stack([xv, height, cost], axis=1).astype(_F32)
            else:
                vec = np.stack([xv, height], axis=1).astype(_F32)
                vec += neg_ctrl[:, None]
            vec += survive[:, None]
            return vec
        if task == "ant":
            cost = neg_ctrl
            if not v5 and u._use_contact_forces:  # gymnasium v4 puts -contact_cost in reward_ctrl
                cost = -(u._contact_cost_weight * self._contact_sum(bufs, clip=True))
            if self._cost_objective:
                cost = cost / (w_ctrl if cost.dtype == _F32 else u._ctrl_cost_weight)
                vec = np.stack([xv, yv, cost], axis=1).astype(_F32)
            else:
                vec = np.stack([xv, yv], axis=1).astype(_F32)
                vec += cost[:, None]
            vec += survive[:, None]
            if v5:
                vec += (-(u._contact_cost_weight * self._contact_sum(bufs, clip=True)))[:, None]
            return vec
        # humanoid: control cost on data.ctrl (float64)
        ctrl_cost = u._ctrl_cost_weight * np.sum(np.square(actions.astype(_F64)), axis=1)
        cost = -ctrl_cost / u._ctrl_cost_weight if v5 else 10 * -ctrl_cost
        vec = np.stack([xv, cost], axis=1).astype(_F32)
        vec += survive[:, None]
        if v5:
            contact = np.clip(u._contact_cost_weight * self._contact_sum(bufs, clip=False), *u._contact_cost_range)
            vec += (-contact)[:, None]
        return vec

    def _contact_sum(self, bufs: dict[str, np.ndarray], clip: bool) -> np.ndarray:
        """`sum(cfrc_ext^2)` per copy over all bodies (ant: clipped to the force range)."""
        forces = bufs["cfrc_ext"]
        if clip:
            forces = np.clip(forces, *self._u._contact_force_range)
        return np.sum(np.square(forces).reshape(len(forces), -1), axis=1)
