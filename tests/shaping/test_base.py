import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morl.shaping import RewardTransform, chain, identity, normalize
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
