"""Default quality (issue 20): each algorithm with its defaults only on the hard tabular
envs, measured against the env's exact front.

    python experiments/defaults_quality.py                        # the whole table
    python experiments/defaults_quality.py --algos cmorl --envs fruit-tree-v0 --seeds 3
    python experiments/defaults_quality.py --table                # only rewrite the table

Each (algorithm, env) is one process, `morl train ALGO --env ENV --seeds N --no-progress
--out runs/defaults_quality/ALGO-ENV --overwrite`: no other flag, so every setting is the
algorithm's default or the env's (`morl.envs.defaults`). All seeds train in one compiled
program. Then, per seed:

- deterministic env (the env's `eval_episodes` default is 1): the hypervolume of the
  final archive (its returns are exact);
- stochastic env: every archived policy is evaluated again over `--episodes` (>= 100)
  episodes and the hypervolume is that of these means (the archive's own values are
  means of a few episodes, the best of many noisy estimates, biased upwards);

divided by the hypervolume of `env.pareto_front(eval_gamma)` (the same reference point,
the env's default). resource-gathering also records the ratio against
`pareto_front_exact(eval_gamma)` (the front over all deterministic policies).

Writes `experiments/defaults_quality/results/ALGO__ENV.json` (per-seed HV and ratio, the
command, wall-clock, the resolved config) and the table `experiments/defaults_quality/
RESULTS.md` from every JSON file present.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "experiments" / "defaults_quality"
RESULTS = HERE / "results"
RUNS = ROOT / "runs" / "defaults_quality"
ALGOS = ("morld", "cmorl")
ENVS = ("four-room-v0", "resource-gathering-v0", "fruit-tree-v0")
#: The issue's floors (HV ratio), per (algorithm, env); None: reported only.
FLOORS = {
    ("morld", "four-room-v0"): 0.80,
    ("cmorl", "four-room-v0"): 0.80,
    ("morld", "resource-gathering-v0"): 0.90,
    ("cmorl", "resource-gathering-v0"): 0.90,
    ("cmorl", "fruit-tree-v0"): 0.80,
}


def train(algo: str, env: str, seeds: int) -> tuple[list[str], float, Path]:
    out = RUNS / f"{algo}-{env}"
    command = ["morl", "train", algo, "--env", env, "--seeds", str(seeds), "--no-progress"]
    full = [str(ROOT / ".venv" / "bin" / "morl"), *command[1:], "--out", str(out), "--overwrite"]
    start = time.time()
    subprocess.run(full, check=True, cwd=ROOT)
    return command, time.time() - start, out


def measure(run_dir: Path, episodes: int) -> dict:
    import jax

    from morl.envs.defaults import eval_episodes
    from morl.envs.evaluation import evaluate_policy
    from morl.pareto.indicators import hypervolume
    from morl.restore import restore_run

    restored = restore_run(run_dir)
    trainer, algo = restored.trainer, restored.experiment.algo
    env = trainer.env
    ref = np.asarray(algo.ref_point, np.float64)
    gamma = float(algo.eval_gamma)
    true_hv = hypervolume(env.pareto_front(gamma), ref)
    exact_hv = hypervolume(env.pareto_front_exact(gamma), ref) if hasattr(env, "pareto_front_exact") else None
    stochastic = eval_episodes(algo.env) > 1  # the env's convention (PCN has no eval_episodes field)
    seeds = [restored.experiment.seed + i for i in range(trainer.num_runs or 1)]
    per_seed = []
    key = jax.random.key(12345)
    for run, seed in enumerate(seeds):
        front = trainer.front(restored.state, run)
        points = np.asarray(front.returns, np.float64)
        if stochastic:
            evaluated = []
            for member in front.member:
                key, sub = jax.random.split(key)
                act = trainer.policy(restored.state, int(member), run)
                evaluated.append(evaluate_policy(env, act, sub, episodes, gamma).mean(axis=0))
            points = np.asarray(evaluated, np.float64).reshape(-1, env.reward_dim)
        hv = hypervolume(points, ref) if len(points) else 0.0
        row = {"seed": seed, "hv": float(hv), "ratio": float(hv / true_hv), "archive_points": int(len(front.returns))}
        if exact_hv is not None:
            row["ratio_exact"] = float(hv / exact_hv)
        per_seed.append(row)
    ratios = np.array([r["ratio"] for r in per_seed])
    return {
        "ref_point": ref.tolist(),
        "eval_gamma": gamma,
        "true_hv": float(true_hv),
        "exact_hv": None if exact_hv is None else float(exact_hv),
        "evaluation": f"archive policies re-evaluated over {episodes} episodes" if stochastic else "archive returns",
        "eval_episodes_in_training": int(getattr(algo, "eval_episodes", 1)),
        "total_steps": int(algo.total_steps),
        "per_seed": per_seed,
        "mean_ratio": float(ratios.mean()),
        "std_ratio": float(ratios.std()),
    }


def table() -> str:
    rows = [
        "| env | algorithm | seeds | env steps / seed | HV ratio (mean ± std) | per seed | floor | met | wall s (all seeds) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for path in sorted(RESULTS.glob("*.json")):
        r = json.loads(path.read_text())
        floor = FLOORS.get((r["algorithm"], r["env"]))
        per = " ".join(f"{s['ratio']:.3f}" for s in r["per_seed"])
        met = "-" if floor is None else ("yes" if r["mean_ratio"] >= floor else "no")
        rows.append(
            f"| {r['env']} | {r['algorithm']} | {len(r['per_seed'])} | {r['total_steps']:,} | "
            f"{r['mean_ratio']:.3f} ± {r['std_ratio']:.3f} | {per} | {'-' if floor is None else floor} | {met} | "
            f"{r['wall_s']:.0f} |"
        )
    return "\n".join(rows)


def write_table() -> None:
    path = HERE / "RESULTS.md"
    text = path.read_text() if path.exists() else "<!-- table -->\n<!-- /table -->\n"
    start, end = "<!-- table -->", "<!-- /table -->"
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    path.write_text(f"{head}{start}\n{table()}\n{end}{tail}")
    print(table())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--algos", default=",".join(ALGOS))
    parser.add_argument("--envs", default=",".join(ENVS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=100, help="re-evaluation episodes (stochastic envs)")
    parser.add_argument("--measure-only", action="store_true", help="measure existing run directories")
    parser.add_argument("--table", action="store_true", help="only rewrite RESULTS.md's table")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.table:
        for algo in args.algos.split(","):
            for env in args.envs.split(","):
                print(f"== {algo} on {env}", flush=True)
                if args.measure_only:
                    out = RUNS / f"{algo}-{env}"
                    old = RESULTS / f"{algo}__{env}.json"
                    prior = json.loads(old.read_text()) if old.exists() else {}
                    command, wall = prior.get("command", []), prior.get("wall_s", float("nan"))
                else:
                    command, wall, out = train(algo, env, args.seeds)
                result = {"algorithm": algo, "env": env, "command": " ".join(command), "wall_s": wall,
                          "commit": _commit(), **measure(out, args.episodes)}
                (RESULTS / f"{algo}__{env}.json").write_text(json.dumps(result, indent=1) + "\n")
                print(f"{algo} {env}: HV ratio {result['mean_ratio']:.3f} ± {result['std_ratio']:.3f}", flush=True)
    write_table()
    return 0


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        return head.stdout.strip()
    except OSError:
        return ""


if __name__ == "__main__":
    sys.exit(main())
