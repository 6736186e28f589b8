"""MORL/D: decomposition-based MORL with the whole population trained in one program.

    from morl.algorithms.morld import MORLDConfig, make_trainer
    trainer = make_trainer(MORLDConfig(env="deep-sea-treasure-v0", total_steps=200_000))
    state = trainer.init(jax.random.key(0))
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)
    front = trainer.front(state)          # Front(returns [n, m], weights [n, m], member [n])

Base learner: `MORLDConfig(learner="ppo", ppo=MORLD_PPO.replace(...))` (default; the
learner's section `morl.agents.ppo.PPOSection` with MORL/D's preset `MORLD_PPO`) or
`MORLDConfig(learner="sac", sac=SACSection(...))`, optionally with
`cooperation="shared_buffer"` (one replay buffer for the whole population).
"""

import warnings

from morl.agents.sac.config import SACSection
from morl.algorithms import register_algorithm
from morl.algorithms.morld.config import MORLD_PPO, MORLDConfig
from morl.algorithms.morld.train import MORLD, MORLDTrainer, make_trainer

register_algorithm("morld", MORLDConfig, make_trainer)


def PPOSection(**changes):  # noqa: N802 (the name of the class it stands in for)
    """Deprecated: `MORLD_PPO.replace(**changes)` (MORL/D's preset of the PPO section)."""
    warnings.warn(
        "morl.algorithms.morld.PPOSection(...) is deprecated, use MORLD_PPO.replace(...)", DeprecationWarning, 2
    )
    return MORLD_PPO.replace(**changes)


__all__ = ["MORLD_PPO", "MORLD", "MORLDConfig", "MORLDTrainer", "SACSection", "make_trainer"]
