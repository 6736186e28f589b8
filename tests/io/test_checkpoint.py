"""orbax checkpoints of a whole state pytree: exact round trip, keep-last-N, torn saves."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from morl.io.checkpoint import Checkpointer


def _state(seed):
    key = jax.random.key(seed)
    params = {"w": jax.random.normal(key, (3, 4)), "b": jnp.zeros(4)}
    opt = optax.adam(1e-3)
    keys = jax.random.split(key, 5)
    return {"params": params, "opt": opt.init(params), "key": keys, "steps": jnp.int32(seed), "flag": jnp.bool_(True)}


def _assert_same(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert x.dtype == y.dtype and x.shape == y.shape
        if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("asynchronous", [True, False])
def test_round_trip_is_exact_and_keeps_last_n(tmp_path, asynchronous):
    ckpt = Checkpointer(tmp_path / "ck", keep=2, asynchronous=asynchronous)
    for step in (1, 2, 3):
        ckpt.save(step, _state(step), {"chunk": step, "wall_time": 0.5 * step})
    ckpt.wait()
    assert ckpt.all_steps() == [2, 3] and ckpt.latest_step() == 3
    like = jax.eval_shape(lambda: _state(0))
    state, meta = ckpt.restore(3, like)
    ckpt.close()
    _assert_same(state, _state(3))
    assert meta == {"chunk": 3, "wall_time": 1.5}
    # the restored RNG keys continue the same stream
    continued = jax.random.key_data(jax.random.split(state["key"][0]))
    np.testing.assert_array_equal(continued, jax.random.key_data(jax.random.split(_state(3)["key"][0])))


def test_a_fresh_manager_ignores_a_torn_checkpoint(tmp_path):
    ckpt = Checkpointer(tmp_path / "ck", keep=3, asynchronous=False)
    ckpt.save(1, _state(1), {"chunk": 1})
    ckpt.close()
    # what a process killed mid-save leaves: orbax's temporary folder for step 2
    torn = tmp_path / "ck" / "2.orbax-checkpoint-tmp-123"
    (torn / "state").mkdir(parents=True)
    (torn / "state" / "partial").write_bytes(b"\0" * 10)
    reader = Checkpointer(tmp_path / "ck", read_only=True)
    assert reader.latest_step() == 1 and torn.exists()  # a reader leaves a running writer's files alone
    reader.close()
    again = Checkpointer(tmp_path / "ck", keep=3, asynchronous=False)
    assert again.latest_step() == 1
    state, _ = again.restore(1, jax.eval_shape(lambda: _state(0)))
    _assert_same(state, _state(1))
    again.save(2, _state(2), {"chunk": 2})
    again.close()
    assert not torn.exists() and sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["1", "2"]


@pytest.mark.parametrize("damage", ["garbled", "emptied", "meta"])
def test_restore_latest_falls_back_past_a_damaged_checkpoint(tmp_path, damage):
    ckpt = Checkpointer(tmp_path / "ck", keep=3, asynchronous=False)
    for step in (1, 2):
        ckpt.save(step, _state(step), {"chunk": step, "wall_time": 1.0})
    ckpt.close()
    newest = tmp_path / "ck" / "2"
    files = sorted(p for p in newest.rglob("*") if p.is_file() and p.stat().st_size > 0)
    if damage == "meta":
        (newest / "meta" / "metadata").write_text("{not json")
    for path in files if damage != "meta" else ():
        path.write_bytes(b"\x00garbage" * 8 if damage == "garbled" else b"")
    writer = Checkpointer(tmp_path / "ck", keep=3, asynchronous=False)
    step, state, meta, notes = writer.restore_latest(jax.eval_shape(lambda: _state(0)))
    assert step == 1 and meta["chunk"] == 1
    _assert_same(state, _state(1))
    assert len(notes) == 1 and notes[0].startswith("checkpoint 2 is unreadable") and "\n" not in notes[0]
    assert (tmp_path / "ck.corrupt" / "2").is_dir() and not newest.exists()  # set aside, not deleted
    writer.save(2, _state(2), {"chunk": 2, "wall_time": 2.0})  # the step is free again
    writer.close()
    assert Checkpointer(tmp_path / "ck", read_only=True).latest_step() == 2
