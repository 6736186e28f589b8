"""Optuna sweeps whose trials are ordinary `morl train` runs.

A sweep spec (YAML; see sweeps/*.yaml):

    name: morld-dst                  # Optuna study name
    config: null                     # optional experiment file (relative to the spec)
    base: {algorithm: morld, total_steps: 20000}   # dotted overrides for every trial
    params:                          # dotted config keys -> search space
      ppo.learning_rate: {low: 1.0e-4, high: 1.0e-2, log: true}   # float field: suggest_float
      num_weights: {low: 4, high: 12, step: 2}                     # int field: suggest_int
      scalarization: {choices: [weighted_sum, tchebycheff]}        # any field: categorical
    objectives: [hypervolume, expected_utility]   # maximised; mean over the trial's runs
    n_trials: 20                     # total over all workers
    sampler: {name: tpe, seed: 0}    # tpe | random | nsga2
    dir: null                        # default runs/sweeps/<name>
    storage: null                    # default sqlite:///<dir>/study.db; or an RDB URL

Every worker runs the same command; they share the study through its storage:

    morl sweep sweeps/morld_dst.yaml                           # worker 1 (creates the study)
    morl sweep sweeps/morld_dst.yaml                           # worker 2, same machine (SQLite)
    morl sweep sweeps/morld_dst.yaml --storage postgresql://user:pass@host/morl   # any machine

Worker `k` (in the order workers joined) seeds its sampler with `seed + k`: no two workers
propose the same trial. Trial `k` writes its run directory `<dir>/trials/<k>/`. `morl sweep SPEC --summary`
prints the table and writes `<dir>/trials.csv` and `<dir>/pareto.png` (and `.pdf`).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import random
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from morl.config import ConfigError, build, current_key, load_file, load_yaml, qualify

#: Indicators a sweep may optimise (read from summary.json, mean over the trial's runs).
OBJECTIVES = ("hypervolume", "expected_utility", "sparsity", "cardinality", "igd", "mul")
_MINIMISED = ("sparsity", "igd", "mul")
_SPEC_KEYS = ("name", "config", "base", "params", "objectives", "n_trials", "sampler", "dir", "storage")


@dataclasses.dataclass(frozen=True)
class Sweep:
    name: str
    raw: dict[str, Any]  # the base experiment (config file, then `base`) as a raw dict
    base: tuple[tuple[str, Any], ...]
    params: dict[str, dict[str, Any]]
    objectives: tuple[str, ...]
    n_trials: int
    sampler: dict[str, Any]
    dir: Path
    storage: str


def load_spec(path: str | Path, storage: str | None = None, n_trials: int | None = None) -> Sweep:
    """Read and validate a sweep spec (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sweep spec '{path}' does not exist")
    spec = load_yaml(path, "sweep spec")
    if not isinstance(spec, dict):
        raise ConfigError(f"sweep spec '{path}' must hold a mapping")
    unknown = [k for k in spec if k not in _SPEC_KEYS]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), _SPEC_KEYS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"sweep spec '{path}': unknown key '{unknown[0]}'{hint}; known: {', '.join(_SPEC_KEYS)}")
    name = str(spec.get("name") or path.stem)
    raw = load_file(path.parent / spec["config"]) if spec.get("config") else {}
    base = tuple((str(k), v) for k, v in (spec.get("base") or {}).items())
    params = spec.get("params") or {}
    if not params:
        raise ConfigError(f"sweep spec '{path}' has no params")
    objectives = spec.get("objectives") or ["hypervolume"]
    objectives = tuple([objectives] if isinstance(objectives, str) else objectives)
    for objective in objectives:
        if objective not in OBJECTIVES:
            raise ConfigError(f"sweep spec '{path}': unknown objective '{objective}'; known: {', '.join(OBJECTIVES)}")
    directory = Path(spec.get("dir") or Path("runs") / "sweeps" / name)
    trials = n_trials if n_trials is not None else spec.get("n_trials", 10)
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        which = "--n-trials" if n_trials is not None else f"sweep spec '{path}': n_trials"
        raise ConfigError(f"{which} must be a positive integer, got {trials!r}")
    sweep = Sweep(
        name=name,
        raw=raw,
        base=base,
        params={str(k): dict(v) if isinstance(v, dict) else v for k, v in params.items()},
        objectives=objectives,
        n_trials=trials,
        sampler=dict(spec.get("sampler") or {"name": "tpe", "seed": 0}),
        dir=directory,
        storage=storage or spec.get("storage") or f"sqlite:///{(directory / 'study.db').absolute()}",
    )
    return sweep


def check(sweep: Sweep) -> None:
    """Validate the search space before the first trial, writing nothing: every parameter
    names a config field, its space suits the field's type (`low < high`, `log` needs
    `low > 0`, `step > 0`, non-empty `choices`), and the base experiment with each
    parameter at each end of its range (each choice) passes everything `morl train`
    checks (algorithm config, env, reference point, budget)."""
    experiment = build(sweep.raw, sweep.base)
    _validate(experiment)
    for key, space in sweep.params.items():
        if not isinstance(space, dict):
            raise ConfigError(f"sweep param '{key}' needs a mapping like {{low: .., high: ..}} or {{choices: [..]}}")
        kind = _kind(experiment, key)
        if "choices" in space:
            choices = space["choices"]
            if set(space) != {"choices"} or not isinstance(choices, list) or not choices:
                raise ConfigError(f"sweep param '{key}' needs choices: a non-empty list (and nothing else)")
            values = choices
        elif kind in (int, float):
            extra = set(space) - {"low", "high", "log", "step"}
            if "low" not in space or "high" not in space or extra:
                raise ConfigError(f"sweep param '{key}' ({kind.__name__}) needs low and high (and optional log, step)")
            for end in ("low", "high"):
                build(sweep.raw, [*sweep.base, (key, space[end])])  # the field's type and range
            _check_range(key, space, kind)
            values = [space["low"], space["high"]]
        else:
            raise ConfigError(f"sweep param '{key}' is not numeric: give choices")
        for value in values:
            try:
                _validate(build(sweep.raw, [*sweep.base, (key, value)]))
            except (ValueError, TypeError, OSError) as err:
                raise ConfigError(f"sweep param '{key}'={value!r}: {err}") from None
    _sampler(sweep)


def _check_range(key: str, space: dict[str, Any], kind: type) -> None:
    low, high = kind(space["low"]), kind(space["high"])
    if not low < high:
        raise ConfigError(f"sweep param '{key}': low={space['low']!r} must be below high={space['high']!r}")
    log, step = space.get("log", False), space.get("step")
    if not isinstance(log, bool):
        raise ConfigError(f"sweep param '{key}': log must be true or false, got {log!r}")
    if log and low <= 0:
        raise ConfigError(f"sweep param '{key}': log=true needs low > 0, got low={space['low']!r}")
    if step is not None:
        number = isinstance(step, (int, float)) and not isinstance(step, bool)
        if not number or not step > 0 or (kind is int and step != int(step)):
            raise ConfigError(f"sweep param '{key}': step must be a positive {kind.__name__}, got {step!r}")
        if log:
            raise ConfigError(f"sweep param '{key}': step and log=true cannot be combined (Optuna)")


def _validate(experiment: Any) -> None:
    """Everything `morl train` checks about an experiment, without a run directory."""
    from morl.train_loop import prepare

    with tempfile.TemporaryDirectory(prefix="morl-sweep-check-") as scratch:
        prepare(experiment, Path(scratch) / "run", lock=False)


def _kind(experiment: Any, key: str) -> type | None:
    """The Python type of the config field `key` (shorthand keys resolve into `algo`)."""
    obj: Any = experiment
    parts = current_key(qualify(key), type(experiment.algo), warn=False).split(".")
    for part in parts[:-1]:
        if not dataclasses.is_dataclass(obj) or not hasattr(obj, part):
            raise ConfigError(f"sweep param '{key}': no config field '{qualify(key)}'")
        obj = getattr(obj, part)
    fields = {f.name for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else set()
    if parts[-1] not in fields:
        raise ConfigError(f"sweep param '{key}': no config field '{qualify(key)}'")
    value = getattr(obj, parts[-1])
    return type(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _sampler(sweep: Sweep, worker_rank: int = 0) -> Any:
    """The spec's sampler; worker `k` (in the order workers joined the study) gets seed
    `seed + k`, so workers never propose the same trials while worker 0 alone stays
    reproducible."""
    import optuna

    options = dict(sweep.sampler)
    name = options.pop("name", "tpe")
    if options.get("seed") is not None:
        options["seed"] = int(options["seed"]) + worker_rank
    samplers = {
        "tpe": optuna.samplers.TPESampler,
        "random": optuna.samplers.RandomSampler,
        "nsga2": optuna.samplers.NSGAIISampler,
    }
    if name not in samplers:
        raise ConfigError(f"sweep sampler '{name}' is unknown; known: {', '.join(samplers)}")
    try:
        return samplers[name](**options)
    except TypeError as err:
        raise ConfigError(f"sweep sampler '{name}': {err}") from None


def open_study(sweep: Sweep, create: bool = True, worker_rank: int = 0) -> Any:
    """The study in `sweep.storage` (created on first use). Workers that start together
    may race to create the schema; the loser retries."""
    import optuna
    import sqlalchemy.exc

    directions = ["minimize" if o in _MINIMISED else "maximize" for o in sweep.objectives]
    for attempt in range(5):
        try:
            storage = _storage(sweep.storage)
            if not create:
                return optuna.load_study(study_name=sweep.name, storage=storage, sampler=_sampler(sweep, worker_rank))
            sampler = _sampler(sweep, worker_rank)
            return optuna.create_study(
                study_name=sweep.name, storage=storage, sampler=sampler, directions=directions, load_if_exists=True
            )
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError, optuna.exceptions.DuplicatedStudyError):
            if attempt == 4:
                raise
            time.sleep(0.5 + random.random())
    raise AssertionError("unreachable")


def _storage(url: str) -> Any:
    import optuna

    if not url.startswith("sqlite:///"):
        return url
    Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # wait for the other workers' writes instead of failing with "database is locked"
    return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})


def optimize(sweep: Sweep, stop: Any = None) -> Any:
    """Run trials until the study holds `n_trials` finished ones (all workers together).
    `stop` (a `morl.train_loop.StopRequest`) interrupts the trial in flight at its next
    chunk boundary. Raises `SweepFailed` when every trial this worker ran failed."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # a failed trial is one line of ours, no traceback
    worker = f"{socket.gethostname()}:{os.getpid()}"
    study = open_study(sweep)
    # join: rank the workers by the time they registered in the study's storage
    study.set_user_attr(f"worker:{worker}", time.time())
    joined = sorted((t, k) for k, t in study.user_attrs.items() if k.startswith("worker:"))
    rank = [k for _, k in joined].index(f"worker:{worker}")
    study = open_study(sweep, create=False, worker_rank=rank)
    experiment = build(sweep.raw, sweep.base)

    def objective(trial: Any) -> list[float]:
        from morl.train_loop import prepare, run

        overrides = [*sweep.base, ("log.progress", False)]
        for key, space in sweep.params.items():
            overrides.append((key, _suggest(trial, key, space, _kind(experiment, key))))
        run_dir = sweep.dir / "trials" / str(trial.number)
        trial.set_user_attr("run_dir", str(run_dir))
        trial.set_user_attr("worker", worker)
        try:
            summary = run(prepare(build(sweep.raw, overrides), run_dir, overwrite=True), stop=stop)
        except Exception as err:  # recorded for the worker's verdict; Optuna marks the trial failed
            error = " ".join(f"{type(err).__name__}: {err}".split())
            trial.set_user_attr("error", error)
            print(f"morl: sweep trial {trial.number} failed: {error}", file=sys.stderr)
            raise
        values = []
        for name in sweep.objectives:
            numbers = [r[name] for r in summary["runs"] if isinstance(r[name], (int, float))]
            values.append(sum(numbers) / len(numbers) if numbers else float("nan"))
        return values

    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)
    enough = optuna.study.MaxTrialsCallback(sweep.n_trials, states=states)
    if _finished(study) < sweep.n_trials:
        study.optimize(objective, callbacks=[enough], catch=(Exception,))
    mine = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("worker") == worker]
    failed = [t for t in mine if t.state == optuna.trial.TrialState.FAIL]
    if failed and len(failed) == len(mine):
        first = failed[0]
        raise SweepFailed(
            f"all {len(failed)} trial(s) of this worker failed; first (trial {first.number}, "
            f"{first.user_attrs.get('run_dir', '')}): {first.user_attrs.get('error', 'unknown error')}"
        )
    return study


class SweepFailed(RuntimeError):
    """Every trial a worker ran failed; the message names the first one and its error."""


def _finished(study: Any) -> int:
    import optuna

    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)
    return len(study.get_trials(deepcopy=False, states=states))


def _suggest(trial: Any, key: str, space: dict[str, Any], kind: type | None) -> Any:
    if "choices" in space:
        return trial.suggest_categorical(key, list(space["choices"]))
    if kind is int:
        low, high, step = int(space["low"]), int(space["high"]), int(space.get("step", 1))
        return trial.suggest_int(key, low, high, step=step, log=bool(space.get("log", False)))
    step = space.get("step")
    step = None if step is None else float(step)
    low, high, log = float(space["low"]), float(space["high"]), bool(space.get("log", False))
    return trial.suggest_float(key, low, high, step=step, log=log)


def summarize(sweep: Sweep) -> str:
    """The trials as a text table; also writes `<dir>/trials.csv` and `<dir>/pareto.png`/`.pdf`."""
    import optuna

    from morl.io import plots, rundir

    try:
        study = open_study(sweep, create=False)
    except KeyError:
        raise ConfigError(f"no study '{sweep.name}' in {sweep.storage}; run the sweep first") from None
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = {t.number for t in (study.best_trials if complete else [])}
    columns = ["trial", "state", *sweep.objectives, *sweep.params, "best", "run_dir"]
    rows = []
    for t in trials:
        row: dict[str, Any] = {"trial": t.number, "state": t.state.name, "best": t.number in best}
        row.update({o: (t.values[i] if t.values else "") for i, o in enumerate(sweep.objectives)})
        row.update({k: t.params.get(k, "") for k in sweep.params})
        row["run_dir"] = t.user_attrs.get("run_dir", "")
        rows.append(row)
    sweep.dir.mkdir(parents=True, exist_ok=True)
    rundir.atomic_write(sweep.dir / "trials.csv", rundir.csv_text(columns, rows))
    if complete:
        plots.save(plots.trials_figure(sweep.objectives, complete, best), sweep.dir / "pareto.png")
    widths = {c: max(len(c), *(len(_short(r[c])) for r in rows)) if rows else len(c) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(_short(r[c]).ljust(widths[c]) for c in columns) for r in rows]
    table = sweep.dir / "trials.csv"
    lines.append(f"{len(complete)}/{len(trials)} trials complete; best (*): {sorted(best)}; table {table}")
    if complete:
        lines.append(f"plot {sweep.dir / 'pareto.png'}")
    return "\n".join(lines)


def _short(value: Any) -> str:
    if isinstance(value, bool):
        return "*" if value else ""
    if isinstance(value, float):
        return f"{value:.5g}"
    return str(value)
