"""Evaluation conventions per environment id: the hypervolume reference point, in one table.

Maximisation: every reachable (discounted) return must dominate the reference point.
Entries follow the field's conventions (morl-baselines' examples and the C-MORL code:
deep-sea-treasure (0, -25), fruit-tree the origin, minecart (-1, -1, -200),
mo-lunar-lander (-101, -1001, -101, -101), two-objective MO-MuJoCo (-100, -100), three-
objective (-100, -100, -100)); the others are bounds of the env's reachable returns.

An id without an entry gets `automatic_ref_point`: the per-objective minimum of
random-policy returns, moved down by their spread (a heuristic: it is printed by
the CLI and recorded in the run's config.yaml, so a run states what it used).

Besides the reference point an entry holds:
- `eval_episodes`: evaluation episodes averaged per archive candidate, the default of
  every algorithm config whose `eval_episodes` is None (every algorithm's default but
  PCN's, which has no such field; `resolve_eval_episodes`). 1 for
  deterministic envs; more for stochastic ones, whose single-episode returns are noisy
  estimates that the archive (keeping the best of many) would otherwise bias upwards.
- `algo`: per-algorithm config defaults for the env, `{algorithm: {dotted key: value}}`
  (keys as in YAML under `algo`, e.g. `"ppo.ent_coef"`). `morl.config.build` applies them
  between the config class's defaults and anything the user gives (config file, flags,
  `--set`), so `morl train ALGO --env ID` alone gets them; a Python-built config does
  not (`algo_defaults(algorithm, env_id)` returns them). Chosen by
  experiments/defaults_quality.py (see its RESULTS.md for what each one fixes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from morl.envs.registry import HOST_PREFIX


@dataclass(frozen=True)
class EnvDefaults:
    """`ref_point`: length = the env's objectives, dominated by every reachable return;
    `eval_episodes` and `algo`: see the module docstring."""

    ref_point: tuple[float, ...]
    eval_episodes: int = 1
    algo: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False, hash=False)


def _same(ids: tuple[str, ...], defaults: EnvDefaults) -> dict[str, EnvDefaults]:
    return dict.fromkeys(ids, defaults)


_TWO_MUJOCO = EnvDefaults((-100.0, -100.0))
_THREE_MUJOCO = EnvDefaults((-100.0, -100.0, -100.0))
_LUNAR = EnvDefaults((-101.0, -1001.0, -101.0, -101.0))

ENV_DEFAULTS: dict[str, EnvDefaults] = {
    **_same(("deep-sea-treasure-v0", "deep-sea-treasure-concave-v0", "deep-sea-treasure-mirrored-v0"),
            EnvDefaults((0.0, -25.0))),
    # 6-step episodes, 64 Pareto-optimal leaves. PPO does not converge to a weight's best
    # leaf here (docs/morld.md); the archive fills from deterministic evaluations, after every
    # update, of many policies kept exploring (entropy bonus 1.0), one episode per env and
    # update, relu (tanh saturates on the raw (row, index) observation). MORL/D's entry is
    # experiments/morld/fruit_tree.yaml; C-MORL's the same recipe with 32 policies (its
    # defaults, 6 one-hot policies, reach 27 % of the front's hypervolume).
    "fruit-tree-v0": EnvDefaults((0.0,) * 6, algo={
        "morld": {"total_steps": 1_966_080, "pop_size": 128, "eval_period": 1, "archive_capacity": 256,
                  "chunk_iterations": 80, "ppo": {"num_envs": 4, "num_steps": 6, "num_minibatches": 2,
                                                  "activation": "relu", "normalize_returns": False,
                                                  "gae_lambda": 1.0, "ent_coef": 1.0}},
        "cmorl": {"total_steps": 300_000, "init_steps": 150_000, "pop_size": 32, "eval_period": 1,
                  "archive_capacity": 256, "ppo": {"num_envs": 4, "num_steps": 6, "num_minibatches": 2,
                                                   "activation": "relu", "gae_lambda": 1.0, "ent_coef": 1.0}},
    }),
    # minecart-v0 draws the ore amounts at random: archive candidates are means of 4 episodes.
    "minecart-v0": EnvDefaults((-1.0, -1.0, -200.0), eval_episodes=4),
    "minecart-deterministic-v0": EnvDefaults((-1.0, -1.0, -200.0)),
    # (enemy, gold, gem): at most one death (-1), gold and gem at most +1 each. The enemy
    # attacks at random: archive candidates are means of 32 episodes. With 8, the path past
    # both enemies (survived with probability 0.81) is now and then estimated kill-free
    # (0.81**8 = 18 % of its evaluations), and that lucky estimate dominates and evicts the
    # safe paths: re-evaluated it is [-0.18, 0.76, 0] (a C-MORL seed at 82 % of the front's
    # hypervolume); 0.81**32 = 0.1 %.
    "resource-gathering-v0": EnvDefaults((-1.0, -1.0, -1.0), eval_episodes=32),
    # Item counts of the three kinds: never negative. Sparse rewards, 200-step episodes; the
    # front's hypervolume is 80 % one point, all 12 items then the goal in 68 steps. With the
    # algorithms' defaults (MORL/D 31 k env steps per member; C-MORL no entropy bonus) most
    # members never leave the first room (MORL/D 8.6 %, C-MORL 8.2 % of the front's
    # hypervolume). A larger budget (MORL/D 20x, C-MORL 10x), the cell one-hot observation
    # (`observation=one_hot`: on the raw (row, col) a network learns a 13x13 lookup from two
    # numbers; on the one-hot a policy is nearly a table per item set) and an entropy bonus
    # of 0.1 decaying to 0 (explore, then commit to one tour): MORL/D 85 %, C-MORL 86 % over
    # 6 seeds (raw coordinates, normalised: 74 % and 60 % over 3;
    # experiments/defaults_quality/RESULTS.md). Returns, fronts and hypervolumes do not
    # depend on the observation encoding.
    "four-room-v0": EnvDefaults((-1.0, -1.0, -1.0), algo={
        "morld": {"total_steps": 10_000_000, "env_kwargs": ("observation=one_hot",),
                  "ppo": {"ent_coef": 0.1, "ent_schedule": "linear"}},
        # 10 init policies: the 3-objective grid of 10 holds (1/3, 1/3, 1/3), the 6 of the
        # default do not (the full tour is the equal-weight optimum).
        "cmorl": {"total_steps": 3_000_000, "init_steps": 2_000_000, "pop_size": 10,
                  "env_kwargs": ("observation=one_hot",), "ppo": {"ent_coef": 0.1, "ent_schedule": "linear"}},
    }),
    # Penalties of at most -1 per step over 200-step episodes (any discount); speed >= 0.
    "mo-mountaincar-v0": EnvDefaults((-201.0, -201.0, -201.0)),
    "mo-mountaincar-3d-v0": EnvDefaults((-201.0, -201.0, -1.0)),
    "mo-mountaincar-timemove-v0": EnvDefaults((-201.0, -201.0)),
    "mo-mountaincar-timespeed-v0": EnvDefaults((-201.0, -1.0)),
    # Time and fuel (-u**2, |u| <= 1) penalties over 999-step episodes.
    "mo-mountaincarcontinuous-v0": EnvDefaults((-1000.0, -1000.0)),
    # Pendulum-v1's cost split in two: swing-up error <= pi**2 + 0.1 * 8**2 per step,
    # torque cost <= 0.001 * 2**2 per step, over 200-step episodes.
    "mo-pendulum-v0": EnvDefaults((-3300.0, -1.0)),
    **_same(("mo-lunar-lander-v3", "mo-lunar-lander-continuous-v3"), _LUNAR),
    **_same(("mo-halfcheetah-v4", "mo-halfcheetah-v5", "mo-hopper-2d-v4", "mo-hopper-2obj-v5", "mo-ant-2d-v4",
             "mo-ant-2obj-v5", "mo-humanoid-v4", "mo-humanoid-v5", "mo-walker2d-v4", "mo-walker2d-v5",
             "mo-swimmer-v4", "mo-swimmer-v5"), _TWO_MUJOCO),
    **_same(("mo-hopper-v4", "mo-hopper-v5", "mo-ant-v4", "mo-ant-v5"), _THREE_MUJOCO),
}


def base_id(env_id: str) -> str:
    """`env_id` without the host prefix or an experiment-local `@suffix`."""
    return str(env_id).removeprefix(HOST_PREFIX).split("@")[0]


def env_defaults(env_id: str) -> EnvDefaults | None:
    """The table's entry for `env_id` (host and port ids share it), or None."""
    return ENV_DEFAULTS.get(base_id(env_id))


def eval_episodes(env_id: str) -> int:
    """Evaluation episodes per archive candidate for `env_id`: the table's, else 1."""
    entry = env_defaults(env_id)
    return 1 if entry is None else int(entry.eval_episodes)


def resolve_eval_episodes(config: Any) -> None:
    """In a frozen algorithm config's `__post_init__`: `eval_episodes=None` becomes the
    env's convention (`eval_episodes(config.env)`), so a config states what it ran with."""
    if config.eval_episodes is None:
        object.__setattr__(config, "eval_episodes", eval_episodes(config.env))


def algo_defaults(algorithm: str, env_id: str) -> dict[str, Any]:
    """The env's config defaults for `algorithm` (`{dotted key: value}`, keys relative to
    `algo`), empty when it has none."""
    entry = env_defaults(env_id)
    return {} if entry is None else dict(entry.algo.get(algorithm, {}))


def automatic_ref_point(env: Any, gamma: float, *, episodes: int = 16, max_steps: int = 1000, seed: int = 0) -> tuple[float, ...]:
    """A reference point for an env without a table entry: per objective, the minimum of
    `episodes` uniformly random-policy returns (discounted with `gamma`, episodes cut at
    `max_steps`) minus their spread (at least 10% of the minimum's size, at least
    1e-3). `env` is a `morl.envs.Environment`. Returns `m` floats, rounded down to 3
    significant digits so config files read well."""
    import jax
    import jax.numpy as jnp

    from morl.envs.wrappers import EpisodeStatistics

    tracked = EpisodeStatistics(env, gamma=float(gamma))
    space = env.action_space()

    def episode(key):
        key_reset, key_run = jax.random.split(key)
        obs, state = tracked.reset(key_reset)

        def running(carry):
            _, done, t, _, _ = carry
            return ~done & (t < max_steps)

        def step(carry):
            state, _, t, key, _ = carry
            key, key_action, key_step = jax.random.split(key, 3)
            _, state, _, terminated, truncated, info = tracked.step(key_step, state, space.sample(key_action))
            done = terminated | truncated
            return state, done, t + 1, key, info["discounted_return"]

        init = (state, jnp.bool_(False), jnp.int32(0), key_run, jnp.zeros((env.reward_dim,), jnp.float32))
        state, done, _, _, finished = jax.lax.while_loop(running, step, init)
        return jnp.where(done, finished, state.discounted_return)

    keys = jax.random.split(jax.random.key(seed), episodes)
    returns = np.asarray(jax.jit(jax.vmap(episode))(keys), np.float64)
    low, high = returns.min(0), returns.max(0)
    margin = np.maximum(np.maximum(high - low, 0.1 * np.abs(low)), 1e-3)
    return tuple(float(_round_down(v)) for v in low - margin)


def _round_down(value: float) -> float:
    if value == 0.0:
        return 0.0
    scale = 10.0 ** (np.floor(np.log10(abs(value))) - 2)
    return float(np.floor(value / scale) * scale)
