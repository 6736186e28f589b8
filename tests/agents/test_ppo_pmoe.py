"""PPO with PMOE mixture-of-experts actors: learning on mo-pendulum, experts and router on a
task with two separated optima, gradient routing of the router loss, one compile,
determinism and input validation."""

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import morl
from morl.agents import ppo
from morl.decomposition.scalarization import make_scalarization
from morl.networks import pmoe
from tests.agents.test_sac import TwoPeaks, _bumps

PENDULUM = ppo.PPOConfig(
    num_envs=4, num_steps=200, num_epochs=4, num_minibatches=4, hidden_sizes=(16, 16), actor="pmoe_gumbel",
    normalize_returns=True, normalize_observations=True,
)
PENDULUM_UPDATES = 20
PEAKS = ppo.PPOConfig(
    num_envs=64, num_steps=1, num_epochs=4, num_minibatches=2, hidden_sizes=(32, 32), actor="pmoe", max_eval_steps=1,
)


def _pendulum():
    return morl.envs.make("mo-pendulum-v0")


def test_gumbel_pmoe_on_pendulum_learns_to_save_torque_and_compiles_once():
    """All weight on the torque cost: the mixture must cut its torque, so the training
    episodes' torque cost at least halves (the Gaussian actor's check in test_ppo.py);
    `update` traces once, also across a change of weights."""
    learner = ppo.make(_pendulum(), PENDULUM)
    assert isinstance(learner.actor, ppo.pmoe.PMOEActor) and learner.action_value is not None
    hyper = ppo.PPOHyperparams(learning_rate=3e-3, ent_coef=0.0)
    update = jax.jit(chex.assert_max_traces(learner.update, n=1))
    state = jax.jit(learner.init)(jax.random.key(0), jnp.array([0.0, 1.0]), hyper)
    torque = []
    for _ in range(PENDULUM_UPDATES):
        state, metrics = update(state)
        torque.append(float(metrics["episode_return"][1]))
        assert np.isfinite(float(metrics["q_loss"])) and np.isfinite(float(metrics["router_loss"]))
    torque = np.array(torque)
    assert torque[-3:].mean() > 2 * torque[:3].mean(), torque  # costs are negative: at least halved
    state, _ = update(state.replace(weights=jnp.array([0.5, 0.5])))  # no retrace
    assert int(state.update_count) == PENDULUM_UPDATES + 1
    for net in ("actor", "critic", "q"):  # observation statistics saw every rollout observation
        count = state.params[net]["obs_norm"]["ObservationNormalizer_0"]["count"]
        assert float(count) == (PENDULUM_UPDATES + 1) * PENDULUM.batch_size
    mixture = learner.actor.apply(state.params["actor"], state.obs, state.weights)
    assert isinstance(mixture, pmoe.Mixture) and mixture.mean.shape == (PENDULUM.num_envs, 4, 1)
    action = learner.act(state.params, state.obs[0], state.weights, jax.random.key(0), deterministic=False)
    assert action.shape == (1,) and -2.0 <= float(action[0]) <= 2.0


@pytest.mark.parametrize("kind", ["pmoe", "pmoe_gumbel"])
def test_router_loss_reaches_only_the_router_and_q_loss_only_q(kind):
    learner = ppo.make(_pendulum(), dataclasses.replace(PENDULUM, actor=kind))
    weights = jnp.array([0.3, 0.7])
    obs = jax.random.normal(jax.random.key(0), (8, 3))
    action = jax.random.normal(jax.random.key(1), (8, 1))
    targets = jax.random.normal(jax.random.key(2), (8, 2))
    params = {
        "actor": learner.actor.init(jax.random.key(3), obs[0], weights),
        "critic": learner.critic.init(jax.random.key(4), obs[0], weights),
        "q": learner.action_value.init(jax.random.key(5), obs[0], action[0], weights),
    }
    score = lambda q: make_scalarization("weighted_sum").value(q, weights)

    def losses(params):
        router, q_error, _ = ppo.pmoe.auxiliary_losses(
            params, obs, action, targets, weights, jax.random.key(6),
            kind=kind, actor=learner.actor, action_value=learner.action_value, score=score, temperature=1.0,
        )
        return router, q_error

    grads = jax.jit(lambda p: (jax.grad(lambda p: losses(p)[0])(p), jax.grad(lambda p: losses(p)[1])(p)))
    router_grads, q_grads = grads(params)
    nonzero = lambda tree: {
        jax.tree_util.keystr(path) for path, g in jax.tree_util.tree_leaves_with_path(tree) if np.any(np.asarray(g) != 0)
    }
    assert nonzero(router_grads) and all(
        path.startswith("['actor']['params']['mixture']['router']") for path in nonzero(router_grads)
    ), nonzero(router_grads)
    assert nonzero(q_grads) and all(path.startswith("['q']['params']") for path in nonzero(q_grads)), nonzero(q_grads)
    # The surrogate's view of the mixture: the router is constant, the experts are not.
    view = lambda p: ppo.pmoe.policy_view(learner.actor.apply(p, obs, weights)).log_prob(action).sum()
    view_grads = nonzero(jax.jit(jax.grad(view))(params["actor"]))
    assert not any("'router'" in path for path in view_grads), view_grads
    assert any("'expert_mean'" in path for path in view_grads) and any("'expert_log_std'" in path for path in view_grads)


def test_pmoe_experts_distinct_router_non_uniform_on_two_optima_and_deterministic():
    """TwoPeaks (test_sac.py): one step, reward `[bump(a - 0.7), bump(a + 0.7)]`; under
    weights (0.5, 0.5) both +-0.7 are optimal."""
    env = TwoPeaks()
    learner = ppo.make(env, PEAKS)
    weights = jnp.array([0.5, 0.5])
    hyper = ppo.PPOHyperparams(learning_rate=PEAKS_LR, ent_coef=PEAKS_ENT)
    train = jax.jit(learner.make_train(PEAKS_UPDATES))
    state, metrics = train(jax.random.key(PEAKS_SEED), weights, hyper)
    again, metrics_again = train(jax.random.key(PEAKS_SEED), weights, hyper)
    chex.assert_trees_all_equal((state.params, metrics), (again.params, metrics_again))  # same seed, same numbers

    mixture = learner.actor.apply(state.params["actor"], jnp.ones(1), weights)
    means = np.clip(np.asarray(mixture.mean[:, 0]), -1.0, 1.0)
    probs = np.asarray(mixture.probs)
    assert means.max() - means.min() > 0.5, means  # experts distinct
    assert probs.max() > 0.4 and probs.min() < 0.1, probs  # router far from uniform (0.25 each)
    # deterministic action = mean of the most probable expert, scored by numpy
    action = float(learner.act(state.params, jnp.ones(1), weights, None, deterministic=True)[0])
    assert action == pytest.approx(float(means[np.argmax(probs)]), abs=1e-6)
    assert float(_bumps(action) @ np.asarray(weights)) > 0.4, (action, means, probs)


# Tuned on seeds 0-7 (lr 3e-3, ent 0.01, 600 updates of 64 one-step episodes): all 8 pass
# these checks; with lr 1e-3 and no entropy bonus 5 of 8 did.
PEAKS_LR, PEAKS_ENT, PEAKS_UPDATES, PEAKS_SEED = 3e-3, 0.01, 600, 0


def test_bad_pmoe_config_is_named():
    with pytest.raises(ValueError, match="actor 'pmoe' needs a 1-D Box"):
        ppo.make(morl.envs.make("deep-sea-treasure-v0", float_state=True), ppo.PPOConfig(actor="pmoe"))
    with pytest.raises(ValueError, match="num_experts=1"):
        ppo.PPOConfig(actor="pmoe", num_experts=1)
    with pytest.raises(ValueError, match="router_coef=-1"):
        ppo.PPOConfig(router_coef=-1.0)
    with pytest.raises(ValueError, match="gumbel_temperature=0"):
        ppo.PPOConfig(gumbel_temperature=0.0)
