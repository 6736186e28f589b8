"""Stateless per-objective maps: clipping and affine scaling.

`affine(scale, shift)` returns `scale * r + shift` per objective; with `shift=0` and
`scale=w`, summing the output over objectives gives MO-Gymnasium's `LinearReward(w)`
scalar reward, while keeping the vector for the learner's own scalarisation.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from morl.shaping.base import RewardTransform, is_concrete, per_objective


class ClipState(NamedTuple):
    low: jax.Array  # [m]
    high: jax.Array  # [m]


class AffineState(NamedTuple):
    scale: jax.Array  # [m]
    shift: jax.Array  # [m]


def clip(bound=None, *, low=None, high=None) -> RewardTransform:
    """Clips each objective to `[-bound, bound]`, or to `[low, high]` (scalars or `[m]`)."""
    if (bound is None) == (low is None and high is None):
        raise ValueError("clip: give either bound, or low and high")
    if bound is not None:
        if is_concrete(bound) and not np.all(np.asarray(bound) > 0):
            raise ValueError(f"clip: bound must be > 0, got {bound}")
        low, high = -jnp.asarray(bound), jnp.asarray(bound)
    elif low is None or high is None:
        raise ValueError("clip: give both low and high")
    elif is_concrete((low, high)) and not np.all(np.asarray(low) <= np.asarray(high)):
        raise ValueError(f"clip: low {low} must not exceed high {high}")

    def init(reward_dim: int, batch_shape: tuple[int, ...] = ()) -> ClipState:
        del batch_shape
        return ClipState(per_objective("clip", "low", low, reward_dim), per_objective("clip", "high", high, reward_dim))

    def apply(state: ClipState, reward, context):
        del context
        return jnp.clip(reward, state.low, state.high).astype(reward.dtype), state

    return RewardTransform(init, apply, "clip")


def affine(scale=1.0, shift=0.0) -> RewardTransform:
    """`scale * r + shift` per objective (scalars or `[m]`)."""
    if is_concrete((scale, shift)) and not (np.all(np.isfinite(scale)) and np.all(np.isfinite(shift))):
        raise ValueError(f"affine: scale {scale} and shift {shift} must be finite")

    def init(reward_dim: int, batch_shape: tuple[int, ...] = ()) -> AffineState:
        del batch_shape
        return AffineState(
            per_objective("affine", "scale", scale, reward_dim), per_objective("affine", "shift", shift, reward_dim)
        )

    def apply(state: AffineState, reward, context):
        del context
        return (state.scale * reward + state.shift).astype(reward.dtype), state

    return RewardTransform(init, apply, "affine")
