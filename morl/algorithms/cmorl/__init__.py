"""C-MORL (Liu et al., ICLR 2025): Pareto initialisation, then constrained Pareto extension.

Registered as "cmorl" in `morl.algorithms`. See `train` for the loop, `constraints` for the
log-barrier and Lagrangian policy objectives, `selection` for the crowding-distance pick.
"""

from morl.algorithms import register_algorithm
from morl.algorithms.cmorl.config import Budget, CMORLConfig, PPOSection
from morl.algorithms.cmorl.train import CMORLState, CMORLTrainer, Member, make_trainer

register_algorithm("cmorl", CMORLConfig, make_trainer)

__all__ = ["Budget", "CMORLConfig", "CMORLState", "CMORLTrainer", "Member", "PPOSection", "make_trainer"]
