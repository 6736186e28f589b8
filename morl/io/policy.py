"""Policies back from a run directory, and their evaluation.

    act = morl.io.load_policy("runs/NAME", member=3)   # act(obs, key) -> action
    state = restore_run("runs/NAME")                    # RestoredRun(experiment, trainer, state)
    returns = evaluate_policy(env, act, key, episodes=5, gamma=0.99)   # [episodes, m]
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from morl.algorithms import Policy, Trainer
from morl.config import Experiment


@dataclass(frozen=True)
class RestoredRun:
    experiment: Experiment
    trainer: Trainer
    state: Any  # the training state of the latest checkpoint
    chunk: int  # the chunk index it was taken after


def restore_run(run_dir: str | Path) -> RestoredRun:
    """Rebuild the trainer of `run_dir` from its config.yaml and restore the latest
    checkpoint into it (no training step is run)."""
    from morl.config import build, load_file
    from morl.io import rundir
    from morl.io.checkpoint import Checkpointer
    from morl.train_loop import prepare, run_keys

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


def load_policy(run_dir: str | Path, member: int, run: int = 0) -> Policy:
    """The deterministic policy `act(obs, key) -> action` of archive member `member`
    (an id from front.csv's `member` column) of run `run` in `run_dir`."""
    restored = restore_run(run_dir)
    num_runs = restored.trainer.num_runs or 1
    if not 0 <= run < num_runs:
        raise ValueError(f"run {run} is out of range: '{run_dir}' holds {num_runs} run(s)")
    members = restored.trainer.front(restored.state, run).member
    if member not in set(int(i) for i in members):
        known = sorted(int(i) for i in members)
        raise ValueError(f"member {member} is not in the archive of '{run_dir}' run {run}; members: {known}")
    return restored.trainer.policy(restored.state, member, run)


def evaluate_policy(
    env: Any, act: Policy, key: jax.Array, episodes: int, gamma: float, max_steps: int = 10_000
) -> np.ndarray:
    """Discounted vector returns `[episodes, m]` of `act` on `env` (one jitted program:
    episodes vmapped, each a `while_loop` until terminated/truncated or `max_steps`).

    A policy that is a `jax.tree_util.Partial` whose leaves are all arrays is passed as an
    argument, so every member of an archive reuses one compiled rollout; any other
    callable is traced into a rollout of its own.
    """
    batch, compiled = _rollouts(env, episodes, float(gamma), max_steps)
    if isinstance(act, jax.tree_util.Partial) and all(_is_array(leaf) for leaf in jax.tree.leaves(act)):
        return np.asarray(compiled(act, key))
    return np.asarray(jax.jit(lambda k: batch(act, k))(key))


def _is_array(leaf: Any) -> bool:
    return isinstance(leaf, (jax.Array, np.ndarray, np.generic, int, float, bool))


@functools.lru_cache(maxsize=16)
def _rollouts(env: Any, episodes: int, gamma: float, max_steps: int) -> tuple[Any, Any]:
    """The batched rollout function and its jitted version (cached per env and settings)."""
    m = env.reward_dim

    def one(act: Policy, key: jax.Array) -> jax.Array:
        key, reset_key = jax.random.split(key)
        obs, state = env.reset(reset_key)

        def cond(carry):
            _, _, _, _, t, done = carry
            return jnp.logical_and(~done, t < max_steps)

        def body(carry):
            key, obs, state, ret, t, _ = carry
            key, act_key, step_key = jax.random.split(key, 3)
            action = act(obs, act_key)
            obs, state, reward, terminated, truncated, _ = env.step(step_key, state, action)
            ret = ret + (gamma**t) * reward
            return key, obs, state, ret, t + 1, jnp.logical_or(terminated, truncated)

        carry = (key, obs, state, jnp.zeros(m, jnp.float32), jnp.int32(0), jnp.bool_(False))
        return jax.lax.while_loop(cond, body, carry)[3]

    def batch(act: Policy, key: jax.Array) -> jax.Array:
        return jax.vmap(one, in_axes=(None, 0))(act, jax.random.split(key, episodes))

    return batch, jax.jit(batch)
