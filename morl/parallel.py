"""Laying a trainer's state over several devices: one mesh axis, one split array axis.

A trainer's state is a pytree whose population leaves share a leading member axis (after
the run axis when several runs share the program). `Placement` splits ONE of those axes
over a 1-D device mesh (axis name `"devices"`) and replicates every other leaf; the
compiled chunk is `jax.jit` with those shardings in and out, so GSPMD partitions the
vmapped per-member work across devices and inserts the collectives the cross-member steps
need (archive insertion, PSA, neighbour transfer, crowding-distance selection gather the
population's returns and parameters). Which axis:

- the run axis, when the trainer has `num_runs` runs and `num_runs` is a multiple of the
  device count: the runs are independent, so nothing crosses devices;
- otherwise the population axis, when the population size is a multiple of the device
  count;
- otherwise a `ValueError` naming both sizes (no padding: a masked member would still cost
  a full member's compute, so a divisible population is always the better choice).

Sharding is a layout, never a change of the computation: a sharded run computes what the
one-device run computes, up to float reassociation in the collectives (tests/test_parallel.py
checks fronts and parameters against the one-device run). With `devices=1` nothing here is
used and the trainer jits exactly as before.

On CPU, JAX shows one device unless asked for more before its backend starts:
`request_cpu_devices(n)` (what `morl train --devices n` calls), or
`XLA_FLAGS=--xla_force_host_platform_device_count=n`. Several hosts: call
`initialize_distributed()` first on every host (see docs/scaling.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = "devices"


def request_cpu_devices(num_devices: int) -> None:
    """Ask JAX for `num_devices` CPU devices (the CPU backend's default is one).

    Must run before JAX starts its backends (the first array, `jax.devices()`, ...); later
    it raises a `RuntimeError` saying so unless enough devices already exist. Harmless on
    GPU/TPU hosts (it only sizes the CPU backend, which is not the default there)."""
    if num_devices < 1:
        raise ValueError(f"devices={num_devices} must be >= 1")
    if num_devices <= jax.config.jax_num_cpu_devices or "xla_force_host_platform_device_count" in os.environ.get(
        "XLA_FLAGS", ""
    ):
        return  # already asked for (the XLA flag wins; `placement` checks the count)
    try:
        jax.config.update("jax_num_cpu_devices", num_devices)
    except RuntimeError:  # backends already started
        if len(jax.devices()) < num_devices:
            raise RuntimeError(
                f"devices={num_devices}: JAX already started with {len(jax.devices())} device(s); ask before the "
                f"first JAX operation, or set XLA_FLAGS=--xla_force_host_platform_device_count={num_devices}"
            ) from None


def initialize_distributed(
    coordinator_address: str | None = None, num_processes: int | None = None, process_id: int | None = None
) -> None:
    """`jax.distributed.initialize` for a multi-host run; arguments left as None come from
    `JAX_COORDINATOR_ADDRESS`, `JAX_NUM_PROCESSES`, `JAX_PROCESS_ID` or the cluster's own
    variables (SLURM, Cloud TPU), as `jax.distributed` reads them. Call it first, on every
    host; afterwards `jax.devices()` lists every host's devices. On CPU the hosts exchange
    data through gloo."""
    env = os.environ
    address = coordinator_address or env.get("JAX_COORDINATOR_ADDRESS")
    count = num_processes if num_processes is not None else _int_env("JAX_NUM_PROCESSES")
    index = process_id if process_id is not None else _int_env("JAX_PROCESS_ID")
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=address, num_processes=count, process_id=index)
    global _distributed
    _distributed = True


def _int_env(name: str) -> int | None:
    value = os.environ.get(name)
    return None if value is None else int(value)


_distributed = False  # set by initialize_distributed


def process_index() -> int:
    """This process's index in a multi-host run; 0 otherwise (without starting the backend)."""
    return jax.process_index() if _distributed else 0


def process_count() -> int:
    """How many processes share the run; 1 unless `initialize_distributed` ran."""
    return jax.process_count() if _distributed else 1


def host_view(tree: Any) -> Any:
    """`tree` with every array the host can read: on one host, `tree` itself; in a
    multi-host run, arrays that span other processes' devices are gathered to every
    process (a collective: every process must call it at the same point). Random keys,
    which the host never reads, are left as they are."""
    if not _distributed:
        return tree
    from jax.experimental import multihost_utils

    def gather(x: Any) -> Any:
        if not isinstance(x, jax.Array) or x.is_fully_addressable or jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            return x
        return multihost_utils.process_allgather(x, tiled=True)

    return jax.tree_util.tree_map(gather, tree)


@dataclass(frozen=True)
class Placement:
    """Where a trainer's state lives: `mesh` (1-D, axis `"devices"`) and the array axis
    `axis` of length `size` that is split over it (see the module docstring); `what` names
    it for messages ("runs" or "population")."""

    mesh: Mesh
    axis: int
    size: int
    what: str

    @property
    def num_devices(self) -> int:
        return self.mesh.size

    def sharding(self, leaf: Any) -> NamedSharding:
        """The split axis sharded when `leaf` has it at `axis` with length `size`, else replicated."""
        shape = getattr(leaf, "shape", ())
        if len(shape) > self.axis and shape[self.axis] == self.size:
            return NamedSharding(self.mesh, PartitionSpec(*([None] * self.axis), AXIS))
        return NamedSharding(self.mesh, PartitionSpec())

    def shardings(self, tree: Any) -> Any:
        """A pytree of `NamedSharding` matching `tree` (arrays or `ShapeDtypeStruct`s)."""
        return jax.tree_util.tree_map(self.sharding, tree)


def jit_init(init: Callable[..., Any], layout: Placement | None) -> Callable[..., Any]:
    """`init(key, *args) -> state` jitted; with a `layout`, compiled to produce the state
    already laid out over its devices (nothing is built on one device first)."""
    if layout is None:
        return jax.jit(init)
    compiled: dict[str, Any] = {}

    def call(*args: Any) -> Any:
        if "fn" not in compiled:
            compiled["fn"] = jax.jit(init, out_shardings=layout.shardings(jax.eval_shape(init, *args)))
        return compiled["fn"](*args)

    return call


def jit_step(
    step: Callable[[Any], tuple[Any, Any]], layout: Placement | None, donate: bool = False
) -> Callable[[Any], tuple[Any, Any]]:
    """`step(state) -> (state, metrics)` jitted (donating the state when `donate`); with a
    `layout`, compiled with the state's layout in and out, so chunk after chunk reuses one
    executable, and metrics replicated. The input is laid out first, so a state restored
    from a checkpoint onto one device is moved into place."""
    if layout is None:
        return jax.jit(step, donate_argnums=(0,) if donate else ())
    compiled: dict[str, Any] = {}

    def call(state: Any) -> tuple[Any, Any]:
        if "fn" not in compiled:
            shardings = layout.shardings(state)
            compiled["shardings"] = shardings
            compiled["fn"] = jax.jit(
                step,
                in_shardings=(shardings,),
                out_shardings=(shardings, NamedSharding(layout.mesh, PartitionSpec())),
                donate_argnums=(0,) if donate else (),
            )
        return compiled["fn"](jax.tree_util.tree_map(_place, state, compiled["shardings"]))

    return call


def _place(x: Any, sharding: NamedSharding) -> Any:
    """`x` moved to `sharding` unless it is there already (a global array of a multi-host
    run cannot be `device_put` again)."""
    if isinstance(x, jax.Array) and x.sharding.is_equivalent_to(sharding, x.ndim):
        return x
    return jax.device_put(x, sharding)


def placement(devices: int | None, *, num_runs: int | None, population: int) -> Placement | None:
    """The `Placement` for a trainer with `num_runs` runs (None: one run, no run axis) of
    `population` members on the first `devices` devices; None for one device. Raises
    `ValueError` (before anything compiles) when there are fewer devices or no axis
    divides evenly."""
    if devices is None or devices == 1:
        return None
    if not isinstance(devices, (int, np.integer)) or devices < 1:
        raise ValueError(f"devices={devices!r} must be a positive int")
    available = jax.devices()
    if devices > len(available):
        hint = (
            f"; on CPU run `morl train --devices {devices}` or set "
            f"XLA_FLAGS=--xla_force_host_platform_device_count={devices} before starting Python"
            if available[0].platform == "cpu"
            else ""
        )
        raise ValueError(f"devices={devices} but JAX sees {len(available)} {available[0].platform} device(s){hint}")
    mesh = Mesh(np.asarray(available[:devices]), (AXIS,))
    if num_runs is not None and num_runs % devices == 0:
        return Placement(mesh, axis=0, size=num_runs, what="runs")
    if population % devices == 0:
        return Placement(mesh, axis=0 if num_runs is None else 1, size=population, what="population")
    runs = "" if num_runs is None else f" nor the number of runs ({num_runs})"
    raise ValueError(
        f"devices={devices} divides neither the population size ({population}){runs}; "
        f"choose a population that is a multiple of {devices}"
    )
