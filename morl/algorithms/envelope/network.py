"""A weight-conditioned vector Q-network and its greedy policy (shared by Envelope and GPI-LS).

`VectorQNetwork`: `(obs [..., d], weights [..., m]) -> Q [..., num_actions, m]`, one value
per action and objective (every objective maximised), the simplex weight concatenated to
the flat observation. The greedy action for weight `w` is `argmax_a w . Q(s, a, w)`.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from morl.networks import MLP, network_input


class VectorQNetwork(nn.Module):
    """`(obs [..., d], weights [..., m]) -> [..., num_actions, reward_dim]`."""

    num_actions: int
    reward_dim: int
    hidden_sizes: Sequence[int] = (128, 128)
    activation: str = "relu"

    @nn.compact
    def __call__(self, obs: jax.Array, weights: jax.Array) -> jax.Array:
        x = MLP(tuple(self.hidden_sizes), self.activation)(network_input(obs, weights))
        q = nn.Dense(self.num_actions * self.reward_dim)(x)
        return q.reshape(q.shape[:-1] + (self.num_actions, self.reward_dim))


def flat_observation(obs: jax.Array, obs_shape: tuple[int, ...]) -> jax.Array:
    """`obs [..., *obs_shape]` -> float32 `[..., prod(obs_shape)]`."""
    obs = jnp.asarray(obs, jnp.float32)
    batch = obs.shape[: obs.ndim - len(obs_shape)]
    return obs.reshape(batch + (-1,))


def greedy_action(q_values: jax.Array, weights: jax.Array) -> jax.Array:
    """`argmax_a w . Q[a]`: `q_values [..., A, m]`, `weights [..., m]` -> int32 `[...]`."""
    return jnp.argmax(jnp.einsum("...am,...m->...a", q_values, weights), axis=-1).astype(jnp.int32)
