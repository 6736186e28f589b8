"""CAPQL: config errors, the training-weight sampler, the SAC hooks it rides on, a tiny
end-to-end run on continuous mountain car (front shapes, policies, resumed chunks equal
uninterrupted ones) and, under `-m slow`, deep-sea-treasure (discrete SAC), vmapped runs
equal to single runs, and a learning check on mo-pendulum over three seeds."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morl.agents.sac import losses
from morl.algorithms import get_algorithm
from morl.algorithms.capql import CAPQL_SAC, CAPQLConfig, angle_weights, make_trainer
from morl.pareto import hypervolume, is_non_dominated

TINY_SAC = dataclasses.replace(
    CAPQL_SAC, num_envs=2, gradient_steps=2, batch_size=32, buffer_size=2_000, learning_starts=64, hidden_sizes=(16, 16)
)
CAR = CAPQLConfig(
    env="mo-mountaincarcontinuous-v0", total_steps=400, num_eval_weights=5, eval_period=50, eval_episodes=1,
    max_eval_steps=50, archive_capacity=8, chunk_iterations=100, sac=TINY_SAC,
)  # fmt: skip


def _leaves_equal(a, b) -> bool:
    data = lambda x: jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x  # noqa: E731
    return all(
        np.array_equal(np.asarray(data(x)), np.asarray(data(y)))
        for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b))
    )


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(total_steps=0), "total_steps"),
        (dict(num_eval_weights=0), "num_eval_weights"),
        (dict(eval_period=0), "eval_period"),
        (dict(weight_angle=90.0), "weight_angle"),
        (dict(weight_sampler="grid"), "weight_sampler"),
        (dict(ref_point=(0.0, 0.0, 0.0)), "ref_point"),
        (dict(sac=dataclasses.replace(TINY_SAC, weight_conditioned=False)), "weight_conditioned"),
        (dict(sac=dataclasses.replace(TINY_SAC, actor="pmoe")), "sac.actor"),
        (dict(sac=dataclasses.replace(TINY_SAC, init_alpha=0.0)), "sac.init_alpha"),
        (dict(sac=dataclasses.replace(TINY_SAC, buffer_size=1)), "buffer_size"),
    ],
)
def test_bad_config_names_the_field(change, match):
    with pytest.raises(ValueError, match=match):
        make_trainer(dataclasses.replace(CAR, **change))


def test_registered_with_capql_defaults():
    algorithm = get_algorithm("capql")
    assert algorithm.config_cls is CAPQLConfig
    sac = CAPQLConfig().sac
    # morl-baselines' CAPQL: fixed temperature 0.2, batch 128, one gradient step per env step
    assert (CAPQLConfig().tune_alpha, sac.init_alpha, sac.batch_size, sac.weight_conditioned) == (False, 0.2, 128, True)
    assert sac.gradient_steps == sac.num_envs * sac.rollout_steps


@pytest.mark.parametrize("m", [2, 3])
def test_angle_weights_lie_in_the_cone(m):
    weights = np.asarray(angle_weights(jax.random.key(0), m, 2_000, math.radians(22.5)))
    assert weights.shape == (2_000, m)
    assert np.all(weights > 0) and np.allclose(weights.sum(1), 1.0, atol=1e-5)
    centre = np.ones(m) / np.sqrt(m)
    cosine = weights @ centre / np.linalg.norm(weights, axis=1)
    angles = np.degrees(np.arccos(np.clip(cosine, -1, 1)))
    assert angles.max() <= 22.5 + 1e-3 and angles.max() > 20.0  # fills the cone up to its edge


def test_elementwise_twin_minimum():
    q = jnp.asarray([[[1.0, 5.0]], [[3.0, 2.0]]])  # twins [2, B=1, m=2]
    weights = jnp.asarray([[0.5, 0.5]])
    score = lambda q, w, ideal: jnp.sum(q * w, -1)  # noqa: E731
    nets = losses.SACNetworks(None, None, "gaussian", score)
    vector, value = losses.min_twin(nets, q, weights, None)
    assert np.allclose(vector, [[3.0, 2.0]]) and np.allclose(value, [2.5])  # the twin with the lower w.Q
    vector, value = losses.min_twin(dataclasses.replace(nets, elementwise_min=True), q, weights, None)
    assert np.allclose(vector, [[1.0, 2.0]]) and np.allclose(value, [1.5])  # CAPQL: min per objective


@pytest.fixture(scope="module")
def car_run():
    trainer = make_trainer(CAR)
    states = [trainer.init(jax.random.key(0))]
    while not trainer.done(states[-1]):
        state, metrics = trainer.run_chunk(states[-1])
        states.append(state)
    return trainer, states, metrics


def test_car_run_front_and_policies(car_run):
    trainer, states, metrics = car_run
    assert trainer.env_steps(states[-1]) == 400 and len(states) == 3
    front = trainer.front(states[-1])
    n = front.returns.shape[0]
    assert 1 <= n <= CAR.archive_capacity and front.returns.shape == (n, 2) and front.weights.shape == (n, 2)
    assert np.all(is_non_dominated(front.returns)) and np.allclose(front.weights.sum(1), 1.0)
    assert metrics["member_returns"].shape == (5, 2) and metrics["alpha"] == pytest.approx(0.2)  # fixed temperature
    policy = trainer.policy(states[-1], int(front.member[0]))
    action = jax.jit(policy)(jnp.zeros(2), jax.random.key(1))
    assert action.shape == (1,) and -1.0 <= float(action[0]) <= 1.0
    with pytest.raises(ValueError, match="not in the archive"):
        trainer.policy(states[-1], CAR.archive_capacity + 3)
    weights = np.asarray(states[-1].members.weights)
    assert weights.shape == (2, 2) and not np.allclose(weights[0], weights[1])  # one training weight per env


def test_resumed_chunk_equals_uninterrupted(car_run):
    trainer, states, _ = car_run
    again, _ = trainer.run_chunk(jax.tree_util.tree_map(lambda x: x, states[1]))
    assert _leaves_equal(again, states[2])


@pytest.mark.slow
def test_deep_sea_treasure_discrete():
    config = dataclasses.replace(
        CAR, env="deep-sea-treasure-v0", total_steps=2_000, weight_sampler="dirichlet", eval_period=100,
        sac=dataclasses.replace(TINY_SAC, init_alpha=0.05, hidden_sizes=(32, 32)),
    )  # fmt: skip
    trainer = make_trainer(config)
    state = trainer.init(jax.random.key(0))
    while not trainer.done(state):
        state, _ = trainer.run_chunk(state)
    front = trainer.front(state)
    assert front.returns.shape[1] == 2 and np.all(is_non_dominated(front.returns))
    assert int(trainer.policy(state, int(front.member[0]))(jnp.zeros(2), jax.random.key(0))) in range(4)


@pytest.mark.slow
def test_vmapped_runs_equal_single_runs():
    trainer = make_trainer(CAR, num_runs=2, hparams={"sac.actor_lr": np.asarray([3e-4, 1e-3])})
    state = trainer.init(jnp.stack([jax.random.key(0), jax.random.key(1)]))
    state, _ = trainer.run_chunk(state)
    single = make_trainer(dataclasses.replace(CAR, sac=dataclasses.replace(TINY_SAC, actor_lr=1e-3)))
    one = single.run_chunk(single.init(jax.random.key(1)))[0]
    np.testing.assert_allclose(trainer.front(state, run=1).returns, single.front(one).returns, rtol=1e-4, atol=1e-4)


#: mo-pendulum (swing-up error, torque cost): the untrained policy hangs; a trained one
#: swings up under weights on the error and spends little torque under weights on the cost.
PENDULUM = CAPQLConfig(
    env="mo-pendulum-v0", total_steps=8_000, eval_gamma=1.0, weight_sampler="dirichlet", num_eval_weights=11,
    eval_period=500, eval_episodes=2, max_eval_steps=200, archive_capacity=32, chunk_iterations=500,
    sac=dataclasses.replace(CAPQL_SAC, num_envs=4, gradient_steps=4, batch_size=128, buffer_size=10_000,
                            learning_starts=1_000, hidden_sizes=(64, 64), actor_lr=1e-3, critic_lr=1e-3),
)  # fmt: skip


@pytest.mark.slow
def test_pendulum_learns_on_three_seeds():
    trainer = make_trainer(PENDULUM, num_runs=3)
    state = trainer.init(jnp.stack([jax.random.key(seed) for seed in range(3)]))
    ref = (-2_000.0, -50.0)
    initial = [hypervolume(trainer.front(state, run=r).returns, ref) for r in range(3)]
    while not trainer.done(state):
        state, metrics = trainer.run_chunk(state)
    final = [hypervolume(trainer.front(state, run=r).returns, ref) for r in range(3)]
    for run in range(3):
        returns = np.asarray(metrics["member_returns"][run])  # [11, 2] on the evaluation weights
        assert final[run] > 2.0 * initial[run], (initial, final)
        assert returns[0, 0] > -400.0, returns  # w = (1, 0): swung up (hanging costs about -1,000)
