"""Hypernetwork heads: the last layer of an actor or critic generated from the weight vector.

A weight-conditioned network can read `w` as an input (`morl.networks.mlp`, "concat") or
have `w` generate its parameters (a hypernetwork, as MORLAX's preference-conditioned
policies do). Here the torso `h = MLP(obs)` never sees `w`; a small generator
`g = MLP_hyper(w)` produces the output layer's kernel `K(w) [H, out]` and bias
`b(w) [out]`:

    out = h @ (K0 + K(w)) + b0 + b(w)

`K0, b0` are an ordinary (w-independent) dense layer with the usual initialisation; the
generator's output layer starts at zero, so at initialisation the network is the plain
MLP and the dependence on `w` is learned.

Shapes: `obs [..., d]`, `weights [..., m]` (the leading axes broadcast, so one weight can
condition a batch of observations and a batch of weights one observation each). Outputs
as `GaussianActor` / `CategoricalActor` / `VectorCritic`.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from morl.networks.distributions import Categorical, DiagGaussian
from morl.networks.init import orthogonal
from morl.networks.mlp import MLP, ObservationNormalizer


class HyperDense(nn.Module):
    """`(h [..., H], weights [..., m]) -> [..., features]` with a `w`-generated kernel and
    bias added to a plain dense layer (module docstring)."""

    features: int
    hyper_sizes: Sequence[int] = (64,)
    gain: float = 1.0

    @nn.compact
    def __call__(self, h: jax.Array, weights: jax.Array) -> jax.Array:
        hidden = h.shape[-1]
        base = nn.Dense(self.features, kernel_init=orthogonal(self.gain))(h)
        z = MLP(self.hyper_sizes, "relu")(jnp.asarray(weights, jnp.float32))
        generated = nn.Dense(hidden * self.features + self.features, kernel_init=nn.initializers.zeros)(z)
        kernel = generated[..., : hidden * self.features].reshape(generated.shape[:-1] + (hidden, self.features))
        bias = generated[..., hidden * self.features :]
        return base + jnp.sum(h[..., :, None] * kernel, axis=-2) + bias


def _torso(obs: jax.Array, hidden_sizes: Sequence[int], activation: str, normalize: bool) -> jax.Array:
    x = jnp.asarray(obs).astype(jnp.float32)
    if normalize:
        x = ObservationNormalizer()(x)
    return MLP(hidden_sizes, activation)(x)


class HyperGaussianActor(nn.Module):
    """`(obs, weights) -> DiagGaussian(mean [..., action_dim], log_std [action_dim])`, the
    mean's output layer generated from `weights`."""

    action_dim: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    hyper_sizes: Sequence[int] = (64,)
    log_std_init: float = 0.0
    normalize_observations: bool = False

    @nn.compact
    def __call__(self, obs: jax.Array, weights: jax.Array) -> DiagGaussian:
        h = _torso(obs, self.hidden_sizes, self.activation, self.normalize_observations)
        mean = HyperDense(self.action_dim, self.hyper_sizes, 0.01)(h, weights)
        log_std = self.param("log_std", nn.initializers.constant(self.log_std_init), (self.action_dim,))
        return DiagGaussian(mean, log_std)


class HyperCategoricalActor(nn.Module):
    """`(obs, weights) -> Categorical(logits [..., num_actions])`, the logits' layer
    generated from `weights`."""

    num_actions: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    hyper_sizes: Sequence[int] = (64,)
    normalize_observations: bool = False

    @nn.compact
    def __call__(self, obs: jax.Array, weights: jax.Array) -> Categorical:
        h = _torso(obs, self.hidden_sizes, self.activation, self.normalize_observations)
        return Categorical(HyperDense(self.num_actions, self.hyper_sizes, 0.01)(h, weights))


class HyperVectorCritic(nn.Module):
    """`(obs, weights) -> values [..., reward_dim]`, the value heads generated from `weights`."""

    reward_dim: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    hyper_sizes: Sequence[int] = (64,)
    normalize_observations: bool = False

    @nn.compact
    def __call__(self, obs: jax.Array, weights: jax.Array) -> jax.Array:
        h = _torso(obs, self.hidden_sizes, self.activation, self.normalize_observations)
        return HyperDense(self.reward_dim, self.hyper_sizes, 1.0)(h, weights)

