"""Envelope Q-learning (Yang et al., NeurIPS 2019) as one compiled program.

One network `Q(s, a, w) in R^m` serves every simplex weight `w` (every objective
maximised). One iteration (`_iteration`), all inside `jit`:

    transitions = rollout(Q, epsilon)          # num_envs envs x rollout_steps, epsilon-greedy on
                                               # w . Q(s, ., w), w redrawn (Dirichlet(1)) per episode
    buffer = insert(buffer, transitions)       # vector rewards: valid for any weight
    repeat gradient_steps times:               # once the buffer holds learning_starts rows
        W = N_w weights from Dirichlet(1); each of B transitions paired with each w in W
        y(w) = r + gamma Q_target(s', a*, w*),  (a*, w*) = argmax_{a, w' in W} w . Q_target(s', a, w')
        loss = (1 - lambda) |Q(s, a, w) - y|^2 + lambda |w . y - w . Q(s, a, w)|
        target <- online every target_update_period gradient steps
    after every eval_period iterations: the greedy policy for each of num_eval_weights dense simplex
        weights is evaluated (discounted with eval_gamma) into the Pareto archive, each entry
        with its weight and a copy of the network

epsilon goes linearly from epsilon_start to epsilon_end over the first epsilon_fraction of
the run, lambda (homotopy) from 0 to 1 over the first homotopy_fraction. `run_chunk` scans
`chunk_iterations` iterations (a multiple of `eval_period`); with `num_runs=R` the program is vmapped over R seeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from morl import envs, parallel
from morl.envs.evaluation import evaluate
from morl.agents.sac.replay import ReplayBuffer, init_buffer, insert, sample
from morl.algorithms.api import Front
from morl.algorithms.envelope.config import EnvelopeConfig
from morl.algorithms.envelope.network import VectorQNetwork, flat_observation, greedy_action
from morl.algorithms.scaffold import check_hparams, check_num_runs, select_run, vmap_runs
from morl.decomposition.weights import random_weights, uniform_weights
from morl.envs import spaces
from morl.envs.registry import parse_kwargs
from morl.pareto.archive import ParetoArchive, archive_front, archive_init, archive_insert


@struct.dataclass
class EnvelopeState:
    """One run's training state (a pytree of arrays; `num_runs` adds a leading axis).

    `params`, `target_params`: the Q-network and its target; `opt_state`: Adam's;
    `buffer`: replay of `{obs [d], action [], reward [m], next_obs [d], terminated []}`
    (observations flattened to float32 `[d]`); `env_state`, `obs [E, ...]`: the `E =
    num_envs` training envs; `episode_weights [E, m]`: each env's weight for its current
    episode; `archive`: Pareto archive of evaluated discounted returns `[capacity, m]`
    with payload `weights [m]`, `member` (index into the eval weights), `iteration` and
    `params` (the network that produced it); `iteration`, `updates`: iterations and
    gradient steps done; `rng`."""

    params: Any
    target_params: Any
    opt_state: Any
    buffer: ReplayBuffer
    env_state: Any
    obs: jax.Array
    episode_weights: jax.Array
    archive: ParetoArchive
    iteration: jax.Array
    updates: jax.Array
    rng: jax.Array


def linear_schedule(start: float, end: float, fraction: float, progress: jax.Array) -> jax.Array:
    """`start` -> `end` linearly while `progress` (share of the run, in [0, 1]) goes 0 -> `fraction`."""
    return start + (end - start) * jnp.clip(progress / fraction, 0.0, 1.0)


class EnvelopeTrainer:
    """The `morl.algorithms.api.Trainer` of Envelope Q-learning (see the module docstring)."""

    def __init__(
        self,
        config: EnvelopeConfig,
        *,
        num_runs: int | None = None,
        hparams: Mapping[str, np.ndarray] | None = None,
        devices: int | None = None,
    ):
        if not isinstance(config, EnvelopeConfig):
            raise TypeError(f"config must be an EnvelopeConfig, got {type(config).__name__}")
        self.config = config
        self.env = envs.make(config.env, **parse_kwargs(config.env_kwargs))
        m = self.env.reward_dim
        config.validate(m)
        action_space = self.env.action_space()
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"EnvelopeConfig: env {config.env} has action space {action_space}; Envelope Q-learning needs Discrete actions")
        self.num_runs = check_num_runs(num_runs, hparams)
        check_hparams(EnvelopeConfig.vmappable, self.num_runs, hparams)
        self.num_actions = int(action_space.n)
        self.obs_shape = tuple(self.env.observation_space().shape)
        self.train_env = envs.VmapEnv(envs.AutoReset(self.env), config.num_envs)
        self.network = VectorQNetwork(self.num_actions, m, config.hidden_sizes, config.activation)
        self.optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate))
        self.eval_weights = np.asarray(uniform_weights(m, config.num_eval_weights), np.float32)
        self.placement = parallel.placement(devices, num_runs=self.num_runs, population=1)
        self._run_chunk = parallel.jit_step(vmap_runs(self._chunk, self.num_runs), self.placement)
        self._init = parallel.jit_init(vmap_runs(self._init_one, self.num_runs), self.placement)

    # --- the compiled program ---------------------------------------------------------
    def _flat(self, obs: jax.Array) -> jax.Array:
        return flat_observation(obs, self.obs_shape)

    def _init_one(self, key: jax.Array) -> EnvelopeState:
        config, m = self.config, self.env.reward_dim
        key_net, key_env, key_weights, key_rng = jax.random.split(key, 4)
        obs, env_state = self.train_env.reset(key_env)
        dummy_obs = self._flat(obs[0])
        params = self.network.init(key_net, dummy_obs, jnp.zeros((m,), jnp.float32))
        example = {
            "obs": dummy_obs,
            "action": jnp.int32(0),
            "reward": jnp.zeros((m,), jnp.float32),
            "next_obs": dummy_obs,
            "terminated": jnp.bool_(False),
        }
        payload = {"weights": jnp.zeros((m,), jnp.float32), "member": jnp.int32(0), "iteration": jnp.int32(0), "params": params}
        return EnvelopeState(
            params=params,
            target_params=params,
            opt_state=self.optimizer.init(params),
            buffer=init_buffer(example, config.buffer_size),
            env_state=env_state,
            obs=obs,
            episode_weights=random_weights(key_weights, m, config.num_envs),
            archive=archive_init(config.archive_capacity, m, payload),
            iteration=jnp.int32(0),
            updates=jnp.int32(0),
            rng=key_rng,
        )

    def _progress(self, iteration: jax.Array) -> jax.Array:
        """Share of the run done, in [0, 1]."""
        return iteration.astype(jnp.float32) / self.config.total_iterations

    def _rollout(self, state: EnvelopeState, key: jax.Array, epsilon: jax.Array) -> tuple[EnvelopeState, dict]:
        """`rollout_steps` epsilon-greedy steps of every env; transitions `[T * E, ...]`."""
        config, m = self.config, self.env.reward_dim

        def env_step(carry, key):
            env_state, obs, weights = carry
            key_random, key_explore, key_step, key_weights = jax.random.split(key, 4)
            q_values = self.network.apply(state.params, self._flat(obs), weights)
            greedy = greedy_action(q_values, weights)
            random = jax.random.randint(key_random, (config.num_envs,), 0, self.num_actions)
            explore = jax.random.uniform(key_explore, (config.num_envs,)) < epsilon
            action = jnp.where(explore, random, greedy)
            next_obs, env_state, reward, terminated, truncated, info = self.train_env.step(key_step, env_state, action)
            done = terminated | truncated
            weights = jnp.where(done[:, None], random_weights(key_weights, m, config.num_envs), weights)
            transition = {
                "obs": self._flat(obs),
                "action": action,
                "reward": reward.astype(jnp.float32),
                "next_obs": self._flat(info["final_obs"]),
                "terminated": terminated,
            }
            return (env_state, next_obs, weights), transition

        carry = (state.env_state, state.obs, state.episode_weights)
        (env_state, obs, weights), transitions = jax.lax.scan(env_step, carry, jax.random.split(key, config.rollout_steps))
        transitions = jax.tree_util.tree_map(lambda x: x.reshape((-1,) + x.shape[2:]), transitions)
        return state.replace(env_state=env_state, obs=obs, episode_weights=weights), transitions

    def _loss(self, params: Any, target_params: Any, batch: dict, weights: jax.Array, homotopy: jax.Array):
        """Envelope loss of `B` transitions x `N` weights `[N, m]` (every pair is one sample)."""
        config, m = self.config, self.env.reward_dim
        batch_size, n = batch["action"].shape[0], weights.shape[0]
        q_values = self.network.apply(params, batch["obs"][:, None, :], weights[None])  # [B, N, A, m]
        q_taken = jnp.take_along_axis(q_values, batch["action"][:, None, None, None], axis=2)[:, :, 0]  # [B, N, m]
        q_next = self.network.apply(target_params, batch["next_obs"][:, None, :], weights[None])  # [B, N', A, m]
        # The envelope: for each training weight w_i, the (w', a) maximising w_i . Q_target(s', a, w').
        scalarised = jnp.einsum("bjam,im->bija", q_next, weights).reshape(batch_size, n, -1)  # [B, N, N' * A]
        best = jnp.argmax(scalarised, axis=-1)  # [B, N]
        candidates = q_next.reshape(batch_size, 1, -1, m)  # [B, 1, N' * A, m]
        q_star = jnp.take_along_axis(candidates, best[:, :, None, None], axis=2)[:, :, 0]  # [B, N, m]
        bootstrap = config.gamma * (1.0 - batch["terminated"].astype(jnp.float32))[:, None, None]
        target = jax.lax.stop_gradient(batch["reward"][:, None, :] + bootstrap * q_star)
        loss_a = jnp.mean(jnp.sum((q_taken - target) ** 2, axis=-1))
        loss_b = jnp.mean(jnp.abs(jnp.einsum("bnm,nm->bn", target - q_taken, weights)))
        loss = (1.0 - homotopy) * loss_a + homotopy * loss_b
        return loss, {"loss": loss, "loss_a": loss_a, "loss_b": loss_b, "q_mean": jnp.mean(q_taken)}

    def _update(self, state: EnvelopeState, key: jax.Array, homotopy: jax.Array) -> tuple[EnvelopeState, dict]:
        """`gradient_steps` Envelope gradient steps on replay batches, target copies included."""
        config, m = self.config, self.env.reward_dim

        def gradient_step(carry, key):
            params, target_params, opt_state, updates = carry
            key_batch, key_weights = jax.random.split(key)
            batch = sample(state.buffer, key_batch, config.batch_size)
            weights = random_weights(key_weights, m, config.num_sample_weights)
            grads, info = jax.grad(self._loss, has_aux=True)(params, target_params, batch, weights, homotopy)
            changes, opt_state = self.optimizer.update(grads, opt_state, params)
            params = optax.apply_updates(params, changes)
            updates = updates + 1
            copy = updates % config.target_update_period == 0
            target_params = jax.tree_util.tree_map(lambda p, t: jnp.where(copy, p, t), params, target_params)
            return (params, target_params, opt_state, updates), info

        carry = (state.params, state.target_params, state.opt_state, state.updates)
        (params, target_params, opt_state, updates), info = jax.lax.scan(
            gradient_step, carry, jax.random.split(key, config.gradient_steps)
        )
        state = state.replace(params=params, target_params=target_params, opt_state=opt_state, updates=updates)
        return state, jax.tree_util.tree_map(jnp.mean, info)

    def evaluate(self, params: Any, key: jax.Array) -> jax.Array:
        """Discounted (`eval_gamma`) returns `[K, m]` of the greedy policy for each of the
        `K = num_eval_weights` probe weights (`uniform_weights(m, K)`), each the mean of
        `eval_episodes` episodes (more than one only matters for stochastic envs)."""
        config = self.config

        def one(weights, key):
            def policy(obs):
                return greedy_action(self.network.apply(params, self._flat(obs), weights), weights)

            return evaluate(
                self.env, self.env.default_params, policy, key, config.eval_episodes, config.max_eval_steps, config.eval_gamma
            ).discounted

        probe = jnp.asarray(self.eval_weights)
        return jax.vmap(one)(probe, jax.random.split(key, probe.shape[0]))

    def _evaluate_into_archive(self, state: EnvelopeState, key: jax.Array) -> EnvelopeState:
        returns = self.evaluate(state.params, key)
        k = returns.shape[0]
        payload = {
            "weights": jnp.asarray(self.eval_weights),
            "member": jnp.arange(k, dtype=jnp.int32),
            "iteration": jnp.full((k,), state.iteration, jnp.int32),
            "params": jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (k,) + x.shape), state.params),
        }
        return state.replace(archive=archive_insert(state.archive, returns, payload))

    def _iteration(self, state: EnvelopeState, _: Any) -> tuple[EnvelopeState, dict[str, jax.Array]]:
        config = self.config
        rng, key_rollout, key_update = jax.random.split(state.rng, 3)
        progress = self._progress(state.iteration)
        epsilon = linear_schedule(config.epsilon_start, config.epsilon_end, config.epsilon_fraction, progress)
        homotopy = linear_schedule(0.0, 1.0, config.homotopy_fraction, progress)
        state, transitions = self._rollout(state, key_rollout, epsilon)
        state = state.replace(buffer=insert(state.buffer, transitions), rng=rng)
        zero_info = {"loss": 0.0, "loss_a": 0.0, "loss_b": 0.0, "q_mean": 0.0}
        state, info = jax.lax.cond(
            state.buffer.size >= config.learning_starts,
            lambda s: self._update(s, key_update, homotopy),
            lambda s: (s, {name: jnp.float32(value) for name, value in zero_info.items()}),
            state,
        )
        state = state.replace(iteration=state.iteration + 1)
        return state, dict(info, epsilon=epsilon, homotopy=homotopy)

    def _block(self, state: EnvelopeState, _: Any) -> tuple[EnvelopeState, dict[str, jax.Array]]:
        """`eval_period` iterations, then an evaluation into the archive (a block boundary
        rather than a `cond`, which `vmap` over runs would turn into an every-iteration eval)."""
        state, history = jax.lax.scan(self._iteration, state, None, self.config.eval_period)
        rng, key_eval = jax.random.split(state.rng)
        state = self._evaluate_into_archive(state.replace(rng=rng), key_eval)
        return state, jax.tree_util.tree_map(lambda x: x[-1], history)

    def _chunk(self, state: EnvelopeState) -> tuple[EnvelopeState, dict[str, jax.Array]]:
        config = self.config
        state, history = jax.lax.scan(self._block, state, None, config.chunk_iterations // config.eval_period)
        metrics = jax.tree_util.tree_map(lambda x: x[-1], history)
        metrics.update(archive_size=jnp.sum(state.archive.valid).astype(jnp.int32), iteration=state.iteration)
        return state, metrics

    # --- the Trainer protocol ------------------------------------------------------------
    def init(self, key: jax.Array) -> EnvelopeState:
        return self._init(key)

    def run_chunk(self, state: EnvelopeState) -> tuple[EnvelopeState, dict[str, jax.Array]]:
        return self._run_chunk(state)

    def done(self, state: EnvelopeState) -> bool:
        return self.env_steps(state) >= self.config.total_steps

    def env_steps(self, state: EnvelopeState) -> int:
        return int(np.asarray(state.iteration).reshape(-1)[0]) * self.config.steps_per_iteration

    def front(self, state: EnvelopeState, run: int = 0) -> Front:
        archive = select_run(state, run, self.num_runs).archive
        points, payload = archive_front(archive)
        slots = np.flatnonzero(np.asarray(archive.valid))
        return Front(returns=np.asarray(points), weights=np.asarray(payload["weights"]), member=slots)

    def policy(self, state: EnvelopeState, member: int, run: int = 0):
        archive = select_run(state, run, self.num_runs).archive
        if not (0 <= member < archive.valid.shape[0]) or not bool(archive.valid[member]):
            raise ValueError(f"member={member} is not in the archive (valid ids: {np.flatnonzero(np.asarray(archive.valid)).tolist()})")
        params = jax.tree_util.tree_map(lambda x: x[member], archive.payload["params"])
        return jax.tree_util.Partial(self._greedy, params, archive.payload["weights"][member])

    def _greedy(self, params: Any, weights: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array:
        """`argmax_a w . Q(obs, a, w)` for one observation (a bound method: one compiled rollout
        serves every member's `Partial`)."""
        return greedy_action(self.network.apply(params, self._flat(obs), weights), weights)


def make_trainer(
    config: EnvelopeConfig,
    *,
    num_runs: int | None = None,
    hparams: Mapping[str, np.ndarray] | None = None,
    devices: int | None = None,
) -> EnvelopeTrainer:
    """Validate `config` and build the Envelope trainer (nothing is compiled yet); `devices`
    > 1 splits the runs over that many devices (`morl.parallel`)."""
    return EnvelopeTrainer(config, num_runs=num_runs, hparams=hparams, devices=devices)
