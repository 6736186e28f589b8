"""Potential-based shaping: formula, done-awareness, gradients, and the front check on
deep-sea-treasure by exact dynamic programming (no learner involved)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import morl
from morl.envs.deep_sea_treasure import DSTState
from morl.shaping import affine, chain, clip, potential
from tests.shaping.helpers import context

GAMMA = 0.99


def _table_phi(table, obs):
    return table[obs[0], obs[1]]


def test_formula_and_done_awareness():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(3, 3, 2)).astype(np.float32)
    obs = np.array([[0, 0], [1, 2], [2, 1]], np.int32)
    next_obs = np.array([[0, 1], [2, 2], [2, 2]], np.int32)
    terminated = np.array([False, True, False])
    rewards = rng.normal(size=(3, 2)).astype(np.float32)
    t = potential(_table_phi, jnp.asarray(table))
    out, _ = t.apply(t.init(2, (3,)), jnp.asarray(rewards), context((3,), obs=obs, next_obs=next_obs, done=terminated, discount=GAMMA))
    phi_s = table[obs[:, 0], obs[:, 1]]
    phi_n = table[next_obs[:, 0], next_obs[:, 1]]
    expected = rewards + GAMMA * (~terminated)[:, None] * phi_n - phi_s
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_truncation_keeps_next_potential():
    table = jnp.ones((2, 2, 2))
    t = potential(_table_phi, table)
    ctx = context(obs=jnp.array([0, 0]), next_obs=jnp.array([1, 1]), done=True, terminated=False, discount=0.5)
    out, _ = t.apply(t.init(2), jnp.zeros(2), ctx)
    np.testing.assert_allclose(out, [0.5 - 1.0, 0.5 - 1.0])


def test_gradient_reaches_potential_parameters_only_through_phi():
    table = jnp.zeros((3, 3, 2))
    t = potential(_table_phi)
    obs, next_obs = jnp.array([0, 1]), jnp.array([2, 2])

    def shaped_sum(params, terminated):
        state = t.init(2)._replace(params=params)
        out, _ = t.apply(state, jnp.array([1.0, -1.0]), context(obs=obs, next_obs=next_obs, done=terminated, discount=GAMMA))
        return jnp.sum(out)

    grad = np.asarray(jax.grad(shaped_sum)(table, False))
    expected = np.zeros((3, 3, 2))
    expected[0, 1] -= 1.0
    expected[2, 2] += GAMMA
    np.testing.assert_allclose(grad, expected, rtol=1e-6)
    grad_terminal = np.asarray(jax.grad(shaped_sum)(table, True))
    expected[2, 2] = 0.0
    np.testing.assert_allclose(grad_terminal, expected, rtol=1e-6)


def test_phi_with_wrong_output_shape_named():
    t = potential(lambda params, obs: jnp.zeros(3))
    with pytest.raises(ValueError, match="potential: phi"):
        t.apply(t.init(2), jnp.zeros(2), context())


# --- deep-sea-treasure front by exact dynamic programming ------------------------------


def _transition_tables(env):
    """`next_pos [S, A, 2]`, `reward [S, A, 2]`, `terminated [S, A]` from the port's own
    dynamics, for every cell S = row * cols + col and action."""
    rows, cols = env.sea_map.shape
    positions = np.stack(np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij"), -1).reshape(-1, 2)
    params = env.default_params

    def step(position, action):
        obs, _, reward, terminated, _, _ = env.step(jax.random.key(0), DSTState(position, jnp.int32(0)), action, params)
        return obs, reward, terminated

    per_action = jax.vmap(step, in_axes=(None, 0))
    obs, reward, terminated = jax.jit(jax.vmap(per_action, in_axes=(0, None)))(
        jnp.asarray(positions, jnp.int32), jnp.arange(4, dtype=jnp.int32)
    )
    return positions, np.asarray(obs), np.asarray(reward), np.asarray(terminated)


def _shaped_rewards(transform, positions, next_pos, reward, terminated):
    s, a = terminated.shape
    obs = np.repeat(positions[:, None], a, axis=1).reshape(-1, 2)
    ctx = context((s * a,), obs=obs, next_obs=next_pos.reshape(-1, 2), done=terminated.reshape(-1), discount=GAMMA)
    state = transform.init(2, (s * a,))
    out, _ = jax.jit(transform.apply)(state, jnp.asarray(reward.reshape(-1, 2)), ctx)
    return np.asarray(out, np.float64).reshape(s, a, 2)


def _greedy_policies(scalar_rewards, next_index, terminated, iterations=2500):
    """Optimal deterministic policies `[W, S]` of the discounted MDP for the scalar
    rewards `[W, S, A]` by value iteration (error below gamma**2500 * max|Q| < 1e-7)."""
    q = np.zeros_like(scalar_rewards)
    continues = GAMMA * ~terminated
    for _ in range(iterations):
        q = scalar_rewards + continues * q.max(axis=2)[:, next_index]
    return q.argmax(axis=2)


def _policy_return(policy, next_index, reward, terminated, start, max_steps=100):
    state, total, discount = start, np.zeros(2), 1.0
    for _ in range(max_steps):
        action = policy[state]
        total += discount * reward[state, action]
        if terminated[state, action]:
            break
        discount *= GAMMA
        state = next_index[state, action]
    return tuple(np.round(total, 6))


def _front_points(transform, tables, weights):
    """The unshaped discounted returns of the policies optimal for `w . shaped reward`."""
    positions, next_pos, reward, terminated = tables
    cols = int(positions[:, 1].max()) + 1
    next_index = next_pos[..., 0] * cols + next_pos[..., 1]
    shaped = reward.astype(np.float64) if transform is None else _shaped_rewards(transform, positions, next_pos, reward, terminated)
    policies = _greedy_policies(np.einsum("sam,wm->wsa", shaped, np.stack(weights)), next_index, terminated)
    return [_policy_return(policy, next_index, reward.astype(np.float64), terminated, start=0) for policy in policies]


WEIGHTS = [np.array([w, 1.0 - w]) for w in np.linspace(0.02, 0.98, 17)]


@pytest.fixture(scope="module")
def dst():
    return morl.envs.make("deep-sea-treasure-v0")


@pytest.fixture(scope="module")
def tables(dst):
    return _transition_tables(dst)


@pytest.fixture(scope="module")
def unshaped_points(tables):
    return _front_points(None, tables, WEIGHTS)


def test_unshaped_points_lie_on_known_front(dst, unshaped_points):
    known = dst.pareto_front(GAMMA)
    for point in set(unshaped_points):
        assert np.min(np.max(np.abs(known - np.array(point)), axis=1)) < 1e-4, point
    assert len(set(unshaped_points)) >= 4, "weights too coarse to test anything"


def test_potential_shaping_leaves_front_unchanged(tables, unshaped_points):
    rng = np.random.default_rng(0)
    table = jnp.asarray(rng.uniform(-20.0, 20.0, size=(11, 11, 2)), jnp.float32)
    transform = chain(potential(_table_phi, table))
    shaped_points = _front_points(transform, tables, WEIGHTS)
    assert shaped_points == unshaped_points


@pytest.mark.parametrize(
    "transform",
    [clip(bound=1.0), affine(shift=[0.0, 2.0])],
    ids=["clip", "step-bonus"],
)
def test_non_potential_transforms_change_the_front(tables, unshaped_points, transform):
    assert set(_front_points(chain(transform), tables, WEIGHTS)) != set(unshaped_points)
