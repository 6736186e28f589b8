"""The loop `morl train` runs: build, init or restore, chunk, measure, log, checkpoint.

    experiment = morl.config.build(raw, overrides)
    job = prepare(experiment, "runs/NAME")        # validates everything, locks the run directory
    summary = run(job)                           # trains, writes the run directory

After each chunk the host reads `trainer.front(state, run)` and computes the Pareto
indicators with `morl.pareto` (hypervolume w.r.t. the config's reference point, expected
utility over `log.eu_weights` evenly spread weights, sparsity, cardinality, and IGD /
maximum utility loss against `env.pareto_front(eval_gamma)` where the env knows its
front). Randomness lives only in the state, so a run resumed from the checkpoint after
chunk k writes the same metrics and front as the uninterrupted run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from morl.algorithms import Front, Trainer, get_algorithm
from morl.config import ConfigError, Experiment, build, first_difference, load_file, run_points
from morl.io import rundir

#: Columns of metrics.csv before the per-member returns `member<i>_return<j>`.
METRIC_COLUMNS = (
    "chunk",
    "run",
    "seed",
    "env_steps",
    "wall_time",
    "env_steps_per_s",
    "hypervolume",
    "expected_utility",
    "sparsity",
    "cardinality",
    "front_size",
    "igd",
    "mul",
)
#: Columns that depend on the machine, not on the computation (ignored when comparing runs).
TIMING_COLUMNS = ("wall_time", "env_steps_per_s")
#: Keys of the experiment that may differ when resuming.
RESUME_FREE_KEYS = ("log.progress",)


@dataclass(frozen=True)
class Job:
    """A validated training job (built by `prepare`; nothing written yet)."""

    experiment: Experiment
    run_dir: Path
    trainer: Trainer
    seeds: tuple[int, ...]  # per run
    grid_points: tuple[dict[str, float], ...]  # per run: the grid values it uses
    resume: bool
    overwrite: bool
    process_index: int = 0  # multi-host: only process 0 writes the run directory
    warnings: tuple[str, ...] = ()  # one line each, for the user before training starts
    lock: rundir.RunLock | None = None  # held on the run directory until `run` returns

    @property
    def num_runs(self) -> int:
        return len(self.seeds)


def resolve_ref_point(experiment: Experiment) -> Experiment:
    """Fill `algo.ref_point` when it is None: the env's conventional point
    (`morl.envs.defaults.ENV_DEFAULTS`), else the automatic rule (random-policy returns,
    `automatic_ref_point`), announced on stderr. Either way config.yaml records it."""
    from morl.envs import defaults, make, registry

    algo = experiment.algo
    if algo.ref_point is not None:
        return experiment
    entry = defaults.env_defaults(algo.env)
    if entry is not None:
        ref = entry.ref_point
    else:
        try:
            env = make(algo.env, **registry.parse_kwargs(getattr(algo, "env_kwargs", ())))
        except (ValueError, TypeError) as err:
            raise ConfigError(str(err)) from None
        ref = defaults.automatic_ref_point(env, algo.eval_gamma)
        print(
            f"morl: {algo.env} has no conventional reference point; using ref_point={list(ref)} from random-policy "
            "returns (set ref_point to choose one)",
            file=sys.stderr,
        )
    return dataclasses.replace(experiment, algo=dataclasses.replace(algo, ref_point=tuple(ref)))


def prepare(
    experiment: Experiment, run_dir: str | Path, *, resume: bool = False, overwrite: bool = False, lock: bool = True
) -> Job:
    """Validate the experiment against its algorithm and env and the run directory against
    the request. Raises a one-line error; compiles nothing, and writes nothing but, when
    `lock` (and everything validated), the lock file beside the run directory: the
    `RunLock` that `run` holds, so a second writer of the same directory is refused here."""
    from morl import parallel

    process_index = parallel.process_index()
    # multi-host: process 0 owns the run directory (and checks it); the others only read it
    run_dir = rundir.prepare(run_dir, resume=resume, overwrite=overwrite) if process_index == 0 else Path(run_dir)
    from morl.envs.registry import check_id

    try:
        check_id(experiment.algo.env)
    except ValueError as err:
        raise ConfigError(f"algo.env: {err}") from None
    experiment = resolve_ref_point(experiment)
    if resume:
        stored = resolve_ref_point(build(load_file(run_dir / rundir.CONFIG)))
        key = first_difference(_comparable(stored), _comparable(experiment))
        if key is not None:
            raise ConfigError(
                f"cannot resume '{run_dir}' with a different config: '{key}' differs from the stored config.yaml"
            )
        experiment = dataclasses.replace(stored, log=experiment.log, devices=experiment.devices)
    runs = run_points(experiment)
    seeds = tuple(seed for seed, _ in runs)
    grid_points = tuple(point for _, point in runs)
    num_runs = None if len(runs) == 1 and not experiment.grid else len(runs)
    hparams = {k.removeprefix("algo."): np.array([p[k] for p in grid_points]) for k in experiment.grid} or None
    algorithm = get_algorithm(experiment.algorithm)
    layout: dict[str, int] = {}
    if experiment.devices > 1:
        if "devices" not in inspect.signature(algorithm.make_trainer).parameters:
            raise ConfigError(f"algorithm '{experiment.algorithm}' cannot split over devices; set devices=1")
        try:
            if parallel.process_count() == 1:
                parallel.request_cpu_devices(experiment.devices)
        except RuntimeError as err:
            raise ConfigError(str(err)) from None
        layout["devices"] = experiment.devices
    trainer = algorithm.make_trainer(experiment.algo, num_runs=num_runs, hparams=hparams, **layout)
    from morl.envs.host import HostEnvironment

    if experiment.devices > 1 and isinstance(trainer.env, HostEnvironment):
        raise ConfigError(
            f"{experiment.algo.env} is simulated on the host, which runs on one device; set devices=1 "
            "(the host pool already steps its copies on every core)"
        )
    _check_ref_point(trainer.env, experiment.algo)
    _check_grid(experiment, trainer.env.reward_dim)
    warnings = tuple(_budget_warnings(experiment, len(runs)))
    warnings += tuple(f"{path} holds the run an interrupted --overwrite replaced" for path in rundir.replaced(run_dir))
    held = rundir.RunLock(run_dir) if lock and process_index == 0 else None
    return Job(experiment, run_dir, trainer, seeds, grid_points, resume, overwrite, process_index, warnings, held)


def _check_ref_point(env: Any, algo: Any) -> None:
    """The reference point has one finite value per objective and, where the env knows
    its Pareto front, some point of that front strictly dominates it (else every
    hypervolume would be 0)."""
    m, ref = env.reward_dim, np.asarray(algo.ref_point, np.float64)
    if ref.shape != (m,):
        raise ConfigError(f"ref_point {tuple(algo.ref_point)} has {ref.size} values but {algo.env} has {m} objectives")
    if not np.all(np.isfinite(ref)):
        raise ConfigError(f"ref_point {tuple(algo.ref_point)} must be finite numbers")
    if env.has_pareto_front:
        front = np.asarray(env.pareto_front(algo.eval_gamma), np.float64)
        if front.size and not np.any(np.all(front > ref, axis=1)):
            raise ConfigError(
                f"ref_point {tuple(algo.ref_point)} is not dominated by any point of {algo.env}'s Pareto front "
                f"(gamma {algo.eval_gamma}; per objective at most {tuple(front.max(axis=0).round(4).tolist())}): "
                "every hypervolume would be 0"
            )


def _check_grid(experiment: Experiment, reward_dim: int) -> None:
    """Every grid value, set alone into the algorithm config, passes the config's own
    checks (`__post_init__`, and `validate(reward_dim)` where the config has one): the
    trainer receives gridded numbers as arrays and would not see a bad one."""
    from morl.config import to_dict

    base = to_dict(dataclasses.replace(experiment, grid={}))
    for key, values in experiment.grid.items():
        for value in values:
            try:
                algo = build(base, [(key, value)]).algo
                if hasattr(algo, "validate"):
                    algo.validate(reward_dim)
            except ValueError as err:
                raise ConfigError(f"grid key '{key}' value {value!r}: {err}") from None


#: A rough training rate for the ETA of long budgets: MORL/D's main job on the project's
#: 2-core CPU (500,000 env steps in about 25-50 s); MuJoCo and host envs are slower.
NOMINAL_STEPS_PER_S = 15_000
#: Budgets whose ETA at `NOMINAL_STEPS_PER_S` exceeds this many seconds get a warning.
LONG_RUN_S = 24 * 3600


def _budget_warnings(experiment: Experiment, num_runs: int) -> list[str]:
    """The algorithm config's own (`budget_warnings()`, where it has one), then an ETA
    for budgets that would take very long."""
    own = getattr(experiment.algo, "budget_warnings", None)
    warnings = list(own()) if own is not None else []
    steps = experiment.algo.total_steps * num_runs
    eta = steps / NOMINAL_STEPS_PER_S
    if eta <= LONG_RUN_S:
        return warnings
    return warnings + [
        f"total_steps={experiment.algo.total_steps:,} x {num_runs:,} run(s) = {steps:,} env steps; at a typical "
        f"{NOMINAL_STEPS_PER_S:,} steps/s that takes about {_duration(eta)} (Ctrl-C stops with a checkpoint)"
    ]


def _duration(seconds: float) -> str:
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("hours", 3600)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.0f} {unit}"
    return f"{seconds / 60:,.0f} minutes"


def _comparable(experiment: Experiment) -> Experiment:
    log = dataclasses.replace(experiment.log, **{k.split(".")[1]: False for k in RESUME_FREE_KEYS})
    return dataclasses.replace(experiment, log=log, devices=1)


def run_keys(job: Job) -> Any:
    import jax
    import jax.numpy as jnp

    if job.trainer.num_runs is None:
        return jax.random.key(job.seeds[0])
    return jax.vmap(jax.random.key)(jnp.asarray(job.seeds))


class StopRequest:
    """Asks `run` to stop at the next chunk boundary; set by `stop_on_signals` (or a caller)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum = signal.SIGINT

    def set(self, signum: int = signal.SIGINT) -> None:
        self.signum = signum
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


class Interrupted(KeyboardInterrupt):
    """`run` stopped on a `StopRequest`: the state after `chunk` is checkpointed in
    `run_dir` (`chunk` 0: stopped before the first chunk, nothing trained)."""

    def __init__(self, signum: int, run_dir: Path, chunk: int, env_steps: int):
        super().__init__(f"stopped after chunk {chunk}")
        self.signum, self.run_dir, self.chunk, self.env_steps = signum, run_dir, chunk, env_steps


@contextlib.contextmanager
def stop_on_signals(signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[StopRequest]:
    """While active, the first SIGINT or SIGTERM sets the yielded `StopRequest` (`run`
    finishes the chunk or compilation in flight, writes a checkpoint and raises
    `Interrupted`); a second one ends the process at once with status 128 + signal.

    Signals are read from CPython's wakeup file descriptor on a thread: the main thread
    may be inside XLA's compiler for minutes, where Python-level handlers do not run.
    Outside the main thread nothing is installed and the request is never set."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    reader, writer = socket.socketpair()
    writer.setblocking(False)

    def watch() -> None:
        while data := reader.recv(1):
            signum = data[0]
            if signum not in signals:
                continue
            name = signal.Signals(signum).name
            if request.is_set():
                print(f"morl: {name} again: quitting at once", file=sys.stderr, flush=True)
                os._exit(128 + signum)
            request.set(signum)
            print(
                f"morl: {name}: stopping after the chunk or compilation in flight, with a checkpoint "
                "(again to quit at once)",
                file=sys.stderr,
                flush=True,
            )

    previous = {signum: signal.signal(signum, lambda *_: None) for signum in signals}
    old_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    watcher = threading.Thread(target=watch, name="morl-signals", daemon=True)
    watcher.start()
    try:
        yield request
    finally:
        signal.set_wakeup_fd(old_fd)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        writer.close()  # the watcher reads end-of-file and returns
        watcher.join(timeout=5)
        reader.close()


def run(job: Job, console: Any = None, stop: StopRequest | None = None) -> dict[str, Any]:
    """Train `job` to the end, writing its run directory. Returns the summary dict.

    `stop`, once set, makes the run checkpoint at the next chunk boundary and raise
    `Interrupted`. The run directory's lock (`job.lock`) is released on return."""
    try:
        if stop is not None and stop.is_set():
            raise Interrupted(stop.signum, job.run_dir, 0, 0)
        # orbax, tensorboardX and matplotlib take seconds to import: load them while the
        # trainer compiles (XLA releases the GIL) instead of after it
        preload = threading.Thread(target=_preload, daemon=True)
        preload.start()
        try:
            return _run_dir(job, console, stop)
        finally:  # never leave an import running into interpreter shutdown (a crash there)
            preload.join()
    finally:
        if job.lock is not None:
            job.lock.release()


def _run_dir(job: Job, console: Any, stop: StopRequest | None) -> dict[str, Any]:
    shared = job.run_dir
    # multi-host: every process checkpoints into the shared run directory (orbax writes
    # each process's shards); logs, metrics and fronts of processes > 0 go to scratch
    path = shared if job.process_index == 0 else Path(tempfile.mkdtemp(prefix=f"morl-process{job.process_index}-"))
    session_start = time.perf_counter()
    # a new run owns its directory once it has compiled and trained a chunk; failing or
    # interrupted before that, it leaves what was there: nothing, an empty directory, or
    # the run it overwrites (kept aside until then)
    new = not job.resume and job.process_index == 0
    existed = path.exists()
    aside = rundir.create(path, overwrite=job.overwrite) if new else None

    def take_over() -> None:
        nonlocal new
        rundir.discard(aside)
        new = False

    try:
        return _train(job, console, stop, path, take_over, session_start)
    except BaseException:
        if new:
            rundir.restore(path, aside, existed)
        raise


def _train(
    job: Job, console: Any, stop: StopRequest | None, path: Path, take_over: Callable[[], None], session_start: float
) -> dict[str, Any]:
    """`run`'s body; calls `take_over()` once the first chunk has trained (compiled and
    ran): the run directory is this run's from then on."""
    import jax

    experiment, trainer, shared, log = job.experiment, job.trainer, job.run_dir, job.experiment.log
    compute = 0.0  # seconds inside trainer.init / run_chunk; the rest is the workflow's cost
    if not job.resume and job.process_index == 0:
        from morl.config import to_yaml

        rundir.atomic_write(path / rundir.CONFIG, to_yaml(experiment))
    measure = FrontMetrics(trainer.env, experiment.algo.ref_point, experiment.algo.eval_gamma, log.eu_weights)
    tick = time.perf_counter()
    keys = run_keys(job)  # the process's first JAX operation starts the backend
    compute += time.perf_counter() - tick

    def init() -> Any:
        nonlocal compute
        tick = time.perf_counter()
        state = jax.block_until_ready(trainer.init(keys))
        compute += time.perf_counter() - tick
        return state

    if stop is not None and stop.is_set():  # before compiling the initial state
        raise Interrupted(stop.signum, shared, 0, 0)
    state = None if job.resume else init()
    from morl.io.checkpoint import Checkpointer

    checkpoints = Checkpointer(shared / rundir.CHECKPOINTS, keep=log.keep_checkpoints)
    chunk, elapsed = 0, 0.0
    latest = None
    if job.resume:  # the newest checkpoint that restores; damaged ones are reported and set aside
        like = jax.eval_shape(trainer.init, keys)
        latest, restored, meta, notes = checkpoints.restore_latest(like, set_aside=job.process_index == 0)
        for note in notes:
            print(f"morl: {note}", file=sys.stderr)
        if latest is not None:
            state, chunk, elapsed = restored, int(meta["chunk"]), float(meta["wall_time"])
        elif notes:
            print(f"morl: no intact checkpoint in '{shared}'; training again from the start", file=sys.stderr)
    if latest is None:
        state = init() if state is None else state
    metrics_log = rundir.MetricsLog(path / rundir.METRICS)
    if job.resume and job.process_index == 0:
        metrics_log, notes = rundir.MetricsLog.reconcile(
            path / rundir.METRICS, chunk, job.num_runs, log.metrics_every
        )
        for note in notes:
            print(f"morl: {note}", file=sys.stderr)
    from morl.parallel import host_view

    view = host_view(state)  # what the host reads (the state itself unless multi-host)
    env_steps = trainer.env_steps(view)
    # a resumed run drops the events an interrupted one logged after its checkpoint (all of
    # them when it died before the first checkpoint)
    purge = (env_steps + 1 if latest is not None else 0) if job.resume else None
    writers = _writers(job, path, purge_step=purge) if log.tensorboard else []

    start = time.perf_counter() - elapsed
    last_logged = (env_steps, time.perf_counter())
    saved_chunk = latest
    flushed = -float("inf")  # first row is written at once
    try:
        with _progress(console, log.progress, experiment.algo.total_steps, env_steps) as progress:
            finished = trainer.done(view)
            while not finished:
                if stop is not None and stop.is_set():
                    if chunk and saved_chunk != chunk:
                        metrics_log.flush()
                        meta = {"chunk": chunk, "env_steps": env_steps, "wall_time": time.perf_counter() - start}
                        checkpoints.save(chunk, state, meta)
                    raise Interrupted(stop.signum, shared, chunk, env_steps)
                tock = time.perf_counter()
                state, chunk_metrics = trainer.run_chunk(state)
                jax.block_until_ready(state)
                chunk += 1
                tick = time.perf_counter()
                compute += tick - tock
                view = host_view(state)
                env_steps = trainer.env_steps(view)
                finished = trainer.done(view)
                if chunk % log.metrics_every == 0 or finished:
                    rate = (env_steps - last_logged[0]) / max(tick - last_logged[1], 1e-9)
                    last_logged = (env_steps, tick)
                    chunk_metrics = jax.device_get(chunk_metrics)
                    rows = _rows(job, view, chunk_metrics, measure, chunk, env_steps, tick - start, rate)
                    metrics_log.append(rows)
                    if tick - flushed >= log.metrics_flush_s:
                        metrics_log.flush()
                        flushed = tick
                    for writer, row, scalars in zip(writers, rows, _chunk_scalars(job, chunk_metrics)):
                        front = {f"front/{k}": row[k] for k in METRIC_COLUMNS[5:] if row[k] != ""}
                        writer.scalars(env_steps, front | scalars)
                    progress(env_steps, rows[0])
                if log.checkpoint_every and chunk % log.checkpoint_every == 0 and not finished:
                    metrics_log.flush()  # rows up to the checkpoint are on disk before it is
                    flushed = tick
                    checkpoints.save(chunk, state, {"chunk": chunk, "env_steps": env_steps, "wall_time": tick - start})
                    saved_chunk = chunk
                take_over()
        if saved_chunk != chunk:
            meta = {"chunk": chunk, "env_steps": env_steps, "wall_time": time.perf_counter() - start}
            checkpoints.save(chunk, state, meta)
    finally:  # also on Ctrl-C: finish the checkpoint in flight, flush the event files
        metrics_log.flush()
        checkpoints.close()
        for writer in writers:
            writer.close()
    fronts = [trainer.front(view, r) for r in range(job.num_runs)]
    _write_front_csv(path / rundir.FRONT, job, fronts)
    plot = _write_front_plot(path, job, fronts, measure.true_front)
    now = time.perf_counter()
    overhead = 1.0 - compute / max(now - session_start, 1e-9)
    summary = _summary(job, fronts, measure, env_steps, chunk, now - start, overhead, plot)
    rundir.write_json(path / rundir.SUMMARY, summary)
    take_over()
    if path != shared:
        shutil.rmtree(path, ignore_errors=True)
    return summary


class FrontMetrics:
    """Host-side Pareto indicators of one front (morl.pareto; moocore underneath)."""

    def __init__(self, env: Any, ref_point: tuple[float, ...], eval_gamma: float, eu_weights: int):
        from morl import pareto
        from morl.decomposition.weights import uniform_weights

        self._pareto = pareto
        self.ref_point = np.asarray(ref_point, np.float64)
        self.weights = np.asarray(uniform_weights(len(ref_point), eu_weights), np.float64)
        self.true_front = np.asarray(env.pareto_front(eval_gamma), np.float64) if env.has_pareto_front else None

    def __call__(self, returns: np.ndarray) -> dict[str, float | str]:
        p = self._pareto
        returns = np.asarray(returns, np.float64)
        empty = returns.shape[0] == 0
        out: dict[str, float | str] = {
            "hypervolume": 0.0 if empty else float(p.hypervolume(returns, self.ref_point)),
            "expected_utility": "" if empty else float(p.expected_utility(returns, self.weights)),
            "sparsity": 0.0 if empty else float(p.sparsity(p.pareto_filter(returns)[0])),
            "cardinality": int(p.cardinality(returns)) if not empty else 0,
            "front_size": int(returns.shape[0]),
            "igd": "",
            "mul": "",
        }
        if self.true_front is not None and not empty:
            out["igd"] = float(p.igd(returns, self.true_front))
            out["mul"] = float(p.maximum_utility_loss(returns, self.true_front, self.weights))
        return out


def _preload() -> None:
    try:
        import morl.io.checkpoint  # noqa: F401
        import morl.io.plots  # noqa: F401
        import morl.io.tensorboard  # noqa: F401
        import tensorboardX  # noqa: F401
    except Exception:  # the main thread's own import reports any problem
        pass


def _rows(
    job: Job,
    state: Any,
    metrics: Mapping[str, Any],
    measure: FrontMetrics,
    chunk: int,
    env_steps: int,
    wall: float,
    rate: float,
) -> list[dict[str, Any]]:
    member_returns = metrics.get("member_returns")
    rows = []
    for r in range(job.num_runs):
        front = job.trainer.front(state, r)
        values = {
            "chunk": chunk,
            "run": r,
            "seed": job.seeds[r],
            "env_steps": env_steps,
            "wall_time": round(wall, 4),
            "env_steps_per_s": round(rate, 1),
            **measure(front.returns),
        }
        row: dict[str, Any] = {c: values[c] for c in METRIC_COLUMNS}
        if member_returns is not None:
            returns = np.asarray(member_returns)
            returns = returns[r] if job.trainer.num_runs is not None else returns
            for i, member in enumerate(returns):
                for j, value in enumerate(member):
                    row[f"member{i}_return{j}"] = float(value)
        rows.append(row)
    return rows


def _chunk_scalars(job: Job, metrics: Mapping[str, Any]) -> list[dict[str, float]]:
    per_run: list[dict[str, float]] = [{} for _ in range(job.num_runs)]
    for key, value in metrics.items():
        value = np.asarray(value)
        if job.trainer.num_runs is None and value.ndim == 0:
            per_run[0][f"train/{key}"] = float(value)
        elif job.trainer.num_runs is not None and value.shape == (job.num_runs,):
            for r in range(job.num_runs):
                per_run[r][f"train/{key}"] = float(value[r])
    return per_run


def _writers(job: Job, path: Path, purge_step: int | None) -> list[Any]:
    from morl.io.tensorboard import ScalarWriter

    base = path / rundir.TENSORBOARD
    if job.trainer.num_runs is None:
        return [ScalarWriter(base, purge_step)]
    return [ScalarWriter(base / f"run{r}", purge_step) for r in range(job.num_runs)]


def _write_front_csv(path: Path, job: Job, fronts: list[Front]) -> None:
    m = job.trainer.env.reward_dim
    columns = ["run", "seed", "member"] + [f"weight{j}" for j in range(m)] + [f"return{j}" for j in range(m)]
    rows = []
    for r, front in enumerate(fronts):
        for member, w, g in zip(front.member, front.weights, front.returns):
            row = {"run": r, "seed": job.seeds[r], "member": int(member)}
            row.update({f"weight{j}": float(w[j]) for j in range(m)})
            row.update({f"return{j}": float(g[j]) for j in range(m)})
            rows.append(row)
    rundir.atomic_write(path, rundir.csv_text(columns, rows))


def _write_front_plot(path: Path, job: Job, fronts: list[Front], true_front: np.ndarray | None) -> str:
    from morl.io import plots

    label = job.experiment.algorithm
    series = [(f"{label} seed {job.seeds[r]}" if job.num_runs > 1 else label, f.returns) for r, f in enumerate(fronts)]
    members = [f.member for f in fronts] if job.num_runs == 1 else None  # the K of `morl render --point K`
    figure = plots.front_figure(series, true_front=true_front, title=job.experiment.algo.env, members=members)
    plots.save(figure, path / rundir.FRONT_PLOT, formats=("png",))
    plots.close(figure)
    return str(path / rundir.FRONT_PLOT)


def _summary(
    job: Job,
    fronts: list[Front],
    measure: FrontMetrics,
    env_steps: int,
    chunks: int,
    wall: float,
    overhead: float,
    plot: str,
) -> dict[str, Any]:
    """`overhead`: the fraction of this session's wall-clock spent outside the trainer."""
    runs = []
    for r, front in enumerate(fronts):
        runs.append({"run": r, "seed": job.seeds[r], "grid": job.grid_points[r], **measure(front.returns)})
    return {
        "algorithm": job.experiment.algorithm,
        "env": job.experiment.algo.env,
        "ref_point": list(job.experiment.algo.ref_point),
        "env_steps": env_steps,
        "chunks": chunks,
        "wall_time": round(wall, 3),
        "logging_overhead": round(overhead, 5),
        "true_front_known": measure.true_front is not None,
        "runs": runs,
        "run_dir": str(job.run_dir),
        "front_plot": plot,
    }


class _progress:
    """A rich progress bar (env steps, env steps/s, hypervolume, front size, elapsed and
    estimated remaining time), or nothing."""

    def __init__(self, console: Any, enabled: bool, total: int, completed: int):
        self._bar = None
        if enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("[bold]train"),
                BarColumn(),
                TextColumn("{task.completed:,}/{task.total:,}"),
                TextColumn("{task.fields[rate]:>9,.0f} steps/s"),
                TextColumn("HV {task.fields[hv]:.4g}"),
                TextColumn("front {task.fields[size]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(compact=True),
                console=console,
                transient=False,
            )
            self._task = self._bar.add_task("train", total=total, completed=completed, rate=0.0, hv=0.0, size=0)

    def __enter__(self) -> _progress:
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def __call__(self, env_steps: int, row: Mapping[str, Any]) -> None:
        if self._bar is not None:
            total = max(self._bar.tasks[0].total or 0, env_steps)  # the last chunk may overshoot
            self._bar.update(
                self._task,
                total=total,
                completed=env_steps,
                rate=row["env_steps_per_s"],
                hv=row["hypervolume"],
                size=row["front_size"],
            )
