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
        (each row keeps the network and the support it combines)
    next w: the first m rounds the corners of the simplex; then the corner weight of the
        linear support of M's returns with the largest improvement the GPI policy
        predicts at the start state: max_a max_{w' in M} c . Q(s0, a, w') - max_k c . V_k

Corner weights are exact for two objectives (the intersections of the lines `w -> w . V_k`
on the upper envelope, and the two extremes); with more objectives they are looked for
on `candidate_weights` points of the simplex.

On the population trainer scaffold (`morl.algorithms.scaffold`), `GPILS` is a population of
one (`members`: its `GPILSState`, which holds the support, the round's weight and the round
counter with the network; archived members named by archive slot) trained by one `Stage`,
"train", whose program `GPILS.chunk` runs `chunk_iterations` iterations (a multiple of
`round_iterations`) as rounds. The scaffold adds the run axis (`num_runs=R` seeds vmapped),
devices, `init` (keys split by `GPILS.split_key`, no evaluation of the untrained network),
`done`, `env_steps`, `front` and `policy`.
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
from morl.algorithms.envelope.network import VectorQNetwork, flat_observation
from morl.algorithms.envelope.train import linear_schedule
from morl.algorithms.gpi_ls.config import GPILSConfig
from morl.algorithms.scaffold import PopulationState, PopulationTrainer, single_stage_schedule
from morl.decomposition.weights import random_weights, uniform_weights
from morl.envs import spaces
from morl.envs.core import Environment
from morl.envs.evaluation import evaluate
from morl.envs.registry import parse_kwargs
from morl.pareto.archive import archive_insert


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
    """The learner's state, the scaffold's `members` (one network, no population axis; the
    scaffold's `PopulationState` holds it with the archive, `iteration` and `rng`).

    `params`, `target_params`: the Q-network and its target; `opt_state`: Adam's;
    `buffer`: replay of flat float32 observations (as Envelope's); `env_state`, `obs [E,
    ...]`: the `E = num_envs` training envs; `support: Support` (`[K, m]` weights and
    values, `K = support_size`) and `weight [m]`, the current round's weight; `updates`,
    `round` (int32): gradient steps and rounds done."""

    params: Any
    target_params: Any
    opt_state: Any
    buffer: ReplayBuffer
    env_state: Any
    obs: jax.Array
    support: Support
    weight: jax.Array
    updates: jax.Array
    round: jax.Array


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


class GPILS:
    """The `morl.algorithms.scaffold.PopulationAlgorithm` of GPI-LS (module docstring). Its
    training is the stage program `chunk`, so it needs no `iterate` or `after_evaluation`
    (the scaffold calls those only in its own iterate/evaluate loop)."""

    pop_size = 1

    def __init__(self, config: GPILSConfig, env: Environment):
        action_space = env.action_space()
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"GPILSConfig: env {config.env} has action space {action_space}; GPI-LS needs Discrete actions")
        m = env.reward_dim
        self.config, self.env = config, env
        self.steps_per_iteration = config.steps_per_iteration
        self.num_actions = int(action_space.n)
        self.obs_shape = tuple(env.observation_space().shape)
        self.train_env = envs.VmapEnv(envs.AutoReset(env), config.num_envs)
        self.network = VectorQNetwork(self.num_actions, m, config.hidden_sizes, config.activation)
        self.optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate))
        self.eval_weights = np.asarray(uniform_weights(m, config.num_eval_weights), np.float32)
        self.candidates = np.asarray(uniform_weights(m, config.candidate_weights), np.float32)

    def _flat(self, obs: jax.Array) -> jax.Array:
        return flat_observation(obs, self.obs_shape)

    # --- the PopulationAlgorithm functions ----------------------------------------------
    @staticmethod
    def split_key(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        """`(keys [2], rng)` of a run's key (`Schedule.split_key`): `init`'s network and env
        keys, and the training stream `rng`."""
        keys = jax.random.split(key, 3)
        return keys[:2], keys[2]

    def init(self, key: jax.Array, weights_key: jax.Array, hparams: Mapping[str, jax.Array]) -> tuple[GPILSState, None]:
        """The untrained learner from `key`, the two keys of `split_key`: an empty support and
        the first corner as the round's weight; no hyperparameters across runs."""
        del weights_key, hparams
        config, m = self.config, self.env.reward_dim
        key_net, key_env = key
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
        members = GPILSState(
            params=params,
            target_params=params,
            opt_state=self.optimizer.init(params),
            buffer=init_buffer(example, config.buffer_size),
            env_state=env_state,
            obs=obs,
            support=support,
            weight=jnp.eye(m, dtype=jnp.float32)[0],
            updates=jnp.int32(0),
            round=jnp.int32(0),
        )
        return members, None

    def evaluate(self, members: GPILSState, key: jax.Array) -> jax.Array:
        """`evaluate_gpi` of the members' network and support on the `num_eval_weights` probe
        weights: returns `[num_eval_weights, m]`."""
        return self.evaluate_gpi(members.params, jnp.asarray(self.eval_weights), members.support, key)

    def payload(self, members: GPILSState) -> dict[str, Any]:
        """Each probe row's weight `[n, m]` and `actor`: a copy of the network with the support
        weights `[n, K, m]` and mask `[n, K]` its GPI policy combines (`n = num_eval_weights`)."""
        n = self.eval_weights.shape[0]
        actor = {"params": members.params, "support": members.support.weights, "support_valid": members.support.valid}
        actor = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (n,) + x.shape), actor)
        return {"weights": jnp.asarray(self.eval_weights), "actor": actor}

    def act(self, actor: dict[str, Any], weights: jax.Array, obs: jax.Array, key: jax.Array) -> jax.Array:
        """The GPI action (int32) for one observation and weight `[m]` over the actor's support."""
        scores = self.gpi_scores(actor["params"], self._flat(obs), weights, actor["support"], actor["support_valid"])
        return jnp.argmax(scores, axis=-1).astype(jnp.int32)

    # --- the program ----------------------------------------------------------------------
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
        """`rollout_steps` epsilon-greedy GPI steps of every env for the round's weight;
        transitions `[T * E, ...]`."""
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
        n = weights.shape[0]
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
        """`gradient_steps` gradient steps on replay batches, target copies included."""
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

    def _iteration(self, carry: tuple[GPILSState, jax.Array], iteration: jax.Array):
        """One iteration from `(members, rng)`; `iteration` is the number of iterations done
        before it (the epsilon schedule's progress)."""
        config = self.config
        members, rng = carry
        rng, key_rollout, key_update = jax.random.split(rng, 3)
        progress = iteration.astype(jnp.float32) / config.total_iterations
        epsilon = linear_schedule(config.epsilon_start, config.epsilon_end, config.epsilon_fraction, progress)
        members, transitions = self._rollout(members, key_rollout, epsilon)
        members = members.replace(buffer=insert(members.buffer, transitions))
        members, info = jax.lax.cond(
            members.buffer.size >= config.learning_starts,
            lambda s: self._update(s, key_update),
            lambda s: (s, {"loss": jnp.float32(0.0), "q_mean": jnp.float32(0.0)}),
            members,
        )
        return (members, rng), dict(info, epsilon=epsilon)

    def evaluate_gpi(self, params: Any, weights: jax.Array, support: Support, key: jax.Array) -> jax.Array:
        """Discounted (`eval_gamma`) returns `[K, m]` of the GPI policy over `support` for each
        of `weights [K, m]`, each the mean of `eval_episodes` episodes."""
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
        """The next round's weight `[m]`: the corner weight with the largest predicted
        improvement (module docstring)."""
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

    def _round(self, state: PopulationState, iterations: jax.Array) -> tuple[PopulationState, dict[str, jax.Array]]:
        """One round (`iterations [round_iterations]`: their numbers of iterations done
        before): its iterations, the round's weight and value into the support, the GPI
        policy's evaluation into the archive, the next round's weight."""
        (members, rng), history = jax.lax.scan(self._iteration, (state.members, state.rng), iterations)
        rng, key_value, key_eval, key_next = jax.random.split(rng, 4)
        support = members.support
        value = self.evaluate_gpi(members.params, members.weight[None], support, key_value)[0]
        slot = support.next
        support = Support(
            weights=support.weights.at[slot].set(members.weight),
            values=support.values.at[slot].set(value),
            valid=support.valid.at[slot].set(True),
            next=(slot + 1) % support.weights.shape[0],
        )
        members = members.replace(support=support)
        returns = self.evaluate(members, key_eval)
        n = returns.shape[0]
        payload = {
            **self.payload(members),
            "member": jnp.arange(n, dtype=jnp.int32),
            "iteration": jnp.full((n,), iterations[-1] + 1, jnp.int32),
        }
        archive = archive_insert(state.archive, returns, payload)
        members = members.replace(round=members.round + 1)
        members = members.replace(weight=self._next_weight(members, key_next))
        state = state.replace(members=members, rng=rng, archive=archive, member_returns=returns)
        return state, jax.tree_util.tree_map(lambda x: x[-1], history)

    def chunk(self, state: PopulationState) -> tuple[PopulationState, dict[str, jax.Array]]:
        """The "train" stage's program: `chunk_iterations` iterations of one run from
        `state.iteration` (the scaffold advances it afterwards) as rounds; metrics of the
        last iteration and the support's size."""
        config = self.config
        iterations = state.iteration + jnp.arange(config.chunk_iterations, dtype=jnp.int32)
        state, history = jax.lax.scan(self._round, state, iterations.reshape(-1, config.round_iterations))
        metrics = jax.tree_util.tree_map(lambda x: x[-1], history)
        metrics.update(support_size=jnp.sum(state.members.support.valid).astype(jnp.int32))
        return state, metrics


class GPILSTrainer(PopulationTrainer):
    """The `morl.algorithms.api.Trainer` of GPI-LS: the scaffold's `PopulationTrainer`
    driving `GPILS` through its one stage (module docstring), plus `evaluate(params,
    weights, support, key)`."""

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
        env = envs.make(config.env, **parse_kwargs(config.env_kwargs))
        config.validate(env.reward_dim)
        algorithm = GPILS(config, env)
        schedule = single_stage_schedule(config, config.round_iterations, algorithm.chunk, algorithm.split_key)
        super().__init__(config, algorithm, schedule, num_runs=num_runs, hparams=hparams, devices=devices)
        self.network, self.eval_weights = algorithm.network, algorithm.eval_weights

    def evaluate(self, params: Any, weights: jax.Array, support: Support, key: jax.Array) -> jax.Array:
        """`GPILS.evaluate_gpi`: returns `[K, m]` of the GPI policy of network `params` over
        `support` for each of `weights [K, m]`."""
        return self.algorithm.evaluate_gpi(params, weights, support, key)


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
