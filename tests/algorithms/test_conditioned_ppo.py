"""Preference-conditioned PPO: config errors, the hypernetwork heads, PPO's per-env weights
hook, a tiny end-to-end run on deep-sea-treasure (front shapes, policies, resumed chunks
equal uninterrupted ones) and, under `-m slow`, a continuous port, vmapped runs, and a
learning check: both networks find most of DST's front on three seeds."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morl.agents import ppo
from morl.algorithms import get_algorithm
from morl.algorithms.conditioned_ppo import CONDITIONED_PPO, ConditionedPolicyConfig, make_trainer
from morl.envs import make as make_env
from morl.io.checkpoint import Checkpointer
from morl.networks.hyper import HyperGaussianActor, HyperVectorCritic
from morl.networks.mlp import GaussianActor
from morl.pareto import is_non_dominated

TINY_PPO = dataclasses.replace(
    CONDITIONED_PPO, num_envs=4, num_steps=16, num_epochs=1, num_minibatches=2, hidden_sizes=(16, 16)
)
DST = ConditionedPolicyConfig(
    env="deep-sea-treasure-v0", total_steps=4 * 16 * 6, network="hyper", hyper_sizes=(8,), num_eval_weights=5,
    eval_period=2, max_eval_steps=30, archive_capacity=8, chunk_iterations=3, ppo=TINY_PPO,
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
        (dict(network="film"), "network"),
        (dict(hyper_sizes=()), "hyper_sizes"),
        (dict(weight_alpha=0.0), "weight_alpha"),
        (dict(num_eval_weights=0), "num_eval_weights"),
        (dict(eval_gamma=1.5), "eval_gamma"),
        (dict(ref_point=(0.0,)), "ref_point"),
        (dict(ppo=dataclasses.replace(TINY_PPO, weight_conditioned=False)), "ppo.weight_conditioned"),
        (dict(ppo=dataclasses.replace(TINY_PPO, actor="pmoe")), "ppo.actor"),
        (dict(ppo=dataclasses.replace(TINY_PPO, num_minibatches=3)), "num_minibatches"),
        (dict(ppo=dataclasses.replace(TINY_PPO, learning_rate=0.0)), "ppo.learning_rate"),
    ],
)
def test_bad_config_names_the_field(change, match):
    with pytest.raises(ValueError, match=match):
        make_trainer(dataclasses.replace(DST, **change))


def test_registered():
    assert get_algorithm("conditioned-ppo").config_cls is ConditionedPolicyConfig
    assert ConditionedPolicyConfig().ppo.weight_conditioned


def test_hypernetwork_starts_as_the_plain_network_and_reads_the_weight():
    obs, weights = jnp.ones((3, 5)), jnp.asarray([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    actor = HyperGaussianActor(2, (8, 8), "tanh", (4,))
    params = jax.jit(actor.init)(jax.random.key(0), obs, weights)
    mean_of = jax.jit(lambda p: actor.apply(p, obs, weights).mean)
    first = mean_of(params)
    assert first.shape == (3, 2) and np.allclose(first, first[0])  # generator output starts at zero
    generator = params["params"]["HyperDense_0"]["Dense_1"]
    bumped = jax.tree_util.tree_map(lambda x: x + 0.1, generator)
    params = {"params": {**params["params"], "HyperDense_0": {**params["params"]["HyperDense_0"], "Dense_1": bumped}}}
    mean = mean_of(params)
    assert not np.allclose(mean[0], mean[2])  # now the weight matters
    critic = HyperVectorCritic(2, (8,), "tanh", (4,))
    values = jax.jit(lambda k: critic.apply(critic.init(k, obs[0], weights[0]), obs, weights[1]))(jax.random.key(1))
    assert values.shape == (3, 2)


@pytest.mark.slow
def test_ppo_per_env_weights_hook():
    """A `[num_envs, m]` weight is one weight per env: acting, the critic and the
    scalarised advantages use each env's own; a single `[m]` weight is unchanged."""
    env = make_env("deep-sea-treasure-v0")
    config = TINY_PPO.ppo_config(0.99, 30, None)
    agent = ppo.make(env, config)
    state = agent.init(jax.random.key(0), jnp.asarray([0.5, 0.5]))
    update = jax.jit(agent.update)
    single, _ = update(state)
    per_env = jnp.asarray([[0.5, 0.5]] * 4)
    same, _ = update(state.replace(weights=per_env))  # equal weights per env: the same update
    for x, y in zip(jax.tree_util.tree_leaves(same.params), jax.tree_util.tree_leaves(single.params)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    mixed, metrics = update(state.replace(weights=jnp.asarray([[1.0, 0.0], [0.0, 1.0]] * 2)))
    assert metrics["scalarization_gradient"].shape == (4, 2)
    assert not _leaves_equal(mixed.params, single.params)
    module = GaussianActor(1, (4,), "tanh", True)
    box = ppo.make(make_env("mo-mountaincarcontinuous-v0"), config, actor_module=module)
    assert box.actor is module


@pytest.fixture(scope="module")
def dst_run():
    trainer = make_trainer(DST)
    states = [trainer.init(jax.random.key(0))]
    while not trainer.done(states[-1]):
        state, metrics = trainer.run_chunk(states[-1])
        states.append(state)
    return trainer, states, metrics


def test_dst_run_front_and_policies(dst_run):
    trainer, states, metrics = dst_run
    assert trainer.env_steps(states[-1]) == DST.total_steps and len(states) == 3
    front = trainer.front(states[-1])
    n = front.returns.shape[0]
    assert 1 <= n <= DST.archive_capacity and front.returns.shape == (n, 2) and front.weights.shape == (n, 2)
    assert np.all(is_non_dominated(front.returns)) and np.allclose(front.weights.sum(1), 1.0)
    assert metrics["member_returns"].shape == (5, 2)
    action = jax.jit(trainer.policy(states[-1], int(front.member[0])))(jnp.zeros(2), jax.random.key(1))
    assert int(action) in range(4)
    weights = np.asarray(states[-1].members.weights)
    assert weights.shape == (4, 2) and len(np.unique(weights[:, 0])) == 4  # Dirichlet draws, one per env
    any_weight = jax.jit(trainer.conditioned_policy(states[-1], [0.3, 0.7]))  # off the evaluation weights
    assert int(any_weight(jnp.zeros(2), jax.random.key(1))) in range(4)


def test_resumed_chunk_equals_uninterrupted(dst_run):
    trainer, states, _ = dst_run
    again, _ = trainer.run_chunk(jax.tree_util.tree_map(lambda x: x, states[1]))
    assert _leaves_equal(again, states[2])


def test_checkpoint_restored_mid_run_continues_as_uninterrupted(dst_run, tmp_path):
    """Save after chunk 1, restore into a fresh trainer (the `morl train --resume` path:
    `like` is `eval_shape` of `init`), train on: every state leaf and the front equal the
    uninterrupted run's."""
    trainer, states, _ = dst_run
    checkpoints = Checkpointer(tmp_path / "ck", asynchronous=False)
    checkpoints.save(1, states[1], {"chunk": 1, "wall_time": 0.0})
    fresh = make_trainer(DST)
    restored, meta = checkpoints.restore(1, jax.eval_shape(fresh.init, jax.random.key(0)))
    checkpoints.close()
    assert meta["chunk"] == 1 and _leaves_equal(restored, states[1])
    while not fresh.done(restored):
        restored, _ = fresh.run_chunk(restored)
    assert _leaves_equal(restored, states[-1])
    np.testing.assert_array_equal(fresh.front(restored).returns, trainer.front(states[-1]).returns)


@pytest.mark.slow
def test_continuous_port_and_vmapped_runs():
    config = dataclasses.replace(DST, env="mo-mountaincarcontinuous-v0", network="concat", max_eval_steps=50)
    trainer = make_trainer(config, num_runs=2, hparams={"ppo.learning_rate": np.asarray([2.5e-4, 1e-3])})
    state = trainer.init(jnp.stack([jax.random.key(0), jax.random.key(1)]))
    while not trainer.done(state):
        state, _ = trainer.run_chunk(state)
    single = make_trainer(dataclasses.replace(config, ppo=dataclasses.replace(TINY_PPO, learning_rate=1e-3)))
    one = single.init(jax.random.key(1))
    while not single.done(one):
        one, _ = single.run_chunk(one)
    np.testing.assert_allclose(trainer.front(state, run=1).returns, single.front(one).returns, rtol=1e-4, atol=1e-4)
    action = trainer.policy(state, int(trainer.front(state).member[0]))(jnp.zeros(2), jax.random.key(0))
    assert action.shape == (1,)


#: DST, discounted with 0.99: the ten treasures' returns (treasure * 0.99**(t-1), -(1 - 0.99**t) / 0.01).
def _dst_front() -> np.ndarray:
    return make_env("deep-sea-treasure-v0").pareto_front(0.99)


@pytest.mark.slow
@pytest.mark.parametrize("network", ["concat", "hyper"])
def test_dst_learns_most_of_the_front_on_three_seeds(network):
    ppo_section = dataclasses.replace(
        CONDITIONED_PPO, num_envs=8, num_steps=64, learning_rate=1e-3, ent_coef=0.05, normalize_returns=True
    )
    config = ConditionedPolicyConfig(
        env="deep-sea-treasure-v0", total_steps=100_000, network=network, num_eval_weights=21, eval_period=20,
        max_eval_steps=100, chunk_iterations=20, ppo=ppo_section,
    )  # fmt: skip
    trainer = make_trainer(config, num_runs=3)
    state = trainer.init(jnp.stack([jax.random.key(seed) for seed in range(3)]))
    while not trainer.done(state):
        state, _ = trainer.run_chunk(state)
    true_front = np.asarray(_dst_front())
    for run in range(3):
        found = trainer.front(state, run=run).returns
        hits = sum(np.any(np.all(np.abs(found - point) < 1e-3, axis=1)) for point in true_front)
        assert hits >= 9, (run, hits, found)  # measured: 10 of 10 on each seed, both networks
