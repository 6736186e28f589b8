"""MLP actors and vector critics (flax linen), optionally conditioned on the weight vector.

Inputs: `obs: [..., d]` (flat features, any numeric dtype; cast to float32) and, for a
weight-conditioned network, `weights: [..., m]` concatenated to the observation (the
leading axes broadcast). Outputs:
- `CategoricalActor` -> `Categorical(logits [..., n])`,
- `GaussianActor` -> `DiagGaussian(mean [..., d], log_std [d])`, the log-std a learned
  state-independent parameter,
- `VectorCritic` -> values `[..., m]`, one head per objective.

With `normalize_observations=True` a network first standardises the observation with
running statistics kept in its own variable collection `"obs_norm"` (`mean`, `m2`,
`count`, as `morl.shaping.moments.Moments`): `clip((obs - mean) / sqrt(var + 1e-8), -10,
10)`. The statistics are read under `stop_gradient`; the learner updates them between
updates (`update_observation_statistics`), so they travel with the parameters and a saved
actor acts exactly as it was trained.

Initialisation follows PureJaxRL / CleanRL PPO: orthogonal (`morl.networks.init`, free of
LAPACK so a vmapped population initialises without a batched QR), gain sqrt(2) on hidden
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
from morl.networks.init import orthogonal
from morl.shaping.moments import Moments, update_moments

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


OBS_NORM = "obs_norm"


class ObservationNormalizer(nn.Module):
    """`obs [..., d] -> clip((obs - mean) / sqrt(var + 1e-8), -10, 10)` with the statistics
    in the `"obs_norm"` collection (count 0 at initialisation, read as mean 0, var 1)."""

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        dim = obs.shape[-1:]
        mean = self.variable(OBS_NORM, "mean", jnp.zeros, dim, jnp.float32).value
        m2 = self.variable(OBS_NORM, "m2", jnp.zeros, dim, jnp.float32).value
        count = self.variable(OBS_NORM, "count", lambda: jnp.float32(0.0)).value
        var = jax.lax.stop_gradient(jnp.where(count > 0, m2 / jnp.maximum(count, 1.0), 1.0))
        return jnp.clip((obs - jax.lax.stop_gradient(mean)) / jnp.sqrt(var + 1e-8), -10.0, 10.0)


def update_observation_statistics(variables: dict, obs: jax.Array) -> dict:
    """`variables` of a network built with `normalize_observations=True`, with its
    `"obs_norm"` statistics merged with the batch `obs [..., d]` (Chan/Welford); other
    networks' variables are returned unchanged."""
    if OBS_NORM not in variables:
        return variables
    stats = variables[OBS_NORM]["ObservationNormalizer_0"]
    moments = update_moments(Moments(stats["mean"], stats["m2"], stats["count"]), jnp.asarray(obs, jnp.float32))
    merged = {"mean": moments.mean, "m2": moments.m2, "count": moments.count}
    return {**variables, OBS_NORM: {"ObservationNormalizer_0": merged}}


def _features(obs: jax.Array, weights: jax.Array | None, normalize: bool) -> jax.Array:
    obs = jnp.asarray(obs).astype(jnp.float32)
    if normalize:
        obs = ObservationNormalizer()(obs)
    return network_input(obs, weights)


class MLP(nn.Module):
    """Dense layers with `activation` after each: `[..., d_in] -> [..., hidden_sizes[-1]]`."""

    hidden_sizes: Sequence[int]
    activation: str = "tanh"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        for size in self.hidden_sizes:
            x = act(nn.Dense(size, kernel_init=orthogonal(np.sqrt(2.0)))(x))
        return x


class CategoricalActor(nn.Module):
    """`(obs [..., d], weights [..., m] | None) -> Categorical(logits [..., num_actions])`."""

    num_actions: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    weight_conditioned: bool = False
    normalize_observations: bool = False

    @nn.compact
    def __call__(self, obs: jax.Array, weights: jax.Array | None = None) -> Categorical:
        x = _features(obs, weights if self.weight_conditioned else None, self.normalize_observations)
        x = MLP(self.hidden_sizes, self.activation)(x)
        logits = nn.Dense(self.num_actions, kernel_init=orthogonal(0.01))(x)
        return Categorical(logits)


class GaussianActor(nn.Module):
    """`(obs, weights) -> DiagGaussian(mean [..., action_dim], log_std [action_dim])`;
    the log-std is a state-independent parameter initialised to `log_std_init`."""

    action_dim: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    weight_conditioned: bool = False
    log_std_init: float = 0.0
    normalize_observations: bool = False

    @nn.compact
    def __call__(self, obs: jax.Array, weights: jax.Array | None = None) -> DiagGaussian:
        x = _features(obs, weights if self.weight_conditioned else None, self.normalize_observations)
        x = MLP(self.hidden_sizes, self.activation)(x)
        mean = nn.Dense(self.action_dim, kernel_init=orthogonal(0.01))(x)
        log_std = self.param("log_std", nn.initializers.constant(self.log_std_init), (self.action_dim,))
        return DiagGaussian(mean, log_std)


class VectorCritic(nn.Module):
    """`(obs, weights) -> values [..., reward_dim]`: a shared torso, one value per objective."""

    reward_dim: int
    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    weight_conditioned: bool = False
    normalize_observations: bool = False

    @nn.compact
    def __call__(self, obs: jax.Array, weights: jax.Array | None = None) -> jax.Array:
        x = _features(obs, weights if self.weight_conditioned else None, self.normalize_observations)
        x = MLP(self.hidden_sizes, self.activation)(x)
        return nn.Dense(self.reward_dim, kernel_init=orthogonal(1.0))(x)


ACTORS: tuple[str, ...] = ("categorical", "gaussian")


def make_actor(
    kind: str,
    action_space: spaces.Space,
    hidden_sizes: Sequence[int],
    activation: str,
    weight_conditioned: bool,
    normalize_observations: bool = False,
) -> nn.Module:
    """The actor module `kind` (one of `ACTORS`) for `action_space`; raises `ValueError`
    when the kind does not fit the space."""
    if kind == "categorical":
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"actor 'categorical' needs a Discrete action space, got {action_space}")
        return CategoricalActor(
            action_space.n, tuple(hidden_sizes), activation, weight_conditioned, normalize_observations
        )
    if kind == "gaussian":
        if not isinstance(action_space, spaces.Box) or len(action_space.shape) != 1:
            raise ValueError(f"actor 'gaussian' needs a 1-D Box action space, got {action_space}")
        return GaussianActor(
            action_space.shape[0], tuple(hidden_sizes), activation, weight_conditioned,
            normalize_observations=normalize_observations,
        )
    raise ValueError(f"unknown actor {kind!r}; known: {', '.join(ACTORS)}")
