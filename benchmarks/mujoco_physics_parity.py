"""One physics step of mujoco-mjx against MuJoCo C from identical states, float64.

For each task: states a uniformly random policy visits in MO-Gymnasium's env (MuJoCo C)
with at least one contact, a random control; one `mj_step` against one `mjx.step` as
mujoco-mjx ships it and one with the port's contact frames
(`morl.envs.mujoco.base.mujoco_c_contact_frames`). Prints the largest `qpos`/`qvel`
difference and how many states had a plane-capsule contact steeper than 60 degrees (where
mujoco-mjx's own frame differs from MuJoCo C's). See docs/mujoco.md.

    .venv/bin/python benchmarks/mujoco_physics_parity.py mo-ant-v5 [--states 32]

mo-humanoid-v5 runs MuJoCo C with Newton, the port's solver (MJX has no PGS).
"""

from __future__ import annotations

import argparse

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import mo_gymnasium as mo_gym  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402
from mujoco import mjx  # noqa: E402

from morl.envs.mujoco.base import mujoco_c_contact_frames  # noqa: E402


def contact_states(env_id: str, num: int, seed: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """`num` visited `(qpos, qvel, ctrl)` with at least one contact (`mj_forward`'s `ncon`)."""
    env = mo_gym.make(env_id).unwrapped
    if env_id == "mo-humanoid-v5":
        env.model.opt.solver = mujoco.mjtSolver.mjSOL_NEWTON
    env.reset(seed=seed)
    env.action_space.seed(seed)
    rng = np.random.default_rng(seed)
    states, episode = [], 0
    for _ in range(100 * num):
        for _ in range(int(rng.integers(0, 10))):
            _, _, term, trunc, _ = env.step(env.action_space.sample())
            if term or trunc:
                episode += 1
                env.reset(seed=seed + episode)
        mujoco.mj_forward(env.model, env.data)
        if env.data.ncon:
            states.append((env.data.qpos.copy(), env.data.qvel.copy(), env.action_space.sample().astype(np.float64)))
        if len(states) == num:
            return states
    raise SystemExit(f"{env_id}: fewer than {num} contact states in {100 * num} tries")


def steep_capsule(model: mujoco.MjModel, data: mujoco.MjData) -> bool:
    """Whether a plane-capsule contact has the capsule axis within 30 degrees of the normal."""
    for geom, frame in zip(data.contact.geom, data.contact.frame):
        plane, capsule = model.geom_type[geom] == [mujoco.mjtGeom.mjGEOM_PLANE, mujoco.mjtGeom.mjGEOM_CAPSULE]
        if plane and capsule and abs(data.geom_xmat[geom[1]][[2, 5, 8]] @ frame[:3]) > np.sin(np.pi / 3):
            return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env_id")
    parser.add_argument("--states", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    states = contact_states(args.env_id, args.states, args.seed)
    model = mo_gym.make(args.env_id).unwrapped.model
    if args.env_id == "mo-humanoid-v5":
        model.opt.solver = mujoco.mjtSolver.mjSOL_NEWTON
    mx = mjx.put_model(model)

    def step(qpos, qvel, ctrl):
        return mjx.step(mx, mjx.make_data(mx).replace(qpos=qpos, qvel=qvel, ctrl=ctrl))

    example = [jnp.asarray(x) for x in states[0]]
    as_shipped = jax.jit(step).lower(*example).compile()
    with mujoco_c_contact_frames():
        c_frames = jax.jit(lambda *x: step(*x)).lower(*example).compile()

    errors = {"mujoco-mjx as shipped": [], "port (MuJoCo C frames)": []}
    steep = 0
    for qpos, qvel, ctrl in states:
        data = mujoco.MjData(model)
        data.qpos[:], data.qvel[:], data.ctrl[:] = qpos, qvel, ctrl
        mujoco.mj_forward(model, data)
        steep += steep_capsule(model, data)
        mujoco.mj_step(model, data)
        for name, fn in zip(errors, (as_shipped, c_frames)):
            out = fn(qpos, qvel, ctrl)
            errors[name].append((np.abs(out.qpos - data.qpos).max(), np.abs(out.qvel - data.qvel).max()))
    print(f"{args.env_id}: {len(states)} states with contacts, {steep} with a capsule steeper than 60 degrees")
    for name, err in errors.items():
        qpos_err, qvel_err = np.max(err, axis=0)
        print(f"  {name:24s} max |qpos - C| {qpos_err:.1e}   max |qvel - C| {qvel_err:.1e}")


if __name__ == "__main__":
    main()
