"""Sigmoid centring against a reference: PAR and LSC.

- **PAR** (Fu et al. 2025, "Reward Shaping to Mitigate Reward Hacking in RLHF"):
  `r'_i = mean_k sigmoid((r_i - ref_{k,i}) / temperature)`, in `[0, 1]`; steepest
  (slope `1 / (4 temperature)`) at the reference, saturating far from it.
- **LSC** (Wang et al. 2024, "Transforming and Combining Rewards"):
  `r'_i = log sigmoid((r_i - ref_i) / temperature)`, in `(-inf, 0]`, and at least
  `-max(ref_i - r_i, 0) / temperature - log 2`. Summed over objectives (equal linear
  weights) it is the log-probability that every objective is "good": a soft AND.

The reference is either fixed (`reference`: `[m]`, or `[k, m]` for PAR's several
references) or, with `reference=None`, the running mean of this transform's input reward
per objective (updated from the current batch first, behind `stop_gradient`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from morl.shaping.base import RewardTransform, is_concrete
from morl.shaping.moments import Moments, init_moments, update_moments


class FixedReferenceState(NamedTuple):
    reference: jax.Array  # [k, m]
    temperature: jax.Array  # []


class RunningReferenceState(NamedTuple):
    moments: Moments  # running statistics of the input reward, [m]
    temperature: jax.Array  # []


def par(reference=None, temperature: float = 1.0) -> RewardTransform:
    """PAR sigmoid centring; `reference`: None (running mean), `[m]` or `[k, m]`."""
    return _centred("par", jax.nn.sigmoid, reference, temperature, allow_several=True)


def lsc(reference=None, temperature: float = 1.0) -> RewardTransform:
    """LSC log-sigmoid centring; `reference`: None (running mean) or `[m]`."""
    return _centred("lsc", jax.nn.log_sigmoid, reference, temperature, allow_several=False)


def _centred(name, squash, reference, temperature, allow_several) -> RewardTransform:
    if is_concrete(temperature) and not float(temperature) > 0.0:
        raise ValueError(f"{name}: temperature must be > 0, got {temperature}")
    if reference is not None and is_concrete(reference) and not np.all(np.isfinite(np.asarray(reference))):
        raise ValueError(f"{name}: reference must be finite, got {reference}")

    def init(reward_dim: int, batch_shape: tuple[int, ...] = ()):
        del batch_shape
        temp = jnp.asarray(temperature, jnp.float32)
        if reference is None:
            return RunningReferenceState(init_moments(reward_dim), temp)
        ref = jnp.asarray(reference, jnp.float32)
        shapes = [(), (reward_dim,)] + ([(ref.shape[0] if ref.ndim == 2 else 1, reward_dim)] if allow_several else [])
        if ref.shape not in shapes:
            expected = "[k, m] or [m]" if allow_several else "[m]"
            raise ValueError(f"{name}: reference has shape {ref.shape}, expected {expected} with m={reward_dim}")
        return FixedReferenceState(jnp.broadcast_to(ref, (ref.shape[0] if ref.ndim == 2 else 1, reward_dim)), temp)

    def apply(state, reward, context):
        del context
        if isinstance(state, RunningReferenceState):
            moments = update_moments(state.moments, reward)
            refs = jax.lax.stop_gradient(moments.mean)[None]
            state = state._replace(moments=moments)
        else:
            refs = state.reference
        centred = (reward[..., None, :] - refs) / state.temperature  # [*batch, k, m]
        shaped = jnp.mean(squash(centred), axis=-2)
        return shaped.astype(reward.dtype), state

    return RewardTransform(init, apply, name)
