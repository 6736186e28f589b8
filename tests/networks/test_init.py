"""The LAPACK-free orthogonal initializer against `jax.nn.initializers.orthogonal`."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morl.networks import mlp
from morl.networks.init import orthogonal


@pytest.mark.parametrize("shape", [(4, 64), (64, 64), (64, 3), (3, 5, 7), (130, 2)])
@pytest.mark.parametrize("scale", [1.0, 0.01, np.sqrt(2.0)])
def test_matches_jax_initializer_for_the_same_key(shape, scale):
    key = jax.random.key(3)
    ours = orthogonal(scale)(key, shape)
    reference = jax.nn.initializers.orthogonal(scale)(key, shape)
    assert ours.shape == reference.shape and ours.dtype == reference.dtype
    np.testing.assert_allclose(ours, reference, atol=2e-6 * max(scale, 1.0))


def test_columns_or_rows_orthonormal():
    tall = np.asarray(orthogonal()(jax.random.key(0), (50, 8)), np.float64)
    wide = np.asarray(orthogonal()(jax.random.key(0), (8, 50)), np.float64)
    np.testing.assert_allclose(tall.T @ tall, np.eye(8), atol=1e-6)
    np.testing.assert_allclose(wide @ wide.T, np.eye(8), atol=1e-6)


def test_vmapped_network_init_has_no_lapack_call():
    """A batched QR custom call in the population's init deadlocks XLA:CPU (jaxlib 0.10)."""
    net = mlp.VectorCritic(reward_dim=2, hidden_sizes=(16, 16))
    init = jax.vmap(lambda key: net.init(key, jnp.zeros(3)))
    hlo = jax.jit(init).lower(jax.random.split(jax.random.key(0), 5)).as_text()
    assert "lapack" not in hlo.lower() and "householder" not in hlo.lower()


def test_rejects_vectors():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        orthogonal()(jax.random.key(0), (5,))
