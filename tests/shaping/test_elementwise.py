import jax.numpy as jnp
import mo_gymnasium as mo_gym
import numpy as np
import pytest
from mo_gymnasium.wrappers import LinearReward, MOClipReward

from morl.shaping import affine, clip
from tests.shaping.helpers import context


def _paired_rollouts(wrap, steps=200, seed=0):
    """Raw and wrapped MO-Gymnasium deep-sea-treasure driven by the same actions."""
    wrapped, raw = wrap(mo_gym.make("deep-sea-treasure-v0")), mo_gym.make("deep-sea-treasure-v0")
    rng = np.random.default_rng(seed)
    wrapped.reset(seed=seed)
    raw.reset(seed=seed)
    pairs = []
    for _ in range(steps):
        action = int(rng.choice(4, p=[0.1, 0.4, 0.1, 0.4]))
        _, theirs, term, trunc, _ = wrapped.step(action)
        _, reward, _, _, _ = raw.step(action)
        pairs.append((np.array(reward, np.float32), np.array(theirs)))
        if term or trunc:
            wrapped.reset()
            raw.reset()
    return pairs


def test_clip_matches_mo_gymnasium_clip_reward():
    pairs = _paired_rollouts(lambda env: MOClipReward(MOClipReward(env, 0, 0.0, 5.0), 1, -0.5, 0.5))
    transform = clip(low=[0.0, -0.5], high=[5.0, 0.5])
    state = transform.init(2)
    rewards = jnp.asarray(np.stack([r for r, _ in pairs]))
    ours, _ = transform.apply(state, rewards, context((len(pairs),)))
    np.testing.assert_allclose(ours, np.stack([t for _, t in pairs]), rtol=1e-6)
    assert np.any(np.stack([r for r, _ in pairs])[:, 0] > 5.0), "stream never exceeded the clip bound"


def test_affine_summed_matches_mo_gymnasium_linear_reward():
    weight = np.array([0.3, 0.7])
    pairs = _paired_rollouts(lambda env: LinearReward(env, weight=weight))
    transform = affine(scale=weight)
    rewards = jnp.asarray(np.stack([r for r, _ in pairs]))
    ours, _ = transform.apply(transform.init(2), rewards, context((len(pairs),)))
    np.testing.assert_allclose(np.sum(ours, axis=-1), np.array([t for _, t in pairs]), rtol=1e-5)


def test_symmetric_bound_and_shift():
    out, _ = clip(bound=2.0).apply(clip(bound=2.0).init(2), jnp.array([-5.0, 1.0]), context())
    np.testing.assert_array_equal(out, [-2.0, 1.0])
    t = affine(scale=[2.0, -1.0], shift=1.0)
    out, _ = t.apply(t.init(2), jnp.array([3.0, 4.0]), context())
    np.testing.assert_array_equal(out, [7.0, -3.0])


def test_bad_arguments_named():
    with pytest.raises(ValueError, match="bound must be > 0"):
        clip(bound=-1.0)
    with pytest.raises(ValueError, match="low"):
        clip(low=1.0, high=0.0)
    with pytest.raises(ValueError, match="either bound"):
        clip()
    with pytest.raises(ValueError, match=r"scale has shape \(3,\)"):
        affine(scale=[1.0, 2.0, 3.0]).init(2)
