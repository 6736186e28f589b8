"""morl: JAX-native multi-objective reinforcement learning.

Every objective is maximised; weight vectors lie on the simplex.
"""

from typing import Any

from morl import envs

__version__ = "0.1.0"

__all__ = ["envs", "load_policy", "__version__"]


def __getattr__(name: str) -> Any:
    # `morl.load_policy(run_dir, member)` without importing orbax at `import morl`.
    if name == "load_policy":
        from morl.restore import load_policy

        return load_policy
    raise AttributeError(f"module 'morl' has no attribute {name!r}")
