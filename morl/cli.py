"""The `morl` command."""

from __future__ import annotations

import argparse
import sys


def _rollout(args: argparse.Namespace) -> int:
    import jax
    import jax.numpy as jnp

    from morl import envs

    env = envs.EpisodeStatistics(envs.AutoReset(envs.make(args.env)), gamma=1.0)
    batch = envs.VmapEnv(env, args.num_envs)
    space = env.action_space()

    @jax.jit
    def run(key):
        obs, state = batch.reset(key)

        def body(carry, key):
            state, = carry
            k_act, k_step = jax.random.split(key)
            actions = jax.vmap(space.sample)(jax.random.split(k_act, args.num_envs))
            _, state, _, _, _, info = batch.step(k_step, state, actions)
            return (state,), (info["episode_return"], info["done"])

        _, (returns, done) = jax.lax.scan(body, (state,), jax.random.split(key, args.steps))
        return returns, done

    returns, done = run(jax.random.key(args.seed))
    finished = returns[done]
    print(f"{args.env}: {int(done.sum())} episodes with random actions; mean vector return {jnp.mean(finished, axis=0)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="morl", description="JAX-native multi-objective RL")
    sub = parser.add_subparsers(dest="command", required=True)
    rollout = sub.add_parser("rollout", help="random-action rollout printing vector returns")
    rollout.add_argument("--env", default="deep-sea-treasure-v0")
    rollout.add_argument("--num-envs", type=int, default=16)
    rollout.add_argument("--steps", type=int, default=200)
    rollout.add_argument("--seed", type=int, default=0)
    rollout.set_defaults(func=_rollout)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
