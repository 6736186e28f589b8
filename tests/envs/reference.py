"""Drive a JAX port and MO-Gymnasium's original side by side with the same actions."""

from __future__ import annotations

from typing import Any, Callable

import gymnasium
import jax
import jax.numpy as jnp
import mo_gymnasium as mo_gym
import numpy as np

from morl.envs.core import Environment


def compare_rollouts(
    env: Environment,
    gym_id: str,
    gym_kwargs: dict[str, Any] | None = None,
    *,
    num_sequences: int = 20,
    max_steps: int = 300,
    seed: int = 0,
    obs_atol: float = 0.0,
    reward_atol: float = 0.0,
    action_sampler: Callable[[np.random.Generator], Any] | None = None,
    before_step: Callable[[Any, jax.Array], None] | None = None,
    params: Any = None,
) -> int:
    """Step both envs with identical random action sequences through episode ends and
    time limits; assert equal observations, rewards, terminated and truncated flags.

    `before_step(ref_env, key)`, if given, runs before each pair of steps with the key
    the JAX env is about to be stepped with (e.g. to force the reference env's random
    draw to the one the port makes from `key`). `params` (default: the env's defaults)
    are passed to the port's `reset` and `step`.

    Returns the number of episodes compared (callers assert it is large enough).
    """
    ref = mo_gym.make(gym_id, **(gym_kwargs or {}))
    space = ref.action_space
    sample = action_sampler or (lambda rng: rng.integers(space.n) if isinstance(space, gymnasium.spaces.Discrete) else rng.uniform(space.low, space.high).astype(np.float32))
    step = jax.jit(env.step)
    reset = jax.jit(env.reset)
    rng = np.random.default_rng(seed)
    episodes = 0
    for sequence in range(num_sequences):
        ref_obs, _ = ref.reset(seed=seed + sequence)
        obs, state = reset(jax.random.key(seed + sequence), params)
        np.testing.assert_allclose(np.asarray(obs), ref_obs, atol=obs_atol, err_msg=f"reset obs, sequence {sequence}")
        key = jax.random.key(10_000 + seed + sequence)
        for t in range(max_steps):
            action = sample(rng)
            key, sub = jax.random.split(key)
            if before_step is not None:
                before_step(ref, sub)
            ref_obs, ref_reward, ref_term, ref_trunc, _ = ref.step(action)
            obs, state, reward, term, trunc, _ = step(sub, state, jnp.asarray(action), params)
            where = f"sequence {sequence}, step {t}, action {action}"
            np.testing.assert_allclose(np.asarray(obs), ref_obs, atol=obs_atol, err_msg=f"obs at {where}")
            np.testing.assert_allclose(np.asarray(reward), ref_reward, atol=reward_atol, err_msg=f"reward at {where}")
            assert bool(term) == bool(ref_term), f"terminated at {where}"
            # A port reports truncated=False when the limit step also terminates (see docs/environments.md).
            assert bool(trunc) == (bool(ref_trunc) and not bool(ref_term)), f"truncated at {where}"
            if ref_term or ref_trunc:
                episodes += 1
                break
    return episodes


def random_vmapped_rollout(env: Environment, *, num_envs: int = 64, num_steps: int = 200, seed: int = 0):
    """Jit one `lax.scan` of `num_steps` steps of `num_envs` copies of `env` under
    `AutoReset`, with uniformly random actions.

    Returns `(obs [T, N, ...], reward [T, N, m], terminated [T, N], truncated [T, N])`
    as numpy arrays.
    """
    from morl.envs.wrappers import AutoReset, VmapEnv

    batched = VmapEnv(AutoReset(env), num_envs=num_envs)
    space = env.action_space()

    @jax.jit
    def run(key):
        key_reset, key_steps = jax.random.split(key)
        _, state = batched.reset(key_reset)

        def body(state, key):
            key_action, key_step = jax.random.split(key)
            action = jax.vmap(space.sample)(jax.random.split(key_action, num_envs))
            obs, state, reward, terminated, truncated, _ = batched.step(key_step, state, action)
            return state, (obs, reward, terminated, truncated)

        return jax.lax.scan(body, state, jax.random.split(key_steps, num_steps))[1]

    return tuple(np.asarray(x) for x in run(jax.random.key(seed)))
