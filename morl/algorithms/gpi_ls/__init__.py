"""GPI-LS (Alegre, Bazzan, Roijers, Nowé and da Silva, AAMAS 2023): generalised policy
improvement over the trained weights, and linear support choosing the corner weight with
the largest predicted improvement to train next.

    from morl.algorithms.gpi_ls import GPILSConfig, make_trainer
    trainer = make_trainer(GPILSConfig(env="deep-sea-treasure-v0"))
    state = trainer.init(jax.random.key(0))
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)
    front = trainer.front(state)          # Front(returns [n, m], weights [n, m], member [n])

Registered as "gpi-ls" (`morl train gpi-ls --env ID`).
"""

from morl.algorithms import register_algorithm
from morl.algorithms.gpi_ls.config import GPILSConfig
from morl.algorithms.gpi_ls.train import GPILS, GPILSState, GPILSTrainer, Support, corner_weights_2d, make_trainer

register_algorithm("gpi-ls", GPILSConfig, make_trainer)

__all__ = ["GPILS", "GPILSConfig", "GPILSState", "GPILSTrainer", "Support", "corner_weights_2d", "make_trainer"]
