"""Action distributions as pytrees: `sample`, `log_prob`, `entropy`, `mode`.

Each distribution is a `flax.struct.dataclass`, so it can be returned from a jitted or
vmapped network call. Batch axes are leading: a `Categorical` with `logits: [..., n]`
has batch shape `[...]`; a `DiagGaussian` with `mean: [..., d]` has batch shape `[...]`
and event shape `[d]` (`log_prob` and `entropy` sum over the event axis).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import struct

_LOG_2PI = math.log(2.0 * math.pi)  # a Python float: importing must not start the JAX backend


@struct.dataclass
class Categorical:
    """Categorical over `n` actions from unnormalised `logits: [..., n]`; actions int32."""

    logits: jax.Array

    def log_probs(self) -> jax.Array:
        """Normalised log-probabilities `[..., n]`."""
        return jax.nn.log_softmax(self.logits, axis=-1)

    def sample(self, key: jax.Array) -> jax.Array:
        return jax.random.categorical(key, self.logits, axis=-1).astype(jnp.int32)

    def log_prob(self, action: jax.Array) -> jax.Array:
        log_probs = self.log_probs()
        return jnp.take_along_axis(log_probs, action[..., None].astype(jnp.int32), axis=-1)[..., 0]

    def entropy(self) -> jax.Array:
        log_probs = self.log_probs()
        return -jnp.sum(jnp.exp(log_probs) * log_probs, axis=-1)

    def mode(self) -> jax.Array:
        return jnp.argmax(self.logits, axis=-1).astype(jnp.int32)


@struct.dataclass
class DiagGaussian:
    """Diagonal Gaussian with `mean: [..., d]` and `log_std: [..., d]` (broadcastable)."""

    mean: jax.Array
    log_std: jax.Array

    def sample(self, key: jax.Array) -> jax.Array:
        noise = jax.random.normal(key, self.mean.shape, self.mean.dtype)
        return self.mean + jnp.exp(self.log_std) * noise

    def log_prob(self, action: jax.Array) -> jax.Array:
        z = (action - self.mean) * jnp.exp(-self.log_std)
        per_dim = -0.5 * z**2 - self.log_std - 0.5 * _LOG_2PI
        return jnp.sum(per_dim, axis=-1)

    def entropy(self) -> jax.Array:
        log_std = jnp.broadcast_to(self.log_std, self.mean.shape)
        return jnp.sum(log_std + 0.5 * (1.0 + _LOG_2PI), axis=-1)

    def mode(self) -> jax.Array:
        return self.mean
