"""MLP actors and vector critics (flax linen), optionally conditioned on the weight vector.

Inputs: `obs: [..., d]` (flat features, any numeric dtype; cast to float32) and, for a
weight-conditioned network, `weights: [..., m]` concatenated to the observation (the
leading axes broadcast). Outputs:
- `CategoricalActor` -> `Categorical(logits [..., n])`,
- `GaussianActor` -> `DiagGaussian(mean [..., d], log_std [d])`, the log-std a learned
  state-independent parameter,
- `VectorCritic` -> values `[..., m]`, one head per objective.

Initialisation follows PureJaxRL / CleanRL PPO: orthogonal, gain sqrt(2) on hidden
layers, 0.01 on the actor's output, 1.0 on the critic's, zero biases.
"""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from morl.envs import spaces
from morl.networks.distributions import Categorical, DiagGaussian

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": jnp.tanh,
    "relu": nn.relu,
    "gelu": nn.gelu,
    "silu": nn.silu,
}


def network_input(obs: jax.Array, weights: jax.Array | None) -> jax.Array:
    """`obs: [..., d]` as float32, with `weights: [..., m]` appended when given."""
    x = jnp.asarray(obs).astype(jnp.float32)
    if weights is None:
        return x
    weights = jnp.asarray(weights, jnp.float32)
    batch = jnp.broadcast_shapes(x.shape[:-1], weights.shape[:-1])
    x = jnp.broadcast_to(x, batch + x.shape[-1:])
    weights = jnp.broadcast_to(weights, batch + weights.shape[-1:])
    return jnp.concatenate([x, weights], axis=-1)


class MLP(nn.Module):
    """Dense layers with `activation` after each: `[..., d_in] -> [..., hidden_sizes[-1]]`."""

    hidden_sizes: Sequence[int]
    activation: str = "tanh"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        for size in self.hidden_sizes:
            x = act(nn.Dense(size, kernel_init=nn.initializers.orthogonal(np.sqrt(2.0)))(x))
        return x


class CategoricalActor(nn.Module):
    """`(obs [..., d], weights [..., m] | None) -> Categorical(logits [..., num_actions])`."""

    num_actions: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    weight_conditioned: bool = False

    @nn.compact
    def __call__(self, obs: jax.Array, weights: jax.Array | None = None) -> Categorical:
        x = MLP(self.hidden_sizes, self.activation)(network_input(obs, weights if self.weight_conditioned else None))
        logits = nn.Dense(self.num_actions, kernel_init=nn.initializers.orthogonal(0.01))(x)
        return Categorical(logits)


class GaussianActor(nn.Module):
    """`(obs, weights) -> DiagGaussian(mean [..., action_dim], log_std [action_dim])`;
    the log-std is a state-independent parameter initialised to `log_std_init`."""

    action_dim: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    weight_conditioned: bool = False
    log_std_init: float = 0.0

    @nn.compact
    def __call__(self, obs: jax.Array, weights: jax.Array | None = None) -> DiagGaussian:
        x = MLP(self.hidden_sizes, self.activation)(network_input(obs, weights if self.weight_conditioned else None))
        mean = nn.Dense(self.action_dim, kernel_init=nn.initializers.orthogonal(0.01))(x)
        log_std = self.param("log_std", nn.initializers.constant(self.log_std_init), (self.action_dim,))
        return DiagGaussian(mean, log_std)


class VectorCritic(nn.Module):
    """`(obs, weights) -> values [..., reward_dim]`: a shared torso, one value per objective."""

    reward_dim: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    weight_conditioned: bool = False

    @nn.compact
    def __call__(self, obs: jax.Array, weights: jax.Array | None = None) -> jax.Array:
        x = MLP(self.hidden_sizes, self.activation)(network_input(obs, weights if self.weight_conditioned else None))
        return nn.Dense(self.reward_dim, kernel_init=nn.initializers.orthogonal(1.0))(x)


ACTORS: tuple[str, ...] = ("categorical", "gaussian")


def make_actor(
    kind: str,
    action_space: spaces.Space,
    hidden_sizes: Sequence[int],
    activation: str,
    weight_conditioned: bool,
) -> nn.Module:
    """The actor module `kind` (one of `ACTORS`) for `action_space`; raises `ValueError`
    when the kind does not fit the space."""
    if kind == "categorical":
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"actor 'categorical' needs a Discrete action space, got {action_space}")
        return CategoricalActor(action_space.n, tuple(hidden_sizes), activation, weight_conditioned)
    if kind == "gaussian":
        if not isinstance(action_space, spaces.Box) or len(action_space.shape) != 1:
            raise ValueError(f"actor 'gaussian' needs a 1-D Box action space, got {action_space}")
        return GaussianActor(action_space.shape[0], tuple(hidden_sizes), activation, weight_conditioned)
    raise ValueError(f"unknown actor {kind!r}; known: {', '.join(ACTORS)}")
