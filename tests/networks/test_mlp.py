import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morl.envs import spaces
from morl.networks import CategoricalActor, GaussianActor, VectorCritic, make_actor, update_observation_statistics


def test_vector_critic_has_one_head_per_objective_and_batches():
    critic = VectorCritic(reward_dim=3, hidden_sizes=(8, 8))
    obs = jnp.ones((5, 7, 4))
    params = critic.init(jax.random.key(0), obs[0, 0])
    values = critic.apply(params, obs)
    assert values.shape == (5, 7, 3)
    one = critic.apply(params, obs[2, 3])
    np.testing.assert_allclose(values[2, 3], one, rtol=1e-6)


def test_weight_conditioning_appends_weights_to_the_input():
    obs = jnp.array([0.3, -0.2])
    conditioned = VectorCritic(2, (8,), weight_conditioned=True)
    params = conditioned.init(jax.random.key(0), obs, jnp.array([0.5, 0.5]))
    # First layer reads obs (2) + weights (2).
    assert params["params"]["MLP_0"]["Dense_0"]["kernel"].shape == (4, 8)
    a = conditioned.apply(params, obs, jnp.array([1.0, 0.0]))
    b = conditioned.apply(params, obs, jnp.array([0.0, 1.0]))
    assert not np.allclose(a, b)
    # Weights broadcast against a batch of observations.
    batch = conditioned.apply(params, jnp.stack([obs, obs]), jnp.array([1.0, 0.0]))
    np.testing.assert_allclose(batch[0], a, rtol=1e-6)

    plain = VectorCritic(2, (8,))
    plain_params = plain.init(jax.random.key(0), obs, jnp.array([0.5, 0.5]))
    assert plain_params["params"]["MLP_0"]["Dense_0"]["kernel"].shape == (2, 8)
    np.testing.assert_array_equal(plain.apply(plain_params, obs, jnp.array([1.0, 0.0])), plain.apply(plain_params, obs, jnp.array([0.0, 1.0])))


def test_gaussian_log_std_is_state_independent():
    actor = GaussianActor(action_dim=2, hidden_sizes=(8,), log_std_init=-0.5)
    params = actor.init(jax.random.key(0), jnp.zeros(3))
    dist = actor.apply(params, jnp.ones((4, 3)))
    assert dist.mean.shape == (4, 2)
    np.testing.assert_array_equal(dist.log_std, [-0.5, -0.5])


def test_actor_initial_policy_is_near_uniform():
    actor = CategoricalActor(num_actions=4, hidden_sizes=(16, 16))
    params = actor.init(jax.random.key(0), jnp.zeros(2))
    dist = actor.apply(params, jax.random.normal(jax.random.key(1), (32, 2)))
    np.testing.assert_allclose(dist.entropy(), np.log(4), rtol=1e-3)


def test_make_actor_names_a_mismatch():
    assert isinstance(make_actor("categorical", spaces.Discrete(3), (8,), "tanh", False), CategoricalActor)
    assert isinstance(make_actor("gaussian", spaces.Box(-1.0, 1.0, (2,)), (8,), "tanh", True), GaussianActor)
    with pytest.raises(ValueError, match="Discrete"):
        make_actor("categorical", spaces.Box(-1.0, 1.0, (2,)), (8,), "tanh", False)
    with pytest.raises(ValueError, match="unknown actor 'mixture'"):
        make_actor("mixture", spaces.Discrete(3), (8,), "tanh", False)


def test_observation_statistics_match_numpy_and_normalise_the_input():
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, size=(50, 3)).astype(np.float32), rng.normal(-1.0, 0.5, size=(7, 4, 3)).astype(np.float32)]
    critic = VectorCritic(2, (8,), normalize_observations=True)
    variables = critic.init(jax.random.key(0), jnp.zeros(3))
    before = critic.apply(variables, jnp.ones(3))
    for batch in batches:
        variables = update_observation_statistics(variables, jnp.asarray(batch))
    seen = np.concatenate([b.reshape(-1, 3) for b in batches])
    stats = variables["obs_norm"]["ObservationNormalizer_0"]
    np.testing.assert_allclose(stats["mean"], seen.mean(0), rtol=1e-5)
    np.testing.assert_allclose(stats["m2"] / stats["count"], seen.var(0), rtol=1e-4)
    # The normalised network on x equals the un-normalised one on (x - mean) / std.
    x = jnp.array([4.0, -2.0, 0.5])
    plain = VectorCritic(2, (8,))
    plain_vars = {"params": variables["params"]}
    expected = plain.apply(plain_vars, (x - seen.mean(0)) / np.sqrt(seen.var(0) + 1e-8))
    np.testing.assert_allclose(critic.apply(variables, x), expected, rtol=1e-4, atol=1e-5)
    # Fresh statistics (count 0) leave the input as it is.
    np.testing.assert_allclose(before, plain.apply(plain_vars, jnp.ones(3)), rtol=1e-6)
