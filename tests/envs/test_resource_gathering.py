import jax
import jax.numpy as jnp
import mo_gymnasium as mo_gym
import numpy as np
import pytest

import morl
from tests.envs.reference import compare_rollouts, random_vmapped_rollout

ENV_ID = "resource-gathering-v0"
_uniform = jax.jit(jax.random.uniform)


class _ForcedUniform:
    """Stands in for MO-Gymnasium's `np_random`: `random()` returns a preset value."""

    def __init__(self, value: float):
        self.value = value

    def random(self) -> float:
        return self.value


def _force_kill_draw(ref, key):
    """Make MO-Gymnasium's enemy draw the uniform the port draws from `key` (its documented rule)."""
    ref.unwrapped._np_random = _ForcedUniform(float(_uniform(key)))


def _force_never_killed(ref, key):
    ref.unwrapped._np_random = _ForcedUniform(1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_mo_gymnasium_step_by_step_with_same_kill_draws(seed):
    env = morl.envs.make(ENV_ID)
    # Biased upwards so many episodes reach the resources and enemies; others hit the time limit.
    p = np.array([0.4, 0.2, 0.2, 0.2])
    episodes = compare_rollouts(
        env, ENV_ID, num_sequences=40, max_steps=120, seed=seed,
        action_sampler=lambda rng: int(rng.choice(4, p=p)), before_step=_force_kill_draw,
    )
    assert episodes == 40


def test_matches_mo_gymnasium_with_kills_forced_off():
    """With the kill probability 0 here and MO-Gymnasium's draw forced to 1, the walks match."""
    env = morl.envs.make(ENV_ID)
    params = env.default_params.replace(kill_prob=jnp.float32(0.0))
    episodes = compare_rollouts(env, ENV_ID, num_sequences=30, max_steps=120, seed=5, before_step=_force_never_killed, params=params)
    assert episodes == 30


def test_kill_probability_matches_mo_gymnasium_statistically():
    """Step onto E1 from (2, 2): ours over 200k keys and MO-Gymnasium's own numpy draws over
    20k episodes both kill with frequency 0.1 within 6 standard errors."""
    env = morl.envs.make(ENV_ID)
    _, state = env.reset(jax.random.key(0))
    state = state.replace(position=jnp.array([2, 2], jnp.int32))
    n_ours = 200_000
    keys = jax.random.split(jax.random.key(123), n_ours)
    step = jax.jit(jax.vmap(env.step, in_axes=(0, None, None)))
    _, _, reward, terminated, _, _ = step(keys, state, jnp.int32(0))
    ours = float(np.mean(np.asarray(terminated)))
    assert np.all(np.asarray(reward)[np.asarray(terminated), 0] == -1.0)

    ref = mo_gym.make(ENV_ID).unwrapped
    ref.reset(seed=7)
    n_ref, kills = 20_000, 0
    for _ in range(n_ref):
        ref.current_pos = np.array([2, 2], dtype=np.int32)
        kills += bool(ref.step(0)[2])
    theirs = kills / n_ref

    p = 0.1
    assert abs(ours - p) < 6 * np.sqrt(p * (1 - p) / n_ours), ours
    assert abs(theirs - p) < 6 * np.sqrt(p * (1 - p) / n_ref), theirs
    assert abs(ours - theirs) < 6 * np.sqrt(p * (1 - p) * (1 / n_ours + 1 / n_ref))


UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3
# MO-Gymnasium's six candidate paths, in the order of `_candidate_returns`.
CANDIDATE_PATHS = [
    [RIGHT, RIGHT, UP, UP, UP, DOWN, DOWN, DOWN, LEFT, LEFT],  # gem around the enemies
    [RIGHT, RIGHT, UP, UP, UP, LEFT, UP, LEFT, DOWN, DOWN, DOWN, DOWN],  # gem, E2, gold, E1, home
    [UP, UP, UP, UP, DOWN, DOWN, DOWN, DOWN],  # gold through E1 both ways
    [RIGHT, RIGHT, UP, UP, UP, LEFT, UP, LEFT, LEFT, DOWN, DOWN, DOWN, DOWN, RIGHT],  # gem, E2, gold, around E1
    [LEFT, UP, UP, UP, UP, RIGHT, LEFT, DOWN, DOWN, DOWN, DOWN, RIGHT],  # gold around the enemies
    [LEFT, UP, UP, UP, UP, RIGHT, DOWN, DOWN, DOWN, DOWN],  # gold around, back through E1
]
SAFE_TOUR = [RIGHT, RIGHT, UP, UP, UP, LEFT, DOWN, LEFT, LEFT, UP, UP, RIGHT, LEFT, DOWN, DOWN, DOWN, DOWN, RIGHT]
GAMMAS = [1.0, 0.99, 0.9, 0.5]


def _branches(path):
    """The outcomes of a path as (probability, kill flags per move): killed at the i-th enemy
    visit, or never. Enemy visits are found by walking the path with kills off."""
    env = morl.envs.make(ENV_ID)
    params = env.default_params.replace(kill_prob=jnp.float32(0.0))
    _, state = env.reset(jax.random.key(0))
    enemies = []
    for t, action in enumerate(path):
        _, state, _, terminated, _, _ = env.step(jax.random.key(0), state, jnp.int32(action), params)
        if tuple(np.asarray(state.position)) in {(1, 2), (0, 3)}:
            enemies.append(t)
        if terminated:
            assert t == len(path) - 1, "the path reaches home before its end"
    outcomes = []
    for i, t in enumerate(enemies + [None]):
        kills = np.zeros(len(path), bool)
        if t is not None:
            kills[t] = True
        outcomes.append((0.9**i * (0.1 if t is not None else 1.0), kills))
    return outcomes


def _discounted(rewards, gamma):
    rewards = np.asarray(rewards, np.float64).reshape(-1, 3)
    return (gamma ** np.arange(len(rewards)))[:, None] * rewards


def _expected_returns_port(path, gammas):
    """Exact expected discounted returns of `path` in the port: each outcome rolled out with the
    kill probability 1 on its kill step and 0 elsewhere, weighted by its probability."""
    env = morl.envs.make(ENV_ID)
    step = jax.jit(env.step)
    total = np.zeros((len(gammas), 3))
    for probability, kills in _branches(path):
        _, state = env.reset(jax.random.key(0))
        rewards = []
        for action, kill in zip(path, kills):
            params = env.default_params.replace(kill_prob=jnp.float32(1.0 if kill else 0.0))
            _, state, reward, terminated, truncated, _ = step(jax.random.key(0), state, jnp.int32(action), params)
            rewards.append(np.asarray(reward))
            if terminated or truncated:
                break
        total += probability * np.array([_discounted(rewards, g).sum(0) for g in gammas])
    return total


def _expected_returns_mo_gymnasium(path, gammas):
    """The same in MO-Gymnasium's env, its enemy draw forced to kill (0.0) or spare (1.0)."""
    ref = mo_gym.make(ENV_ID)
    total = np.zeros((len(gammas), 3))
    for probability, kills in _branches(path):
        ref.reset(seed=0)
        rewards = []
        for action, kill in zip(path, kills):
            ref.unwrapped._np_random = _ForcedUniform(0.0 if kill else 1.0)
            _, reward, terminated, truncated, _ = ref.step(action)
            rewards.append(reward)
            if terminated or truncated:
                break
        total += probability * np.array([_discounted(rewards, g).sum(0) for g in gammas])
    return total


@pytest.fixture(scope="module")
def path_returns():
    """`[2 envs, 6 paths, len(GAMMAS), 3]` exact expected discounted returns."""
    port = np.stack([_expected_returns_port(p, GAMMAS) for p in CANDIDATE_PATHS])
    theirs = np.stack([_expected_returns_mo_gymnasium(p, GAMMAS) for p in CANDIDATE_PATHS])
    return np.stack([port, theirs])


@pytest.mark.parametrize("g", range(len(GAMMAS)))
def test_pareto_front_is_the_expected_discounted_return_of_the_candidate_paths(g, path_returns):
    """Rolled out in the port and in MO-Gymnasium, the six paths' exact expected returns
    (a reward on step t discounted gamma**t, as EpisodeStatistics does) are the candidates of
    `pareto_front`, whose non-dominated rows it returns."""
    from morl.envs.resource_gathering import _candidate_returns, _non_dominated

    gamma = GAMMAS[g]
    port, theirs = path_returns[0, :, g], path_returns[1, :, g]
    np.testing.assert_allclose(port, theirs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(port, _candidate_returns(gamma, first_step=0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(morl.envs.make(ENV_ID).pareto_front(gamma), _non_dominated(port), rtol=0, atol=1e-12)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_mo_gymnasium_front_is_one_discount_later(gamma):
    """MO-Gymnasium's `pareto_front(gamma)` is kept as `pareto_front_mo_gymnasium`; it discounts
    every reward once more than its own env's returns are discounted: `gamma * pareto_front`."""
    env = morl.envs.make(ENV_ID)
    theirs = np.array(mo_gym.make(ENV_ID).unwrapped.pareto_front(gamma))
    theirs = theirs[np.lexsort(theirs.T[::-1])]
    np.testing.assert_allclose(env.pareto_front_mo_gymnasium(gamma), theirs, rtol=1e-12)
    np.testing.assert_allclose(theirs, gamma * env.pareto_front(gamma), rtol=1e-12)
    if gamma < 1:
        assert not np.allclose(theirs, env.pareto_front(gamma))


def test_candidate_paths_monte_carlo_with_random_kills():
    """With the default random kills, 8192 episodes per path average to the expected returns
    within 5 standard errors (gamma 0.99)."""
    from morl.envs.resource_gathering import _candidate_returns

    env = morl.envs.make(ENV_ID)
    gamma, n = 0.99, 8192
    length = max(len(p) for p in CANDIDATE_PATHS)
    paths = np.array([p + [0] * (length - len(p)) for p in CANDIDATE_PATHS], np.int32)

    @jax.jit
    def returns(keys, path):
        def episode(key):
            _, state = env.reset(key)

            def body(carry, x):
                state, done = carry
                action, key = x
                _, state, reward, terminated, truncated, _ = env.step(key, state, action)
                return (state, done | terminated | truncated), jnp.where(done, 0.0, reward)

            rewards = jax.lax.scan(body, (state, False), (path, jax.random.split(key, length)))[1]
            return ((gamma ** jnp.arange(length))[:, None] * rewards).sum(0)

        return jax.vmap(episode)(keys)

    keys = jax.random.split(jax.random.key(0), n)
    for k, path in enumerate(paths):
        sample = np.asarray(returns(keys, jnp.asarray(path)), np.float64)
        error = sample.std(0) / np.sqrt(n)
        assert np.all(np.abs(sample.mean(0) - _candidate_returns(gamma, 0)[k]) <= 5 * error + 1e-6), k


def test_front_misses_the_safe_tour_of_both_resources():
    """Documented incompleteness: home -> gem -> gold -> home around both enemies (18 moves)
    returns [0, gamma**17, gamma**17] surely; no point of the (MO-Gymnasium-derived) front
    dominates it."""
    gamma = 0.99
    (probability, _), = _branches(SAFE_TOUR)
    assert probability == 1.0
    safe = _expected_returns_port(SAFE_TOUR, [gamma])[0]
    np.testing.assert_allclose(safe, [0.0, gamma**17, gamma**17], rtol=1e-12)
    front = morl.envs.make(ENV_ID).pareto_front(gamma)
    assert not np.any(np.all(front >= safe, axis=1))


@pytest.mark.parametrize("gamma", [0.99, 0.9])
def test_exact_front_dominates_the_candidates_and_at_099_is_three_rolled_out_paths(gamma, path_returns):
    """`pareto_front_exact` weakly dominates every candidate path's (rolled-out) expected return;
    at 0.99 it is exactly the gem path, the gold path (both around the enemies) and the safe
    tour of both, each rolled out, and the safe tour dominates the risky tour of both that
    `pareto_front` keeps."""
    env = morl.envs.make(ENV_ID)
    exact = env.pareto_front_exact(gamma)
    candidates = path_returns[0, :, GAMMAS.index(gamma)]
    assert np.all(np.all(exact[None] >= candidates[:, None] - 1e-9, axis=2).any(1))
    if gamma == 0.99:
        rolled = np.stack([candidates[0], candidates[4], _expected_returns_port(SAFE_TOUR, [gamma])[0]])
        np.testing.assert_allclose(exact, rolled[np.lexsort(rolled.T[::-1])], rtol=0, atol=1e-9)
        risky = env.pareto_front(gamma)[0]
        assert risky[0] < 0 and np.all(exact[1] >= risky)


def test_jits_and_vmaps_through_autoreset():
    env = morl.envs.make(ENV_ID)
    obs, reward, terminated, truncated = random_vmapped_rollout(env, num_envs=64, num_steps=300)
    assert obs.shape == (300, 64, 4) and reward.shape == (300, 64, 3)
    assert terminated.any() and truncated.any()
    assert set(np.unique(reward[..., 0])) <= {-1.0, 0.0} and set(np.unique(reward[..., 1:])) <= {0.0, 1.0}
    assert not reward[~terminated].any()
