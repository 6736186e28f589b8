"""The published MO-MuJoCo table's settings (C-MORL, Liu et al., ICLR 2025) for C-MORL
and, at the same budgets, MORL/D with a PPO and a SAC learner and PGMORL (the table's
published comparison row).

Read from the public code (RuohLiuq/C-MORL, scripts/*.py, run.py, arguments.py, mopg.py):
- Environments: MO-Gymnasium's v4 ids, simulated here in MuJoCo C on the host
  (`morl.envs.host`); every episode capped at 500 steps (`max_episode_steps=500`).
- Initial policies: a simplex grid, 6 for Hopper-2d and Humanoid-2d (step 0.2), 3 for
  Ant-2d (step 0.5), and six fixed vectors for the 3-objective tasks.
- Extension: `n_select` 5 (2 objectives) / 6 (3), beta 0.9, barrier t 20, 20 PPO updates
  per constrained problem and round.
- Evaluation: deterministic policies, 5 episodes (Hopper-2d) or 10, returns discounted
  with gamma 0.99; hypervolume reference point (-100)^m; expected utility over a weight
  grid of step 0.01 (101 weights, 2 objectives) or 0.1 (66 weights, 3 objectives).
- PPO: lr 3e-4 linear decay, gamma 0.995, GAE 0.95, clip 0.2, 10 epochs, 32
  minibatches, 512 steps x 8 envs, grad norm 0.5, 64-64 tanh actor and vector critic,
  running normalisation of observations and of each objective's return.

Budgets, two columns of the table:
- "paper": T / T_init as the paper states them (Hopper-2d 1.5M / 1.0M env steps, ...).
- "code": what the public code actually steps for that T. It counts one update as 512
  steps although 8 envs collect 4096, and sizes the extension stage per objective, so a
  policy's init stage gets `T_init // M // 512` updates of 4096 steps and the extension
  stage `(T - T_init) // n_select // 512 // m` updates per selected policy and objective:
  about 8x the stated T (Hopper-2d 12M). The published numbers come from this budget.
MORL/D runs a population of 6 (or C-MORL's M for 3 objectives) on the same PPO, or SAC
with its defaults, for the same total env steps.
PGMORL (Xu et al., ICML 2020; public code mit-gfx/PGMORL, scripts/*.py) runs the same
PPO (512 steps x 8 envs) with a constant learning rate, as its code does, on the same
total env steps: 6 tasks (15 for 3 objectives, the 0.25 grid), 7 weight candidates,
100 performance buffers of 2 (20 lattice directions for 3 objectives), sparsity
coefficient 1 (1e6 for 3 objectives), every update evaluated into the archive. Its
warm-up and generation lengths keep the scripts' proportions of a policy's updates
(200 and 40 of 976 on Hopper): `pgmorl_iterations`.

CAPQL (Lu et al. 2023) and preference-conditioned PPO (concat and hypernetwork) train one
network for every weight on the same budgets; their fronts are read off 21 (3
objectives: 28) evenly spread weights every 100k env steps (docs/capql.md,
docs/conditioned_ppo.md).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from morl.agents.sac import SACSection
from morl.algorithms.capql import CAPQL_SAC, CAPQLConfig
from morl.algorithms.cmorl import CMORLConfig
from morl.algorithms.conditioned_ppo import CONDITIONED_PPO, ConditionedPolicyConfig
from morl.algorithms.pgmorl import PGMORL_PPO, PGMORLConfig
from morl.algorithms.cmorl.config import CMORL_PPO as CMORL_DEFAULT_PPO
from morl.algorithms.morld.config import MORLD_PPO as MORLD_DEFAULT_PPO
from morl.algorithms.morld.config import MORLDConfig

EPISODE_CAP = 500  # C-MORL caps every episode at 500 steps
EVAL_GAMMA = 0.99
ENV_KWARGS = (f"max_episode_steps={EPISODE_CAP}",)


class Task(NamedTuple):
    """One setting: the env, the paper's total steps T and init-stage steps T_init, the
    hypervolume reference point, C-MORL's initial weight vectors, evaluation episodes,
    and the published HV / EU / SP (C-MORL paper, Table 2, as listed by the project)."""

    env_id: str
    total_steps: int
    init_steps: int
    ref_point: tuple[float, ...]
    init_weights: tuple[tuple[float, ...], ...]
    eval_episodes: int
    published: dict[str, dict[str, float]]


def _grid(step: float) -> tuple[tuple[float, ...], ...]:
    n = round(1 / step)
    return tuple((round(i * step, 6), round(1 - i * step, 6)) for i in range(n + 1))


_THREE_OBJECTIVE_WEIGHTS = ((0.2, 0.2, 0.6), (0.2, 0.5, 0.3), (0.2, 0.8, 0.0), (0.5, 0.2, 0.3), (0.5, 0.5, 0.0),
                            (0.8, 0.2, 0.0))

TASKS: dict[str, Task] = {
    "hopper-2d": Task("mo-hopper-2d-v4", 1_500_000, 1_000_000, (-100.0, -100.0), _grid(0.2), 5, {
        "C-MORL": {"hypervolume": 1.37e5, "expected_utility": 2.53e2, "sparsity": 1.13e2},
        "PGMORL": {"hypervolume": 1.20e5}, "GPI-LS": {"hypervolume": 1.19e5}}),
    "hopper-3d": Task("mo-hopper-v4", 2_000_000, 1_500_000, (-100.0, -100.0, -100.0), _THREE_OBJECTIVE_WEIGHTS, 10, {
        "C-MORL": {"hypervolume": 2.19e7, "expected_utility": 1.81e2, "sparsity": 0.53e2}}),
    "ant-2d": Task("mo-ant-2d-v4", 1_500_000, 1_000_000, (-100.0, -100.0), _grid(0.5), 10, {
        "C-MORL": {"hypervolume": 1.31e5, "expected_utility": 2.50e2, "sparsity": 2.65e3},
        "PGMORL": {"hypervolume": 0.35e5}, "GPI-LS": {"hypervolume": 1.17e5}}),
    "ant-3d": Task("mo-ant-v4", 2_000_000, 1_500_000, (-100.0, -100.0, -100.0), _THREE_OBJECTIVE_WEIGHTS, 10, {
        "C-MORL": {"hypervolume": 2.61e7, "expected_utility": 2.06e2, "sparsity": 0.06e3}}),
    "humanoid-2d": Task("mo-humanoid-v4", 1_500_000, 1_000_000, (-100.0, -100.0), _grid(0.2), 10, {
        "C-MORL": {"hypervolume": 3.43e5, "expected_utility": 4.78e2, "sparsity": 2.21e4}}),
}

BUDGETS = ("paper", "code")
ROLLOUT = 512 * 8  # env steps per PPO update (C-MORL's 512 steps x 8 envs)


def budget_steps(task: str, budget: str) -> tuple[int, int]:
    """`(total, init)` env steps of `task` under `budget` ("paper" or "code", see above)."""
    t = TASKS[task]
    if budget == "paper":
        return t.total_steps, t.init_steps
    if budget != "code":
        raise ValueError(f"unknown budget {budget!r}; known: {', '.join(BUDGETS)}")
    m, policies = len(t.ref_point), len(t.init_weights)
    n_select = 5 if m == 2 else 6
    init = policies * (t.init_steps // policies // 512) * ROLLOUT
    extension = ((t.total_steps - t.init_steps) // n_select // 512 // m) * n_select * m * ROLLOUT
    return init + extension + ROLLOUT * n_select, init


CMORL_PPO = CMORL_DEFAULT_PPO.replace(
    num_envs=8, num_steps=512, num_epochs=10, num_minibatches=32, hidden_sizes=(64, 64), activation="tanh",
    normalize_returns=True, normalize_observations=True, lr_schedule="linear", learning_rate=3e-4, gamma=0.995,
    gae_lambda=0.95, clip_eps=0.2, ent_coef=0.0, vf_coef=0.5, max_grad_norm=0.5,
)
MORLD_PPO = MORLD_DEFAULT_PPO.replace(
    num_envs=8, num_steps=512, num_epochs=10, num_minibatches=32, hidden_sizes=(64, 64), activation="tanh",
    normalize_returns=True, normalize_observations=True, lr_schedule="linear", learning_rate=3e-4, gamma=0.995, gae_lambda=0.95, clip_eps=0.2,
    ent_coef=0.0, vf_coef=0.5, max_grad_norm=0.5,
)

#: The table's rows: algorithm name -> the `morl train` algorithm it runs.
ALGORITHMS = {
    "cmorl": "cmorl", "morld": "morld", "morld-sac": "morld", "pgmorl": "pgmorl", "capql": "capql",
    "conditioned-ppo": "conditioned-ppo", "conditioned-ppo-hyper": "conditioned-ppo",
}

#: CAPQL's SAC as morl-baselines runs it on MuJoCo (2x256, batch 128, lr 3e-4, 1M replay,
#: 1,000 random steps, alpha 0.2 fixed, one gradient step per env step), 8 envs a step.
CAPQL_MUJOCO_SAC = CAPQL_SAC.replace(num_envs=8, rollout_steps=1, gradient_steps=8)
#: One policy for every weight: 32 envs (32 weights a rollout) x 128 steps = C-MORL's 4096
#: steps per update, its PPO numbers and normalisations, wider (2x256) networks.
CONDITIONED_MUJOCO_PPO = CONDITIONED_PPO.replace(
    num_envs=32, num_steps=128, num_epochs=10, num_minibatches=32, hidden_sizes=(256, 256), activation="tanh",
    normalize_returns=True, normalize_observations=True, lr_schedule="linear", learning_rate=3e-4, gamma=0.995,
    gae_lambda=0.95, clip_eps=0.2, ent_coef=0.0, vf_coef=0.5, max_grad_norm=0.5,
)
#: Evaluation weights of the single-policy rows (C-MORL's EU grids are 101 / 66; the
#: archive keeps every evaluation's non-dominated returns): 21 for 2 objectives, 28 for 3.
CONDITIONED_EVAL_WEIGHTS = {2: 21, 3: 28}
CONDITIONED_EVAL_STEPS = 100_000  # env steps between evaluations of the dense weight set


def conditioned_config(algorithm: str, t: Task, total: int) -> Any:
    """CAPQL's and preference-conditioned PPO's rows: one network, evaluated every 100k
    env steps on the evaluation weights."""
    m = len(t.ref_point)
    common = dict(
        env=t.env_id, env_kwargs=ENV_KWARGS, total_steps=total, ref_point=t.ref_point, eval_gamma=EVAL_GAMMA,
        num_eval_weights=CONDITIONED_EVAL_WEIGHTS[m], eval_episodes=t.eval_episodes, max_eval_steps=EPISODE_CAP,
        archive_capacity=128,
    )
    if algorithm == "capql":
        steps = CAPQL_MUJOCO_SAC.num_envs * CAPQL_MUJOCO_SAC.rollout_steps
        return CAPQLConfig(**common, eval_period=CONDITIONED_EVAL_STEPS // steps, chunk_iterations=10_000 // steps,
                           sac=CAPQL_MUJOCO_SAC)
    steps = CONDITIONED_MUJOCO_PPO.num_envs * CONDITIONED_MUJOCO_PPO.num_steps
    network = "hyper" if algorithm == "conditioned-ppo-hyper" else "concat"
    return ConditionedPolicyConfig(**common, network=network, hyper_sizes=(64,),
                                eval_period=max(1, CONDITIONED_EVAL_STEPS // steps), chunk_iterations=1,
                                ppo=CONDITIONED_MUJOCO_PPO)

PGMORL_MUJOCO_PPO = dataclasses.replace(PGMORL_PPO, num_envs=8, num_steps=512)
PGMORL_WARMUP_SHARE = 200 / 976  # the Hopper script: 200 warm-up updates of 8M // 8192 = 976
PGMORL_GENERATION_SHARE = 40 / 976  # and 40 updates per generation


def pgmorl_iterations(updates: int) -> tuple[int, int]:
    """`(warmup_iterations, update_iterations)` for `updates` PPO updates per policy, in
    the public code's proportions (warm-up a whole number of generations)."""
    generation = max(1, round(PGMORL_GENERATION_SHARE * updates))
    return generation * max(1, round(PGMORL_WARMUP_SHARE * updates / generation)), generation


def pgmorl_config(t: Task, total: int) -> PGMORLConfig:
    """PGMORL's row: the public code's MuJoCo settings (see the module docstring)."""
    m = len(t.ref_point)
    pop = 6 if m == 2 else 15
    warmup, generation = pgmorl_iterations(total // (pop * ROLLOUT))
    return PGMORLConfig(
        env=t.env_id, env_kwargs=ENV_KWARGS, total_steps=total, ref_point=t.ref_point, eval_gamma=EVAL_GAMMA,
        pop_size=pop, warmup_iterations=warmup, update_iterations=generation, eval_period=1,
        eval_episodes=t.eval_episodes, max_eval_steps=EPISODE_CAP, archive_capacity=200, num_weight_candidates=7,
        delta_weight=0.2 if m == 2 else 0.25, sparsity=1.0 if m == 2 else 1e6, pbuffer_num=100 if m == 2 else 20,
        pbuffer_size=2, ppo=PGMORL_MUJOCO_PPO,
    )


def fit_extension(config: CMORLConfig, reward_dim: int) -> CMORLConfig:
    """`config` with the largest `extension_updates <= 20` that leaves one extension round."""
    for updates in range(20, 0, -1):
        candidate = dataclasses.replace(config, extension_updates=updates)
        try:
            candidate.budget(reward_dim)
        except ValueError:
            continue
        return candidate
    raise ValueError(f"{config.env}: T={config.total_steps} cannot hold one extension round")


def config(algorithm: str, task: str, budget: str = "paper") -> Any:
    """The algorithm config of one row (`algorithm` a key of `ALGORITHMS`)."""
    t = TASKS[task]
    total, init = budget_steps(task, budget)
    if algorithm == "pgmorl":
        return pgmorl_config(t, total)
    if algorithm in ("capql", "conditioned-ppo", "conditioned-ppo-hyper"):
        return conditioned_config(algorithm, t, total)
    if algorithm == "cmorl":
        cmorl = CMORLConfig(
            env=t.env_id, env_kwargs=ENV_KWARGS, total_steps=total, init_steps=init, ref_point=t.ref_point,
            eval_gamma=EVAL_GAMMA, pop_size=len(t.init_weights), weight_init=t.init_weights, eval_period=10,
            eval_episodes=t.eval_episodes, max_eval_steps=EPISODE_CAP, extension_eval_period=1, ppo=CMORL_PPO,
        )
        return fit_extension(cmorl, len(t.ref_point))
    common = dict(
        env=t.env_id, env_kwargs=ENV_KWARGS, total_steps=total, ref_point=t.ref_point, eval_gamma=EVAL_GAMMA,
        pop_size=6, weight_init="uniform", scalarization="weighted_sum", eval_period=5,
        eval_episodes=t.eval_episodes, max_eval_steps=EPISODE_CAP, archive_capacity=64,
        chunk_iterations=1,  # stop within one iteration (6 x 4096 steps) of C-MORL's budget
    )
    if algorithm == "morld":
        return MORLDConfig(**common, ppo=MORLD_PPO)
    if algorithm == "morld-sac":
        return MORLDConfig(**common, learner="sac", sac=SACSection())
    raise ValueError(f"unknown algorithm {algorithm!r}; known: {', '.join(ALGORITHMS)}")


def smoke(algorithm: str, task: str) -> Any:
    """A CPU-sized copy of a row's config (a few thousand steps; its numbers mean nothing)."""
    full = config(algorithm, task)
    m = len(full.ref_point)
    if algorithm == "pgmorl":
        ppo = dataclasses.replace(full.ppo, num_envs=2, num_steps=64, num_epochs=1, num_minibatches=2)
        return dataclasses.replace(full, ppo=ppo, pop_size=m, total_steps=4 * m * 128, warmup_iterations=2,
                                   update_iterations=1, eval_episodes=1, pbuffer_num=10 if m == 2 else 3)
    if algorithm == "capql":
        sac = full.sac.replace(num_envs=2, gradient_steps=2, batch_size=32, buffer_size=2_000, learning_starts=64,
                               hidden_sizes=(32, 32))
        return dataclasses.replace(full, sac=sac, total_steps=1_024, eval_period=256, chunk_iterations=128,
                                   eval_episodes=1, num_eval_weights=3)
    if algorithm in ("conditioned-ppo", "conditioned-ppo-hyper"):
        ppo = full.ppo.replace(num_envs=4, num_steps=64, num_epochs=1, num_minibatches=2, hidden_sizes=(32, 32))
        return dataclasses.replace(full, ppo=ppo, total_steps=2_048, eval_period=4, chunk_iterations=4,
                                   eval_episodes=1, num_eval_weights=3)
    if algorithm == "cmorl":
        ppo = dataclasses.replace(full.ppo, num_envs=2, num_steps=64, num_epochs=1, num_minibatches=2)
        small = dataclasses.replace(full, ppo=ppo, pop_size=m, weight_init="onehot", total_steps=8_000,
                                    init_steps=1_536, eval_period=2, eval_episodes=1, n_select=1)
        return fit_extension(small, m)
    small = dict(pop_size=m, eval_period=2, eval_episodes=1, chunk_iterations=4)
    if algorithm == "morld":
        ppo = dataclasses.replace(full.ppo, num_envs=2, num_steps=64, num_epochs=1, num_minibatches=2)
        return dataclasses.replace(full, ppo=ppo, total_steps=2_048, **small)
    sac = dataclasses.replace(full.sac, num_envs=2, rollout_steps=8, gradient_steps=2, batch_size=32,
                              buffer_size=2_000, learning_starts=64, hidden_sizes=(32, 32))
    return dataclasses.replace(full, sac=sac, total_steps=1_024, **small)
