"""morl: JAX-native multi-objective reinforcement learning.

Every objective is maximised; weight vectors lie on the simplex.
"""

from morl import envs

__version__ = "0.1.0"

__all__ = ["envs", "__version__"]
