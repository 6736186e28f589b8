"""C-MORL end to end on concave deep-sea-treasure (tiny budgets; both programs compile once).

- the extension stage raises hypervolume over the initialisation alone at the same env
  steps (the init-only run continues the init stage's own compiled chunk);
- extended policies satisfy their constraints `G_j >= b_j` (evaluated returns) within
  the stated tolerance;
- determinism: the same key gives the same archive bit for bit;
- an archive member restored with `Trainer.policy` reproduces its archived return when
  run in MO-Gymnasium's deep-sea-treasure (the reference implementation).
Hypervolumes by moocore (reference point (0, -25), the field's convention).
"""

import dataclasses

import jax
import jax.numpy as jnp
import moocore
import numpy as np
import pytest

from morl.algorithms.cmorl import CMORL_PPO, CMORLConfig, make_trainer
from tests.algorithms.replay import mo_gymnasium_return

RUNS = 2
CONFIG = CMORLConfig(
    env="deep-sea-treasure-concave-v0",
    total_steps=100_000,
    init_steps=40_000,
    pop_size=2,
    weight_init="onehot",
    beta=0.5,
    eval_period=5,
    n_select=2,
    extension_updates=10,
    archive_capacity=32,
    ppo=CMORL_PPO.replace(num_envs=8, num_steps=32, num_epochs=4, num_minibatches=4, learning_rate=1e-3, gamma=0.99,
                          ent_coef=0.05),
)
CONSTRAINT_TOL = 1.0  # eval units (treasure value / time steps); see docs/cmorl.md


def _copy(tree):
    return jax.tree_util.tree_map(jnp.copy, tree)


def _hv(returns):
    if len(returns) == 0:
        return 0.0
    return float(moocore.hypervolume(-np.asarray(returns, np.float64), ref=np.array([0.0, 25.0])))


@pytest.fixture(scope="module")
def runs():
    trainer = make_trainer(CONFIG, num_runs=RUNS)
    keys = jax.random.split(jax.random.key(0), RUNS)
    state = trainer.init(keys)
    metrics = []
    while trainer.stage_of(state) == "init":
        state, m = trainer.run_chunk(state)
        metrics.append(jax.tree_util.tree_map(np.asarray, m))
    after_init = _copy(state)
    while not trainer.done(state):
        state, m = trainer.run_chunk(state)
        metrics.append(jax.tree_util.tree_map(np.asarray, m))
    # init-only baseline: keep running the init stage (forced past its budget) until it has
    # spent as many steps
    baseline, steps = after_init, trainer.budget.init_steps
    per_chunk = CONFIG.pop_size * CONFIG.eval_period * trainer.budget.batch_size
    while steps < trainer.budget.total_steps:
        baseline, _ = trainer.run_chunk(baseline, stage="init")
        steps += per_chunk
    return trainer, keys, state, baseline, metrics


def test_extension_raises_hypervolume_over_init_only(runs):
    trainer, _, state, baseline, _ = runs
    ours = [_hv(trainer.front(state, r).returns) for r in range(RUNS)]
    init_only = [_hv(trainer.front(baseline, r).returns) for r in range(RUNS)]
    assert sum(ours) > sum(init_only), (ours, init_only)


def test_extended_policies_satisfy_constraints(runs):
    _, _, _, _, metrics = runs
    violation = np.concatenate([m["constraint_violation"].ravel() for m in metrics if "constraint_violation" in m])
    # 16 extension problems here: a binomial proportion near the full runs' 0.79
    # (docs/cmorl.md) has a standard deviation of ~0.1 on 16, and a float-level change
    # of the init (5dff53f) moved it from 0.69 to 0.625; the claim tested is that most
    # extended policies keep their constraints.
    assert np.mean(violation <= CONSTRAINT_TOL) > 0.5, np.round(violation, 2)


def test_same_key_same_archive(runs):
    trainer, keys, state, _, _ = runs
    again = trainer.init(keys)
    while not trainer.done(again):
        again, _ = trainer.run_chunk(again)
    for r in range(RUNS):
        a, b = trainer.front(state, r), trainer.front(again, r)
        np.testing.assert_array_equal(a.returns, b.returns)
        np.testing.assert_array_equal(a.member, b.member)


def test_restored_member_reproduces_its_return_in_mo_gymnasium(runs):
    trainer, _, state, _, _ = runs
    front = trainer.front(state, 0)
    for row in range(len(front.member)):
        act = jax.jit(trainer.policy(state, int(front.member[row]), run=0))
        total = mo_gymnasium_return(act, "deep-sea-treasure-concave-v0", CONFIG.eval_gamma, CONFIG.max_eval_steps)
        np.testing.assert_allclose(total, front.returns[row], rtol=1e-4, atol=1e-4)


def test_member_returns_have_one_shape_in_both_stages(runs):
    """The workflow's metrics.csv fixes its columns at the first row."""
    _, _, _, _, metrics = runs
    shapes = {m["member_returns"].shape for m in metrics}
    assert shapes == {(RUNS, 4, 2)}  # max(M=2, n_select * m = 4) members, 2 objectives
    assert {int(m["stage"][0]) for m in metrics} == {0, 1}


@pytest.mark.slow  # its own compile: ~35 s of CPU
def test_extension_snapshots_enter_the_archive_and_replay_in_mo_gymnasium():
    """`extension_eval_period`: every snapshot is an archive candidate with its own id, and
    an archived snapshot restored with `Trainer.policy` reproduces its return in MO-Gymnasium."""
    config = dataclasses.replace(
        CONFIG, total_steps=20_000, init_steps=2_560, extension_updates=4, extension_eval_period=2,
        ppo=dataclasses.replace(CONFIG.ppo, num_envs=4, num_epochs=2, num_minibatches=2),
    )
    trainer = make_trainer(config)
    b = trainer.budget
    state = trainer.init(jax.random.key(1))
    while not trainer.done(state):
        state, _ = trainer.run_chunk(state)
    # ids by hand: 2 policies x init chunks, then 2 snapshots of every problem per round
    assert int(state.extra["next_member"]) == 2 * b.init_chunks + b.extension_rounds * 2 * b.problems_per_round
    members = trainer.members(state)
    assert len(set(members.member.tolist())) == len(members.member)
    children = members.parent >= 0
    assert np.all(members.parent[children] < members.member[children])
    front = trainer.front(state)
    rows = np.flatnonzero(np.isin(front.member, members.member[children]))
    assert rows.size > 0  # some extension snapshot is on the front
    for row in rows:
        act = jax.jit(trainer.policy(state, int(front.member[row])))
        total = mo_gymnasium_return(act, "deep-sea-treasure-concave-v0", config.eval_gamma, config.max_eval_steps)
        np.testing.assert_allclose(total, front.returns[row], rtol=1e-4, atol=1e-4)


def test_stage_schedule_on_the_scaffold(runs):
    """The scaffold's stages: init chunks then rounds, `iteration` counting a policy's PPO
    updates, env steps adding up to the budget, nothing run past it."""
    trainer, _, state, _, metrics = runs
    b = trainer.budget
    assert [int(m["stage"][0]) for m in metrics] == [0] * b.init_chunks + [1] * b.extension_rounds
    updates = np.cumsum([CONFIG.eval_period] * b.init_chunks + [CONFIG.extension_updates] * b.extension_rounds)
    np.testing.assert_array_equal([int(m["iteration"][0]) for m in metrics], updates)
    assert trainer.stage_of(state) is None and trainer.done(state)
    assert trainer.env_steps(state) == b.total_steps
    with pytest.raises(RuntimeError, match="already spent"):
        trainer.run_chunk(state)
    with pytest.raises(ValueError, match="stages: init, extension"):
        trainer.run_chunk(state, stage="warmup")
