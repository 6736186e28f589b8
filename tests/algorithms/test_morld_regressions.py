"""Regressions found while running the MORL/D experiments (experiments/morld/)."""

import jax
import numpy as np

from morl.algorithms.morld import MORLD_PPO, MORLDConfig, make_trainer


def test_tchebycheff_ideal_dominates_training_returns():
    """Tchebycheff's z* is "best seen + tau" (Felten et al., JAIR 2024; morl-baselines adapts
    its utopian point to every scalarised value). It used to be built from the deterministic
    evaluations only: on deep-sea-treasure an untrained deterministic policy never reaches a
    treasure (return (0, -63.4)), so z* sat below the stochastic training returns the SER
    gradient is evaluated at, `sign(z*_k - G_k)` flipped and every member learned to stay
    away from the treasures (HV 0 in all 5 seeds). After each update z* must lie at least
    tau above every member's latest training return estimate. Three seeds in one program
    (`num_runs`): the invariant on every run, and at least one run whose training episodes
    reached a treasure (which the check needs; one seed alone may not)."""
    config = MORLDConfig(
        env="deep-sea-treasure-concave-v0",
        scalarization="tchebycheff",
        pop_size=4,
        total_steps=4 * 4 * 16 * 4,
        eval_period=4,
        chunk_iterations=4,
        archive_capacity=8,
        ppo=MORLD_PPO.replace(num_envs=4, num_steps=16, num_epochs=1, num_minibatches=1),
    )
    trainer = make_trainer(config, num_runs=3)
    state, _ = trainer.run_chunk(trainer.init(jax.random.split(jax.random.key(0), 3)))
    estimates = np.asarray(state.members.return_estimate)  # [runs, pop, m]: mean discounted training returns
    assert np.any(estimates[..., 0] > 0), "no training episode reached a treasure; the test needs one"
    ideal = np.asarray(state.extra["ideal"])  # [runs, m]
    assert np.all(ideal >= estimates.max(axis=1) + config.ideal_tau - 1e-5), (ideal, estimates)
    np.testing.assert_array_equal(np.asarray(state.members.ideal), np.broadcast_to(ideal[:, None], estimates.shape))
