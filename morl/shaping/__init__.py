"""Reward shaping: composable pure transforms of vector rewards, between the environment
and the learner. See `morl.shaping.base` for the interface and batching rules and
docs/shaping.md for the guide (including how to write a new transform)."""

from morl.shaping.base import EmptyState, RewardTransform, ShapingContext, chain, checked, identity
from morl.shaping.centring import lsc, par
from morl.shaping.config import TRANSFORMS, make_chain
from morl.shaping.elementwise import affine, clip
from morl.shaping.ensemble import ensemble
from morl.shaping.lagrange import lagrange
from morl.shaping.moments import Moments
from morl.shaping.normalize import normalize
from morl.shaping.potential import potential

__all__ = [
    "TRANSFORMS",
    "EmptyState",
    "Moments",
    "RewardTransform",
    "ShapingContext",
    "affine",
    "chain",
    "checked",
    "clip",
    "ensemble",
    "identity",
    "lagrange",
    "lsc",
    "make_chain",
    "normalize",
    "par",
    "potential",
]
