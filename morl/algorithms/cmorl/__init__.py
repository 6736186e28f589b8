"""C-MORL (Liu et al., ICLR 2025): Pareto initialisation, then constrained Pareto extension.

Registered as "cmorl" in `morl.algorithms`. See `train` for the algorithm (`CMORL`, a
`PopulationAlgorithm` with two stages on the population trainer scaffold), `constraints` for the
log-barrier and Lagrangian policy objectives, `selection` for the crowding-distance pick.
The learner's settings: `morl.agents.ppo.PPOSection` with C-MORL's preset `CMORL_PPO`
(`CMORLConfig(ppo=CMORL_PPO.replace(num_envs=4))`).
"""

from morl.algorithms import register_algorithm
from morl.algorithms.cmorl.config import CMORL_PPO, Budget, CMORLConfig
from morl.algorithms.cmorl.train import CMORL, CMORLState, CMORLTrainer, Member, make_trainer

register_algorithm("cmorl", CMORLConfig, make_trainer)

__all__ = ["CMORL", "CMORL_PPO", "Budget", "CMORLConfig", "CMORLState", "CMORLTrainer", "Member", "make_trainer"]
