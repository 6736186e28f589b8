import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import expit, log_expit

from morl.shaping import lsc, par
from tests.shaping.helpers import context


def _wide_rewards(n=2000, m=3, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_cauchy(size=(n, m)) * 50.0).astype(np.float32)


def test_par_bounded_and_matches_formula_with_several_references():
    rewards = _wide_rewards()
    refs = np.array([[0.0, 1.0, -1.0], [5.0, -5.0, 2.0]], np.float32)
    t = par(reference=refs, temperature=2.0)
    out, _ = t.apply(t.init(3, (len(rewards),)), jnp.asarray(rewards), context((len(rewards),)))
    out = np.asarray(out)
    assert np.all(out >= 0.0) and np.all(out <= 1.0)
    expected = np.mean(expit((rewards[:, None, :].astype(np.float64) - refs) / 2.0), axis=1)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_par_steepest_at_reference_then_saturates():
    t = par(reference=[0.0], temperature=1.0)
    slope = jax.vmap(jax.grad(lambda r: t.apply(t.init(1), r[None], context())[0][0]))
    grads = np.asarray(slope(jnp.array([0.0, 1.0, 5.0, 20.0])))
    np.testing.assert_allclose(grads[0], 0.25, rtol=1e-6)
    assert np.all(np.diff(grads) < 0) and grads[-1] < 1e-8


def test_lsc_bounded_as_stated_and_sums_to_log_probability_all_good():
    rewards = _wide_rewards(seed=1)
    ref = np.array([1.0, -2.0, 0.5], np.float32)
    temperature = 3.0
    t = lsc(reference=ref, temperature=temperature)
    out, _ = t.apply(t.init(3, (len(rewards),)), jnp.asarray(rewards), context((len(rewards),)))
    out = np.asarray(out, np.float64)
    assert np.all(out <= 0.0)
    lower = -np.maximum(ref - rewards, 0.0) / temperature - np.log(2.0)
    assert np.all(out >= lower - 1e-4)
    centred = (rewards.astype(np.float64) - ref) / temperature
    moderate = np.all(np.abs(centred) < 30, axis=1)
    np.testing.assert_allclose(
        out[moderate].sum(axis=1), np.log(np.prod(expit(centred[moderate]), axis=1)), rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("make", [par, lsc], ids=["par", "lsc"])
def test_running_reference_is_numpy_running_mean_behind_stop_gradient(make):
    rng = np.random.default_rng(2)
    stream = rng.normal(3.0, 2.0, size=(5, 4, 2)).astype(np.float32)
    t = make(temperature=1.5)
    state = t.init(2, (4,))
    for step, batch in enumerate(stream):
        out, state = t.apply(state, jnp.asarray(batch), context((4,)))
        mean = stream[: step + 1].reshape(-1, 2).astype(np.float64).mean(0)
        squash = expit if make is par else log_expit
        np.testing.assert_allclose(out, squash((batch - mean) / 1.5), rtol=1e-4, atol=1e-5)
    # the gradient treats the reference (updated with this batch once more) as a constant
    grad = jax.grad(lambda r: jnp.sum(t.apply(state, r, context((4,)))[0]))(jnp.asarray(stream[-1]))
    ref_after = np.concatenate([stream.reshape(-1, 2), stream[-1]]).astype(np.float64).mean(0)
    x = (stream[-1] - np.asarray(ref_after)) / 1.5
    expected = expit(x) * (1 - expit(x)) / 1.5 if make is par else (1 - expit(x)) / 1.5
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)


def test_bad_arguments_named():
    with pytest.raises(ValueError, match="temperature"):
        par(temperature=0.0)
    with pytest.raises(ValueError, match=r"lsc: reference has shape \(2, 3\)"):
        lsc(reference=np.zeros((2, 3))).init(3)
    with pytest.raises(ValueError, match=r"par: reference has shape \(4,\)"):
        par(reference=np.zeros(4)).init(3)
