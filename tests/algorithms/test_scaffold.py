"""The population scaffold itself, on a toy algorithm (no learning): the evaluation schedule."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from morl import envs
from morl.algorithms.scaffold import PopulationTrainer, Schedule, select_run


class Counting:
    """A population of 2 counters: `iterate` adds 1, `evaluate` returns `(x, -x)` per member
    and reports, through a host callback, the iteration it ran at (once per run)."""

    pop_size = 2
    steps_per_iteration = 1

    def __init__(self) -> None:
        self.env = envs.make("deep-sea-treasure-v0")
        self.evaluations: list[int] = []

    def init(self, key: jax.Array, weights_key: jax.Array, hparams: Any) -> tuple[Any, Any]:
        return {"x": jnp.zeros(self.pop_size, jnp.float32)}, None

    def iterate(self, members: Any, extra: Any) -> tuple[Any, Any, dict[str, jax.Array]]:
        members = {"x": members["x"] + 1}
        return members, extra, {"x": members["x"][0]}

    def evaluate(self, members: Any, key: jax.Array) -> jax.Array:
        jax.debug.callback(lambda x: self.evaluations.append(int(x)), members["x"][0])  # once per run
        return jnp.stack([members["x"], -members["x"]], axis=-1)

    def payload(self, members: Any) -> dict[str, Any]:
        return {"weights": jnp.eye(self.pop_size, dtype=jnp.float32), "actor": members["x"]}

    def after_evaluation(self, members: Any, extra: Any, returns: jax.Array, archive: Any, initial: bool) -> tuple[Any, Any]:
        return members, extra

    def act(self, actor: Any, weights: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array:
        return jnp.int32(0)


@pytest.mark.parametrize("num_runs", [None, 2])
def test_evaluations_run_only_every_eval_period_iterations(num_runs):
    """With several runs the evaluation is still a real `lax.cond` (its predicate comes from
    the chunk's unbatched first iteration, not from the run-batched state), so it runs only
    on iterations that are multiples of `eval_period`; a batched predicate would make it a
    select that evaluates every iteration and discards the result."""
    algorithm = Counting()
    schedule = Schedule(total_steps=12, eval_period=3, chunk_iterations=4, archive_capacity=8)
    trainer = PopulationTrainer(None, algorithm, schedule, num_runs=num_runs)
    key = jax.random.key(0)
    state = trainer.init(jax.random.split(key, num_runs) if num_runs else key)
    jax.effects_barrier()
    runs = num_runs or 1
    assert set(algorithm.evaluations) == {0}  # the untrained population's, in init
    algorithm.evaluations.clear()
    while not trainer.done(state):
        state, _ = trainer.run_chunk(state)
    jax.effects_barrier()
    # iterations 1..12 in chunks of 4: evaluations after iterations 3, 6, 9 and 12 only
    assert sorted(algorithm.evaluations) == [i for i in (3, 6, 9, 12) for _ in range(runs)]
    for run in range(runs):
        one = select_run(state, run, num_runs)
        assert np.asarray(one.member_returns)[:, 0].tolist() == [12.0, 12.0]
        archived = np.asarray(one.archive.payload["iteration"])[np.asarray(one.archive.valid)]
        assert set(archived.tolist()) <= {0, 3, 6, 9, 12}



class KeyedCounting(Counting):
    """`Counting` whose members keep the key its `init` got."""

    def init(self, key: jax.Array, weights_key: jax.Array, hparams: Any) -> tuple[Any, Any]:
        members, extra = super().init(key, weights_key, hparams)
        return {**members, "key": jax.random.key_data(key)}, extra


def test_split_key_lays_out_the_keys_of_init():
    """`Schedule.split_key(key) -> (key_members, key_rng)`: init passes `key_members` to the
    algorithm and starts the state's `rng` at `key_rng`; refused with the initial evaluation."""

    def split(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        return jax.random.fold_in(key, 5), jax.random.fold_in(key, 6)

    schedule = Schedule(4, 2, 2, 4, initial_evaluation=False, split_key=split)
    key = jax.random.key(3)
    state = PopulationTrainer(None, KeyedCounting(), schedule).init(key)
    key_members, key_rng = split(key)
    assert np.array_equal(state.members["key"], jax.random.key_data(key_members))
    assert np.array_equal(jax.random.key_data(state.rng), jax.random.key_data(key_rng))
    with pytest.raises(ValueError, match="split_key"):
        PopulationTrainer(None, KeyedCounting(), Schedule(4, 2, 2, 4, split_key=split))
