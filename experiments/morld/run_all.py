"""Run every MORL/D experiment of this folder and write RESULTS.md.

    python experiments/morld/run_all.py                 # all settings, then RESULTS.md
    python experiments/morld/run_all.py dst fruit_tree  # only these settings (YAML stems)
    python experiments/morld/run_all.py --table         # only rebuild RESULTS.md

Each setting is one YAML config beside this script and one `morl train --config` process
(all seeds in ONE compiled program), writing `results/<name>/` (config.yaml, metrics.csv,
front.csv, summary.json) plus `results/<name>/timing.json`: the process's wall-clock
(imports, compilation, training, logging: everything) and CPU seconds, measured here.
The persistent compilation cache is switched off so every wall-clock includes compiling.

Each process may use every core (the 5-seed deadlock of the first execution, flax's
batched LAPACK QR, is gone since commit 5dff53f); `--cpus 0` pins it to a CPU list with
`taskset` if you want one core per run (the list is recorded in timing.json).

Indicators are the workflow's (summary.json: hypervolume w.r.t. the config's reference
point, expected utility over 50 evenly spread weights, sparsity, cardinality, IGD and
maximum utility loss against `env.pareto_front(eval_gamma)`). Added here: the share of
the true front's hypervolume, and which true-front points each seed found (an archive
point within 1e-3 of it, both discounted with `eval_gamma`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RUNS = HERE / "results"
MORL = ROOT / ".venv" / "bin" / "morl"

#: (YAML stem, tables it appears in), in run order. The concave DST benchmark row is the
#: ablation's Tchebycheff setting.
SETTINGS = (
    ("dst", ("results",)),
    ("fruit_tree", ("results",)),
    ("ablation_tch", ("results", "ablation")),
    ("resource_gathering", ("results",)),
    ("minecart", ("results",)),
    ("mountaincar", ("results",)),
    ("ablation_ws", ("ablation",)),
    ("ablation_tch_psa", ("ablation",)),
    ("ablation_tch_transfer", ("ablation",)),
)
MATCH_TOL = 1e-3
KEEP = ("config.yaml", "metrics.csv", "front.csv", "summary.json", "timing.json", "eval.csv")
#: Settings on stochastic environments whose final archive is evaluated again (`morl eval`)
#: with this many episodes per member: an archive of few-episode estimates keeps the lucky
#: ones (the maximum of noisy values), so its hypervolume is biased upwards.
REEVALUATE = {"resource_gathering": 500}


def run_setting(name: str, cpus: str | None) -> dict:
    """Train `<name>.yaml` in a fresh process; return and store its timing."""
    out = RUNS / name
    command = [str(MORL), "train", "--config", str(HERE / f"{name}.yaml"), "--out", str(out), "--overwrite"]
    if cpus:
        command = ["taskset", "-c", cpus, *command]
    env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": ""}
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{name}: morl train exited with status {status}")
    load = os.getloadavg()
    timing = {
        "process_wall_s": round(wall, 2),
        "cpu_user_s": round(usage.ru_utime, 2),
        "cpu_sys_s": round(usage.ru_stime, 2),
        "cpus": cpus or "all",
        "loadavg_1_5_15_at_end": [round(x, 2) for x in load],
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "finished_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }
    (out / "timing.json").write_text(json.dumps(timing, indent=1) + "\n")
    if name in REEVALUATE:
        command = [str(MORL), "eval", str(out), "--episodes", str(REEVALUATE[name])]
        if subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL).returncode != 0:
            raise SystemExit(f"{name}: morl eval failed")
    for path in out.iterdir():  # keep the small text files only
        if path.name not in KEEP:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return timing


def _front(run_dir: Path, run: int, m: int) -> np.ndarray:
    import csv

    with open(run_dir / "front.csv") as handle:
        rows = [r for r in csv.DictReader(handle) if int(r["run"]) == run]
    return np.array([[float(r[f"return{j}"]) for j in range(m)] for r in rows], float).reshape(-1, m)


def _true_front(config: dict) -> np.ndarray | None:
    from morl import envs
    from morl.envs.registry import parse_kwargs

    algo = config["algo"]
    env = envs.make(algo["env"], **parse_kwargs(algo.get("env_kwargs", [])))
    return np.asarray(env.pareto_front(algo.get("eval_gamma", 0.99)), float) if env.has_pareto_front else None


def _fmt(values: list[float], digits: int = 4) -> str:
    values = np.asarray([v for v in values if v is not None and np.isfinite(v)], float)
    if values.size == 0:
        return "-"
    if values.size == 1:
        return f"{values[0]:.{digits}g}"
    return f"{values.mean():.{digits}g} ± {values.std():.2g}"


def setting_row(name: str) -> dict | None:
    import yaml

    from morl.pareto import hypervolume

    run_dir = RUNS / name
    if not (run_dir / "summary.json").exists():
        return None
    summary = json.loads((run_dir / "summary.json").read_text())
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    timing = json.loads((run_dir / "timing.json").read_text()) if (run_dir / "timing.json").exists() else {}
    algo = config["algo"]
    runs = summary["runs"]
    m = len(summary["ref_point"])
    ref = np.asarray(summary["ref_point"], float)
    true_front = _true_front(config)
    found, share = [], []
    if true_front is not None:
        true_hv = hypervolume(true_front, ref)
        for run in runs:
            front = _front(run_dir, int(run["run"]), m)
            hit = [bool(len(front)) and bool(np.any(np.all(np.abs(front - p) <= MATCH_TOL, axis=1))) for p in true_front]
            found.append(hit)
            share.append(run["hypervolume"] / true_hv)
    reevaluated = _reevaluated_hv(run_dir, ref, m)
    seeds = len(runs)
    steps = summary["env_steps"]
    loop_wall = summary["wall_time"]
    cpu = timing.get("cpu_user_s", float("nan")) + timing.get("cpu_sys_s", float("nan"))
    return {
        "name": name,
        "env": algo["env"] + "".join(f" ({k})" for k in algo.get("env_kwargs", [])),
        "taxonomy": _taxonomy(algo),
        "steps": steps,
        "seeds": seeds,
        "ref": tuple(float(x) for x in ref),
        "hv": _fmt([r["hypervolume"] for r in runs]),
        "hv_share": _fmt([100 * s for s in share], 3) + " %" if share else "-",
        "eu": _fmt([r["expected_utility"] if r["expected_utility"] != "" else None for r in runs]),
        "sparsity": _fmt([r["sparsity"] for r in runs]),
        "cardinality": _fmt([r["cardinality"] for r in runs], 3),
        "igd": _fmt([r["igd"] if r["igd"] != "" else None for r in runs], 3),
        "mul": _fmt([r["mul"] if r["mul"] != "" else None for r in runs], 3),
        "found": [int(sum(h)) for h in found],
        "found_sets": found,
        "true_size": None if true_front is None else len(true_front),
        "true_front": true_front,
        "process_wall": timing.get("process_wall_s"),
        "loop_wall": loop_wall,
        "steps_per_s": steps * seeds / loop_wall,
        "cpu_s": cpu,
        "cpu_us_per_step": 1e6 * cpu / (steps * seeds),
        "timing": timing,
        "hv_reevaluated": _fmt(reevaluated) if reevaluated else None,
        "hv_reevaluated_share": (
            _fmt([100 * v / hypervolume(true_front, ref) for v in reevaluated], 3) + " %"
            if reevaluated and true_front is not None else "-"
        ),
        "reevaluate_episodes": REEVALUATE.get(name),
    }


def _reevaluated_hv(run_dir: Path, ref: np.ndarray, m: int) -> list[float]:
    """Per seed, the hypervolume of the re-evaluated archive members (`eval.csv`)."""
    import csv

    from morl.pareto import hypervolume

    if not (run_dir / "eval.csv").exists():
        return []
    with open(run_dir / "eval.csv") as handle:
        rows = list(csv.DictReader(handle))
    values = []
    for run in sorted({int(r["run"]) for r in rows}):
        points = np.array([[float(r[f"eval{j}"]) for j in range(m)] for r in rows if int(r["run"]) == run])
        values.append(float(hypervolume(points, ref)))
    return values


def _taxonomy(algo: dict) -> str:
    parts = [algo.get("scalarization", "weighted_sum"), f"pop {algo.get('pop_size', 16)}"]
    if algo.get("weight_adaptation", "none") != "none":
        parts.append("PSA")
    if algo.get("cooperation", "none") != "none":
        parts.append(f"{algo['cooperation']} (n={algo.get('neighborhood_size', 2)})")
    return ", ".join(parts)


def write_results() -> Path:
    rows = {name: setting_row(name) for name, _ in SETTINGS}
    lines = [
        "# MORL/D results",
        "",
        "Generated by `python experiments/morld/run_all.py` (configs: `experiments/morld/*.yaml`;",
        "run directories: `experiments/morld/results/<name>/`). Every setting trains all its seeds in",
        "ONE compiled program (`morl train --config ...`, `num_seeds: 5`). Indicators on the final",
        "archive, returns discounted with `eval_gamma` (0.99; minecart 0.98), mean ± std over",
        "seeds; IGD / MUL / true-front points against `env.pareto_front(eval_gamma)` (minecart:",
        "MO-Gymnasium's approximate front). EU and MUL over 50 evenly spread weights.",
        "",
        "Timing: *process* = the whole `morl train` process (imports, compilation, training,",
        "logging), compilation cache off; *loop* = the training loop's wall-clock (summary.json:",
        "includes compiling the chunk program, not the init program); env steps/s = all seeds'",
        "env steps / loop time; CPU = user+sys seconds of the process. CPUs: `cpus` in",
        "`results/<name>/timing.json` (\"0\": pinned to one core with taskset, as every run before",
        "the 5-seed deadlock fix of commit 5dff53f; \"all\": both cores). The 2-core CPU was shared",
        "with other jobs (load average at the end of each run in timing.json): wall-clock figures",
        "are pessimistic; CPU µs per env step is the steadier figure.",
        "",
        "Status (2026-11-27): resource-gathering, minecart and mo-mountaincar run the settings of",
        "the MORL/D rows of experiments/cmorl/RESULTS.md (6 members, 491,520 steps per seed;",
        "minecart and mo-mountaincar with the C-MORL public code's PPO numbers and observation",
        "normalisation, without which no member mines or reaches the goal). Minecart's true front",
        "is MO-Gymnasium's approximation, so its HV share can exceed 100 %. `fruit_tree` reaches",
        "its floor through the archive of exploring policies, not through converged members (see",
        "the Floors section and docs/morld.md); `dst` (weighted sum) does not use the ideal point.",
        "",
    ]
    for table, title in (("results", "## Benchmarks"), ("ablation", "## Ablation: the taxonomy on deep-sea-treasure-concave-v0")):
        chosen = [rows[n] for n, t in SETTINGS if table in t and rows[n] is not None]
        if not chosen:
            continue
        lines += [title, ""]
        lines.append(
            "| setting | env | taxonomy | env steps / seed | seeds | HV | HV / true | EU | sparsity | "
            "cardinality | IGD | MUL | true points found | process s | loop s | env steps/s | CPU µs/step |"
        )
        lines.append("|" + "---|" * 17)
        for r in chosen:
            found = "-" if r["true_size"] is None else " ".join(str(k) for k in r["found"]) + f" (of {r['true_size']})"
            lines.append(
                f"| {r['name']} | {r['env']} | {r['taxonomy']} | {r['steps']:,} | {r['seeds']} | {r['hv']} | "
                f"{r['hv_share']} | {r['eu']} | {r['sparsity']} | {r['cardinality']} | {r['igd']} | {r['mul']} | "
                f"{found} | {r['process_wall']} | {r['loop_wall']:.1f} | {r['steps_per_s']:,.0f} | {r['cpu_us_per_step']:.0f} |"
            )
        lines.append("")
        if table == "results":
            lines += _reevaluated(chosen)
        if table == "ablation":
            lines += _points_table(chosen)
    lines += _floors(rows)
    lines += _reference_points(rows)
    path = HERE / "RESULTS.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _reevaluated(rows: list[dict]) -> list[str]:
    """The stochastic settings' archives evaluated again with many episodes."""
    chosen = [r for r in rows if r["hv_reevaluated"] is not None]
    if not chosen:
        return []
    out = [
        "Stochastic environments: every archive point is an estimate from the run's evaluation",
        "episodes, and the archive keeps the best of many noisy estimates, so its hypervolume is",
        "biased upwards (it can exceed the true front's). Evaluated again after training",
        "(`morl eval <run> --episodes N`; hypervolume of the re-evaluated points per seed):",
        "",
        "| setting | episodes per member | HV (archive) | HV (re-evaluated) | HV re-evaluated / true |",
        "|---|---|---|---|---|",
    ]
    for r in chosen:
        out.append(
            f"| {r['name']} | {r['reevaluate_episodes']} | {r['hv']} | {r['hv_reevaluated']} | {r['hv_reevaluated_share']} |"
        )
    return out + [""]


def _points_table(rows: list[dict]) -> list[str]:
    """Which true-front points each setting found, in how many seeds."""
    true_front = rows[0]["true_front"]
    if true_front is None:
        return []
    out = [
        "True-front points (discounted, gamma 0.99; `*`: supported, i.e. some weighted sum is",
        "maximal there) and the number of seeds whose final archive holds each one / whose final",
        "population (the members' last evaluation, metrics.csv) holds it. The archive keeps every",
        "evaluation, so it also holds points members passed through while learning.",
        "",
        "| point | " + " | ".join(r["name"] for r in rows) + " |",
        "|" + "---|" * (1 + len(rows)),
    ]
    finals = [_final_population_hits(r) for r in rows]
    supported = _supported(true_front)
    for i, p in enumerate(true_front):
        cells = [f"{sum(seed[i] for seed in r['found_sets'])} / {sum(seed[i] for seed in final)}" for r, final in zip(rows, finals)]
        out.append(f"| ({p[0]:.3f}, {p[1]:.3f}){'*' if supported[i] else ''} | " + " | ".join(cells) + " |")
    return out + [""]


def _floors(rows: dict) -> list[str]:
    """The issue's floors, checked on the stored runs."""
    out = ["## Floors", ""]
    dst = rows.get("dst")
    if dst is not None:
        full = sum(k == dst["true_size"] for k in dst["found"])
        per_seed = dst["process_wall"] / dst["seeds"] if dst["process_wall"] else float("nan")
        out.append(
            f"- deep-sea-treasure (gamma 0.99, vs `pareto_front(0.99)`): all {dst['true_size']} points in "
            f"{full} of {dst['seeds']} seeds; the whole {dst['seeds']}-seed program took {dst['process_wall']} s "
            f"(process, compilation included) = {per_seed:.0f} s per seed; met: "
            f"{'yes' if full == dst['seeds'] and per_seed < 120 else 'NO'}."
        )
    tree = rows.get("fruit_tree")
    if tree is not None and tree["hv_share"] != "-":
        shares = [100 * r["hypervolume"] / _true_hv(tree) for r in json.loads((RUNS / "fruit_tree" / "summary.json").read_text())["runs"]]
        final = [sum(seed) for seed in _final_population_hits(tree)]
        out.append(
            f"- fruit-tree depth 6, hypervolume >= 95% of the true front's (origin): {min(shares):.1f}% "
            f"(worst seed) .. {max(shares):.1f}% (best); met: {'yes' if min(shares) >= 95 else 'NO'}. "
            f"True leaves in the final archive per seed: {' '.join(map(str, tree['found']))}; in the final "
            f"population (the members' last evaluation): {' '.join(map(str, final))} (of {tree['true_size']})."
        )
    return out + [""]


def _true_hv(row: dict) -> float:
    from morl.pareto import hypervolume

    return hypervolume(row["true_front"], np.asarray(row["ref"]))


def _supported(front: np.ndarray, samples: int = 4001) -> np.ndarray:
    """`[n]` bool: point i maximises `w . v` over the front for some weight `w` (2-D grid)."""
    t = np.linspace(0.0, 1.0, samples)
    weights = np.stack([t, 1.0 - t], axis=1)
    return np.isin(np.arange(len(front)), np.argmax(weights @ front.T, axis=1))


def _final_population_hits(row: dict) -> list[list[bool]]:
    """Per seed, which true-front points the population's last evaluation holds."""
    import csv

    with open(RUNS / row["name"] / "metrics.csv") as handle:
        records = list(csv.DictReader(handle))
    last = max(int(r["chunk"]) for r in records)
    m = row["true_front"].shape[1]
    hits = []
    for record in (r for r in records if int(r["chunk"]) == last):
        members = sorted({int(k.split("_")[0].removeprefix("member")) for k in record if k.startswith("member")})
        points = np.array([[float(record[f"member{i}_return{j}"]) for j in range(m)] for i in members])
        hits.append([bool(np.any(np.all(np.abs(points - p) <= MATCH_TOL, axis=1))) for p in row["true_front"]])
    return hits


def _reference_points(rows: dict) -> list[str]:
    out = ["## Reference points", ""]
    for name, row in rows.items():
        if row is not None and "results" in dict(SETTINGS)[name]:
            out.append(f"- {row['env']}: {row['ref']}")
    return out + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="YAML stems to run (default: all)")
    parser.add_argument("--table", action="store_true", help="only rebuild RESULTS.md")
    parser.add_argument("--cpus", default="", help="pin each run to this taskset CPU list (default: no pinning)")
    args = parser.parse_args(argv)
    known = [name for name, _ in SETTINGS]
    unknown = [n for n in args.names if n not in known]
    if unknown:
        raise SystemExit(f"unknown setting(s) {unknown}; known: {', '.join(known)}")
    if not args.table:
        for name in args.names or known:
            print(f"== {name}", flush=True)
            print(run_setting(name, args.cpus or None), flush=True)
    print(write_results())
    return 0


if __name__ == "__main__":
    sys.exit(main())
