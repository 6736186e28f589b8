"""GPI-LS (Alegre et al., AAMAS 2023) as one compiled program.

One weight-conditioned network `Q(s, a, w) in R^m` (every objective maximised) and a
*support* `M`: the weights trained so far with the evaluated returns of their policies
(the partial convex coverage set). The policy for a weight `w` is generalised policy
improvement over `M + {w}`:

    pi(s; w) = argmax_a max_{w' in M + {w}} w . Q(s, a, w')

Training goes in rounds (`_round`), all inside `jit`:

    repeat round_iterations times (`_iteration`):
        rollout with the epsilon-greedy GPI policy for the round's weight w
        gradient_steps steps: each transition with w and num_sample_weights - 1 weights
        drawn from M; y(w_i) = r + gamma Q_target(s', a*, w_i), a* = the GPI action for w_i
        over M + {sampled weights} under the target network; squared error on the vector
    V(w) = evaluated return of the GPI policy for w; (w, V(w)) joins M
    the GPI policy is evaluated at num_eval_weights dense simplex weights into the archive
    next w: the first m rounds the corners of the simplex; then the corner weight of the
        linear support of M's returns with the largest improvement the GPI policy
        predicts at the start state: max_a max_{w' in M} c . Q(s0, a, w') - max_k c . V_k

Corner weights are exact for two objectives (the intersections of the lines `w -> w . V_k`
on the upper envelope, and the two extremes); with more objectives they are looked for
on `candidate_weights` points of the simplex. With `num_runs=R` the program is vmapped
over R seeds.
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
from morl.algorithms.envelope.network import VectorQNetwork, flat_observation
from morl.algorithms.envelope.train import linear_schedule
from morl.algorithms.gpi_ls.config import GPILSConfig
from morl.algorithms.scaffold import check_hparams, check_num_runs, select_run, vmap_runs
from morl.decomposition.weights import random_weights, uniform_weights
from morl.envs import spaces
from morl.envs.registry import parse_kwargs
from morl.pareto.archive import ParetoArchive, archive_front, archive_init, archive_insert


@struct.dataclass
class Support:
    """The trained weights `weights [K, m]`, their policies' evaluated returns `values [K, m]`,
    `valid [K]`, and `next` (int32), the slot the next round writes (oldest first once full)."""

    weights: jax.Array
    values: jax.Array
    valid: jax.Array
    next: jax.Array


@struct.dataclass
class GPILSState:
    """One run's training state (a pytree of arrays; `num_runs` adds a leading axis).

    `params`, `target_params`: the Q-network and its target; `opt_state`: Adam's;
    `buffer`: replay of flat float32 observations (as Envelope's); `env_state`, `obs`:
    the `E = num_envs` training envs; `support: Support` and `weight [m]`, the current
    round's weight; `archive`: its payload holds `weights`, `member`, `iteration`,
    `params` and the `support` weights and mask the GPI policy combines; `iteration`,
    `updates`, `round`: iterations, gradient steps and rounds done; `rng`."""

    params: Any
    target_params: Any
    opt_state: Any
    buffer: ReplayBuffer
    env_state: Any
    obs: jax.Array
    support: Support
    weight: jax.Array
    archive: ParetoArchive
    iteration: jax.Array
    updates: jax.Array
    round: jax.Array
    rng: jax.Array


def corner_weights_2d(values: jax.Array, valid: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Corner weights of the upper envelope of `w -> w . V_k` for two objectives: `(weights
    [P, 2], mask [P])`, `P = K (K - 1) / 2 + 2` (every pair's crossing, then the extremes)."""
    k = values.shape[0]
    first, second = np.triu_indices(k, 1)
    a, b = values[first], values[second]
    # w = (x, 1 - x): x a0 + (1 - x) a1 = x b0 + (1 - x) b1.
    slope = (a[:, 0] - a[:, 1]) - (b[:, 0] - b[:, 1])
    x = jnp.where(slope != 0, (b[:, 1] - a[:, 1]) / jnp.where(slope != 0, slope, 1.0), -1.0)
    crossing = jnp.stack([x, 1.0 - x], axis=-1)
    utility = jnp.sum(crossing * a, axis=-1)
    envelope = jnp.max(jnp.where(valid[None, :], crossing @ values.T, -jnp.inf), axis=1)
    on_envelope = (x > 0) & (x < 1) & valid[first] & valid[second] & (utility >= envelope - 1e-5)
    extremes = jnp.eye(2, dtype=values.dtype)
    return jnp.concatenate([crossing, extremes]), jnp.concatenate([on_envelope, jnp.ones((2,), bool)])


class GPILSTrainer:
    """The `morl.algorithms.api.Trainer` of GPI-LS (see the module docstring)."""

    def __init__(
        self,
        config: GPILSConfig,
        *,
        num_runs: int | None = None,
        hparams: Mapping[str, np.ndarray] | None = None,
        devices: int | None = None,
    ):
        if not isinstance(config, GPILSConfig):
            raise TypeError(f"config must be a GPILSConfig, got {type(config).__name__}")
        self.config = config
        self.env = envs.make(config.env, **parse_kwargs(config.env_kwargs))
        m = self.env.reward_dim
        config.validate(m)
        action_space = self.env.action_space()
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"GPILSConfig: env {config.env} has action space {action_space}; GPI-LS needs Discrete actions")
        self.num_runs = check_num_runs(num_runs, hparams)
        check_hparams(GPILSConfig.vmappable, self.num_runs, hparams)
        self.num_actions = int(action_space.n)
        self.obs_shape = tuple(self.env.observation_space().shape)
        self.train_env = envs.VmapEnv(envs.AutoReset(self.env), config.num_envs)
        self.network = VectorQNetwork(self.num_actions, m, config.hidden_sizes, config.activation)
        self.optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate))
        self.eval_weights = np.asarray(uniform_weights(m, config.num_eval_weights), np.float32)
        self.candidates = np.asarray(uniform_weights(m, config.candidate_weights), np.float32)
        self.placement = parallel.placement(devices, num_runs=self.num_runs, population=1)
        self._run_chunk = parallel.jit_step(vmap_runs(self._chunk, self.num_runs), self.placement)
        self._init = parallel.jit_init(vmap_runs(self._init_one, self.num_runs), self.placement)

    # --- the compiled program ---------------------------------------------------------
    def _flat(self, obs: jax.Array) -> jax.Array:
        return flat_observation(obs, self.obs_shape)

    def _init_one(self, key: jax.Array) -> GPILSState:
        config, m = self.config, self.env.reward_dim
        key_net, key_env, key_rng = jax.random.split(key, 3)
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
        k = config.support_size
        support = Support(jnp.zeros((k, m), jnp.float32), jnp.zeros((k, m), jnp.float32), jnp.zeros((k,), bool), jnp.int32(0))
        payload = {
            "weights": jnp.zeros((m,), jnp.float32),
            "member": jnp.int32(0),
            "iteration": jnp.int32(0),
            "params": params,
            "support": support.weights,
            "support_valid": support.valid,
        }
        return GPILSState(
            params=params,
            target_params=params,
            opt_state=self.optimizer.init(params),
            buffer=init_buffer(example, config.buffer_size),
            env_state=env_state,
            obs=obs,
            support=support,
            weight=jnp.eye(m, dtype=jnp.float32)[0],
            archive=archive_init(config.archive_capacity, m, payload),
            iteration=jnp.int32(0),
            updates=jnp.int32(0),
            round=jnp.int32(0),
            rng=key_rng,
        )

    def gpi_scores(self, params: Any, obs: jax.Array, weight: jax.Array, support: jax.Array, valid: jax.Array) -> jax.Array:
        """`max_{w' in support + {weight}} weight . Q(obs, a, w')`: `obs [..., d]` (flat),
        `weight [..., m]`, `support [K, m]`, `valid [K]` -> `[..., A]`."""
        batch = weight.shape[:-1]
        candidates = jnp.concatenate([jnp.broadcast_to(support, batch + support.shape), weight[..., None, :]], axis=-2)
        mask = jnp.concatenate([valid, jnp.ones((1,), bool)])
        q = self.network.apply(params, obs[..., None, :], candidates)  # [..., K + 1, A, m]
        scores = jnp.einsum("...kam,...m->...ka", q, weight)
        return jnp.max(jnp.where(mask[:, None], scores, -jnp.inf), axis=-2)

    def _rollout(self, state: GPILSState, key: jax.Array, epsilon: jax.Array) -> tuple[GPILSState, dict]:
        config = self.config
        weights = jnp.broadcast_to(state.weight, (config.num_envs, state.weight.shape[0]))

        def env_step(carry, key):
            env_state, obs = carry
            key_random, key_explore, key_step = jax.random.split(key, 3)
            scores = self.gpi_scores(state.params, self._flat(obs), weights, state.support.weights, state.support.valid)
            greedy = jnp.argmax(scores, axis=-1).astype(jnp.int32)
            random = jax.random.randint(key_random, (config.num_envs,), 0, self.num_actions)
            action = jnp.where(jax.random.uniform(key_explore, (config.num_envs,)) < epsilon, random, greedy)
            next_obs, env_state, reward, terminated, truncated, info = self.train_env.step(key_step, env_state, action)
            transition = {
                "obs": self._flat(obs),
                "action": action,
                "reward": reward.astype(jnp.float32),
                "next_obs": self._flat(info["final_obs"]),
                "terminated": terminated,
            }
            return (env_state, next_obs), transition

        (env_state, obs), transitions = jax.lax.scan(
            env_step, (state.env_state, state.obs), jax.random.split(key, config.rollout_steps)
        )
        transitions = jax.tree_util.tree_map(lambda x: x.reshape((-1,) + x.shape[2:]), transitions)
        return state.replace(env_state=env_state, obs=obs), transitions

    def _loss(self, params: Any, target_params: Any, batch: dict, weights: jax.Array, support: Support):
        """Squared error of `B` transitions x `N` training weights `[N, m]` against the GPI target."""
        config, k = self.config, support.weights.shape[0]
        batch_size, n = batch["action"].shape[0], weights.shape[0]
        q = self.network.apply(params, batch["obs"][:, None, :], weights[None])  # [B, N, A, m]
        q_taken = jnp.take_along_axis(q, batch["action"][:, None, None, None], axis=2)[:, :, 0]  # [B, N, m]
        candidates = jnp.concatenate([support.weights, weights])  # [K + N, m]
        mask = jnp.concatenate([support.valid, jnp.ones((n,), bool)])
        q_next = self.network.apply(target_params, batch["next_obs"][:, None, :], candidates[None])  # [B, K + N, A, m]
        scores = jnp.einsum("bjam,im->bija", q_next, weights)  # [B, N, K + N, A]
        best_action = jnp.argmax(jnp.max(jnp.where(mask[None, None, :, None], scores, -jnp.inf), axis=2), axis=-1)
        own = q_next[:, k:]  # [B, N, A, m]: Q_target(s', ., w_i)
        q_star = jnp.take_along_axis(own, best_action[:, :, None, None], axis=2)[:, :, 0]  # [B, N, m]
        bootstrap = config.gamma * (1.0 - batch["terminated"].astype(jnp.float32))[:, None, None]
        target = jax.lax.stop_gradient(batch["reward"][:, None, :] + bootstrap * q_star)
        loss = jnp.mean(jnp.sum((q_taken - target) ** 2, axis=-1))
        return loss, {"loss": loss, "q_mean": jnp.mean(q_taken)}

    def _update(self, state: GPILSState, key: jax.Array) -> tuple[GPILSState, dict]:
        config = self.config
        support = state.support

        def gradient_step(carry, key):
            params, target_params, opt_state, updates = carry
            key_batch, key_weights = jax.random.split(key)
            batch = sample(state.buffer, key_batch, config.batch_size)
            # The round's weight first, then weights drawn from the support (the round's
            # weight again while the support is empty).
            logits = jnp.where(support.valid, 0.0, -jnp.inf)
            drawn = jax.random.categorical(key_weights, logits, shape=(config.num_sample_weights - 1,))
            others = jnp.where(jnp.any(support.valid), support.weights[drawn], state.weight[None])
            weights = jnp.concatenate([state.weight[None], others])
            grads, info = jax.grad(self._loss, has_aux=True)(params, target_params, batch, weights, support)
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

    def _iteration(self, state: GPILSState, _: Any) -> tuple[GPILSState, dict[str, jax.Array]]:
        config = self.config
        rng, key_rollout, key_update = jax.random.split(state.rng, 3)
        progress = state.iteration.astype(jnp.float32) / config.total_iterations
        epsilon = linear_schedule(config.epsilon_start, config.epsilon_end, config.epsilon_fraction, progress)
        state, transitions = self._rollout(state, key_rollout, epsilon)
        state = state.replace(buffer=insert(state.buffer, transitions), rng=rng)
        state, info = jax.lax.cond(
            state.buffer.size >= config.learning_starts,
            lambda s: self._update(s, key_update),
            lambda s: (s, {"loss": jnp.float32(0.0), "q_mean": jnp.float32(0.0)}),
            state,
        )
        return state.replace(iteration=state.iteration + 1), dict(info, epsilon=epsilon)

    def evaluate(self, params: Any, weights: jax.Array, support: Support, key: jax.Array) -> jax.Array:
        """Discounted (`eval_gamma`) returns `[K, m]` of the GPI policy for each of `weights
        [K, m]`, each the mean of `eval_episodes` episodes."""
        config = self.config

        def one(weight, key):
            def policy(obs):
                flat = self._flat(obs)
                weight_batch = jnp.broadcast_to(weight, flat.shape[:-1] + weight.shape)
                return jnp.argmax(self.gpi_scores(params, flat, weight_batch, support.weights, support.valid), axis=-1)

            return evaluate(
                self.env, self.env.default_params, policy, key, config.eval_episodes, config.max_eval_steps, config.eval_gamma
            ).discounted

        return jax.vmap(one)(weights, jax.random.split(key, weights.shape[0]))

    def _next_weight(self, state: GPILSState, key: jax.Array) -> jax.Array:
        """The corner weight with the largest predicted improvement (module docstring)."""
        m, support = self.env.reward_dim, state.support
        if m == 2:
            corners, mask = corner_weights_2d(support.values, support.valid)
        else:
            corners, mask = jnp.asarray(self.candidates), jnp.ones((self.candidates.shape[0],), bool)
        key_reset, key_random = jax.random.split(key)
        obs, _ = jax.vmap(self.env.reset)(jax.random.split(key_reset, 8))
        flat = self._flat(obs)  # [8, d]: start states (several for envs that draw them)
        weights = jnp.broadcast_to(corners[:, None, :], (corners.shape[0], flat.shape[0], m))
        predicted = jnp.max(self.gpi_scores(state.params, flat[None], weights, support.weights, support.valid), axis=-1)
        ccs = jnp.max(jnp.where(support.valid[None, :], corners @ support.values.T, -jnp.inf), axis=1)
        priority = jnp.where(mask, jnp.mean(predicted, axis=1) - ccs, -jnp.inf)
        best = corners[jnp.argmax(priority)]
        # No corner promises an improvement: a random weight keeps the data coming.
        fallback = random_weights(key_random, m, 1)[0]
        chosen = jnp.where(jnp.max(priority) > 1e-6, best, fallback)
        corner_round = state.round < m
        return jnp.where(corner_round, jnp.eye(m, dtype=jnp.float32)[jnp.minimum(state.round, m - 1)], chosen)

    def _round(self, state: GPILSState, _: Any) -> tuple[GPILSState, dict[str, jax.Array]]:
        config = self.config
        state, history = jax.lax.scan(self._iteration, state, None, config.round_iterations)
        rng, key_value, key_eval, key_next = jax.random.split(state.rng, 4)
        support = state.support
        value = self.evaluate(state.params, state.weight[None], support, key_value)[0]
        slot = support.next
        support = Support(
            weights=support.weights.at[slot].set(state.weight),
            values=support.values.at[slot].set(value),
            valid=support.valid.at[slot].set(True),
            next=(slot + 1) % support.weights.shape[0],
        )
        probe = jnp.asarray(self.eval_weights)
        returns = self.evaluate(state.params, probe, support, key_eval)
        n = probe.shape[0]
        payload = {
            "weights": probe,
            "member": jnp.arange(n, dtype=jnp.int32),
            "iteration": jnp.full((n,), state.iteration, jnp.int32),
            "params": jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (n,) + x.shape), state.params),
            "support": jnp.broadcast_to(support.weights, (n,) + support.weights.shape),
            "support_valid": jnp.broadcast_to(support.valid, (n,) + support.valid.shape),
        }
        state = state.replace(
            support=support, archive=archive_insert(state.archive, returns, payload), round=state.round + 1, rng=rng
        )
        state = state.replace(weight=self._next_weight(state, key_next))
        return state, jax.tree_util.tree_map(lambda x: x[-1], history)

    def _chunk(self, state: GPILSState) -> tuple[GPILSState, dict[str, jax.Array]]:
        config = self.config
        state, history = jax.lax.scan(self._round, state, None, config.chunk_iterations // config.round_iterations)
        metrics = jax.tree_util.tree_map(lambda x: x[-1], history)
        metrics.update(
            archive_size=jnp.sum(state.archive.valid).astype(jnp.int32),
            support_size=jnp.sum(state.support.valid).astype(jnp.int32),
            iteration=state.iteration,
        )
        return state, metrics

    # --- the Trainer protocol ------------------------------------------------------------
    def init(self, key: jax.Array) -> GPILSState:
        return self._init(key)

    def run_chunk(self, state: GPILSState) -> tuple[GPILSState, dict[str, jax.Array]]:
        return self._run_chunk(state)

    def done(self, state: GPILSState) -> bool:
        return self.env_steps(state) >= self.config.total_steps

    def env_steps(self, state: GPILSState) -> int:
        return int(np.asarray(state.iteration).reshape(-1)[0]) * self.config.steps_per_iteration

    def front(self, state: GPILSState, run: int = 0) -> Front:
        archive = select_run(state, run, self.num_runs).archive
        points, payload = archive_front(archive)
        slots = np.flatnonzero(np.asarray(archive.valid))
        return Front(returns=np.asarray(points), weights=np.asarray(payload["weights"]), member=slots)

    def policy(self, state: GPILSState, member: int, run: int = 0):
        archive = select_run(state, run, self.num_runs).archive
        if not (0 <= member < archive.valid.shape[0]) or not bool(archive.valid[member]):
            raise ValueError(f"member={member} is not in the archive (valid ids: {np.flatnonzero(np.asarray(archive.valid)).tolist()})")
        entry = jax.tree_util.tree_map(lambda x: x[member], archive.payload)
        return jax.tree_util.Partial(self._gpi_act, entry["params"], entry["weights"], entry["support"], entry["support_valid"])

    def _gpi_act(self, params: Any, weight: jax.Array, support: jax.Array, valid: jax.Array, obs: jax.Array, key: jax.Array):
        """The GPI action for one observation (a bound method: one compiled rollout serves
        every member's `Partial`)."""
        return jnp.argmax(self.gpi_scores(params, self._flat(obs), weight, support, valid), axis=-1).astype(jnp.int32)


def make_trainer(
    config: GPILSConfig,
    *,
    num_runs: int | None = None,
    hparams: Mapping[str, np.ndarray] | None = None,
    devices: int | None = None,
) -> GPILSTrainer:
    """Validate `config` and build the GPI-LS trainer (nothing is compiled yet); `devices`
    > 1 splits the runs over that many devices (`morl.parallel`)."""
    return GPILSTrainer(config, num_runs=num_runs, hparams=hparams, devices=devices)
