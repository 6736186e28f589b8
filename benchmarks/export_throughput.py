"""`to_gymnasium` exports beside MO-Gymnasium's own numpy envs: single-env Python `step`
loops (random actions, `reset()` at episode end), steps per second measured in turns in
one run, and their ratio (MO-Gymnasium's rate over ours: the floor is 3x). `path` says
how the export steps: a plain-Python twin of the port (`morl.envs.numpy_twins`) or the
port's compiled step.

    .venv/bin/python benchmarks/export_throughput.py
    .venv/bin/python benchmarks/export_throughput.py --env minecart-v0 --steps 20000
"""

from __future__ import annotations

import argparse
import os
import time

import mo_gymnasium
import numpy as np

import morl

DEFAULT_ENVS = ("deep-sea-treasure-v0", "fruit-tree-v0", "four-room-v0", "resource-gathering-v0", "minecart-v0",
                "mo-mountaincar-v0", "mo-mountaincarcontinuous-v0")


def steps_per_s(env, steps: int, seed: int = 0) -> float:
    """Random-action steps per second of a gymnasium env in a Python loop."""
    space = env.action_space
    rng = np.random.default_rng(seed)
    if hasattr(space, "n"):
        actions = rng.integers(0, space.n, steps)
    else:
        actions = rng.uniform(space.low, space.high, (steps, *space.shape)).astype(np.float32)
    env.reset(seed=seed)
    env.step(actions[0])
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", nargs="+", default=list(DEFAULT_ENVS))
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=3, help="alternating measurements per env; the best counts")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'env':<30} {'MO-Gymnasium':>13} {'to_gymnasium':>13} {'slowdown':>9}  path")
    for env_id in args.env:
        ours, theirs = morl.envs.to_gymnasium(morl.envs.make(env_id)), mo_gymnasium.make(env_id)
        best_ours = best_theirs = 0.0
        for turn in range(args.turns):
            best_theirs = max(best_theirs, steps_per_s(theirs, args.steps, turn))
            best_ours = max(best_ours, steps_per_s(ours, args.steps, turn))
        path = "numpy twin" if ours.uses_twin else "compiled"
        print(f"{env_id:<30} {best_theirs:>13,.0f} {best_ours:>13,.0f} {best_theirs / best_ours:>8.1f}x  {path}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
