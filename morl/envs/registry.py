"""Environment ids (MO-Gymnasium's names) mapped to their JAX-native implementations.

Entries are lazy ("module:Class" plus fixed keyword arguments) so importing `morl.envs`
stays cheap and an env family lives in one module of its own.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from typing import Any

from morl.envs.core import Environment


@dataclass(frozen=True)
class EnvSpec:
    id: str
    entry_point: str  # "package.module:ClassName"
    kwargs: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, EnvSpec] = {}


def register(env_id: str, entry_point: str, **kwargs: Any) -> None:
    """Add an id; `kwargs` are defaults the caller of `make` may override."""
    if env_id in _REGISTRY:
        raise ValueError(f"environment id '{env_id}' is already registered")
    _REGISTRY[env_id] = EnvSpec(env_id, entry_point, kwargs)


def registered() -> list[str]:
    """Sorted list of every id `make` accepts."""
    return sorted(_REGISTRY)


def parse_kwargs(texts: tuple[str, ...] | list[str], field: str = "env_kwargs") -> dict[str, Any]:
    """Config strings to keyword arguments: `("depth=6", "float_state=true")` ->
    `{"depth": 6, "float_state": True}` (each value parsed as a YAML scalar)."""
    import yaml

    kwargs: dict[str, Any] = {}
    for text in texts:
        key, sep, value = str(text).partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{field}: expected 'key=value', got '{text}'")
        kwargs[key.strip()] = yaml.safe_load(value)
    return kwargs


#: Prefix that asks for MO-Gymnasium's own env on the host even where a JAX port exists.
HOST_PREFIX = "host:"


def gymnasium_ids() -> list[str]:
    """Every id MO-Gymnasium (and gymnasium) registers, sorted."""
    import gymnasium
    import mo_gymnasium  # noqa: F401  (registers the MO-Gymnasium ids)

    return sorted(gymnasium.registry)


def check_id(env_id: str) -> None:
    """One-line `ValueError` (with close matches) unless `make` knows `env_id`: a port's
    id, an MO-Gymnasium id, or either behind `"host:"`. Builds nothing."""
    env_id = str(env_id)
    name = env_id.removeprefix(HOST_PREFIX)
    if name in _REGISTRY and name == env_id:
        return
    known = gymnasium_ids()
    if name in known:
        return
    candidates = dict.fromkeys([*_REGISTRY, *known])  # ordered, without duplicates
    close = difflib.get_close_matches(name, list(candidates), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ValueError(f"unknown environment id '{env_id}'.{hint} Known: the JAX ports and every MO-Gymnasium id")


def make(env_id: str, **kwargs: Any) -> Environment:
    """Build the environment `env_id` names (MO-Gymnasium's ids).

    - A registered id (`registered()`) gives its JAX-native port.
    - `"host:" + id` gives MO-Gymnasium's own env `id` simulated on the host
      (`morl.envs.host.HostEnvironment`: MuJoCo C for the MO-MuJoCo ids), driven from
      inside compiled programs; any other MO-Gymnasium id gets that automatically.

    Keyword arguments follow MO-Gymnasium's constructor arguments of the same env.
    """
    env_id = str(env_id)
    check_id(env_id)
    if env_id.startswith(HOST_PREFIX) or env_id not in _REGISTRY:
        from morl.envs.host import make_host

        env = make_host(env_id.removeprefix(HOST_PREFIX), **kwargs)
        env.id = env_id
        return env
    spec = _REGISTRY[env_id]
    module_name, class_name = spec.entry_point.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    try:
        env = cls(**{**spec.kwargs, **kwargs})
    except TypeError as err:
        raise TypeError(f"{env_id}: bad keyword arguments {sorted(kwargs)}: {err}") from None
    env.id = env_id
    return env


register("deep-sea-treasure-v0", "morl.envs.deep_sea_treasure:DeepSeaTreasure")
register("deep-sea-treasure-concave-v0", "morl.envs.deep_sea_treasure:DeepSeaTreasure", dst_map="concave")
register("deep-sea-treasure-mirrored-v0", "morl.envs.deep_sea_treasure:DeepSeaTreasure", dst_map="mirrored")
register("fruit-tree-v0", "morl.envs.fruit_tree:FruitTree")
register("resource-gathering-v0", "morl.envs.resource_gathering:ResourceGathering")
register("four-room-v0", "morl.envs.four_room:FourRoom")
register("mo-mountaincar-v0", "morl.envs.mountain_car:MOMountainCar")
register("mo-mountaincar-3d-v0", "morl.envs.mountain_car:MOMountainCar", add_speed_objective=True, merge_move_penalty=True)
register("mo-mountaincar-timemove-v0", "morl.envs.mountain_car:MOMountainCar", merge_move_penalty=True)
register(
    "mo-mountaincar-timespeed-v0", "morl.envs.mountain_car:MOMountainCar", remove_move_penalty=True, add_speed_objective=True
)
register("mo-mountaincarcontinuous-v0", "morl.envs.continuous_mountain_car:MOContinuousMountainCar")
register("minecart-v0", "morl.envs.minecart:Minecart")
register("minecart-deterministic-v0", "morl.envs.minecart:Minecart", deterministic=True)
# Not in MO-Gymnasium: gymnasium's Pendulum-v1 with its cost split into objectives (a
# small continuous-control check for the off-policy learners).
register("mo-pendulum-v0", "morl.envs.pendulum:MOPendulum")

# MO-MuJoCo locomotion on MuJoCo XLA (mujoco is imported only when one of them is made).
from morl.envs.mujoco import ENVS as _MUJOCO  # noqa: E402  (a table of entry points; imports no mujoco)

for _id, (_entry_point, _kwargs) in _MUJOCO.items():
    register(_id, f"morl.envs.mujoco.{_entry_point}", **_kwargs)
