"""A test double of `morl.algorithms.api.Trainer`, registered as algorithm "fake".

Its state is a counter, an RNG key and a random-walk "front" (`pop` points drifting
upwards on deep-sea-treasure's scale): enough to exercise logging, checkpoints, resume
and in-program sweeps without any learning. Its policies are fixed actions (member i
always takes action i % 4) so `morl eval` has real returns to compute. Not shipped.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from morl import envs
from morl.algorithms import Front, register_algorithm


@dataclass(frozen=True)
class FakeConfig:
    env: str = "deep-sea-treasure-v0"
    total_steps: int = 1000
    ref_point: tuple[float, ...] | None = None
    eval_gamma: float = 1.0
    chunk_steps: int = 100
    pop: int = 4
    step_size: float = 0.5
    sleep: float = 0.0  # host seconds per chunk, to give kill tests time to land
    init_sleep: float = 0.0  # host seconds in init, standing in for a long compilation
    vmappable: ClassVar[tuple[str, ...]] = ("step_size",)


def _init_one(key, step_size, config: FakeConfig, m: int):
    key, sub = jax.random.split(key)
    start = jnp.array([0.0, -25.0] + [0.0] * (m - 2))
    points = start + jnp.abs(jax.random.normal(sub, (config.pop, m)))
    return {"key": key, "points": points, "steps": jnp.int32(0), "step_size": step_size}


def _chunk_one(state, config: FakeConfig):
    key, sub = jax.random.split(state["key"])
    drift = state["step_size"] * jnp.abs(jax.random.normal(sub, state["points"].shape))
    points = state["points"] + drift
    new = {**state, "key": key, "points": points, "steps": state["steps"] + config.chunk_steps}
    return new, {"member_returns": points, "loss": jnp.mean(drift)}


# module-level jits with the (hashable) config static: every test reuses the compilations
@functools.partial(jax.jit, static_argnames=("config", "m", "batched"))
def _init(keys, step_sizes, config, m, batched):
    if batched:
        return jax.vmap(_init_one, in_axes=(0, 0, None, None))(keys, step_sizes, config, m)
    return _init_one(keys, step_sizes[0], config, m)


@functools.partial(jax.jit, static_argnames=("config", "batched"))
def _chunk(state, config, batched):
    return jax.vmap(_chunk_one, in_axes=(0, None))(state, config) if batched else _chunk_one(state, config)


class FakeTrainer:
    def __init__(self, config: FakeConfig, num_runs: int | None = None, hparams=None):
        if config.pop < 1:
            raise ValueError(f"pop must be >= 1, got {config.pop}")
        for key in hparams or {}:
            if key not in FakeConfig.vmappable:
                raise ValueError(f"fake: '{key}' is not vmappable")
        self.config = config
        self.env = envs.make(config.env)
        self.num_runs = num_runs
        step_sizes = (hparams or {}).get("step_size")
        if step_sizes is None:
            step_sizes = np.full(num_runs or 1, config.step_size)
        self._step_sizes = jnp.asarray(step_sizes, jnp.float32)
        # fewer distinct compiles: the traced program does not depend on these
        self._static = dataclasses.replace(config, step_size=0.0, total_steps=0, sleep=0.0, init_sleep=0.0)

    def init(self, key):
        if self.config.init_sleep:
            time.sleep(self.config.init_sleep)
        return _init(key, self._step_sizes, self._static, self.env.reward_dim, self.num_runs is not None)

    def run_chunk(self, state):
        if self.config.sleep:
            time.sleep(self.config.sleep)
        return _chunk(state, self._static, self.num_runs is not None)

    def done(self, state) -> bool:
        return self.env_steps(state) >= self.config.total_steps

    def env_steps(self, state) -> int:
        steps = np.asarray(state["steps"])
        return int(steps if steps.ndim == 0 else steps[0])

    def front(self, state, run: int = 0) -> Front:
        points = np.asarray(state["points"])
        points = points if self.num_runs is None else points[run]
        m = points.shape[1]
        weights = np.tile(np.eye(m)[0], (len(points), 1))
        return Front(returns=points, weights=weights, member=np.arange(len(points)))

    def policy(self, state, member: int, run: int = 0):
        return jax.tree_util.Partial(_constant_action, jnp.int32(member % 4))


def _constant_action(action, obs, key):
    return action


def make_trainer(config: FakeConfig, *, num_runs=None, hparams=None) -> FakeTrainer:
    return FakeTrainer(config, num_runs, hparams)


register_algorithm("fake", FakeConfig, make_trainer)
