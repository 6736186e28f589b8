"""Reading run directories back: fronts, curves, true front, and results tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from morl.io import rundir

#: Indicators read from metrics.csv for learning curves.
CURVE_COLUMNS = ("hypervolume", "expected_utility", "sparsity", "cardinality", "igd", "mul")


@dataclass(frozen=True)
class RunRecord:
    """One run (one seed / grid point) of a run directory."""

    name: str  # directory name, plus the grid point when the program ran a grid
    group_key: str  # equal for runs that differ only in their seed
    seed: int
    env: str
    front: np.ndarray  # [n, m] final archive returns (empty before the run finishes)
    steps: np.ndarray  # [k] env steps of the logged chunks
    indicators: dict[str, np.ndarray]  # name -> [k] (NaN where not computed)
    true_front: np.ndarray | None

    @property
    def num_objectives(self) -> int:
        return int(self.front.shape[1])


def load_run(path: str | Path) -> list[RunRecord]:
    """Every run stored in the run directory `path`."""
    from morl.config import build, flatten, load_file, run_points
    from morl.envs import make
    from morl.envs.registry import parse_kwargs

    path = Path(path)
    if not (path / rundir.CONFIG).is_file():
        raise FileNotFoundError(f"'{path}' is not a run directory (no {rundir.CONFIG})")
    experiment = build(load_file(path / rundir.CONFIG))
    env = make(experiment.algo.env, **parse_kwargs(getattr(experiment.algo, "env_kwargs", ())))
    m = env.reward_dim
    true_front = np.asarray(env.pareto_front(experiment.algo.eval_gamma), float) if env.has_pareto_front else None
    seedless = ("seed", "num_seeds", "grid")
    settings = {k: v for k, v in flatten(experiment).items() if k not in seedless and not k.startswith("log.")}
    returns = [f"return{j}" for j in range(m)]
    front_rows = _table(path / rundir.FRONT, ["run", *returns], ["run"], returns)
    metric_rows = _table(path / rundir.METRICS, ["run", "env_steps"], ["run"], ["env_steps"])
    grid_keys = list(experiment.grid)
    points = run_points(experiment)
    records = []
    for run, (seed, point) in enumerate(points):
        front = np.array([[float(r[c]) for c in returns] for r in front_rows if int(r["run"]) == run], float)
        front = front.reshape(-1, m)
        rows = [r for r in metric_rows if int(r["run"]) == run]
        steps = np.array([float(r["env_steps"]) for r in rows])
        indicators = {c: np.array([_number(r.get(c, "")) for r in rows]) for c in CURVE_COLUMNS}
        suffix = ",".join(f"{k.removeprefix('algo.')}={point[k]:g}" for k in grid_keys)
        key = json.dumps({**settings, **{f"grid:{k}": point[k] for k in grid_keys}}, sort_keys=True, default=str)
        records.append(
            RunRecord(
                name=path.name + (f"[{suffix}]" if suffix else ""),
                group_key=key,
                seed=seed,
                env=experiment.algo.env,
                front=front,
                steps=steps,
                indicators=indicators,
                true_front=true_front,
            )
        )
    return records


def _table(path: Path, required: list[str], integers: list[str], numbers: list[str]) -> list[dict[str, str]]:
    """The rows of a run's CSV file (none if it does not exist yet), checked: a damaged
    file or cell is a one-line `ValueError` naming the file, line and column."""
    if not path.exists():
        return []
    rows = rundir.read_csv(path, required)
    for line, row in enumerate(rows, start=2):
        for column in integers + numbers:
            try:
                int(row[column]) if column in integers else float(row[column])
            except ValueError:
                raise ValueError(f"'{path}' line {line}: column {column} holds {row[column]!r}, not a number") from None
    return rows


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _summary(path: Path) -> dict[str, Any]:
    """A run's summary.json, checked for what the table reads (one-line errors)."""
    if not path.is_file():
        raise FileNotFoundError(f"'{path}' does not exist (the run has not finished)")
    try:
        summary = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"'{path}' cannot be read: {err}") from None
    needed = ("runs", "env", "algorithm", "env_steps")
    if not isinstance(summary, dict) or any(k not in summary for k in needed) or not isinstance(summary["runs"], list):
        raise ValueError(f"'{path}' is damaged: it needs the keys {', '.join(needed)}")
    return summary


def markdown_table(run_dirs: list[str | Path]) -> str:
    """A Markdown table of final indicators, one line per group of runs that differ only
    in their seed: mean +- standard deviation over seeds (from each summary.json)."""
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    order: list[str] = []
    for d in run_dirs:
        path = Path(d)
        summary = _summary(path / rundir.SUMMARY)
        for record, run in zip(load_run(path), summary["runs"]):
            if record.group_key not in groups:
                order.append(record.group_key)
            info = {**run, "env": summary["env"], "algorithm": summary["algorithm"], "env_steps": summary["env_steps"]}
            groups.setdefault(record.group_key, []).append((record.name, info))
    columns = ("hypervolume", "expected_utility", "sparsity", "cardinality", "igd", "mul")
    header = "| run | algorithm | env | env steps | seeds | " + " | ".join(columns) + " |"
    lines = [header, "|" + "---|" * (5 + len(columns))]
    for key in order:
        runs = groups[key]
        names = "+".join(dict.fromkeys(name for name, _ in runs))
        first = runs[0][1]
        cells = [names, first["algorithm"], first["env"], f"{first['env_steps']:,}", str(len(runs))]
        for column in columns:
            values = np.array([_number(str(r[column])) for _, r in runs])
            values = values[np.isfinite(values)]
            if values.size == 0:
                cells.append("")
            else:
                cells.append(f"{values.mean():.4g} ± {values.std():.2g}" if values.size > 1 else f"{values[0]:.4g}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
