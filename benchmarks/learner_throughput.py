"""PPO training throughput (env steps per second, updates included) beside env-only stepping.

For each environment and population size, one jitted program runs `--updates` PPO updates
of the whole vmapped population inside `lax.scan`; the same program shape with random
actions and no learning gives the env-only rate for the same number of envs. Both are
timed after a warm-up call (compile excluded) in the same process. Wall-clock rates and
rates per CPU-second of this process are printed: on a shared CPU the second, and the
ratio of the two programs, are the more stable figures.

    .venv/bin/python benchmarks/learner_throughput.py
    .venv/bin/python benchmarks/learner_throughput.py --envs deep-sea-treasure-v0 --pop 16 --hidden 32,32
    XLA_FLAGS=--xla_cpu_multi_thread_eigen=false .venv/bin/python benchmarks/learner_throughput.py \
        --envs deep-sea-treasure-v0 --pop 16 64 --hidden 32,32 --devices 2

`--devices D` splits the population over D devices (`morl.parallel`; on CPU, D host
devices, each running its share of the members on its own thread); the env-only program
stays on one device. With several CPU devices, XLA's intra-op thread pool is best switched
off (`--xla_cpu_multi_thread_eigen=false`): each device then runs on one core.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import jax
import jax.numpy as jnp

import morl
from morl import parallel
from morl.agents import ppo
from morl.envs.wrappers import AutoReset, EpisodeStatistics


def _time(fn, *args, repeats: int) -> tuple[float, float]:
    """Best wall-clock and best process CPU seconds (all threads) of `repeats` calls."""
    jax.block_until_ready(fn(*args))  # compile + warm-up
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        jax.block_until_ready(fn(*args))
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def ppo_rate(env, config: ppo.PPOConfig, pop: int, updates: int, repeats: int, devices: int = 1) -> tuple[float, float]:
    learner = ppo.make(env, config)
    weights = jax.random.dirichlet(jax.random.key(1), jnp.ones(env.reward_dim), (pop,))
    layout = parallel.placement(devices, num_runs=None, population=pop)
    init = parallel.jit_init(jax.vmap(learner.init), layout)
    states = init(jax.random.split(jax.random.key(0), pop), weights)

    def updates_of(states):
        # Return the whole state so XLA cannot drop any of the learning (the per-update
        # metrics, which the state does not depend on, may go).
        return jax.lax.scan(lambda s, _: (jax.vmap(learner.update)(s)[0], None), states, None, updates)[0], ()

    run = parallel.jit_step(updates_of, layout)
    wall, cpu = _time(lambda s: run(s)[0], states, repeats=repeats)
    steps = pop * updates * config.batch_size
    return steps / wall, steps / cpu


def env_rate(env, config: ppo.PPOConfig, pop: int, updates: int, repeats: int) -> tuple[float, float]:
    wrapped = EpisodeStatistics(AutoReset(env), gamma=config.eval_gamma)
    num = pop * config.num_envs
    space = env.action_space()
    step = jax.vmap(wrapped.step)

    @jax.jit
    def run(key):
        keys = jax.random.split(key, num)
        _, state = jax.vmap(wrapped.reset)(keys)

        def _step(carry, _):
            state, key = carry
            key, key_action, key_step = jax.random.split(key, 3)
            actions = jax.vmap(space.sample)(jax.random.split(key_action, num))
            _, state, reward, *_ = step(jax.random.split(key_step, num), state, actions)
            return (state, key), reward.sum()

        _, rewards = jax.lax.scan(_step, (state, key), None, updates * config.num_steps)
        return rewards.sum()

    wall, cpu = _time(run, jax.random.key(0), repeats=repeats)
    steps = num * updates * config.num_steps
    return steps / wall, steps / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=["deep-sea-treasure-v0", "minecart-v0"])
    parser.add_argument("--pop", nargs="+", type=int, default=[1, 8, 16, 64])
    parser.add_argument("--updates", type=int, default=10, help="updates per timed call")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--num-steps", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--minibatches", type=int, default=4)
    parser.add_argument(
        "--hidden", nargs="+", default=["64,64", "32,32"],
        help="hidden sizes of actor and critic, one comma-separated setting per run (64,64 is PPOConfig's default)",
    )
    parser.add_argument("--devices", type=int, default=1, help="split the population over this many devices")
    parser.add_argument("--activation", default="tanh", help="hidden activation of actor and critic")
    args = parser.parse_args()
    parallel.request_cpu_devices(args.devices)
    base = ppo.PPOConfig(
        activation=args.activation,
        num_envs=args.num_envs, num_steps=args.num_steps, num_epochs=args.epochs, num_minibatches=args.minibatches
    )
    print(f"jax {jax.__version__} on {args.devices} {jax.devices()[0].platform} device(s); PPO {base.num_envs} envs x {base.num_steps} steps, "
          f"{base.num_epochs} epochs x {base.num_minibatches} minibatches, {base.activation} MLPs")
    print("steps/s: wall clock; steps/cpu-s: per CPU-second of this process (all threads), which other")
    print("processes sharing the CPU disturb less; x2 estimates a dedicated 2-core machine if both cores are used.")
    header = f"{'env':<22}{'MLP':>6}{'pop':>5}{'PPO steps/s':>13}{'PPO steps/cpu-s':>17}{'env steps/s':>13}{'env steps/cpu-s':>17}{'ratio(cpu)':>11}"
    print(header)
    for env_id in args.envs:
        if env_id not in morl.envs.registered():
            print(f"{env_id:<24} skipped (not registered)")
            continue
        env = morl.envs.make(env_id)
        for hidden in args.hidden:
            config = dataclasses.replace(base, hidden_sizes=tuple(int(h) for h in hidden.split(",")))
            for pop in args.pop:
                learn, learn_cpu = ppo_rate(env, config, pop, args.updates, args.repeats, args.devices)
                only, only_cpu = env_rate(env, config, pop, args.updates, args.repeats)
                print(
                    f"{env_id:<22}{hidden:>6}{pop:>5}{learn:>13,.0f}{learn_cpu:>17,.0f}{only:>13,.0f}{only_cpu:>17,.0f}"
                    f"{learn_cpu / only_cpu:>11.4f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
