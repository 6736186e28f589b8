"""Preference-conditioned PPO: one actor and vector critic conditioned on the weight,
trained on weights drawn per env and rollout; its front is read off a dense weight set.

    from morl.algorithms.conditioned_ppo import ConditionedPolicyConfig, make_trainer
    trainer = make_trainer(ConditionedPolicyConfig(env="deep-sea-treasure-v0", network="hyper"))
    state = trainer.init(jax.random.key(0))
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)
    front = trainer.front(state)

`morl train conditioned-ppo`; docs/conditioned_ppo.md.
"""

from morl.algorithms import register_algorithm
from morl.algorithms.conditioned_ppo.config import CONDITIONED_PPO, ConditionedPolicyConfig
from morl.algorithms.conditioned_ppo.train import ConditionedPPOLearner, hyper_networks, make_trainer

register_algorithm("conditioned-ppo", ConditionedPolicyConfig, make_trainer)

__all__ = ["CONDITIONED_PPO", "ConditionedPolicyConfig", "ConditionedPPOLearner", "hyper_networks", "make_trainer"]
