"""MORL/D: decomposition-based MORL with the whole population trained in one program.

    from morl.algorithms.morld import MORLDConfig, make_trainer
    trainer = make_trainer(MORLDConfig(env="deep-sea-treasure-v0", total_steps=200_000))
    state = trainer.init(jax.random.key(0))
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)
    front = trainer.front(state)          # Front(returns [n, m], weights [n, m], member [n])

Base learner: `MORLDConfig(learner="ppo", ppo=PPOSection(...))` (default) or
`MORLDConfig(learner="sac", sac=SACSection(...))`, optionally with
`cooperation="shared_buffer"` (one replay buffer for the whole population).
"""

from morl.algorithms import register_algorithm
from morl.algorithms.morld.config import MORLDConfig, PPOSection, SACSection
from morl.algorithms.morld.train import MORLDState, MORLDTrainer, make_trainer

register_algorithm("morld", MORLDConfig, make_trainer)

__all__ = ["MORLDConfig", "MORLDState", "MORLDTrainer", "PPOSection", "SACSection", "make_trainer"]
