"""Reward shaping: composable pure transforms of vector rewards (see `base` for the
interface and batching rules, docs/shaping.md for the guide)."""

from morl.shaping.base import EmptyState, RewardTransform, ShapingContext, chain, checked, identity
from morl.shaping.moments import Moments
from morl.shaping.normalize import normalize

__all__ = [
    "EmptyState",
    "Moments",
    "RewardTransform",
    "ShapingContext",
    "chain",
    "checked",
    "identity",
    "normalize",
]
