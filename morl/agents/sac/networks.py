"""SAC networks: twin vector Q critics and the actor (PMOE mixture or categorical).

- Continuous actions: `VectorQ(obs [..., d], action [..., A], weights [..., m] | None)
  -> Q [..., m]`, one output per objective.
- Discrete actions (`num_actions` set): `VectorQ(obs, None, weights) -> Q [..., n, m]`,
  the vector value of every action.

The twin critics are one `VectorQ` with two parameter sets stacked on a leading `[2]`
axis (`init_twin`, `apply_twin`), so one call evaluates both.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax

from morl.networks.mlp import MLP, network_input


class VectorQ(nn.Module):
    """Vector-valued state-action critic; see the module docstring for shapes."""

    reward_dim: int
    hidden_sizes: Sequence[int] = (256, 256)
    activation: str = "relu"
    weight_conditioned: bool = False
    num_actions: int | None = None

    @nn.compact
    def __call__(self, obs: jax.Array, action: jax.Array | None, weights: jax.Array | None = None) -> jax.Array:
        x = network_input(obs, weights if self.weight_conditioned else None)
        if self.num_actions is None:
            x = network_input(x, action)
        x = MLP(self.hidden_sizes, self.activation)(x)
        if self.num_actions is None:
            return nn.Dense(self.reward_dim)(x)
        values = nn.Dense(self.num_actions * self.reward_dim)(x)
        return values.reshape(x.shape[:-1] + (self.num_actions, self.reward_dim))


def init_twin(critic: VectorQ, key: jax.Array, obs, action, weights) -> dict:
    """Two independent parameter sets, stacked on a leading `[2]` axis."""
    return jax.vmap(critic.init, in_axes=(0, None, None, None))(jax.random.split(key), obs, action, weights)


def apply_twin(critic: VectorQ, params: dict, obs, action, weights) -> jax.Array:
    """Both critics' values: `[2, ...]` (the shapes of `VectorQ` with a leading twin axis)."""
    return jax.vmap(critic.apply, in_axes=(0, None, None, None))(params, obs, action, weights)
