"""PPO training throughput (env steps per second, updates included) beside env-only stepping.

For each environment and population size, one jitted program runs `--updates` PPO updates
of the whole vmapped population inside `lax.scan`; the same program shape with random
actions and no learning gives the env-only rate for the same number of envs. Both are
timed after a warm-up call (compile excluded) in the same process, so their ratio is
meaningful even when the CPU is shared.

    .venv/bin/python benchmarks/learner_throughput.py
    .venv/bin/python benchmarks/learner_throughput.py --envs deep-sea-treasure-v0 --pop 16 --hidden 32,32
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import jax
import jax.numpy as jnp

import morl
from morl.agents import ppo
from morl.envs.wrappers import AutoReset, EpisodeStatistics


def _time(fn, *args, repeats: int) -> float:
    jax.block_until_ready(fn(*args))  # compile + warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - start)
    return best


def ppo_rate(env, config: ppo.PPOConfig, pop: int, updates: int, repeats: int) -> float:
    learner = ppo.make(env, config)
    weights = jax.random.dirichlet(jax.random.key(1), jnp.ones(env.reward_dim), (pop,))
    states = jax.jit(jax.vmap(learner.init))(jax.random.split(jax.random.key(0), pop), weights)

    @jax.jit
    def run(states):
        # Return the whole state so XLA cannot drop any of the work.
        return jax.lax.scan(lambda s, _: jax.vmap(learner.update)(s), states, None, updates)[0]

    seconds = _time(run, states, repeats=repeats)
    return pop * updates * config.batch_size / seconds


def env_rate(env, config: ppo.PPOConfig, pop: int, updates: int, repeats: int) -> float:
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

    seconds = _time(run, jax.random.key(0), repeats=repeats)
    return num * updates * config.num_steps / seconds


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
    args = parser.parse_args()
    base = ppo.PPOConfig(
        num_envs=args.num_envs, num_steps=args.num_steps, num_epochs=args.epochs, num_minibatches=args.minibatches
    )
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; PPO {base.num_envs} envs x {base.num_steps} steps, "
          f"{base.num_epochs} epochs x {base.num_minibatches} minibatches, tanh MLPs")
    print(f"{'env':<24}{'MLP':>8}{'pop':>5}{'PPO steps/s':>14}{'env-only steps/s':>18}{'ratio':>8}")
    for env_id in args.envs:
        if env_id not in morl.envs.registered():
            print(f"{env_id:<24} skipped (not registered)")
            continue
        env = morl.envs.make(env_id)
        for hidden in args.hidden:
            config = dataclasses.replace(base, hidden_sizes=tuple(int(h) for h in hidden.split(",")))
            for pop in args.pop:
                learn = ppo_rate(env, config, pop, args.updates, args.repeats)
                only = env_rate(env, config, pop, args.updates, args.repeats)
                print(f"{env_id:<24}{hidden:>8}{pop:>5}{learn:>14,.0f}{only:>18,.0f}{learn / only:>8.3f}", flush=True)


if __name__ == "__main__":
    main()
