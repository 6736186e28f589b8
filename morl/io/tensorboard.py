"""TensorBoard scalars without TensorFlow (tensorboardX writes the event protobufs).

`tensorboard --logdir runs/` reads them. The step axis is environment steps. On resume,
`purge_step` tells TensorBoard to drop events at or after it that an interrupted run had
logged beyond its last checkpoint, so curves do not double back.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np


class ScalarWriter:
    """Writes `{tag: float}` at a step to one event file under `logdir`."""

    def __init__(self, logdir: str | Path, purge_step: int | None = None, flush_secs: int = 30):
        from tensorboardX import SummaryWriter

        # a unique suffix: two writers opened within one second (a quick resume) would
        # otherwise share tensorboardX's `events.out.tfevents.<seconds>.<host>` name
        suffix = f".{os.getpid()}.{time.time_ns()}"
        self._writer = SummaryWriter(
            logdir=str(logdir), purge_step=purge_step, flush_secs=flush_secs, filename_suffix=suffix
        )

    def scalars(self, step: int, values: Mapping[str, float]) -> None:
        for tag, value in values.items():
            value = float(value)
            if np.isfinite(value):
                self._writer.add_scalar(tag, value, global_step=int(step))

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
