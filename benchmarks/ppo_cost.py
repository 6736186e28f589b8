"""Where MORL/D's CPU time goes with the PPO learner, against this CPU's matmul rate.

Builds three MORL/D trainers (default settings: 8 envs x 64 steps per member and update,
4 epochs x 4 minibatches, 64-64 tanh actor and vector critic, evaluation every 5 updates)
with 1, 2 and 4 PPO epochs, all else equal, times their chunks in alternation (the best
of `--repeats` rounds each, so that a shared machine's load hits all three alike), and fits
CPU seconds per env step = `rollout + epochs * epoch` (least squares over the three).
`rollout` is everything done once per env step (acting, env step, GAE, evaluation,
archive); `epoch` is one gradient pass over one sample. The floating-point work of an
epoch per sample is counted from the network sizes (forward 2*in*out per dense layer,
backward 4*in*out, 2*in*out for the first layer, whose input needs no gradient), and
divided by `epoch` it gives the rate the gradient epochs reach. In the same run the
script times the network's main matmul shape on its own (`[pop, minibatch, 64] x [pop,
64, 64]`, scanned), the rate a well-shaped matmul reaches on this CPU. Their ratio bounds
what any implementation trick could win: the epochs are at most `peak / achieved` times
faster with every flop at the matmul rate.

    taskset -c 0 env XLA_FLAGS=--xla_cpu_multi_thread_eigen=false .venv/bin/python benchmarks/ppo_cost.py
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from morld_throughput import benchmark_config  # noqa: E402

from morl.algorithms.morld import make_trainer  # noqa: E402
from morl.agents.ppo import PPOSection  # noqa: E402
from morl.algorithms.morld.config import MORLD_PPO  # noqa: E402
from morl.envs import make  # noqa: E402


def dense_flops(sizes: list[int]) -> int:
    """Forward + backward flops per sample through dense layers `sizes[0] -> ... -> sizes[-1]`."""
    flops = 0
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        backward = 2 if layer == 0 else 4  # weight gradient, plus the input gradient past layer 0
        flops += (2 + backward) * n_in * n_out
    return flops


def epoch_flops_per_sample(env_id: str, section: PPOSection) -> int:
    env = make(env_id)
    obs_dim = int(np.prod(env.observation_space().shape))
    space = env.action_space()
    outputs = space.n if hasattr(space, "n") else int(np.prod(space.shape))
    hidden = list(section.hidden_sizes)
    return dense_flops([obs_dim, *hidden, outputs]) + dense_flops([obs_dim, *hidden, env.reward_dim])


def matmul_rate(pop: int, rows: int, width: int, reps: int = 400) -> float:
    """GFLOP/s of `[pop, rows, width] x [pop, width, width]` products chained in a scan."""
    x = jnp.ones((pop, rows, width)) / width
    w = jnp.ones((pop, width, width)) / width

    @jax.jit
    def chain(x, w):
        return jax.lax.scan(lambda c, _: (jnp.einsum("pbk,pkn->pbn", c, w), None), x, None, reps)[0]

    chain(x, w).block_until_ready()
    best = float("inf")
    for _ in range(5):
        tick = time.perf_counter()
        chain(x, w).block_until_ready()
        best = min(best, time.perf_counter() - tick)
    return 2 * pop * rows * width * width * reps / best / 1e9


def cpu_seconds_per_step(env: str, pop: int, chunk: int, repeats: int, sections: list[PPOSection]) -> list[float]:
    """Best process-CPU seconds per training env step of one chunk, per section, timed in turns."""
    trainers, states = [], []
    for section in sections:
        trainer = make_trainer(benchmark_config(env, pop, chunk, ppo=section))
        state, _ = trainer.run_chunk(trainer.init(jax.random.key(0)))  # compile and warm up
        trainers.append(trainer)
        states.append(jax.block_until_ready(state))
    best = [float("inf")] * len(sections)
    for _ in range(repeats):
        for index, trainer in enumerate(trainers):
            tock = time.process_time()
            states[index] = jax.block_until_ready(trainer.run_chunk(states[index])[0])
            best[index] = min(best[index], (time.process_time() - tock) / trainer.env_steps_per_chunk)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="deep-sea-treasure-v0")
    parser.add_argument("--pop", type=int, default=8)
    parser.add_argument("--chunk", type=int, default=10, help="updates per timed chunk")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"jax {jax.__version__}, {len(os.sched_getaffinity(0))} core(s) usable, load {os.getloadavg()[0]:.1f}")
    base = MORLD_PPO
    epochs = (1, 2, 4)
    sections = [dataclasses.replace(base, num_epochs=count) for count in epochs]
    seconds = cpu_seconds_per_step(args.env, args.pop, args.chunk, args.repeats, sections)
    for count, value in zip(epochs, seconds):
        print(f"{count} epoch(s): {1 / value:>10,.0f} env steps per CPU-s")
    epoch, rollout = np.polyfit(epochs, seconds, 1)
    flops = epoch_flops_per_sample(args.env, base)
    achieved = flops / epoch / 1e9
    minibatch = base.num_envs * base.num_steps // base.num_minibatches
    peak = matmul_rate(args.pop, minibatch, base.hidden_sizes[-1])
    print(f"per env step: rollout {rollout * 1e6:.2f} us + {base.num_epochs} x epoch {epoch * 1e6:.2f} us "
          f"= {(rollout + base.num_epochs * epoch) * 1e6:.2f} us of CPU")
    print(f"epoch: {flops:,} flops per sample -> {achieved:.1f} GFLOP/s; "
          f"[{args.pop},{minibatch},{base.hidden_sizes[-1]}]^2 matmul alone: {peak:.1f} GFLOP/s "
          f"(epochs at most {peak / achieved:.2f}x faster at that rate)")
    bound = rollout + base.num_epochs * flops / (peak * 1e9)
    print(f"with every epoch flop at the matmul rate: {1 / bound:,.0f} env steps per CPU-s "
          f"(now {1 / (rollout + base.num_epochs * epoch):,.0f})")


if __name__ == "__main__":
    main()
