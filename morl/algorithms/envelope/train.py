"""Envelope Q-learning (Yang et al., NeurIPS 2019) as one compiled program.

One network `Q(s, a, w) in R^m` serves every simplex weight `w` (every objective
maximised). One iteration (`Envelope._iteration`), all inside `jit`:

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
the run, lambda (homotopy) from 0 to 1 over the first homotopy_fraction.

On the population trainer scaffold (`morl.algorithms.scaffold`), `Envelope` is a population
of one (`members`: its `EnvelopeState`; archived members named by archive slot) trained by
one `Stage`, "train", whose program `Envelope.chunk` runs `chunk_iterations` iterations (a
multiple of `eval_period`) in blocks of `eval_period`. The scaffold adds the run axis
(`num_runs=R` seeds vmapped), devices, `init` (keys split by `Envelope.split_key`, no
evaluation of the untrained network), `done`, `env_steps`, `front` and `policy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from morl import envs
from morl.agents.sac.replay import ReplayBuffer, init_buffer, insert, sample
from morl.algorithms.envelope.config import EnvelopeConfig
from morl.algorithms.envelope.network import VectorQNetwork, flat_observation, greedy_action
from morl.algorithms.scaffold import PopulationState, PopulationTrainer, single_stage_schedule
from morl.decomposition.weights import random_weights, uniform_weights
from morl.envs import spaces
from morl.envs.core import Environment
from morl.envs.evaluation import evaluate
from morl.envs.registry import parse_kwargs
from morl.pareto.archive import archive_insert


@struct.dataclass
class EnvelopeState:
    """The learner's state, the scaffold's `members` (one network, no population axis; the
    scaffold's `PopulationState` holds it with the archive, `iteration` and `rng`).

    `params`, `target_params`: the Q-network and its target; `opt_state`: Adam's;
    `buffer`: replay of `{obs [d], action [], reward [m], next_obs [d], terminated []}`
    (observations flattened to float32 `[d]`); `env_state`, `obs [E, ...]`: the `E =
    num_envs` training envs; `episode_weights [E, m]`: each env's weight for its current
    episode; `updates`: gradient steps done."""

    params: Any
    target_params: Any
    opt_state: Any
    buffer: ReplayBuffer
    env_state: Any
    obs: jax.Array
    episode_weights: jax.Array
    updates: jax.Array


def linear_schedule(start: float, end: float, fraction: float, progress: jax.Array) -> jax.Array:
    """`start` -> `end` linearly while `progress` (share of the run, in [0, 1]) goes 0 -> `fraction`."""
    return start + (end - start) * jnp.clip(progress / fraction, 0.0, 1.0)


class Envelope:
    """The `morl.algorithms.scaffold.PopulationAlgorithm` of Envelope Q-learning (module
    docstring). Its training is the stage program `chunk`, so it needs no `iterate` or
    `after_evaluation` (the scaffold calls those only in its own iterate/evaluate loop)."""

    pop_size = 1

    def __init__(self, config: EnvelopeConfig, env: Environment):
        action_space = env.action_space()
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"EnvelopeConfig: env {config.env} has action space {action_space}; Envelope Q-learning needs Discrete actions")
        self.config, self.env = config, env
        self.steps_per_iteration = config.steps_per_iteration
        self.num_actions = int(action_space.n)
        self.obs_shape = tuple(env.observation_space().shape)
        self.train_env = envs.VmapEnv(envs.AutoReset(env), config.num_envs)
        self.network = VectorQNetwork(self.num_actions, env.reward_dim, config.hidden_sizes, config.activation)
        self.optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate))
        self.eval_weights = np.asarray(uniform_weights(env.reward_dim, config.num_eval_weights), np.float32)

    def _flat(self, obs: jax.Array) -> jax.Array:
        return flat_observation(obs, self.obs_shape)

    # --- the PopulationAlgorithm functions ----------------------------------------------
    @staticmethod
    def split_key(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        """`(keys [3], rng)` of a run's key (`Schedule.split_key`): `init`'s network, env and
        episode-weight keys, and the training stream `rng`."""
        keys = jax.random.split(key, 4)
        return keys[:3], keys[3]

    def init(self, key: jax.Array, weights_key: jax.Array, hparams: Mapping[str, jax.Array]) -> tuple[EnvelopeState, None]:
        """The untrained learner from `key`, the three keys of `split_key`; no random
        initial weights, no hyperparameters across runs (`vmappable` is empty)."""
        del weights_key, hparams
        config, m = self.config, self.env.reward_dim
        key_net, key_env, key_weights = key
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
        members = EnvelopeState(
            params=params,
            target_params=params,
            opt_state=self.optimizer.init(params),
            buffer=init_buffer(example, config.buffer_size),
            env_state=env_state,
            obs=obs,
            episode_weights=random_weights(key_weights, m, config.num_envs),
            updates=jnp.int32(0),
        )
        return members, None

    def evaluate(self, members: EnvelopeState, key: jax.Array) -> jax.Array:
        """`evaluate_params` of the members' network: returns `[K, m]`."""
        return self.evaluate_params(members.params, key)

    def payload(self, members: EnvelopeState) -> dict[str, Any]:
        """Each evaluation row's weight `[K, m]` and a copy of the network (`actor`)."""
        k = self.eval_weights.shape[0]
        actor = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (k,) + x.shape), members.params)
        return {"weights": jnp.asarray(self.eval_weights), "actor": actor}

    def act(self, actor: Any, weights: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array:
        """`argmax_a w . Q(obs, a, w)` for one observation."""
        return greedy_action(self.network.apply(actor, self._flat(obs), weights), weights)

    # --- the program ----------------------------------------------------------------------
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

    def evaluate_params(self, params: Any, key: jax.Array) -> jax.Array:
        """Discounted (`eval_gamma`) returns `[K, m]` of the greedy policy of network `params`
        for each of the `K = num_eval_weights` probe weights (`uniform_weights(m, K)`), each
        the mean of `eval_episodes` episodes (more than one only matters for stochastic envs)."""
        config = self.config

        def one(weights, key):
            policy = lambda obs: self.act(params, weights, obs, key)
            return evaluate(
                self.env, self.env.default_params, policy, key, config.eval_episodes, config.max_eval_steps, config.eval_gamma
            ).discounted

        probe = jnp.asarray(self.eval_weights)
        return jax.vmap(one)(probe, jax.random.split(key, probe.shape[0]))

    def _iteration(self, carry: tuple[EnvelopeState, jax.Array], iteration: jax.Array):
        """One iteration from `(members, rng)`; `iteration` is the number of iterations done
        before it (the epsilon and homotopy schedules' progress)."""
        config = self.config
        members, rng = carry
        rng, key_rollout, key_update = jax.random.split(rng, 3)
        progress = iteration.astype(jnp.float32) / config.total_iterations
        epsilon = linear_schedule(config.epsilon_start, config.epsilon_end, config.epsilon_fraction, progress)
        homotopy = linear_schedule(0.0, 1.0, config.homotopy_fraction, progress)
        members, transitions = self._rollout(members, key_rollout, epsilon)
        members = members.replace(buffer=insert(members.buffer, transitions))
        zero_info = {"loss": 0.0, "loss_a": 0.0, "loss_b": 0.0, "q_mean": 0.0}
        members, info = jax.lax.cond(
            members.buffer.size >= config.learning_starts,
            lambda s: self._update(s, key_update, homotopy),
            lambda s: (s, {name: jnp.float32(value) for name, value in zero_info.items()}),
            members,
        )
        return (members, rng), dict(info, epsilon=epsilon, homotopy=homotopy)

    def _block(self, state: PopulationState, iterations: jax.Array) -> tuple[PopulationState, dict[str, jax.Array]]:
        """`eval_period` iterations (`iterations [eval_period]`: their numbers of iterations
        done before), then an evaluation into the archive (a block boundary rather than a
        `cond`, which `vmap` over runs would turn into an every-iteration evaluation)."""
        (members, rng), history = jax.lax.scan(self._iteration, (state.members, state.rng), iterations)
        rng, key_eval = jax.random.split(rng)
        returns = self.evaluate(members, key_eval)
        k = returns.shape[0]
        payload = {
            **self.payload(members),
            "member": jnp.arange(k, dtype=jnp.int32),
            "iteration": jnp.full((k,), iterations[-1] + 1, jnp.int32),
        }
        archive = archive_insert(state.archive, returns, payload)
        state = state.replace(members=members, rng=rng, archive=archive, member_returns=returns)
        return state, jax.tree_util.tree_map(lambda x: x[-1], history)

    def chunk(self, state: PopulationState) -> tuple[PopulationState, dict[str, jax.Array]]:
        """The "train" stage's program: `chunk_iterations` iterations of one run from
        `state.iteration` (the scaffold advances it afterwards); metrics of the last one."""
        config = self.config
        iterations = state.iteration + jnp.arange(config.chunk_iterations, dtype=jnp.int32)
        state, history = jax.lax.scan(self._block, state, iterations.reshape(-1, config.eval_period))
        return state, jax.tree_util.tree_map(lambda x: x[-1], history)


class EnvelopeTrainer(PopulationTrainer):
    """The `morl.algorithms.api.Trainer` of Envelope Q-learning: the scaffold's
    `PopulationTrainer` driving `Envelope` through its one stage (module docstring), plus
    `evaluate(params, key)`."""

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
        env = envs.make(config.env, **parse_kwargs(config.env_kwargs))
        config.validate(env.reward_dim)
        algorithm = Envelope(config, env)
        schedule = single_stage_schedule(config, config.eval_period, algorithm.chunk, algorithm.split_key)
        super().__init__(config, algorithm, schedule, num_runs=num_runs, hparams=hparams, devices=devices)
        self.network, self.eval_weights = algorithm.network, algorithm.eval_weights

    def evaluate(self, params: Any, key: jax.Array) -> jax.Array:
        """`Envelope.evaluate_params`: returns `[K, m]` of network `params` on the probe weights."""
        return self.algorithm.evaluate_params(params, key)


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
