import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morl.shaping import ensemble
from tests.shaping.helpers import context


def _heads(params, reward, obs, next_obs):
    """k linear reward models of the transition features, plus the env reward."""
    features = jnp.concatenate([obs, next_obs])
    return reward + jnp.einsum("kmf,f->km", params, features)


@pytest.fixture
def setting():
    rng = np.random.default_rng(0)
    params = rng.normal(size=(5, 2, 4)).astype(np.float32)
    obs = rng.normal(size=(6, 2)).astype(np.float32)
    next_obs = rng.normal(size=(6, 2)).astype(np.float32)
    rewards = rng.normal(size=(6, 2)).astype(np.float32)
    heads = rewards[:, None, :] + np.einsum("kmf,nf->nkm", params, np.concatenate([obs, next_obs], 1))
    return params, obs, next_obs, rewards, heads.astype(np.float64)


@pytest.mark.parametrize(
    "mode,combine",
    [
        ("mean", lambda h: h.mean(1)),
        ("worst_case", lambda h: h.min(1)),
        ("uncertainty_weighted", lambda h: h.mean(1) - 0.5 * h.var(1, ddof=0)),
    ],
)
def test_combinations_equal_numpy(setting, mode, combine):
    params, obs, next_obs, rewards, heads = setting
    t = ensemble(_heads, jnp.asarray(params), mode=mode, lam=0.5)
    out, _ = jax.jit(t.apply)(t.init(2, (6,)), jnp.asarray(rewards), context((6,), obs=obs, next_obs=next_obs))
    np.testing.assert_allclose(out, combine(heads), rtol=1e-5, atol=1e-5)


def test_gradient_reaches_head_parameters(setting):
    params, obs, next_obs, rewards, _ = setting
    t = ensemble(_heads, mode="mean")

    def total(p):
        out, _ = t.apply(t.init(2, (6,))._replace(params=p), jnp.asarray(rewards), context((6,), obs=obs, next_obs=next_obs))
        return jnp.sum(out)

    grad = np.asarray(jax.grad(total)(jnp.asarray(params)))
    features = np.concatenate([obs, next_obs], 1).sum(0)  # d/dp of sum_n mean_k p_k . f_n
    np.testing.assert_allclose(grad, np.broadcast_to(features / 5.0, grad.shape), rtol=1e-5)


def test_bad_arguments_named():
    with pytest.raises(ValueError, match="unknown mode 'median'"):
        ensemble(_heads, mode="median")
    with pytest.raises(ValueError, match="lam"):
        ensemble(_heads, lam=-1.0)
    t = ensemble(lambda p, r, o, n: jnp.zeros((3, 5)))
    with pytest.raises(ValueError, match="ensemble: heads returned shape"):
        t.apply(t.init(2), jnp.zeros(2), context())
