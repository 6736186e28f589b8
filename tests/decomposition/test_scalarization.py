"""Scalarisations against direct numpy formulas (the definitions in Felten et al., JAIR 2024) and their
gradients against central finite differences of those numpy formulas, in float64."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import logsumexp

from morl.decomposition import SCALARIZATIONS, make_scalarization

PARAMS = {"augmented_tchebycheff": {"rho": 0.05}, "pbi": {"theta": 5.0}, "smooth_tchebycheff": {"mu": 0.3}}


def reference(name: str, g: np.ndarray, w: np.ndarray, z: np.ndarray) -> float:
    """Plain numpy, one vector at a time."""
    if name == "weighted_sum":
        return float(w @ g)
    if name == "tchebycheff":
        return float(-np.max(w * np.abs(z - g)))
    if name == "augmented_tchebycheff":
        return float(-np.max(w * np.abs(z - g)) + 0.05 * np.sum(g - z))
    if name == "smooth_tchebycheff":
        return float(-0.3 * logsumexp(w * np.abs(z - g) / 0.3))
    if name == "pbi":  # MOEA/D (Zhang & Li 2007) in maximisation form, z* dominating g
        d1 = abs((z - g) @ w) / np.linalg.norm(w)
        d2 = np.linalg.norm((z - g) - d1 * w / np.linalg.norm(w))
        return float(-(d1 + 5.0 * d2))
    raise AssertionError(name)


def _sample(rng: np.random.Generator, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = rng.normal(size=m) * 3
    w = rng.dirichlet(np.ones(m))
    z = g + rng.uniform(0.5, 2.0, size=m)  # ideal dominates g strictly
    return g, w, z


@pytest.mark.parametrize("name", SCALARIZATIONS)
@pytest.mark.parametrize("m", [2, 5])
def test_value_and_gradient_match_numpy_and_finite_differences(name: str, m: int) -> None:
    rng = np.random.default_rng(m)
    s = make_scalarization(name, **PARAMS.get(name, {}))
    samples = [_sample(rng, m) for _ in range(16)]
    g, w, z = (np.stack(a) for a in zip(*samples))
    with jax.enable_x64(True):
        value = np.asarray(s.value(jnp.asarray(g), jnp.asarray(w), jnp.asarray(z)))
        grad = np.asarray(s.gradient(jnp.asarray(g), jnp.asarray(w), jnp.asarray(z)))
    assert value.shape == (16,) and grad.shape == (16, m)
    h = 1e-6
    for i in range(16):
        np.testing.assert_allclose(value[i], reference(name, g[i], w[i], z[i]), rtol=1e-12, atol=1e-12)
        eye = np.eye(m) * h
        fd = [(reference(name, g[i] + e, w[i], z[i]) - reference(name, g[i] - e, w[i], z[i])) / (2 * h) for e in eye]
        np.testing.assert_allclose(grad[i], fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", SCALARIZATIONS)
def test_broadcasting_one_return_many_weights(name: str) -> None:
    rng = np.random.default_rng(0)
    s = make_scalarization(name)
    g = rng.normal(size=3).astype(np.float32)
    w = rng.dirichlet(np.ones(3), size=(4, 5)).astype(np.float32)
    z = g + 1.0
    value, grad = s.value(g, w, z), s.gradient(g, w, z)
    assert value.shape == (4, 5) and grad.shape == (4, 5, 3)
    np.testing.assert_allclose(value[2, 3], s.value(g, w[2, 3], z), rtol=1e-6)
    np.testing.assert_allclose(grad[2, 3], s.gradient(g, w[2, 3], z), rtol=1e-6)
    jitted = jax.jit(jax.vmap(s.value, in_axes=(None, 0, None)))(g, w, z)
    np.testing.assert_allclose(jitted, value, rtol=1e-6)


def test_weighted_sum_gradient_is_weights_and_ignores_ideal() -> None:
    s = make_scalarization("weighted_sum")
    w = np.array([[0.2, 0.8], [0.5, 0.5]], np.float32)
    np.testing.assert_array_equal(s.gradient(np.zeros(2, np.float32), w, None), w)
    assert float(s.value(np.array([1.0, 2.0]), w[0], None)) == pytest.approx(1.8)


def test_tchebycheff_gradient_selects_argmax_and_splits_ties() -> None:
    s = make_scalarization("tchebycheff")
    z = np.array([1.0, 1.0, 1.0])
    w = np.array([0.2, 0.3, 0.5])
    # terms w*|z-g| = (0.2*2, 0.3*1, 0.5*0.5) -> objective 0 is the arg-max
    np.testing.assert_allclose(s.gradient(np.array([-1.0, 0.0, 0.5]), w, z), [0.2, 0.0, 0.0])
    # terms (0.2*1, 0.3*1, 0.5*0.6) -> tie between objectives 1 and 2 (0.3 each): split equally
    np.testing.assert_allclose(s.gradient(np.array([0.0, 0.0, 0.4]), w, z), [0.0, 0.15, 0.25], rtol=1e-6)


def test_smooth_tchebycheff_tends_to_tchebycheff() -> None:
    rng = np.random.default_rng(1)
    g, w, z = _sample(rng, 4)
    hard = make_scalarization("tchebycheff").value(g, w, z)
    for mu in (1e-1, 1e-2):
        soft = make_scalarization("smooth_tchebycheff", mu=mu).value(g, w, z)
        assert float(hard) - mu * np.log(4) - 1e-5 <= float(soft) <= float(hard) + 1e-5


def test_pbi_gradient_on_the_weight_line_is_finite() -> None:
    s = make_scalarization("pbi")
    w = np.array([0.5, 0.5], np.float32)
    grad = s.gradient(np.array([0.0, 0.0], np.float32), w, np.array([1.0, 1.0], np.float32))
    np.testing.assert_allclose(grad, w / np.linalg.norm(w), rtol=1e-6)


def test_bad_names_and_parameters() -> None:
    with pytest.raises(ValueError, match="unknown scalarization 'tcheby'.*weighted_sum"):
        make_scalarization("tcheby")
    with pytest.raises(ValueError, match="unknown parameter"):
        make_scalarization("pbi", rho=0.1)
    with pytest.raises(ValueError, match="mu=0"):
        make_scalarization("smooth_tchebycheff", mu=0)
    with pytest.raises(ValueError, match="ideal"):
        make_scalarization("tchebycheff").value(np.ones(2), np.ones(2) / 2, None)
