"""C-MORL's constrained policy objectives for PPO (`morl.agents.ppo` policy_objective hook).

One extension problem maximises objective `l` subject to `G_j(pi) >= b_j` for `j != l`:

    barrier     L = Lclip(A_l) + (1/t) * sum_{j != l} log(max(Ghat_j - b_j, floor_j))
    lagrangian  L = [Lclip(A_l) + sum_{j != l} lambda_j Lclip(A_j)] / (1 + sum_{j != l} lambda_j)

`Lclip(A)` is PPO's clipped surrogate on the advantage normalised over the minibatch;
`Ghat_j = mean_B min(r A_j, clip(r) A_j) + mean_B V_old_j` is the surrogate estimate of
objective j's return (raw advantages, the critic's units), `floor_j = eps * (1 + |b_j|)`
(the paper floors the log argument at a small epsilon when infeasible). The Lagrangian
multipliers move by dual ascent between PPO updates (`dual_ascent`), driven by the
measured returns of the episodes of the latest rollout against the bound in the same
(evaluation) units.

Thresholds: the paper writes `b_j = beta * G_j(pi_r)`. With a negative return that bound
lies above `G_j(pi_r)` (pi_r itself would be infeasible), so this module uses
`b_j = G_j(pi_r) - (1 - beta) |G_j(pi_r)|` (`relaxed_threshold`), equal to the paper's
for non-negative returns. `threshold_mode="policy"` reads `b` from the problem's
parameters (fixed for the round: the paper); `"minibatch"` recomputes it from each
minibatch's mean value target (the public code).

Every number of a problem lives in `ConstraintParams` (arrays, so problems vmap).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from morl.agents.ppo.losses import PolicyAux, PolicyObjective, clipped_surrogate


class ConstraintParams(NamedTuple):
    """One extension problem (add a leading axis for a batch of problems).

    `objective: [m]` one-hot of the maximised objective `l`; `threshold: [m]` lower bounds
    `b_j` in the critic's units (entry `l` ignored); `multipliers: [m]` Lagrange
    multipliers (>= 0, entry `l` ignored); `beta`, `barrier_t`, `barrier_eps`: scalars."""

    objective: jax.Array
    threshold: jax.Array
    multipliers: jax.Array
    beta: jax.Array
    barrier_t: jax.Array
    barrier_eps: jax.Array


def make_params(
    objective: jax.Array, threshold: jax.Array, beta: float, barrier_t: float, barrier_eps: float
) -> ConstraintParams:
    """Problems for objectives `objective: [..., m]` (one-hot) with bounds `threshold: [..., m]`;
    multipliers start at zero."""
    objective = jnp.asarray(objective, jnp.float32)
    lead = objective.shape[:-1]
    return ConstraintParams(
        objective=objective,
        threshold=jnp.broadcast_to(jnp.asarray(threshold, jnp.float32), objective.shape),
        multipliers=jnp.zeros_like(objective),
        beta=jnp.full(lead, beta, jnp.float32),
        barrier_t=jnp.full(lead, barrier_t, jnp.float32),
        barrier_eps=jnp.full(lead, barrier_eps, jnp.float32),
    )


def relaxed_threshold(baseline: jax.Array, beta: jax.Array) -> jax.Array:
    """`b = baseline - (1 - beta) |baseline|`: `beta * baseline` for non-negative values,
    `(2 - beta) * baseline` for negative ones (always a relaxation). `baseline: [..., m]`;
    `beta` a scalar or `[..., 1]`."""
    baseline = jnp.asarray(baseline)
    return baseline - (1.0 - beta) * jnp.abs(baseline)


def surrogate_returns(aux: PolicyAux) -> jax.Array:
    """`Ghat: [m]` = per-objective clipped surrogate + mean old value (critic's units)."""
    return aux.surrogates + aux.old_values.mean(axis=0)


def _normalised(advantages: jax.Array) -> jax.Array:
    return (advantages - advantages.mean(axis=0)) / (advantages.std(axis=0) + 1e-8)


def _bounds(aux: PolicyAux, params: ConstraintParams, threshold_mode: str) -> jax.Array:
    if threshold_mode == "policy":
        return params.threshold
    return relaxed_threshold(aux.returns.mean(axis=0), params.beta)


def barrier_slack(aux: PolicyAux, threshold_mode: str = "policy") -> jax.Array:
    """`Ghat_j - b_j: [m]` for the problem in `aux.objective_params` (entry l included)."""
    params: ConstraintParams = aux.objective_params
    return surrogate_returns(aux) - _bounds(aux, params, threshold_mode)


def log_barrier_objective(threshold_mode: str = "policy", infeasible: str = "floor") -> PolicyObjective:
    """The paper's interior-point objective (maximised); reads `ConstraintParams` from
    `aux.objective_params`. `scalarization_gradient` is ignored: objective `l` is the target.

    `infeasible`: below the floor the log term is constant ("floor": the paper's, no
    gradient from a violated constraint) or continues as its tangent line ("linear",
    `log(f) + (slack - f) / f`: a violated constraint pulls back with slope `1/f`)."""
    _check_mode(threshold_mode)
    if infeasible not in ("floor", "linear"):
        raise ValueError(f"infeasible={infeasible!r}; known: floor, linear")

    def objective(ratio, vector_advantages, scalarization_gradient, clip_eps, aux: PolicyAux) -> jax.Array:
        del scalarization_gradient
        params: ConstraintParams = aux.objective_params
        main = clipped_surrogate(ratio, _normalised(vector_advantages @ params.objective), clip_eps).mean()
        bounds = _bounds(aux, params, threshold_mode)
        slack = surrogate_returns(aux) - bounds
        floor = params.barrier_eps * (1.0 + jnp.abs(jax.lax.stop_gradient(bounds)))
        log_terms = jnp.log(jnp.maximum(slack, floor))
        if infeasible == "linear":
            log_terms = log_terms + jnp.minimum(slack - floor, 0.0) / floor
        barrier = jnp.sum((1.0 - params.objective) * log_terms)
        return main + barrier / params.barrier_t

    return objective


def lagrangian_objective() -> PolicyObjective:
    """Lagrangian relaxation with the multipliers in `ConstraintParams.multipliers`
    (treated as constants in the policy step; `dual_ascent` moves them)."""

    def objective(ratio, vector_advantages, scalarization_gradient, clip_eps, aux: PolicyAux) -> jax.Array:
        del scalarization_gradient
        params: ConstraintParams = aux.objective_params
        surrogates = clipped_surrogate(ratio[:, None], _normalised(vector_advantages), clip_eps).mean(axis=0)
        lam = jax.lax.stop_gradient(params.multipliers) * (1.0 - params.objective)
        return (surrogates @ params.objective + surrogates @ lam) / (1.0 + lam.sum())

    return objective


def dual_ascent(
    multipliers: jax.Array, objective: jax.Array, estimate: jax.Array, bound: jax.Array, learning_rate: jax.Array
) -> jax.Array:
    """One projected dual step: `lambda_j <- max(0, lambda_j + lr (b_j - G_j) / (1 + |b_j|))`
    for `j != l` (entry `l`, where `objective` is 1, stays 0). `multipliers, objective,
    estimate, bound: [..., m]`; `estimate` the current policy's return and `bound` the
    threshold in the same units; `learning_rate` a scalar (or `[..., 1]`)."""
    violation = (bound - estimate) / (1.0 + jnp.abs(bound))
    return jnp.maximum(0.0, multipliers + learning_rate * violation) * (1.0 - objective)


def _check_mode(threshold_mode: str) -> None:
    if threshold_mode not in ("policy", "minibatch"):
        raise ValueError(f"threshold_mode={threshold_mode!r}; known: policy, minibatch")
