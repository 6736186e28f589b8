"""Envelope Q-learning (Yang, Sun and Narasimhan, NeurIPS 2019): one weight-conditioned
vector Q-network for every simplex weight, trained with the envelope target.

    from morl.algorithms.envelope import EnvelopeConfig, make_trainer
    trainer = make_trainer(EnvelopeConfig(env="deep-sea-treasure-v0"))
    state = trainer.init(jax.random.key(0))
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)
    front = trainer.front(state)          # Front(returns [n, m], weights [n, m], member [n])

Registered as "envelope" (`morl train envelope --env ID`).
"""

from morl.algorithms import register_algorithm
from morl.algorithms.envelope.config import EnvelopeConfig
from morl.algorithms.envelope.train import Envelope, EnvelopeState, EnvelopeTrainer, make_trainer

register_algorithm("envelope", EnvelopeConfig, make_trainer)

__all__ = ["Envelope", "EnvelopeConfig", "EnvelopeState", "EnvelopeTrainer", "make_trainer"]
