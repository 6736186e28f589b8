"""The jit-resident Pareto archive against moocore's filter and pymoo's crowding distance."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import moocore
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance

from morl.pareto import archive_front, archive_init, archive_insert

K = 8  # batch size of every insert


def _payload(m: int) -> dict:
    return {"weights": jnp.zeros(m), "member": jnp.int32(0)}


_insert = jax.jit(archive_insert)


def _run(batches: np.ndarray, capacity: int, valid: np.ndarray | None = None):
    m = batches.shape[-1]
    archive = archive_init(capacity, m, _payload(m))
    for t, batch in enumerate(batches):
        ids = np.arange(K, dtype=np.int32) + K * t
        v = None if valid is None else valid[t]
        archive = _insert(archive, batch, {"weights": batch, "member": ids}, v)
    return archive


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([2, 4]), st.integers(1, 6), st.sampled_from([4, 1000]), st.integers(0, 2**32 - 1))
def test_large_archive_equals_moocore_front_of_everything(m: int, steps: int, levels: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    batches = rng.integers(0, levels, size=(steps, K, m)).astype(np.float32)
    valid = rng.random((steps, K)) < 0.8
    archive = _run(batches, capacity=6 * K + 1, valid=valid)
    points, payload = archive_front(archive)
    flat, flat_valid = batches.reshape(-1, m), valid.reshape(-1)
    keep = np.zeros(len(flat), bool)
    keep[flat_valid] = moocore.is_nondominated(flat[flat_valid], maximise=True, keep_weakly=False)
    # same set, first occurrence kept, payload travels with its point
    np.testing.assert_array_equal(np.sort(payload["member"]), np.flatnonzero(keep))
    np.testing.assert_array_equal(points, payload["weights"])
    np.testing.assert_array_equal(points, flat[payload["member"]])


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([2, 3]), st.integers(2, 10), st.integers(0, 2**32 - 1))
def test_full_archive_never_holds_a_dominated_point_and_keeps_extremes(m: int, steps: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # points near the simplex surface so that most are non-dominated and the archive overflows
    raw = rng.dirichlet(np.ones(m), size=(steps, K)) * rng.uniform(0.9, 1.0, size=(steps, K, 1))
    batches = raw.astype(np.float32)
    capacity = 2 * m + 2
    points, payload = archive_front(_run(batches, capacity))
    assert 1 <= len(points) <= capacity
    assert moocore.is_nondominated(points, maximise=True, keep_weakly=False).all()
    flat = batches.reshape(-1, m)
    np.testing.assert_array_equal(points, flat[payload["member"]])
    for j in range(m):  # the best point in each objective is a boundary point: never evicted
        assert points[:, j].max() == flat[:, j].max()


def test_eviction_removes_pymoo_smallest_crowding_point() -> None:
    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(0, 1, size=9))
    front = np.stack([x, 1 - x**2], axis=1).astype(np.float32)  # 9 mutually non-dominated points
    archive = archive_init(8, 2, None)
    archive = _insert(archive, front[:8], None)
    archive = _insert(archive, front[8:], None)
    points, _ = archive_front(archive)
    expected_evicted = np.argmin(calc_crowding_distance(front.astype(np.float64)))
    np.testing.assert_array_equal(np.sort(points[:, 0]), np.delete(front, expected_evicted, 0)[:, 0])


def test_duplicate_keeps_old_payload_and_dominating_point_replaces() -> None:
    archive = archive_init(4, 2, {"id": jnp.int32(0)})
    one = np.array([[1.0, 1.0], [0.0, 0.0]], np.float32)
    archive = _insert(archive, one, {"id": np.array([7, 0])}, np.array([True, False]))
    archive = _insert(archive, one, {"id": np.array([8, 0])}, np.array([True, False]), 0.0)  # exact duplicate
    np.testing.assert_array_equal(archive_front(archive)[1]["id"], [7])
    near = np.array([[1.0 + 2e-5, 1.0 - 1e-6], [0.0, 0.0]], np.float32)
    archive = _insert(archive, near, {"id": np.array([9, 0])}, None, 1e-4)  # near duplicate within tol
    np.testing.assert_array_equal(archive_front(archive)[1]["id"], [7])
    better = np.array([[1.0 + 1e-5, 1.0], [0.0, 0.0]], np.float32)
    archive = _insert(archive, better, {"id": np.array([10, 0])}, None, 1e-4)  # dominates: replaces
    np.testing.assert_array_equal(archive_front(archive)[1]["id"], [10])


def test_archive_in_scan_and_bad_inputs() -> None:
    m = 3
    archive = archive_init(16, m, _payload(m))
    batches = jax.random.uniform(jax.random.key(0), (5, K, m))

    def body(arch, batch):
        arch = archive_insert(arch, batch, {"weights": batch, "member": jnp.arange(K, dtype=jnp.int32)})
        return arch, jnp.sum(arch.valid)

    archive, sizes = jax.lax.scan(body, archive, batches)
    assert sizes.shape == (5,) and int(sizes[-1]) == int(archive.valid.sum())
    with pytest.raises(ValueError, match=r"points must be \[k, 3\]"):
        archive_insert(archive, np.zeros((2, 2)), {"weights": np.zeros((2, 3)), "member": np.zeros(2, np.int32)})
    with pytest.raises(ValueError, match="payload leaf shape"):
        archive_insert(archive, np.zeros((2, 3)), {"weights": np.zeros((3, 3)), "member": np.zeros(2, np.int32)})
    with pytest.raises(ValueError, match="payload structure"):
        archive_insert(archive, np.zeros((2, 3)), {"weights": np.zeros((2, 3))})
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        archive_init(0, 2)
