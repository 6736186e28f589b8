"""Typed experiment configs: frozen dataclasses loaded from YAML or Python, overridable by
dotted keys, validated before anything is written or compiled.

An experiment is `Experiment(algorithm, seed, num_seeds, grid, devices, log, algo)`, where `algo`
is the registered algorithm's own config dataclass (see `morl.algorithms.api`). In YAML:

    algorithm: morld
    seed: 0
    log: {checkpoint_every: 20}
    algo:
      env: deep-sea-treasure-v0
      total_steps: 100000
      ppo: {learning_rate: 3.0e-4}

Dotted keys address any field: `log.checkpoint_every`, `algo.ppo.learning_rate`, and, as
a shorthand, `ppo.learning_rate` (a key whose first part is not an `Experiment` field is
looked up in `algo`). Values given as strings (command line, YAML 1.1's `1e-3`) are
parsed by the field's type. Every failure is a `ConfigError` (a `ValueError`) whose
message is one line naming the key.

Per-env defaults: `build` lays the env's entry for the algorithm
(`morl.envs.defaults.algo_defaults`, e.g. four-room's budget and entropy bonus) under the
raw `algo` section, so the class defaults < the env's < the file < the overrides.

Renamed keys: an algorithm config class may declare `renamed: ClassVar[dict[str, str]]`,
old dotted key (relative to `algo`) -> new one, e.g. `{"num_policies": "pop_size",
"ppo.max_eval_steps": "max_eval_steps"}`. An old key still works for one release wherever
a key is read (YAML, `--set`, `--grid`, sweeps, a run directory's recorded config.yaml),
with a one-line `ConfigDeprecationWarning` naming the new key.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import math
import types
import typing
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

import yaml


class ConfigError(ValueError):
    """A bad config key or value; the message is one line naming it."""


class ConfigDeprecationWarning(DeprecationWarning):
    """A config key read under its old name (see `renamed` in the module docstring)."""


# shown once per key to anyone loading a config (DeprecationWarning is hidden by default)
warnings.filterwarnings("default", category=ConfigDeprecationWarning)


@dataclass(frozen=True)
class LogConfig:
    """What the training loop writes and how often (periods count chunks)."""

    checkpoint_every: int = 10  # chunks between checkpoints; 0: only at the end
    keep_checkpoints: int = 2  # most recent checkpoints kept on disk
    metrics_every: int = 1  # chunks between metric rows (front metrics on the host)
    metrics_flush_s: float = 30.0  # seconds between rewrites of metrics.csv (also at checkpoints and the end)
    tensorboard: bool = True
    eu_weights: int = 50  # evenly spread simplex weights for expected utility / MUL
    progress: bool = True  # rich progress bar on the terminal


@dataclass(frozen=True)
class Experiment:
    """A whole `morl train` job. Runs: every point of `grid` (a Cartesian product over
    vmappable fields) times `num_seeds` seeds `seed, seed+1, ...`; more than one run
    trains in one compiled program (`make_trainer(config, num_runs=...)`). `devices`:
    how many devices the runs (or the population) are split over (`morl.parallel`); a
    property of the machine, not of the experiment, so a run may resume with another."""

    algorithm: str = "morld"
    seed: int = 0
    num_seeds: int = 1
    grid: dict[str, tuple[float, ...]] = field(default_factory=dict)
    devices: int = 1
    log: LogConfig = LogConfig()
    algo: Any = None  # the algorithm's config dataclass; None: its defaults


_TOP_FIELDS = tuple(f.name for f in dataclasses.fields(Experiment))


def run_points(experiment: Experiment) -> list[tuple[int, dict[str, float]]]:
    """`(seed, grid values)` of every run, grid point major: run `i` is grid point
    `i // num_seeds` with seed `seed + i % num_seeds`."""
    keys = list(experiment.grid)
    points = [dict(zip(keys, values)) for values in itertools.product(*experiment.grid.values())] or [{}]
    return [(experiment.seed + s, p) for p in points for s in range(experiment.num_seeds)]


# --- loading ---------------------------------------------------------------------------


def load_file(path: str | Path) -> dict[str, Any]:
    """A config file as a raw nested dict: YAML (`.yaml`/`.yml`) or a Python file that
    defines `config` (an `Experiment`, a registered algorithm's config, or a dict)."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"config file '{path}' is a directory")
    if not path.is_file():
        raise ConfigError(f"config file '{path}' does not exist")
    if path.suffix in (".yaml", ".yml"):
        data = load_yaml(path, "config file")
    elif path.suffix == ".py":
        import runpy

        try:
            namespace = runpy.run_path(str(path))
        except Exception as err:  # the file's own error, reported as one line
            raise ConfigError(f"config file '{path}' failed: {type(err).__name__}: {_one_line(err)}") from None
        if "config" not in namespace:
            raise ConfigError(f"config file '{path}' defines no variable 'config'")
        data = _raw_from_object(namespace["config"], path)
    else:
        raise ConfigError(f"config file '{path}' must end in .yaml, .yml or .py")
    if not isinstance(data, dict):
        raise ConfigError(f"config file '{path}' must hold a mapping, got {type(data).__name__}")
    return data


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a mapping that repeats a key (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise ConfigError(f"duplicate key '{key}' (line {line})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: str | Path, what: str) -> Any:
    """The YAML document in `path` (`what` names it in errors: "config file", "sweep
    spec"). An empty file, a repeated key or a syntax error is a one-line `ConfigError`."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{what} '{path}' cannot be read: {_one_line(err)}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except ConfigError as err:
        raise ConfigError(f"{what} '{path}': {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(err, "problem", None) or _one_line(err)
        raise ConfigError(f"{what} '{path}' is not valid YAML{where}: {problem}") from None
    if data is None:
        raise ConfigError(f"{what} '{path}' is empty")
    return data


def _one_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def _raw_from_object(obj: Any, path: Path) -> dict[str, Any]:
    from morl.algorithms import algorithm_of_config

    if isinstance(obj, Experiment):
        return to_dict(obj)
    if isinstance(obj, dict):
        return obj
    algo = algorithm_of_config(obj)
    if algo is not None:
        return {"algorithm": algo.name, "algo": to_dict(obj)}
    kind = type(obj).__name__
    raise ConfigError(f"config file '{path}': 'config' is a {kind}, not an Experiment, dict or algorithm config")


def parse_assignment(text: str) -> tuple[str, str]:
    """`"ppo.learning_rate=1e-3"` -> `("ppo.learning_rate", "1e-3")`."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override '{text}' must look like key=value")
    return key.strip(), value.strip()


def build(raw: Mapping[str, Any] | None = None, overrides: Iterable[tuple[str, Any]] = ()) -> Experiment:
    """The typed `Experiment` from a raw dict plus `(dotted_key, value)` overrides applied
    in order. Unknown keys and wrong types raise `ConfigError`; nothing is compiled."""
    from morl.algorithms import get_algorithm, known_algorithms

    raw = _deep_copy(dict(raw or {}))
    overrides = list(overrides)
    for key, value in overrides:  # the algorithm decides how other keys resolve
        if key == "algorithm":
            raw["algorithm"] = value
    name = raw.get("algorithm", Experiment.algorithm)
    if not isinstance(name, str):
        raise ConfigError(f"config key 'algorithm' expects a name, got {name!r}")
    if name not in known_algorithms():
        close = difflib.get_close_matches(name, known_algorithms(), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"unknown algorithm '{name}'{hint}; known: {', '.join(known_algorithms())}")
    config_cls = get_algorithm(name).config_cls
    clash = [f.name for f in dataclasses.fields(config_cls) if f.name in _TOP_FIELDS]
    if clash:
        raise ConfigError(f"algorithm '{name}': config fields {clash} clash with experiment keys {list(_TOP_FIELDS)}")
    renamed = renames(config_cls)
    if isinstance(raw.get("algo"), Mapping):
        raw["algo"] = _rename_section(dict(raw["algo"]), renamed, "algo")
    if isinstance(raw.get("grid"), Mapping):
        raw["grid"] = {_grid_key(str(k), renamed): v for k, v in raw["grid"].items()}
    _env_defaults_below(raw, name, config_cls, overrides)
    for key, value in overrides:
        key = qualify(key)
        if key.startswith("grid."):
            key = "grid." + _grid_key(key.removeprefix("grid."), renamed)
        _assign(raw, current_key(key, config_cls), value)
    algo_raw = raw.pop("algo", None)
    experiment = _convert(raw, Experiment, "", allow_missing_algo=True)
    algo = _convert({} if algo_raw is None else algo_raw, config_cls, "algo")
    experiment = dataclasses.replace(experiment, algo=algo)
    _check_experiment(experiment)
    return experiment


def _env_defaults_below(raw: dict[str, Any], name: str, config_cls: Any, overrides: list[tuple[str, Any]]) -> None:
    """Put the env's defaults for algorithm `name` (`morl.envs.defaults.algo_defaults`) under
    `raw["algo"]`: every key the raw config or an override gives wins. An `algo` given as
    a config object (a Python config file) is taken whole."""
    from morl.envs.defaults import algo_defaults

    algo = raw.get("algo")
    if algo is not None and not isinstance(algo, Mapping):
        return
    env = next((v for k, v in reversed(overrides) if current_key(qualify(k), config_cls, warn=False) == "algo.env"), None)
    if env is None:
        default = next((f.default for f in dataclasses.fields(config_cls) if f.name == "env"), None)
        env = (algo or {}).get("env", default)
    layer: dict[str, Any] = {}
    for key, value in algo_defaults(name, str(env)).items():
        _assign(layer, key, _deep_copy(value))
    if layer:
        raw["algo"] = _merged(layer, dict(algo or {}))


def _merged(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `top` laid over it, sections (dicts) merged key by key."""
    out = dict(base)
    for key, value in top.items():
        out[key] = _merged(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, Mapping) else value
    return out


#: Seeds become `jax.random.key(seed)` of an int32 array: every run's seed must fit.
SEED_RANGE: tuple[int, int] = (0, 2**31 - 1)


def _check_experiment(experiment: Experiment) -> None:
    if experiment.num_seeds < 1:
        raise ConfigError(f"config key 'num_seeds' must be >= 1, got {experiment.num_seeds}")
    low, high = SEED_RANGE
    if not low <= experiment.seed <= high:
        raise ConfigError(f"config key 'seed' must lie in [{low}, {high}], got {experiment.seed}")
    if experiment.seed + experiment.num_seeds - 1 > high:
        last = experiment.seed + experiment.num_seeds - 1
        raise ConfigError(
            f"config key 'num_seeds'={experiment.num_seeds} from seed {experiment.seed} reaches seed {last} > {high}"
        )
    if experiment.devices < 1:
        raise ConfigError(f"config key 'devices' must be >= 1, got {experiment.devices}")
    log = experiment.log
    for key in ("checkpoint_every", "keep_checkpoints", "metrics_every", "eu_weights"):
        value = getattr(log, key)
        low = 0 if key == "checkpoint_every" else 1
        if value < low:
            raise ConfigError(f"config key 'log.{key}' must be >= {low}, got {value}")
    if log.metrics_flush_s < 0:
        raise ConfigError(f"config key 'log.metrics_flush_s' must be >= 0, got {log.metrics_flush_s}")
    vmappable = getattr(type(experiment.algo), "vmappable", ())
    for key, values in experiment.grid.items():
        name = key.removeprefix("algo.")
        if name not in vmappable:
            raise ConfigError(
                f"grid key '{key}' is not a vmappable field of {experiment.algorithm} "
                f"(vmappable: {list(vmappable) or 'none'})"
            )
        if len(values) == 0:
            raise ConfigError(f"grid key '{key}' has no values")
        _lookup(experiment.algo, name, f"grid key '{key}'")


def qualify(key: str) -> str:
    """The full dotted key: shorthand keys (first part not an `Experiment` field) go into `algo`."""
    head = key.split(".", 1)[0]
    return key if head in _TOP_FIELDS else f"algo.{key}"


def renames(config_cls: Any) -> dict[str, str]:
    """An algorithm config class's `renamed` map: old dotted key -> new (relative to `algo`)."""
    return dict(getattr(config_cls, "renamed", None) or {})


def _renamed(dotted: str, renamed: Mapping[str, str]) -> str | None:
    """`dotted` (relative to `algo`) under its new name, or None when it was not renamed;
    a renamed section renames every key below it."""
    for old, new in renamed.items():
        if dotted == old or dotted.startswith(old + "."):
            return new + dotted[len(old):]
    return None


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"config key '{old}' is deprecated, use '{new}' (the old name is read for one more release)",
        ConfigDeprecationWarning,
        stacklevel=4,
    )


def current_key(key: str, config_cls: Any, warn: bool = True) -> str:
    """A full dotted key (`qualify`'d) under its current name for the algorithm config
    class `config_cls` (warning when it was renamed, unless `warn=False`); any other key
    unchanged."""
    if not key.startswith("algo."):
        return key
    new = _renamed(key.removeprefix("algo."), renames(config_cls))
    if new is None:
        return key
    if warn:
        _deprecated(key, f"algo.{new}")
    return f"algo.{new}"


def _grid_key(key: str, renamed: Mapping[str, str]) -> str:
    """A grid key (`ppo.learning_rate` or `algo.ppo.learning_rate`) under its current name."""
    prefix = "algo." if key.startswith("algo.") else ""
    new = _renamed(key.removeprefix("algo."), renamed)
    if new is None:
        return key
    _deprecated(f"grid.{key}", f"grid.{prefix}{new}")
    return prefix + new


def _rename_section(algo: dict[str, Any], renamed: Mapping[str, str], where: str) -> dict[str, Any]:
    """The raw `algo` section with every old key present moved to its new place (a key
    given under both names: a `ConfigError` unless both say the same)."""
    for old, new in renamed.items():
        found, value = _pop_path(algo, old.split("."))
        if not found:
            continue
        _deprecated(f"{where}.{old}", f"{where}.{new}")
        exists, current = _pop_path(algo, new.split("."))
        if exists and current != value:
            raise ConfigError(
                f"config key '{where}.{old}' (deprecated) and '{where}.{new}' are both given; keep only '{where}.{new}'"
            )
        _assign(algo, new, value)
    return algo


def _pop_path(node: Any, parts: list[str]) -> tuple[bool, Any]:
    """Remove `node[parts[0]][parts[1]]...` from nested raw dicts: `(found, value)`."""
    for part in parts[:-1]:
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            return False, None
        if not isinstance(node, Mapping) or not isinstance(node.get(part), (Mapping,)):
            return False, None
        node = node[part]
    if not isinstance(node, dict) or parts[-1] not in node:
        return False, None
    return True, node.pop(parts[-1])


def _assign(raw: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    if parts[0] == "grid" and len(parts) > 1:  # grid keys are themselves dotted
        parts = ["grid", ".".join(parts[1:])]
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            child = node[part] = to_dict(child) if dataclasses.is_dataclass(child) else child
            if not isinstance(child, dict):
                raise ConfigError(f"config key '{'.'.join(parts[: i + 1])}' is a value, not a section")
        node = child
    node[parts[-1]] = value


def _lookup(obj: Any, dotted: str, what: str) -> Any:
    for part in dotted.split("."):
        if not dataclasses.is_dataclass(obj) or part not in {f.name for f in dataclasses.fields(obj)}:
            raise ConfigError(f"{what}: no config field '{dotted}'")
        obj = getattr(obj, part)
    return obj


def _deep_copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _deep_copy(v) for k, v in data.items()}
    return data


# --- typed conversion ------------------------------------------------------------------


def _section_default(field_: dataclasses.Field) -> Any:
    """The default instance of a nested-section field (an algorithm's preset of a learner
    section, e.g. MORL/D's `ppo`), or None for any other field."""
    default = field_.default
    if default is dataclasses.MISSING and field_.default_factory is not dataclasses.MISSING:
        default = field_.default_factory()
    return default if dataclasses.is_dataclass(default) and not isinstance(default, type) else None


def _convert(value: Any, tp: Any, key: str, allow_missing_algo: bool = False, as_kwargs: bool = False) -> Any:
    """`value` (YAML / command-line data) as type `tp`; a nested section as the dataclass
    (`as_kwargs`: the converted keyword arguments instead)."""
    where = f"config key '{key}'" if key else "config"
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} is a section of {tp.__name__}, got {value!r}")
        hints = typing.get_type_hints(tp)
        fields = {f.name: f for f in dataclasses.fields(tp)}
        for name in value:
            if name not in fields:
                full = f"{key}.{name}" if key else str(name)
                close = difflib.get_close_matches(str(name), fields, n=1)
                hint = f" (did you mean '{(key + '.') if key else ''}{close[0]}'?)" if close else ""
                top = difflib.get_close_matches(str(name), _TOP_FIELDS, n=1) if key == "algo" else []
                if not close and top:  # shorthand keys land in algo: a misspelt experiment key too
                    hint = f" (did you mean '{top[0]}'?)"
                raise ConfigError(f"unknown config key '{full}'{hint}; known: {', '.join(fields)}")
        kwargs = {}
        for name, value_ in value.items():
            field_key = f"{key}.{name}" if key else name
            preset = _section_default(fields[name])
            if preset is not None and isinstance(value_, Mapping):
                # a section's keys override the algorithm's preset, not the learner's defaults
                kwargs[name] = dataclasses.replace(preset, **_convert(value_, hints[name], field_key, as_kwargs=True))
            else:
                kwargs[name] = _convert(value_, hints[name], field_key)
        return kwargs if as_kwargs else tp(**kwargs)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        # a bracketed string ("[[0.5,0.5],[1,0]]") is a list first, a plain string last
        bracketed = isinstance(value, str) and value.strip()[:1] in "(["
        for arg in sorted(args, key=lambda a: bracketed and a is str):
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, key)
            except ConfigError as err:
                errors.append(err)
        raise errors[0] if len(errors) == 1 else ConfigError(f"{where} expects {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        if value in args:
            return value
        raise ConfigError(f"{where} expects one of {list(args)}, got {value!r}")
    if origin is tuple:
        items = _as_sequence(value, where, tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{key}[{i}]") for i, v in enumerate(items))
        if len(items) != len(args):
            raise ConfigError(f"{where} expects {len(args)} values, got {len(items)}: {value!r}")
        return tuple(_convert(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(items, args)))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} expects a mapping, got {value!r}")
        return {str(k): _convert(v, args[1], f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _BOOLS:
            return _BOOLS[value.lower()]
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, (str, float)) and not isinstance(value, bool):
            parsed = _parse_number(value)
            if parsed is not None and float(parsed).is_integer():
                return int(parsed)
    elif tp is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            number = _parse_number(value)
        if number is not None:
            if not math.isfinite(number):
                raise ConfigError(f"{where} expects a finite number, got {value!r}")
            return float(number)
    elif tp is str:
        if isinstance(value, str):
            return value
    else:
        raise ConfigError(f"{where} has a type the config loader does not handle: {tp!r}")
    raise ConfigError(f"{where} expects {_type_name(tp)}, got {value!r}")


_BOOLS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False, "on": True, "off": False}


def _parse_number(text: str | float) -> float | None:
    if isinstance(text, float):
        return text
    try:
        return float(text.replace("_", ""))
    except ValueError:
        return None


def _as_sequence(value: Any, where: str, tp: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "([" and text[-1:] in ")]":
            # YAML flow syntax, parentheses read as brackets: "[[0.5,0.5],[1,0]]", "(0,-25)"
            try:
                parsed = yaml.safe_load(text.replace("(", "[").replace(")", "]"))
            except yaml.YAMLError:
                parsed = None
            if isinstance(parsed, list):
                return parsed
            text = text[1:-1]
        return [part.strip() for part in text.split(",") if part.strip()]
    raise ConfigError(f"{where} expects {_type_name(tp)}, got {value!r}")


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


# --- output ----------------------------------------------------------------------------


def to_dict(obj: Any) -> Any:
    """Plain nested dicts / lists / scalars, ready for YAML or JSON."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    return obj


def to_yaml(experiment: Experiment) -> str:
    return yaml.safe_dump(to_dict(experiment), sort_keys=False)


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": 1}}` -> `{"a.b": 1}` (dataclasses are flattened too)."""
    data = to_dict(data)
    if not isinstance(data, dict) or (prefix == "grid"):
        return {prefix: data}
    out: dict[str, Any] = {}
    for k, v in data.items():
        out.update(flatten(v, f"{prefix}.{k}" if prefix else k))
    if not data and prefix:
        out[prefix] = {}
    return out


def first_difference(a: Experiment, b: Experiment) -> str | None:
    """The first dotted key whose value differs between two experiments, or None."""
    fa, fb = flatten(a), flatten(b)
    for key in sorted(set(fa) | set(fb)):
        if fa.get(key, "<missing>") != fb.get(key, "<missing>"):
            return key
    return None
