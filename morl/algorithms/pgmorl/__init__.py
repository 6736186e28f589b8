"""PGMORL (Xu et al., ICML 2020): prediction-guided multi-objective RL.

Registered as "pgmorl" in `morl.algorithms`. See `train` for the loop, `prediction` for
the hyperbolic improvement model, `selection` for the greedy task selection (Algorithm 2),
`buffers` for the performance buffers (the paper's population).
"""

from morl.algorithms import register_algorithm
from morl.algorithms.pgmorl.config import PGMORL_PPO, Budget, PGMORLConfig
from morl.algorithms.pgmorl.train import PGMORLState, PGMORLTrainer, make_trainer

register_algorithm("pgmorl", PGMORLConfig, make_trainer)

__all__ = ["Budget", "PGMORLConfig", "PGMORLState", "PGMORLTrainer", "PGMORL_PPO", "make_trainer"]
