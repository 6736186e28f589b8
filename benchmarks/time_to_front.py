"""Wall-clock to a Pareto front: MORL/D here vs morl-baselines' MORL/D on deep-sea-treasure.

Throughput (`vs_morl_baselines.py`) compares env steps per second; this compares what a
researcher waits for: the time until the archive holds a given share of the true front.
Both runs use each library's defaults for MORL/D on a discrete task, evaluated against
deep-sea-treasure's `pareto_front(0.99)` (reference point (0, -25), the hypervolume of
the true front is 360.4):

- ours: `MORLDConfig(env="deep-sea-treasure-v0", eval_gamma=0.99)` (the quickstart's
  defaults: 16 PPO members, weighted sum), timed from `make_trainer` on, compilation
  included (the persistent compile cache is switched off for this script), the archive
  read after every chunk;
- theirs (`morl_baselines.multi_policy.morld.MORLD`, PyTorch, in its own virtual
  environment as in `vs_morl_baselines.py`): its defaults (6 discrete-SAC members,
  weighted sum, 40,000 env steps per member's turn, evaluation after each turn) with
  `gamma=0.99` so that its evaluations are in the same units, one evaluation episode (the
  env is deterministic), no logging or checkpoints; its archive read after each turn,
  timed from construction, for `--mb-budget` seconds.

Printed: per library, the wall-clock seconds and env steps at which the archive first
reached 50 / 90 / 99 / 100 % of the true front's hypervolume and all 10 points (within
1e-3), and where it ended.

    .venv/bin/python benchmarks/time_to_front.py --mb-budget 1200
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
from pathlib import Path

import jax
import numpy as np

jax.config.update("jax_enable_compilation_cache", False)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from vs_morl_baselines import run_morl_baselines  # noqa: E402

from morl.algorithms.morld import MORLDConfig, make_trainer  # noqa: E402
from morl.envs import make  # noqa: E402
from morl.pareto import hypervolume  # noqa: E402
from morl.pareto.archive import archive_front  # noqa: E402

REF = np.array([0.0, -25.0])
GAMMA = 0.99
SHARES = (0.5, 0.9, 0.99, 1.0)

THEIRS = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np, mo_gymnasium as mo_gym
    start = time.perf_counter()
    from morl_baselines.multi_policy.morld.morld import MORLD
    budget, ref = float(sys.argv[1]), np.array(json.loads(sys.argv[2]), dtype=np.float32)
    agent = MORLD(mo_gym.make("deep-sea-treasure-v0"), policy_name="MOSACDiscrete", gamma=0.99,
                  log=False, device="cpu", seed=0)
    eval_env = mo_gym.make("deep-sea-treasure-v0")
    while time.perf_counter() - start < budget:
        agent.train(total_timesteps=agent.global_step + agent.exchange_every, eval_env=eval_env, ref_point=ref,
                    num_eval_episodes_for_front=1, checkpoints=False)
        points = [np.asarray(e, float).tolist() for e in agent.archive.evaluations]
        print("POINT " + json.dumps({"wall": time.perf_counter() - start, "steps": agent.global_step, "front": points}), flush=True)
    """
)


def progress(front: np.ndarray, true_front: np.ndarray) -> tuple[float, int]:
    """(hypervolume of `front [k, 2]`, how many true points it holds within 1e-3)."""
    if len(front) == 0:
        return 0.0, 0
    volume = float(hypervolume(np.asarray(front, np.float64), REF))
    found = int(sum(np.any(np.all(np.abs(front - point) <= 1e-3, axis=1)) for point in true_front))
    return volume, found


def ours(true_front: np.ndarray) -> list[dict]:
    start = time.perf_counter()
    trainer = make_trainer(MORLDConfig(env="deep-sea-treasure-v0", eval_gamma=GAMMA))
    state = trainer.init(jax.random.key(0))
    trace = []
    while not trainer.done(state):
        state, _ = trainer.run_chunk(state)
        points, _ = archive_front(state.archive)
        volume, found = progress(np.asarray(points, np.float64), true_front)
        trace.append({"wall": time.perf_counter() - start, "steps": trainer.env_steps(state), "hv": volume, "found": found})
    return trace


def theirs(python: str, budget: float, true_front: np.ndarray) -> list[dict]:
    rows = run_morl_baselines(python, THEIRS, [str(budget), json.dumps(REF.tolist())], "POINT")
    trace = []
    for row in rows:
        volume, found = progress(np.asarray(row["front"], np.float64).reshape(-1, 2), true_front)
        trace.append({"wall": row["wall"], "steps": row["steps"], "hv": volume, "found": found})
    return trace


def report(name: str, trace: list[dict], true_volume: float, size: int) -> None:
    cells = []
    for share in SHARES:
        hit = next((row for row in trace if row["hv"] >= share * true_volume - 1e-9), None)
        cells.append(f"{hit['wall']:.0f} s / {hit['steps']:,}" if hit else "not reached")
    hit = next((row for row in trace if row["found"] == size), None)
    cells.append(f"{hit['wall']:.0f} s / {hit['steps']:,}" if hit else "not reached")
    last = trace[-1]
    cells.append(f"{last['hv'] / true_volume:.1%}, {last['found']} points after {last['wall']:.0f} s / {last['steps']:,}")
    print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb-python", default="/tmp/mb-venv/bin/python")
    parser.add_argument("--mb-budget", type=float, default=1200.0, help="their wall-clock budget in seconds")
    args = parser.parse_args()
    true_front = make("deep-sea-treasure-v0").pareto_front(GAMMA)
    true_volume, size = progress(true_front, true_front)
    print(f"deep-sea-treasure-v0, gamma {GAMMA}, true front: {size} points, hypervolume {true_volume:.1f}; "
          f"{len(os.sched_getaffinity(0))} core(s) usable, load {os.getloadavg()[0]:.1f}", flush=True)
    mine = ours(true_front)
    other = theirs(args.mb_python, args.mb_budget, true_front)
    shares = " | ".join(f"{share:.0%} of HV" for share in SHARES)
    print(f"| library | {shares} | all {size} points | end |")
    print("|---" * (len(SHARES) + 3) + "|")
    report("morl (JAX), MORL/D defaults", mine, true_volume, size)
    report("morl-baselines, MORL/D defaults", other, true_volume, size)


if __name__ == "__main__":
    main()
