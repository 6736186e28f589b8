"""Ensemble combination of several reward heads (Coste et al. 2023, "Reward Model
Ensembles Help Mitigate Overoptimization").

`heads(params, reward, obs, next_obs) -> [k, m]` gives k estimates of the vector reward
for one transition (e.g. k learned reward models; the env reward is passed in so a head
may build on it). They are combined per objective:
- "mean": `mean_k h_{k,i}`;
- "worst_case": `min_k h_{k,i}`;
- "uncertainty_weighted": `mean_k h_{k,i} - lam * var_k h_{k,i}`, with the intra-ensemble
  population variance (ddof=0) across the k heads, per objective.
`params` (and `lam`) live in the state; gradients of the output reach `params`.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from morl.shaping.base import RewardTransform, is_concrete, per_entry

MODES = ("mean", "worst_case", "uncertainty_weighted")


class EnsembleState(NamedTuple):
    params: Any  # pytree of arrays passed to heads
    lam: jax.Array  # [] variance penalty (uncertainty_weighted)


def ensemble(
    heads: Callable[[Any, jax.Array, jax.Array, jax.Array], jax.Array],
    params: Any = None,
    mode: str = "mean",
    lam: float = 1.0,
) -> RewardTransform:
    """Combines `heads(params, reward, obs, next_obs): [k, m]` into `[m]` by `mode`."""
    if not callable(heads):
        raise TypeError(f"ensemble: heads must be callable heads(params, reward, obs, next_obs) -> [k, m], got {type(heads).__name__}")
    if mode not in MODES:
        raise ValueError(f"ensemble: unknown mode '{mode}', expected one of {list(MODES)}")
    if is_concrete(lam) and not float(lam) >= 0.0:
        raise ValueError(f"ensemble: lam must be >= 0, got {lam}")

    def init(reward_dim: int, batch_shape: tuple[int, ...] = ()) -> EnsembleState:
        del reward_dim, batch_shape
        return EnsembleState(params, jnp.asarray(lam, jnp.float32))

    def apply(state: EnsembleState, reward, context):
        batch_ndim = reward.ndim - 1
        evaluate = per_entry(lambda r, o, n: jnp.asarray(heads(state.params, r, o, n)), batch_ndim)
        values = evaluate(reward, context.obs, context.next_obs)  # [*batch, k, m]
        if values.ndim != reward.ndim + 1 or values.shape[-1] != reward.shape[-1]:
            raise ValueError(
                f"ensemble: heads returned shape {values.shape[batch_ndim:]}, expected [k, {reward.shape[-1]}]"
            )
        if mode == "mean":
            combined = jnp.mean(values, axis=-2)
        elif mode == "worst_case":
            combined = jnp.min(values, axis=-2)
        else:
            combined = jnp.mean(values, axis=-2) - state.lam * jnp.var(values, axis=-2)
        return combined.astype(reward.dtype), state

    return RewardTransform(init, apply, "ensemble")
