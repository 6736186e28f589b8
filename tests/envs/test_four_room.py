import jax
import jax.numpy as jnp
import mo_gymnasium as mo_gym
import numpy as np
import pytest

import morl
from morl.envs.four_room import MAZE
from tests.envs.reference import compare_rollouts, random_vmapped_rollout

ENV_ID = "four-room-v0"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_mo_gymnasium_step_by_step(seed):
    env = morl.envs.make(ENV_ID)
    # Biased up/right (actions 1, 2) so episodes collect items and some reach the goal;
    # the rest run into the 200-step limit.
    p = np.array([0.2, 0.3, 0.3, 0.2])
    episodes = compare_rollouts(env, ENV_ID, num_sequences=10, max_steps=220, seed=seed, action_sampler=lambda rng: int(rng.choice(4, p=p)))
    assert episodes == 10


def _shortest_path(ref, start, target, avoid=()):
    """Actions of a shortest path on MO-Gymnasium's maze (breadth-first search), not through
    the cells `avoid`."""
    moves = {0: (0, -1), 1: (-1, 0), 2: (0, 1), 3: (1, 0)}
    parent = {start: None}
    frontier = [start]
    while target not in parent:
        nxt = []
        for cell in frontier:
            for action, (dr, dc) in moves.items():
                r, c = cell[0] + dr, cell[1] + dc
                inside = 0 <= r < ref.height and 0 <= c < ref.width
                if inside and (r, c) not in ref.occupied and (r, c) not in avoid and (r, c) not in parent:
                    parent[(r, c)] = (cell, action)
                    nxt.append((r, c))
        frontier = nxt
    actions = []
    while parent[target] is not None:
        target, action = parent[target]
        actions.append(action)
    return actions[::-1]


def test_tour_of_every_item_then_goal_matches_mo_gymnasium():
    """Visit all twelve items (MO-Gymnasium's item order), revisit one, then go to the goal."""
    env = morl.envs.make(ENV_ID)
    ref = mo_gym.make(ENV_ID, max_episode_steps=1000)
    base = ref.unwrapped
    ref.reset(seed=0)
    _, state = env.reset(jax.random.key(0))
    params = env.default_params.replace(max_steps=jnp.int32(1000))
    step = jax.jit(env.step)
    position, tour = base.initial[0], []
    first_item = next(iter(base.shape_ids))
    for target in [*base.shape_ids, first_item, base.goal]:
        tour += _shortest_path(base, position, target)
        position = target
    total = np.zeros(3)
    for t, action in enumerate(tour):
        ref_obs, ref_reward, ref_term, ref_trunc, _ = ref.step(action)
        obs, state, reward, term, trunc, _ = step(jax.random.key(0), state, jnp.int32(action), params)
        np.testing.assert_array_equal(np.asarray(obs), ref_obs, err_msg=f"step {t}")
        np.testing.assert_array_equal(np.asarray(reward), ref_reward, err_msg=f"step {t}")
        assert (bool(term), bool(trunc)) == (ref_term, ref_trunc), f"step {t}"
        total += ref_reward
    assert ref_term and np.array_equal(total, [5.0, 5.0, 5.0])  # 4 items per type + goal


def test_observation_space_matches_mo_gymnasium():
    ours = morl.envs.make(ENV_ID).observation_space()
    theirs = mo_gym.make(ENV_ID).observation_space
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours.low, theirs.low)
    np.testing.assert_array_equal(ours.high, theirs.high)


def test_jits_and_vmaps_through_autoreset():
    env = morl.envs.make(ENV_ID)
    obs, reward, terminated, truncated = random_vmapped_rollout(env, num_envs=64, num_steps=450)
    assert obs.shape == (450, 64, 14) and reward.shape == (450, 64, 3)
    assert truncated.sum() >= 64  # every env hits the 200-step limit at least once
    assert set(np.unique(reward)) <= {0.0, 1.0}
    assert np.all(reward[terminated] == 1.0)


def test_one_hot_observation_encodes_mo_gymnasium_observation():
    """`observation=one_hot` carries the same information as MO-Gymnasium's (row, col, bits),
    step by step along random episodes; rewards and ends are unchanged."""
    env = morl.envs.make(ENV_ID, observation="one_hot")
    ref = mo_gym.make(ENV_ID)
    height, width = MAZE.shape
    assert env.observation_space().shape == (height * width + 12,)
    step = jax.jit(env.step)
    rng = np.random.default_rng(0)
    ref_obs, _ = ref.reset(seed=0)
    obs, state = env.reset(jax.random.key(0))
    for t in range(300):
        obs = np.asarray(obs)
        cells = np.flatnonzero(obs[: height * width])
        assert obs.dtype == np.float32 and len(cells) == 1, f"step {t}"
        np.testing.assert_array_equal(divmod(int(cells[0]), width), ref_obs[:2], err_msg=f"step {t}")
        np.testing.assert_array_equal(obs[height * width :], ref_obs[2:], err_msg=f"step {t}")
        action = int(rng.choice(4, p=[0.2, 0.3, 0.3, 0.2]))
        ref_obs, ref_reward, ref_term, ref_trunc, _ = ref.step(action)
        obs, state, reward, term, trunc, _ = step(jax.random.key(0), state, jnp.int32(action), env.default_params)
        np.testing.assert_array_equal(np.asarray(reward), ref_reward, err_msg=f"step {t}")
        assert (bool(term), bool(trunc)) == (ref_term, ref_trunc), f"step {t}"
        if ref_term or ref_trunc:
            ref_obs, _ = ref.reset(seed=t)
            obs, state = env.reset(jax.random.key(t))


def test_unknown_observation_named():
    with pytest.raises(ValueError, match="'pixels'"):
        morl.envs.make(ENV_ID, observation="pixels")


def test_bad_maze_named():
    maze = MAZE.copy()
    maze[3, 3] = "7"
    with pytest.raises(ValueError, match="'7'"):
        morl.envs.make(ENV_ID, maze=maze)


# --- the exact Pareto front ---------------------------------------------------------------


def _discounted(rewards: np.ndarray, gamma: float) -> np.ndarray:
    return (gamma ** np.arange(len(rewards)))[:, None] * rewards


def _jax_returns(env, actions: list[np.ndarray], gamma: float, params=None) -> tuple[np.ndarray, np.ndarray]:
    """Discounted returns `[n, 3]` and terminated flags of the padded action sequences, rolled out
    in one jitted `vmap` of a `lax.scan` (steps after the episode ends are ignored)."""
    params = params or env.default_params
    length = max(len(a) for a in actions)
    padded = np.zeros((len(actions), length), np.int32)
    valid = np.zeros((len(actions), length), bool)
    for k, a in enumerate(actions):
        padded[k, : len(a)], valid[k, : len(a)] = a, True

    @jax.jit
    @jax.vmap
    def rollout(actions, valid):
        _, state = env.reset(jax.random.key(0), params)

        def body(carry, x):
            state, done = carry
            action, ok = x
            _, next_state, reward, term, trunc, _ = env.step(jax.random.key(0), state, action, params)
            live = ok & ~done
            state = jax.tree.map(lambda a, b: jnp.where(live, a, b), next_state, state)
            return (state, done | (live & (term | trunc))), (jnp.where(live, reward, 0.0), live & term)

        return jax.lax.scan(body, (state, False), (actions, valid))[1]

    rewards, term = rollout(jnp.asarray(padded), jnp.asarray(valid))
    discount = gamma ** np.arange(length, dtype=np.float64)
    return np.einsum("t,ntm->nm", discount, np.asarray(rewards, np.float64)), np.asarray(term).any(1)


@pytest.fixture(scope="module")
def front_099():
    return morl.envs.make(ENV_ID).pareto_front_plans(0.99)


@pytest.mark.parametrize("gamma", [0.99, pytest.param(0.9, marks=pytest.mark.slow)])
def test_every_front_point_is_the_return_of_its_plan_in_both_envs(gamma, front_099):
    """Each front point's action sequence earns exactly that discounted return, in the port
    (all points, one compiled rollout) and in MO-Gymnasium (every 7th point)."""
    env = morl.envs.make(ENV_ID)
    front, actions = front_099 if gamma == 0.99 else env.pareto_front_plans(gamma)
    assert len(front) == {0.99: 240, 0.9: 1642}[gamma]
    np.testing.assert_array_equal(front, env.pareto_front(gamma))
    assert max(len(a) for a in actions) <= 200
    ours, _ = _jax_returns(env, actions, gamma)
    np.testing.assert_allclose(ours, front, rtol=0, atol=1e-8)
    ref = mo_gym.make(ENV_ID)
    for k in range(0, len(front), 7):
        ref.reset(seed=0)
        rewards = np.array([ref.step(int(a))[1] for a in actions[k]], np.float64)
        np.testing.assert_allclose(_discounted(rewards, gamma).sum(0), front[k], rtol=0, atol=1e-8, err_msg=f"point {k}")


def test_front_extremes(front_099):
    front, actions = front_099
    # Undiscounted, every item and the goal fit in the time limit: one point.
    np.testing.assert_array_equal(morl.envs.make(ENV_ID).pareto_front(1.0), [[5.0, 5.0, 5.0]])
    # At 0.99 the best sum of returns collects everything: an all-item tour exists among the plans.
    best = np.argmax(front.sum(1))
    assert len(actions[best]) > 60
    assert np.all(front.max(0) > 3.5)


def test_random_and_greedy_rollouts_never_beat_the_front(front_099):
    """Discounted returns of 2048 random episodes (uniform, and biased toward the goal) and of
    the 13 nearest-item-first greedy tours are each weakly dominated by a front point."""
    env = morl.envs.make(ENV_ID)
    gamma = 0.99
    front = front_099[0]
    rng = np.random.default_rng(0)
    sequences = [rng.choice(4, size=200, p=p) for p in ([0.25] * 4, [0.15, 0.35, 0.35, 0.15]) for _ in range(1024)]
    base = mo_gym.make(ENV_ID).unwrapped
    for first in range(len(base.shape_ids) + 1):  # greedy: first item k (or none), then always the nearest
        position, remaining, tour = base.initial[0], list(base.shape_ids), []
        if first < len(remaining):
            tour += _shortest_path(base, position, remaining[first], avoid={base.goal})
            position = remaining.pop(first)
        while remaining:
            paths = [_shortest_path(base, position, cell, avoid={base.goal}) for cell in remaining]
            k = int(np.argmin([len(p) for p in paths]))
            tour += paths[k]
            position = remaining.pop(k)
        sequences.append(np.array(tour + _shortest_path(base, position, base.goal)))
    returns, term = _jax_returns(env, sequences, gamma)
    assert term.sum() > 100  # some random episodes and every greedy tour reach the goal
    covered = np.all(front[None, :, :] >= returns[:, None, :] - 1e-9, axis=2).any(1)
    assert covered.all(), returns[~covered]
    # Greedy tours are good plans, mostly not optimal: each within 0.5 in every objective of a
    # front point (measured: at most 0.3), and at least one is on the front.
    gaps = np.min(np.max(front[None] - returns[-13:, None, :], axis=2), axis=1)
    assert np.all(gaps < 0.5) and np.min(np.abs(gaps)) < 1e-8, gaps


SMALL_MAZE = np.array(
    [
        ["1", " ", "X", "3", " ", "G"],
        [" ", " ", "X", " ", " ", " "],
        [" ", "2", " ", " ", "X", "1"],
        ["X", " ", "X", " ", " ", " "],
        [" ", " ", " ", "3", "X", "2"],
        ["_", " ", "X", " ", " ", " "],
    ]
)


@pytest.mark.parametrize("gamma, max_steps", [(0.95, 200), (0.95, 22), (1.0, 20)])
def test_small_maze_front_equals_brute_force_over_all_plans(gamma, max_steps):
    """On a 6x6 maze with 6 items, every plan (each order of each subset of items, then the
    goal or not: 3914 plans) walked along breadth-first shortest paths in MO-Gymnasium's own
    env, cut at the time limit: the non-dominated discounted returns are the program's front,
    also where the limit binds (the slower program with the plan length as an objective)."""
    import itertools

    from morl.envs.four_room import _exact_front

    env = morl.envs.make(ENV_ID, maze=SMALL_MAZE)
    base = mo_gym.make(ENV_ID, maze=SMALL_MAZE).unwrapped
    items = list(base.shape_ids)
    returns = []
    for size in range(len(items) + 1):
        for order in itertools.permutations(items, size):
            for goal in (False, True):
                position, tour = base.initial[0], []
                for cell in [*order, base.goal] if goal else order:
                    tour += _shortest_path(base, position, cell, avoid={base.goal} - {cell})
                    position = cell
                base.reset(seed=0)
                rewards = []
                for a in tour[:max_steps]:
                    _, r, term, _, _ = base.step(a)
                    rewards.append(r)
                    if term:
                        break
                returns.append(_discounted(np.array(rewards, np.float64).reshape(-1, 3), gamma).sum(0))
    returns = np.array(returns)
    # dominance with a 1e-9 tolerance, one row per group of equal returns (sorted as the front is)
    weakly = np.all(returns[None] >= returns[:, None] - 1e-9, axis=2)  # [i, j]: j at least as good as i
    better = weakly & np.any(returns[None] > returns[:, None] + 1e-9, axis=2)
    equal_earlier = weakly & weakly.T & np.tri(len(returns), k=-1, dtype=bool)
    brute = returns[~(better.any(1) | equal_earlier.any(1))]
    brute = brute[np.lexsort(brute.T[::-1])]
    front, plans = _exact_front(env._maze_key, tuple(int(x) for x in env.starts[0]), gamma, max_steps)
    np.testing.assert_allclose(front, brute, rtol=0, atol=1e-8)
    if max_steps == 200:
        np.testing.assert_array_equal(front, env.pareto_front(gamma))
    # and each plan realises its point under the limit
    walked = [env.plan_actions(tuple(int(x) for x in env.starts[0]), plan) for plan in plans]
    assert max(len(a) for a in walked) <= max_steps
    ours, _ = _jax_returns(env, walked, gamma, env.default_params.replace(max_steps=jnp.int32(max_steps)))
    np.testing.assert_allclose(ours, front, rtol=0, atol=1e-8)


def test_several_starts_average_the_fronts():
    maze = SMALL_MAZE.copy()
    maze[0, 1] = "_"
    env = morl.envs.make(ENV_ID, maze=maze)
    from morl.envs.four_room import _exact_front

    a, b = (_exact_front(env._maze_key, tuple(int(x) for x in s), 0.9, 200)[0] for s in env.starts)
    front = env.pareto_front(0.9)
    sums = (a[:, None] + b[None]).reshape(-1, 3) / 2
    # every average of a pair is weakly dominated by the front, and every front point is such an average
    assert np.all(np.all(front[None] >= sums[:, None] - 1e-12, axis=2).any(1))
    assert np.all(np.abs(front[:, None] - sums[None]).max(2).min(1) < 1e-12)
    with pytest.raises(ValueError, match="single start"):
        env.pareto_front_plans(0.9)
