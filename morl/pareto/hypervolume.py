"""Hypervolume of a set of points (all objectives maximised) w.r.t. a reference point.

`HV(P, r)` is the Lebesgue measure of `{u : r < u <= p for some p in P}`. Points that do not
strictly dominate `r` contribute nothing; dominated and duplicate points change nothing;
the empty set has hypervolume 0.

- `hypervolume_2d(points, ref, valid)`: exact, jittable, `O(n log n)` (sort + running max).
- `hypervolume_3d(points, ref, valid)`: exact, jittable, the HV3D sweep (Beume et al. 2009):
  points in decreasing `z`; the `(x, y)` staircase of the points already swept is a
  sqrt-decomposed array over `x`-ranks (static shapes); each point adds `(z - r_z)` times its
  exclusive area in the staircase and removes the staircase points it dominates.
  `O(n sqrt n)` worst case; each step touches two rows of length `sqrt n`.
- `hypervolume_mc(key, points, ref, num_samples, valid)`: Monte Carlo estimate for any
  number of objectives, jittable, returns `(estimate, standard_error)`.
- `hypervolume_host(points, ref)`: exact for any dimension with moocore on the host
  (moocore minimises: points and reference are negated).

The exact JAX versions compute in the input dtype: pass float64 arrays with
`jax.enable_x64(True)` for 1e-9 agreement with moocore. `valid: [n]` bool masks rows out.
The front door `morl.pareto.hypervolume` validates, then dispatches (2-D, 3-D: JAX in
float64; otherwise moocore).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import moocore
import numpy as np

from jax import lax

Array = jax.Array


def _contributing(points: Array, ref: Array, valid: Array | None) -> Array:
    """`[n]` bool: valid, finite and strictly dominating `ref`."""
    mask = jnp.all(points > ref, axis=-1)
    return mask if valid is None else mask & jnp.asarray(valid, bool)


def hypervolume_2d(points: Array, ref: Array, valid: Array | None = None) -> Array:
    """Exact 2-D hypervolume of `points: [n, 2]` above `ref: [2]`: a scalar. Jittable."""
    points, ref = jnp.asarray(points), jnp.asarray(ref, jnp.asarray(points).dtype)
    ok = _contributing(points, ref, valid)
    x = jnp.where(ok, points[:, 0], ref[0])
    y = jnp.where(ok, points[:, 1], ref[1])
    # x descending; the order within equal x does not change the sum below
    neg_x, y = lax.sort((-x, y), num_keys=1)
    x = -neg_x
    best_before = jnp.concatenate([ref[1:2], lax.cummax(y)[:-1]])
    return jnp.sum((x - ref[0]) * jnp.maximum(y - best_before, 0))


def hypervolume_3d(points: Array, ref: Array, valid: Array | None = None) -> Array:
    """Exact 3-D hypervolume of `points: [n, 3]` above `ref: [3]`: a scalar. Jittable."""
    points, ref = jnp.asarray(points), jnp.asarray(ref, jnp.asarray(points).dtype)
    n = points.shape[0]
    dtype = points.dtype
    ok = _contributing(points, ref, valid)
    pts = jnp.where(ok[:, None], points, ref)
    # x-ranks: x ascending, ties by y ascending, so that in the staircase (x ascending,
    # y strictly descending) a point with equal x and larger y sits to the right.
    rank_order = jnp.lexsort((pts[:, 1], pts[:, 0]))
    rank = jnp.zeros(n, jnp.int32).at[rank_order].set(jnp.arange(n, dtype=jnp.int32))
    x_of_rank = pts[rank_order, 0]
    sweep = jnp.argsort(-pts[:, 2], stable=True)

    block = max(1, math.isqrt(n - 1) + 1) if n > 0 else 1
    nblocks = -(-n // block)
    neg_inf = jnp.asarray(-jnp.inf, dtype)
    lane = jnp.arange(block, dtype=jnp.int32)
    blocks = jnp.arange(nblocks, dtype=jnp.int32)

    # Staircase state: y of the active point at each rank (-inf when inactive), per block
    # the largest active y and the largest active rank (-1 when none).
    def row_of(stair_y: Array, b: Array) -> Array:
        return lax.dynamic_slice(stair_y, (b * block,), (block,))

    def predecessor(stair_y: Array, block_rank: Array, p: Array) -> Array:
        """Largest active rank < p, or -1."""
        b, c = p // block, p % block
        row = row_of(stair_y, b)
        in_row = jnp.max(jnp.where((lane < c) & (row > neg_inf), lane, -1))
        before = jnp.max(jnp.where(blocks < b, block_rank, -1))
        return jnp.where(in_row >= 0, b * block + in_row, before)

    def write(state: tuple, p: Array, y: Array, reads: tuple) -> tuple[tuple, tuple]:
        """Set the staircase y at rank p (`-inf` removes it) and refresh the block summaries.
        `reads`: scalars computed from `state` beforehand (returned unchanged)."""
        stair_y, block_y, block_rank = state
        b, c = p // block, p % block
        row = row_of(stair_y, b).at[c].set(y)
        top_y = jnp.max(row)
        top_rank = jnp.max(jnp.where(row > neg_inf, b * block + lane, -1)).astype(jnp.int32)
        # Make the written value depend on every read so that XLA orders the reads first and
        # updates the buffers in place (otherwise it copies them on every step).
        never = jnp.any(jnp.stack([jnp.isnan(jnp.asarray(v, dtype)) for v in (top_y, top_rank, *reads)]))
        y = jnp.where(never, jnp.nan, y)
        stair_y = lax.dynamic_update_slice(stair_y, y[None], (p,))
        block_y = lax.dynamic_update_slice(block_y, top_y[None], (b,))
        block_rank = lax.dynamic_update_slice(block_rank, top_rank[None], (b,))
        return (stair_y, block_y, block_rank), reads

    def step(carry: tuple, inputs: tuple) -> tuple[tuple, None]:
        """Sweep point q (rank r): add (z - r_z) times its exclusive (x, y) area, insert it
        into the staircase and remove the staircase points it dominates; a point dominated
        in (x, y) by the staircase, or not above `ref`, changes nothing."""
        state, total = carry
        q, r, contributes = inputs
        stair_y, block_y, block_rank = state
        b, c = r // block, r % block
        row = row_of(stair_y, b)
        y_right = jnp.maximum(  # max y of the staircase to the right of q
            jnp.maximum(jnp.max(jnp.where(lane > c, row, neg_inf)), jnp.max(jnp.where(blocks > b, block_y, neg_inf))),
            ref[1],
        )
        inserts = contributes & (y_right < q[1])

        def sweep_in(state: tuple) -> tuple[tuple, Array]:
            pred = predecessor(state[0], state[2], r)
            x_pred = jnp.where(pred >= 0, x_of_rank[jnp.maximum(pred, 0)], ref[0])
            area = (q[0] - x_pred) * (q[1] - y_right)

            def removable(carry: tuple) -> Array:
                st, p, _ = carry
                return (p >= 0) & (st[0][jnp.maximum(p, 0)] <= q[1])

            def remove(carry: tuple) -> tuple:
                st, p, area = carry
                prev = predecessor(st[0], st[2], p)
                x_prev = jnp.where(prev >= 0, x_of_rank[jnp.maximum(prev, 0)], ref[0])
                area = area + (x_of_rank[p] - x_prev) * (q[1] - st[0][p])
                st, (prev, area) = write(st, p, neg_inf, (prev, area))
                return st, prev, area

            state, _, area = lax.while_loop(removable, remove, (state, pred, area))
            state, (area,) = write(state, r, q[1], (area,))
            return state, area

        state, area = lax.cond(inserts, sweep_in, lambda st: (st, jnp.zeros((), dtype)), state)
        return (state, total + (q[2] - ref[2]) * area), None

    state = (
        jnp.full(nblocks * block, neg_inf),
        jnp.full(nblocks, neg_inf),
        jnp.full(nblocks, -1, jnp.int32),
    )
    (_, total), _ = lax.scan(step, (state, jnp.zeros((), dtype)), (pts[sweep], rank[sweep], ok[sweep]))
    return total


def hypervolume_mc(
    key: Array, points: Array, ref: Array, num_samples: int = 100_000, valid: Array | None = None,
    batch: int = 4096,
) -> tuple[Array, Array]:
    """Monte Carlo hypervolume of `points: [n, m]` above `ref: [m]`: `(estimate, standard_error)`.

    Samples uniformly in the box `[ref, max(points)]` (the max over contributing points);
    the estimate is the box volume times the fraction of samples dominated by some point,
    the standard error `volume * sqrt(p (1 - p) / num_samples)`. `num_samples` and `batch`
    are static (samples are drawn `batch` at a time to bound memory at `batch * n`).
    Jittable; unbiased; 0 with 0 error when no point strictly dominates `ref`."""
    points = jnp.asarray(points)
    ref = jnp.asarray(ref, points.dtype)
    ok = _contributing(points, ref, valid)
    upper = jnp.max(jnp.where(ok[:, None], points, ref), axis=0)
    volume = jnp.prod(upper - ref)
    pts = jnp.where(ok[:, None], points, ref)  # ref dominates no sample strictly above ref
    num_batches = -(-num_samples // batch)

    def count(key: Array) -> Array:
        u = jax.random.uniform(key, (batch, points.shape[1]), points.dtype)
        samples = ref + u * (upper - ref)
        covered = jnp.ones((batch, points.shape[0]), bool)
        for k in range(points.shape[1]):
            covered = covered & (pts[None, :, k] >= samples[:, None, k])
        return jnp.sum(jnp.any(covered & ok[None, :], axis=1))

    hits = jnp.sum(lax.map(count, jax.random.split(key, num_batches)))
    total = num_batches * batch
    p = hits / total
    return volume * p, volume * jnp.sqrt(p * (1 - p) / total)


def hypervolume_host(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact hypervolume in any dimension with moocore (negates points and reference,
    keeps only the points strictly dominating `ref`). Inputs are validated numpy arrays."""
    points = np.asarray(points, np.float64)
    ref = np.asarray(ref, np.float64)
    points = points[np.all(points > ref, axis=1)]
    if points.shape[0] == 0:
        return 0.0
    return float(moocore.hypervolume(-points, ref=-ref))
