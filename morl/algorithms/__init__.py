"""Multi-policy algorithms and their registry.

An algorithm module registers itself when imported:

    # morl/algorithms/morld/__init__.py
    from morl.algorithms import register_algorithm
    register_algorithm("morld", MORLDConfig, make_trainer)

`get_algorithm(name)` imports the built-in modules lazily (importing `morl.algorithms`
compiles nothing and loads no network code). The contract is in `morl.algorithms.api`.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import NamedTuple

from morl.algorithms.api import REQUIRED_CONFIG_FIELDS, Front, MakeTrainer, Policy, Trainer

#: Built-in algorithms: name -> module that calls `register_algorithm(name, ...)` on import.
_BUILTIN = {
    "morld": "morl.algorithms.morld",
    "cmorl": "morl.algorithms.cmorl",
    "envelope": "morl.algorithms.envelope",
    "pcn": "morl.algorithms.pcn",
    "gpi-ls": "morl.algorithms.gpi_ls",
    "linear": "morl.algorithms.linear",
    "pgmorl": "morl.algorithms.pgmorl",
    "capql": "morl.algorithms.capql",
    "conditioned-ppo": "morl.algorithms.conditioned_ppo",
}


class Algorithm(NamedTuple):
    name: str
    config_cls: type
    make_trainer: MakeTrainer


_REGISTRY: dict[str, Algorithm] = {}


def register_algorithm(name: str, config_cls: type, make_trainer: MakeTrainer) -> None:
    """Make `name` available to `get_algorithm` and `morl train NAME`.

    `config_cls` must be a frozen dataclass with every field defaulted and the fields in
    `REQUIRED_CONFIG_FIELDS`. Registering the same name again replaces the entry (so a
    module may be reloaded).
    """
    if not (dataclasses.is_dataclass(config_cls) and config_cls.__dataclass_params__.frozen):
        raise TypeError(f"algorithm '{name}': config class {config_cls.__name__} must be a frozen dataclass")
    names = {f.name for f in dataclasses.fields(config_cls)}
    missing = [f for f in REQUIRED_CONFIG_FIELDS if f not in names]
    if missing:
        raise TypeError(f"algorithm '{name}': config class {config_cls.__name__} lacks required fields {missing}")
    _REGISTRY[name] = Algorithm(name, config_cls, make_trainer)


def known_algorithms() -> list[str]:
    """Sorted names `get_algorithm` accepts (built-in ones even before they are imported)."""
    return sorted(set(_BUILTIN) | set(_REGISTRY))


def algorithm_of_config(config: object) -> Algorithm | None:
    """The registered algorithm whose config class `config` is an instance of, or None
    (only imported algorithms are registered; a config object's module is imported)."""
    for algorithm in _REGISTRY.values():
        if isinstance(config, algorithm.config_cls):
            return algorithm
    return None


def get_algorithm(name: str) -> Algorithm:
    """The registered algorithm `name`; imports a built-in one on first use."""
    if name not in _REGISTRY and name in _BUILTIN:
        try:
            importlib.import_module(_BUILTIN[name])
        except ModuleNotFoundError as err:
            if err.name is not None and _BUILTIN[name].startswith(err.name):
                missing = f"algorithm '{name}' is not available yet (module {_BUILTIN[name]} is missing)"
                raise ValueError(missing) from None
            raise
        if name not in _REGISTRY:
            raise ValueError(f"algorithm '{name}' is not available yet ({_BUILTIN[name]} does not register it)")
    if name not in _REGISTRY:
        raise ValueError(f"unknown algorithm '{name}'; known algorithms: {', '.join(known_algorithms())}")
    return _REGISTRY[name]


__all__ = [
    "Algorithm",
    "Front",
    "MakeTrainer",
    "Policy",
    "REQUIRED_CONFIG_FIELDS",
    "Trainer",
    "algorithm_of_config",
    "get_algorithm",
    "known_algorithms",
    "register_algorithm",
]
