"""Single-policy vector-reward learners as pure `init` / `update` functions (PPO, SAC)."""

from morl.agents import ppo, sac

__all__ = ["ppo", "sac"]
