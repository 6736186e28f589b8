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
) -> int:
    """Step both envs with identical random action sequences through episode ends and
    time limits; assert equal observations, rewards, terminated and truncated flags.

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
        obs, state = reset(jax.random.key(seed + sequence))
        np.testing.assert_allclose(np.asarray(obs), ref_obs, atol=obs_atol, err_msg=f"reset obs, sequence {sequence}")
        key = jax.random.key(10_000 + seed + sequence)
        for t in range(max_steps):
            action = sample(rng)
            key, sub = jax.random.split(key)
            ref_obs, ref_reward, ref_term, ref_trunc, _ = ref.step(action)
            obs, state, reward, term, trunc, _ = step(sub, state, jnp.asarray(action), None)
            where = f"sequence {sequence}, step {t}, action {action}"
            np.testing.assert_allclose(np.asarray(obs), ref_obs, atol=obs_atol, err_msg=f"obs at {where}")
            np.testing.assert_allclose(np.asarray(reward), ref_reward, atol=reward_atol, err_msg=f"reward at {where}")
            assert bool(term) == bool(ref_term), f"terminated at {where}"
            assert bool(trunc) == bool(ref_trunc), f"truncated at {where}"
            if ref_term or ref_trunc:
                episodes += 1
                break
    return episodes
