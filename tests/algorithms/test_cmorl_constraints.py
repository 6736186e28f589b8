"""C-MORL's constrained policy objectives against numpy re-statements of the paper's formulas
(Liu et al. 2025, eq. of the interior-point step) and finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from morl.agents.ppo.losses import PolicyAux, clipped_surrogate
from morl.algorithms.cmorl import constraints

B, M = 64, 3


def _batch(seed):
    rng = np.random.default_rng(seed)
    ratio = np.exp(rng.normal(scale=0.3, size=B)).astype(np.float32)
    adv = rng.normal(size=(B, M)).astype(np.float32) * np.array([1.0, 5.0, 0.2], np.float32)
    old_values = rng.normal(loc=3.0, size=(B, M)).astype(np.float32)
    returns = (old_values + adv).astype(np.float32)
    return ratio, adv, old_values, returns


def _aux(ratio, adv, old_values, returns, params):
    surrogates = clipped_surrogate(jnp.asarray(ratio)[:, None], jnp.asarray(adv), 0.2).mean(axis=0)
    return PolicyAux(jnp.asarray(old_values), jnp.asarray(returns), surrogates, jnp.ones(M) / M, jnp.zeros(M), params)


def _np_clip_surrogate(r, a, eps=0.2):
    return np.minimum(r * a, np.clip(r, 1 - eps, 1 + eps) * a)


def _np_barrier(ratio, adv, old_values, l, bounds, t, eps):
    a = adv[:, l]
    a = (a - a.mean()) / (a.std() + 1e-8)
    main = _np_clip_surrogate(ratio, a).mean()
    ghat = _np_clip_surrogate(ratio[:, None], adv).mean(0) + old_values.mean(0)
    floor = eps * (1 + np.abs(bounds))
    logs = [np.log(max(ghat[j] - bounds[j], floor[j])) for j in range(M) if j != l]
    return main + sum(logs) / t


@pytest.mark.parametrize("seed, l", [(0, 0), (1, 1), (2, 2)])
def test_log_barrier_matches_formula(seed, l):
    ratio, adv, old_values, returns = _batch(seed)
    ghat = _np_clip_surrogate(ratio[:, None], adv).mean(0) + old_values.mean(0)
    bounds = ghat - np.array([0.5, 2.0, -1.0], np.float32)  # objective 2 infeasible: floored
    params = constraints.make_params(np.eye(M)[l], bounds, 0.9, 20.0, 1e-3)
    ours = constraints.log_barrier_objective("policy")(
        jnp.asarray(ratio), jnp.asarray(adv), jnp.zeros(M), jnp.float32(0.2), _aux(ratio, adv, old_values, returns, params)
    )
    np.testing.assert_allclose(float(ours), _np_barrier(ratio, adv, old_values, l, bounds, 20.0, 1e-3), rtol=1e-5, atol=1e-5)


def test_barrier_gradient_matches_finite_differences():
    ratio, adv, old_values, returns = _batch(5)
    ghat = _np_clip_surrogate(ratio[:, None], adv).mean(0) + old_values.mean(0)
    bounds = ghat - 0.3
    params = constraints.make_params(np.eye(M)[0], bounds, 0.9, 5.0, 1e-3)
    objective = constraints.log_barrier_objective("policy")

    def f(log_ratio):
        r = jnp.exp(log_ratio)
        surrogates = clipped_surrogate(r[:, None], jnp.asarray(adv), 0.2).mean(axis=0)
        aux = PolicyAux(jnp.asarray(old_values), jnp.asarray(returns), surrogates, jnp.ones(M) / M, jnp.zeros(M), params)
        return objective(r, jnp.asarray(adv), jnp.zeros(M), jnp.float32(0.2), aux)

    x = np.log(ratio).astype(np.float64)
    grad = np.asarray(jax.grad(f)(jnp.asarray(x, jnp.float32)))
    h = 1e-3
    for i in range(0, B, 7):
        e = np.zeros(B)
        e[i] = h
        fd = (_np_barrier(np.exp(x + e), adv, old_values, 0, bounds, 5.0, 1e-3)
              - _np_barrier(np.exp(x - e), adv, old_values, 0, bounds, 5.0, 1e-3)) / (2 * h)
        np.testing.assert_allclose(grad[i], fd, rtol=2e-2, atol=2e-4)


def test_minibatch_threshold_uses_mean_return():
    ratio, adv, old_values, returns = _batch(7)
    params = constraints.make_params(np.eye(M)[1], np.full(M, 1e9, np.float32), 0.9, 20.0, 1e-3)
    ours = constraints.log_barrier_objective("minibatch")(
        jnp.asarray(ratio), jnp.asarray(adv), jnp.zeros(M), jnp.float32(0.2), _aux(ratio, adv, old_values, returns, params)
    )
    mean_return = returns.mean(0)
    bounds = mean_return - 0.1 * np.abs(mean_return)
    np.testing.assert_allclose(float(ours), _np_barrier(ratio, adv, old_values, 1, bounds, 20.0, 1e-3), rtol=1e-5, atol=1e-5)


def test_lagrangian_matches_formula():
    ratio, adv, old_values, returns = _batch(3)
    params = constraints.make_params(np.eye(M)[2], np.zeros(M), 0.9, 20.0, 1e-3)._replace(
        multipliers=jnp.asarray([0.5, 2.0, 7.0])  # entry l=2 must be ignored
    )
    ours = constraints.lagrangian_objective()(
        jnp.asarray(ratio), jnp.asarray(adv), jnp.zeros(M), jnp.float32(0.2), _aux(ratio, adv, old_values, returns, params)
    )
    norm = (adv - adv.mean(0)) / (adv.std(0) + 1e-8)
    s = _np_clip_surrogate(ratio[:, None], norm).mean(0)
    np.testing.assert_allclose(float(ours), (s[2] + 0.5 * s[0] + 2.0 * s[1]) / 3.5, rtol=1e-5)


def test_dual_ascent_projects_and_skips_the_objective():
    objective = jnp.asarray([0.0, 1.0, 0.0])
    bound = jnp.asarray([10.0, 10.0, -4.0])
    estimate = jnp.asarray([8.0, 0.0, -3.0])  # objective 0 violated, 2 satisfied
    lam = constraints.dual_ascent(jnp.asarray([0.0, 5.0, 0.01]), objective, estimate, bound, 0.5)
    np.testing.assert_allclose(np.asarray(lam), [0.5 * 2.0 / 11.0, 0.0, 0.0], rtol=1e-6)


@settings(max_examples=50, deadline=None)
@given(st.floats(-1e4, 1e4, allow_nan=False), st.floats(0.01, 0.99))
def test_relaxed_threshold_is_a_relaxation(g, beta):
    b = float(constraints.relaxed_threshold(jnp.float32(g), beta))
    assert b <= np.float32(g) + 1e-3 * (1 + abs(g))  # the selected policy satisfies its own bound
    if g >= 0:
        np.testing.assert_allclose(b, beta * g, rtol=1e-5, atol=1e-4)  # the paper's beta * G
