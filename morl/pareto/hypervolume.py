"""Hypervolume of a set of points (all objectives maximised) w.r.t. a reference point.

`HV(P, r)` is the Lebesgue measure of `{u : r < u <= p for some p in P}`. Points that do not
strictly dominate `r` contribute nothing; dominated and duplicate points change nothing;
the empty set has hypervolume 0.

- `hypervolume_2d(points, ref, valid)`: exact, jittable, `O(n log n)` (sort + running max).
- `hypervolume_3d(points, ref, valid)`: exact, jittable, the HV3D sweep (Beume et al. 2009)
  in decreasing `z` with all its staircase queries answered at once: three 2-D dominance
  maxima (blocked: direct comparisons inside blocks of ranks, a prefix-max grid across
  blocks) and a few integer sorts, so XLA runs a few dozen array operations instead of a
  sequential scan. `O(n log n)` sorting plus `O(n^1.5)` vectorised work; `n <= 65536`.
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


_FIELD = 16  # bits per field of the packed sort keys
_FIELD_MASK = (1 << _FIELD) - 1
MAX_POINTS_3D = 1 << _FIELD
_ANCHORS = 32  # pre-filter: points dominated by one of these are dropped before the kernel


def _sort_key(v: Array) -> Array:
    """Integer keys (of `v`'s width) in the order of the floats `v` (-0.0 == 0.0), so that
    XLA sorts them with its fast single-operand integer path."""
    v = jnp.where(v == 0, jnp.zeros_like(v), v)
    itype = jnp.int64 if v.dtype.itemsize == 8 else jnp.int32
    bits = lax.bitcast_convert_type(v, itype)
    return jnp.where(bits < 0, bits ^ jnp.iinfo(itype).max, bits)


_DENSE_SORT = 32  # up to this many points, sorting is done by counting (no sort op)
_LANES = 32  # XLA:CPU vectorises reductions over up to this many lanes (~8x faster per pair than 64)


def _block(n: int) -> int:
    """Block of ranks for `_dominance_max` (all pairs up to 32 points); measured on 1e3-1e4."""
    return n if n <= _LANES else (_LANES if n <= 1024 else 2 * _LANES)


def _count_less(keys: Array) -> Array:
    """`[r, n]` int32: how many entries of the same row are `< keys[r, i]`. Small rows count
    all pairs; larger ones sort, then run an unrolled branch-free binary search."""
    r, n = keys.shape
    if n <= _DENSE_SORT:
        return jnp.sum(keys[:, None, :] < keys[:, :, None], axis=-1, dtype=jnp.int32)
    flat = lax.sort(keys, dimension=1).reshape(-1)
    base = (jnp.arange(r, dtype=jnp.int32) * n)[:, None]
    pos = jnp.zeros(keys.shape, jnp.int32)
    step = 1 << (n.bit_length() - 1)
    while step:
        cand = pos + step
        pos = jnp.where((cand <= n) & (flat[base + jnp.minimum(cand, n) - 1] < keys), cand, pos)
        step //= 2
    return pos


def _sort_distinct(keys: Array) -> Array:
    """Each row of `keys: [r, n]` (distinct integers) sorted ascending."""
    r, n = keys.shape
    if n > _DENSE_SORT:
        return lax.sort(keys, dimension=1)
    return jnp.zeros_like(keys).at[jnp.arange(r)[:, None], _count_less(keys)].set(keys)


def _lex_sorted_last(*fields: Array) -> Array:
    """The last of `fields` (each `[r, n]`, non-negative ints; all but the first `< 2^16`;
    rows distinct) reordered by the lexicographic order of the fields: one sort of packed
    uint64 keys, or a multi-operand sort without 64-bit types (`jax_enable_x64` off)."""
    if not jax.config.jax_enable_x64:
        return lax.sort(tuple(f.astype(jnp.int32) for f in fields), dimension=1, num_keys=len(fields))[-1]
    key = fields[0].astype(jnp.uint64)
    for f in fields[1:]:
        key = (key << jnp.uint64(_FIELD)) | f.astype(jnp.uint64)
    return (_sort_distinct(key) & jnp.uint64(_FIELD_MASK)).astype(jnp.int32)


def _ranks(pts: Array) -> tuple[Array, Array]:
    """`_ranks_exact`'s `(rank, order)`, from one sort when it can: each coordinate's sortable
    bits (float64: the top 48; float32: all 32) packed with the index into uint64 keys (z
    reversed for time). That order is exact unless two rows tie in one coordinate (or in
    its top 48 bits) without being the same point; the full keys check it afterwards and
    `lax.cond` falls back to `_ranks_exact` (under `vmap` both run). Up to 32 points, or
    without 64-bit types, always `_ranks_exact`."""
    n = pts.shape[0]
    if n <= _DENSE_SORT or not jax.config.jax_enable_x64:
        return _ranks_exact(pts)
    keys = jnp.stack([_sort_key(pts[:, 2]), _sort_key(pts[:, 0]), _sort_key(pts[:, 1])])
    width = 8 * keys.dtype.itemsize
    u = lax.bitcast_convert_type(keys ^ jnp.iinfo(keys.dtype).min, jnp.dtype(f"uint{width}")).astype(jnp.uint64)
    u = u.at[0].set(jnp.uint64((1 << width) - 1) - u[0])  # time: z descending
    top = (u >> jnp.uint64(16)) << jnp.uint64(16) if width == 64 else u << jnp.uint64(16)
    idx = jnp.arange(n, dtype=jnp.int32)
    tie = jnp.stack([idx, _FIELD_MASK - idx, _FIELD_MASK - idx])  # as `_ranks_exact` breaks ties
    low = (lax.sort(top | tie.astype(jnp.uint64), dimension=1) & jnp.uint64(_FIELD_MASK)).astype(jnp.int32)
    order = jnp.concatenate([low[:1], _FIELD_MASK - low[1:]])
    full = jnp.take_along_axis(u, order, axis=1)
    same_point = jnp.all(keys[:, order[:, 1:]] == keys[:, order[:, :-1]], axis=0)  # [3 orders, n - 1]
    exact = jnp.all((full[:, 1:] > full[:, :-1]) | same_point)
    rank = jnp.zeros((3, n), jnp.int32).at[jnp.arange(3)[:, None], order].set(idx)
    return lax.cond(exact, lambda p: (rank, order), _ranks_exact, pts)


def _ranks_exact(pts: Array) -> tuple[Array, Array]:
    """Three strict orders of the points `[n, 3]`, as `(rank, order)`, each `[3, n]` int32
    (`rank[k, order[k, i]] = i`):
    0. time: z descending, ties by index;
    1. x ascending, then y ascending, then later time first (z ascending, index descending);
    2. y ascending, then x ascending, then later time first.
    Tie-aware ranks of each coordinate (integer keys: sort and binary search), then one
    batched sort of keys packing them with the index."""
    n = pts.shape[0]
    dx, dy, dz = _count_less(jnp.stack([_sort_key(pts[:, i]) for i in range(3)]))
    idx = jnp.arange(n, dtype=jnp.int32)
    low = _lex_sorted_last(
        jnp.stack([_FIELD_MASK - dz, dx, dy]), jnp.stack([idx, dy, dx]), jnp.stack([idx, dz, dz]),
        jnp.stack([idx, _FIELD_MASK - idx, _FIELD_MASK - idx]),
    )
    order = jnp.concatenate([low[:1], _FIELD_MASK - low[1:]])
    rank = jnp.zeros((3, n), jnp.int32).at[jnp.arange(3)[:, None], order].set(idx)
    return rank, order


def _shift(g: Array, k: int, axis: int, reverse: bool, pad: Array) -> Array:
    n = g.shape[axis]
    if reverse:
        return jnp.concatenate([lax.slice_in_dim(g, k, n, axis=axis), lax.slice_in_dim(pad, 0, k, axis=axis)], axis)
    return jnp.concatenate([lax.slice_in_dim(pad, 0, k, axis=axis), lax.slice_in_dim(g, 0, n - k, axis=axis)], axis)


def _dominance_max(
    b_in_a: Array, v_in_a: Array, a_in_b: Array, v_in_b: Array, a: Array, b: Array, empty: Array, block: int,
) -> Array:
    """For `s` point sets at once (each with two rank permutations `a`, `b` of `[0, n)` and
    int values `v`): `out[s, j] = max{v_k : a_k < a[s, j], b_k > b[s, j]}`, or `empty[s]`.

    Inputs `[s, n]`: the points listed in `a` order (`b_in_a`, `v_in_a`) and in `b` order
    (`a_in_b`, `v_in_b`); `a`, `b`: the ranks of the points queried (the same points, in any
    order). Blocks of `block` consecutive ranks (`block <= 32` or a multiple of 32): pairs in
    one `a` block or one `b` block are compared directly (`O(n block)`), the rest read a 2-D
    prefix maximum (associative scans) over the `(n / block)^2` grid of block maxima."""
    s, n = b_in_a.shape
    nb = -(-n // block)
    e = empty[:, None]
    lane = jnp.arange(block)
    rows = jnp.arange(s)[:, None]

    def in_block(other: Array, v: Array, pad: int, earlier: bool) -> Array:
        """Max `v` over the points earlier (later) in the same block whose other rank is
        larger (smaller); `[s, nb * block]` in block order."""
        other = jnp.pad(other, ((0, 0), (0, nb * block - n)), constant_values=pad).reshape(s, nb, block)
        v = jnp.concatenate([v, jnp.broadcast_to(e, (s, nb * block - n))], axis=1).reshape(s, nb, block)
        if earlier:
            hit = (lane[:, None] > lane[None, :]) & (other[..., None, :] > other[..., :, None])
        else:
            hit = (lane[:, None] < lane[None, :]) & (other[..., None, :] < other[..., :, None])
        best = jnp.where(hit, v[..., None, :], e[..., None, None])
        if block > _LANES:  # two reductions of <= 32 lanes; the barrier keeps XLA from fusing them
            best = lax.optimization_barrier(jnp.max(best.reshape(s, nb, block, -1, _LANES), axis=-1))
        return jnp.max(best, axis=-1).reshape(s, -1)

    out = in_block(b_in_a, v_in_a, -1, True)[rows, a]
    if nb > 1:
        out = jnp.maximum(out, in_block(a_in_b, v_in_b, nb * block, False)[rows, b])
        fill = jnp.broadcast_to(empty[:, None, None], (s, nb, nb))
        grid = fill.at[rows, jnp.arange(n)[None, :] // block, b_in_a // block].max(v_in_a)
        grid = _shift(lax.associative_scan(jnp.maximum, grid, axis=1), 1, 1, False, fill)
        grid = _shift(lax.associative_scan(jnp.maximum, grid, axis=2, reverse=True), 1, 2, True, fill)
        out = jnp.maximum(out, grid[rows, a // block, b // block])
    return out


def _hv3_kernel(pts: Array, ref: Array) -> Array:
    """Exact 3-D hypervolume of `pts: [n, 3]`, every row either strictly above `ref` or equal
    to it. The HV3D sweep in decreasing z, with every staircase query answered at once:

    `V = sum_s (y_s - r_y) [(x_s - x_u(s)) Z(s) - (x_s - x_last(s)) Z(death(s))]
         - sum_q (y_w(q) - r_y) (x_q - x_prev(q)) Z(q)`

    over the points `s` and `q` that enter the (x, y) staircase (not weakly dominated by an
    earlier point), where `Z(p) = z_p - r_z` (0 after the last point); `u(s)`: the left
    neighbour at insertion (the earlier point furthest right among those higher in y);
    `death(s)`: the first later point dominating `s` in (x, y); `w(q)`: the right neighbour of
    `q` at insertion (the earlier point highest among those further right), whose left
    neighbour becomes `q`; `x_prev(q)`: the left neighbour of `w(q)` before that (the previous
    such event of `w(q)`, or `u(w(q))`); `x_last(s)`: the left neighbour of `s` at its death.
    It is the area of the staircase, `sum_s (y_s - r_y) (x_s - x_left(s))`, integrated over z
    (summation by parts). The three dominance queries are `_dominance_max`; the events are
    grouped by one integer sort."""
    n = pts.shape[0]
    rank, order = _ranks(pts)
    g = rank[:, order]  # g[k, o]: rank of kind k of the points listed in order o
    (_, xr_t, yr_t), (t_x, _, yr_x), (t_y, xr_y, _) = g[:, 0], g[:, 1], g[:, 2]
    c = pts[order]  # [order, n, 3]
    x, y, z = c[0, :, 0], c[0, :, 1], c[0, :, 2]  # in time order from here on
    x_of_xr, y_of_yr = c[1, :, 0], c[2, :, 1]
    time = jnp.arange(n, dtype=jnp.int32)
    block = _block(n)
    # right neighbour (its y-rank), left neighbour (its x-rank), -(death time)
    w_yr, u_xr, neg_death = _dominance_max(
        jnp.stack([xr_t, yr_t, yr_x[::-1]]), jnp.stack([yr_t, xr_t, -t_x[::-1]]),
        jnp.stack([t_x, t_y, n - 1 - xr_y]), jnp.stack([yr_x, xr_y, -t_y]),
        jnp.stack([time, time, n - 1 - xr_t]), jnp.stack([xr_t, yr_t, yr_t]),
        jnp.array([-1, -1, -n], jnp.int32), block,
    )
    enters = (w_yr < 0) | (y_of_yr[jnp.maximum(w_yr, 0)] < y)
    has_w = enters & (w_yr >= 0)
    x_u = jnp.where(u_xr >= 0, x_of_xr[jnp.maximum(u_xr, 0)], ref[0])
    zp = jnp.append(z - ref[2], 0)
    height = y - ref[1]
    # events (time of w, time of q), grouped by w in time order
    tw = jnp.where(has_w, t_y[jnp.maximum(w_yr, 0)], n)
    eq = _lex_sorted_last(tw[None], time[None])[0]
    ew = jnp.where(has_w, t_y[jnp.maximum(w_yr, 0)], n)[eq]
    real = ew < n
    ew = jnp.minimum(ew, n - 1)
    xq = x[eq]
    x_prev = jnp.where(
        jnp.concatenate([jnp.zeros(1, bool), ew[1:] == ew[:-1]]), jnp.concatenate([xq[:1], xq[:-1]]), x_u[ew]
    )
    w_terms = jnp.where(real, height[ew] * (xq - x_prev) * zp[eq], 0)
    last = real & jnp.concatenate([ew[1:] != ew[:-1], jnp.ones(1, bool)])
    x_last = x_u.at[jnp.where(last, ew, n)].set(xq, mode="drop")
    own = jnp.where(enters, height * ((x - x_u) * zp[:n] - (x - x_last) * zp[-neg_death]), 0)
    return jnp.sum(own) - jnp.sum(w_terms)


def hypervolume_3d(points: Array, ref: Array, valid: Array | None = None) -> Array:
    """Exact 3-D hypervolume of `points: [n, 3]` above `ref: [3]`: a scalar. Jittable,
    vmappable; `n <= 65536` (static). `O(n log n)` sorts plus `O(n^1.5)` vectorised work.

    For `n >= 256`, points dominated by one of 32 anchors (the best coordinate sum in each of
    32 index blocks) are dropped first; when at most `n // 8` remain, the kernel runs on a
    compacted `n // 8` buffer (`lax.cond`; under `vmap` both branches run)."""
    points, ref = jnp.asarray(points), jnp.asarray(ref, jnp.asarray(points).dtype)
    n = points.shape[0]
    if n > MAX_POINTS_3D:
        raise ValueError(f"hypervolume_3d handles at most {MAX_POINTS_3D} points, got {n}; use hypervolume_host")
    if n == 0:
        return jnp.zeros((), points.dtype)
    ok = _contributing(points, ref, valid)
    pts = jnp.where(ok[:, None], points, ref)
    if n < 256:
        return _hv3_kernel(pts, ref)
    per = -(-n // _ANCHORS)
    score = jnp.pad(jnp.where(ok, jnp.sum(pts - ref, axis=1), -1), (0, per * _ANCHORS - n), constant_values=-1)
    best = jnp.minimum(jnp.argmax(score.reshape(_ANCHORS, per), axis=1) + per * jnp.arange(_ANCHORS), n - 1)
    anchors = pts[best]
    dominated = jnp.all(anchors[None] >= pts[:, None], -1) & jnp.any(anchors[None] > pts[:, None], -1)
    keep = ok & ~jnp.any(dominated, axis=1)
    small = n // 8

    def compacted(pts: Array) -> Array:
        idx = jnp.nonzero(keep, size=small, fill_value=0)[0]
        return _hv3_kernel(jnp.where((jnp.arange(small) < jnp.sum(keep))[:, None], pts[idx], ref), ref)

    return lax.cond(jnp.sum(keep) <= small, compacted, lambda pts: _hv3_kernel(pts, ref), pts)


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
