"""Potential-based shaping (Ng, Harada & Russell 1999) with a vector potential.

`r' = r + gamma * (1 - terminated) * Phi(s') - Phi(s)`, per objective, with
`gamma = context.discount` (it must be the learner's discount for the guarantee to hold).
For every linear scalarisation `w . r'` the optimal policies are those of `w . r`
(Mannion et al. 2017 for the multi-objective case), so the Pareto front is unchanged.

Done-aware: past a terminal state the potential is 0, so no `gamma * Phi(s')` term is
added on the step that terminates. On truncation (time limit) `Phi(s')` is kept, so pass
the real last observation as `next_obs` (`info["final_obs"]` of `AutoReset`).

`phi(params, obs) -> [m]` works on one observation; `params` (any pytree of arrays, may
be None) lives in the state, so it may differ per population member and gradients of the
shaped reward reach it (e.g. to learn a potential).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from morl.shaping.base import RewardTransform, per_entry


class PotentialState(NamedTuple):
    params: Any  # pytree of arrays passed to phi


def potential(phi: Callable[[Any, jax.Array], jax.Array], params: Any = None) -> RewardTransform:
    """Adds `gamma * (1 - terminated) * phi(params, next_obs) - phi(params, obs)`."""
    if not callable(phi):
        raise TypeError(f"potential: phi must be callable phi(params, obs) -> [m], got {type(phi).__name__}")

    def init(reward_dim: int, batch_shape: tuple[int, ...] = ()) -> PotentialState:
        del reward_dim, batch_shape
        return PotentialState(params)

    def apply(state: PotentialState, reward, context):
        batch_ndim = reward.ndim - 1
        evaluate = per_entry(lambda obs: jnp.asarray(phi(state.params, obs)), batch_ndim)
        phi_s, phi_next = evaluate(context.obs), evaluate(context.next_obs)
        if phi_s.shape != reward.shape:
            raise ValueError(
                f"potential: phi(params, obs) returned shape {phi_s.shape[batch_ndim:]}, expected {reward.shape[-1:]} "
                f"(one potential per objective)"
            )
        keep = 1.0 - jnp.asarray(context.terminated, reward.dtype)[..., None]
        shaped = reward + context.discount * keep * phi_next - phi_s
        return shaped.astype(reward.dtype), state

    return RewardTransform(init, apply, "potential")
