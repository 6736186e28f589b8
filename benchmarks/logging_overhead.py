"""What logging and checkpointing cost a `morl train` run at the default periods.

First runs the job as `morl train` does (fresh trainer, compilation included), then the
same job warm both ways (alternating, `--repeats` times each, best time kept):
1. bare: `while not done: state = run_chunk(state)` (blocking on each chunk), no output;
2. logged: `morl.train_loop.run` with the default `LogConfig` (every chunk: host
   indicators, TensorBoard, progress bar; metrics.csv rewrite + fsync every 30 s and
   before each checkpoint; orbax checkpoints every 10 chunks and at the end; final
   front.csv, front.png, summary).
Prints both wall-clock times and the overhead `(logged - bare) / logged`, plus the
loop's own account: the fraction of its wall-clock spent outside `trainer.init` and
`run_chunk` (set-up, metrics, files, TensorBoard, checkpoints, final plot), which a busy
shared machine disturbs far less than the difference of two separate timings.

    .venv/bin/python benchmarks/logging_overhead.py                  # MORL/D, DST defaults
    .venv/bin/python benchmarks/logging_overhead.py --algorithm dummy  # jitted stand-in

`--algorithm dummy` times a jitted stand-in whose chunk costs about as much as a small
MORL/D chunk (a scan of matmuls over a population of 16 64x64 "networks") and whose
archive is 64 points on deep-sea-treasure's scale; it is defined here, not in the package.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from morl import config as morl_config  # noqa: E402
from morl import envs  # noqa: E402
from morl.algorithms import Front, register_algorithm  # noqa: E402
from morl.train_loop import prepare, run, run_keys  # noqa: E402


@dataclasses.dataclass(frozen=True)
class DummyConfig:
    env: str = "deep-sea-treasure-v0"
    total_steps: int = 300_000
    ref_point: tuple[float, ...] | None = None
    eval_gamma: float = 1.0
    chunk_steps: int = 10_000
    matmuls: int = 400  # per chunk; sets the chunk time


@functools.partial(jax.jit, static_argnames=("matmuls", "chunk_steps"))
def _dummy_chunk(state, matmuls, chunk_steps):
    def body(w, _):
        return jnp.tanh(w @ w) * 0.5, None

    params, _ = jax.lax.scan(body, state["params"], None, length=matmuls)
    key, sub = jax.random.split(state["key"])
    archive = state["archive"] + 0.01 * jnp.abs(jax.random.normal(sub, state["archive"].shape)) + 0 * params.mean()
    new = {"params": params, "key": key, "archive": archive, "steps": state["steps"] + chunk_steps}
    return new, {"member_returns": archive[:16], "loss": params.mean()}


class DummyTrainer:
    def __init__(self, config: DummyConfig, num_runs=None, hparams=None):
        self.config, self.env, self.num_runs = config, envs.make(config.env), None

    def init(self, key):
        k1, k2 = jax.random.split(key)
        archive = jnp.array([0.0, -25.0]) + jnp.abs(jax.random.normal(k2, (64, 2)))
        params = jax.random.normal(k1, (16, 64, 64)) * 0.1
        return {"params": params, "key": key, "archive": archive, "steps": jnp.int32(0)}

    def run_chunk(self, state):
        return _dummy_chunk(state, self.config.matmuls, self.config.chunk_steps)

    def done(self, state):
        return int(state["steps"]) >= self.config.total_steps

    def env_steps(self, state):
        return int(state["steps"])

    def front(self, state, run=0):
        returns = np.asarray(state["archive"])
        return Front(returns, np.full_like(returns, 0.5), np.arange(len(returns)))

    def policy(self, state, member, run=0):
        return lambda obs, key: jnp.int32(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithm", default="morld", help="registered algorithm, or 'dummy'")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if args.algorithm == "dummy":
        register_algorithm("dummy", DummyConfig, lambda c, num_runs=None, hparams=None: DummyTrainer(c))
    overrides = [morl_config.parse_assignment(s) for s in args.set]
    experiment = morl_config.build({"algorithm": args.algorithm}, overrides)
    bare_times, logged_times, accounts = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        # imports the logged run makes lazily (matplotlib, orbax, tensorboardX) are a
        # one-off cost of any `morl` process, not of logging
        import morl.io.checkpoint, morl.io.plots, morl.io.tensorboard  # noqa: F401, E401

        # 1. as `morl train` runs it: a fresh trainer, compilation included
        job = prepare(experiment, Path(tmp) / "fresh")
        fresh = run(job)
        trainer = job.trainer  # now compiled; reused below
        for repeat in range(args.repeats):  # 2. warm: alternate, so drifting load hits both
            start = time.perf_counter()
            state, chunks = jax.block_until_ready(trainer.init(run_keys(job))), 0
            while not trainer.done(state):
                state, _ = trainer.run_chunk(state)
                jax.block_until_ready(state)
                chunks += 1
            bare_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            summary = run(dataclasses.replace(job, run_dir=Path(tmp) / f"warm{repeat}"))
            logged_times.append(time.perf_counter() - start)
            accounts.append(summary["logging_overhead"])
    bare, logged = min(bare_times), min(logged_times)
    steps = trainer.env_steps(state)
    print(f"algorithm {args.algorithm} on {experiment.algo.env}: {chunks} chunks, {steps:,} env steps")
    print(f"log settings: {morl_config.to_dict(experiment.log)}")
    print(
        f"as `morl train` runs it (compilation included): {fresh['wall_time']:.2f} s, "
        f"{100 * fresh['logging_overhead']:.2f} % of it outside the trainer"
    )
    print(f"warm, loop's own account (outside trainer.init/run_chunk): {[round(100 * a, 2) for a in accounts]} %")
    per_chunk = bare / chunks * 1e3
    print(f"warm, bare loop  {bare:7.2f} s ({per_chunk:.0f} ms per chunk), all {[round(t, 2) for t in bare_times]}")
    print(f"warm, morl train {logged:7.2f} s, all {[round(t, 2) for t in logged_times]}")
    difference = 100 * (logged - bare) / logged
    print(f"warm, end to end (logged - bare) / logged: {difference:.2f} % (best of {args.repeats} each)")


if __name__ == "__main__":
    main()
