"""Constrained dynamic weights with Lagrange multipliers (Moskovitz et al. 2023,
"Confronting Reward Model Overoptimization with Constrained RLHF").

Constraint per objective: episode return `v_i >= theta_i` (objectives are maximised).
Output `r'_i = sigmoid(lambda_i) * r_i`. Whenever episodes end in a batch, `v` is the
mean return of the episodes that ended, and the multipliers take one gradient-descent
step on `L(lambda) = sum_i sigmoid(lambda_i) (v_i - theta_i)`:
`lambda_i <- lambda_i - lr * sigmoid'(lambda_i) (v_i - theta_i)`. A violated constraint
(`v_i < theta_i`) raises its weight, a satisfied one lowers it.

`v` is accumulated from this transform's *input* reward (put it first in a chain to
constrain environment returns), undiscounted or, with `discounted=True`, discounted by
`context.discount`. Multipliers enter the reward behind `stop_gradient`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from morl.shaping.base import RewardTransform, is_concrete, per_objective


class LagrangeState(NamedTuple):
    multipliers: jax.Array  # [m] lambda
    thresholds: jax.Array  # [m] theta
    lr: jax.Array  # []
    episode_return: jax.Array  # [*batch, m] return of the running episodes so far
    discount_power: jax.Array  # [*batch] gamma ** t within the running episodes


def lagrange(thresholds, lr: float = 0.05, init_multipliers=0.0, discounted: bool = False) -> RewardTransform:
    """Weights `sigmoid(lambda)` adapted towards the constraints `returns >= thresholds`."""
    if is_concrete(lr) and not float(lr) > 0.0:
        raise ValueError(f"lagrange: lr must be > 0, got {lr}")
    if is_concrete(thresholds) and not np.all(np.isfinite(np.asarray(thresholds))):
        raise ValueError(f"lagrange: thresholds must be finite, got {thresholds}")

    def init(reward_dim: int, batch_shape: tuple[int, ...] = ()) -> LagrangeState:
        return LagrangeState(
            per_objective("lagrange", "init_multipliers", init_multipliers, reward_dim),
            per_objective("lagrange", "thresholds", thresholds, reward_dim),
            jnp.asarray(lr, jnp.float32),
            jnp.zeros((*batch_shape, reward_dim), jnp.float32),
            jnp.ones(batch_shape, jnp.float32),
        )

    def apply(state: LagrangeState, reward, context):
        done = jnp.asarray(context.done)
        stream_return = state.episode_return + state.discount_power[..., None] * jax.lax.stop_gradient(reward)
        finished = done.reshape(-1).astype(jnp.float32)
        n_finished = jnp.sum(finished)
        observed = jnp.sum(finished[:, None] * stream_return.reshape(-1, reward.shape[-1]), axis=0) / jnp.maximum(
            n_finished, 1.0
        )
        lam = state.multipliers
        grad = jax.nn.sigmoid(lam) * (1.0 - jax.nn.sigmoid(lam)) * (observed - state.thresholds)
        multipliers = jnp.where(n_finished > 0, lam - state.lr * grad, lam)
        step_discount = context.discount if discounted else 1.0
        new_state = state._replace(
            multipliers=multipliers,
            episode_return=jnp.where(done[..., None], 0.0, stream_return),
            discount_power=jnp.where(done, 1.0, state.discount_power * step_discount),
        )
        weights = jax.nn.sigmoid(jax.lax.stop_gradient(multipliers))
        return (weights * reward).astype(reward.dtype), new_state

    return RewardTransform(init, apply, "lagrange")
