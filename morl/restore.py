"""A run directory back as objects: its trainer and latest state, an archive member's policy.

    act = morl.load_policy("runs/NAME", member=3)   # act(obs, key) -> action
    restored = restore_run("runs/NAME")              # RestoredRun(experiment, trainer, state, chunk)

Part of the workflow layer (it rebuilds the trainer through `morl.train_loop.prepare`);
`morl.io` keeps only persistence. Evaluate a policy with `morl.envs.evaluation.evaluate_policy`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax

from morl.algorithms import Policy, Trainer
from morl.config import Experiment, build, load_file
from morl.envs.evaluation import MemoryPolicy
from morl.io import rundir
from morl.io.checkpoint import Checkpointer
from morl.train_loop import prepare, run_keys


@dataclass(frozen=True)
class RestoredRun:
    experiment: Experiment
    trainer: Trainer
    state: Any  # the training state of the latest checkpoint
    chunk: int  # the chunk index it was taken after


def restore_run(run_dir: str | Path) -> RestoredRun:
    """Rebuild the trainer of `run_dir` from its config.yaml and restore the latest
    checkpoint into it (no training step is run)."""


    run_dir = Path(run_dir)
    if not (run_dir / rundir.CONFIG).is_file():
        raise FileNotFoundError(f"'{run_dir}' is not a run directory (no {rundir.CONFIG})")
    experiment = build(load_file(run_dir / rundir.CONFIG))
    job = prepare(experiment, run_dir, resume=True, lock=False)  # a reader: a training may run beside it
    checkpoints = Checkpointer(run_dir / rundir.CHECKPOINTS, read_only=True)
    step, state, meta, notes = checkpoints.restore_latest(jax.eval_shape(job.trainer.init, run_keys(job)))
    checkpoints.close()
    if step is None:
        reason = f" ({'; '.join(notes)})" if notes else ""
        raise FileNotFoundError(f"'{run_dir}' has no intact checkpoint{reason}")
    for note in notes:
        print(f"morl: {note}; using checkpoint {step}", file=sys.stderr)
    return RestoredRun(job.experiment, job.trainer, state, int(meta["chunk"]))


def load_policy(run_dir: str | Path, member: int, run: int = 0) -> Policy | MemoryPolicy:
    """The deterministic policy `act(obs, key) -> action` of archive member `member`
    (an id from front.csv's `member` column) of run `run` in `run_dir`; a
    `morl.envs.evaluation.MemoryPolicy` for algorithms whose policies carry a memory (PCN)."""
    restored = restore_run(run_dir)
    num_runs = restored.trainer.num_runs or 1
    if not 0 <= run < num_runs:
        raise ValueError(f"run {run} is out of range: '{run_dir}' holds {num_runs} run(s)")
    members = restored.trainer.front(restored.state, run).member
    if member not in set(int(i) for i in members):
        known = sorted(int(i) for i in members)
        raise ValueError(f"member {member} is not in the archive of '{run_dir}' run {run}; members: {known}")
    return restored.trainer.policy(restored.state, member, run)
