"""CAPQL (Lu, Herman, Yu, ICLR 2023): one weight-conditioned SAC for every weight.

    from morl.algorithms.capql import CAPQLConfig, make_trainer
    trainer = make_trainer(CAPQLConfig(env="mo-mountaincarcontinuous-v0", total_steps=100_000))
    state = trainer.init(jax.random.key(0))
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)
    front = trainer.front(state)     # non-dominated returns of the policy on the evaluation weights

`morl train capql`; docs/capql.md.
"""

from morl.algorithms import register_algorithm
from morl.algorithms.capql.config import CAPQL_SAC, CAPQLConfig
from morl.algorithms.capql.train import CAPQLLearner, angle_weights, make_trainer

register_algorithm("capql", CAPQLConfig, make_trainer)

__all__ = ["CAPQL_SAC", "CAPQLConfig", "CAPQLLearner", "angle_weights", "make_trainer"]
