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
import glob
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


def read_csv(path: str | Path, required: Sequence[str] = ()) -> list[dict[str, str]]:
    """The rows of a CSV file with a header. A damaged file (unreadable, no header, a
    `required` column missing, a row with more or fewer cells than the header) is a
    one-line `ValueError` naming the file and line."""
    path = Path(path)
    rows, lines = [], []
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            for row in reader:
                rows.append(row)
                lines.append(reader.line_num)
            header = reader.fieldnames
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"'{path}' cannot be read as CSV: {err}") from None
    if not header:
        raise ValueError(f"'{path}' is empty: no CSV header")
    missing = [c for c in required if c not in header]
    if missing:
        raise ValueError(f"'{path}' lacks column(s) {', '.join(missing)} (damaged or not written by morl?)")
    for row, line in zip(rows, lines):
        if None in row or None in row.values():
            raise ValueError(f"'{path}' line {line} does not match the header's {len(header)} cells (damaged file?)")
    return rows


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
    def reconcile(cls, path: str | Path, chunk: int, runs: int, every: int) -> tuple[MetricsLog, list[str]]:
        """Reload the log of a run resumed from its checkpoint after chunk `chunk`: rows
        up to `chunk` are kept, rows after it dropped (the resumed run computes them
        again). Returns the log and one line per change: rows dropped after the
        checkpoint, torn or unreadable rows dropped, and rows that should exist up to the
        checkpoint (`runs` rows every `every` chunks) but do not (a damaged file; they
        cannot be recomputed)."""
        path = Path(path)
        notes: list[str] = []
        if not path.exists():
            return cls(path), notes
        try:
            with open(path, newline="") as f:
                table = list(csv.reader(f))
        except (OSError, UnicodeDecodeError, csv.Error) as err:
            raise ValueError(f"'{path}' cannot be read as CSV: {err}") from None
        header = table[0] if table else []
        if "chunk" not in header or "run" not in header:
            notes.append(f"{path.name} has no valid header; its rows are dropped")
            return cls(path), notes
        rows, torn, later = [], 0, 0
        for cells in table[1:]:
            row = dict(zip(header, cells))
            if len(cells) != len(header) or not (row["chunk"].isdigit() and row["run"].isdigit()):
                torn += 1
            elif int(row["chunk"]) > chunk:
                later += 1
            else:
                rows.append(row)
        if later:
            notes.append(f"{path.name}: dropped {later} row(s) after the checkpoint at chunk {chunk} (recomputed now)")
        if torn:
            notes.append(f"{path.name}: dropped {torn} torn or unreadable row(s)")
        expected = {(c, r) for c in range(every, chunk + 1, every) for r in range(runs)}
        lost = len(expected - {(int(row["chunk"]), int(row["run"])) for row in rows})
        if lost:
            notes.append(
                f"{path.name}: {lost} row(s) up to the checkpoint at chunk {chunk} are missing (damaged file?); "
                "they cannot be recomputed"
            )
        return cls(path, rows, header), notes

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

    New run: the directory must not exist or be empty, unless `overwrite`; its nearest
    existing ancestor must be a writable directory. Resume: it must hold a `config.yaml`.
    """
    if str(path).strip() == "":
        raise ValueError("run directory (--out) is empty; give a path such as runs/NAME")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"run directory '{path}' is a file, not a directory")
    if resume:
        if not (path / CONFIG).is_file():
            raise FileNotFoundError(f"cannot resume '{path}': no {CONFIG} there")
        _check_writable(path, path)
        return path
    if path.exists() and any(path.iterdir()) and not overwrite:
        raise FileExistsError(
            f"run directory '{path}' already exists; pass --resume to continue it or --overwrite to replace it"
        )
    ancestor = path.absolute()
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise NotADirectoryError(f"run directory '{path}': '{ancestor}' is a file, not a directory")
    _check_writable(path, ancestor)
    return path


def _check_writable(path: Path, directory: Path) -> None:
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(f"run directory '{path}': '{directory}' is not writable")


class RunLock:
    """An exclusive `fcntl.flock` on `.<name>.lock` beside the run directory `path`,
    held while a process writes the run (new, resumed or overwritten). The lock file
    lives outside the directory so that it also guards a directory that does not exist
    yet or is being replaced; the kernel releases the lock when the process exits, so a
    killed run never leaves a stale lock (only its file, which the next run reuses).
    A second writer gets a one-line `BlockingIOError` naming the holder's pid."""

    def __init__(self, path: str | Path):
        import fcntl

        path = Path(path).absolute()
        self.file = path.parent / f".{path.name}.lock"
        self.file.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise BlockingIOError(
                    f"run directory '{path}' is being written by another process (pid {holder}); "
                    "wait for it to finish or choose another --out"
                ) from None
            # a holder that released meanwhile unlinked the file we opened: lock the new one
            try:
                if os.stat(self.file).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        self._fd: int | None = fd
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        """Remove the lock file and release the lock (idempotent)."""
        if self._fd is not None:
            self.file.unlink(missing_ok=True)  # while still held: nobody locks the old file after this
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def create(path: str | Path, *, overwrite: bool) -> Path | None:
    """Make an empty run directory. With `overwrite`, an existing non-empty one is moved
    aside (renamed to a hidden sibling, same file system) rather than removed: `discard`
    deletes it once the new run has compiled and trained a chunk, `restore` puts it
    back if the new run fails or is interrupted before that. Returns the aside path, or
    None when nothing was moved."""
    path = Path(path)
    aside = None
    if overwrite and path.exists() and any(path.iterdir()):
        aside = path.with_name(f".{path.name}.replaced-{os.getpid()}")
        if aside.exists():
            shutil.rmtree(aside)
        os.replace(path, aside)
    path.mkdir(parents=True, exist_ok=True)
    return aside


def replaced(path: str | Path) -> list[Path]:
    """Runs that `create(overwrite=True)` moved aside for `path` and nobody restored or
    discarded (the new run's process was killed before its first chunk)."""
    path = Path(path)
    return sorted(path.parent.glob(f".{glob.escape(path.name)}.replaced-*")) if path.parent.is_dir() else []


def restore(path: str | Path, aside: Path | None, existed: bool) -> None:
    """Undo `create`: remove the new run at `path` and move the old one back (`aside`),
    or leave the empty directory that was there (`existed`), or nothing."""
    path = Path(path)
    shutil.rmtree(path, ignore_errors=True)
    if aside is not None:
        os.replace(aside, path)
    elif existed:
        path.mkdir()


def discard(aside: Path | None) -> None:
    """Delete the run `create(overwrite=True)` moved aside (the new run has taken over)."""
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
