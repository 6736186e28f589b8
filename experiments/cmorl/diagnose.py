"""Where a C-MORL run's hypervolume comes from: the init stage's front vs the final one,
per seed, and what each extension round did (all seeds in one compiled program).

    python experiments/cmorl/diagnose.py minecart-v0 --seeds 5 n_select=2 extension_updates=30

`key=value` arguments replace fields of `settings.SETTINGS[env]` (`ppo.name=value` for
the PPO section). Prints, per seed: the hypervolume of the archive after the init stage
and after the whole run, the init policies' last evaluated returns, and per extension
round the archive's hypervolume and how many children entered the archive; with
`--verbose` every round's parent and child returns.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from settings import SETTINGS  # noqa: E402

from morl.algorithms.cmorl import make_trainer  # noqa: E402
from morl.pareto import hypervolume  # noqa: E402


def configure(env: str, overrides: list[str]):
    config = SETTINGS[env]
    top, ppo = {}, {}
    for item in overrides:
        name, _, text = item.partition("=")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        (ppo if name.startswith("ppo.") else top)[name.removeprefix("ppo.")] = value
    if ppo:
        top["ppo"] = dataclasses.replace(config.ppo, **ppo)
    return dataclasses.replace(config, **top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("env", choices=sorted(SETTINGS))
    parser.add_argument("overrides", nargs="*", help="field=value (ppo.field=value for the PPO section)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--init-only", action="store_true", help="stop after the init stage")
    parser.add_argument("--save", type=Path, default=None, help="write the final fronts (per seed) to this JSON file")
    args = parser.parse_intermixed_args()
    config = configure(args.env, args.overrides)
    trainer = make_trainer(config, num_runs=args.seeds)
    b = trainer.budget
    print(f"{args.env} {' '.join(args.overrides)}: init {b.init_updates} updates x {config.pop_size} policies "
          f"({b.init_steps} steps), {b.extension_rounds} rounds x {b.problems_per_round} problems x "
          f"{config.extension_updates} updates ({b.extension_steps} steps), total {b.total_steps}")
    ref = np.asarray(config.reference, np.float64)
    seeds = range(args.seed, args.seed + args.seeds)
    start = time.perf_counter()
    state = trainer.init(jax.vmap(jax.random.key)(np.arange(args.seed, args.seed + args.seeds)))

    def hvs(state):
        return [hypervolume(np.asarray(trainer.front(state, run=r).returns, np.float64), ref) for r in range(args.seeds)]

    for _ in range(b.init_chunks):
        state, metrics = trainer.run_chunk(state)
    init_hv = hvs(state)
    last = np.asarray(metrics["member_returns"])[:, : config.pop_size]
    print(f"after init: entropy {float(np.mean(metrics['entropy'])):.3f}")
    for r, s in enumerate(seeds):
        print(f"  seed {s}: HV {init_hv[r]:.1f}; init policies (weights {trainer.weights.tolist()}):")
        print("    " + "; ".join(str(v) for v in last[r].round(3).tolist()))
    rounds = []
    while not trainer.done(state) and not args.init_only:
        before = [len(trainer.members(state, r).member) for r in range(args.seeds)]
        state, metrics = trainer.run_chunk(state)
        rounds.append(hvs(state))
        if args.verbose:
            parents = np.asarray(metrics["parent_returns"])
            children = np.asarray(metrics["member_returns"])
            for r, s in enumerate(seeds):
                print(f"  round {len(rounds)} seed {s} (archive {before[r]} -> "
                      f"{len(trainer.members(state, r).member)}):")
                for p, c in zip(parents[r].round(3).tolist(), children[r].round(3).tolist()):
                    print(f"    {p} -> {c}")
    wall = time.perf_counter() - start
    final = hvs(state)
    if args.save is not None:
        fronts = [np.asarray(trainer.front(state, run=r).returns).round(4).tolist() for r in range(args.seeds)]
        args.save.write_text(json.dumps({"overrides": args.overrides, "hypervolume": final, "fronts": fronts}))
    for r, s in enumerate(seeds):
        path = " -> ".join(f"{h[r]:.1f}" for h in rounds)
        front = np.asarray(trainer.front(state, run=r).returns)
        extremes = "; ".join(str(front[np.argmax(front[:, j])].round(3).tolist()) for j in range(front.shape[1]))
        print(f"seed {s}: init HV {init_hv[r]:.1f}, rounds {path}; final {final[r]:.1f}, "
              f"front {len(front)}, best per objective {extremes}")
    print(f"HV init {np.mean(init_hv):.1f} +- {np.std(init_hv):.1f}; final {np.mean(final):.1f} +- {np.std(final):.1f} "
          f"(seeds {' '.join(f'{h:.0f}' for h in final)}); {trainer.env_steps(state)} env steps; {wall:.0f} s")


if __name__ == "__main__":
    main()
