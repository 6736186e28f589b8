"""Running per-objective normalisation (Welford statistics), two flavours:

- `returns=False`: `(r - mean_r) / sqrt(var_r + eps)` with the running mean/variance of
  the rewards themselves;
- `returns=True` (PPO practice, as in Gymnasium's `NormalizeReward`): `r / sqrt(var_G + eps)`
  with the running variance of the discounted return `G_t = r_t + gamma * G_{t-1}`,
  accumulated per env stream and restarted after an episode ends (`context.done`). No mean
  is subtracted, so the sign of rewards is kept.

Statistics are updated first with the current batch, then used (as Gymnasium does); the
variance is the population variance (ddof=0). One difference from Gymnasium's wrapper,
which multiplies the accumulator by `1 - terminated` of the *current* step before adding
the current reward: here the accumulator restarts *after* the step that ended the episode,
so `G_t` never mixes two episodes; and statistics start empty (count 0) rather than with a
pseudo-count of 1e-4.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from morl.shaping.base import RewardTransform, is_concrete
from morl.shaping.moments import Moments, init_moments, update_moments


class RewardNormState(NamedTuple):
    moments: Moments  # of the rewards, [m]
    eps: jax.Array


class ReturnNormState(NamedTuple):
    moments: Moments  # of the discounted returns, [m]
    discounted_return: jax.Array  # [*batch, m] per-stream accumulator (0 at episode start)
    gamma: jax.Array  # [] (unused when gamma=None: the context's discount is used)
    eps: jax.Array


def normalize(returns: bool = False, gamma: float | None = None, eps: float = 1e-8) -> RewardTransform:
    """Per-objective running normalisation; see the module docstring for the formulas.

    `gamma` (returns=True only) discounts the running return; None uses `context.discount`.
    """
    if not isinstance(returns, bool):
        raise TypeError(f"normalize: returns must be a bool, got {returns!r}")
    if gamma is not None and not returns:
        raise ValueError("normalize: gamma is only used with returns=True")
    if gamma is not None and is_concrete(gamma) and not 0.0 <= float(gamma) <= 1.0:
        raise ValueError(f"normalize: gamma must be in [0, 1], got {gamma}")
    if is_concrete(eps) and not float(eps) > 0.0:
        raise ValueError(f"normalize: eps must be > 0, got {eps}")
    use_context_discount = gamma is None

    def init(reward_dim: int, batch_shape: tuple[int, ...] = ()):
        eps_array = jnp.asarray(eps, jnp.float32)
        if not returns:
            return RewardNormState(init_moments(reward_dim), eps_array)
        return ReturnNormState(
            init_moments(reward_dim),
            jnp.zeros((*batch_shape, reward_dim), jnp.float32),
            jnp.asarray(1.0 if gamma is None else gamma, jnp.float32),
            eps_array,
        )

    def apply(state, reward, context):
        if not returns:
            moments = update_moments(state.moments, reward)
            scale = jax.lax.stop_gradient(jnp.sqrt(moments.var + state.eps))
            shaped = (reward - jax.lax.stop_gradient(moments.mean)) / scale
            return shaped.astype(reward.dtype), state._replace(moments=moments)
        discount = context.discount if use_context_discount else state.gamma
        current = reward + discount * state.discounted_return
        moments = update_moments(state.moments, current)
        carried = jnp.where(jnp.asarray(context.done)[..., None], 0.0, current)
        scale = jax.lax.stop_gradient(jnp.sqrt(moments.var + state.eps))
        shaped = (reward / scale).astype(reward.dtype)
        return shaped, state._replace(moments=moments, discounted_return=jax.lax.stop_gradient(carried).astype(jnp.float32))

    return RewardTransform(init, apply, "normalize")
