"""PMOE actor: densities against scipy, sampling against the mixture's distribution,
gradient routing (router behind stop_gradient), and the ablation kinds."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from morl.networks import pmoe

RNG = np.random.default_rng(0)
K, A = 3, 2
MIXTURE = pmoe.Mixture(
    logits=jnp.asarray(RNG.normal(size=(4, K)), jnp.float32),
    mean=jnp.asarray(RNG.normal(size=(4, K, A)), jnp.float32),
    log_std=jnp.asarray(RNG.uniform(-1.0, 0.5, size=(4, K, A)), jnp.float32),
)


def _scipy_mixture_pdf(u, row):
    """Density of the (unsquashed) mixture at `u: [n, A]` for batch row `row`, by scipy."""
    logits = np.asarray(MIXTURE.logits[row], np.float64)
    c = np.exp(logits - logsumexp(logits))
    mean, std = np.asarray(MIXTURE.mean[row], np.float64), np.exp(np.asarray(MIXTURE.log_std[row], np.float64))
    return sum(c[k] * stats.multivariate_normal(mean[k], np.diag(std[k] ** 2)).pdf(u) for k in range(K))


def test_mixture_log_density_equals_scipy():
    u = RNG.normal(scale=1.5, size=(4, 7, A))
    batched = jax.tree_util.tree_map(lambda x: x[:, None], MIXTURE)  # [4, 1, ...] against u [4, 7, A]
    ours = np.asarray(pmoe.log_prob(batched, jnp.asarray(u, jnp.float32), squash=False))
    for row in range(4):
        np.testing.assert_allclose(ours[row], np.log(_scipy_mixture_pdf(u[row], row)), rtol=1e-5, atol=1e-5)


def test_tanh_log_density_equals_numerical_change_of_variables():
    # P(a in box around a0) from the pre-squash mixture's CDF over the atanh box, divided by
    # the box volume -> density of a = tanh(u), with no Jacobian formula involved.
    a0 = np.array([[0.3, -0.8], [0.95, 0.1], [-0.5, -0.99], [0.0, 0.6]])
    h = 1e-4
    logits = np.asarray(MIXTURE.logits, np.float64)
    c = np.exp(logits - logsumexp(logits, axis=-1, keepdims=True))
    mean = np.asarray(MIXTURE.mean, np.float64)
    std = np.exp(np.asarray(MIXTURE.log_std, np.float64))
    lo, hi = np.arctanh(a0 - h), np.arctanh(a0 + h)
    box = np.prod(stats.norm.cdf(hi[:, None], mean, std) - stats.norm.cdf(lo[:, None], mean, std), axis=-1)
    numeric = np.log(np.sum(c * box, axis=-1) / (2 * h) ** A)
    ours = np.asarray(pmoe.log_prob(MIXTURE, jnp.asarray(a0, jnp.float32), squash=True))
    np.testing.assert_allclose(ours, numeric, rtol=1e-4, atol=1e-3)


def test_expert_samples_log_probs_are_each_experts_density():
    actions, log_probs = pmoe.expert_samples(jax.random.key(0), MIXTURE, squash=True)
    assert actions.shape == (4, K, A) and log_probs.shape == (4, K)
    assert np.all(np.abs(np.asarray(actions)) < 1)
    # expert k's density at its own sample, by scipy on the pre-squash value and the Jacobian of tanh
    u = np.arctanh(np.asarray(actions, np.float64))
    mean, std = np.asarray(MIXTURE.mean, np.float64), np.exp(np.asarray(MIXTURE.log_std, np.float64))
    want = np.sum(stats.norm.logpdf(u, mean, std) - np.log(1 - np.tanh(u) ** 2), axis=-1)
    np.testing.assert_allclose(np.asarray(log_probs), want, rtol=1e-4, atol=2e-3)


def test_sample_follows_router_and_mixture_distribution():
    one = jax.tree_util.tree_map(lambda x: x[0], MIXTURE)
    actions, experts = jax.vmap(lambda k: pmoe.sample(k, one, squash=False))(jax.random.split(jax.random.key(1), 20000))
    freq = np.bincount(np.asarray(experts), minlength=K) / 20000
    np.testing.assert_allclose(freq, np.asarray(one.probs), atol=0.015)
    # first coordinate's marginal CDF is the mixture of the experts' normal CDFs (KS test)
    c, mean, std = np.asarray(one.probs), np.asarray(one.mean[:, 0]), np.exp(np.asarray(one.log_std[:, 0]))
    cdf = lambda x: np.sum(c * stats.norm.cdf(np.asarray(x)[:, None], mean, std), axis=-1)  # noqa: E731
    assert stats.kstest(np.asarray(actions[:, 0]), cdf).pvalue > 1e-3


def test_gumbel_choice_is_categorical_forward_and_differentiable_backward():
    one = jax.tree_util.tree_map(lambda x: x[1], MIXTURE)
    keys = jax.random.split(jax.random.key(2), 20000)
    _, experts = jax.vmap(lambda k: pmoe.gumbel_sample(k, one, 1.0, squash=True))(keys)
    freq = np.bincount(np.asarray(experts), minlength=K) / 20000
    np.testing.assert_allclose(freq, np.asarray(one.probs), atol=0.015)

    def action_sum(logits):
        return jnp.sum(pmoe.gumbel_sample(jax.random.key(3), one.replace(logits=logits), 0.5, True)[0])

    grad = jax.grad(action_sum)(one.logits)
    assert np.any(np.asarray(grad) != 0), "the straight-through choice passes gradient to the router logits"


def test_mode_is_mean_of_most_probable_expert():
    best = np.argmax(np.asarray(MIXTURE.logits), axis=-1)
    want = np.tanh(np.asarray(MIXTURE.mean)[np.arange(4), best])
    np.testing.assert_allclose(np.asarray(pmoe.mode(MIXTURE, squash=True)), want, rtol=1e-6)


def test_router_loss_is_squared_distance_to_one_hot():
    best = jnp.array([0, 2, 1, 1])
    want = np.sum((np.asarray(MIXTURE.probs) - np.eye(K)[np.asarray(best)]) ** 2, axis=-1)
    np.testing.assert_allclose(np.asarray(pmoe.router_loss(MIXTURE, best)), want, rtol=1e-6)


def test_router_reads_trunk_through_stop_gradient_and_log_std_is_clamped():
    actor = pmoe.MixtureActor(action_dim=A, num_experts=K, hidden_sizes=(16,), weight_conditioned=True)
    obs, weights = jnp.ones((5, 3)), jnp.full((5, 2), 0.5)
    params = actor.init(jax.random.key(0), obs, weights)
    grads = jax.grad(lambda p: jnp.sum(pmoe.router_loss(actor.apply(p, obs, weights), jnp.zeros(5, jnp.int32))))(params)
    flat = {jax.tree_util.keystr(path): g for path, g in jax.tree_util.tree_flatten_with_path(grads)[0]}
    assert all(np.all(np.asarray(g) == 0) for name, g in flat.items() if "router" not in name)
    assert any(np.any(np.asarray(g) != 0) for name, g in flat.items() if "router" in name)
    big = jax.tree_util.tree_map(lambda x: 100.0 * x, params)
    out = actor.apply(big, 10.0 * obs, weights)
    assert float(out.log_std.min()) >= pmoe.LOG_STD_MIN and float(out.log_std.max()) <= pmoe.LOG_STD_MAX
    assert out.mean.shape == (5, K, A) and out.logits.shape == (5, K)


def test_gaussian_kind_is_single_expert_and_bad_kinds_are_named():
    actor = pmoe.make_mixture_actor("gaussian", 2, 4, (8,), "relu", False)
    assert actor.num_experts == 1
    out = actor.apply(actor.init(jax.random.key(0), jnp.ones(3)), jnp.ones(3))
    a = jnp.array([0.2, -0.4])
    gauss = stats.norm.logpdf(np.arctanh(np.asarray(a)), np.asarray(out.mean[0]), np.exp(np.asarray(out.log_std[0])))
    np.testing.assert_allclose(
        float(pmoe.log_prob(out, a, squash=True)), np.sum(gauss - np.log(1 - np.asarray(a) ** 2)), rtol=1e-5
    )
    with pytest.raises(ValueError, match="'mixture'"):
        pmoe.make_mixture_actor("mixture", 2, 4, (8,), "relu", False)
    with pytest.raises(ValueError, match="num_experts"):
        pmoe.make_mixture_actor("pmoe", 2, 1, (8,), "relu", False)


def test_distribution_interface_for_ppo():
    # sample / log_prob / mode / entropy without squashing, as PPO's DiagGaussian offers them
    one = jax.tree_util.tree_map(lambda x: x[2], MIXTURE)
    a = jnp.array([0.1, -0.3])
    want = np.log(_scipy_mixture_pdf(np.asarray(a, np.float64), 2))
    np.testing.assert_allclose(float(one.log_prob(a)), want, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(one.mode()), np.asarray(one.mean[np.argmax(np.asarray(one.logits))]))
    assert one.sample(jax.random.key(0)).shape == (A,)
    # entropy bound H(c) + sum_k c_k H_k against scipy's entropies; it bounds a Monte Carlo estimate
    logits = np.asarray(one.logits, np.float64)
    c = np.exp(logits - logsumexp(logits))
    std = np.exp(np.asarray(one.log_std, np.float64))
    bound = stats.entropy(c) + sum(c[k] * np.sum(stats.norm(0, std[k]).entropy()) for k in range(K))
    np.testing.assert_allclose(float(one.entropy()), bound, rtol=1e-5)
    draws = np.asarray(jax.vmap(one.sample)(jax.random.split(jax.random.key(1), 4000)), np.float64)
    monte_carlo = -np.mean(np.log(_scipy_mixture_pdf(draws, 2)))
    assert monte_carlo <= bound + 0.05
