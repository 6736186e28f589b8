import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morl.envs import spaces
from morl.networks import CategoricalActor, GaussianActor, VectorCritic, make_actor


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
