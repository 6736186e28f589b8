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


def _shortest_path(ref, start, target):
    """Actions of a shortest path on MO-Gymnasium's maze (breadth-first search)."""
    moves = {0: (0, -1), 1: (-1, 0), 2: (0, 1), 3: (1, 0)}
    parent = {start: None}
    frontier = [start]
    while target not in parent:
        nxt = []
        for cell in frontier:
            for action, (dr, dc) in moves.items():
                r, c = cell[0] + dr, cell[1] + dc
                inside = 0 <= r < ref.height and 0 <= c < ref.width
                if inside and (r, c) not in ref.occupied and (r, c) not in parent:
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


def test_bad_maze_named():
    maze = MAZE.copy()
    maze[3, 3] = "7"
    with pytest.raises(ValueError, match="'7'"):
        morl.envs.make(ENV_ID, maze=maze)
