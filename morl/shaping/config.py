"""Build a chain from a config: `make_chain([{"name": "normalize", "returns": True},
{"name": "clip", "bound": 10.0}])`. Names and arguments are checked before anything is
built, with one-line errors naming the bad entry."""

from __future__ import annotations

import difflib
import inspect
from typing import Any, Callable

from morl.shaping.base import RewardTransform, chain, identity
from morl.shaping.centring import lsc, par
from morl.shaping.elementwise import affine, clip
from morl.shaping.ensemble import ensemble
from morl.shaping.lagrange import lagrange
from morl.shaping.normalize import normalize
from morl.shaping.potential import potential

TRANSFORMS: dict[str, Callable[..., RewardTransform]] = {
    "identity": identity,
    "normalize": normalize,
    "clip": clip,
    "affine": affine,
    "potential": potential,
    "par": par,
    "lsc": lsc,
    "ensemble": ensemble,
    "lagrange": lagrange,
}


def make_chain(spec: list[dict[str, Any]] | None) -> RewardTransform:
    """A checked `chain` of the transforms `spec` names, in order; None or [] is `identity`.

    Each entry is `{"name": <one of TRANSFORMS>, **keyword arguments of that constructor}`
    (callables such as a potential's `phi` may be passed as values from Python).
    """
    if spec is None:
        spec = []
    if not isinstance(spec, (list, tuple)):
        raise TypeError(f"shaping spec must be a list of dicts, got {type(spec).__name__}")
    transforms = []
    for position, entry in enumerate(spec):
        if not isinstance(entry, dict) or "name" not in entry:
            raise ValueError(f"shaping spec entry {position} must be a dict with a 'name' key, got {entry!r}")
        name = entry["name"]
        if name not in TRANSFORMS:
            close = difflib.get_close_matches(str(name), TRANSFORMS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValueError(f"shaping spec entry {position}: unknown transform '{name}'{hint}; known: {', '.join(TRANSFORMS)}")
        constructor = TRANSFORMS[name]
        kwargs = {k: v for k, v in entry.items() if k != "name"}
        signature = inspect.signature(constructor)
        unknown = sorted(set(kwargs) - set(signature.parameters))
        if unknown:
            raise ValueError(
                f"shaping spec entry {position} ('{name}'): unknown argument(s) {unknown}; accepted: {list(signature.parameters)}"
            )
        try:
            signature.bind(**kwargs)
        except TypeError as err:
            raise ValueError(f"shaping spec entry {position} ('{name}'): {err}") from None
        try:
            transforms.append(constructor(**kwargs))
        except (TypeError, ValueError) as err:
            raise type(err)(f"shaping spec entry {position}: {err}") from None
    return chain(*transforms) if transforms else chain(identity())
