"""SAC losses with vector critics, for continuous (PMOE / Gaussian / Gumbel) and discrete actors.

Notation: batch `B`, objectives `m`, experts `K`, actions `A` (continuous, squashed into
`(-1, 1)`) or `n` (discrete). `s(q) = scalarization.value(q, w, z*)` scores a Q vector
under the member's weight `w` (weighted sum: `w . q`).

Critic target (a vector, one entry per objective):

    a' ~ pi(.|s'),  j* = argmin_j s(Qbar_j(s', a'))          (twin chosen on the scalarised value)
    y  = r + gamma (1 - terminated) (Qbar_j*(s', a') - alpha log pi(a'|s') 1)

(`SACNetworks.elementwise_min=True`: `min_j Qbar_j` per objective instead of the twin with
the lower scalarised value, as CAPQL does; `sQ` below is then `s(min_j Q_j)`.)

where `log pi` is the policy's own (mixture) log-density; the entropy bonus is added to
every objective, so `w . y` is the usual scalar SAC target for simplex weights. The loss
is `sum_twins mean_B sum_m (Q_j(s, a) - y)^2 / 2`. Discrete: the expectation over `a'` is
exact, `y = r + gamma (1 - d) sum_a' pi(a'|s') (Qbar_j*(s', a') - alpha log pi(a'|s'))`.

Actor losses (`sQ = min_j s(Q_j(s, .))`):
- `"gaussian"`: `alpha log pi(a|s) - sQ(s, a)`, `a` reparameterised;
- `"pmoe"` (frequency-approximate gradient): one reparameterised sample `a_k` per expert,
  `k* = argmax_k sQ(s, a_k)` (no gradient through the choice), loss
  `alpha log pi_k*(a_k*|s) - sQ(s, a_k*) + ||c(s) - onehot(k*)||^2`;
- `"pmoe_gumbel"`: `a` from the straight-through Gumbel-softmax choice, loss
  `alpha log pi(a|s) - sQ(s, a)` with the mixture density;
- discrete: `sum_a pi(a|s) (alpha log pi(a|s) - sQ(s, a))`.

Temperature: `log_alpha * (H - target_entropy)`, `H` the entropy estimate (`-log pi` of a
sample from the acting policy, mixture density; exact entropy when discrete).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from morl.agents.sac.networks import VectorQ, apply_twin
from morl.networks import pmoe


class Transition(NamedTuple):
    """One replay row. `obs: [d]`, `action: [A]` float in `(-1, 1)` or `[]` int32,
    `reward: [m]` (shaped vector reward), `next_obs: [d]` (the final observation when the
    episode ended), `terminated: []` bool (no bootstrap)."""

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    next_obs: jax.Array
    terminated: jax.Array


@dataclass(frozen=True)
class SACNetworks:
    """Static pieces the losses need: the modules, the actor kind, and the scalarisation
    `value(q [..., m], w [m], ideal [m]) -> [...]`."""

    actor: nn.Module
    critic: VectorQ
    actor_kind: str  # "gaussian" | "pmoe" | "pmoe_gumbel" | "categorical"
    scalarize: Callable[[jax.Array, jax.Array, jax.Array], jax.Array]
    elementwise_min: bool = False  # twin minimum per objective (CAPQL) instead of on s(Q)

    @property
    def discrete(self) -> bool:
        return self.actor_kind == "categorical"


def policy_action(nets: SACNetworks, key: jax.Array, actor_out: Any) -> jax.Array:
    """A sample of the acting policy: `[..., A]` in `(-1, 1)` or `[...]` int32. (The
    Gumbel ablation acts the same way: the forward pass of the Gumbel-max choice is a
    draw from `Categorical(c)`.)"""
    if nets.discrete:
        return actor_out.sample(key)
    return pmoe.sample(key, actor_out, squash=True)[0]


def min_twin(nets: SACNetworks, q: jax.Array, weights: jax.Array, ideal: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`q: [2, ..., m]` -> (the vector of the twin with the lower scalarised value `[..., m]`,
    that value `[...]`); with `nets.elementwise_min`, the per-objective minimum and its score."""
    if nets.elementwise_min:
        lowest = jnp.min(q, axis=0)
        return lowest, nets.scalarize(lowest, weights, ideal)
    scores = nets.scalarize(q, weights, ideal)
    lower = scores[1] < scores[0]
    return jnp.where(lower[..., None], q[1], q[0]), jnp.minimum(scores[0], scores[1])


def _per_action(weights: jax.Array) -> jax.Array:
    """Weights `[..., m]` (one, or one per batch row) broadcastable against `[..., n, m]`."""
    return jnp.expand_dims(weights, -2)


def critic_loss(
    nets: SACNetworks,
    critic_params: Any,
    target_params: Any,
    actor_params: Any,
    batch: Transition,
    weights: jax.Array,
    ideal: jax.Array,
    alpha: jax.Array,
    gamma: jax.Array,
    key: jax.Array,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Twin vector-critic TD loss (see the module docstring); returns `(loss, aux)`."""
    actor_next = nets.actor.apply(actor_params, batch.next_obs, weights)
    if nets.discrete:
        log_pi = actor_next.log_probs()  # [B, n]
        q_next = apply_twin(nets.critic, target_params, batch.next_obs, None, weights)  # [2, B, n, m]
        q_next, _ = min_twin(nets, q_next, _per_action(weights), ideal)
        soft = q_next - alpha * log_pi[..., None]
        next_value = jnp.sum(jnp.exp(log_pi)[..., None] * soft, axis=-2)  # [B, m]
    else:
        next_action = policy_action(nets, key, actor_next)
        log_pi = pmoe.log_prob(actor_next, next_action, squash=True)  # [B]
        q_next = apply_twin(nets.critic, target_params, batch.next_obs, next_action, weights)  # [2, B, m]
        q_next, _ = min_twin(nets, q_next, weights, ideal)
        next_value = q_next - alpha * log_pi[..., None]
    bootstrap = gamma * (1.0 - batch.terminated.astype(jnp.float32))[..., None]
    target = jax.lax.stop_gradient(batch.reward + bootstrap * next_value)  # [B, m]
    if nets.discrete:
        q = apply_twin(nets.critic, critic_params, batch.obs, None, weights)  # [2, B, n, m]
        q = jnp.take_along_axis(q, batch.action[None, :, None, None].astype(jnp.int32), axis=-2)[..., 0, :]
    else:
        q = apply_twin(nets.critic, critic_params, batch.obs, batch.action, weights)  # [2, B, m]
    loss = 0.5 * jnp.sum(jnp.mean(jnp.sum((q - target) ** 2, axis=-1), axis=-1))
    return loss, {"critic_loss": loss}


def actor_loss(
    nets: SACNetworks,
    actor_params: Any,
    critic_params: Any,
    batch_obs: jax.Array,
    weights: jax.Array,
    ideal: jax.Array,
    alpha: jax.Array,
    temperature: jax.Array,
    key: jax.Array,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Actor loss for `nets.actor_kind` (module docstring); `aux["entropy"]` is the
    entropy estimate the temperature loss uses."""
    out = nets.actor.apply(actor_params, batch_obs, weights)
    if nets.discrete:
        log_pi = out.log_probs()  # [B, n]
        pi = jnp.exp(log_pi)
        q = apply_twin(nets.critic, critic_params, batch_obs, None, weights)
        _, sq = min_twin(nets, q, _per_action(weights), ideal)  # [B, n]
        loss = jnp.mean(jnp.sum(pi * (alpha * log_pi - sq), axis=-1))
        entropy = -jnp.sum(pi * log_pi, axis=-1)
        return loss, {"actor_loss": loss, "entropy": jnp.mean(entropy), "q_value": jnp.mean(jnp.sum(pi * sq, -1))}

    key_act, key_entropy = jax.random.split(key)
    if nets.actor_kind == "pmoe":
        actions, expert_log_pi = pmoe.expert_samples(key_act, out, squash=True)  # [B, K, A], [B, K]
        obs_k = jnp.broadcast_to(batch_obs[..., None, :], actions.shape[:-1] + batch_obs.shape[-1:])
        q = apply_twin(nets.critic, critic_params, obs_k, actions, weights)  # [2, B, K, m]
        _, sq = min_twin(nets, q, weights, ideal)  # [B, K]
        best = jnp.argmax(jax.lax.stop_gradient(sq), axis=-1)  # [B]
        pick = lambda x: jnp.take_along_axis(x, best[:, None], axis=-1)[:, 0]  # noqa: E731
        policy_loss = jnp.mean(alpha * pick(expert_log_pi) - pick(sq))
        router = jnp.mean(pmoe.router_loss(out, best))
        loss = policy_loss + router
        q_value = jnp.mean(pick(sq))
        extra = {"router_loss": router, "best_expert_share": jnp.mean(jax.nn.one_hot(best, out.num_experts), 0)}
    else:
        if nets.actor_kind == "pmoe_gumbel":
            action = pmoe.gumbel_sample(key_act, out, temperature, squash=True)[0]
        else:  # gaussian: one expert
            action = pmoe.expert_samples(key_act, out, squash=True)[0][..., 0, :]
        log_pi = pmoe.log_prob(out, action, squash=True)
        q = apply_twin(nets.critic, critic_params, batch_obs, action, weights)
        _, sq = min_twin(nets, q, weights, ideal)
        loss = jnp.mean(alpha * log_pi - sq)
        q_value = jnp.mean(sq)
        extra = {}
    stopped = jax.lax.stop_gradient(out)
    sampled = pmoe.sample(key_entropy, stopped, squash=True)[0]
    entropy = -jnp.mean(pmoe.log_prob(stopped, sampled, squash=True))
    return loss, {"actor_loss": loss, "entropy": entropy, "q_value": q_value, **extra}


def alpha_loss(log_alpha: jax.Array, entropy: jax.Array, target_entropy: jax.Array) -> jax.Array:
    """`log_alpha * (H - target_entropy)`: raises alpha when the entropy is below target."""
    return log_alpha * jax.lax.stop_gradient(entropy - target_entropy)
