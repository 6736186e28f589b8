"""Observation and action space descriptions (static, hashable, jittable sampling).

Spaces describe shapes, dtypes and bounds; they never hold JAX state. They mirror the
gymnasium spaces they stand for (`Discrete`, `Box`, `MultiBinary`) so the adapters in
`morl.envs.adapters` convert them one to one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


@dataclass(frozen=True)
class Discrete:
    """Integers `{start, ..., start + n - 1}`; actions are int32 scalars."""

    n: int
    start: int = 0
    shape: tuple[int, ...] = ()
    dtype: Any = jnp.int32

    def sample(self, key: jax.Array) -> jax.Array:
        return jax.random.randint(key, (), self.start, self.start + self.n, dtype=jnp.int32)

    def contains(self, x: Any) -> bool:
        x = np.asarray(x)
        return x.shape == () and np.issubdtype(x.dtype, np.integer) and self.start <= int(x) < self.start + self.n


@dataclass(frozen=True)
class Box:
    """A box `low <= x <= high` of a fixed shape; `low`/`high` are numpy arrays (static)."""

    low: np.ndarray
    high: np.ndarray
    shape: tuple[int, ...] = field(default=())
    dtype: Any = jnp.float32

    def __post_init__(self) -> None:
        shape = tuple(self.shape) or np.broadcast(np.asarray(self.low), np.asarray(self.high)).shape
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "low", np.broadcast_to(np.asarray(self.low, dtype=self.dtype), shape))
        object.__setattr__(self, "high", np.broadcast_to(np.asarray(self.high, dtype=self.dtype), shape))

    def __hash__(self) -> int:
        return hash((self.shape, str(np.dtype(self.dtype)), self.low.tobytes(), self.high.tobytes()))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Box)
            and self.shape == other.shape
            and np.dtype(self.dtype) == np.dtype(other.dtype)
            and np.array_equal(self.low, other.low)
            and np.array_equal(self.high, other.high)
        )

    def sample(self, key: jax.Array) -> jax.Array:
        """Uniform in the box where bounded; standard normal where unbounded."""
        if np.issubdtype(np.dtype(self.dtype), np.integer):
            return jax.random.randint(key, self.shape, self.low, self.high + 1, dtype=self.dtype)
        low = jnp.asarray(self.low, jnp.float32)
        high = jnp.asarray(self.high, jnp.float32)
        bounded = jnp.isfinite(low) & jnp.isfinite(high)
        k1, k2 = jax.random.split(key)
        uniform = jax.random.uniform(k1, self.shape, minval=jnp.where(bounded, low, 0.0), maxval=jnp.where(bounded, high, 1.0))
        normal = jax.random.normal(k2, self.shape)
        return jnp.where(bounded, uniform, normal).astype(self.dtype)

    def contains(self, x: Any) -> bool:
        x = np.asarray(x)
        return x.shape == self.shape and bool(np.all(x >= self.low) and np.all(x <= self.high))


@dataclass(frozen=True)
class MultiBinary:
    """Binary vectors of length `n`."""

    n: int
    dtype: Any = jnp.int32

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.n,)

    def sample(self, key: jax.Array) -> jax.Array:
        return jax.random.bernoulli(key, 0.5, (self.n,)).astype(self.dtype)

    def contains(self, x: Any) -> bool:
        x = np.asarray(x)
        return x.shape == (self.n,) and bool(np.all((x == 0) | (x == 1)))


Space = Discrete | Box | MultiBinary
