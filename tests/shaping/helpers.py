"""Small builders shared by the shaping tests."""

import jax.numpy as jnp
import numpy as np

from morl.shaping import ShapingContext


def context(batch_shape=(), done=None, terminated=None, discount=0.99, obs=None, next_obs=None):
    """A context with zero observations `[*batch, 2]` unless given."""
    done = np.zeros(batch_shape, bool) if done is None else done
    terminated = done if terminated is None else terminated
    obs = jnp.zeros((*batch_shape, 2), jnp.float32) if obs is None else obs
    next_obs = obs if next_obs is None else next_obs
    return ShapingContext(
        jnp.asarray(obs), jnp.asarray(next_obs), jnp.float32(discount), jnp.asarray(done), jnp.asarray(terminated)
    )
