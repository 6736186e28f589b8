"""A run directory back as a policy (`morl.load_policy`, `morl.restore`)."""

import jax
import jax.numpy as jnp
import pytest

import morl
import tests.io.fake_trainer  # noqa: F401  registers algorithm "fake"
from morl import cli


def test_load_policy_from_a_run(tmp_path):
    out = tmp_path / "run"
    args = ["train", "fake", "--no-progress", "--steps", "200", "--set", "chunk_steps=100", "--out", str(out)]
    assert cli.main(args) == 0
    act = morl.load_policy(out, member=1)  # the test double's member 1 always dives
    assert int(act(jnp.array([0, 0]), jax.random.key(0))) == 1
    with pytest.raises(ValueError, match="member 9 is not in the archive"):
        morl.load_policy(out, member=9)
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        morl.load_policy(tmp_path, member=0)
