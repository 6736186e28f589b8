"""PPO losses: vector GAE, the pluggable policy objective and the total loss.

Vector quantities carry a trailing objective axis `m`. The policy objective is a
function the caller may replace (C-MORL passes a constrained one):

    policy_objective(ratio [B], vector_advantages [B, m], scalarization_gradient [m],
                     clip_eps, aux: PolicyAux) -> scalar   # maximised

The default, `scalarized_clipped_surrogate`, is PPO's clipped surrogate on the scalarised
advantage `sum_k g_k A_k`, normalised over the minibatch. With per-env weights (a
weight-conditioned policy) `scalarization_gradient` and `aux.weights` are per sample,
`[B, m]`.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from morl.agents.ppo.config import PPOHyperparams


class PolicyAux(NamedTuple):
    """What a policy objective may read besides ratio and advantages.

    `old_values: [B, m]` critic values at collection time; `returns: [B, m]` GAE value
    targets (`advantages + old_values`); `surrogates: [m]` per-objective clipped surrogates
    `mean_B min(r A_j, clip(r) A_j)` on the raw (un-normalised) vector advantages, so
    C-MORL's `Ghat_j = surrogates[j] + mean_B old_values[:, j]`; `weights: [m]`,
    `ideal: [m]` the member's; `objective_params` the member's `PPOState.objective_params`
    (any pytree the caller put there, e.g. constraint thresholds)."""

    old_values: jax.Array
    returns: jax.Array
    surrogates: jax.Array
    weights: jax.Array
    ideal: jax.Array
    objective_params: Any


PolicyObjective = Callable[[jax.Array, jax.Array, jax.Array, jax.Array, PolicyAux], jax.Array]


class Minibatch(NamedTuple):
    """Flat training samples: `obs [B, ...]`, `action [B, ...]`, `log_prob [B]`,
    `values [B, m]` (old), `advantages [B, m]`, `targets [B, m]`."""

    obs: jax.Array
    action: jax.Array
    log_prob: jax.Array
    values: jax.Array
    advantages: jax.Array
    targets: jax.Array


def vector_gae(
    rewards: jax.Array,
    values: jax.Array,
    next_values: jax.Array,
    terminated: jax.Array,
    done: jax.Array,
    gamma: jax.Array,
    gae_lambda: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimation per objective.

    `rewards, values, next_values: [T, ..., m]`; `terminated, done: [T, ...]` bool.
    `next_values[t]` is the value of the true next observation (before any auto-reset),
    so truncated episodes bootstrap; `terminated` zeroes it; `done` (terminated or
    truncated) cuts the recursion. Returns `(advantages, targets)`, both `[T, ..., m]`,
    `targets = advantages + values`.
    """
    not_terminated = 1.0 - terminated.astype(jnp.float32)[..., None]
    not_done = 1.0 - done.astype(jnp.float32)[..., None]
    deltas = rewards + gamma * not_terminated * next_values - values

    def _backward(advantage, step):
        delta, continues = step
        advantage = delta + gamma * gae_lambda * continues * advantage
        return advantage, advantage

    _, advantages = jax.lax.scan(_backward, jnp.zeros_like(deltas[0]), (deltas, not_done), reverse=True)
    return advantages, advantages + values


def clipped_surrogate(ratio: jax.Array, advantages: jax.Array, clip_eps: jax.Array) -> jax.Array:
    """Elementwise `min(r A, clip(r, 1-eps, 1+eps) A)`; `ratio` broadcasts against `advantages`."""
    return jnp.minimum(ratio * advantages, jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages)


def scalarized_clipped_surrogate(
    ratio: jax.Array, vector_advantages: jax.Array, scalarization_gradient: jax.Array, clip_eps: jax.Array, aux: PolicyAux
) -> jax.Array:
    """The default objective: clipped surrogate of `A = vector_advantages @ g`, with `A`
    normalised to zero mean and unit std over the minibatch."""
    del aux
    if scalarization_gradient.ndim == 1:
        advantages = vector_advantages @ scalarization_gradient
    else:  # one gradient per sample `[B, m]` (per-env weights)
        advantages = jnp.sum(vector_advantages * scalarization_gradient, axis=-1)
    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    return clipped_surrogate(ratio, advantages, clip_eps).mean()


def ppo_loss(
    params: Any,
    batch: Minibatch,
    *,
    actor_apply: Callable[..., Any],
    critic_apply: Callable[..., jax.Array],
    weights: jax.Array,
    ideal: jax.Array,
    scalarization_gradient: jax.Array,
    objective_params: Any,
    hyper: PPOHyperparams,
    policy_objective: PolicyObjective,
    clip_value_loss: bool,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """`-objective + vf_coef * value_loss - ent_coef * entropy` on one minibatch.

    `params = {"actor": ..., "critic": ...}`. The value loss is `0.5 (V - target)^2`
    averaged over samples and objectives (optionally PPO-clipped around the old values
    with `clip_eps`). Returns `(loss, metrics)`.
    """
    dist = actor_apply(params["actor"], batch.obs, weights)
    log_prob = dist.log_prob(batch.action)
    log_ratio = log_prob - batch.log_prob
    ratio = jnp.exp(log_ratio)

    surrogates = clipped_surrogate(ratio[:, None], batch.advantages, hyper.clip_eps).mean(axis=0)
    aux = PolicyAux(batch.values, batch.targets, surrogates, weights, ideal, objective_params)
    objective = policy_objective(ratio, batch.advantages, scalarization_gradient, hyper.clip_eps, aux)

    values = critic_apply(params["critic"], batch.obs, weights)
    value_loss = jnp.square(values - batch.targets)
    if clip_value_loss:
        clipped = batch.values + jnp.clip(values - batch.values, -hyper.clip_eps, hyper.clip_eps)
        value_loss = jnp.maximum(value_loss, jnp.square(clipped - batch.targets))
    value_loss = 0.5 * value_loss.mean()

    entropy = dist.entropy().mean()
    loss = -objective + hyper.vf_coef * value_loss - hyper.ent_coef * entropy
    metrics = {
        "policy_objective": objective,
        "value_loss": value_loss,
        "entropy": entropy,
        "approx_kl": jnp.mean((ratio - 1.0) - log_ratio),
        "clip_fraction": jnp.mean((jnp.abs(ratio - 1.0) > hyper.clip_eps).astype(jnp.float32)),
    }
    return loss, metrics
