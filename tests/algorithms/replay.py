"""Replaying an archived policy outside the trainer (shared by the MORL/D and C-MORL tests)."""

import jax
import jax.numpy as jnp
import mo_gymnasium as gym
import numpy as np


def replayed_return(trainer, state, member: int, gamma: float, max_steps: int = 100) -> np.ndarray:
    """`[m]` discounted return of archive member `member`'s deterministic policy, stepped by
    hand on `trainer.env` from `reset(key(0))` for at most `max_steps` steps."""
    act = trainer.policy(state, member)
    env = trainer.env
    obs, env_state = env.reset(jax.random.key(0))
    total, discount = np.zeros(env.reward_dim), 1.0
    for _ in range(max_steps):
        obs, env_state, reward, terminated, truncated, _ = env.step(jax.random.key(0), env_state, act(obs, None))
        total += discount * np.asarray(reward)
        discount *= gamma
        if terminated or truncated:
            break
    return total


def mo_gymnasium_return(act, env_id: str, gamma: float, max_steps: int) -> np.ndarray:
    """`[m]` discounted return of the jitted deterministic policy `act(obs, weights)` on
    MO-Gymnasium's own `env_id` from `reset(seed=0)`, for at most `max_steps` steps."""
    env = gym.make(env_id)
    obs, _ = env.reset(seed=0)
    total, discount = np.zeros(env.unwrapped.reward_space.shape), 1.0
    for _ in range(max_steps):
        obs, reward, terminated, truncated, _ = env.step(int(act(jnp.asarray(obs), None)))
        total += discount * reward
        discount *= gamma
        if terminated or truncated:
            break
    return total
