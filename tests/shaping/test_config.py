import jax.numpy as jnp
import numpy as np
import pytest

from morl.shaping import make_chain
from tests.shaping.helpers import context


def test_spec_builds_the_chain_in_order():
    t = make_chain([{"name": "affine", "scale": 2.0, "shift": 1.0}, {"name": "clip", "bound": 4.0}])
    out, _ = t.apply(t.init(2), jnp.array([1.0, 3.0]), context())
    np.testing.assert_allclose(out, [3.0, 4.0])
    assert t.name == "chain(affine, clip)"


def test_empty_spec_is_identity():
    for spec in (None, []):
        t = make_chain(spec)
        out, _ = t.apply(t.init(2), jnp.array([1.0, -3.0]), context())
        np.testing.assert_array_equal(out, [1.0, -3.0])


@pytest.mark.parametrize(
    "spec,error,message",
    [
        ({"name": "clip"}, TypeError, "list of dicts"),
        ([{"bound": 1.0}], ValueError, "entry 0 must be a dict with a 'name'"),
        ([{"name": "normalise"}], ValueError, "unknown transform 'normalise' \\(did you mean 'normalize'\\?\\)"),
        ([{"name": "clip", "bound": 1.0}, {"name": "normalize", "return": True}], ValueError, "entry 1 \\('normalize'\\): unknown argument\\(s\\) \\['return'\\]"),
        ([{"name": "lagrange"}], ValueError, "entry 0 \\('lagrange'\\): missing a required argument: 'thresholds'"),
        ([{"name": "clip", "bound": -2.0}], ValueError, "entry 0: clip: bound must be > 0, got -2.0"),
        ([{"name": "ensemble", "heads": len, "mode": "max"}], ValueError, "entry 0: ensemble: unknown mode 'max'"),
    ],
)
def test_bad_specs_give_one_line_errors(spec, error, message):
    with pytest.raises(error, match=message) as info:
        make_chain(spec)
    assert "\n" not in str(info.value)
