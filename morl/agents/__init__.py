"""Single-policy vector-reward learners as pure `init` / `update` functions (PPO, ...)."""

from morl.agents import ppo

__all__ = ["ppo"]
