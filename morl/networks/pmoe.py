"""PMOE: a probabilistic mixture-of-experts actor (Ren et al. 2021; docs/learners_sac_pmoe.md).

The actor maps `(obs [..., d], weights [..., m] | None)` to a `Mixture`: `K` diagonal
Gaussian experts over the pre-squash action `u` and a router with mixing probabilities
`c(s)`:

    pi(u | s) = sum_k c_k(s) N(u | mu_k(s), sigma_k(s))

- a shared trunk (`morl.networks.mlp.MLP`) reads the observation (and the weight vector
  when `weight_conditioned`);
- `K` expert heads give `mu_k: [..., K, A]` and `log sigma_k: [..., K, A]`, the log-std
  clamped to `[log_std_min, log_std_max]` (by default `[LOG_STD_MIN, LOG_STD_MAX] =
  [-20, 2]`); the experts start apart (`MixtureActor.expert_init`);
- the router head reads the trunk features through `stop_gradient` and gives logits
  `[..., K]`, `c = softmax(logits)`; it is trained only by `router_loss` (or, for the
  Gumbel ablation, through the reparameterised choice), never moves the trunk.

`squash=True` (SAC) maps `a = tanh(u)` into `(-1, 1)^A` and every log-density gains the
change-of-variables term `- sum_i log(1 - tanh(u_i)^2)`; `squash=False` (PPO) uses `u`
itself as the action.

Actor kinds, chosen by the learners' `actor` config field (`ACTOR_KINDS`):
- `"gaussian"`: the unimodal ablation, a `MixtureActor` with `K = 1` (the router is then
  constant, `c = 1`, and every function below reduces to a plain Gaussian actor);
- `"pmoe"`: `K` experts, expert chosen by sampling `k ~ Categorical(c)`, trained by the
  frequency-approximate gradient: `expert_samples` -> score each with the critic ->
  `k* = argmax` -> the learner's loss on expert `k*` plus `router_loss(mixture, k*)`;
- `"pmoe_gumbel"`: the same network, expert chosen by a straight-through Gumbel-softmax
  sample (`gumbel_sample`), so the choice is reparameterised and the router learns
  from the learner's loss directly.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct

from morl.networks.mlp import MLP, network_input

LOG_STD_MIN = -20.0
LOG_STD_MAX = 2.0
ACTOR_KINDS: tuple[str, ...] = ("gaussian", "pmoe", "pmoe_gumbel")
EXPERT_INITS: tuple[str, ...] = ("normal", "grid")
_GRID_KERNEL_SCALE = 0.01  # expert heads of a "grid" start almost state-independent
_LOG_2PI = math.log(2.0 * math.pi)  # a Python float: importing must not start the JAX backend
_ATANH_LIMIT = 1.0 - 1e-6


@struct.dataclass
class Mixture:
    """A Gaussian mixture over pre-squash actions. `logits: [..., K]` (router),
    `mean, log_std: [..., K, A]` (experts)."""

    logits: jax.Array
    mean: jax.Array
    log_std: jax.Array

    @property
    def probs(self) -> jax.Array:
        """Mixing probabilities `c(s)`: `[..., K]`."""
        return jax.nn.softmax(self.logits, axis=-1)

    @property
    def num_experts(self) -> int:
        return self.logits.shape[-1]

    # The distribution interface of morl.networks.distributions (unsquashed actions), so
    # PPO can use a Mixture wherever it uses a DiagGaussian.
    def sample(self, key: jax.Array) -> jax.Array:
        """`k ~ Categorical(c)`, `a ~ N(mu_k, sigma_k)`: `[..., A]`."""
        return sample(key, self, squash=False)[0]

    def log_prob(self, action: jax.Array) -> jax.Array:
        """Mixture log-density `log sum_k c_k N(a | mu_k, sigma_k)`: `[...]`."""
        return log_prob(self, action, squash=False)

    def mode(self) -> jax.Array:
        """Mean of the most probable expert: `[..., A]`."""
        return mode(self, squash=False)

    def entropy(self) -> jax.Array:
        """`H(c) + sum_k c_k H(N_k)`: `[...]`, an upper bound on the mixture's entropy
        (exact for one expert; the mixture's entropy has no closed form)."""
        log_c = jax.nn.log_softmax(self.logits, axis=-1)
        expert_entropy = jnp.sum(self.log_std + 0.5 * (1.0 + _LOG_2PI), axis=-1)
        return jnp.sum(jnp.exp(log_c) * (expert_entropy - log_c), axis=-1)


class MixtureActor(nn.Module):
    """`(obs [..., d], weights [..., m] | None) -> Mixture` with `num_experts` experts over
    `action_dim` actions. `num_experts=1` is the unimodal Gaussian actor.

    The frequency-approximate gradient trains only the winning expert's region, and
    experts that start on top of each other tend to stay together, so with `K > 1` the
    experts start apart (`expert_init`):
    - `"normal"` (SAC's default): the experts' mean biases are independent
      `N(0, expert_spread^2)` draws (pre-squash), heads initialised like any dense layer;
    - `"grid"` (PPO's): a Latin hypercube over `[-expert_spread, expert_spread]^A`: in every
      action coordinate the `K` experts take the centres of `K` equal bins in a random
      order, with a standard deviation of half a bin (`expert_spread / K`); the expert
      heads' kernels start at 1% of the usual scale, so every state starts from this
      layout and each expert owns its bin instead of sharing the whole box.

    Log-stds are clamped to `[log_std_min, log_std_max]`."""

    action_dim: int
    num_experts: int = 4
    hidden_sizes: Sequence[int] = (256, 256)
    activation: str = "relu"
    weight_conditioned: bool = False
    expert_spread: float = 1.0
    expert_init: str = "normal"
    log_std_min: float = LOG_STD_MIN
    log_std_max: float = LOG_STD_MAX

    @nn.compact
    def __call__(self, obs: jax.Array, weights: jax.Array | None = None) -> Mixture:
        if self.expert_init not in EXPERT_INITS:
            raise ValueError(f"expert_init={self.expert_init!r}; known: {', '.join(EXPERT_INITS)}")
        x = MLP(self.hidden_sizes, self.activation)(network_input(obs, weights if self.weight_conditioned else None))
        k, a = self.num_experts, self.action_dim
        if k > 1 and self.expert_init == "grid":
            kernel = nn.initializers.variance_scaling(_GRID_KERNEL_SCALE**2, "fan_in", "truncated_normal")
            mean_bias, log_std_bias = _grid_bias(k, a, self.expert_spread), nn.initializers.constant(
                math.log(self.expert_spread / k)
            )
        else:
            kernel = nn.initializers.lecun_normal()
            mean_bias = nn.initializers.normal(self.expert_spread) if k > 1 else nn.initializers.zeros
            log_std_bias = nn.initializers.zeros
        mean = nn.Dense(k * a, kernel_init=kernel, bias_init=mean_bias, name="expert_mean")(x)
        log_std = nn.Dense(k * a, kernel_init=kernel, bias_init=log_std_bias, name="expert_log_std")(x)
        logits = nn.Dense(k, name="router")(jax.lax.stop_gradient(x))
        mean, log_std = (y.reshape(x.shape[:-1] + (k, a)) for y in (mean, log_std))
        return Mixture(logits, mean, jnp.clip(log_std, self.log_std_min, self.log_std_max))


def _grid_bias(k: int, a: int, spread: float) -> Callable[..., jax.Array]:
    """Bias initialiser `[K * A]` (expert-major): per action coordinate, a random
    permutation of the `K` bin centres of `[-spread, spread]`."""

    def init(key: jax.Array, shape: Sequence[int], dtype: Any = jnp.float32) -> jax.Array:
        centres = spread * ((2.0 * jnp.arange(k) + 1.0) / k - 1.0)  # [K]
        columns = [jax.random.permutation(sub, centres) for sub in jax.random.split(key, a)]
        return jnp.stack(columns, axis=-1).reshape(shape).astype(dtype)  # [K, A] -> [K * A]

    return init


def make_mixture_actor(
    kind: str,
    action_dim: int,
    num_experts: int,
    hidden_sizes: Sequence[int],
    activation: str,
    weight_conditioned: bool,
) -> MixtureActor:
    """The actor for `kind` (one of `ACTOR_KINDS`); `"gaussian"` forces one expert."""
    if kind not in ACTOR_KINDS:
        raise ValueError(f"unknown actor {kind!r}; known: {', '.join(ACTOR_KINDS)}")
    if kind != "gaussian" and num_experts < 2:
        raise ValueError(f"actor {kind!r} needs num_experts >= 2, got {num_experts}")
    k = 1 if kind == "gaussian" else int(num_experts)
    return MixtureActor(int(action_dim), k, tuple(hidden_sizes), activation, bool(weight_conditioned))


# --- densities --------------------------------------------------------------------------
def _gaussian_log_prob(u: jax.Array, mean: jax.Array, log_std: jax.Array) -> jax.Array:
    z = (u - mean) * jnp.exp(-log_std)
    return jnp.sum(-0.5 * z**2 - log_std - 0.5 * _LOG_2PI, axis=-1)


def _tanh_log_det(u: jax.Array) -> jax.Array:
    """`sum_i log(1 - tanh(u_i)^2)`, computed stably as `2 (log 2 - u - softplus(-2u))`."""
    return jnp.sum(2.0 * (jnp.log(2.0) - u - jax.nn.softplus(-2.0 * u)), axis=-1)


def _pre_squash(action: jax.Array, squash: bool) -> jax.Array:
    if not squash:
        return action
    return jnp.arctanh(jnp.clip(action, -_ATANH_LIMIT, _ATANH_LIMIT))


def expert_log_prob(mixture: Mixture, action: jax.Array, squash: bool) -> jax.Array:
    """`log pi_k(a | s)` of every expert: `action [..., A] -> [..., K]`."""
    u = _pre_squash(action, squash)
    log_probs = _gaussian_log_prob(u[..., None, :], mixture.mean, mixture.log_std)
    return log_probs - _tanh_log_det(u)[..., None] if squash else log_probs


def log_prob(mixture: Mixture, action: jax.Array, squash: bool) -> jax.Array:
    """Mixture log-density `log sum_k c_k pi_k(a | s)`: `action [..., A] -> [...]` (PPO's
    ratio uses this with `squash=False`)."""
    log_c = jax.nn.log_softmax(mixture.logits, axis=-1)
    return jax.nn.logsumexp(log_c + expert_log_prob(mixture, action, squash), axis=-1)


# --- acting -----------------------------------------------------------------------------
def expert_samples(key: jax.Array, mixture: Mixture, squash: bool) -> tuple[jax.Array, jax.Array]:
    """One reparameterised sample from **every** expert: `(actions [..., K, A],
    log_probs [..., K])`, `log_probs[k] = log pi_k(actions[k] | s)` (the expert's own
    density, tanh-corrected when `squash`). Gradients flow into the expert heads."""
    noise = jax.random.normal(key, mixture.mean.shape, mixture.mean.dtype)
    u = mixture.mean + jnp.exp(mixture.log_std) * noise
    log_probs = _gaussian_log_prob(u, mixture.mean, mixture.log_std)
    if squash:
        return jnp.tanh(u), log_probs - _tanh_log_det(u)
    return u, log_probs


def sample(key: jax.Array, mixture: Mixture, squash: bool) -> tuple[jax.Array, jax.Array]:
    """PMOE acting: `k ~ Categorical(c(s))`, then `a ~ pi_k`. Returns `(action [..., A],
    expert [...] int32)`; use `log_prob` for the action's mixture log-density."""
    key_expert, key_action = jax.random.split(key)
    expert = jax.random.categorical(key_expert, mixture.logits, axis=-1).astype(jnp.int32)
    actions, _ = expert_samples(key_action, mixture, squash)
    return _take_expert(actions, expert), expert


def gumbel_sample(
    key: jax.Array, mixture: Mixture, temperature: jax.Array | float, squash: bool
) -> tuple[jax.Array, jax.Array]:
    """The Gumbel-softmax ablation: a straight-through one-hot `y` (forward: one-hot of
    `argmax(logits + g)`, `g ~ Gumbel`; backward: `softmax((logits + g) / temperature)`)
    picks the expert, `a = squash(sum_k y_k u_k)`, so gradients reach the router through
    the choice. Returns `(action [..., A], expert [...] int32)`."""
    key_gumbel, key_action = jax.random.split(key)
    scores = mixture.logits + jax.random.gumbel(key_gumbel, mixture.logits.shape, mixture.logits.dtype)
    soft = jax.nn.softmax(scores / temperature, axis=-1)
    expert = jnp.argmax(scores, axis=-1).astype(jnp.int32)
    hard = jax.nn.one_hot(expert, mixture.num_experts, dtype=soft.dtype)
    choice = hard + soft - jax.lax.stop_gradient(soft)
    noise = jax.random.normal(key_action, mixture.mean.shape, mixture.mean.dtype)
    u = jnp.sum(choice[..., None] * (mixture.mean + jnp.exp(mixture.log_std) * noise), axis=-2)
    return (jnp.tanh(u) if squash else u), expert


def mode(mixture: Mixture, squash: bool) -> jax.Array:
    """Deterministic action: the mean of the most probable expert, `[..., A]`."""
    mean = _take_expert(mixture.mean, jnp.argmax(mixture.logits, axis=-1))
    return jnp.tanh(mean) if squash else mean


def router_loss(mixture: Mixture, best_expert: jax.Array) -> jax.Array:
    """Frequency-approximate router loss `||c(s) - onehot(k*)||^2`: `best_expert [...]
    int -> [...]`. Its gradient reaches only the router head (the trunk is stopped)."""
    target = jax.nn.one_hot(best_expert, mixture.num_experts, dtype=mixture.logits.dtype)
    return jnp.sum((mixture.probs - jax.lax.stop_gradient(target)) ** 2, axis=-1)


def _take_expert(per_expert: jax.Array, expert: jax.Array) -> jax.Array:
    """`per_expert [..., K, A]`, `expert [...]` -> `[..., A]`."""
    return jnp.take_along_axis(per_expert, expert[..., None, None].astype(jnp.int32), axis=-2)[..., 0, :]
