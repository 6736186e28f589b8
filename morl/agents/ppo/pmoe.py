"""PMOE actors for PPO (Ren et al., "Probabilistic Mixture-of-Experts for Efficient Deep Reinforcement Learning", 2021; the mixture itself is `morl.networks.pmoe`).

- `PMOEActor(obs [..., d], weights [..., m] | None) -> Mixture`: `morl.networks.pmoe.
  MixtureActor` (K Gaussian experts over the unsquashed action, a router on stopped trunk
  features) behind the optional observation normaliser, with the experts' means on a
  Latin hypercube over `[-1, 1]^A` (std half a bin, `expert_init="grid"`) and their stds
  within `[EXPERT_STD_MIN, EXPERT_STD_MAX]` (explained at `PMOEActor` and the
  constants). PPO samples `k ~ Categorical(c)`, `a ~ N(mu_k, sigma_k)`, and its ratio
  uses the mixture log-density `log sum_k c_k N(a | mu_k, sigma_k)`. The surrogate and
  the entropy bonus see `c` as a constant (`policy_view`): the router learns only from
  its own estimator below.
- `ActionValue(obs, action [..., A], weights) -> Q [..., m]`: a vector Q estimate
  (`morl.agents.sac.networks.VectorQ` behind the optional normaliser), regressed on the
  GAE value targets of the taken actions (`q_loss`).
- `auxiliary_losses` puts both together for a minibatch (what `ppo.make` adds to the
  PPO loss, as `router_coef * router + vf_coef * q`).
- `router_objective`, per minibatch, with `Q` and the experts' parameters held fixed:
  - `"pmoe"` (frequency-approximate gradient): one sample `a_k` from every expert, scores
    `s_k = scalarization.value(Q(s, a_k), w, z*)`, `k* = argmax_k s_k`, loss
    `mean_B ||c(s) - onehot(k*)||^2`;
  - `"pmoe_gumbel"`: `a = sum_k y_k a_k` with `y` the straight-through Gumbel-softmax
    one-hot, loss `-mean_B scalarization.value(Q(s, a), w, z*)`; the gradient reaches the
    router through `y`.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from morl.agents.sac.networks import VectorQ
from morl.networks import pmoe
from morl.networks.mlp import ObservationNormalizer


def _observations(obs: jax.Array, normalize: bool) -> jax.Array:
    obs = jnp.asarray(obs).astype(jnp.float32)
    return ObservationNormalizer()(obs) if normalize else obs


#: The experts' standard deviations stay within `[EXPERT_STD_MIN, EXPERT_STD_MAX]` (action
#: units). The floor: Adam moves every parameter of a mean head by about `learning_rate`
#: per minibatch step whatever the gradient's size (and keeps moving on momentum after
#: PPO's clip has zeroed the gradient), so an expert much sharper than one update's
#: steps leaves its trust region at every update and random-walks off the mode it found.
#: The ceiling: the entropy bonus reaches expert k's log-std with weight `c_k`, and Adam
#: turns even the small gradient of an expert the router neglects into full steps, so
#: without a ceiling that expert's std grows to `exp(LOG_STD_MAX) = 7.4`, its samples clip
#: to the box's edges and it never wins the router's comparison again; at 1, the scale
#: of the Gaussian actor's initial std, it keeps sampling the whole box.
EXPERT_STD_MIN = 0.05
EXPERT_STD_MAX = 1.0


class PMOEActor(nn.Module):
    """`(obs [..., d], weights [..., m] | None) -> Mixture` with `num_experts` experts over
    `action_dim` actions; parameters under `"mixture"` (its `"router"` head among them).

    The experts start on a Latin hypercube over `[-1, 1]^A` (in each action coordinate
    the centres of `K` equal bins, std half a bin; `morl.networks.pmoe.MixtureActor`,
    `expert_init="grid"`), the scale the Gaussian actor's unit initial std assumes: each
    expert starts owning its bin, so the experts find different modes instead of being
    pulled together by the samples they share. Their stds stay within
    `[EXPERT_STD_MIN, EXPERT_STD_MAX]`."""

    action_dim: int
    num_experts: int = 4
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    weight_conditioned: bool = False
    normalize_observations: bool = False

    @nn.compact
    def __call__(self, obs: jax.Array, weights: jax.Array | None = None) -> pmoe.Mixture:
        mixture = pmoe.MixtureActor(
            self.action_dim, self.num_experts, tuple(self.hidden_sizes), self.activation, self.weight_conditioned,
            expert_init="grid", log_std_min=math.log(EXPERT_STD_MIN), log_std_max=math.log(EXPERT_STD_MAX),
            name="mixture",
        )
        return mixture(_observations(obs, self.normalize_observations), weights)


class ActionValue(nn.Module):
    """`(obs [..., d], action [..., A], weights [..., m] | None) -> Q [..., reward_dim]`."""

    reward_dim: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    weight_conditioned: bool = False
    normalize_observations: bool = False

    @nn.compact
    def __call__(self, obs: jax.Array, action: jax.Array, weights: jax.Array | None = None) -> jax.Array:
        q = VectorQ(self.reward_dim, tuple(self.hidden_sizes), self.activation, self.weight_conditioned, name="q")
        return q(_observations(obs, self.normalize_observations), action, weights)


def policy_view(mixture: pmoe.Mixture) -> pmoe.Mixture:
    """The mixture with the router's logits under `stop_gradient` (what PPO's surrogate and
    entropy bonus differentiate)."""
    return mixture.replace(logits=jax.lax.stop_gradient(mixture.logits))


def q_loss(q_values: jax.Array, targets: jax.Array) -> jax.Array:
    """`0.5 (Q(s, a) - target)^2` averaged over samples and objectives: `[B, m]` -> scalar."""
    return 0.5 * jnp.mean(jnp.square(q_values - targets))


def router_objective(
    kind: str,
    key: jax.Array,
    mixture: pmoe.Mixture,
    q_fn: Callable[[jax.Array], jax.Array],
    score: Callable[[jax.Array], jax.Array],
    temperature: float,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """The router's loss on a minibatch (to be minimised) and its metrics.

    `mixture` has batch shape `[B]`; `q_fn(actions [B, K, A] or [B, A]) -> Q [..., m]` must
    not differentiate Q's parameters (pass them stopped); `score(Q [..., m]) -> [...]` the
    scalarised value under the member's weights. The experts' means and log-stds are
    stopped here, so the gradient reaches only the router head."""
    experts = mixture.replace(
        mean=jax.lax.stop_gradient(mixture.mean), log_std=jax.lax.stop_gradient(mixture.log_std)
    )
    if kind == "pmoe":
        actions, _ = pmoe.expert_samples(key, experts, squash=False)  # [B, K, A]
        scores = jax.lax.stop_gradient(score(q_fn(actions)))  # [B, K]
        best = jnp.argmax(scores, axis=-1)
        loss = jnp.mean(pmoe.router_loss(mixture, best))
        return loss, {"router_loss": loss, "router_agreement": jnp.mean(jnp.argmax(mixture.logits, -1) == best)}
    if kind == "pmoe_gumbel":
        action, _ = pmoe.gumbel_sample(key, experts, temperature, squash=False)  # [B, A]
        loss = -jnp.mean(score(q_fn(action)))
        return loss, {"router_loss": loss}
    raise ValueError(f"router_objective: unknown PMOE kind {kind!r}; known: pmoe, pmoe_gumbel")


def auxiliary_losses(
    params: Any,
    obs: jax.Array,
    action: jax.Array,
    targets: jax.Array,
    weights: jax.Array,
    key: jax.Array,
    *,
    kind: str,
    actor: PMOEActor,
    action_value: ActionValue,
    score: Callable[[jax.Array], jax.Array],
    temperature: float,
) -> tuple[jax.Array, jax.Array, dict[str, jax.Array]]:
    """`(router_loss, q_loss, metrics)` on a minibatch `obs [B, d]`, taken `action [B, A]`,
    GAE value `targets [B, m]`; `params = {"actor", "q", ...}`. The router loss
    (`router_objective`) differentiates only the actor's router head; `q_loss` only
    `params["q"]`."""
    mixture = actor.apply(params["actor"], obs, weights)
    q_params = jax.lax.stop_gradient(params["q"])

    def q_fn(actions: jax.Array) -> jax.Array:  # [B, A] or [B, K, A]
        expanded = obs.reshape(obs.shape[:1] + (1,) * (actions.ndim - 2) + obs.shape[1:])
        return action_value.apply(q_params, expanded, actions, weights)

    router, metrics = router_objective(kind, key, mixture, q_fn, score, temperature)
    q_error = q_loss(action_value.apply(params["q"], obs, action, weights), targets)
    metrics = {**metrics, "q_loss": q_error, "router_max_prob": jnp.mean(jnp.max(mixture.probs, axis=-1))}
    return router, q_error, metrics
