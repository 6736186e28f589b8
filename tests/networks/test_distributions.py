import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from morl.networks import Categorical, DiagGaussian


def test_categorical_matches_scipy():
    logits = np.array([[0.3, -1.2, 2.0, 0.0], [1.0, 1.0, 1.0, 1.0]], np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    dist = Categorical(jnp.asarray(logits))
    actions = jnp.array([2, 1])
    expected_log_prob = [np.log(stats.multinomial(1, probs[i]).pmf(np.eye(4)[int(a)])) for i, a in enumerate(actions)]
    np.testing.assert_allclose(dist.log_prob(actions), expected_log_prob, rtol=1e-5)
    np.testing.assert_allclose(dist.entropy(), [stats.entropy(p) for p in probs], rtol=1e-5)
    np.testing.assert_array_equal(dist.mode(), [2, 0])


def test_categorical_sample_frequencies():
    probs = np.array([0.1, 0.6, 0.3])
    dist = Categorical(jnp.log(jnp.asarray(probs, jnp.float32)))
    samples = jax.vmap(dist.sample)(jax.random.split(jax.random.key(0), 20000))
    freq = np.bincount(np.asarray(samples), minlength=3) / 20000
    np.testing.assert_allclose(freq, probs, atol=0.015)


def test_diag_gaussian_matches_scipy():
    mean = np.array([[0.5, -1.0], [2.0, 0.0]], np.float32)
    log_std = np.array([0.2, -0.7], np.float32)
    action = np.array([[0.1, -0.4], [1.5, 0.3]], np.float32)
    dist = DiagGaussian(jnp.asarray(mean), jnp.asarray(log_std))
    expected = stats.norm(mean, np.exp(log_std)).logpdf(action).sum(-1)
    np.testing.assert_allclose(dist.log_prob(jnp.asarray(action)), expected, rtol=1e-5)
    np.testing.assert_allclose(dist.entropy(), stats.norm(mean, np.exp(log_std)).entropy().sum(-1), rtol=1e-5)
    samples = jax.vmap(dist.sample)(jax.random.split(jax.random.key(0), 20000))
    np.testing.assert_allclose(samples.mean(0), mean, atol=0.05)
    np.testing.assert_allclose(samples.std(0), np.broadcast_to(np.exp(log_std), mean.shape), rtol=0.03)
