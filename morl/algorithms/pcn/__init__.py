"""Pareto Conditioned Networks (Reymond, Bargiacchi and Nowé, AAMAS 2022): one policy
conditioned on a desired return and horizon, trained by supervised learning on the best
episodes.

    from morl.algorithms.pcn import PCNConfig, make_trainer, next_command
    trainer = make_trainer(PCNConfig(env="deep-sea-treasure-v0"))
    state = trainer.init(jax.random.key(0))
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)
    front = trainer.front(state)          # Front(returns [n, m], weights [n, m], member [n])
    policy = trainer.policy(state, int(front.member[0]))   # a MemoryPolicy: the command is its memory
    # per step: action = policy.act(obs, command); ...; command = next_command(command, reward),
    # from command = policy.memory; evaluate_policy, `morl eval` and `morl render` do this

Registered as "pcn" (`morl train pcn --env ID`).
"""

from morl.algorithms import register_algorithm
from morl.algorithms.pcn.config import PCNConfig
from morl.algorithms.pcn.train import CommandPolicy, Episodes, PCNState, PCNTrainer, make_trainer, next_command

register_algorithm("pcn", PCNConfig, make_trainer)

__all__ = ["CommandPolicy", "Episodes", "PCNConfig", "PCNState", "PCNTrainer", "make_trainer", "next_command"]
