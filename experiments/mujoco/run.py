"""Run one row of the MO-MuJoCo table (see settings.py), one seed after another, each
resumable: a killed run continues from its last checkpoint when the command is repeated.

    python experiments/mujoco/run.py cmorl hopper-2d --seeds 3                  # the paper's T
    python experiments/mujoco/run.py cmorl hopper-2d --seeds 3 --budget code    # the code's (~8x)
    python experiments/mujoco/run.py morld ant-2d --seeds 3 --first-seed 3
    python experiments/mujoco/run.py morld-sac hopper-2d --seeds 1 --smoke   # seconds, end to end

Each seed trains through `morl train`'s loop (`morl.train_loop`: progress bar with
steps/s and time left, checkpoints every few minutes) in `experiments/mujoco/runs/<algorithm>__
<task>__<budget>__seed<k>/` (not committed), and on completion writes
`experiments/mujoco/results/<algorithm>__<task>__<budget>__seed<k>.json` (committed):
hypervolume w.r.t. the task's reference point, expected utility over C-MORL's weight grid
(101 weights for 2 objectives, 66 for 3), sparsity, the front, on returns discounted with gamma 0.99, plus
the env steps, wall-clock (summed over resumed sessions), device, git commit and the
config. A seed whose result file exists is skipped. `--smoke` runs a few thousand steps
into `results/smoke/` (the CI-sized check that the whole pipeline works).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from settings import ALGORITHMS, BUDGETS, TASKS, config, smoke  # noqa: E402

from morl.config import Experiment, LogConfig, to_dict  # noqa: E402
from morl.io import rundir  # noqa: E402

RESULTS = HERE / "results"
RUNS = HERE / "runs"
EU_WEIGHTS = {2: 101, 3: 66}  # C-MORL's grids: step 0.01 (2 objectives), 0.1 (3)


def git_commit() -> str:
    """HEAD's hash, with "-dirty" when tracked files differ from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "HEAD") or "unknown"
    return head + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def result_path(algorithm: str, task: str, budget: str, seed: int, is_smoke: bool) -> Path:
    folder = RESULTS / "smoke" if is_smoke else RESULTS
    return folder / f"{algorithm}__{task}__{budget}__seed{seed}.json"


def run_seed(algorithm: str, task: str, budget: str, seed: int, is_smoke: bool) -> dict:
    """Train (or resume) one seed of one row and write its result file; returns the result."""
    import jax

    from morl import train_loop

    algo_config = smoke(algorithm, task) if is_smoke else config(algorithm, task, budget)
    m = len(algo_config.ref_point)
    every = 1 if algorithm in ("cmorl", "pgmorl") else 10  # chunks: C-MORL 10 updates, PGMORL a generation
    log = LogConfig(checkpoint_every=every, keep_checkpoints=2, tensorboard=False, eu_weights=EU_WEIGHTS[m])
    experiment = Experiment(algorithm=ALGORITHMS[algorithm], seed=seed, algo=algo_config, log=log)
    run_dir = (RUNS / "smoke" if is_smoke else RUNS) / f"{algorithm}__{task}__{budget}__seed{seed}"
    resume = (run_dir / rundir.CHECKPOINTS).is_dir() and any((run_dir / rundir.CHECKPOINTS).iterdir())
    job = train_loop.prepare(experiment, run_dir, resume=resume, overwrite=not resume)
    summary = train_loop.run(job)
    measured = summary["runs"][0]
    front = np.loadtxt(run_dir / rundir.FRONT, delimiter=",", skiprows=1, ndmin=2)
    result = {
        "algorithm": algorithm,
        "setting": task,
        "budget": budget,
        "env_id": algo_config.env,
        "seed": seed,
        "total_steps": summary["env_steps"],
        "hypervolume": measured["hypervolume"],
        "expected_utility": measured["expected_utility"],
        "sparsity": measured["sparsity"],
        "num_points": measured["front_size"],
        "wall_s": summary["wall_time"],
        "device": f"{jax.devices()[0].platform}: {jax.devices()[0].device_kind}",
        "git_commit": git_commit(),
        "resumed": resume,
        "ref_point": list(algo_config.ref_point),
        "eval_gamma": algo_config.eval_gamma,
        "eu_weights": EU_WEIGHTS[m],
        "front": _front_returns(front, m),
        "config": to_dict(algo_config),
    }
    out = result_path(algorithm, task, budget, seed, is_smoke)
    out.parent.mkdir(parents=True, exist_ok=True)
    rundir.atomic_write(out, json.dumps(result, indent=1) + "\n")
    return result


def _front_returns(table: np.ndarray, m: int) -> list[list[float]]:
    """The `[n, m]` returns of front.csv's rows (its last m columns)."""
    if table.size == 0:
        return []
    return np.round(table[:, -m:], 4).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("algorithm", choices=list(ALGORITHMS))
    parser.add_argument("task", choices=list(TASKS))
    parser.add_argument("--budget", choices=BUDGETS, default="paper", help="the paper's T or the code's (settings.py)")
    parser.add_argument("--seeds", type=int, default=3, help="how many seeds (default 3)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="a few thousand steps, results under results/smoke/")
    args = parser.parse_args()
    if args.seeds < 1 or args.first_seed < 0:
        parser.error("--seeds must be >= 1 and --first-seed >= 0")
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        out = result_path(args.algorithm, args.task, args.budget, seed, args.smoke)
        if out.exists():
            print(f"{out.relative_to(HERE)} exists: seed {seed} is done")
            continue
        result = run_seed(args.algorithm, args.task, args.budget, seed, args.smoke)
        print(f"{args.algorithm} {args.task} ({args.budget} budget) seed {seed}: HV {result['hypervolume']:.4g}, EU "
              f"{result['expected_utility']:.4g}, SP {result['sparsity']:.4g}, {result['num_points']} points, "
              f"{result['wall_s']:.0f} s -> {out.relative_to(HERE)}")


if __name__ == "__main__":
    main()
