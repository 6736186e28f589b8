"""Pareto Conditioned Networks (Reymond et al., AAMAS 2022) as one compiled program.

One network `pi(a | s, c)` acts for every point of the front: the command `c = (desired
return [m], desired horizon)` says what the rest of the episode should collect (every
objective maximised, undiscounted) and in how many steps. After each step the command
becomes `(desired return - reward, max(horizon - 1, 1))`. Training is supervised: a step
`t` of a stored episode of length `T` with return-to-go `R_t` is a sample of the action
taken given `(s_t, (R_t, T - t))`, and the loss is the cross-entropy. No weights, no
value function.

One iteration (`_iteration`), all inside `jit`:

    repeat gradient_steps times: cross-entropy on batch_size (episode, step) pairs
    commands = around the non-dominated returns of the best command_episodes episodes:
        a random one of them, horizon - 2, one random objective raised by U(0, std)
    episodes = episodes_per_iteration episodes sampling pi(. | s, c)
    buffer = the best buffer_episodes of buffer + episodes       (`prune`)
    every eval_period iterations: for each non-dominated buffer episode, the greedy policy
        commanded with its (return, length) is evaluated (discounted with eval_gamma) into
        the Pareto archive, each entry with its command and a copy of the network

The buffer starts with `initial_episodes` uniformly random episodes. Buffer priority
(`prune`): minus the distance to the nearest non-dominated return (0 on the front),
-1e-5 for duplicates of a front point, doubled for crowded episodes (crowding distance
<= crowding_threshold), so crowded and dominated episodes leave first.

The archived policies need the command, which changes with every reward, so `policy`
returns a `morl.envs.evaluation.MemoryPolicy`: `act(obs, command) -> action`, the
member's initial command, and `next_command` to update it after each step (`morl eval`
and `morl render` carry it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from morl import envs, parallel
from morl.algorithms.api import Front
from morl.algorithms.envelope.network import flat_observation
from morl.algorithms.pcn.config import PCNConfig
from morl.algorithms.scaffold import check_hparams, check_num_runs, select_run, vmap_runs
from morl.envs import spaces
from morl.envs.evaluation import MemoryPolicy
from morl.envs.registry import parse_kwargs
from morl.pareto.archive import ParetoArchive, archive_front, archive_init, archive_insert
from morl.pareto.fronts import crowding_distance, is_non_dominated


class CommandPolicy(nn.Module):
    """`(obs [..., d], command [..., m + 1]) -> logits [..., num_actions]`.

    As the paper: the observation and the scaled command are each embedded by one sigmoid
    layer, their product goes through a ReLU layer to the logits."""

    num_actions: int
    scales: tuple[float, ...]
    hidden_size: int = 64

    @nn.compact
    def __call__(self, obs: jax.Array, command: jax.Array) -> jax.Array:
        state = nn.sigmoid(nn.Dense(self.hidden_size)(obs))
        goal = nn.sigmoid(nn.Dense(self.hidden_size)(command * jnp.asarray(self.scales, jnp.float32)))
        x = nn.relu(nn.Dense(self.hidden_size)(state * goal))
        return nn.Dense(self.num_actions)(x)


def next_command(command: jax.Array, reward: jax.Array) -> jax.Array:
    """The command after a step: `(desired return - reward, max(horizon - 1, 1))`; `command
    [..., m + 1]`, `reward [..., m]`."""
    return jnp.concatenate([command[..., :-1] - reward, jnp.maximum(command[..., -1:] - 1.0, 1.0)], axis=-1)


@struct.dataclass
class Episodes:
    """`E` stored episodes padded to `L = max_episode_steps`: `obs [E, L, d]` (flat
    float32), `action [E, L]`, `return_to_go [E, L, m]` (undiscounted, from step t on),
    `length [E]`, `returns [E, m]` (undiscounted), `discounted [E, m]` (with
    `eval_gamma`), `valid [E]`. Steps at or after `length` hold zeros."""

    obs: jax.Array
    action: jax.Array
    return_to_go: jax.Array
    length: jax.Array
    returns: jax.Array
    discounted: jax.Array
    valid: jax.Array


@struct.dataclass
class PCNState:
    """One run's training state (a pytree of arrays; `num_runs` adds a leading axis).

    `params`, `opt_state`: the command-conditioned policy and Adam's state; `buffer`:
    `Episodes [buffer_episodes]` sorted by priority (best first); `archive`: Pareto
    archive of evaluated discounted returns `[capacity, m]` with payload `weights [m]`
    (1/m each: PCN has no weights), `member` (buffer slot), `command [m + 1]` (initial
    desired return and horizon), `iteration` and `params`; `iteration`; `env_steps`:
    env steps the episodes took; `rng`."""

    params: Any
    opt_state: Any
    buffer: Episodes
    archive: ParetoArchive
    iteration: jax.Array
    env_steps: jax.Array
    rng: jax.Array


class PCNTrainer:
    """The `morl.algorithms.api.Trainer` of PCN (see the module docstring)."""

    def __init__(
        self,
        config: PCNConfig,
        *,
        num_runs: int | None = None,
        hparams: Mapping[str, np.ndarray] | None = None,
        devices: int | None = None,
    ):
        if not isinstance(config, PCNConfig):
            raise TypeError(f"config must be a PCNConfig, got {type(config).__name__}")
        self.config = config
        self.env = envs.make(config.env, **parse_kwargs(config.env_kwargs))
        m = self.env.reward_dim
        config.validate(m)
        action_space = self.env.action_space()
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"PCNConfig: env {config.env} has action space {action_space}; PCN needs Discrete actions")
        self.num_runs = check_num_runs(num_runs, hparams)
        check_hparams(PCNConfig.vmappable, self.num_runs, hparams)
        self.num_actions = int(action_space.n)
        self.obs_shape = tuple(self.env.observation_space().shape)
        self.network = CommandPolicy(self.num_actions, config.scales(m), config.hidden_size)
        self.optimizer = optax.adam(config.learning_rate)
        self.placement = parallel.placement(devices, num_runs=self.num_runs, population=1)
        self._run_chunk = parallel.jit_step(vmap_runs(self._chunk, self.num_runs), self.placement)
        self._init = parallel.jit_init(vmap_runs(self._init_one, self.num_runs), self.placement)

    # --- the compiled program ---------------------------------------------------------
    def _flat(self, obs: jax.Array) -> jax.Array:
        return flat_observation(obs, self.obs_shape)

    def _init_one(self, key: jax.Array) -> PCNState:
        config, m = self.config, self.env.reward_dim
        key_net, key_random, key_rng = jax.random.split(key, 3)
        obs, _ = self.env.reset(key_net)
        params = self.network.init(key_net, self._flat(obs), jnp.zeros((m + 1,), jnp.float32))
        commands = jnp.zeros((config.initial_episodes, m + 1), jnp.float32)
        first = self._collect(params, key_random, commands, mode="uniform")
        empty = jax.tree_util.tree_map(
            lambda x: jnp.zeros((config.buffer_episodes,) + x.shape[1:], x.dtype), first
        )
        payload = {
            "weights": jnp.zeros((m,), jnp.float32),
            "member": jnp.int32(0),
            "command": jnp.zeros((m + 1,), jnp.float32),
            "iteration": jnp.int32(0),
            "params": params,
        }
        return PCNState(
            params=params,
            opt_state=self.optimizer.init(params),
            buffer=self.prune(empty, first),
            archive=archive_init(config.archive_capacity, m, payload),
            iteration=jnp.int32(0),
            env_steps=jnp.sum(first.length),
            rng=key_rng,
        )

    def _collect(self, params: Any, key: jax.Array, commands: jax.Array, mode: str) -> Episodes:
        """`n = len(commands)` episodes from `commands [n, m + 1]`, at most
        `max_episode_steps` steps each; `mode`: "sample" (pi's distribution), "greedy"
        (its argmax) or "uniform" (uniformly random actions)."""
        config, m = self.config, self.env.reward_dim
        n, steps, gamma = commands.shape[0], config.max_episode_steps, config.eval_gamma
        key_reset, key = jax.random.split(key)
        obs, env_state = jax.vmap(self.env.reset)(jax.random.split(key_reset, n))
        dim = self._flat(obs).shape[-1]
        trajectory = {
            "obs": jnp.zeros((n, steps, dim), jnp.float32),
            "action": jnp.zeros((n, steps), jnp.int32),
            "reward": jnp.zeros((n, steps, m), jnp.float32),
        }

        def running(carry):
            alive, t = carry[2], carry[6]
            return jnp.any(alive) & (t < steps)

        def env_step(carry):
            obs, env_state, alive, command, trajectory, length, t, key = carry
            key, key_action, key_step = jax.random.split(key, 3)
            flat = self._flat(obs)
            logits = self.network.apply(params, flat, command)
            if mode == "greedy":
                action = jnp.argmax(logits, axis=-1).astype(jnp.int32)
            elif mode == "sample":
                action = jax.random.categorical(key_action, logits).astype(jnp.int32)
            else:
                action = jax.random.randint(key_action, (n,), 0, self.num_actions)
            obs, env_state, reward, terminated, truncated, _ = jax.vmap(self.env.step)(
                jax.random.split(key_step, n), env_state, action
            )
            reward = jnp.where(alive[:, None], reward.astype(jnp.float32), 0.0)
            trajectory = {
                "obs": trajectory["obs"].at[:, t].set(jnp.where(alive[:, None], flat, 0.0)),
                "action": trajectory["action"].at[:, t].set(jnp.where(alive, action, 0)),
                "reward": trajectory["reward"].at[:, t].set(reward),
            }
            length = length + alive.astype(jnp.int32)
            alive = alive & ~(terminated | truncated)
            return obs, env_state, alive, next_command(command, reward), trajectory, length, t + 1, key

        alive, length = jnp.ones((n,), bool), jnp.zeros((n,), jnp.int32)
        carry = (obs, env_state, alive, commands, trajectory, length, jnp.int32(0), key)
        _, _, _, _, trajectory, length, _, _ = jax.lax.while_loop(running, env_step, carry)
        step_ids = jnp.arange(steps)
        reward = trajectory["reward"]
        returns = jnp.sum(reward, axis=1)
        discounted = jnp.sum(reward * (gamma ** step_ids.astype(jnp.float32))[None, :, None], axis=1)
        return_to_go = returns[:, None, :] - (jnp.cumsum(reward, axis=1) - reward)
        return_to_go = jnp.where((step_ids[None, :] < length[:, None])[..., None], return_to_go, 0.0)
        return Episodes(
            obs=trajectory["obs"], action=trajectory["action"], return_to_go=return_to_go, length=length,
            returns=returns, discounted=discounted, valid=jnp.ones((n,), bool),
        )  # fmt: skip

    def prune(self, buffer: Episodes, new: Episodes) -> Episodes:
        """The best `buffer_episodes` of `buffer` and `new`, best first (module docstring)."""
        merged = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a, b]), buffer, new)
        returns, valid = merged.returns, merged.valid
        front = is_non_dominated(returns, valid)
        distance = jnp.sqrt(jnp.sum((returns[:, None, :] - returns[None, :, :]) ** 2, axis=-1))
        priority = -jnp.min(jnp.where(front[None, :], distance, jnp.inf), axis=1)
        priority = jnp.where(front, priority, priority - 1e-5)
        crowded = crowding_distance(returns, valid) <= self.config.crowding_threshold
        priority = jnp.where(crowded, 2.0 * priority, priority)
        priority = jnp.where(valid, priority, -jnp.inf)
        # Best first; among equal priorities the newest episode first.
        count = priority.shape[0]
        order = count - 1 - jnp.argsort(-priority[::-1], stable=True)
        keep = order[: self.config.buffer_episodes]
        return jax.tree_util.tree_map(lambda x: x[keep], merged)

    def _commands(self, buffer: Episodes, key: jax.Array) -> jax.Array:
        """`[episodes_per_iteration, m + 1]` exploration commands (module docstring)."""
        config, m = self.config, self.env.reward_dim
        n, top = config.episodes_per_iteration, config.command_episodes
        returns, valid = buffer.returns[:top], buffer.valid[:top]
        front = is_non_dominated(returns, valid)
        key_pick, key_objective, key_raise = jax.random.split(key, 3)
        pick = jax.random.categorical(key_pick, jnp.where(front, 0.0, -jnp.inf), shape=(n,))
        count = jnp.maximum(jnp.sum(front), 1)
        mean = jnp.sum(jnp.where(front[:, None], returns, 0.0), axis=0) / count
        std = jnp.sqrt(jnp.sum(jnp.where(front[:, None], (returns - mean) ** 2, 0.0), axis=0) / count)
        objective = jax.random.randint(key_objective, (n,), 0, m)
        lift = jax.random.uniform(key_raise, (n,)) * std[objective]
        desired = returns[pick] + jax.nn.one_hot(objective, m) * lift[:, None]
        horizon = jnp.maximum(buffer.length[pick].astype(jnp.float32) - 2.0, 1.0)
        return jnp.concatenate([desired, horizon[:, None]], axis=-1)

    def _loss(self, params: Any, obs: jax.Array, command: jax.Array, action: jax.Array):
        logits = self.network.apply(params, obs, command)
        log_probs = jax.nn.log_softmax(logits)
        loss = -jnp.mean(jnp.take_along_axis(log_probs, action[:, None], axis=-1))
        return loss

    def _update(self, state: PCNState, key: jax.Array) -> tuple[PCNState, jax.Array]:
        """`gradient_steps` cross-entropy steps on (episode, step) pairs drawn uniformly."""
        config, buffer = self.config, state.buffer
        count = jnp.maximum(jnp.sum(buffer.valid), 1)

        def gradient_step(carry, key):
            params, opt_state = carry
            key_episode, key_step = jax.random.split(key)
            episode = jax.random.randint(key_episode, (config.batch_size,), 0, count)
            length = buffer.length[episode]
            t = jnp.minimum(
                (jax.random.uniform(key_step, (config.batch_size,)) * length).astype(jnp.int32), length - 1
            )
            horizon = (length - t).astype(jnp.float32)
            command = jnp.concatenate([buffer.return_to_go[episode, t], horizon[:, None]], axis=-1)
            loss, grads = jax.value_and_grad(self._loss)(params, buffer.obs[episode, t], command, buffer.action[episode, t])
            changes, opt_state = self.optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, changes), opt_state), loss

        (params, opt_state), losses = jax.lax.scan(
            gradient_step, (state.params, state.opt_state), jax.random.split(key, config.gradient_steps)
        )
        return state.replace(params=params, opt_state=opt_state), jnp.mean(losses)

    def _iteration(self, state: PCNState, _: Any) -> tuple[PCNState, dict[str, jax.Array]]:
        rng, key_update, key_commands, key_collect = jax.random.split(state.rng, 4)
        state, loss = self._update(state, key_update)
        commands = self._commands(state.buffer, key_commands)
        new = self._collect(state.params, key_collect, commands, mode="sample")
        state = state.replace(
            buffer=self.prune(state.buffer, new),
            iteration=state.iteration + 1,
            env_steps=state.env_steps + jnp.sum(new.length),
            rng=rng,
        )
        metrics = {
            "loss": loss,
            "episode_length": jnp.mean(new.length.astype(jnp.float32)),
            "buffer_front": jnp.sum(is_non_dominated(state.buffer.returns, state.buffer.valid)).astype(jnp.int32),
        }
        return state, metrics

    def evaluate(self, params: Any, buffer: Episodes, key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Greedy episodes commanded with each buffer episode's (return, length): discounted
        returns `[B, m]`, the commands `[B, m + 1]` and which are on the buffer's front `[B]`."""
        front = is_non_dominated(buffer.returns, buffer.valid)
        commands = jnp.concatenate([buffer.returns, buffer.length[:, None].astype(jnp.float32)], axis=-1)
        return self._collect(params, key, commands, mode="greedy").discounted, commands, front

    def _block(self, state: PCNState, _: Any) -> tuple[PCNState, dict[str, jax.Array]]:
        """`eval_period` iterations, then an evaluation into the archive."""
        config, m = self.config, self.env.reward_dim
        state, history = jax.lax.scan(self._iteration, state, None, config.eval_period)
        rng, key_eval = jax.random.split(state.rng)
        returns, commands, front = self.evaluate(state.params, state.buffer, key_eval)
        k = returns.shape[0]
        payload = {
            "weights": jnp.full((k, m), 1.0 / m, jnp.float32),
            "member": jnp.arange(k, dtype=jnp.int32),
            "command": commands,
            "iteration": jnp.full((k,), state.iteration, jnp.int32),
            "params": jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (k,) + x.shape), state.params),
        }
        archive = archive_insert(state.archive, returns, payload, valid=front)
        return state.replace(archive=archive, rng=rng), jax.tree_util.tree_map(lambda x: x[-1], history)

    def _chunk(self, state: PCNState) -> tuple[PCNState, dict[str, jax.Array]]:
        config = self.config
        state, history = jax.lax.scan(self._block, state, None, config.chunk_iterations // config.eval_period)
        metrics = jax.tree_util.tree_map(lambda x: x[-1], history)
        metrics.update(
            archive_size=jnp.sum(state.archive.valid).astype(jnp.int32),
            iteration=state.iteration,
            env_steps=state.env_steps,
        )
        return state, metrics

    # --- the Trainer protocol ------------------------------------------------------------
    def init(self, key: jax.Array) -> PCNState:
        return self._init(key)

    def run_chunk(self, state: PCNState) -> tuple[PCNState, dict[str, jax.Array]]:
        return self._run_chunk(state)

    def done(self, state: PCNState) -> bool:
        return self.env_steps(state) >= self.config.total_steps

    def env_steps(self, state: PCNState) -> int:
        """The fewest env steps any run has taken (episodes differ in length between runs)."""
        return int(np.min(np.asarray(state.env_steps)))

    def front(self, state: PCNState, run: int = 0) -> Front:
        archive = select_run(state, run, self.num_runs).archive
        points, payload = archive_front(archive)
        slots = np.flatnonzero(np.asarray(archive.valid))
        return Front(returns=np.asarray(points), weights=np.asarray(payload["weights"]), member=slots)

    def policy(self, state: PCNState, member: int, run: int = 0) -> MemoryPolicy:
        """Archive member `member`'s greedy policy with its command as memory:
        `act(obs, command) -> action` (one observation, no batch axis), the member's initial
        command `[m + 1]`, and `remember = next_command` after each step."""
        archive = select_run(state, run, self.num_runs).archive
        if not (0 <= member < archive.valid.shape[0]) or not bool(archive.valid[member]):
            raise ValueError(f"member={member} is not in the archive (valid ids: {np.flatnonzero(np.asarray(archive.valid)).tolist()})")
        params = jax.tree_util.tree_map(lambda x: x[member], archive.payload["params"])
        return MemoryPolicy(
            act=jax.tree_util.Partial(self._greedy, params),
            remember=jax.tree_util.Partial(next_command),
            memory=archive.payload["command"][member],
        )

    def _greedy(self, params: Any, obs: jax.Array, command: jax.Array) -> jax.Array:
        return jnp.argmax(self.network.apply(params, self._flat(obs), command), axis=-1).astype(jnp.int32)


def make_trainer(
    config: PCNConfig,
    *,
    num_runs: int | None = None,
    hparams: Mapping[str, np.ndarray] | None = None,
    devices: int | None = None,
) -> PCNTrainer:
    """Validate `config` and build the PCN trainer (nothing is compiled yet); `devices` > 1
    splits the runs over that many devices (`morl.parallel`)."""
    return PCNTrainer(config, num_runs=num_runs, hparams=hparams, devices=devices)
