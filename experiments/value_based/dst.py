"""Deep-sea-treasure rows of RESULTS.md: each algorithm's defaults through the CLI, one
process per seed, timed from the command's start (compilation included).

    .venv/bin/python experiments/value_based/dst.py envelope pcn --seeds 0 1 2

For every (algorithm, seed): `morl train ALG --env deep-sea-treasure-v0 --seed S --out
experiments/value_based/runs/ALG-dst-sS --overwrite`, then from the run directory: how many
of the 10 points of `env.pareto_front(0.99)` the final archive holds, the first chunk
whose archive holds all 10 (its env steps and the run's wall time at that chunk), the
process's wall time, the mean env steps/s the workflow logged, and the 1-minute load
average at the start. One JSON line per run on stdout, appended to results/dst.jsonl.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import morl
from morl.pareto import hypervolume

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def found(returns: np.ndarray, true_front: np.ndarray) -> int:
    """Points of `true_front` held by `returns` (float32 rounding)."""
    return sum(bool(np.any(np.all(np.abs(returns - p) < 1e-3, axis=1))) for p in true_front)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("algorithms", nargs="+")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = parser.parse_args()
    true_front = morl.envs.make("deep-sea-treasure-v0").pareto_front(0.99)
    out = HERE / "results" / "dst.jsonl"
    out.parent.mkdir(exist_ok=True)
    for algorithm in args.algorithms:
        for seed in args.seeds:
            run = HERE / "runs" / f"{algorithm}-dst-s{seed}"
            command = [
                str(ROOT / ".venv/bin/morl"), "train", algorithm, "--env", "deep-sea-treasure-v0",
                "--seed", str(seed), "--out", str(run), "--overwrite", "--no-progress",
            ]  # fmt: skip
            load = os.getloadavg()[0]
            start = time.perf_counter()
            subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - start
            with open(run / "front.csv") as f:
                rows = list(csv.DictReader(f))
            final = np.array([[float(r["return0"]), float(r["return1"])] for r in rows])
            with open(run / "metrics.csv") as f:
                chunks = list(csv.DictReader(f))
            full_hv = hypervolume(true_front, np.array([0.0, -25.0]))
            first = next((c for c in chunks if float(c["hypervolume"]) >= full_hv - 1e-3), None)
            result = {
                "algorithm": algorithm,
                "seed": seed,
                "points": found(final, true_front),
                "steps_to_front": int(first["env_steps"]) if first else None,
                "train_s_to_front": float(first["wall_time"]) if first else None,
                "total_steps": int(chunks[-1]["env_steps"]),
                "wall_s": round(wall, 1),
                "env_steps_per_s": round(float(np.mean([float(c["env_steps_per_s"]) for c in chunks[1:] or chunks])), 1),
                "load_1min": round(load, 2),
                "command": " ".join(["morl", *command[1:]]).replace(str(ROOT) + "/", ""),
            }
            print(json.dumps(result), flush=True)
            with open(out, "a") as f:
                f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    sys.exit(main())
