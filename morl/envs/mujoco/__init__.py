"""MO-MuJoCo locomotion (MO-Gymnasium v5 tasks) on MuJoCo XLA; see docs/mujoco.md.

Importing this package does not import mujoco; `morl.envs.registry` registers `ENVS`
with lazy entry points.
"""

from __future__ import annotations

# id -> (module:Class within this package, fixed keyword arguments)
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

