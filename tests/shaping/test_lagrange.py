import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import expit

from morl.shaping import lagrange
from tests.shaping.helpers import context


def _numeric_step(lam, v, theta, lr, h=1e-6):
    """One gradient-descent step on L(lam) = sum_i sigmoid(lam_i) (v_i - theta_i), with
    the gradient by central finite differences."""
    loss = lambda x: np.sum(expit(x) * (v - theta))
    grad = np.array([(loss(lam + h * e) - loss(lam - h * e)) / (2 * h) for e in np.eye(len(lam))])
    return lam - lr * grad


def test_weights_move_toward_violated_constraint():
    # every episode lasts 2 steps with reward [4, 1]: returns [8, 2] against thresholds [5, 5]
    theta, lr = np.array([5.0, 5.0]), 0.5
    t = lagrange(thresholds=theta, lr=lr)
    state = t.init(2, (3,))
    step = jax.jit(t.apply)
    reward = jnp.tile(jnp.array([4.0, 1.0]), (3, 1))
    lam, weights = np.zeros(2), []
    for k in range(20):
        done = np.full(3, k % 2 == 1)
        shaped, state = step(state, reward, context((3,), done=done))
        if done[0]:
            lam = _numeric_step(lam, np.array([8.0, 2.0]), theta, lr)
        np.testing.assert_allclose(state.multipliers, lam, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(shaped, np.asarray(reward) * expit(lam), rtol=1e-5)
        weights.append(expit(lam))
    weights = np.array(weights)
    assert weights[-1, 1] > 0.7 and weights[-1, 0] < 0.3  # toward the violated objective 2
    assert np.all(np.diff(weights[:, 1]) >= 0) and np.all(np.diff(weights[:, 0]) <= 0)


def test_observed_return_is_mean_of_finished_discounted_episodes():
    gamma, lr = 0.9, 1.0
    theta = np.array([0.0, 10.0])
    t = lagrange(thresholds=theta, lr=lr, discounted=True)
    state = t.init(2, (2,))
    rewards = np.array([[[1.0, 2.0], [3.0, 0.0]], [[1.0, 2.0], [1.0, 1.0]], [[2.0, 0.5], [5.0, 5.0]]], np.float32)
    done = np.array([[False, False], [True, False], [False, True]])
    lam, returns, power = np.zeros(2), np.zeros((2, 2)), np.ones(2)
    for r, d in zip(rewards, done):
        _, state = t.apply(state, jnp.asarray(r), context((2,), done=d, discount=gamma))
        returns = returns + power[:, None] * r
        if d.any():
            lam = _numeric_step(lam, returns[d].mean(0), theta, lr)
        returns[d], power = 0.0, np.where(d, 1.0, power * gamma)
        np.testing.assert_allclose(state.multipliers, lam, rtol=1e-4, atol=1e-6)


def test_multipliers_do_not_receive_reward_gradients():
    t = lagrange(thresholds=[1.0, 1.0], init_multipliers=[0.5, -1.0])
    grad = jax.grad(lambda r: jnp.sum(t.apply(t.init(2), r, context(done=True))[0]))(jnp.array([3.0, -2.0]))
    # with the multipliers stopped, d(sigmoid(lam') * r)/dr is exactly sigmoid(lam') of the updated lam'
    lam = _numeric_step(np.array([0.5, -1.0]), np.array([3.0, -2.0]), np.array([1.0, 1.0]), 0.05)
    np.testing.assert_allclose(grad, expit(lam), rtol=1e-5)


def test_bad_arguments_named():
    with pytest.raises(ValueError, match="lr"):
        lagrange(thresholds=[1.0], lr=0.0)
    with pytest.raises(ValueError, match="thresholds"):
        lagrange(thresholds=[np.nan])
    with pytest.raises(ValueError, match=r"thresholds has shape \(3,\)"):
        lagrange(thresholds=[1.0, 2.0, 3.0]).init(2)
