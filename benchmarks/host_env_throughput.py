"""Host env steps per second: MO-Gymnasium's own single-env Python `step` loop beside
`MuJoCoPool` (MuJoCo C on a thread pool, rewards vectorised in numpy), random actions,
episodes restarted at their end, and whole MORL/D training through the host path
(`morl.envs.make(id)` inside the compiled trainer), measured in one run on this machine.

    .venv/bin/python benchmarks/host_env_throughput.py
    .venv/bin/python benchmarks/host_env_throughput.py --env mo-ant-2d-v4 --copies 64 256 --seconds 5
    .venv/bin/python benchmarks/host_env_throughput.py --env mo-lunar-lander-v3 --copies

Training: MORL/D with PPO (population 6, 8 envs x 512 steps per member and update, 10
epochs, 32 minibatches, 64-64 tanh networks: the MO-MuJoCo table's learner), timed over
whole chunks after the first (compilation excluded), env steps per wall second, divided
by the MO-Gymnasium loop's rate. Every id runs the training; the pool rows are for the
MuJoCo ids (`--copies` with no value skips them).

The MO-Gymnasium loop runs one env on one thread (`env.step`, `env.reset()` at episode
end). The pool steps `--copies` copies per call on `--threads` threads (default: 1 and
the usable CPUs); actions are drawn before timing. CPU seconds count every thread of the
process: on a machine shared with other work, wall steps/s understates what the threads
would give on idle cores, and steps per CPU second is the figure to compare.
"""

from __future__ import annotations

import argparse
import os
import time

import mo_gymnasium
import numpy as np

from morl.envs.host.mujoco import MUJOCO_IDS, MuJoCoPool

DEFAULT_ENVS = ("mo-hopper-2d-v4", "mo-ant-2d-v4", "mo-humanoid-v4")


def _timed(fn) -> tuple[int, float, float]:
    """`fn()` returns a step count; `(steps, wall seconds, CPU seconds)`."""
    wall, cpu = time.perf_counter(), time.process_time()
    steps = fn()
    return steps, time.perf_counter() - wall, time.process_time() - cpu


def gymnasium_loop(env_id: str, seconds: float) -> tuple[float, float]:
    """`(steps/s wall, steps/s CPU)` of one `mo_gymnasium.make(env_id)` in a Python loop."""
    env = mo_gymnasium.make(env_id)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    space = env.action_space
    if hasattr(space, "n"):
        actions = rng.integers(0, space.n, 1024)
    else:
        actions = rng.uniform(space.low, space.high, (1024, *space.shape)).astype(np.float32)

    def run() -> int:
        steps, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            for action in actions:
                _, _, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    env.reset()
            steps += len(actions)
        return steps

    steps, wall, cpu = _timed(run)
    return steps / wall, steps / cpu


def pool_loop(env_id: str, copies: int, threads: int, seconds: float) -> tuple[float, float]:
    """`(steps/s wall, steps/s CPU)` of a `MuJoCoPool` stepping `copies` copies per call."""
    pool = MuJoCoPool(env_id, nthread=threads)
    slots = np.arange(copies, dtype=np.int64)
    pool.reset(slots, slots)
    rng = np.random.default_rng(0)
    low, high = pool.action_space.low, pool.action_space.high
    actions = rng.uniform(low, high, (16, copies, len(low))).astype(np.float32)
    for batch in actions[:2]:  # warm
        pool.step(slots, batch)

    def run() -> int:
        steps, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            for batch in actions:
                pool.step(slots, batch)
            steps += copies * len(actions)
        return steps

    steps, wall, cpu = _timed(run)
    pool.close()
    return steps / wall, steps / cpu


def training_rate(env_id: str, chunks: int) -> float:
    """Env steps per wall second of MORL/D training on `env_id` through the host path,
    over `chunks` chunks after a first one that includes compilation."""
    import jax

    from morl.algorithms.morld import MORLD_PPO, MORLDConfig, make_trainer

    ppo = MORLD_PPO.replace(num_envs=8, num_steps=512, num_epochs=10, num_minibatches=32, hidden_sizes=(64, 64),
                            activation="tanh", normalize_returns=True, normalize_observations=True, learning_rate=3e-4,
                            ent_coef=0.0)
    per_chunk = 6 * 8 * 512 * 2
    config = MORLDConfig(env=env_id, total_steps=per_chunk * (chunks + 1), pop_size=6, eval_period=2,
                         chunk_iterations=2, max_eval_steps=500, ppo=ppo)
    trainer = make_trainer(config)
    state = trainer.init(jax.random.key(0))
    state, _ = trainer.run_chunk(state)
    jax.block_until_ready(state)
    start, first = time.perf_counter(), trainer.env_steps(state)
    for _ in range(chunks):
        state, _ = trainer.run_chunk(state)
        jax.block_until_ready(state)
    return (trainer.env_steps(state) - first) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", nargs="+", default=list(DEFAULT_ENVS))
    parser.add_argument("--copies", nargs="*", type=int, default=[64])
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    parser.add_argument("--threads", nargs="+", type=int, default=sorted({1, cpus}))
    parser.add_argument("--seconds", type=float, default=3.0, help="timed seconds per measurement")
    parser.add_argument("--train-chunks", type=int, default=2, help="timed training chunks (49,152 steps each); 0: none")
    args = parser.parse_args()

    print(f"usable CPUs: {cpus}; load average before: {os.getloadavg()[0]:.2f}")
    header = f"{'env':<18} {'runner':<26} {'steps/s wall':>13} {'steps/CPU s':>12} {'x MO-Gym wall':>14}"
    print(header)
    print("-" * len(header))
    for env_id in args.env:
        base_wall, base_cpu = gymnasium_loop(env_id, args.seconds)
        print(f"{env_id:<18} {'MO-Gymnasium loop, 1 env':<26} {base_wall:>13,.0f} {base_cpu:>12,.0f} {1.0:>14.2f}")
        for copies in args.copies if env_id in MUJOCO_IDS else ():
            for threads in args.threads:
                wall, cpu = pool_loop(env_id, copies, threads, args.seconds)
                runner = f"MuJoCoPool {copies} x {threads} thr"
                print(f"{env_id:<18} {runner:<26} {wall:>13,.0f} {cpu:>12,.0f} {wall / base_wall:>14.2f}")
        if args.train_chunks:
            rate = training_rate(env_id, args.train_chunks)
            print(f"{env_id:<18} {'MORL/D training (host)':<26} {rate:>13,.0f} {'':>12} {rate / base_wall:>14.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
