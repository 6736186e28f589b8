import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morl.shaping import RewardTransform, affine, chain, clip, identity, lagrange, normalize
from morl.shaping.base import EmptyState
from tests.shaping.helpers import context


def _add(value, name="add"):
    return RewardTransform(lambda m, b=(): EmptyState(), lambda s, r, c: (r + value, s), name)


def _mul(value, name="mul"):
    return RewardTransform(lambda m, b=(): EmptyState(), lambda s, r, c: (r * value, s), name)


def test_identity_returns_input():
    t = identity()
    r = jnp.array([1.0, -2.0])
    out, _ = t.apply(t.init(2), r, context())
    np.testing.assert_array_equal(out, r)


def test_chain_applies_in_order():
    r = np.array([1.0, 2.0], np.float32)
    t = chain(_add(1.0), _mul(3.0))
    out, state = t.apply(t.init(2), jnp.asarray(r), context())
    np.testing.assert_allclose(out, (r + 1.0) * 3.0)
    assert isinstance(state, tuple) and len(state) == 2


def test_shape_change_fails_at_trace_time_naming_transform():
    bad = RewardTransform(lambda m, b=(): EmptyState(), lambda s, r, c: (jnp.sum(r, keepdims=True), s), "summer")
    t = chain(identity(), bad)
    with pytest.raises(TypeError, match="'summer'.*shape \\(1,\\)"):
        jax.jit(t.apply)(t.init(2), jnp.ones(2), context())


def test_dtype_change_fails_naming_transform():
    bad = RewardTransform(lambda m, b=(): EmptyState(), lambda s, r, c: (r.astype(jnp.int32), s), "rounder")
    t = chain(bad)
    with pytest.raises(TypeError, match="'rounder'.*int32"):
        jax.jit(t.apply)(t.init(2), jnp.ones(2), context())


def test_state_made_for_wrong_batch_fails_naming_transform():
    t = chain(normalize(returns=True))
    with pytest.raises(TypeError, match="'normalize'.*batch_shape"):
        t.apply(t.init(2), jnp.ones((4, 2)), context((4,)))


def test_chain_rejects_non_transforms():
    with pytest.raises(TypeError, match="argument 1"):
        chain(identity(), lambda r: r)


# --- population, jit, scan, checkpoints ----------------------------------------------

POP, ENVS, M = 3, 4, 2
THRESHOLDS = np.array([[1.0, 1.0], [5.0, 0.0], [0.0, 9.0]], np.float32)
BOUNDS = np.array([0.5, 2.0, 10.0], np.float32)
SCALES = np.array([[1.0, 1.0], [2.0, 0.5], [0.1, 3.0]], np.float32)


def _member_chain(thresholds, bound, scale):
    return chain(lagrange(thresholds=thresholds, lr=0.3), normalize(returns=True), clip(bound=bound), affine(scale=scale))


def _stream(steps, seed=0):
    rng = np.random.default_rng(seed)
    rewards = rng.normal(1.0, 3.0, size=(steps, POP, ENVS, M)).astype(np.float32)
    done = rng.random((steps, POP, ENVS)) < 0.3
    return rewards, done


def _population_states():
    template = _member_chain(THRESHOLDS[0], BOUNDS[0], SCALES[0])
    states = jax.vmap(lambda th, b, s: _member_chain(th, b, s).init(M, (ENVS,)))(
        jnp.asarray(THRESHOLDS), jnp.asarray(BOUNDS), jnp.asarray(SCALES)
    )
    return template, states


def _population_scan(template, states, rewards, done):
    def body(states, inputs):
        r, d = inputs
        ctx = jax.vmap(lambda d: context((ENVS,), done=d, discount=0.9))(d)
        out, states = jax.vmap(template.apply)(states, r, ctx)
        return states, out

    return jax.jit(lambda s, r, d: jax.lax.scan(body, s, (r, d)))(states, jnp.asarray(rewards), jnp.asarray(done))


def test_population_vmap_with_per_member_parameters_equals_separate_members():
    rewards, done = _stream(8)
    template, states = _population_states()
    final, outs = _population_scan(template, states, rewards, done)
    for member in range(POP):
        own = _member_chain(THRESHOLDS[member], float(BOUNDS[member]), SCALES[member])
        state, apply = own.init(M, (ENVS,)), jax.jit(own.apply)
        for t in range(len(rewards)):
            out, state = apply(state, jnp.asarray(rewards[t, member]), context((ENVS,), done=done[t, member], discount=0.9))
            np.testing.assert_allclose(outs[t, member], out, rtol=1e-5, atol=1e-6, err_msg=f"member {member} step {t}")
        assert np.all(np.abs(np.asarray(outs[:, member])) <= BOUNDS[member] * np.abs(SCALES[member]) + 1e-6)
        for a, b in zip(jax.tree_util.tree_leaves(state), jax.tree_util.tree_leaves(final)):
            np.testing.assert_allclose(b[member], a, rtol=1e-5, atol=1e-6)


def test_state_round_trips_through_a_checkpoint(tmp_path):
    rewards, done = _stream(10, seed=1)
    template, states = _population_states()
    straight, outs = _population_scan(template, states, rewards, done)
    half, _ = _population_scan(template, states, rewards[:5], done[:5])
    leaves, treedef = jax.tree_util.tree_flatten(half)
    np.savez(tmp_path / "shaping.npz", *[np.asarray(leaf) for leaf in leaves])
    with np.load(tmp_path / "shaping.npz") as saved:
        restored = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(saved[f"arr_{i}"]) for i in range(len(leaves))])
    resumed, outs_resumed = _population_scan(template, restored, rewards[5:], done[5:])
    np.testing.assert_array_equal(outs_resumed, outs[5:])
    for a, b in zip(jax.tree_util.tree_leaves(straight), jax.tree_util.tree_leaves(resumed)):
        np.testing.assert_array_equal(a, b)


def test_bad_reward_dim_named():
    with pytest.raises(ValueError, match="reward_dim must be a positive int, got 0"):
        chain(identity()).init(0)
