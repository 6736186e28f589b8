"""Run one published MO-MuJoCo setting (C-MORL's or MORL/D's, see settings.py) on the MJX
ports, all seeds in ONE compiled program (a vmapped run axis), and write the per-seed
hypervolume, expected utility and sparsity with the device and wall-clock as JSON.

    python experiments/mujoco/run.py cmorl hopper-2d --seeds 5
    python experiments/mujoco/run.py morld halfcheetah --seeds 5
    python experiments/mujoco/run.py cmorl hopper-2d --seeds 1 --smoke   # minutes on a CPU

Meant for a GPU machine (MJX steps ~1 k/s on a CPU: the full settings would take days).
`--smoke` divides every budget by 100 and shrinks the PPO rollout so the whole pipeline
runs end to end on a CPU; its numbers mean nothing.
Results: `experiments/mujoco/results/<algo>__<task>[__smoke].json`. Metrics on the final
archive's returns (discounted with the setting's eval gamma): hypervolume w.r.t. the
setting's reference point, expected utility over 50 (2 objectives) / 55 (3) evenly spread
weights, sparsity (PGMORL).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from settings import (  # noqa: E402
    CMORL_TASKS,
    EPISODE_CAP,
    MORLD_TASKS,
    capped_id,
    cmorl_config,
    fit_extension,
    morld_config,
)

from morl.algorithms import get_algorithm  # noqa: E402
from morl.decomposition.weights import uniform_weights  # noqa: E402
from morl.envs import registry  # noqa: E402
from morl.envs.mujoco import ENVS, register_all  # noqa: E402
from morl.pareto import expected_utility, hypervolume, sparsity  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
EU_WEIGHTS = {2: 50, 3: 55}


def register_envs() -> None:
    """The MO-MuJoCo ids, and C-MORL's 500-step-episode copies under experiment-local ids."""
    if "mo-halfcheetah-v5" not in registry.registered():
        register_all()
    for env_id, (entry_point, kwargs) in ENVS.items():
        if capped_id(env_id) not in registry.registered():
            registry.register(capped_id(env_id), f"morl.envs.mujoco.{entry_point}", **kwargs, max_steps=EPISODE_CAP)


def smoke(config):
    """A CPU-sized copy of `config`: budgets / 100, 4 envs x 64 steps, 2 epochs."""
    ppo = dataclasses.replace(config.ppo, num_envs=4, num_steps=64, num_epochs=2, num_minibatches=4)
    if hasattr(config, "init_steps"):
        small = dataclasses.replace(config, ppo=ppo, total_steps=config.total_steps // 100,
                                    init_steps=config.init_steps // 100, eval_interval=2)
        return fit_extension(small, len(config.reference))
    return dataclasses.replace(config, ppo=ppo, total_steps=config.total_steps // 100, eval_period=2)


def run(algo: str, task: str, seeds: int, seed: int, is_smoke: bool) -> dict:
    config = cmorl_config(task) if algo == "cmorl" else morld_config(task)
    config = smoke(config) if is_smoke else config
    ref = np.asarray(config.ref_point, np.float64)
    m = len(ref)
    trainer = get_algorithm(algo).make_trainer(config, num_runs=seeds)
    keys = jax.vmap(jax.random.key)(np.arange(seed, seed + seeds))
    start = time.perf_counter()
    state = trainer.init(keys)
    chunk_times = []
    while not trainer.done(state):
        t = time.perf_counter()
        state, metrics = trainer.run_chunk(state)
        jax.block_until_ready(metrics)
        chunk_times.append(time.perf_counter() - t)
    wall = time.perf_counter() - start
    weights = uniform_weights(m, EU_WEIGHTS[m])
    per_seed = []
    for r in range(seeds):
        points = np.asarray(trainer.front(state, run=r).returns, np.float64)
        per_seed.append({
            "seed": seed + r,
            "hypervolume": hypervolume(points, ref),
            "expected_utility": expected_utility(points, weights) if len(points) else float("nan"),
            "sparsity": sparsity(points),
            "front_size": int(len(points)),
            "front": points.round(4).tolist(),
        })
    return {
        "algo": algo, "task": task, "env": config.env, "smoke": is_smoke, "seeds": seeds,
        "env_steps_per_seed": int(trainer.env_steps(state)), "wall_s": wall, "chunk_s": chunk_times,
        "device": str(jax.devices()[0].device_kind), "ref_point": ref.tolist(), "eval_gamma": config.eval_gamma,
        "eu_weights": int(len(weights)), "results": per_seed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("algo", choices=["cmorl", "morld"])
    parser.add_argument("task", help=f"cmorl: {', '.join(CMORL_TASKS)}; morld: {', '.join(MORLD_TASKS)}")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    tasks = CMORL_TASKS if args.algo == "cmorl" else MORLD_TASKS
    if args.task not in tasks:
        parser.error(f"unknown {args.algo} task {args.task!r}; known: {', '.join(tasks)}")
    register_envs()
    result = run(args.algo, args.task, args.seeds, args.seed, args.smoke)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{args.algo}__{args.task}{'__smoke' if args.smoke else ''}.json"
    out.write_text(json.dumps(result, indent=1))
    hv = [r["hypervolume"] for r in result["results"]]
    eu = [r["expected_utility"] for r in result["results"]]
    print(f"{args.algo} {args.task}: HV {np.mean(hv):.4g} +- {np.std(hv):.3g}, EU {np.mean(eu):.4g}, "
          f"{result['wall_s']:.0f} s on {result['device']} -> {out}")


if __name__ == "__main__":
    main()
