"""The run directory and its atomic writes.

Layout of `runs/NAME/`:

    config.yaml     the fully resolved `Experiment` (what `--resume` compares against)
    metrics.csv     one row per run and logged chunk (see `morl.train_loop.METRIC_COLUMNS`);
                    rewritten every `log.metrics_flush_s` seconds, before each checkpoint
                    and at the end (a resume recomputes the rows after its checkpoint)
    front.csv       the final archives: run, seed, member, weight_*, return_*
    summary.json    final metrics, timings and paths
    front.png       the final fronts (beside the true front when the env knows it)
    tb/             TensorBoard event files (tb/run<i>/ when several runs share a program)
    checkpoints/    orbax checkpoints, one folder per chunk index

Every file except the TensorBoard events and orbax's own folders is written whole to a
temporary file in the same directory, fsync'ed, then `os.replace`d over the target: a
reader (or a run killed at any instant) sees the old file or the new one, never a
truncated one. orbax finalises a checkpoint by renaming its folder; TensorBoard events
are CRC-framed records, and readers skip a torn last record.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

CONFIG = "config.yaml"
METRICS = "metrics.csv"
FRONT = "front.csv"
SUMMARY = "summary.json"
FRONT_PLOT = "front.png"
TENSORBOARD = "tb"
CHECKPOINTS = "checkpoints"


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Replace `path` with `data` atomically (tmp file + fsync + `os.replace` + dir fsync)."""
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def csv_text(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """A CSV document; missing cells are empty, floats keep full precision (repr)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value)
    return value


def read_csv(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class MetricsLog:
    """`metrics.csv` kept in memory and rewritten atomically on `flush`.

    Columns are fixed by the first row (later rows may leave cells empty). Rewriting the
    whole file costs O(rows) per flush, microseconds per row, and guarantees that the
    file on disk always ends with a complete row.
    """

    def __init__(self, path: str | Path, rows: Sequence[Mapping[str, Any]] = (), columns: Sequence[str] = ()):
        self.path = Path(path)
        self.rows: list[dict[str, Any]] = [dict(r) for r in rows]
        self.columns: list[str] = list(columns)

    @classmethod
    def resume(cls, path: str | Path, keep: Any) -> MetricsLog:
        """Reload an existing log keeping only the rows for which `keep(row)` is true."""
        path = Path(path)
        if not path.exists():
            return cls(path)
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            rows = [r for r in reader if keep(r)]
            columns = list(reader.fieldnames or [])
        return cls(path, rows, columns)

    def append(self, rows: Sequence[Mapping[str, Any]]) -> None:
        for row in rows:
            if not self.columns:
                self.columns = list(row)
            unknown = [k for k in row if k not in self.columns]
            if unknown:
                raise ValueError(f"{self.path.name}: row has columns {unknown} that the header lacks")
            self.rows.append(dict(row))

    def flush(self) -> None:
        if self.columns:
            atomic_write(self.path, csv_text(self.columns, self.rows))


def write_json(path: str | Path, data: Any) -> None:
    atomic_write(path, json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def prepare(path: str | Path, *, resume: bool, overwrite: bool) -> Path:
    """Check (without writing) that `path` can hold a new run, or a run to resume.

    New run: the directory must not exist or be empty, unless `overwrite`.
    Resume: it must hold a `config.yaml`.
    """
    path = Path(path)
    if resume:
        if not (path / CONFIG).is_file():
            raise FileNotFoundError(f"cannot resume '{path}': no {CONFIG} there")
        return path
    if path.exists() and any(path.iterdir()) and not overwrite:
        raise FileExistsError(
            f"run directory '{path}' already exists; pass --resume to continue it or --overwrite to replace it"
        )
    return path


def create(path: str | Path, *, overwrite: bool) -> Path:
    """Make an empty run directory (removing an old one when `overwrite`)."""
    path = Path(path)
    if overwrite and path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path
