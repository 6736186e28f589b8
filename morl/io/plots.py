"""Pareto-front and learning-curve figures (matplotlib, no pyplot state; PNG and PDF).

- `front_figure`: 2 objectives -> scatter; 3 -> 3-D scatter; more -> pairwise scatter
  matrix. `parallel_figure`: parallel coordinates (any m). The true front, when given,
  is drawn beside as a grey outline.
- `curves_figure`: indicator(s) against env steps, one line per label with the mean over
  its seeds and a band of +-1 standard deviation (none for a single seed).
- `plot_runs(run_dirs, out)`: what `morl plot` draws from run directories.
Objectives are maximised; axis `j` shows objective `j` of the returns.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

Series = tuple[str, np.ndarray]  # (label, returns [n, m])

_TRUE_STYLE = dict(facecolors="none", edgecolors="0.55", s=70, linewidths=1.0, label="true front")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")  # fronts that coincide stay visible


def front_figure(
    series: Sequence[Series],
    true_front: np.ndarray | None = None,
    title: str = "",
    members: Sequence[np.ndarray] | None = None,
) -> Figure:
    """The fronts in `series` (each `[n, m]`, same m) on one figure. `members` (one `[n]`
    int array per series): archive member ids written beside 2- and 3-objective points,
    the K of `morl render RUN --point K` (fronts of up to 60 points)."""
    m = _num_objectives(series, true_front)
    if m == 2:
        figure = Figure(figsize=(5.5, 4.5), layout="constrained")
        ax = figure.add_subplot()
        if true_front is not None:
            ax.scatter(true_front[:, 0], true_front[:, 1], **_TRUE_STYLE)
        for i, (label, points) in enumerate(series):
            marker = _MARKERS[i % len(_MARKERS)]
            ax.scatter(points[:, 0], points[:, 1], s=22, marker=marker, alpha=0.8, label=f"{label} ({len(points)})")
            _label_members(ax, points, members, i)
        ax.set_xlabel("objective 0")
        ax.set_ylabel("objective 1")
        ax.legend(fontsize=8)
    elif m == 3:
        figure = Figure(figsize=(6, 5.5), layout="constrained")
        ax = figure.add_subplot(projection="3d")
        if true_front is not None:
            ax.scatter(*true_front.T, **_TRUE_STYLE)
        for i, (label, points) in enumerate(series):
            marker = _MARKERS[i % len(_MARKERS)]
            xyz = np.asarray(points).reshape(-1, 3).T
            ax.scatter(*xyz, s=22, marker=marker, alpha=0.8, label=f"{label} ({len(points)})")
            _label_members(ax, points, members, i)
        ax.set_xlabel("objective 0")
        ax.set_ylabel("objective 1")
        ax.set_zlabel("objective 2")
        ax.legend(fontsize=8)
    else:
        figure = Figure(figsize=(2.1 * m, 2.1 * m), layout="constrained")
        axes = figure.subplots(m, m, squeeze=False)
        for i in range(m):
            for j in range(m):
                ax = axes[i, j]
                if i == j:
                    ax.text(0.5, 0.5, f"objective {i}", ha="center", va="center", transform=ax.transAxes)
                    ax.set_xticks([])
                    ax.set_yticks([])
                    continue
                if true_front is not None:
                    ax.scatter(true_front[:, j], true_front[:, i], **{**_TRUE_STYLE, "s": 30})
                for label, points in series:
                    ax.scatter(points[:, j], points[:, i], s=8, label=label)
                ax.tick_params(labelsize=6)
        handles, labels = axes[0, 1].get_legend_handles_labels()
        figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), fontsize=8)
    if title:
        figure.suptitle(title)
    return figure


def _label_members(ax: Any, points: np.ndarray, members: Sequence[np.ndarray] | None, index: int) -> None:
    if members is None or len(points) > 60:
        return
    for point, member in zip(np.asarray(points), np.asarray(members[index])):
        if len(point) == 2:
            ax.annotate(str(int(member)), point, fontsize=7, xytext=(3, 3), textcoords="offset points")
        else:
            ax.text(*point, str(int(member)), fontsize=7)


def parallel_figure(series: Sequence[Series], true_front: np.ndarray | None = None, title: str = "") -> Figure:
    """Parallel coordinates: one polyline per point, each axis scaled to [0, 1] over all
    points drawn (the true front included)."""
    m = _num_objectives(series, true_front)
    stacked = [np.asarray(p, float).reshape(-1, m) for _, p in series]
    if true_front is not None:
        stacked.append(np.asarray(true_front, float))
    everything = np.concatenate(stacked) if stacked else np.zeros((0, m))
    low = everything.min(axis=0) if len(everything) else np.zeros(m)
    span = np.where(np.ptp(everything, axis=0) > 0, np.ptp(everything, axis=0), 1.0) if len(everything) else np.ones(m)
    figure = Figure(figsize=(max(5.0, 1.1 * m), 4), layout="constrained")
    ax = figure.add_subplot()
    x = np.arange(m)
    if true_front is not None:
        for k, point in enumerate(true_front):
            ax.plot(x, (point - low) / span, color="0.7", lw=1, label="true front" if k == 0 else None)
    colors = [f"C{i % 10}" for i in range(len(series))]
    for (label, points), color in zip(series, colors):
        for k, point in enumerate(np.asarray(points, float).reshape(-1, m)):
            ax.plot(x, (point - low) / span, color=color, lw=1, alpha=0.7, label=label if k == 0 else None)
    ax.set_xticks(x, [f"obj {j}" for j in range(m)])
    ax.set_ylabel("scaled return")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return figure


def curves_figure(
    curves: Sequence[tuple[str, Sequence[tuple[np.ndarray, Mapping[str, np.ndarray]]]]],
    indicators: Sequence[str] = ("hypervolume", "expected_utility"),
) -> Figure:
    """Learning curves. `curves`: `(label, [(env_steps [k], {indicator: values [k]}) per
    seed])`. Seeds are interpolated onto the union of their steps (inside the common
    range); the line is the mean, the band +-1 standard deviation."""
    figure = Figure(figsize=(5.0 * len(indicators), 3.8), layout="constrained")
    axes = figure.subplots(1, len(indicators), squeeze=False)[0]
    for ax, name in zip(axes, indicators):
        for label, seeds in curves:
            steps, mean, std = mean_and_spread([(s, v[name]) for s, v in seeds if name in v])
            if steps.size == 0:
                continue
            (line,) = ax.plot(steps, mean, label=f"{label} (n={len(seeds)})")
            if len(seeds) > 1:
                ax.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.25)
        ax.set_xlabel("environment steps")
        ax.set_ylabel(name.replace("_", " "))
        ax.legend(fontsize=8)
    return figure


def trials_figure(objectives: Sequence[str], trials: Sequence[Any], best: set[int]) -> Figure:
    """Sweep trials (Optuna `FrozenTrial`s with values). One objective: value per trial
    and the best so far. Several: the first two objectives, the Pareto-optimal trials
    (`best`) highlighted and labelled with their numbers."""
    values = np.array([t.values for t in trials], float)
    numbers = [t.number for t in trials]
    figure = Figure(figsize=(5.5, 4.5), layout="constrained")
    ax = figure.add_subplot()
    if len(objectives) == 1:
        order = np.argsort(numbers)
        ax.plot(np.array(numbers)[order], values[order, 0], "o", label="trial")
        ax.plot(np.array(numbers)[order], np.maximum.accumulate(values[order, 0]), "-", label="best so far")
        ax.set_xlabel("trial")
        ax.set_ylabel(objectives[0].replace("_", " "))
    else:
        on_front = np.array([n in best for n in numbers])
        ax.scatter(values[~on_front, 0], values[~on_front, 1], c="0.6", s=18, label="trial")
        ax.scatter(values[on_front, 0], values[on_front, 1], c="C3", s=30, label="Pareto-optimal trial")
        for n, v, b in zip(numbers, values, on_front):
            if b:
                ax.annotate(str(n), v[:2], fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel(objectives[0].replace("_", " "))
        ax.set_ylabel(objectives[1].replace("_", " "))
    ax.legend(fontsize=8)
    return figure


def mean_and_spread(seeds: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(steps, mean, std)` of several `(steps, values)` series (finite values only)."""
    clean = []
    for steps, values in seeds:
        steps, values = np.asarray(steps, float), np.asarray(values, float)
        keep = np.isfinite(values)
        if keep.any():
            clean.append((steps[keep], values[keep]))
    if not clean:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    start = max(s[0] for s, _ in clean)
    stop = min(s[-1] for s, _ in clean)
    grid = np.unique(np.concatenate([s for s, _ in clean]))
    grid = grid[(grid >= start) & (grid <= stop)]
    stacked = np.stack([np.interp(grid, s, v) for s, v in clean])
    return grid, stacked.mean(axis=0), stacked.std(axis=0)


def save(figure: Figure, path: str | Path, formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    """Write `figure` as `path` with each suffix in `formats` (atomically). Returns paths."""
    from morl.io.rundir import atomic_write

    path = Path(path)
    written = []
    for fmt in formats:
        target = path.with_suffix(f".{fmt}")
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt, dpi=120)  # constrained layout: no second "tight" pass
        atomic_write(target, buffer.getvalue())
        written.append(target)
    return written


def plot_runs(run_dirs: Sequence[str | Path], out: str | Path) -> list[Path]:
    """Fronts and learning curves of run directories on shared figures.

    Runs whose configs differ only in their seed share a label (their directory names
    joined) and one curve with mean and spread. Writes `<out>` (fronts), `<out>_curves`
    and, for more than 3 objectives, `<out>_parallel`, each as PNG and PDF.
    """
    from morl.io.results import load_run

    records = [record for d in run_dirs for record in load_run(d)]
    dims = sorted({r.num_objectives for r in records})
    if len(dims) != 1:
        raise ValueError(f"runs have different numbers of objectives {dims}; plot them separately")
    labels: dict[str, list[str]] = {}
    for r in records:
        labels.setdefault(r.group_key, [])
        if r.name not in labels[r.group_key]:
            labels[r.group_key].append(r.name)
    label = {key: "+".join(names) for key, names in labels.items()}
    many_seeds = len(records) > len(labels)
    series = [(label[r.group_key] + (f" s{r.seed}" if many_seeds else ""), r.front) for r in records]
    true_front = next((r.true_front for r in records if r.true_front is not None), None)
    title = ", ".join(sorted({r.env for r in records}))
    out = Path(out)
    written = save(front_figure(series, true_front, title=title), out)
    curves = [(label[key], [(r.steps, r.indicators) for r in records if r.group_key == key]) for key in labels]
    written += save(curves_figure(curves), out.with_name(out.stem + "_curves"))
    if dims[0] > 3:
        written += save(parallel_figure(series, true_front, title=title), out.with_name(out.stem + "_parallel"))
    return written


def _num_objectives(series: Sequence[Series], true_front: np.ndarray | None) -> int:
    dims = {np.asarray(p).shape[-1] for _, p in series if np.asarray(p).ndim == 2}
    if true_front is not None:
        dims.add(np.asarray(true_front).shape[-1])
    if len(dims) != 1:
        raise ValueError(f"fronts have different numbers of objectives {sorted(dims)}")
    return dims.pop()


def close(figure: Figure) -> None:
    figure.clear()
