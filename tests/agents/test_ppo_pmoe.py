"""PPO with PMOE mixture-of-experts actors: learning on mo-pendulum, experts and router on a
task with two separated optima (over seeds, one vmapped program), gradient routing of the
router loss, the experts' initial layout and std bounds, one compile, determinism and
input validation."""

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
    episodes' torque cost at least halves (mean of the last 3 of 20 updates against the
    first 3) on at least two of three seeds, trained as one vmapped program (measured, 5
    seeds: 7.0-16.5 times lower after 20 updates, 2.4-4.9 after 12); `update` traces once,
    also across a change of weights."""
    chex.clear_trace_counter()
    seeds = 3
    learner = ppo.make(_pendulum(), PENDULUM)
    assert isinstance(learner.actor, ppo.pmoe.PMOEActor) and learner.action_value is not None
    hyper = ppo.PPOHyperparams(learning_rate=3e-3, ent_coef=0.0)
    update = jax.jit(jax.vmap(chex.assert_max_traces(learner.update, n=1)))
    init = jax.vmap(learner.init, in_axes=(0, None, None))
    state = jax.jit(init)(jax.random.split(jax.random.key(0), seeds), jnp.array([0.0, 1.0]), hyper)
    torque = []
    for _ in range(PENDULUM_UPDATES):
        state, metrics = update(state)
        torque.append(np.asarray(metrics["episode_return"][:, 1]))
        assert np.all(np.isfinite(np.asarray(metrics["q_loss"]))) and np.all(np.isfinite(np.asarray(metrics["router_loss"])))
    torque = np.array(torque)  # [updates, seeds]
    ratio = torque[:3].mean(0) / torque[-3:].mean(0)  # costs are negative: > 2 is at least halved
    assert np.sum(ratio > 2) >= 2, torque
    state, _ = update(state.replace(weights=jnp.broadcast_to(jnp.array([0.5, 0.5]), (seeds, 2))))  # no retrace
    assert np.all(np.asarray(state.update_count) == PENDULUM_UPDATES + 1)
    for net in ("actor", "critic", "q"):  # observation statistics saw every rollout observation
        count = state.params[net]["obs_norm"]["ObservationNormalizer_0"]["count"]
        assert np.all(np.asarray(count) == (PENDULUM_UPDATES + 1) * PENDULUM.batch_size)
    first = jax.tree_util.tree_map(lambda x: x[0], state)
    mixture = learner.actor.apply(first.params["actor"], first.obs, first.weights)
    assert isinstance(mixture, pmoe.Mixture) and mixture.mean.shape == (PENDULUM.num_envs, 4, 1)
    action = learner.act(first.params, first.obs[0], first.weights, jax.random.key(0), deterministic=False)
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


# TwoPeaks (test_sac.py): one step, reward `[bump(a - 0.7), bump(a + 0.7)]`. Under weights
# (0.5, 0.5) both +-0.7 pay 0.5; under (0.75, 0.25) +0.7 pays 0.75 and -0.7 only 0.25.
PEAKS_LR, PEAKS_ENT, PEAKS_UPDATES = 1e-3, 0.01, 600
EQUAL, UNEQUAL = (0.5, 0.5), (0.75, 0.25)
SHARP = 0.1  # an expert with std below this is sharp (EXPERT_STD_MIN is 0.05); above, it only explores


def _train_peaks(num_seeds: int):
    """`num_seeds` members under EQUAL and as many under UNEQUAL weights, one vmapped
    program. Returns per weight vector `(mixture at the one observation [S, K, 1],
    deterministic actions [S])`."""
    learner = ppo.make(TwoPeaks(), PEAKS)
    weights = jnp.repeat(jnp.asarray([EQUAL, UNEQUAL], jnp.float32), num_seeds, axis=0)  # [2S, 2]
    hyper = ppo.PPOHyperparams(learning_rate=PEAKS_LR, ent_coef=PEAKS_ENT)
    train = jax.jit(jax.vmap(learner.make_train(PEAKS_UPDATES), in_axes=(0, 0, None)))
    states, _ = train(jax.random.split(jax.random.key(0), 2 * num_seeds), weights, hyper)
    obs = jnp.ones((2 * num_seeds, 1))
    mixtures = jax.vmap(learner.actor.apply)(states.params["actor"], obs, weights)
    actions = jax.vmap(lambda p, o, w: learner.act(p, o, w, None, deterministic=True))(states.params, obs, weights)
    actions = np.asarray(actions[:, 0])
    part = lambda rows: (jax.tree_util.tree_map(lambda x: x[rows], mixtures), actions[rows])  # noqa: E731
    return part(slice(None, num_seeds)), part(slice(num_seeds, None))


def _sharp_at(mixtures, where: float) -> np.ndarray:
    """`[S, K]` bool: expert sharp and within 0.1 of the action `where`."""
    mean, std = np.asarray(mixtures.mean[..., 0]), np.exp(np.asarray(mixtures.log_std[..., 0]))
    return (std < SHARP) & (np.abs(mean - where) < 0.1)


def _check_peaks(num_seeds: int, min_passing: int) -> None:
    """Under EQUAL weights sharp experts sit on both optima (distinct experts: the mixture
    keeps both modes) and the deterministic action pays > 0.4 of 0.5; under UNEQUAL weights
    the router (frequency-approximate gradient) gives > 0.9 of its mass to sharp experts on
    the better optimum, and the deterministic action sits on it. Each on at least
    `min_passing` of `num_seeds` seeds; payoffs scored by numpy."""
    (mixtures, actions), (unequal, unequal_actions) = _train_peaks(num_seeds)
    both = _sharp_at(mixtures, 0.7).any(-1) & _sharp_at(mixtures, -0.7).any(-1)
    pays = _bumps(actions) @ np.asarray(EQUAL) > 0.4
    assert np.sum(both & pays) >= min_passing, (np.asarray(mixtures.mean[..., 0]), np.asarray(mixtures.log_std[..., 0]))
    # the deterministic action is the most probable expert's mean (clipped to the box)
    means, probs = np.asarray(mixtures.mean[..., 0]), np.asarray(mixtures.probs)
    best = np.take_along_axis(means, np.argmax(probs, -1)[:, None], -1)[:, 0]
    np.testing.assert_allclose(actions, np.clip(best, -1.0, 1.0), atol=1e-6)

    mass = np.sum(np.asarray(unequal.probs) * _sharp_at(unequal, 0.7), axis=-1)
    on_best = np.abs(unequal_actions - 0.7) < 0.1
    assert np.sum((mass > 0.9) & on_best) >= min_passing, (mass, unequal_actions)


def test_pmoe_keeps_both_optima_and_router_picks_the_better_one_over_seeds():
    _check_peaks(num_seeds=10, min_passing=9)


@pytest.mark.slow
def test_pmoe_keeps_both_optima_and_router_picks_the_better_one_over_30_seeds():
    _check_peaks(num_seeds=30, min_passing=27)


def test_pmoe_training_is_deterministic():
    learner = ppo.make(TwoPeaks(), PEAKS)
    hyper = ppo.PPOHyperparams(learning_rate=PEAKS_LR, ent_coef=PEAKS_ENT)
    train = jax.jit(learner.make_train(50))
    first, second = (train(jax.random.key(3), jnp.asarray(EQUAL), hyper) for _ in range(2))
    chex.assert_trees_all_equal((first[0].params, first[1]), (second[0].params, second[1]))


def test_ppo_experts_start_on_a_latin_hypercube_within_their_std_bounds():
    """Every action coordinate holds the K bin centres of [-1, 1] once; stds half a bin,
    clamped to [EXPERT_STD_MIN, EXPERT_STD_MAX]."""
    actor = ppo.pmoe.PMOEActor(action_dim=3, num_experts=4, hidden_sizes=(16,))
    obs = jax.random.normal(jax.random.key(1), (5, 2))
    params = actor.init(jax.random.key(0), obs[0])
    mixture = actor.apply(params, obs)
    centres = np.array([-0.75, -0.25, 0.25, 0.75])
    for state in range(5):
        mean = np.asarray(mixture.mean[state])  # [K, A]
        for coordinate in range(3):
            np.testing.assert_allclose(np.sort(mean[:, coordinate]), centres, atol=0.02)
    np.testing.assert_allclose(np.exp(np.asarray(mixture.log_std)), 0.25, rtol=0.05)
    orders = {tuple(np.argsort(np.asarray(mixture.mean[0, :, c]))) for c in range(3)}
    assert len(orders) > 1, orders  # coordinates permuted independently, not one diagonal
    heads = params["params"]["mixture"]["expert_log_std"]
    spread = {**heads, "bias": jnp.linspace(-10.0, 10.0, heads["bias"].shape[0])}
    wide = {"params": {"mixture": {**params["params"]["mixture"], "expert_log_std": spread}}}
    std = np.exp(np.asarray(actor.apply(wide, obs).log_std))
    assert std.min() >= ppo.pmoe.EXPERT_STD_MIN * (1 - 1e-6) and std.max() <= ppo.pmoe.EXPERT_STD_MAX * (1 + 1e-6)
    assert std.min() < 0.06 and std.max() > 0.99  # both bounds reached


def test_bad_pmoe_config_is_named():
    with pytest.raises(ValueError, match="actor 'pmoe' needs a 1-D Box"):
        ppo.make(morl.envs.make("deep-sea-treasure-v0", float_state=True), ppo.PPOConfig(actor="pmoe"))
    with pytest.raises(ValueError, match="num_experts=1"):
        ppo.PPOConfig(actor="pmoe", num_experts=1)
    with pytest.raises(ValueError, match="router_coef=-1"):
        ppo.PPOConfig(router_coef=-1.0)
    with pytest.raises(ValueError, match="gumbel_temperature=0"):
        ppo.PPOConfig(gumbel_temperature=0.0)
