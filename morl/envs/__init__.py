"""JAX-native multi-objective environments (pure `reset`/`step`) and adapters.

    env = morl.envs.make("deep-sea-treasure-v0")
    obs, state = env.reset(key)
    obs, state, reward, terminated, truncated, info = env.step(key, state, action)
"""

from morl.envs import spaces
from morl.envs.adapters import GymnasiumEnv, HostVectorEnv, from_gymnasium, to_gymnasium
from morl.envs.core import Environment
from morl.envs.registry import make, register, registered
from morl.envs.wrappers import AutoReset, EpisodeStatistics, VmapEnv, Wrapper

__all__ = [
    "AutoReset",
    "Environment",
    "EpisodeStatistics",
    "GymnasiumEnv",
    "HostVectorEnv",
    "VmapEnv",
    "Wrapper",
    "from_gymnasium",
    "make",
    "register",
    "registered",
    "spaces",
    "to_gymnasium",
]
