"""Run C-MORL (or MORL/D on the same budget) on one benchmark, all seeds in ONE compiled
program (a vmapped run axis), and write the per-seed results as JSON.

    python experiments/cmorl/run.py minecart-v0 --algo barrier --seeds 5
    python experiments/cmorl/run.py minecart-v0 --algo morld --seeds 5

`--algo`: barrier (C-MORL, the default constrained step), lagrangian, floor (the
paper's floored barrier), morld (MORL/D, weighted sum, same env steps). Results go to
`experiments/cmorl/results/<env>__<algo>.json`; `table.py` turns them into RESULTS.md.
Extended policies: the share that meets its constraints (`constraints_met`, see
`_satisfied`). Metrics: hypervolume (exact, `morl.pareto.hypervolume`), expected utility over
`eu_weights(m)` (`morl.decomposition.weights.uniform_weights`), sparsity (PGMORL), on the
final archive's returns discounted with the setting's eval gamma.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from settings import SETTINGS, morld_config, variant  # noqa: E402

from morl.algorithms import get_algorithm  # noqa: E402
from morl.decomposition.weights import uniform_weights  # noqa: E402
from morl.pareto import expected_utility, hypervolume, sparsity  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
EU_WEIGHTS = {2: 50, 3: 55, 6: 56}  # evenly spread weight sets (lattices where one fits)


def eu_weights(m: int) -> np.ndarray:
    return uniform_weights(m, EU_WEIGHTS.get(m, 50))


def _satisfied(metrics, beta: float) -> np.ndarray:
    """Per run: share of this round's extended policies whose evaluated returns meet every
    bound `b_j` (j != l) within `0.05 (1 + max_j |b_j|)`."""
    parents = np.asarray(metrics["parent_returns"])  # [R, P, m]
    bound = parents - (1.0 - beta) * np.abs(parents)
    violation = np.asarray(metrics["constraint_violation"])  # [R, P] max_j (b_j - G_j)
    scale = 1.0 + np.abs(bound).max(axis=-1)
    return np.mean(violation <= 0.05 * scale, axis=-1)


def run(env_id: str, algo: str, seeds: int, seed: int = 0) -> dict:
    cmorl = variant(SETTINGS[env_id], "barrier" if algo == "morld" else algo)
    budget = cmorl.budget(len(cmorl.reference))
    if algo == "morld":
        config, name = morld_config(cmorl, budget.total_steps), "morld"
    else:
        config, name = cmorl, "cmorl"
    trainer = get_algorithm(name).make_trainer(config, num_runs=seeds)
    keys = jax.vmap(jax.random.key)(np.arange(seed, seed + seeds))
    start = time.perf_counter()
    state = trainer.init(keys)
    chunk_times, satisfied = [], []
    while not trainer.done(state):
        t = time.perf_counter()
        state, metrics = trainer.run_chunk(state)
        jax.block_until_ready(metrics)
        chunk_times.append(time.perf_counter() - t)
        if "constraint_violation" in metrics:
            satisfied.append(_satisfied(metrics, config.beta))
    wall = time.perf_counter() - start
    steps = trainer.env_steps(state)
    m = len(cmorl.reference)
    ref = np.asarray(cmorl.reference)
    per_seed = []
    for r in range(seeds):
        front = trainer.front(state, run=r)
        pts = np.asarray(front.returns, np.float64)
        per_seed.append({
            "seed": seed + r,
            "hypervolume": hypervolume(pts, ref),
            "expected_utility": expected_utility(pts, eu_weights(m)) if len(pts) else float("nan"),
            "sparsity": sparsity(pts),
            "front_size": int(len(pts)),
            "constraints_met": float(np.mean([s[r] for s in satisfied])) if satisfied else None,
            "front": pts.round(4).tolist(),
        })
    return {
        "env": env_id,
        "algo": algo,
        "seeds": seeds,
        "env_steps_per_seed": int(steps),
        "wall_s": wall,
        "chunk_s": chunk_times,
        "first_two_chunks_s": sum(chunk_times[:2]),
        "machine": f"{platform.machine()} {platform.node()}",
        "ref_point": ref.tolist(),
        "eval_gamma": cmorl.eval_gamma,
        "eu_weights": int(len(eu_weights(m))),
        "config": repr(config),
        "results": per_seed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("env", choices=sorted(SETTINGS))
    parser.add_argument("--algo", default="barrier", choices=["barrier", "lagrangian", "floor", "morld"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="JSON path (default results/<env>__<algo>.json)")
    args = parser.parse_args()
    result = run(args.env, args.algo, args.seeds, args.seed)
    RESULTS.mkdir(exist_ok=True)
    out = args.out or RESULTS / f"{args.env}__{args.algo}.json"
    out.write_text(json.dumps(result, indent=1))
    hv = [r["hypervolume"] for r in result["results"]]
    print(f"{args.env} {args.algo}: HV {np.mean(hv):.4g} +- {np.std(hv):.3g}, {result['wall_s']:.0f} s -> {out}")


if __name__ == "__main__":
    main()
