"""Env steps per second: JAX ports (jit + vmap + lax.scan, AutoReset, random actions)
beside MO-Gymnasium's own env (a plain Python loop over one env), measured in one run.

    .venv/bin/python benchmarks/env_throughput.py
    .venv/bin/python benchmarks/env_throughput.py --envs deep-sea-treasure-v0 mo-mountaincar-v0 \
        --num-envs 1 256 --steps 2000

Ports whose module is not written yet (or fails to import) are skipped with a note.
The ratio is JAX steps/s over MO-Gymnasium steps/s of the same env on the same machine.

Random actions come, by default, from a counter-based integer hash (lowbias32 of
step, env and action index): uniform, independent enough for a throughput test, and
about 1 ns each. `--sampler jax` draws them with `jax.random` (`space.sample` on split
keys) instead; its threefry costs some 25 ns per number on CPU, which bounds the
grid worlds near 10 M steps/s whatever the env does.

CPU seconds count every thread of the process (XLA may use several), so the CPU-time
ratio is conservative for JAX; it is the figure to read on a machine shared with others.
"""

from __future__ import annotations

import argparse
import time

import gymnasium
import jax
import jax.numpy as jnp
import mo_gymnasium as mo_gym
import numpy as np

import morl
from morl.envs import AutoReset, VmapEnv, spaces
from morl.envs.core import Environment

# Ids that are not MO-Gymnasium's: the gymnasium env the port was derived from.
REFERENCE_IDS = {"mo-pendulum-v0": "Pendulum-v1"}


def _lowbias32(x: jax.Array) -> jax.Array:
    """Chris Wellons' 32-bit integer hash (uint32 in, uint32 out)."""
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def hash_actions(space: spaces.Space, num_envs: int, step: jax.Array) -> jax.Array:
    """Uniform random actions `[num_envs, *space.shape]` for scan step `step` (uint32)."""
    size = num_envs * int(np.prod(space.shape, dtype=int))
    counter = step * jnp.uint32(size) + jnp.arange(size, dtype=jnp.uint32)
    bits = _lowbias32(counter ^ jnp.uint32(0x9E3779B9)).reshape((num_envs, *space.shape))
    if isinstance(space, spaces.Discrete):
        return (space.start + bits % jnp.uint32(space.n)).astype(jnp.int32)
    if isinstance(space, spaces.MultiBinary):
        return (bits >> 31).astype(jnp.int32)
    if not (np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
        raise ValueError(f"hash sampler needs a bounded Box, got low={space.low} high={space.high}")
    unit = (bits >> 8).astype(jnp.float32) * jnp.float32(2.0**-24)
    return (space.low + unit * (space.high - space.low)).astype(space.dtype)


def _rates(steps: int, wall: float, cpu: float) -> tuple[float, float]:
    return steps / wall, steps / max(cpu, 1e-9)


def jax_steps_per_second(
    env: Environment, num_envs: int, steps: int, sampler: str = "hash", repeats: int = 3
) -> tuple[float, float]:
    """(steps per wall second, steps per process CPU second), each the best of `repeats`
    timed runs of one compiled scan of `steps` batched random steps."""
    batched = VmapEnv(AutoReset(env), num_envs)
    space = env.action_space()

    def sample(key: jax.Array, step: jax.Array) -> jax.Array:
        if sampler == "hash":
            return hash_actions(space, num_envs, step)
        return jax.vmap(space.sample)(jax.random.split(key, num_envs))

    @jax.jit
    def run(key: jax.Array) -> jax.Array:
        key, reset_key = jax.random.split(key)
        _, state = batched.reset(reset_key)

        def body(carry, inputs):
            state, total = carry
            key, step = inputs
            action_key, step_key = jax.random.split(key)
            _, state, reward, _, _, _ = batched.step(step_key, state, sample(action_key, step))
            return (state, total + reward.sum()), None

        inputs = (jax.random.split(key, steps), jnp.arange(steps, dtype=jnp.uint32))
        (_, total), _ = jax.lax.scan(body, (state, jnp.float32(0.0)), inputs)
        return total

    run(jax.random.key(0)).block_until_ready()  # compile
    best_wall = best_cpu = np.inf
    for repeat in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        run(jax.random.key(repeat + 1)).block_until_ready()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return _rates(num_envs * steps, best_wall, best_cpu)


def gym_steps_per_second(env_id: str, steps: int) -> tuple[float, float]:
    """One MO-Gymnasium env, random actions drawn beforehand, reset at episode end."""
    env = mo_gym.make(env_id)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(steps)]
    env.reset(seed=0)
    wall, cpu = time.perf_counter(), time.process_time()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return _rates(steps, time.perf_counter() - wall, time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=morl.envs.registered(), help="env ids (default: all registered)")
    parser.add_argument("--num-envs", nargs="+", type=int, default=[1, 16, 256, 4096])
    parser.add_argument("--steps", type=int, default=1000, help="scan length per JAX run")
    parser.add_argument("--sampler", choices=["hash", "jax"], default="hash", help="random-action source (see above)")
    parser.add_argument("--gym-steps", type=int, default=5000, help="steps of the MO-Gymnasium loop")
    args = parser.parse_args()
    unknown = sorted(set(args.envs) - set(morl.envs.registered()))
    if unknown:
        parser.error(f"unknown env ids {unknown}; known: {morl.envs.registered()}")
    if any(n < 1 for n in args.num_envs) or args.steps < 1 or args.gym_steps < 1:
        parser.error("--num-envs, --steps and --gym-steps must be positive")

    device = jax.devices()[0]
    print(f"device: {device.device_kind} ({jax.default_backend()}), jax {jax.__version__}, sampler: {args.sampler}")
    print("steps/s per wall second; in brackets per process CPU second (robust to a shared machine)")
    print(f"{'env':<30} {'envs':>5} {'JAX steps/s':>25} {'MO-Gym steps/s':>19} {'ratio':>15}")
    notes = []
    for env_id in args.envs:
        try:
            env = morl.envs.make(env_id)
        except ImportError as err:
            notes.append(f"{env_id}: skipped, port not importable ({err})")
            continue
        ref_id = REFERENCE_IDS.get(env_id, env_id)
        try:
            gym_rate = gym_steps_per_second(ref_id, args.gym_steps)
        except (gymnasium.error.Error, ImportError) as err:
            gym_rate = (float("nan"), float("nan"))
            notes.append(f"{env_id}: no reference timing ({type(err).__name__}: {err})")
        if ref_id != env_id:
            notes.append(f"{env_id}: reference is gymnasium's {ref_id} (not an MO-Gymnasium id)")
        for num_envs in args.num_envs:
            rate = jax_steps_per_second(env, num_envs, args.steps, args.sampler)
            ratio = (rate[0] / gym_rate[0], rate[1] / gym_rate[1])
            print(
                f"{env_id:<30} {num_envs:>5} {rate[0]:>12,.0f} ({rate[1]:>11,.0f})"
                f" {gym_rate[0]:>8,.0f} ({gym_rate[1]:>8,.0f}) {ratio[0]:>6,.0f}x ({ratio[1]:>5,.0f}x)",
                flush=True,
            )
    for note in notes:
        print("note:", note)


if __name__ == "__main__":
    main()
