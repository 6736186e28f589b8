"""orbax-checkpoint save / restore of a whole training state plus host counters.

A checkpoint at step `k` (the chunk index) holds `state` (any pytree of arrays: params,
optimiser states, archive, buffers, RNG keys, counters) and `meta` (a JSON dict of host
counters: chunk, env steps, elapsed wall time). orbax writes each checkpoint into a
temporary folder and renames it when complete, so a killed process leaves either the
previous checkpoints or a finished new one; `latest_step` never returns a torn one.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import jax
import orbax.checkpoint as ocp


class Checkpointer:
    """Keeps the last `keep` checkpoints under `directory`.

    Saves are asynchronous by default (the arrays are copied to host memory, the write
    happens on a background thread); `wait()` blocks until the last one is on disk.
    A writer removes the temporary folders a killed process left; `read_only=True` (for
    readers such as `morl eval`, which may run beside the training) touches nothing.
    """

    def __init__(self, directory: str | Path, keep: int = 2, asynchronous: bool = True, read_only: bool = False):
        absl = logging.getLogger("absl")
        level = absl.level
        absl.setLevel(logging.ERROR)  # orbax warns about the options read_only implies
        try:
            options = ocp.CheckpointManagerOptions(
                max_to_keep=keep,
                create=not read_only,
                read_only=read_only,
                enable_async_checkpointing=asynchronous,
                cleanup_tmp_directories=not read_only,
            )
            self._directory = Path(directory).absolute()
            self._read_only = read_only
            self._manager = ocp.CheckpointManager(self._directory, options=options)
        finally:
            absl.setLevel(level)

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def all_steps(self) -> list[int]:
        return list(self._manager.all_steps())

    def save(self, step: int, state: Any, meta: dict[str, Any]) -> None:
        args = ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta))
        self._manager.save(step, args=args, force=True)

    def restore(self, step: int, like: Any) -> tuple[Any, dict[str, Any]]:
        """`(state, meta)` of checkpoint `step`; `like` is a state (or `jax.eval_shape` of
        one) with the structure, shapes and dtypes to restore into."""
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
        args = ocp.args.Composite(state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore())
        restored = self._manager.restore(step, args=args)
        return restored.state, dict(restored.meta)

    def restore_latest(self, like: Any, set_aside: bool = True) -> tuple[int | None, Any, dict[str, Any], list[str]]:
        """`(step, state, meta, notes)` of the newest checkpoint that restores; `step` is
        None (state and meta too) when none does. A checkpoint that fails to restore
        (truncated or garbled files) is skipped; a writer moves it out of the way, to
        `<directory>.corrupt/<step>`, so the next save of that step starts clean (unless
        `set_aside` is false: multi-host, only process 0 moves folders). `notes` says,
        one line each, what was skipped."""
        notes: list[str] = []
        for step in sorted(self.all_steps(), reverse=True):
            try:
                state, meta = self.restore(step, like)
                int(meta["chunk"]), float(meta["wall_time"])  # the counters the loop reads
            except Exception as err:  # orbax / tensorstore / JSON errors of a damaged checkpoint
                reason = " ".join(str(err).split())[:160] or type(err).__name__
                where = self._set_aside(step) if set_aside else ""
                notes.append(f"checkpoint {step} is unreadable ({type(err).__name__}: {reason}){where}")
                continue
            return step, state, meta, notes
        return None, None, {}, notes

    def _set_aside(self, step: int) -> str:
        if self._read_only:
            return ""
        folder = self._directory / str(step)
        target = self._directory.with_name(f"{self._directory.name}.corrupt") / str(step)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(folder, target)
        self._manager.reload()
        return f"; moved to {target}"

    def wait(self) -> None:
        self._manager.wait_until_finished()

    def close(self) -> None:
        self._manager.wait_until_finished()
        self._manager.close()
