"""MORL/D training throughput: env steps per second of the whole compiled program.

For each environment and population size, one `MORLDTrainer` (one run, default PPO
settings: 8 envs x 64 steps per member and update, evaluation every 5 updates) is built;
one chunk (`--chunk` updates of every member, with the deterministic evaluations, archive
inserts and ideal-point updates inside it) is run to compile and warm up, then `--repeats`
chunks are timed. Env steps count training transitions only (evaluation episodes are
extra work, not counted). Printed: wall-clock rate, rate per process CPU-second (the
steadier figure on a shared CPU), and the compile+first-chunk time.

    .venv/bin/python benchmarks/morld_throughput.py
    taskset -c 0 .venv/bin/python benchmarks/morld_throughput.py --envs deep-sea-treasure-v0 --pop 8,16,64
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax

from morl.algorithms.morld import MORLDConfig, make_trainer

EVAL_GAMMA = {"minecart-v0": 0.98}


def benchmark_config(env: str, pop: int, chunk: int, **overrides) -> MORLDConfig:
    """The default MORL/D run on `env` with `pop` members, `chunk` iterations per chunk and
    a budget no benchmark exhausts; `overrides` replace config fields."""
    return MORLDConfig(
        env=env,
        pop_size=pop,
        chunk_iterations=chunk,
        total_steps=10**12,
        archive_capacity=max(64, pop),
        eval_gamma=EVAL_GAMMA.get(env, 0.99),
        **overrides,
    )


def measure(env: str, pop: int, chunk: int, repeats: int, devices: int = 1, **overrides) -> dict:
    trainer = make_trainer(benchmark_config(env, pop, chunk, **overrides), devices=devices)
    start = time.perf_counter()
    state = jax.block_until_ready(trainer.init(jax.random.key(0)))
    state, _ = trainer.run_chunk(state)
    state = jax.block_until_ready(state)
    first = time.perf_counter() - start
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeats):
        tick, tock = time.perf_counter(), time.process_time()
        state, _ = trainer.run_chunk(state)
        state = jax.block_until_ready(state)
        wall = min(wall, time.perf_counter() - tick)
        cpu = min(cpu, time.process_time() - tock)
    steps = trainer.env_steps_per_chunk
    return {
        "env": env,
        "pop": pop,
        "devices": devices,
        "env_steps_per_chunk": steps,
        "steps_per_s": steps / wall,
        "steps_per_cpu_s": steps / cpu,
        "compile_and_first_chunk_s": first,
        "archive_size": int(state.archive.valid.sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", default="deep-sea-treasure-v0,minecart-v0")
    parser.add_argument("--pop", default="8,16,64")
    parser.add_argument("--chunk", type=int, default=10, help="updates per timed chunk")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"jax {jax.__version__}, {jax.devices()[0].platform}, {cores} core(s) usable, load {os.getloadavg()[0]:.1f}")
    print(f"{'env':24} {'pop':>4} {'steps/chunk':>11} {'env steps/s':>12} {'per CPU-s':>10} {'compile+1st s':>13}")
    rows = []
    for env in args.envs.split(","):
        for pop in (int(p) for p in args.pop.split(",")):
            row = measure(env, pop, args.chunk, args.repeats)
            rows.append(row)
            print(
                f"{env:24} {pop:>4} {row['env_steps_per_chunk']:>11,} {row['steps_per_s']:>12,.0f} "
                f"{row['steps_per_cpu_s']:>10,.0f} {row['compile_and_first_chunk_s']:>13.1f}",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"cores": cores, "rows": rows}, handle, indent=1)


if __name__ == "__main__":
    main()
