"""Why a MORL/D population misses fruit-tree leaves: one run, leaf by leaf.

    python experiments/morld/fruit_tree_diagnose.py --lattice            # weights only, no training
    python experiments/morld/fruit_tree_diagnose.py pop_size=64 ppo.ent_coef=0.3 ...

`--lattice`: which of the 64 leaves (all Pareto-optimal, discounted with gamma 0.99) the
evenly spread weights of `uniform_weights(6, n)` select at convergence, under the weighted
sum and under Tchebycheff with z* = max leaf + tau, and their share of the true front's
hypervolume (origin); plus each leaf's exclusive hypervolume and the share of the simplex
(Dirichlet(1) samples) whose weighted sum it maximises.

Training (`key=value` overrides of `MORLDConfig` on fruit-tree-v0 depth 6; `ppo.*` and
`sac.*` for the learner sections; `runs=R` seeds in one program): after every chunk the
leaves in each run's archive, their hypervolume share and the distinct leaves of the
members' last evaluation; at the end, for run 0: z*, the share of members whose last
evaluation is their own weight's optimal leaf (weighted sum and Tchebycheff), the rank of
that leaf among the 64 under the member's weighted sum, and the missing leaves with their
exclusive hypervolume and how many members' weights select them.
"""

from __future__ import annotations

import sys
import time

import jax
import numpy as np
import yaml

from morl import envs
from morl.algorithms.morld.config import MORLD_PPO, MORLDConfig, SACSection
from morl.algorithms.morld.train import make_trainer
from morl.decomposition import weights as weight_sets
from morl.pareto import hypervolume

ENV = envs.make("fruit-tree-v0", depth=6)
REF = np.zeros(6)


def _front(gamma: float) -> tuple[np.ndarray, float, np.ndarray]:
    front = np.asarray(ENV.pareto_front(gamma), float)
    total = hypervolume(front, REF)
    exclusive = np.array([total - hypervolume(np.delete(front, i, 0), REF) for i in range(len(front))]) / total
    return front, total, exclusive


def _tchebycheff_choice(weights: np.ndarray, ideal: np.ndarray, front: np.ndarray) -> np.ndarray:
    return np.argmin(np.max(weights[:, None, :] * (ideal - front)[None], axis=-1), axis=1)


def lattice() -> None:
    front, total, exclusive = _front(0.99)
    share = lambda idx: hypervolume(front[np.unique(idx)], REF) / total * 100
    for n in (64, 128, 256, 512):
        w = weight_sets.uniform_weights(6, n)
        cells = [f"weighted sum {len(np.unique(np.argmax(w @ front.T, 1)))} leaves {share(np.argmax(w @ front.T, 1)):.1f}%"]
        for tau in (0.5, 1.0, 2.0):
            idx = _tchebycheff_choice(w, front.max(0) + tau, front)
            cells.append(f"tchebycheff tau {tau}: {len(np.unique(idx))} {share(idx):.1f}%")
        print(f"n={n}: " + " | ".join(cells))
    samples = np.random.default_rng(0).dirichlet(np.ones(6), 200_000)
    cone = np.bincount(np.argmax(samples @ front.T, 1), minlength=len(front)) / len(samples)
    print("leaf, exclusive HV %, weighted-sum cone % of the simplex (largest exclusive HV first):")
    for i in np.argsort(-exclusive)[:20]:
        print(f"  {i:2d} {100 * exclusive[i]:5.2f} {100 * cone[i]:6.3f} {np.round(front[i], 2)}")


def train(argv: list[str]) -> None:
    args = dict(a.split("=", 1) for a in argv)
    runs = int(args.pop("runs", "1"))
    sections: dict[str, dict] = {"": {}, "ppo.": {}, "sac.": {}}
    for key, text in args.items():
        prefix = next((p for p in ("ppo.", "sac.") if key.startswith(p)), "")
        value = yaml.safe_load(text)
        sections[prefix][key.removeprefix(prefix)] = tuple(value) if isinstance(value, list) else value
    config = MORLDConfig(
        env="fruit-tree-v0", env_kwargs=("depth=6",), **sections[""],
        ppo=MORLD_PPO.replace(**sections["ppo."]), sac=SACSection(**sections["sac."]),
    )
    front, total, exclusive = _front(config.eval_gamma)

    def leaves(points: np.ndarray) -> np.ndarray:
        """`[len(points)]` leaf index within 1e-3, or -1."""
        if len(points) == 0:
            return np.zeros(0, int)
        gap = np.abs(points[:, None, :] - front[None]).max(-1)
        return np.where(gap.min(1) <= 1e-3, gap.argmin(1), -1)

    trainer = make_trainer(config, num_runs=runs)
    start = time.perf_counter()
    state = trainer.init(jax.random.split(jax.random.key(0), runs))
    while not trainer.done(state):
        state, _ = trainer.run_chunk(state)
        cells = []
        for r in range(runs):
            found = np.unique(leaves(trainer.front(state, r).returns))
            found = found[found >= 0]
            final = np.unique(leaves(np.asarray(state.member_returns[r])))
            cells.append(f"archive {len(found)} leaves {hypervolume(front[found], REF) / total * 100:.1f}%, population {len(final[final >= 0])}")
        print(f"{time.perf_counter() - start:6.0f} s, {trainer.env_steps(state):,} steps/seed: " + "; ".join(cells), flush=True)
    w = np.asarray(trainer.weights)
    ideal = np.asarray(state.extra["ideal"][0])
    member = leaves(np.asarray(state.member_returns[0]))
    ws_best = np.argmax(w @ front.T, 1)
    tch_best = _tchebycheff_choice(w, ideal, front)
    values = w @ front.T
    got = np.where(member >= 0, values[np.arange(len(w)), np.maximum(member, 0)], -np.inf)
    rank = (values > got[:, None] + 1e-9).sum(1)
    print("run 0: z* =", np.round(ideal, 2), "; max leaf =", np.round(front.max(0), 2))
    print(f"members at their weight's optimal leaf: weighted sum {np.mean(member == ws_best):.0%}, "
          f"tchebycheff {np.mean(member == tch_best):.0%}; off the front {np.mean(member < 0):.0%}")
    print(f"rank of the member's leaf under its weighted sum (0 = optimal): median {np.median(rank):.0f}, "
          f"mean relative regret {np.mean(1 - got / values.max(1)):.3f}")
    found = np.unique(leaves(trainer.front(state, 0).returns))
    missing = np.setdiff1d(np.arange(len(front)), found)
    print("missing leaves (index, exclusive HV %, members whose weighted sum / Tchebycheff selects it):")
    for i in missing[np.argsort(-exclusive[missing])]:
        print(f"  {i:2d} {100 * exclusive[i]:5.2f} {np.sum(ws_best == i):3d} {np.sum(tch_best == i):3d}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--lattice"]:
        lattice()
    else:
        train(sys.argv[1:])
