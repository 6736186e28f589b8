"""Overhead of a 3-transform reward-shaping chain on PPO's training time.

PPO (morl.agents.ppo) on deep-sea-treasure (float observations), one member, the whole
run jitted as one `lax.scan`; compile time excluded. Baseline: no shaping (identity).
Shaped: chain(normalize(returns=True), clip(bound=10), potential(linear phi)). Runs are
interleaved (ABBA order, so drifting load affects both alike); the script prints the
ratio of the minimum timings and the median of the per-round ratios. Floor (issue 5):
the chain adds under 10%.

On a shared, loaded CPU the PPO timings of the two variants jitter by tens of percent;
the script therefore also times the chain alone (a `lax.scan` over the same number of
`[num_envs, 2]` reward batches) and prints it as a fraction of the baseline run.

    .venv/bin/python benchmarks/shaping_overhead.py [--updates 20] [--repeats 9]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp

import morl
from morl.agents import ppo
from morl.shaping import ShapingContext, chain, clip, normalize, potential


def _linear_phi(params, obs):
    """A vector potential `[m]` linear in the observation."""
    return params @ obs


def _compiled_train(env, shaping, updates, config):
    learner = ppo.make(env, config, shaping=shaping)
    train = jax.jit(learner.make_train(updates))
    key, weights = jax.random.key(0), jnp.array([0.5, 0.5])
    compiled = train.lower(key, weights).compile()
    return lambda: jax.block_until_ready(compiled(key, weights))


def _compiled_chain_alone(shaping, num_calls, num_envs):
    """The chain applied `num_calls` times to `[num_envs, 2]` rewards in one `lax.scan`."""
    inputs = jax.random.uniform(jax.random.key(1), (num_calls, num_envs, 2))

    def run(inputs):
        def body(state, x):
            done = x[:, 0] > 0.9
            shaped, state = shaping.apply(state, x, ShapingContext(x, x, jnp.float32(0.99), done, done))
            return state, shaped

        return jax.lax.scan(body, shaping.init(2, (num_envs,)), inputs)

    compiled = jax.jit(run).lower(inputs).compile()
    return lambda: jax.block_until_ready(compiled(inputs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=20, help="PPO updates per timed run")
    parser.add_argument("--repeats", type=int, default=9, help="timed rounds (one run of each variant per round)")
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--num-steps", type=int, default=128)
    args = parser.parse_args()

    env = morl.envs.make("deep-sea-treasure-v0", float_state=True)
    config = ppo.PPOConfig(num_envs=args.num_envs, num_steps=args.num_steps)
    phi_params = jnp.array([[1.0, -2.0], [0.5, 3.0]], jnp.float32)
    shaped_chain = chain(normalize(returns=True), clip(bound=10.0), potential(_linear_phi, phi_params))
    runs = {
        "identity": _compiled_train(env, None, args.updates, config),
        "3-transform chain": _compiled_train(env, shaped_chain, args.updates, config),
        "chain alone": _compiled_chain_alone(shaped_chain, args.updates * args.num_steps, args.num_envs),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(args.repeats):
        order = list(runs) if round_ % 2 == 0 else list(runs)[::-1]
        for name in order:
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    best = {name: min(values) for name, values in times.items()}
    ratios = sorted(c / b for b, c in zip(times["identity"], times["3-transform chain"]))
    steps = args.updates * config.batch_size
    print(f"device: {jax.devices()[0].device_kind}; {args.updates} PPO updates x {config.batch_size} env steps, "
          f"{args.repeats} rounds")
    alone_seconds = best.pop("chain alone")
    for name, seconds in best.items():
        print(f"  PPO, {name:>17}: {seconds:.3f} s  ({steps / seconds / 1e3:.1f} k env steps/s)")
    print(f"  the chain alone, same steps: {alone_seconds:.4f} s")
    alone = alone_seconds / best["identity"]
    overhead = best["3-transform chain"] / best["identity"] - 1.0
    median = ratios[len(ratios) // 2] - 1.0
    print(f"overhead of the chain: {100 * overhead:+.1f}% (min vs min), {100 * median:+.1f}% (median of "
          f"per-round ratios); the chain alone costs {100 * alone:.1f}% of the baseline run  (floor: < 10%)")


if __name__ == "__main__":
    main()
