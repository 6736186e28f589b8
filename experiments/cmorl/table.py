"""Write experiments/cmorl/RESULTS.md from the JSON files `run.py` leaves in results/.

    python experiments/cmorl/table.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from settings import SETTINGS  # noqa: E402

ALGOS = {"barrier": "C-MORL (barrier)", "lagrangian": "C-MORL (Lagrangian)", "floor": "C-MORL (floored barrier)",
         "morld": "MORL/D (weighted sum)"}


def _load() -> dict[tuple[str, str], dict]:
    out = {}
    for path in sorted((HERE / "results").glob("*.json")):
        data = json.loads(path.read_text())
        out[(data["env"], data["algo"])] = data
    return out


def _cell(values: list[float]) -> str:
    v = np.asarray(values, np.float64)
    return f"{np.nanmean(v):.4g} ± {np.nanstd(v):.2g}"


def _rows(data: dict[tuple[str, str], dict], algos: list[str]) -> list[str]:
    lines = ["| env | algorithm | seeds | env steps / seed | hypervolume | expected utility | sparsity | front size | wall (s, all seeds) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for env in SETTINGS:
        for algo in algos:
            if (env, algo) not in data:
                continue
            d = data[(env, algo)]
            res = d["results"]
            lines.append(
                f"| {env} | {ALGOS[algo]} | {d['seeds']} | {d['env_steps_per_seed']:,} | "
                f"{_cell([r['hypervolume'] for r in res])} | {_cell([r['expected_utility'] for r in res])} | "
                f"{_cell([r['sparsity'] for r in res])} | {_cell([r['front_size'] for r in res])} | {d['wall_s']:.0f} |"
            )
    return lines


def main() -> None:
    data = _load()
    lines = [
        "# C-MORL results",
        "",
        "Produced by `experiments/cmorl/run.py` (one command per row, below) and written by",
        "`python experiments/cmorl/table.py`. Mean ± std over seeds (all seeds of a row in one",
        "compiled program, a vmapped run axis). Returns discounted with the setting's eval gamma,",
        "deterministic evaluation; hypervolume exact w.r.t. the reference point below; expected",
        "utility over an evenly spread weight set (50 weights for 2 objectives, 55 for 3, 56 for 6);",
        "sparsity as PGMORL defines it. MORL/D runs on exactly the env steps C-MORL spent. Wall",
        "times on the project's shared 2-core CPU (other jobs running), compilation included.",
        "",
        "## C-MORL beside MORL/D",
        "",
        *_rows(data, ["barrier", "morld"]),
        "",
        "## Constrained step: log barrier vs Lagrangian (and the paper's floored barrier)",
        "",
        *_rows(data, ["barrier", "floor", "lagrangian"]),
        "",
        "## Settings",
        "",
        "| env | T (nominal) | T_init | policies | reference point | eval gamma |",
        "|---|---|---|---|---|---|",
    ]
    for env, c in SETTINGS.items():
        lines.append(f"| {env} | {c.total_steps:,} | {c.init_steps:,} | {c.num_policies} ({c.init_weights}) | "
                     f"{tuple(c.reference)} | {c.eval_gamma} |")
    lines += ["", "Commands:", "", "```"]
    for env, algo in sorted(data):
        lines.append(f"python experiments/cmorl/run.py {env} --algo {algo} --seeds {data[(env, algo)]['seeds']}")
    lines += ["python experiments/cmorl/table.py", "```", ""]
    (HERE / "RESULTS.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
