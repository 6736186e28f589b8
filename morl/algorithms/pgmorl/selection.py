"""PGMORL's task selection (Xu et al. 2020, Algorithm 2): host numpy.

Candidates are (buffered policy, weight) pairs: for every such policy, up to
`num_weight_candidates` weights within 45 degrees of the weight it was last trained on
(two objectives: evenly spaced angles; more: its own weight, then random points of a
simplex lattice of step `delta_weight / 2`), skipping weights its node was already trained
on. Each candidate's predicted returns come from `prediction.predict`. The greedy step
picks the candidate that maximises `HV(P + {p}) - alpha * SP(P + {p})` of the virtual
front `P` (the archive, then the archive with the picks' predictions), `n` times.
"""

from __future__ import annotations

from typing import NamedTuple

import moocore
import numpy as np

from morl.algorithms.pgmorl.prediction import OptGraph, predict
from morl.decomposition.weights import simplex_lattice

DUPLICATE = 1e-3  # weights closer than this count as the same task


class Candidates(NamedTuple):
    """`member [C]` buffer rows, `weights [C, m]` on the simplex, `predicted [C, m]`."""

    member: np.ndarray
    weights: np.ndarray
    predicted: np.ndarray


def candidate_weights(
    center: np.ndarray, tried: np.ndarray, num: int, delta_weight: float, rng: np.random.Generator
) -> np.ndarray:
    """Weights `[k <= num, m]` (simplex) around `center [m]`, none within `DUPLICATE` of a
    row of `tried [t, m]` (compared on the unit circle for two objectives, on the simplex
    for more)."""
    center = np.asarray(center, np.float64)
    m = center.shape[0]
    if m == 2:
        unit = center / np.linalg.norm(center)
        tried_unit = tried / np.linalg.norm(tried, axis=1, keepdims=True) if len(tried) else tried
        angle = np.arctan2(unit[1], unit[0])
        out = []
        for a in np.linspace(angle - np.pi / 4, angle + np.pi / 4, num):
            w = np.array([np.cos(a), np.sin(a)])
            if np.all(w >= -1e-7) and not any(np.linalg.norm(t - w) < DUPLICATE for t in tried_unit):
                w = np.maximum(w, 0.0)
                out.append(w / w.sum())
        return np.asarray(out, np.float64).reshape(-1, 2)
    center = center / center.sum()
    tried = tried / tried.sum(axis=1, keepdims=True) if len(tried) else tried
    fresh = lambda w: not any(np.linalg.norm(t - w) < DUPLICATE for t in tried)
    out = [center] if fresh(center) else []
    lattice = simplex_lattice(m, max(1, round(2.0 / delta_weight)))
    for w in lattice[rng.permutation(len(lattice))]:
        if len(out) >= num:
            break
        if np.linalg.norm(w - center) < DUPLICATE:
            continue
        cos = np.dot(center, w) / np.linalg.norm(center) / np.linalg.norm(w)
        if np.arccos(np.clip(cos, -1.0, 1.0)) < np.pi / 4 and fresh(w):
            out.append(w)
    return np.asarray(out, np.float64).reshape(-1, m)


def candidates(
    graph: OptGraph, nodes: np.ndarray, num_weights: int, delta_weight: float, rng: np.random.Generator,
    cache: dict | None = None,
) -> Candidates:
    """Every buffered policy's candidate tasks; `nodes [K]` their graph nodes; `cache` of
    the prediction fits (`prediction.predict`)."""
    member, weights, predicted = [], [], []
    for row, node in enumerate(nodes):
        tried = graph.weights[graph.successors(int(node))]
        ws = candidate_weights(graph.weights[node], tried, num_weights, delta_weight, rng)
        if len(ws) == 0:
            continue
        member.extend([row] * len(ws))
        weights.append(ws)
        predicted.append(predict(graph, int(node), ws, cache))
    m = graph.returns.shape[1]
    if not member:
        return Candidates(np.zeros(0, np.int64), np.zeros((0, m)), np.zeros((0, m)))
    return Candidates(np.asarray(member), np.concatenate(weights), np.concatenate(predicted))


def front_of(points: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The non-dominated rows of `points` that strictly dominate `ref`, sorted by objective 0."""
    points = np.asarray(points, np.float64).reshape(-1, len(ref))
    points = points[np.all(points > ref, axis=1)]
    if len(points) == 0:
        return points
    points = points[moocore.is_nondominated(points, maximise=True)]
    return points[np.argsort(points[:, 0], kind="stable")]


def front_value(front: np.ndarray, ref: np.ndarray, alpha: float) -> float:
    """`HV(front) - alpha * SP(front)` (PGMORL's sparsity; 0 for fewer than 2 points)."""
    if len(front) == 0:
        return 0.0
    hv = float(moocore.hypervolume(-front, ref=-np.asarray(ref, np.float64)))
    if len(front) < 2:
        return hv
    gaps = np.diff(np.sort(front, axis=0), axis=0)
    return hv - alpha * float(np.sum(gaps**2) / (len(front) - 1))


def _with(front: np.ndarray, point: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """`front_of(front + {point})` for a front `front` (no full filter needed)."""
    if not np.all(point > ref) or np.any(np.all(front >= point, axis=1)):
        return front
    kept = front[~np.all(point >= front, axis=1)]
    out = np.concatenate([kept, point[None]])
    return out[np.argsort(out[:, 0], kind="stable")]


def greedy_select(front: np.ndarray, predicted: np.ndarray, n: int, ref: np.ndarray, alpha: float) -> list[int]:
    """Algorithm 2's greedy loop: up to `n` distinct rows of `predicted [C, m]`, each the
    first maximiser of `front_value` of the virtual front with it added; the virtual front
    `front` (the archive's points) then takes the pick's prediction."""
    ref = np.asarray(ref, np.float64)
    virtual = front_of(front, ref)
    available = np.ones(len(predicted), bool)
    picks: list[int] = []
    for _ in range(min(n, len(predicted))):
        scores = np.full(len(predicted), -np.inf)
        for i in np.flatnonzero(available):
            scores[i] = front_value(_with(virtual, predicted[i], ref), ref, alpha)
        best = int(np.argmax(scores))
        picks.append(best)
        available[best] = False
        virtual = _with(virtual, predicted[best], ref)
    return picks
