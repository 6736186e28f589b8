"""A test double of `morl.algorithms.api.Trainer`, registered as algorithm "fake".

Its state is a counter, an RNG key and a random-walk "front" (`pop` points drifting
upwards on deep-sea-treasure's scale): enough to exercise logging, checkpoints, resume
and in-program sweeps without any learning. Its policies are fixed actions (member i
always takes action i % 4) so `morl eval` has real returns to compute. Not shipped.
"""

from __future__ import annotations

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
    vmappable: ClassVar[tuple[str, ...]] = ("step_size",)


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
        m = self.env.reward_dim
        step_sizes = (hparams or {}).get("step_size")
        if step_sizes is None:
            step_sizes = np.full(num_runs or 1, config.step_size)
        self._step_sizes = jnp.asarray(step_sizes, jnp.float32)

        def init_one(key, step_size):
            key, sub = jax.random.split(key)
            start = jnp.array([0.0, -25.0] + [0.0] * (m - 2))
            points = start + jnp.abs(jax.random.normal(sub, (config.pop, m)))
            return {"key": key, "points": points, "steps": jnp.int32(0), "step_size": step_size}

        def chunk_one(state):
            key, sub = jax.random.split(state["key"])
            drift = state["step_size"] * jnp.abs(jax.random.normal(sub, state["points"].shape))
            points = state["points"] + drift
            new = {**state, "key": key, "points": points, "steps": state["steps"] + config.chunk_steps}
            return new, {"member_returns": points, "loss": jnp.mean(drift)}

        if num_runs is None:
            self._init = jax.jit(lambda key: init_one(key, self._step_sizes[0]))
            self._chunk = jax.jit(chunk_one)
        else:
            self._init = jax.jit(lambda keys: jax.vmap(init_one)(keys, self._step_sizes))
            self._chunk = jax.jit(jax.vmap(chunk_one))

    def init(self, key):
        return self._init(key)

    def run_chunk(self, state):
        if self.config.sleep:
            time.sleep(self.config.sleep)
        return self._chunk(state)

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
        action = jnp.int32(member % 4)
        return lambda obs, key: action


def make_trainer(config: FakeConfig, *, num_runs=None, hparams=None) -> FakeTrainer:
    return FakeTrainer(config, num_runs, hparams)


register_algorithm("fake", FakeConfig, make_trainer)
