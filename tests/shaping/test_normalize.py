import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morl.shaping import normalize
from tests.shaping.helpers import context


def _stream(steps=60, n=4, m=3, seed=0):
    rng = np.random.default_rng(seed)
    rewards = rng.normal([1.0, -2.0, 5.0], [0.5, 3.0, 0.1], size=(steps, n, m)).astype(np.float32)
    done = rng.random((steps, n)) < 0.1
    return rewards, done


def _run(transform, rewards, done, discount=0.99):
    state = transform.init(rewards.shape[-1], rewards.shape[1:-1])
    step = jax.jit(transform.apply)
    outs = []
    for r, d in zip(rewards, done):
        out, state = step(state, jnp.asarray(r), context(r.shape[:-1], done=d, discount=discount))
        outs.append(np.asarray(out))
    return np.stack(outs), state


def test_reward_statistics_equal_numpy():
    rewards, done = _stream()
    outs, state = _run(normalize(), rewards, done)
    flat = rewards.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(state.moments.mean, flat.mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(state.moments.var, flat.var(0), rtol=1e-4)
    assert state.moments.count == flat.shape[0]
    # each output uses the statistics of everything seen so far, current batch included
    for t in [0, 7, 59]:
        seen = rewards[: t + 1].reshape(-1, 3).astype(np.float64)
        expected = (rewards[t] - seen.mean(0)) / np.sqrt(seen.var(0) + 1e-8)
        np.testing.assert_allclose(outs[t], expected, rtol=1e-3, atol=1e-3)


def test_return_statistics_equal_numpy_running_discounted_return():
    rewards, done = _stream(seed=1)
    gamma = 0.9
    outs, state = _run(normalize(returns=True), rewards, done, discount=gamma)
    # numpy reimplementation: G_t = r_t + gamma * G_{t-1}, restarted after a done step
    carry = np.zeros(rewards.shape[1:], np.float64)
    returns = []
    for r, d in zip(rewards, done):
        g = r + gamma * carry
        returns.append(g)
        carry = np.where(d[:, None], 0.0, g)
    returns = np.stack(returns)
    flat = returns.reshape(-1, 3)
    np.testing.assert_allclose(state.moments.mean, flat.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(state.moments.var, flat.var(0), rtol=1e-4)
    np.testing.assert_allclose(state.discounted_return, carry, rtol=1e-5, atol=1e-5)
    for t in [3, 59]:
        seen = returns[: t + 1].reshape(-1, 3)
        np.testing.assert_allclose(outs[t], rewards[t] / np.sqrt(seen.var(0) + 1e-8), rtol=1e-3)


def test_fixed_gamma_overrides_context_discount():
    rewards, done = _stream(steps=20, seed=2)
    _, fixed = _run(normalize(returns=True, gamma=0.5), rewards, done, discount=0.99)
    _, ctx = _run(normalize(returns=True), rewards, done, discount=0.5)
    np.testing.assert_allclose(fixed.moments.var, ctx.moments.var, rtol=1e-6)


def test_bad_arguments_named():
    with pytest.raises(ValueError, match="gamma"):
        normalize(returns=True, gamma=1.5)
    with pytest.raises(ValueError, match="eps"):
        normalize(eps=0.0)
    with pytest.raises(ValueError, match="returns=True"):
        normalize(gamma=0.9)


def test_matches_mo_gymnasium_normalize_reward_within_an_episode():
    # MONormalizeReward (Gymnasium's NormalizeReward per objective) starts its statistics
    # with a pseudo-count of 1e-4 and resets on `terminated`; within one episode, after a
    # few steps, the two agree up to that pseudo-count.
    import mo_gymnasium as mo_gym
    from mo_gymnasium.wrappers import MONormalizeReward

    gamma, steps = 0.99, 150
    env = mo_gym.make("mo-mountaincar-v0")
    for idx in range(3):
        env = MONormalizeReward(env, idx=idx, gamma=gamma)
    raw = mo_gym.make("mo-mountaincar-v0")
    env.reset(seed=0)
    raw.reset(seed=0)
    rng = np.random.default_rng(0)
    transform = normalize(returns=True)
    state = transform.init(3)
    step = jax.jit(transform.apply)
    for t in range(steps):
        action = int(rng.integers(3))
        _, theirs, term, trunc, _ = env.step(action)
        _, reward, raw_term, _, _ = raw.step(action)
        assert not term and not raw_term and not trunc
        ours, state = step(state, jnp.asarray(reward, jnp.float32), context(done=False, discount=gamma))
        if t >= 20:
            np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-3, atol=1e-4, err_msg=f"step {t}")


@pytest.mark.parametrize("returns", [False, True])
def test_gradient_skips_statistics(returns):
    # with the statistics behind stop_gradient, d out / d r is exactly 1 / sqrt(var + eps)
    rewards, done = _stream(steps=6, seed=3)
    transform = normalize(returns=returns)
    _, state = _run(transform, rewards[:-1], done[:-1], discount=0.9)
    ctx = context(rewards.shape[1:-1], done=done[-1], discount=0.9)
    grad = jax.grad(lambda r: jnp.sum(transform.apply(state, r, ctx)[0]))(jnp.asarray(rewards[-1]))
    _, after = transform.apply(state, jnp.asarray(rewards[-1]), ctx)
    np.testing.assert_allclose(grad, np.broadcast_to(1.0 / np.sqrt(after.moments.var + 1e-8), grad.shape), rtol=1e-5)
