"""The contract every multi-policy algorithm (MORL/D, C-MORL, ...) offers the workflow.

The workflow (`morl train`, checkpoints, logging, sweeps) only sees this interface:

    trainer = algorithm.make_trainer(config)      # validates config, builds env and nets
    state = trainer.init(jax.random.key(seed))      # whole training state: one pytree
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)   # jitted; many iterations in lax.scan
        front = trainer.front(state)                # host numpy view of the archive

`state` is a pytree of arrays (params, optimiser states, archive, buffers, RNG, shaping
state, counters) so orbax can checkpoint it and a resumed run continues bit for bit.
`run_chunk` is compiled once; chunk size is fixed by the config so shapes never change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class Front:
    """The archive as host arrays. `returns: [n, m]` (maximised; the evaluation returns the
    config names: discounted or not), `weights: [n, m]` simplex weights of the members that
    produced them, `member: [n]` int ids to restore the policy with `Trainer.policy`."""

    returns: np.ndarray
    weights: np.ndarray
    member: np.ndarray


class Trainer(Protocol):
    config: Any
    env: Any  # morl.envs.Environment
    env_steps_per_chunk: int

    def init(self, key: Any) -> Any: ...

    def run_chunk(self, state: Any) -> tuple[Any, dict[str, Any]]:
        """Advance training by one chunk. `metrics` holds arrays (per-member returns
        `[pop, m]` under "member_returns", losses...), already on the host or device."""

    def done(self, state: Any) -> bool: ...

    def env_steps(self, state: Any) -> int: ...

    def front(self, state: Any) -> Front: ...

    def policy(self, state: Any, member: int) -> Any:
        """A callable `act(obs, key) -> action` (deterministic) for one archive member."""
