"""MO-MuJoCo locomotion (MO-Gymnasium v5 tasks) on MuJoCo XLA; see docs/mujoco.md.

Importing this package does not import mujoco; `register_all()` adds the ids to
`morl.envs.registry` with lazy entry points.
"""

from __future__ import annotations

from morl.envs import registry

# id -> (module:Class, fixed keyword arguments)
ENVS: dict[str, tuple[str, dict]] = {
    "mo-halfcheetah-v5": ("half_cheetah:MOHalfCheetah", {}),
    "mo-hopper-v5": ("hopper:MOHopper", {}),
    "mo-hopper-2obj-v5": ("hopper:MOHopper", {"cost_objective": False}),
    "mo-walker2d-v5": ("walker2d:MOWalker2d", {}),
    "mo-ant-v5": ("ant:MOAnt", {}),
    "mo-ant-2obj-v5": ("ant:MOAnt", {"cost_objective": False}),
    "mo-swimmer-v5": ("swimmer:MOSwimmer", {}),
    "mo-humanoid-v5": ("humanoid:MOHumanoid", {}),
}


def register_all() -> None:
    """Register every MO-MuJoCo id with `morl.envs.registry.register`."""
    for env_id, (entry_point, kwargs) in ENVS.items():
        registry.register(env_id, f"morl.envs.mujoco.{entry_point}", **kwargs)
