"""MO-MuJoCo env steps per second: the MJX port (jit + vmap + lax.scan, AutoReset) beside
MuJoCo C through `morl.envs.from_gymnasium` (a Python loop over gymnasium envs), for
1 and 64 envs, random actions, measured in one run on this machine.

    .venv/bin/python benchmarks/mujoco_throughput.py
    .venv/bin/python benchmarks/mujoco_throughput.py --env mo-hopper-v5 --num-envs 1 64 1024 --steps 200

Compile time is reported apart and excluded from steps/s. CPU seconds count every thread
of the process; on a machine shared with others they are the figure to compare. MJX is
built for accelerators: on a CPU expect MuJoCo C to win by one to two orders of magnitude.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from morl.envs import AutoReset, VmapEnv, from_gymnasium, registry
from morl.envs.mujoco import ENVS


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def mjx_steps_per_second(env_id: str, num_envs: int, steps: int) -> tuple[float, float, float]:
    """`(steps/s wall, steps/s CPU, compile seconds)` of `num_envs` MJX copies for `steps` steps."""
    env = registry.make(env_id)
    batched = VmapEnv(AutoReset(env), num_envs=num_envs)
    space = env.action_space()

    @jax.jit
    def run(key):
        _, state = batched.reset(key)

        def body(state, key):
            action = jax.random.uniform(key, (num_envs, *space.shape), minval=space.low, maxval=space.high)
            obs, state, reward, *_ = batched.step(key, state, action)
            return state, reward.sum()

        return jax.lax.scan(body, state, jax.random.split(key, steps))[1]

    compiled, compile_s, _ = _timed(lambda: run.lower(jax.random.key(0)).compile())
    jax.block_until_ready(compiled(jax.random.key(1)))  # warm
    _, wall, cpu = _timed(lambda: jax.block_until_ready(compiled(jax.random.key(2))))
    return num_envs * steps / wall, num_envs * steps / cpu, compile_s


def host_steps_per_second(env_id: str, num_envs: int, steps: int) -> tuple[float, float]:
    """`(steps/s wall, steps/s CPU)` of `num_envs` MuJoCo C copies through `from_gymnasium`."""
    envs = from_gymnasium(env_id, num_envs)
    envs.reset(seed=0)
    rng = np.random.default_rng(0)
    low, high = envs.action_space.low, envs.action_space.high
    actions = rng.uniform(low, high, (steps, num_envs, *envs.action_space.shape)).astype(np.float32)

    def loop():
        for t in range(steps):
            envs.step(actions[t])

    _, wall, cpu = _timed(loop)
    envs.close()
    return num_envs * steps / wall, num_envs * steps / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="mo-halfcheetah-v5", choices=sorted(ENVS))
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--steps", type=int, default=200, help="env steps per copy in the timed MJX run")
    parser.add_argument("--host-steps", type=int, default=2000, help="total MuJoCo C steps per measurement")
    args = parser.parse_args()
    print(f"{args.env} on {jax.devices()[0].platform}; steps/s (wall | CPU seconds of all threads)")
    print(f"{'num_envs':>8} {'MuJoCo C':>22} {'MJX':>22} {'MJX compile':>12} {'MJX/C (CPU)':>12}")
    for n in args.num_envs:
        c_wall, c_cpu = host_steps_per_second(args.env, n, max(1, args.host_steps // n))
        m_wall, m_cpu, compile_s = mjx_steps_per_second(args.env, n, args.steps)
        c_cols = f"{c_wall:>10.0f} | {c_cpu:>9.0f}"
        m_cols = f"{m_wall:>10.0f} | {m_cpu:>9.0f}"
        print(f"{n:>8} {c_cols} {m_cols} {compile_s:>11.1f}s {m_cpu / c_cpu:>12.3f}")


if __name__ == "__main__":
    main()
