"""Default reference points (`morl.envs.defaults`): the right dimension for every env
they name, and dominated by every return the env can give (checked against the known
fronts and against random-policy returns)."""

from __future__ import annotations

import jax
import mo_gymnasium as mo_gym
import numpy as np
import pytest

from morl.envs import make, registered
from morl.envs.defaults import ENV_DEFAULTS, automatic_ref_point, base_id, env_defaults


@pytest.mark.parametrize("env_id", registered())
def test_every_port_has_a_default_of_its_reward_dimension(env_id):
    entry = env_defaults(env_id)
    assert entry is not None, f"{env_id} has no default reference point"
    assert len(entry.ref_point) == make(env_id).reward_dim


@pytest.mark.parametrize("env_id", sorted(set(ENV_DEFAULTS) - set(registered())))
def test_table_entries_for_mo_gymnasium_ids_match_their_reward_dimension(env_id):
    env = mo_gym.make(env_id)
    assert len(ENV_DEFAULTS[env_id].ref_point) == env.unwrapped.reward_space.shape[0]


@pytest.mark.parametrize("env_id", [e for e in registered() if make(e).has_pareto_front])
@pytest.mark.parametrize("gamma", [0.99, 1.0])
def test_known_fronts_dominate_the_default(env_id, gamma):
    front = make(env_id).pareto_front(gamma)
    assert np.all(front >= np.asarray(env_defaults(env_id).ref_point)), env_id


@pytest.mark.parametrize(
    "env_id", ["resource-gathering-v0", "four-room-v0", "mo-mountaincar-v0", "mo-mountaincar-3d-v0",
               "mo-mountaincarcontinuous-v0", "mo-pendulum-v0"]
)
def test_random_policy_returns_dominate_the_default(env_id):
    # Undiscounted returns span the widest range, so they are the hardest test.
    env = make(env_id)
    ref = np.asarray(env_defaults(env_id).ref_point)
    assert np.all(ref <= _random_minimum(env)), env_id


def _random_minimum(env) -> np.ndarray:
    from morl.envs.wrappers import EpisodeStatistics

    tracked = EpisodeStatistics(env, gamma=1.0)
    space = env.action_space()

    def episode(key):
        obs, state = tracked.reset(key)

        def body(carry, key):
            state, done, total = carry
            _, state, reward, terminated, truncated, _ = tracked.step(key, state, space.sample(key))
            total = total + jax.numpy.where(done, 0.0, reward)
            return (state, done | terminated | truncated, total), None

        init = (state, jax.numpy.bool_(False), jax.numpy.zeros((env.reward_dim,)))
        return jax.lax.scan(body, init, jax.random.split(key, 1000))[0][2]

    return np.asarray(jax.jit(jax.vmap(episode))(jax.random.split(jax.random.key(5), 32))).min(0)


def test_automatic_rule_sits_below_deep_sea_treasures_front():
    env = make("deep-sea-treasure-v0")
    ref = np.asarray(automatic_ref_point(env, 0.99, episodes=16, max_steps=200))
    assert ref.shape == (2,)
    assert np.all(env.pareto_front(0.99) > ref)


def test_host_and_experiment_ids_share_the_table_entry():
    assert base_id("host:mo-hopper-v5@500") == "mo-hopper-v5"
    assert env_defaults("host:minecart-v0") == env_defaults("minecart-v0")


@pytest.mark.parametrize("algorithm", ["morld", "cmorl"])
def test_every_port_has_working_defaults_for_every_algorithm(algorithm):
    from morl import config
    from morl.algorithms import get_algorithm
    from morl.train_loop import resolve_ref_point

    failures = []
    for env_id in registered():
        experiment = resolve_ref_point(config.build({"algorithm": algorithm, "algo": {"env": env_id}}))
        try:
            trainer = get_algorithm(algorithm).make_trainer(experiment.algo)  # validates budget, dims; no compile
        except ValueError as err:
            failures.append(f"{env_id}: {err}")
            continue
        assert len(experiment.algo.ref_point) == trainer.env.reward_dim
    assert not failures, failures
